"""Bad binary input: truncated, corrupted, misnamed, multi-rate and duplicate-channel files.

Each case must raise an exception of paraspinal.errors whose message names the file, and
never a raw ezc3d/wfdb/h5py/scipy/MNE exception. Inputs are never modified.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import paraspinal as ps
from paraspinal.errors import ChannelError, FormatError, ParaspinalError, ParaspinalWarning, ReadError, SamplingRateError

sys.path.insert(0, str(Path(__file__).parent))
from test_io_bids import synthetic  # noqa: E402
from test_io_matlab import write_v73  # noqa: E402

wfdb = pytest.importorskip("wfdb")
h5py = pytest.importorskip("h5py")


def _read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        return ps.read(path, **kw)


def _expect_error(path, exc=ParaspinalError, match=None, **kw):
    with pytest.raises(exc, match=match) as info:
        _read(path, **kw)
    assert str(path) in str(info.value) or path.name in str(info.value)
    assert info.value.hint or "." in str(info.value)
    return info.value


def _truncate(src: Path, dst: Path, n: int) -> Path:
    dst.write_bytes(src.read_bytes()[:n])
    return dst


def _corrupt(src: Path, dst: Path, start: int, length: int = 256, seed: int = 0) -> Path:
    data = bytearray(src.read_bytes())
    data[start:start + length] = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture
def written(tmp_path):
    """EDF, BDF, FIF, MAT v5 and MAT v7.3 files written by the test."""
    rec = synthetic()
    out = {}
    for fmt in ("edf", "bdf", "fif"):
        out[fmt] = tmp_path / f"src.{fmt}"
        rec.save(out[fmt])
    out["mat5"] = tmp_path / "src5.mat"
    scipy.io.savemat(out["mat5"], {"emg": np.random.default_rng(0).normal(size=(5000, 4))})
    out["mat73"] = tmp_path / "src73.mat"
    write_v73(out["mat73"], {"emg": np.random.default_rng(0).normal(size=(5000, 4)), "fs": 1000.0})
    return out


@pytest.mark.parametrize("fmt", ["edf", "bdf", "fif", "mat5", "mat73"])
@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.97])
def test_truncated_written_files(tmp_path, written, fmt, fraction):
    src = written[fmt]
    bad = _truncate(src, tmp_path / f"bad{src.suffix}", int(src.stat().st_size * fraction))
    kw = {"sfreq": 1000} if fmt.startswith("mat") else {}
    _expect_error(bad, **kw)


@pytest.mark.parametrize("fmt, offset", [("edf", 0), ("bdf", 0), ("fif", 0), ("mat5", 128), ("mat73", 512)])
def test_corrupted_written_files(tmp_path, written, fmt, offset):
    src = written[fmt]
    bad = _corrupt(src, tmp_path / f"bad{src.suffix}", offset)
    kw = {"sfreq": 1000} if fmt.startswith("mat") else {}
    _expect_error(bad, **kw)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["pyomeca_tests/markers_analogs.c3d", "ezc3d_testFiles/Qualisys.c3d"])
@pytest.mark.parametrize("n_bytes", [100, 600, 3000, 20000, -1000])
def test_truncated_c3d(tmp_path, data_dir, name, n_bytes):
    src = data_dir / name
    size = src.stat().st_size
    bad = _truncate(src, tmp_path / "bad.c3d", n_bytes if n_bytes > 0 else size + n_bytes)
    _expect_error(bad, (ReadError,))


@pytest.mark.realdata
@pytest.mark.parametrize("start", [516, 600, 700])
def test_corrupted_c3d_parameters(tmp_path, data_dir, start):
    """Garbage in the parameter section: ezc3d alone can loop forever on some of these."""
    bad = _corrupt(data_dir / "pyomeca_tests/markers_analogs.c3d", tmp_path / "bad.c3d", start)
    _expect_error(bad, ReadError, match="corrupted C3D parameter")


@pytest.mark.realdata
@pytest.mark.parametrize("n_bytes", [0, 1001, 50000])
def test_truncated_wfdb_dat(tmp_path, data_dir, n_bytes):
    for ext in (".hea", ".dat"):
        shutil.copy(data_dir / "physionet_emgdb" / f"emg_healthy{ext}", tmp_path / f"emg_healthy{ext}")
    dat = tmp_path / "emg_healthy.dat"
    dat.write_bytes(dat.read_bytes()[:n_bytes])
    _expect_error(tmp_path / "emg_healthy.hea", ReadError)


@pytest.mark.realdata
def test_corrupted_wfdb_header(tmp_path, data_dir):
    shutil.copy(data_dir / "physionet_emgdb" / "emg_healthy.dat", tmp_path / "emg_healthy.dat")
    (tmp_path / "emg_healthy.hea").write_text("emg_healthy 1 four-thousand 50860\nemg_healthy.dat 16 x/mV\n")
    _expect_error(tmp_path / "emg_healthy.hea", ReadError, match="header")


def test_wfdb_multifrequency_refused(tmp_path):
    """WFDB allows several samples per frame per signal: 2 kHz EMG beside a 1 kHz angle."""
    (tmp_path / "mf.hea").write_text(
        "mf 2 1000 500\nmf.dat 16x2 1000/mV 16 0 0 0 0 L_MF_L5\nmf.dat 16 10/deg 16 0 0 0 0 angle\n"
    )
    frames = np.zeros((500, 3), dtype="<i2")  # per frame: 2 EMG samples, 1 angle sample
    frames[:, :2] = np.random.default_rng(0).integers(-500, 500, (500, 2))
    (tmp_path / "mf.dat").write_bytes(frames.tobytes())
    err = _expect_error(tmp_path / "mf.hea", SamplingRateError, match="different sampling rates")
    assert "2000.0" in str(err) and "1000.0" in str(err)


def test_edf_different_samples_per_record_warns(tmp_path):
    from edfio import Edf, EdfSignal

    emg = EdfSignal(np.random.default_rng(0).normal(size=2000) * 100, sampling_frequency=1000,
                    label="L_MF_L5", physical_dimension="uV")
    angle = EdfSignal(np.linspace(0, 60, 200), sampling_frequency=100, label="TRUNK_ANGLE",
                      physical_dimension="deg")
    Edf([emg, angle]).write(tmp_path / "mr.edf")
    with pytest.warns(ParaspinalWarning, match="TRUNK_ANGLE"):
        ps.read(tmp_path / "mr.edf")


@pytest.mark.parametrize("suffix", [".edf", ".bdf", ".fif", ".c3d", ".mat"])
def test_csv_text_with_binary_suffix(tmp_path, suffix):
    bad = tmp_path / f"export{suffix}"
    bad.write_text("time,emg\n" + "\n".join(f"{i / 1000},{np.sin(i)}" for i in range(2000)))
    err = _expect_error(bad, FormatError)
    assert "suffix" in str(err)


def test_unknown_format(tmp_path):
    bad = tmp_path / "recording.xyz"
    bad.write_bytes(bytes(range(256)) * 20)
    _expect_error(bad, FormatError, match="unknown format")


def test_duplicate_channel_names(tmp_path):
    path = tmp_path / "dup.mat"
    scipy.io.savemat(path, {"emg": np.random.default_rng(0).normal(size=(1000, 2))})
    with pytest.raises(ChannelError, match="duplicate") as info:
        ps.read(path, sfreq=1000, ch_names=["EMG 1", "EMG 1"])
    assert str(path) in str(info.value)
    rec = ps.read(path, sfreq=1000, ch_names=["L_MF", "Left multifidus"])  # same canonical name
    assert rec.ch_names == ["L_MF", "Left multifidus"]  # file names kept when canonical ones collide


def test_duplicate_channel_names_wfdb(tmp_path):
    (tmp_path / "dup.hea").write_text("dup 2 1000 100\ndup.dat 16 1000/mV 16 0 0 0 0 EMG\ndup.dat 16 1000/mV 16 0 0 0 0 EMG\n")
    (tmp_path / "dup.dat").write_bytes(np.zeros((100, 2), "<i2").tobytes())
    _expect_error(tmp_path / "dup.hea", ChannelError, match="duplicate")


@pytest.mark.realdata
@pytest.mark.parametrize("name, kw", [
    ("pyomeca_tests/markers_analogs.c3d", {}),
    ("ezc3d_testFiles/BTS.c3d", {"channels": "all"}),
    ("physionet_emgdb/emg_myopathy.dat", {}),
    ("unibo_inail_semg/user_1_day_1_posture_1.mat", {"sfreq": 500}),
])
def test_inputs_unchanged(data_dir, name, kw):
    path = data_dir / name
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    _read(path, **kw)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_written_inputs_unchanged(written):
    for fmt, path in written.items():
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        _read(path, **({"sfreq": 1000} if fmt.startswith("mat") else {}))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
