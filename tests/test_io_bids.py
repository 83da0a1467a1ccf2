"""BIDS-EMG writing and reading (paraspinal.io.bids), and EDF/BDF/FIF save round trips."""

from __future__ import annotations

import hashlib

import mne
import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import ParameterError, ReadError, WriteError
from paraspinal.io.bids import apply_sidecars, parse_entities, read_bids, write_bids

pytest.importorskip("mne_bids")

NAMES = ["L_MF_L5", "R_MF_L5", "L_LT", "R_LT", "L_RA", "R_RA", "TRUNK_ANGLE"]


def synthetic(seed=0, subject="01", group="patient", sfreq=1000.0, n=10000):
    rng = np.random.default_rng(seed)
    emg = rng.normal(size=(6, n)) * 50e-6  # volts
    angle = 60 * np.sin(2 * np.pi * 0.1 * np.arange(n) / sfreq) ** 2  # degrees
    phases = pd.DataFrame({
        "onset": [0.5, 1.5, 3.0, 5.5, 6.5],
        "duration": [1.0, 1.5, 1.0, 1.0, 1.5],
        "phase": ["standing", "flexion", "full_flexion", "flexion", "extension"],
        "cycle": [None, 1, 1, 2, 2],
    })
    return ps.Recording.from_array(
        np.vstack([emg, angle]), sfreq, NAMES, units=["V"] * 6 + ["deg"], ch_types=["emg"] * 6 + ["misc"],
        meta={"subject": subject, "group": group, "task": "frt"}, phases=phases,
    )


def _cycles(rec):
    return [None if pd.isna(c) else int(c) for c in rec.phases["cycle"]]


def _lsb(path, rec):
    """Per-channel bound (physical max - min) / 2**16 from the EDF header, in the Recording's units."""
    raw = mne.io.read_raw_edf(path, verbose="error")
    ex = raw._raw_extras[0]
    span = (np.asarray(ex["physical_max"]) - np.asarray(ex["physical_min"])) * np.asarray(ex["units"])
    return span / 2**16


def test_round_trip(tmp_path):
    rec = synthetic()
    path = write_bids(rec, tmp_path / "bids")
    assert path == tmp_path / "bids" / "sub-01" / "emg" / "sub-01_task-frt_emg.edf"
    back = ps.read(path)
    assert back.ch_names == NAMES
    for col in ("type", "muscle", "side", "level", "unit"):
        assert list(back.channels[col].fillna("-")) == list(rec.channels[col].fillna("-")), col
    assert back.meta["group"] == "patient" and back.meta["subject"] == "01" and back.meta["task"] == "frt"
    assert list(back.phases["phase"]) == list(rec.phases["phase"])
    assert _cycles(back) == [None, 1, 1, 2, 2]
    assert np.all(np.abs(back.phases["onset"] - rec.phases["onset"]) <= 1 / rec.sfreq)
    np.testing.assert_allclose(back.phases["duration"], rec.phases["duration"], atol=1 / rec.sfreq)
    err = np.abs(back.get_data(unit=None) - rec.get_data(unit=None)).max(axis=1)
    assert np.all(err <= _lsb(path, rec)), (err, _lsb(path, rec))
    tsv = pd.read_csv(path.with_name("sub-01_task-frt_channels.tsv"), sep="\t")
    assert {"target_muscle", "muscle", "side", "level"} <= set(tsv.columns)
    assert tsv.loc[0, "target_muscle"] == "left multifidus"
    assert tsv.set_index("name").loc["TRUNK_ANGLE", "units"] == "deg"
    events = pd.read_csv(path.with_name("sub-01_task-frt_events.tsv"), sep="\t")
    assert list(events.columns[:4]) == ["onset", "duration", "trial_type", "cycle"]


def test_bdf_round_trip_and_entities(tmp_path):
    rec = synthetic()
    path = write_bids(rec, tmp_path, subject="P07", session="2", run=1, fmt="bdf")
    assert parse_entities(path) == {"sub": "P07", "ses": "2", "task": "frt", "run": "1", "suffix": "emg"}
    back = ps.read(path)
    assert back.meta["session"] == "2" and back.meta["run"] == 1 and back.meta["subject"] == "P07"
    span = np.ptp(rec.get_data(unit=None), axis=1)
    err = np.abs(back.get_data(unit=None) - rec.get_data(unit=None)).max(axis=1)
    assert np.all(err <= span / 2**22)  # 24-bit, with margin for the 8-character header fields


def test_deterministic(tmp_path):
    rec = synthetic()
    a = write_bids(rec, tmp_path / "a")
    b = write_bids(rec, tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) >= 8
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert a.name == b.name


def test_participants_updated_not_overwritten(tmp_path):
    write_bids(synthetic(0, "01", "patient"), tmp_path)
    write_bids(synthetic(1, "02", "control"), tmp_path)
    table = pd.read_csv(tmp_path / "participants.tsv", sep="\t")
    assert dict(zip(table["participant_id"], table["group"])) == {"sub-01": "patient", "sub-02": "control"}
    assert ps.read(tmp_path / "sub-02/emg/sub-02_task-frt_emg.edf").meta["group"] == "control"
    with pytest.raises(WriteError, match="exists"):
        write_bids(synthetic(0, "01", "patient"), tmp_path)
    write_bids(synthetic(0, "01", "control"), tmp_path, overwrite=True)
    table = pd.read_csv(tmp_path / "participants.tsv", sep="\t")
    assert dict(zip(table["participant_id"], table["group"])) == {"sub-01": "control", "sub-02": "control"}


def test_read_bids_from_root(tmp_path):
    write_bids(synthetic(0, "01"), tmp_path)
    write_bids(synthetic(1, "02"), tmp_path)
    rec = read_bids(tmp_path, subject="02", task="frt")
    assert rec.meta["subject"] == "02"
    assert rec.meta["format"] == "edf" and rec.meta["source"].endswith("sub-02_task-frt_emg.edf")
    with pytest.raises(ReadError, match="0 EMG recordings match"):
        read_bids(tmp_path, subject="03")
    with pytest.raises(ParameterError, match="subject"):
        read_bids(tmp_path)


def test_user_meta_wins_over_sidecars(tmp_path):
    path = write_bids(synthetic(), tmp_path)
    rec = ps.read(path, meta={"group": "other"})
    assert rec.meta["group"] == "other"


def test_no_sidecars_returns_input(tmp_path):
    rec = synthetic()
    plain = tmp_path / "sub-01_task-frt_emg.edf"
    rec.save(plain)
    loaded = ps.read(plain)
    assert apply_sidecars(loaded, plain) is loaded
    assert loaded.meta["subject"] == "01"  # from paraspinal's own EDF header field, not a sidecar
    other = tmp_path / "recording.edf"
    rec.save(other)
    loaded = ps.read(other)
    assert apply_sidecars(loaded, other) is loaded


def test_invalid_labels(tmp_path):
    with pytest.raises(ParameterError, match="letters and digits"):
        write_bids(synthetic(subject="P-07"), tmp_path)
    with pytest.raises(ParameterError, match="task"):
        write_bids(synthetic().with_meta(task=None), tmp_path)
    with pytest.raises(ParameterError, match="fmt"):
        write_bids(synthetic(), tmp_path, fmt="fif")


@pytest.mark.parametrize("suffix, bits", [(".edf", 16), (".bdf", 24), (".fif", None)])
def test_save_read_round_trip(tmp_path, suffix, bits):
    rec = synthetic()
    path = tmp_path / f"rec{suffix}"
    rec.save(path)
    back = ps.read(path)
    assert back.ch_names == NAMES
    assert list(back.channels["type"]) == list(rec.channels["type"])
    assert list(back.phases["phase"]) == list(rec.phases["phase"])
    np.testing.assert_allclose(back.phases["onset"], rec.phases["onset"], atol=1 / rec.sfreq)
    x, y = back.get_data(unit=None), rec.get_data(unit=None)
    if bits is None:
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-12)  # float32
        assert back.meta["group"] == "patient"
        assert list(back.channels["unit"]) == list(rec.channels["unit"])
        assert _cycles(back) == [None, 1, 1, 2, 2]
    else:
        span = np.ptp(y, axis=1)
        assert np.all(np.abs(x - y).max(axis=1) <= span / 2 ** (bits - 2))
    with pytest.raises(WriteError, match="exists"):
        rec.save(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    rec.save(path, overwrite=True)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_save_edf_keeps_misc_unit_and_cycles(tmp_path, suffix):
    rec = synthetic()
    rec.save(tmp_path / f"rec{suffix}")
    back = ps.read(tmp_path / f"rec{suffix}")
    assert list(back.channels["unit"]) == list(rec.channels["unit"])
    assert _cycles(back) == [None, 1, 1, 2, 2]
