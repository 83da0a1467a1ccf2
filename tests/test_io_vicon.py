"""Vicon Nexus CSV exports: synthetic exports with known content, and the pyomeca sample."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import ChannelError, FormatError, ReadError

pytestmark = pytest.mark.filterwarnings("ignore::paraspinal.errors.ParaspinalWarning")


def _export(tmp_path, data, *, devices, names, units, rate=1000, trailer=True, name="trial.csv"):
    n = data.shape[1]
    rows = ["Devices" + "," * (len(names) + 1), str(rate) + "," * (len(names) + 1),
            ",," + ",".join(devices), "Frame,Sub Frame," + ",".join(names), ",," + ",".join(units)]
    for i in range(n):
        rows.append(f"{i // 10 + 1},{i % 10}," + ",".join(f"{v:.9g}" for v in data[:, i]))
    if trailer:
        rows += ["", "Trajectories", "100", ",,Marker1,,", "Frame,Sub Frame,X,Y,Z", ",,mm,mm,mm", "1,0,1,2,3"]
    p = tmp_path / name
    p.write_text("\r\n".join(rows) + "\r\n")
    return p


def test_devices_block_emg_and_misc(tmp_path, rng):
    x = np.vstack([rng.normal(0, 1e-4, 200), rng.normal(0, 1e-4, 200), rng.normal(0, 10, 200)])
    p = _export(tmp_path, x, devices=["Delsys - L_MF", "Delsys - R_MF", "Force Plate 1 - Force"],
                names=["EMG1", "EMG2", "Fz"], units=["V", "V", "N"])
    rec = ps.read(p)
    assert rec.meta["format"] == "vicon_csv" and rec.sfreq == 1000.0 and rec.n_samples == 200
    assert rec.ch_names == ["L_MF", "R_MF", "Force.Fz"]  # "L_MF.EMG1" parses to the canonical name
    assert rec.channels["source_name"].tolist() == ["L_MF.EMG1", "R_MF.EMG2", "Force.Fz"]
    assert rec.channels["type"].tolist() == ["emg", "emg", "misc"]
    assert rec.channels["unit"].tolist() == ["V", "V", "N"]
    np.testing.assert_allclose(rec.get_data(unit=None), x, rtol=1e-8)


def test_emg_option_list_and_regex(tmp_path, rng):
    x = rng.normal(0, 1e-3, (3, 50))
    kw = dict(devices=["Amp - Voltage", "", ""], names=["1", "2", "3"], units=["V", "V", "V"])
    p = _export(tmp_path, x, **kw)
    rec = ps.read(p)
    assert rec.channels["type"].tolist() == ["misc"] * 3  # plain volt inputs, no 'EMG': not guessed
    assert rec.ch_names == ["Voltage.1", "Voltage.2", "Voltage.3"]
    rec = ps.read(p, emg=["Voltage.1", "3"])
    assert rec.channels["type"].tolist() == ["emg", "misc", "emg"]
    np.testing.assert_allclose(rec.get_data(unit=None)[0], x[0], rtol=1e-8)
    assert ps.read(p, emg=r"\.[12]$").channels["type"].tolist() == ["emg", "emg", "misc"]
    with pytest.raises(ChannelError, match="not in the file"):
        ps.read(p, emg=["EMG9"])


def test_duplicate_output_names_use_device(tmp_path, rng):
    x = rng.normal(0, 1, (2, 20))
    p = _export(tmp_path, x, devices=["Force Plate 1 - Force", "Force Plate 2 - Force"], names=["Fx", "Fx"],
                units=["N", "N"])
    assert ps.read(p).ch_names == ["Force Plate 1 - Force.Fx", "Force Plate 2 - Force.Fx"]


def test_block_ends_at_end_of_file(tmp_path, rng):
    x = rng.normal(0, 1e-4, (1, 30))
    p = _export(tmp_path, x, devices=["EMG - S1"], names=["EMG1"], units=["V"], trailer=False)
    assert ps.read(p).n_samples == 30


def test_error_no_devices_block(tmp_path):
    p = tmp_path / "traj.csv"
    p.write_text("Trajectories\n100\n,,M1,,\nFrame,Sub Frame,X,Y,Z\n,,mm,mm,mm\n1,0,1,2,3\n")
    with pytest.raises(FormatError, match="no 'Devices' block"):
        ps.read(p)


def test_error_non_numeric_cell(tmp_path, rng):
    x = rng.normal(0, 1e-4, (2, 30))
    p = _export(tmp_path, x, devices=["EMG - S1", "EMG - S2"], names=["EMG1", "EMG2"], units=["V", "V"])
    text = p.read_text().splitlines()
    cells = text[10].split(",")
    cells[3] = "oops"
    text[10] = ",".join(cells)
    p.write_text("\n".join(text) + "\n")
    with pytest.raises(ReadError, match=r"line 11, column 4 \('EMG2'\): 'oops'"):
        ps.read(p)


@pytest.mark.realdata
def test_real_pyomeca_analogs(data_dir):
    f = data_dir / "pyomeca_tests" / "analogs.csv"
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    rec = ps.read(f)
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before
    ref = pd.read_csv(f, skiprows=5, header=None)
    assert ref.shape == (11600, 40)
    assert rec.sfreq == 2000.0 and rec.n_samples == 11600 and len(rec.ch_names) == 38
    assert rec.ch_names[:7] == ["Voltage.1", "Voltage.2", "Voltage.3", "Voltage.4", "Voltage.5", "Voltage.6",
                                "Sensor 1.EMG1"]
    assert rec.ch_names[22] == "Sensor 1.IM EMG1" and rec.ch_names[-1] == "Sensor 16.IM EMG16"
    assert set(rec.channels["unit"]) == {"V"}
    # the 6 plain voltage inputs are not EMG (same rule as the C3D reader); the 32 EMG channels are
    assert list(rec.channels["type"]) == ["misc"] * 6 + ["emg"] * 32
    np.testing.assert_array_equal(rec.get_data(unit=None), ref.iloc[:, 2:].to_numpy().T)
