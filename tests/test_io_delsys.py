"""Delsys Trigno CSV exports: synthetic exports with known content, and the real sample."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import ChannelError, FormatError, ParameterError, ParaspinalWarning, SamplingRateError

pytestmark = pytest.mark.filterwarnings("ignore::paraspinal.errors.ParaspinalWarning")


def _export(tmp_path: Path, channels, name="trigno.csv", pad="") -> Path:
    """Write a Trigno-style export. ``channels``: list of (label, fs, values, unit)."""
    head = []
    for label, fs, values, unit in channels:
        head.append(f"Label: {label} Sampling frequency: {fs:.6e} Number of points: {len(values)} "
                    f"start: 0.000000e+000 Unit: {unit} Domain Unit: s")
    head += ["Start Trigger Method: None", "Stop Trigger Method: None", ""]
    head.append(",".join(f'X[s],"{label}"' for label, *_ in channels))
    n = max(len(v) for _, _, v, _ in channels)
    cols = []
    for _label, fs, values, _unit in channels:
        t = [f"{i / fs:.7g}" for i in range(len(values))] + [pad] * (n - len(values))
        x = [f"{v:.7g}" for v in values] + [pad] * (n - len(values))
        cols += [t, x]
    rows = [",".join(r) for r in zip(*cols)]
    p = tmp_path / name
    p.write_text("\n".join(head + rows) + "\n", encoding="utf-8")
    return p


FS_EMG, FS_IMU = 1259.259259, 148.148148


def _two_sensors(rng, n=1260, m=148):
    e1 = rng.normal(0, 1e-4, n)
    e2 = rng.normal(0, 1e-4, n)
    acc = np.sin(np.arange(m) / 10)
    return [
        ("Left Multifidus: EMG 1", FS_EMG, e1, "V"),
        ("Left Multifidus: ACC.X 1", FS_IMU, acc, "g"),
        ("Right Multifidus: EMG 2", FS_EMG, e2, "V"),
    ]


def test_emg_kept_imu_dropped(tmp_path, rng):
    ch = _two_sensors(rng)
    rec = ps.read(_export(tmp_path, ch))
    assert rec.meta["format"] == "delsys"
    assert rec.sfreq == pytest.approx(FS_EMG)
    assert rec.ch_names == ["L_MF", "R_MF"] and rec.n_samples == 1260
    np.testing.assert_allclose(rec.get_data(unit=None), np.vstack([ch[0][2], ch[2][2]]), rtol=1e-6)


@pytest.mark.parametrize("pad", ["", "0", "0.0"])
def test_padding_is_trimmed_by_number_of_points(tmp_path, rng, pad):
    ch = _two_sensors(rng)
    rec = ps.read(_export(tmp_path, ch, pad=pad), imu="resample")
    assert rec.n_samples == 1260
    acc = rec.get_data("Left Multifidus: ACC.X 1")[0]
    t_emg = np.arange(1260) / rec.sfreq  # the EMG clock: n / (rate of the Label line)
    t_imu = np.array([float(f"{i / FS_IMU:.7g}") for i in range(148)])
    inside = t_emg <= t_imu[-1]
    expected = np.interp(t_emg[inside], t_imu, np.array([float(f"{v:.7g}") for v in ch[1][2]]))
    np.testing.assert_allclose(acc[inside], expected, rtol=1e-6, atol=1e-9)
    assert rec.channels.set_index("name").loc["Left Multifidus: ACC.X 1", ["type", "unit"]].tolist() == ["misc", "g"]


def test_error_emg_at_different_rates(tmp_path, rng):
    ch = [("A: EMG 1", 1259.259259, rng.normal(0, 1e-4, 100), "V"),
          ("B: EMG 2", 2000.0, rng.normal(0, 1e-4, 150), "V")]
    with pytest.raises(SamplingRateError, match="different rates") as e:
        ps.read(_export(tmp_path, ch))
    assert "A: EMG 1" in str(e.value) and "2000 Hz" in str(e.value)


def test_error_bad_imu_option(tmp_path, rng):
    with pytest.raises(ParameterError, match="imu"):
        ps.read(_export(tmp_path, _two_sensors(rng)), imu="keep")


def test_error_header_row_disagrees_with_labels(tmp_path, rng):
    p = _export(tmp_path, _two_sensors(rng))
    text = p.read_text().replace('"Right Multifidus: EMG 2"', '"Something else"')
    p.write_text(text)
    with pytest.raises(FormatError, match="Label lines say"):
        ps.read(p)


def test_error_no_emg(tmp_path, rng):
    ch = [("S: ACC.X 1", FS_IMU, np.ones(20), "g")]
    with pytest.raises(ChannelError, match="no EMG"):
        ps.read(_export(tmp_path, ch))


def test_error_gap_inside_emg_names_channel(tmp_path, rng):
    ch = _two_sensors(rng, n=50, m=10)
    p = _export(tmp_path, ch)
    lines = p.read_text().splitlines()
    cells = lines[25].split(",")
    cells[1] = ""
    lines[25] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ChannelError, match="non-finite") as e:
        ps.read(p)
    assert e.value.channel == "Left Multifidus: EMG 1"


@pytest.mark.realdata
def test_real_trigno_export(data_dir):
    f = data_dir / "emgio_trigno" / "truncated_trigno_sample.csv"
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    with pytest.warns(ParaspinalWarning, match="truncated"):
        rec = ps.read(f)
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before
    ref = pd.read_csv(f, skiprows=17, encoding="latin-1")
    assert ref.shape == (2519, 28)
    assert rec.sfreq == pytest.approx(1259.259, rel=1e-6)
    assert rec.ch_names == ["Mini sensor 10: EMG 10", "Mini sensor 11: EMG 11"]
    assert rec.channels["unit"].tolist() == ["V", "V"] and rec.n_samples == 2519
    emg = rec.get_data(unit=None)
    np.testing.assert_array_equal(emg[0], ref["Mini sensor 10: EMG 10"].to_numpy())
    np.testing.assert_array_equal(emg[1], ref["Mini sensor 11: EMG 11"].to_numpy())
    assert emg[0].std() == pytest.approx(1.9e-4, rel=0.05)


@pytest.mark.realdata
def test_real_trigno_export_imu_resampled(data_dir):
    f = data_dir / "emgio_trigno" / "truncated_trigno_sample.csv"
    rec = ps.read(f, imu="resample")
    assert len(rec.ch_names) == 14 and rec.n_samples == 2519
    ref = pd.read_csv(f, skiprows=17, encoding="latin-1")
    t_imu = ref["X[s].1"].to_numpy()[:297]
    acc = ref["Mini sensor 10: ACC.X 10"].to_numpy()[:297]
    t_emg = ref["X[s]"].to_numpy()
    got = rec.get_data("Mini sensor 10: ACC.X 10")[0]
    # the EMG clock is t0 + n / fs; compare where the EMG times fall inside the IMU span
    t_grid = t_emg[0] + np.arange(2519) / rec.sfreq
    inside = t_grid <= t_imu[-1]
    np.testing.assert_allclose(got[inside], np.interp(t_grid[inside], t_imu, acc), rtol=1e-9)
    assert rec.channels.set_index("name").loc["Mini sensor 10: GYRO.X 10", "unit"] == "°/s"
