"""Tests of the synthetic-EMG generator against independent oracles.

Expected values come from analytic formulas (METHODS.md section 10) or from numerical
integration of the Shwedyk PSD written out here with scipy.integrate, never from the
library's own spectral helpers. Envelopes are computed here with plain NumPy.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, signal

from paraspinal import synth
from paraspinal.errors import ChannelError, ParameterError

CLEAN = dict(ecg=False, ecg_lead=False, powerline=None, baseline=False, artefacts=False, bursts=False)


# ----------------------------------------------------------------------------- oracles
def shwedyk_psd_oracle(f, fl, fh):
    """Shwedyk et al. (1977) PSD, METHODS.md 9.1, written independently of the library."""
    return fh**4 * f**2 / ((f**2 + fl**2) * (f**2 + fh**2) ** 2)


def analytic_mnf_mdf(fl, fh, lo=0.0, hi=np.inf):
    total = integrate.quad(shwedyk_psd_oracle, lo, hi, args=(fl, fh), limit=400)[0]
    mnf = integrate.quad(lambda f: f * shwedyk_psd_oracle(f, fl, fh), lo, hi, limit=400)[0] / total
    top = hi if np.isfinite(hi) else 5000.0
    mdf = optimize.brentq(lambda m: integrate.quad(shwedyk_psd_oracle, lo, m, args=(fl, fh), limit=400)[0]
                          - total / 2, lo + 1e-6, top)
    return mnf, mdf


def welch_mnf_mdf(x, fs, nperseg=1024, band=None):
    f, p = signal.welch(x, fs=fs, nperseg=nperseg, axis=-1)
    if band is not None:
        sel = (f >= band[0]) & (f <= band[1])
        f, p = f[sel], p[..., sel]
    mnf = np.atleast_1d((p * f).sum(-1) / p.sum(-1))
    # the cumulative power up to bin k ends at the bin's upper edge f_k + df/2; using f_k
    # itself would bias the MDF low by half a bin (~1 Hz here)
    c = np.cumsum(p, axis=-1)
    c = c / c[..., -1:]
    edges = f + (f[1] - f[0]) / 2
    mdf = np.array([np.interp(0.5, row, edges) for row in np.atleast_2d(c)])
    return mnf, mdf


def moving_rms(x, n):
    """Centred moving RMS over n samples ('same' length, edges use the available samples)."""
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    i = np.arange(len(x))
    lo = np.clip(i - n // 2, 0, len(x))
    hi = np.clip(i - n // 2 + n, 0, len(x))
    return np.sqrt((c[hi] - c[lo]) / (hi - lo))


# ----------------------------------------------------------------------------- spectra
def test_analytic_table_of_methods_section_10():
    # the oracle itself reproduces METHODS.md 10 items 1-2
    assert analytic_mnf_mdf(60, 60) == pytest.approx((4 * 60 / math.pi, 60.0), abs=0.01)
    assert analytic_mnf_mdf(40, 80) == pytest.approx((82.19, 63.81), abs=0.01)
    assert analytic_mnf_mdf(40, 80, 20, 450)[1] == pytest.approx(66.10, abs=0.01)
    # the library's helper agrees with the oracle
    assert synth.shwedyk_frequencies(40.0, 80.0) == pytest.approx((82.19, 63.81), abs=0.01)
    f = np.array([1.0, 40.0, 63.0, 200.0, 900.0])
    assert np.allclose(synth.shwedyk_psd(f, 40.0, 80.0), shwedyk_psd_oracle(f, 40.0, 80.0), rtol=1e-12)


@pytest.mark.parametrize("fl, fh, mnf_inf, mdf_inf", [(40.0, 80.0, 82.19, 63.81), (60.0, 60.0, 76.39, 60.00)])
def test_shaped_noise_median_and_mean_frequency(fl, fh, mnf_inf, mdf_inf):
    # 60 s at 2 kHz, Welch nperseg 1024. METHODS.md 10: the MDF of 2-s windows has SD 3.8 Hz,
    # so a 60-s record has SD ~ 3.8 / sqrt(30) = 0.7 Hz; tolerance 2.1 Hz = 3 SD.
    # The record holds 0-1000 Hz only: the missing tail moves the MDF by < 0.03 Hz but the
    # MNF by ~0.7 Hz, so the MNF is compared with the 0-fs/2 integral (and the table value
    # within tolerance + that truncation).
    # Over 10-20 seeds this estimator gave MDF 63.78 +- 0.54 Hz and MNF 81.52 +- 0.46 Hz for (40, 80).
    fs, tol = 2000.0, 2.1
    x = synth.shaped_noise(int(60 * fs), fs, f_l=fl, f_h=fh, seed=11)
    mnf, mdf = welch_mnf_mdf(x[0], fs)
    mnf_half, mdf_half = analytic_mnf_mdf(fl, fh, 0.0, fs / 2)
    assert abs(mdf[0] - mdf_inf) < tol
    assert abs(mdf[0] - mdf_half) < tol
    assert abs(mnf[0] - mnf_half) < tol
    assert abs(mnf[0] - mnf_inf) < tol + abs(mnf_inf - mnf_half)
    # band-limited 20-450 Hz estimate against the band-limited integral (66.10 Hz for 40/80)
    _, mdf_b = welch_mnf_mdf(x[0], fs, band=(20, 450))
    assert abs(mdf_b[0] - analytic_mnf_mdf(fl, fh, 20, 450)[1]) < tol


def test_shaped_noise_unit_variance_and_gaussian():
    x = synth.shaped_noise(200_000, 2000.0, n_channels=4, seed=3)
    rms = np.sqrt(np.mean(x**2, axis=1))
    # each channel: ~200000 samples with a correlation time of a few ms -> RMS SE < 1 %
    assert np.all(np.abs(rms - 1.0) < 0.03)
    arv = np.mean(np.abs(x), axis=1)
    # Gaussian: ARV / RMS = sqrt(2/pi) = 0.7979 (METHODS.md 10 item 5)
    assert np.allclose(arv / rms, math.sqrt(2 / math.pi), atol=0.005)
    # channels are independent
    c = np.corrcoef(x)
    assert np.all(np.abs(c[np.triu_indices(4, 1)]) < 0.02)


def test_flat_band_noise_has_mnf_equal_mdf_equal_band_centre():
    fs = 2000.0
    x = synth.shaped_noise(int(60 * fs), fs, spectrum="flat", band=(100.0, 300.0), seed=5)
    mnf, mdf = welch_mnf_mdf(x[0], fs, nperseg=2048)
    assert mnf[0] == pytest.approx(200.0, abs=2.0)
    assert mdf[0] == pytest.approx(200.0, abs=2.0)


def test_block_boundaries_are_invisible():
    # Short blocks (4096 samples, 512-sample crossfades at 3584 and 7168) against one block:
    # over 400 independent channels the variance and the autocorrelation (lags 1-8) inside
    # the crossfades equal those elsewhere and the one-block ones. 400 channels x 1024
    # crossfade samples (~40 000 effectively independent values): SE of a variance ~0.007.
    fs = 2000.0
    x = synth.shaped_noise(3 * 4096, fs, n_channels=400, block=4096, crossfade=512 / fs, seed=2)
    y = synth.shaped_noise(3 * 4096, fs, n_channels=400, block=1 << 20, seed=2)
    cross = np.zeros(x.shape[1], bool)
    for b in (3584, 7168):
        cross[b:b + 512] = True
    inner = np.flatnonzero(cross[:-8])
    outer = np.flatnonzero(~cross[:-8])

    def acov(z, idx, lag):
        return float(np.mean(z[:, idx] * z[:, idx + lag]))

    for lag in range(0, 9):
        ref = acov(y, outer, lag)
        assert acov(x, inner, lag) == pytest.approx(ref, abs=0.03)
        assert acov(x, outer, lag) == pytest.approx(ref, abs=0.03)
    assert acov(x, inner, 0) == pytest.approx(1.0, abs=0.03)


# ----------------------------------------------------------------------------- FRP levels
def _err_fer(profile, seeds=(1, 2, 3), fs=2000.0):
    errs, fers = [], []
    for seed in seeds:
        sim = synth.simulate("frt", profile, sfreq=fs, channels=["L_LT"], seed=seed, angle=False, **CLEAN)
        x = sim.recording.emg(unit="uV")[0]
        env = moving_rms(x, int(0.25 * fs))
        trim = int((0.2 / 2 + 0.25 / 2) * fs)  # exclude the raised-cosine transitions and the RMS half-window
        ph = sim.recording.phases

        def mean_over(name):
            vals = []
            for r in ph[ph.phase == name].itertuples():
                i0 = int(round(r.onset * fs)) + trim
                i1 = int(round((r.onset + r.duration) * fs)) - trim
                vals.append(env[i0:i1])
            return np.concatenate(vals).mean()

        errs.append(mean_over("extension") / mean_over("full_flexion"))
        fers.append(mean_over("flexion") / mean_over("extension"))
    return float(np.mean(errs)), float(np.mean(fers)), sim.truth


def test_default_control_and_patient_err_match_methods_9_1():
    # METHODS.md 9.1: ERR = 40 / sqrt(2^2 + 1^2) = 17.9 (healthy), 25 / sqrt(15^2 + 1^2) = 1.66 (LBP);
    # FER = 20/40 = 0.50 and 22/25 = 0.88. Mean-based ERR of a 250 ms moving RMS, 3 seeds, within 5 %.
    err_c, fer_c, truth_c = _err_fer(synth.control_profile(cycle_cv=0.0))
    err_p, fer_p, truth_p = _err_fer(synth.patient_profile())
    assert err_c == pytest.approx(40 / math.sqrt(2**2 + 1), rel=0.05)
    assert err_p == pytest.approx(25 / math.sqrt(15**2 + 1), rel=0.05)
    assert fer_c == pytest.approx(0.50, rel=0.05)
    assert fer_p == pytest.approx(0.88, rel=0.05)
    assert truth_c.ratios["L_LT"]["ERR"] == pytest.approx(17.9, abs=0.05)
    assert truth_p.ratios["L_LT"]["ERR"] == pytest.approx(1.66, abs=0.01)
    assert truth_c.ratios["L_LT"]["frp_present"] and not truth_p.ratios["L_LT"]["frp_present"]


def test_err_with_cycle_variability_matches_truth():
    err, _, truth = _err_fer(synth.control_profile(cycle_cv=0.1), seeds=(7,))
    assert err == pytest.approx(truth.ratios["L_LT"]["ERR"], rel=0.05)


# ----------------------------------------------------------------------------- timing, angle, ECG
def test_phases_angle_and_ecg_agree_with_ground_truth():
    fs = 1000.0
    sim = synth.simulate("frt", "patient", sfreq=fs, seed=4)
    rec, truth = sim.recording, sim.truth
    # the truth survives a JSON round trip
    gt = json.loads(truth.to_json())
    ph = rec.phases
    ann = [p for p in gt["phases"] if p["annotated"]]
    assert list(ph.phase) == [p["phase"] for p in ann]
    # the JSON keeps 12 significant digits (synth.JSON_DIGITS)
    np.testing.assert_allclose(ph.onset.to_numpy(), [p["onset"] for p in ann], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(ph.duration.to_numpy(), [p["duration"] for p in ann], rtol=1e-11, atol=1e-12)
    assert list(ph.cycle) == [p["cycle"] for p in ann]
    assert sum(p["n_samples"] for p in gt["phases"]) == rec.n_samples == gt["meta"]["n_samples"]
    assert np.allclose(ph.duration, 3.0)  # protocol defaults
    # trunk angle
    ang = rec.raw.get_data(picks=["TRUNK_ANGLE"])[0]
    max_angle = gt["profile"]["effective_max_angle"]
    assert max_angle == pytest.approx(90.0 * 0.75)  # reduced_rom = 1 -> x 0.75
    for p in gt["phases"]:
        i0, i1 = p["onset_sample"], p["onset_sample"] + p["n_samples"]
        assert ang[i0] == p["angle_start"]
        assert ang[i1 - 1] == pytest.approx(p["angle_end"], abs=1e-3)
        if p["phase"] == "full_flexion":
            assert np.all(ang[i0:i1] == max_angle)
        if p["phase"] == "standing":
            assert np.all(ang[i0:i1] == 0.0)
        if p["phase"] == "flexion":
            assert np.all(np.diff(ang[i0:i1]) >= 0)
    # ECG beats: detected R peaks of the ECG lead = the truth's R peaks
    ecg = rec.raw.get_data(picks=["ECG"])[0] * 1e6
    peaks, _ = signal.find_peaks(ecg, height=500.0, distance=int(0.3 * fs))
    r = np.asarray(gt["ecg"]["r_peaks"])
    inner = r[(r > 0.05) & (r < rec.duration - 0.05)]
    assert len(peaks) == len(inner) and gt["ecg"]["n_beats"] == len(r)
    # the lead carries 5 uV of noise on a 1000 uV R wave whose top is ~14 ms wide: the
    # sampled maximum may move by a sample or two
    assert np.all(np.abs(peaks - inner * fs) <= 2.0)
    assert 45 / 60 * 50 <= len(r) <= 45 / 60 * 100


def test_same_beat_train_on_every_channel_with_its_gain():
    kw = dict(sfreq=1000.0, seed=9, ecg_lead=False, angle=False)
    with_ecg = synth.simulate_array("frt", "control", ecg=True, **kw)
    without = synth.simulate_array("frt", "control", ecg=False, **kw)
    diff = with_ecg[0] - without[0]  # EMG noise streams do not depend on the ECG switch
    gains = np.array([c["ecg_gain"] for c in with_ecg[3].channels])
    shape = diff / gains[:, None]
    assert np.allclose(shape, shape[0], atol=1e-9)
    assert shape.max() == pytest.approx(1.0, abs=1e-3)  # R peak = the channel's gain in uV
    names = [c["name"] for c in with_ecg[3].channels]
    g = dict(zip(names, gains))
    assert g["L_LT"] > g["R_LT"] and g["L_MF"] > g["R_MF"]  # larger on the left
    assert g["R_LT"] > g["R_MF"]  # larger on the higher (thoraco-lumbar) channel
    assert 50.0 <= g["R_IL"] <= 300.0


def test_ecg_waveform_table_matches_exact_model():
    r = np.array([-1.0, 0.0, 0.85, 1.7, 2.6])
    t = np.linspace(0.0, 2.5, 5001)
    assert np.allclose(synth.ecg_waveform(t, r), synth.ecg_waveform(t, r, exact=True), atol=1e-4)
    assert synth.ecg_waveform(np.array([0.85]), r, exact=True)[0] == pytest.approx(1.0)


def test_powerline_at_requested_frequency_with_truth_amplitude():
    fs = 1000.0
    for f0 in (50.0, 60.0):
        data, names, _, truth = synth.simulate_array("static", "control", sfreq=fs, seed=3, powerline=f0,
                                                     ecg=False, baseline=False, artefacts=False)
        t = np.arange(data.shape[1]) / fs
        x = data[0]
        amp = 2 * abs(np.mean(x * np.exp(-2j * np.pi * f0 * t)))  # projection onto the mains frequency
        assert amp == pytest.approx(truth.powerline["amplitude"][names[0]], rel=0.1)
        f, p = signal.welch(x, fs=fs, nperseg=2000)
        assert f[np.argmax(p)] == pytest.approx(f0, abs=0.5)


# ----------------------------------------------------------------------------- fatigue
def test_fatigue_median_frequency_slope():
    # 120-s hold, 8 extensor channels, requested NMF slope -0.3 %/s. MDF of 1-s windows
    # (Welch nperseg 256) has SD ~5 Hz, so one channel's slope has SE ~0.014 Hz/s and the
    # 8-channel mean ~0.005 Hz/s, 2.6 % of the 0.19 Hz/s slope; 8 seeds gave
    # -0.298 +- 0.005 %/s. Tolerance 5 %. (1-s shaping blocks: c is exact at each block
    # centre and off by at most 0.15 % of the MDF half a block away.)
    fs, slope = 1000.0, -0.3
    chans = [f"{s}_{m}" for m in ("LT", "IL", "MF", "ES") for s in "LR"]
    data, _, _, truth = synth.simulate_array([("sorensen_hold", 120.0)], "control", sfreq=fs, channels=chans,
                                             seed=8, fatigue=slope, angle=False, **CLEAN)
    win = data[:, : 120 * int(fs)].reshape(len(chans), 120, int(fs))
    f, p = signal.welch(win, fs=fs, nperseg=256, axis=-1)
    c = np.cumsum(p, axis=-1)
    c /= c[..., -1:]
    edges = f + (f[1] - f[0]) / 2  # cumulative power ends at each bin's upper edge
    mdf = np.array([[np.interp(0.5, row, edges) for row in ch] for ch in c])
    t = np.arange(120) + 0.5
    fits = np.array([np.polyfit(t, m, 1) for m in mdf])
    nmf = np.mean(fits[:, 0] / fits[:, 1] * 100)
    assert nmf == pytest.approx(slope, rel=0.05)
    # initial MDF near the analytic 0-500 Hz value (63.6 Hz), and the truth's slope in Hz/s
    assert np.mean(fits[:, 1]) == pytest.approx(analytic_mnf_mdf(40, 80, 0, fs / 2)[1], abs=2.0)
    hold = truth.phases[0]
    assert hold["mdf_slope_hz_per_s"]["L_LT"] == pytest.approx(slope / 100 * 63.805, rel=1e-3)
    assert hold["mdf"]["L_LT"] == pytest.approx(63.805 * (1 + slope / 100 * 60), rel=1e-3)


# ----------------------------------------------------------------------------- QC faults
def test_qc_faults():
    fs = 1000.0
    data, names, _, truth = synth.simulate_array(
        "frt", "control", sfreq=fs, seed=6,
        qc={"clip": {"channel": "R_MF", "level": 20.0}, "flat": "L_EO", "disconnected": "R_RA"})
    x = dict(zip(names, data))
    assert np.max(np.abs(x["R_MF"])) == 20.0
    assert np.mean(np.abs(x["R_MF"]) == 20.0) > 0.05
    assert np.ptp(x["L_EO"]) == 0.0
    f, p = signal.welch(np.stack([x["R_RA"], x["L_RA"]]), fs=fs, nperseg=1000)
    k = np.argmin(np.abs(f - 50.0))
    assert p[0, k] > 1000 * p[1, k]
    assert truth.qc["clip"] == {"channel": "R_MF", "level": 20.0}


# ----------------------------------------------------------------------------- subjects and signs
def test_each_guarding_sign_alone():
    off = {k: 0.0 for k in synth.GUARDING_SIGNS}
    base = synth.patient_profile(**off)
    assert base.level("standing", "LT", "L") == 5.0 and base.level("full_flexion", "LT", "L") == 2.0
    assert base.replace(signs={"static": 1.0}).level("standing", "LT", "L") == pytest.approx(9.0)
    assert base.replace(signs={"static": 1.0}).level("full_flexion", "LT", "L") == 2.0
    assert base.replace(signs={"frp_loss": 1.0}).level("full_flexion", "MF", "R") == pytest.approx(15.0)
    assert base.replace(signs={"frp_loss": 0.5}).level("full_flexion", "MF", "R") == pytest.approx(8.5)
    assert base.replace(signs={"extension_deficit": 1.0}).level("extension", "IL", "L") == pytest.approx(25.0)
    co = base.replace(signs={"coactivation": 1.0})
    assert co.level("extension", "RA", "L") == pytest.approx(3.0 * 1.75)
    assert co.level("extension", "LT", "L") == 40.0
    asym = base.replace(signs={"asymmetry": 1.0}, painful_side="L")
    assert asym.level("extension", "LT", "L") / asym.level("extension", "LT", "R") == pytest.approx(1.5)
    assert base.replace(signs={"reduced_rom": 1.0}).effective_angle() == pytest.approx(67.5)


def test_spasm_bursts_inserted_in_rest_phases_and_visible():
    prof = synth.patient_profile(**{k: 0.0 for k in synth.GUARDING_SIGNS}).replace(signs={"spasm": 3.0})
    fs = 1000.0
    data, names, _, truth = synth.simulate_array("static", prof, sfreq=fs, seed=2, protocol_options={"duration": 30.0},
                                                 angle=False, **{**CLEAN, "bursts": True})
    assert truth.bursts
    for b in truth.bursts:
        ph = [p for p in truth.phases if p["onset"] <= b["onset"] and b["onset"] + b["duration"] <= p["onset"] + p["duration"]]
        assert ph and ph[0]["phase"] in ("standing", "sitting", "prone", "rest")
        k = names.index(b["channels"][0])
        mid = int((b["onset"] + b["duration"] / 2) * fs)
        w = int(0.1 * fs)
        rms = np.sqrt(np.mean(data[k, mid - w:mid + w] ** 2))
        assert rms > 0.5 * b["amplitude"]
    nb = synth.simulate_array("static", prof.replace(signs={"spasm": 0.0}), sfreq=fs, seed=2,
                              protocol_options={"duration": 30.0}, angle=False, **{**CLEAN, "bursts": True})[3]
    assert nb.bursts == []


def test_movement_artefacts_recorded_at_phase_changes():
    data, names, _, truth = synth.simulate_array("static", "control", sfreq=1000.0, seed=1)
    assert truth.artefacts
    bounds = np.array([p["onset"] for p in truth.phases[1:]])
    for a in truth.artefacts:
        centre = a["onset"] + a["duration"] / 2
        assert np.min(np.abs(bounds - centre)) <= 0.11
        assert 20 <= abs(a["amplitude"]) <= 150


def test_draw_subject_lognormal_variation():
    gains = []
    for s in range(300):
        prof = synth.draw_subject(synth.control_profile(), s, channels=["L_LT"], cv=0.3)
        gains.append(prof.channel_gain["L_LT"])
        assert 50 <= prof.ecg_amplitude <= 300 and 70 <= prof.max_angle <= 110
    g = np.array(gains)
    assert g.min() > 0
    assert g.mean() == pytest.approx(1.0, abs=0.06)  # SE 0.3/sqrt(300) = 0.017
    assert g.std() / g.mean() == pytest.approx(0.3, abs=0.06)
    same = synth.draw_subject(synth.control_profile(), 5, channels=["L_LT"], cv=0.0, phase_cv=0.0, spectral_cv=0.0)
    assert same.channel_gain["L_LT"] == 1.0 and same.level("extension", "LT", "L") == 40.0


def test_protocols_and_vocabulary():
    for name in synth.PROTOCOLS:
        segs = synth.make_protocol(name)
        assert all(s.phase is None or s.phase in synth.PHASES for s in segs)
    frt = synth.make_protocol("frt", n_cycles=4, flexion=2.5)
    assert [s.phase for s in frt[:5]] == ["standing", "flexion", "full_flexion", "extension", "standing"]
    assert len(frt) == 20 and frt[-1].cycle == 4 and frt[1].duration == 2.5
    sim = synth.simulate("lifting", "control", sfreq=500.0, seed=0)
    assert {"lifting", "lowering", "standing"} <= set(sim.recording.phases.phase)
    assert sim.recording.channels.set_index("name").loc["TRUNK_ANGLE", "unit"] == "deg"


def test_determinism_and_independent_streams():
    a = synth.simulate_array("frt", "patient", sfreq=500.0, seed=12)
    b = synth.simulate_array("frt", "patient", sfreq=500.0, seed=12)
    c = synth.simulate_array("frt", "patient", sfreq=500.0, seed=13)
    assert np.array_equal(a[0], b[0]) and a[3].to_json() == b[3].to_json()
    assert not np.array_equal(a[0], c[0])


def test_invalid_input_is_refused():
    with pytest.raises(ParameterError):
        synth.simulate_array([("jumping", 3.0)])
    with pytest.raises(ParameterError):
        synth.patient_profile(wobble=1.0)
    with pytest.raises(ParameterError):
        synth.control_profile().replace(signs={"static": -1.0})
    with pytest.raises(ChannelError):
        synth.simulate_array("frt", channels=["L_BICEPS"])
    with pytest.raises(ParameterError):
        synth.simulate_array([("standing", 0.1), ("flexion", 3.0)], transition=0.3)
    with pytest.raises(ParameterError):
        synth.simulate_array("frt", sfreq=80.0, powerline=50.0)
    with pytest.raises(ChannelError):
        synth.simulate_array("frt", qc={"flat": "L_XX"})
