"""Amplitude maps and their features (paraspinal.hdsemg.maps): analytic values, synthetic grids with
known truth, and the real OTBiolab+ recording read independently with SciPy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.signal

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.errors import ParaspinalWarning
from paraspinal.hdsemg.synth import simulate_grid

X = np.tile(np.arange(3) * 8.0, (2, 1))  # 2 x 3 lattice, 8 mm
Y = np.repeat(np.arange(2)[:, None] * 8.0, 3, axis=1)


# ----------------------------------------------------------------------------- analytic
def test_centroid_by_hand():
    m = np.array([[1.0, 2.0, 10.0], [0.0, 8.0, 9.0]])
    # >= 70 % of 10: the cells 10 (x16, y0), 8 (x8, y8), 9 (x16, y8)
    x, y = hd.centroid_array(m, X, Y)
    assert x == pytest.approx((10 * 16 + 8 * 8 + 9 * 16) / 27)
    assert y == pytest.approx((8 * 8 + 9 * 8) / 27)
    x0, y0 = hd.centroid_array(m, X, Y, threshold=0.0)
    assert x0 == pytest.approx((2 * 8 + 10 * 16 + 8 * 8 + 9 * 16) / 30)
    # NaN cells (no electrode) carry no weight, and a missing position does not poison the sum
    m2, x2 = m.copy(), X.copy()
    m2[0, 0] = np.nan
    x2[0, 0] = np.nan
    assert hd.centroid_array(m2, x2, Y, threshold=0.0)[0] == pytest.approx(x0 * 30 / 29 - 0 / 29)
    assert np.isnan(hd.centroid_array(np.zeros((2, 3)), X, Y)[0])


def test_centroid_of_a_symmetric_map_is_its_centre():
    x = np.arange(5) * 8.0
    y = np.arange(13) * 8.0
    xx, yy = np.meshgrid(x, y)
    m = np.exp(-((xx - 16) ** 2) / 200 - ((yy - 48) ** 2) / 500)
    cx, cy = hd.centroid_array(np.stack([m, 3 * m]), xx, yy)
    np.testing.assert_allclose(cx, 16.0)
    np.testing.assert_allclose(cy, 48.0)


def test_entropy_and_cv_by_hand():
    assert hd.entropy_array(np.ones((13, 5))) == pytest.approx(np.log2(65))
    u = np.ones((13, 5))
    u[0, 0] = np.nan
    assert hd.entropy_array(u) == pytest.approx(6.0)  # 64 electrodes
    one = np.zeros((2, 3))
    one[1, 1] = 5.0
    assert hd.entropy_array(one) == 0.0
    two = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert hd.entropy_array(two) == pytest.approx(1.0)
    # p = RMS^2 / sum: RMS (1, 2) gives p (0.2, 0.8)
    assert hd.entropy_array(np.array([[1.0, 2.0]])) == pytest.approx(-(0.2 * np.log2(0.2) + 0.8 * np.log2(0.8)))
    assert hd.cv_array(np.array([[1.0, 3.0]])) == pytest.approx(0.5)
    assert hd.cv_array(np.ones((3, 3))) == 0.0


def test_window_rms_and_trend():
    fs = 100.0
    t = np.arange(350) / fs
    x = np.vstack([np.sqrt(2) * np.sin(2 * np.pi * 10 * t), np.full(t.size, 2.0)])
    rms, centres = hd.window_rms(x, fs, 1.0)
    np.testing.assert_allclose(rms, [[1, 1, 1], [2, 2, 2]], atol=1e-12)
    np.testing.assert_allclose(centres, [0.5, 1.5, 2.5])
    tt = np.arange(6.0)
    shift, slope = hd.trend_array(tt, np.vstack([3 + 0.5 * tt, [1, np.nan, 2, 3, 4, np.nan]]))
    np.testing.assert_allclose(shift, [2.5, 3.0])
    np.testing.assert_allclose(slope[0], 0.5)
    np.testing.assert_allclose(slope[1], np.polyfit([0, 2, 3, 4], [1, 2, 3, 4], 1)[0])
    assert np.isnan(hd.trend_array(tt[:1], np.array([1.0]))[0])


# ----------------------------------------------------------------------------- synthetic truth
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_centroid_within_half_a_millimetre(seed):
    sim = simulate_grid(60.0, seed=seed, window_s=5.0)
    truth = sim.truth["L_ES"]
    x, y = hd.rms_map(sim.recording).centroid()
    assert abs(x[0] - truth.whole_centroid[0]) < 0.5 and abs(y[0] - truth.whole_centroid[1]) < 0.5
    # the full map (threshold 0) of every 5-s window: continuous in the map, so each window meets 0.5 mm
    sim0 = simulate_grid(60.0, seed=seed, window_s=5.0, threshold=0.0)
    cx, cy = hd.rms_maps(sim0.recording, window_s=5.0).centroid(threshold=0.0)
    np.testing.assert_allclose(cx, sim0.truth["L_ES"].centroid_x, atol=0.5)
    np.testing.assert_allclose(cy, sim0.truth["L_ES"].centroid_y, atol=0.5)
    # the estimated map is the true map within a few per cent (5-s windows)
    ms = hd.rms_maps(sim.recording, window_s=5.0)
    np.testing.assert_allclose(ms.values, truth.true_map, rtol=0.08)


def test_synthetic_centroid_shift():
    sim = simulate_grid(60.0, seed=4, window_s=5.0, shift=(0.0, 16.0))
    truth = sim.truth["L_ES"]
    f = hd.map_features(sim.recording, window_s=5.0).set_index("feature")["value"]
    true_slope = np.polyfit(truth.times, truth.centroid_y, 1)[0]
    assert f["hd_centroid_y_slope"] == pytest.approx(true_slope, rel=0.1)
    assert f["hd_centroid_y_slope"] * 60.0 == pytest.approx(16.0, abs=2.5)  # the blob moved 16 mm cranially
    assert abs(f["hd_centroid_x_slope"]) < 0.02
    still = hd.map_features(simulate_grid(60.0, seed=4, shift=(0.0, 0.0)).recording, window_s=5.0)
    assert abs(still.set_index("feature").at["hd_centroid_y_slope", "value"]) < 0.02


@pytest.mark.parametrize("seed", [0, 1])
def test_uniform_map_entropy_is_log2_n(seed):
    sim = simulate_grid(30.0, seed=seed, spread=None)
    m = hd.rms_map(sim.recording)
    assert m.entropy()[0] == pytest.approx(np.log2(64), abs=0.005)
    assert m.cv()[0] < 0.03
    sd = hd.rms_map(hd.single_differential(sim.recording))
    assert sd.entropy()[0] == pytest.approx(np.log2(59), abs=0.01)  # 59 SD channels


def test_bad_electrodes_are_interpolated_for_maps():
    """Two interior electrodes (row 5 of column 1, row 4 of column 3) of a broad map."""
    sim = simulate_grid(30.0, seed=6, bad={"dead": [20], "noisy": [47]}, spread=(20.0, 30.0))
    truth = sim.truth["L_ES"]
    table = hd.detect_bad(sim.recording)
    m = hd.rms_map(sim.recording, bad=table)
    assert m.interpolated.sum() == 2 and m.interpolated[5, 1] and m.interpolated[4, 3]
    np.testing.assert_allclose(m.values[0], truth.whole_map, rtol=0.1)
    x, y = m.centroid()
    assert abs(x[0] - truth.whole_centroid[0]) < 0.5 and abs(y[0] - truth.whole_centroid[1]) < 0.5
    raw_map = hd.rms_map(sim.recording)
    assert abs(raw_map.centroid()[0][0] - truth.whole_centroid[0]) > 1.0  # the noisy electrode pulls it
    left_out = hd.rms_map(sim.recording, bad=table, interpolate=False)
    assert np.isnan(left_out.values[0]).sum() == 3  # the empty corner and the two bad electrodes


def test_independent_generator_8x8_flat_spectrum():
    """A check with its own generator: 8 x 8 grid, flat 20-400 Hz noise, a known amplitude plane."""
    rng = np.random.default_rng(8)
    m = hd.grid_model("GR10MM0808")
    pos = hd.model_positions(m)
    n, fs = 40000, 2000.0
    spec = np.fft.rfft(rng.standard_normal((64, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / fs)
    spec[:, (f < 20) | (f > 400)] = 0
    x = np.fft.irfft(spec, n=n, axis=1)
    x /= x.std(axis=1, keepdims=True)
    amp = 10.0 + 0.5 * pos["x_mm"].to_numpy() + 0.25 * pos["y_mm"].to_numpy()  # uV
    names = [f"ch{k}" for k in pos["electrode"]]
    rec = ps.Recording.from_array(x * amp[:, None], fs, names, units="uV", ch_types=["emg"] * 64, rename=False)
    rec = hd.set_layout(rec, m.name, channels=names, grid="L_ES")
    gm = hd.rms_map(rec)
    want = np.full((8, 8), np.nan)
    want[pos["row"], pos["col"]] = amp
    np.testing.assert_allclose(gm.values[0], want, rtol=1e-9)  # unit variance by construction
    cx, cy = gm.centroid(threshold=0.0)
    xs, ys = pos["x_mm"].to_numpy(), pos["y_mm"].to_numpy()
    assert cx[0] == pytest.approx((amp * xs).sum() / amp.sum()) and cy[0] == pytest.approx((amp * ys).sum() / amp.sum())


# ----------------------------------------------------------------------------- tidy table
def test_map_features_table_columns_units_and_phases():
    sim = simulate_grid(24.0, seed=2, grids=("L_ES", "R_ES"))
    phases = pd.DataFrame({"onset": [0.0, 8.0, 16.0], "duration": [8.0, 8.0, 8.0],
                           "phase": ["sorensen_hold"] * 3, "cycle": [1, 2, 3]})
    table = hd.map_features(sim.recording, phases, window_s=2.0)
    assert tuple(table.columns) == ps.features.COLUMNS == hd.FEATURE_COLUMNS
    assert set(table["channel"]) == {"L_ES", "R_ES"} and set(table["muscle"]) == {"ES"}
    assert set(table["feature"]) == set(hd.MAP_FEATURES)
    units = table.drop_duplicates("feature").set_index("feature")["unit"]
    assert units["hd_rms_mean"] == "uV" and units["hd_centroid_y"] == "mm" and units["hd_entropy"] == "bit"
    assert units["hd_cv"] == "1" and units["hd_centroid_y_slope"] == "mm/s"
    cycles = table[table["channel"] == "L_ES"].drop_duplicates("cycle")["cycle"].tolist()
    assert cycles[:3] == [1, 2, 3] and pd.isna(cycles[3])  # per cycle, then all cycles pooled
    # the pooled centroid moves with the blob: cycle 3 is more cranial than cycle 1
    cy = table[(table["feature"] == "hd_centroid_y") & (table["channel"] == "L_ES")].set_index("cycle")["value"]
    assert cy[3] - cy[1] > 5.0
    series = hd.map_series(sim.recording, phases, window_s=2.0)
    assert len(series) == 2 * (12 + 12)  # 2 grids x (4 windows x 3 cycles + 12 pooled)
    assert set(series.columns) >= {"grid", "phase", "cycle", "t", "hd_centroid_y"}


def test_map_features_without_phases_and_short_phases():
    sim = simulate_grid(3.0, seed=1)
    rec = sim.recording.with_phases(pd.DataFrame({"onset": [0.0], "duration": [1.5], "phase": ["rest"]}))
    with pytest.warns(ParaspinalWarning, match="no centroid shift"):
        table = hd.map_features(rec, window_s=1.0)
    assert "hd_centroid_y_shift" not in set(table["feature"]) and "hd_centroid_y" in set(table["feature"])
    whole = hd.map_features(sim.recording, pd.DataFrame(columns=["onset", "duration", "phase"]), window_s=1.0)
    assert set(whole["phase"]) == {"all"}


# ----------------------------------------------------------------------------- real recording
@pytest.mark.realdata
def test_real_map_matches_an_independent_reading(data_dir):
    """RMS map and centroid of the real file: paraspinal vs a plain SciPy reading with the layout by hand."""
    path = data_dir / "openhdemg_otb" / "otb_testfile.mat"
    raw = scipy.io.loadmat(path)["Data"][0, 0][:, :64].astype(float).T  # uV, electrode k in row k - 1
    sos = scipy.signal.butter(4, [20, 450], "bandpass", fs=2048, output="sos")
    rms = np.sqrt(np.mean(scipy.signal.sosfiltfilt(sos, raw, axis=1) ** 2, axis=1))
    from test_hdsemg_layout import GR08MM1305_BY_HAND as numbers

    want = np.full((13, 5), np.nan)
    rr, cc = np.nonzero(numbers)
    want[rr, cc] = rms[numbers[rr, cc] - 1]
    with pytest.warns(ParaspinalWarning):
        rec = ps.read(path)
    pre = ps.preprocess(rec, {"steps": [{"name": "bandpass", "low": 20.0, "high": 450.0, "order": 4}]})
    got = hd.rms_map(pre)
    # paraspinal's band-pass corrects the cut-offs for the double pass (docs/design.md): within 2 %
    np.testing.assert_allclose(got.values[0], want, rtol=0.02)
    # unfiltered, the reader and the map are exact: the RMS of the file's columns
    plain = np.full((13, 5), np.nan)
    plain[rr, cc] = np.sqrt(np.mean(raw ** 2, axis=1))[numbers[rr, cc] - 1]
    np.testing.assert_allclose(hd.rms_map(rec).values[0], plain, rtol=1e-9)
    xx, yy = np.meshgrid(np.arange(5) * 8.0, np.arange(13) * 8.0)
    sel = np.nan_to_num(want) >= 0.7 * np.nanmax(want)
    wx = (want[sel] * xx[sel]).sum() / want[sel].sum()
    wy = (want[sel] * yy[sel]).sum() / want[sel].sum()
    x, y = got.centroid()
    assert abs(x[0] - wx) < 0.5 and abs(y[0] - wy) < 0.5
    assert got.entropy()[0] == pytest.approx(5.907, abs=0.01)  # recorded by scripts/verify_hdsemg.py
