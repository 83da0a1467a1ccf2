"""MATLAB .mat v5 and v7.3 (paraspinal.io.matlab) against scipy.io.loadmat and h5py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

import paraspinal as ps
from paraspinal.errors import ChannelError, ParameterError, ParaspinalWarning, SamplingRateError
from paraspinal.io.matlab import read_mat

h5py = pytest.importorskip("h5py")

UNIBO = "unibo_inail_semg/user_1_day_1_posture_1.mat"


def write_v73(path, variables):
    """Write a MAT v7.3 file the way MATLAB lays it out.

    Assumptions, from MathWorks' "MAT-File Versions" documentation (not checked against a
    file saved by MATLAB itself: none was available here): HDF5 with a 512-byte user block whose first 116 bytes are the text
    header starting "MATLAB 7.3 MAT-file", then an 8-byte subsystem offset, version
    0x0200 and the endian indicator "IM"; each variable a root dataset with attribute
    MATLAB_class; arrays stored column-major, i.e. transposed as HDF5 sees them; char as
    uint16 code units; cell arrays as object references into "#refs#".
    """
    with h5py.File(path, "w", userblock_size=512) as f:
        refs_group = None
        for name, value in variables.items():
            if isinstance(value, list):  # cell array of strings, MATLAB size (n, 1)
                refs_group = refs_group or f.create_group("#refs#")
                refs = []
                for i, text in enumerate(value):
                    ds = refs_group.create_dataset(f"{name}{i}", data=np.array([[ord(c) for c in text]], np.uint16).T)
                    ds.attrs["MATLAB_class"] = np.bytes_("char")
                    refs.append(ds.ref)
                ds = f.create_dataset(name, data=np.array([refs], dtype=h5py.ref_dtype))
                ds.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                arr = np.atleast_2d(np.asarray(value, dtype=np.float64))
                ds = f.create_dataset(name, data=arr.T)  # MATLAB (m, n) is HDF5 (n, m)
                ds.attrs["MATLAB_class"] = np.bytes_("double")
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2026 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as fh:
        fh.write(header.ljust(512, b"\x00"))


@pytest.mark.realdata
def test_unibo_v5(data_dir):
    path = data_dir / UNIBO
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        rec = ps.read(path, sfreq=500)
    expected = scipy.io.loadmat(path)["emg"]
    assert expected.shape == (158536, 4)
    assert rec.sfreq == 500.0 and rec.n_samples == 158536
    assert rec.ch_names == ["emg1", "emg2", "emg3", "emg4"]
    assert rec.meta["mat_version"] == "5" and rec.meta["mat_variable"] == "emg"
    np.testing.assert_allclose(rec.get_data(unit=None), expected.T.astype(np.float64), rtol=0)
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        mv = read_mat(path, variables={"data": "emg"}, sfreq=500, units="mV",
                      ch_names=["ECU", "EDC", "FCR", "FCU"])
    np.testing.assert_allclose(mv.get_data(unit=None), expected.T * 1e-3, rtol=1e-6)
    assert mv.ch_names == ["ECU", "EDC", "FCR", "FCU"]


@pytest.mark.realdata
def test_unibo_without_rate_lists_variables(data_dir):
    with pytest.raises(SamplingRateError, match=r"emg float32\[158536, 4\].*gestureCounter.*sfreq="):
        ps.read(data_dir / UNIBO)


def test_v5_variable_map_rows_and_columns(tmp_path, rng):
    x = rng.normal(size=(2000, 3))  # samples x channels
    path = tmp_path / "a.mat"
    labels = np.array(["Left Multifidus L5", "Right Multifidus L5", "angle"], dtype=object)
    scipy.io.savemat(path, {"sig": x, "fs": 1000.0, "labels": labels, "other": np.ones((5, 5))})
    rec = ps.read(path, variables={"data": "sig", "sfreq": "fs", "ch_names": "labels"}, units="uV")
    assert rec.sfreq == 1000.0
    assert rec.ch_names == ["L_MF_L5", "R_MF_L5", "TRUNK_ANGLE"]
    np.testing.assert_allclose(rec.emg(unit="uV"), x.T[:2])
    rows = tmp_path / "rows.mat"
    scipy.io.savemat(rows, {"sig": x.T})
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        by_rows = read_mat(rows, sfreq=1000, units="uV", channels_axis=0)
    np.testing.assert_allclose(by_rows.get_data(unit="uV"), x.T)
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        inferred = read_mat(rows, sfreq=1000, units="uV")
    assert inferred.get_data(unit="uV").shape == (3, 2000)


def test_v5_ambiguous_orientation_warns(tmp_path, rng):
    path = tmp_path / "sq.mat"
    scipy.io.savemat(path, {"m": rng.normal(size=(40, 60))})
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"), pytest.warns(ParaspinalWarning, match="channels_axis"):
        read_mat(path, sfreq=100, ch_names=[f"c{i}" for i in range(40)], rename=False)


def test_v5_several_candidates(tmp_path, rng):
    path = tmp_path / "two.mat"
    scipy.io.savemat(path, {"a": rng.normal(size=(100, 2)), "b": rng.normal(size=(100, 3))})
    with pytest.raises(ChannelError, match=r"2 candidate signal arrays \['a', 'b'\].*variables=\{'data'"):
        read_mat(path, sfreq=100)
    with pytest.raises(ParameterError, match="unknown keys"):
        read_mat(path, variables={"signal": "a"}, sfreq=100)
    with pytest.raises(ChannelError, match="no variable 'c'"):
        read_mat(path, variables={"data": "c"}, sfreq=100)


def test_v73_written_in_matlab_layout(tmp_path, rng):
    x = rng.normal(size=(1500, 4)) * 1e-4  # MATLAB: 1500 samples x 4 channels, volts
    path = tmp_path / "v73.mat"
    write_v73(path, {"emg": x, "fs": 2000.0, "labels": ["L_MF_L5", "R_MF_L5", "L_LT", "R_LT"]})
    assert path.read_bytes()[:19] == b"MATLAB 7.3 MAT-file"
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(path)  # scipy refuses v7.3, so this reader must use h5py
    with h5py.File(path, "r") as f:
        assert f["emg"].shape == (4, 1500)  # stored transposed
        expected = f["emg"][()].T
    rec = ps.read(path, variables={"data": "emg", "sfreq": "fs", "ch_names": "labels"})
    assert rec.meta["format"] == "matlab" and rec.meta["mat_version"] == "7.3"
    assert rec.sfreq == 2000.0 and rec.n_samples == 1500
    assert rec.ch_names == ["L_MF_L5", "R_MF_L5", "L_LT", "R_LT"]
    np.testing.assert_allclose(rec.get_data(unit=None), expected.T)
    np.testing.assert_allclose(rec.get_data(unit=None), x.T)
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        auto = read_mat(path, sfreq=2000, rename=False)  # the one matrix; fs and labels are not candidates
    assert auto.ch_names == ["emg1", "emg2", "emg3", "emg4"]
