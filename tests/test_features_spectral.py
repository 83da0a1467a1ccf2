"""Spectral and fatigue features against analytic values (METHODS.md §7, §10) and a real fatigue recording."""

import numpy as np
import pytest

import paraspinal
from paraspinal import synth
from paraspinal.features import spectral as sp
from paraspinal.pipeline import preprocess


def test_flat_band_mnf_mdf_are_band_centre():
    # analytic PSD (no estimation): flat on [50, 150] Hz -> MNF = MDF = 100 Hz (METHODS §10 item 3)
    f = np.arange(0, 1001, 2.0)
    p = ((f >= 50) & (f <= 150)).astype(float)
    assert sp.mean_frequency(f, p, (50, 150)) == pytest.approx(100.0, abs=1e-9)
    assert sp.median_frequency(f, p, (50, 150)) == pytest.approx(100.0, abs=1e-9)


def test_mdf_uses_bin_edges_not_centres():
    # a single bin of power: MDF is the bin centre (edges interpolation), not half a bin below it
    f = np.arange(0, 101, 1.0)
    p = np.zeros_like(f)
    p[40] = 1.0
    assert sp.median_frequency(f, p) == pytest.approx(40.0)


@pytest.mark.parametrize("fl,fh,mdf_band", [(40, 80, 66.10), (60, 120, 95.67)])
def test_shwedyk_noise_mdf_matches_table(fl, fh, mdf_band):
    fs = 2000.0
    x = synth.shaped_noise(int(60 * fs), fs, f_l=fl, f_h=fh, seed=5)
    r = sp.spectral_features_array(x, fs, band=(20, 450))
    # METHODS §10 item 2, 20-450 Hz column; 60 s Monte-Carlo SD ~0.5 Hz -> 2 Hz tolerance
    assert r["mdf"][0] == pytest.approx(mdf_band, abs=2.0)
    mnf_true, _ = synth.shwedyk_frequencies(fl, fh, (20.0, 450.0))
    assert r["mnf"][0] == pytest.approx(mnf_true, rel=0.03)


def test_flat_noise_mnf_mdf_centre_by_welch():
    fs = 2000.0
    x = synth.shaped_noise(int(60 * fs), fs, spectrum="flat", band=(100.0, 300.0), seed=2)
    r = sp.spectral_features_array(x, fs, band=(100, 300))
    assert r["mdf"][0] == pytest.approx(200.0, abs=2.0)
    assert r["mnf"][0] == pytest.approx(200.0, abs=2.0)


def test_finsm5_increases_when_spectrum_compresses():
    f = np.arange(0, 1001, 1.0)
    vals = [sp.finsm5(f, synth.shwedyk_psd(f, 60 * c, 120 * c), (8, 500)) for c in (1.0, 0.9, 0.8, 0.7, 0.6)]
    assert np.all(np.diff(vals) > 0)
    # METHODS §10 item 7: (60,60) / (60,120) ratio of FInsm5 = 1.749e-13 / 3.094e-14
    r = sp.finsm5(f, synth.shwedyk_psd(f, 60, 60), (8, 500)) / sp.finsm5(f, synth.shwedyk_psd(f, 60, 120), (8, 500))
    assert r == pytest.approx(1.749e-13 / 3.094e-14, rel=0.02)


def test_fatigue_slope_recovers_synthetic_compression():
    sim = synth.simulate("sorensen", "control", sfreq=1000, seed=1, fatigue=-0.3, ecg=False, powerline=None,
                         channels=("L_LT", "R_LT"), protocol_options={"hold": 60.0, "before": 2.0, "after": 2.0})
    hold = sim.recording.crop(2.0, 62.0)
    r = sp.fatigue_slope(hold.emg("uV"), hold.sfreq, window_s=1.0)
    true = sim.truth.phases[1]["mdf_slope_hz_per_s"]["L_LT"]
    assert r["slope"][0] == pytest.approx(true, abs=0.05)
    assert r["ci_low"][0] < true < r["ci_high"][0] or abs(r["slope"][0] - true) < 0.03
    assert r["slope_pct"][0] == pytest.approx(-0.3, abs=0.1)


@pytest.mark.realdata
def test_biceps_fatigue_recording_mdf_slope_negative(data_dir):
    rec = paraspinal.read(data_dir / "biosignalsnotebooks" / "emg_fatigue.h5")
    rec = preprocess(rec, {"steps": [{"name": "bandpass", "low": 20.0, "high": 450.0}]})
    r = sp.fatigue_slope(rec.emg("uV"), rec.sfreq, window_s=1.0)
    assert r["slope"][0] < 0
    assert r["ci_high"][0] < 0  # the 95 % confidence interval excludes zero


def test_segment_psd_equals_scipy_welch_on_the_same_frames():
    """One pass of frames on a global grid gives, per segment, scipy's Welch of the frames inside it."""
    from scipy import signal

    from paraspinal.features.spectral import segment_psd

    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 20000))
    fs, nps, hop = 2000.0, 1000, 500
    segs = np.array([[0, 6000], [500, 9000], [10000, 10800], [12345, 20000]])
    psd_sum, n_frames = segment_psd(x, fs, segs, nps, chunk_frames=7)  # small chunks cross segments
    assert n_frames.tolist() == [11, 16, 0, 14]
    for i, (a, b) in enumerate(segs):
        if n_frames[i] == 0:
            continue
        start = -(-a // hop) * hop
        stop = ((b - nps) // hop) * hop + nps
        _, ref = signal.welch(x[:, start:stop], fs=fs, window="hann", nperseg=nps, noverlap=nps // 2, axis=-1)
        np.testing.assert_allclose(psd_sum[:, i] / n_frames[i], ref, rtol=1e-10, atol=0)
