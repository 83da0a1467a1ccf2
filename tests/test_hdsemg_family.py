"""The HD-sEMG feature family (paraspinal.features.families.hdsemg): rows of the tidy table per grid and
phase, against synthetic grids with known truth and a plain NumPy computation written here."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import features, hdsemg as hd, synth
from paraspinal.features.families import hdsemg as family
from paraspinal.features.registry import FAMILIES

BANDPASS = {"steps": [{"name": "bandpass", "low": 20.0, "high": 450.0, "order": 4}]}


def _compute(rec, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return features.compute(rec, features=["hdsemg"], **kw)


@pytest.fixture(scope="module")
def hold():
    """A bilateral 40-s Sorensen hold whose activity moves 16 mm cranially."""
    return hd.simulate_grid(40.0, 1024.0, grids=("L_ES", "R_ES"), shift=(0.0, 16.0), seed=3,
                            meta={"subject": "01", "group": "control", "task": "sorensen"})


def test_family_is_registered_with_the_map_features():
    fam = next(f for f in FAMILIES if f.name == "hdsemg")
    assert [f.name for f in fam.features] == list(hd.MAP_FEATURES)
    assert fam.needs == ()
    for f in fam.features:  # the registry's unit text agrees with the maps module's unit
        unit = hd.MAP_FEATURES[f.name][0]
        assert f.unit == unit or (unit == "U" and f.unit.startswith("U"))
    assert tuple(features.COLUMNS) == hd.FEATURE_COLUMNS


def test_no_grid_no_rows_and_no_cost(monkeypatch):
    rec = synth.simulate("frt", "control", sfreq=1000, seed=1, ecg=False, powerline=None,
                         channels=("L_LT", "R_LT")).recording

    def fail(*a, **k):
        raise AssertionError("map features computed for a recording without grids")

    monkeypatch.setattr(family._hd, "map_features", fail)
    monkeypatch.setattr(family._hd, "detect_bad", fail)
    assert len(_compute(rec)) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not features.compute(rec).empty  # every family asked, the grid family silent


def test_rows_against_the_truth_and_a_plain_numpy_centroid(hold):
    rec = hold.recording
    table = _compute(rec)
    assert set(table["channel"]) == {"L_ES", "R_ES"}
    assert set(table["phase"]) == {"sorensen_hold"} and table["cycle"].isna().all()
    assert set(table["feature"]) == set(hd.MAP_FEATURES)
    v = table[table["channel"] == "L_ES"].set_index("feature")
    units = table.set_index(["channel", "feature"])["unit"]
    assert units[("L_ES", "hd_centroid_y")] == "mm" and units[("L_ES", "hd_rms_mean")] == "uV"
    assert (table[table["channel"] == "L_ES"]["muscle"] == "ES").all()
    assert (table[table["channel"] == "R_ES"]["side"] == "R").all()
    truth = hold.truth["L_ES"]
    # the whole hold's centroid: within 0.5 mm of the truth (the oracle of issue 17)
    assert v.at["hd_centroid_x", "value"] == pytest.approx(truth.whole_centroid[0], abs=0.5)
    assert v.at["hd_centroid_y", "value"] == pytest.approx(truth.whole_centroid[1], abs=0.5)
    # the same centroid in a few lines of NumPy, from the channel table and the signals
    t = rec.channels[rec.channels["grid"] == "L_ES"]
    r = np.sqrt(np.mean(rec.get_data(t["name"].tolist(), unit="uV") ** 2, axis=1))
    s = r >= 0.7 * r.max()
    assert v.at["hd_centroid_y", "value"] == pytest.approx(np.sum(r[s] * t["y_mm"].to_numpy()[s]) / r[s].sum(),
                                                           abs=1e-9)
    assert v.at["hd_rms_mean", "value"] == pytest.approx(r.mean(), rel=1e-9)
    p = r**2 / np.sum(r**2)
    assert v.at["hd_entropy", "value"] == pytest.approx(-np.sum(p * np.log2(p)), abs=1e-9)
    # the track: the truth's 1-s windows moved ~16 mm cranially, nothing medio-laterally
    true_slope = np.polyfit(truth.times, truth.centroid_y, 1)[0]
    assert v.at["hd_centroid_y_slope", "value"] == pytest.approx(true_slope, abs=0.05)
    span = truth.times[-1] - truth.times[0]
    assert v.at["hd_centroid_displacement", "value"] == pytest.approx(abs(true_slope) * span, abs=2.0)
    assert abs(v.at["hd_centroid_x_slope", "value"]) < 0.05


def test_uniform_map_entropy_is_log2_n():
    sim = hd.simulate_grid(20.0, 1024.0, spread=None, shift=(0.0, 0.0), seed=4)
    v = _compute(sim.recording).set_index("feature")["value"]
    assert v["hd_entropy"] == pytest.approx(np.log2(64), abs=0.005)
    assert v["hd_cv"] < 0.03


def test_cycles_and_the_pooled_track_over_repetitions():
    """Repeated lifts: one row per cycle and one pooled row whose track runs over the repetitions."""
    sim = hd.simulate_grid(36.0, 1024.0, shift=(0.0, 18.0), seed=5)
    ph = pd.DataFrame({"onset": [0.0, 12.0, 24.0], "duration": [10.0] * 3, "phase": ["lifting"] * 3,
                       "cycle": pd.array([1, 2, 3], dtype="Int64")})
    rec = sim.recording.with_phases(ph)
    table = _compute(rec)
    per = table[(table["feature"] == "hd_centroid_y") & table["cycle"].notna()]
    cyc = dict(zip(per["cycle"].astype(int), per["value"]))
    assert table["cycle"].drop_duplicates().tolist()[:3] == [1, 2, 3] and table["cycle"].isna().any()
    assert cyc[1] < cyc[2] < cyc[3]  # the activity moves cranially from lift to lift
    pooled = table[table["cycle"].isna()].set_index("feature")["value"]
    truth = sim.truth["L_ES"]
    assert pooled["hd_centroid_y_slope"] == pytest.approx(np.polyfit(truth.times, truth.centroid_y, 1)[0], abs=0.08)


def test_family_alone_gives_its_rows_of_the_whole_table(hold):
    rec = hold.recording.crop(0.0, 12.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = features.compute(rec)
    part = _compute(rec)
    expect = whole[whole["feature"].isin(hd.MAP_FEATURES)].reset_index(drop=True)
    assert len(part) and part.equals(expect)
    # grid rows come after the electrode channels
    assert whole["channel"].iloc[-1] in ("L_ES", "R_ES")
    # grid electrodes are not paired left/right (64 x 64 pairs of a bilateral grid recording)
    assert not whole["channel"].str.contains("|", regex=False).any()
    assert not {"asymmetry_index", "lr_xcorr"} & set(whole["feature"])


def test_bad_electrodes_recorded_on_the_raw_signal_are_used():
    """A saturated electrode: visible as read, gone after filtering; the recorded check keeps it."""
    sim = hd.simulate_grid(20.0, 1024.0, shift=(0.0, 0.0), seed=6, bad={"saturated": [33]})
    raw = sim.recording
    name = "L_ES_33"
    marked = hd.mark_bad(raw)
    assert hd.recorded_bad(marked) == {name: "saturated"}
    assert hd.bad_check(marked, "L_ES")["on"] == "signals as given"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = ps.preprocess(raw, BANDPASS)
        assert not hd.detect_bad(filtered).set_index("channel").at[name, "bad"]  # filtering hid the clipping
        kept = ps.preprocess(marked, BANDPASS)
    assert hd.recorded_bad(kept) == {name: "saturated"}  # the record travels through conditioning
    with_record = features.compute(kept, features=["hdsemg"])
    notes = " ".join(with_record.attrs["notes"])
    assert name in notes and "interpolated" in notes and "signals as given" in notes
    without = _compute(filtered)
    assert "saturation is no longer visible" in " ".join(without.attrs["notes"])
    # the interpolated map is nearer the truth than the map with the clipped electrode
    truth = sim.truth["L_ES"].whole_map
    geom = hd.geometry(kept)
    cell = tuple(np.argwhere(geom.names == name)[0])
    fixed = hd.rms_map(kept).values[0][cell]
    clipped = hd.rms_map(kept, bad=[]).values[0][cell]
    assert abs(fixed - truth[cell]) < abs(clipped - truth[cell])


def test_picks_without_the_whole_grid_skip_it_with_a_note(hold):
    rec = hold.recording.crop(0.0, 5.0)
    left = [n for n in rec.emg_names if n.startswith("L_ES")]
    table = _compute(rec, picks=left + ["R_ES_01"])
    assert set(table["channel"]) == {"L_ES"}
    assert any("R_ES" in n and "skipped" in n for n in table.attrs["notes"])


def test_bad_electrode_band_rms_is_the_welch_estimate():
    """detect_bad's band RMS against scipy.signal.welch on the same 1-s Hann segments (its PSD is its own)."""
    import scipy.signal

    sim = hd.simulate_grid(6.0, 1000.0, seed=8)
    x = sim.recording.get_data(hd.geometry(sim.recording).channels, unit="uV") + 5000.0  # a 5 mV offset too
    f, p = scipy.signal.welch(x, fs=1000.0, window="hann", nperseg=1000, noverlap=500, detrend="constant")
    band = (f >= 20) & (f <= 450)
    near = np.zeros(f.shape, bool)
    for h in (50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0, 450.0):
        near |= np.abs(f - h) <= 1.0 + 1e-9
    expect = np.sqrt((p[:, band].sum(1) - p[:, band & near].sum(1)) * (f[1] - f[0]))
    rec = ps.Recording.from_array(x, 1000.0, hd.geometry(sim.recording).channels, units="uV",
                                  ch_types=["emg"] * 64, rename=False)
    rec = hd.set_layout(rec, hd.layout_of(sim.recording))
    got = hd.detect_bad(rec, line_freq=50.0)["rms_uV"].to_numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-6)  # float32 FFTs inside


def test_centroid_track_of_a_generator_written_here():
    """White noise under a Gaussian amplitude map moving 0.5 mm/s cranially, made in a few lines of NumPy
    (no Shwedyk spectrum, no spatial correlation, no simulate_grid): the family's slope and
    displacement against the slope of the method's centroid on the analytic map."""
    fs, dur = 1000.0, 30.0
    pos = hd.model_positions("GR08MM1305")
    ex, ey = pos["x_mm"].to_numpy(), pos["y_mm"].to_numpy()
    t = np.arange(int(fs * dur)) / fs
    amp = 5.0 + 60.0 * np.exp(-(ex[:, None] - 16.0) ** 2 / (2 * 12.0**2)
                              - (ey[:, None] - (30.0 + 0.5 * t)) ** 2 / (2 * 18.0**2))
    x = amp * np.random.default_rng(9).standard_normal(amp.shape)
    names = [f"E{k}" for k in pos["electrode"]]
    rec = ps.Recording.from_array(x, fs, names, units="uV", ch_types=["emg"] * 64, rename=False,
                                  phases=pd.DataFrame({"onset": [0.0], "duration": [dur], "phase": ["sorensen_hold"]}))
    rec = hd.set_layout(rec, "GR08MM1305", channels=names, grid="G")
    v = _compute(rec).set_index("feature")["value"]
    # the method on the analytic map of each 1-s window: mean of amp^2 over the window
    ms = (amp**2).reshape(64, 30, 1000).mean(axis=2)
    true = np.sqrt(ms)
    cy = []
    for k in range(30):
        m = true[:, k]
        s = m >= 0.7 * m.max()
        cy.append(np.sum(m[s] * ey[s]) / m[s].sum())
    centres = np.arange(30) + 0.5
    slope = np.polyfit(centres, cy, 1)[0]
    assert v["hd_centroid_y_slope"] == pytest.approx(slope, abs=0.05)
    assert v["hd_centroid_displacement"] == pytest.approx(abs(slope) * 29.0, abs=1.5)
    assert 10 < v["hd_centroid_displacement"] < 20  # the blob moved 15 mm
