"""WFDB records (paraspinal.io.wfdb) against wfdb.rdrecord."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import paraspinal as ps
from paraspinal.errors import ParaspinalWarning, ReadError
from paraspinal.io.wfdb import parse_comments, read_wfdb

wfdb = pytest.importorskip("wfdb")

RECORDS = {"emg_healthy": 50860, "emg_myopathy": 110337, "emg_neuropathy": 147858}


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        return ps.read(path, **kw)


@pytest.mark.realdata
@pytest.mark.parametrize("record", sorted(RECORDS))
@pytest.mark.parametrize("suffix", [".hea", ".dat"])
def test_emgdb_records(data_dir, record, suffix):
    path = data_dir / "physionet_emgdb" / f"{record}{suffix}"
    rec = _read(path)
    assert rec.meta["format"] == "wfdb"
    assert rec.sfreq == 4000.0
    assert rec.n_samples == RECORDS[record]
    assert rec.ch_names == ["EMG"]
    assert list(rec.channels["unit"]) == ["V"] and list(rec.channels["type"]) == ["emg"]
    ref = wfdb.rdrecord(str(data_dir / "physionet_emgdb" / record))
    assert ref.units[0].lower() == "mv"  # emg_myopathy says "mv"
    np.testing.assert_allclose(rec.get_data(unit=None)[0], ref.p_signal[:, 0] * 1e-3, rtol=1e-12)
    assert rec.meta["sex"] == "M"


@pytest.mark.realdata
def test_emgdb_header_comments(data_dir):
    folder = data_dir / "physionet_emgdb"
    healthy = _read(folder / "emg_healthy.hea").meta
    assert healthy["age"] == 44 and healthy["diagnoses"] == "no history of neuromuscular disease"
    myo = _read(folder / "emg_myopathy.hea").meta
    assert myo["age"] == 57 and myo["medications"] == "steroids, low-dose methotrexate"
    neuro = _read(folder / "emg_neuropathy.hea", meta={"group": "patient"}).meta
    assert neuro["age"] == 62 and neuro["group"] == "patient"
    assert neuro["diagnoses"] == "chronic low back pain and neuropathy due to a right L5 radiculopathy"
    assert any("tibialis anterior" in c for c in neuro["comments"])


def test_parse_comments():
    meta = parse_comments(["<age>: 30.5 <sex>: F", "free text", "<diagnoses>: a", "  b"])
    assert meta == {"age": 30.5, "sex": "F", "diagnoses": "a b", "comments": ["free text"]}


def test_written_record_units_and_map(tmp_path):
    rng = np.random.default_rng(1)
    sig = np.column_stack([rng.normal(0, 0.2, 3000), np.linspace(0, 60, 3000)])
    wfdb.wrsamp("rec1", fs=1500, units=["mV", "deg"], sig_name=["left multifidus L5", "angle"],
                p_signal=sig, fmt=["16", "16"], write_dir=str(tmp_path), comments=["<age>: 51 <sex>: F"])
    rec = read_wfdb(tmp_path / "rec1.hea")
    assert rec.ch_names == ["L_MF_L5", "TRUNK_ANGLE"]
    assert list(rec.channels["unit"]) == ["V", "deg"]
    assert list(rec.channels["type"]) == ["emg", "misc"]
    ref = wfdb.rdrecord(str(tmp_path / "rec1"))
    np.testing.assert_allclose(rec.get_data(unit=None)[0], ref.p_signal[:, 0] * 1e-3, rtol=1e-12)
    np.testing.assert_allclose(rec.get_data(unit=None)[1], ref.p_signal[:, 1], rtol=1e-12)
    assert rec.meta["age"] == 51
    mapped = read_wfdb(tmp_path / "rec1.dat", channel_map={"left multifidus L5": "R_LT"})
    assert mapped.ch_names[0] == "R_LT"


def test_missing_header(tmp_path):
    (tmp_path / "x.dat").write_bytes(b"\x00" * 100)
    with pytest.raises(ReadError, match="header x.hea is missing"):
        read_wfdb(tmp_path / "x.dat")
