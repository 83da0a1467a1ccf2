"""Trunk features: co-contraction identities, FRP ratios and classification, asymmetry, spasm-like bursts."""

import warnings

import numpy as np
import pytest

from paraspinal import features, synth
from paraspinal.features import trunk
from paraspinal.pipeline import preprocess

CLEAN = dict(ecg=False, powerline=None, baseline=False, artefacts=False)


def test_cocontraction_identities(rng):
    a = np.abs(rng.standard_normal(500)) + 0.1
    r = trunk.cocontraction(a, a)
    assert r["cci_falconer_winter"] == pytest.approx(100.0)
    assert r["cci_rudolph"] == pytest.approx(np.mean(2 * a))
    z = trunk.cocontraction(a, np.zeros_like(a))
    assert z["cci_falconer_winter"] == 0 and z["cci_rudolph"] == 0
    b = np.abs(rng.standard_normal(500))
    r1, r2 = trunk.cocontraction(a, b), trunk.cocontraction(b, a)
    assert r1["cci_falconer_winter"] == pytest.approx(r2["cci_falconer_winter"])
    assert r1["cci_rudolph"] == pytest.approx(r2["cci_rudolph"])
    assert trunk.cocontraction(np.full(3, 4.0), np.full(3, 1.0))["dccr"] == pytest.approx(0.75)
    assert trunk.cocontraction(np.full(3, 1.0), np.full(3, 4.0))["dccr"] == pytest.approx(-0.75)


def test_asymmetry_and_xcorr():
    a = trunk.asymmetry(np.array([1.0]), np.array([3.0]))
    assert a["asymmetry_index"][0] == pytest.approx(0.5) and a["side_ratio"][0] == pytest.approx(3.0)
    t = np.arange(1000) / 100.0
    left = np.sin(2 * np.pi * 0.3 * t)
    right = np.roll(left, 10)  # right follows by 0.1 s
    r, lag = trunk.lr_xcorr(left, right, 100.0, max_lag=0.5)
    assert r > 0.95 and lag == pytest.approx(0.1)


@pytest.mark.parametrize("seed", [0, 1])
def test_mean_err_frr_within_10_percent_of_truth_clean(seed):
    # clean signals (no ECG, powerline, wander or artefacts), no preprocessing; mean-based statistic
    for prof in ("control", "patient"):
        sim = synth.simulate("frt", prof, sfreq=1000, seed=seed, channels=("L_LT", "R_MF", "L_RA"), **CLEAN)
        df = features.compute(sim.recording, statistic="mean", features=["flexion-relaxation"])
        agg = df[df["cycle"].isna()].set_index(["channel", "feature"])["value"]
        for ch, tr in sim.truth.ratios.items():
            assert agg[(ch, "err")] == pytest.approx(tr["ERR"], rel=0.10)
            assert agg[(ch, "frr")] == pytest.approx(tr["FRR"], rel=0.10)
            assert agg[(ch, "fer")] == pytest.approx(tr["FER"], rel=0.10)


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_frp_present_right_after_default_preprocessing(seed):
    # realistic signals (ECG 100 uV, powerline, wander, artefacts) after the default pipeline
    for prof, expected in (("control", 1.0), ("patient", 0.0)):
        sim = synth.simulate("frt", prof, sfreq=1000, seed=seed, channels=("L_LT", "R_IL", "L_MF", "R_RA"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = features.compute(preprocess(sim.recording), features=["frp_present"])
        got = df[df["cycle"].isna()].set_index("channel")["value"]
        for ch, tr in sim.truth.ratios.items():
            assert tr["frp_present"] == bool(expected)
            assert got[ch] == expected, (prof, seed, ch)


def test_frp_angles_in_healthy_range():
    sim = synth.simulate("frt", "control", sfreq=1000, seed=2, channels=("L_LT", "R_LT"), **CLEAN)
    df = features.compute(sim.recording, features=["frp_onset_angle", "frp_cessation_angle"])
    v = df[df["cycle"].isna()].set_index(["channel", "feature"])["value"]
    max_angle = sim.truth.profile["effective_max_angle"]
    assert 0.5 * max_angle < v[("L_LT", "frp_onset_angle")] <= max_angle
    assert 0.5 * max_angle < v[("L_LT", "frp_cessation_angle")] <= max_angle


def test_spasm_false_episodes_in_ten_minutes_of_quiet_rest():
    sim = synth.simulate([("rest", 600.0)], "control", sfreq=1000, seed=4, channels=("L_MF", "R_LT"), bursts=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = features.spasm_bursts(preprocess(sim.recording))
    per_channel = ev.groupby("channel").size()
    n_false = int(per_channel.max()) if len(per_channel) else 0
    assert n_false <= 1  # at most one false episode per 10 minutes, per channel


def test_spasm_inserted_bursts_are_found():
    prof = synth.patient_profile(spasm=5.0)  # 20 bursts per minute of static posture
    sim = synth.simulate("static", prof, sfreq=1000, seed=7, channels=("L_MF", "R_LT"), ecg=False, powerline=None,
                         protocol_options={"duration": 60.0})
    ev = features.spasm_bursts(sim.recording)
    truth = [b for b in sim.truth.bursts]
    assert len(truth) > 10
    hits = 0
    eligible = 0
    for b in truth:
        for ch in b["channels"]:
            e = ev[ev["channel"] == ch]
            eligible += 1
            if ((e["onset"] < b["onset"] + b["duration"]) & (e["onset"] + e["duration"] > b["onset"])).any():
                hits += 1
    assert hits / eligible >= 0.8
    # every detection overlaps an inserted burst (no false episodes)
    for row in ev.itertuples():
        assert any(row.channel in b["channels"] and row.onset < b["onset"] + b["duration"] + 0.3
                   and row.onset + row.duration > b["onset"] - 0.3 for b in truth)


def test_lr_xcorr_matches_brute_force_lagged_products():
    from paraspinal.features.trunk import lr_xcorr

    rng = np.random.default_rng(8)
    left = rng.standard_normal(300)
    right = np.roll(left, 7) + 0.1 * rng.standard_normal(300)
    a, b = left - left.mean(), right - right.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    brute = max((float(np.sum(a[max(0, -t):300 - max(0, t)] * b[max(0, t):300 - max(0, -t)]) / den), t)
                for t in range(-50, 51))
    r, lag = lr_xcorr(left, right, 100.0, 0.5)
    assert r == pytest.approx(brute[0], rel=1e-12) and lag == pytest.approx(brute[1] / 100.0)
