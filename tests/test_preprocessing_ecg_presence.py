"""Is there an ECG at all? The ECG step must leave recordings without one untouched.

Oracles:
* the real recordings of ``$PARASPINAL_TEST_DATA``: limb muscles (biceps, adductor pollicis,
  needle tibialis anterior, thigh and calf during gait, shoulder, forearm) and two of the
  three back recordings at 250 Hz carry no ECG, so the ECG step must say "no ECG found" and
  change nothing (the old step "found" 30 beats at 25 bpm on the biceps fatigue file and
  changed it by 10.4 % RMS). The third back recording (exoskeleton lifting) has a sharp
  ~10 uV deflection repeating every 1.4 s (found on inspection of the filtered trace): the
  step takes it for a heart at 41 bpm, and an independent beat-locked average confirms
  that something time-locked is there;
* the linear response of the default chain to an impulse added to a real recording: with
  no ECG and no mains line it is the 20-450 Hz band-pass, -3.01 dB at 20 Hz (it was -10.9 dB
  at 20 Hz because of the ECG step);
* trunk EMG with a known beat train, from the independent generator of the validation
  script (``scripts/_independent_generator.py``), where the ECG must be found.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import paraspinal as ps
from paraspinal.pipeline import preprocess
from paraspinal.preprocessing import ecg_presence_array, remove_ecg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import _independent_generator as gen  # noqa: E402

#: file, read options, band-pass top (Hz) for files sampled below 1 kHz
NO_ECG = {
    "biosignalsnotebooks/emg_fatigue.h5": ({}, 450.0),
    "biosignalsnotebooks/emg_bursts.h5": ({}, 450.0),
    "biosignalsnotebooks/emg_1000_hz_16_bits_solo.h5": ({}, 450.0),
    "biosppy_examples/emg.txt": ({}, 450.0),
    "biosppy_examples/emg_1.txt": ({}, 450.0),
    "ezc3d_testFiles/BTS.c3d": ({}, 450.0),
    "ezc3d_testFiles/Qualisys.c3d": ({}, 450.0),
    "physionet_emgdb/emg_healthy.dat": ({}, 450.0),
    "physionet_emgdb/emg_myopathy.dat": ({}, 450.0),
    "physionet_emgdb/emg_neuropathy.dat": ({}, 450.0),
    "pyomeca_tests/markers_analogs.c3d": ({}, 450.0),
    "emgio_trigno/truncated_trigno_sample.csv": ({}, 450.0),
    "tcontis_EMG_Processing/Exoskeleton_Data__Back_resting.csv": ({}, 110.0),
    "tcontis_EMG_Processing/Test_Data__Back.csv": ({}, 110.0),
    "unibo_inail_semg/user_1_day_1_posture_1.mat": ({"sfreq": 500.0}, 220.0),
}


def _read(data_dir, name, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ps.read(data_dir / name, **options)


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(NO_ECG))
def test_no_ecg_on_real_recordings_without_one(data_dir, name):
    options, top = NO_ECG[name]
    rec = _read(data_dir, name, options)
    steps = [{"name": "bandpass", "high": top}, {"name": "powerline"}, {"name": "ecg", "highpass": None}]
    out = preprocess(rec, {"steps": steps})
    without = preprocess(rec, {"steps": steps[:2]})
    res = out.meta["processing"][-1]["result"]
    assert res["ecg_present"] is False
    assert res["reason"].startswith(("no ECG found", "fewer than 3", "recording shorter")), res["reason"]
    assert res["rpeaks"] == [] and not any(res["ecg_channels"].values())
    assert "untouched" in res["note"]
    np.testing.assert_array_equal(out.emg(), without.emg())  # the step changed nothing


@pytest.mark.realdata
def test_impulse_through_the_default_chain_is_the_band_pass(data_dir):
    """The biceps fatigue file has no ECG and no mains line: the chain is linear there."""
    rec = _read(data_dir, "biosignalsnotebooks/emg_fatigue.h5", {})
    fs = rec.sfreq
    data = rec.get_data(unit="uV")
    k = data.shape[1] // 2
    bumped = data.copy()
    bumped[0, k] += 50.0  # a 50 uV single-sample impulse
    rec2 = ps.Recording.from_array(bumped, fs, rec.ch_names, ch_types=list(rec.channels["type"]))
    a, b = preprocess(rec), preprocess(rec2)
    for out in (a, b):
        assert out.meta["processing"][1]["result"]["frequency"] is None
        assert out.meta["processing"][2]["result"]["ecg_present"] is False
    h = (b.emg()[0] - a.emg()[0])[k - int(fs):k + int(fs)] / 50.0
    H = np.abs(np.fft.rfft(h))
    f = np.fft.rfftfreq(len(h), 1.0 / fs)
    gain_db = 20 * np.log10(np.interp([20.0, 100.0, 450.0], f, H))
    assert gain_db[0] == pytest.approx(-3.01, abs=0.2)
    assert gain_db[1] == pytest.approx(0.0, abs=0.1)
    assert gain_db[2] == pytest.approx(-3.01, abs=0.2)


@pytest.mark.parametrize("seed,group,qrs", [(3, "control", 15.0), (4, "patient", 40.0), (5, "control", 100.0)])
def test_ecg_found_on_trunk_emg_and_per_channel(seed, group, qrs):
    s = gen.make_subject(seed, group, qrs_uv=qrs, hum_uv=0.0)
    x = ps.preprocessing.bandpass(s.raw).emg()
    res = ecg_presence_array(x, s.raw.sfreq)
    assert res["ecg_present"], res["reason"]
    assert 35 <= res["heart_rate_bpm"] <= 200 and res["rr_change"] < 0.12
    found = res["rpeaks"]
    tol = 0.05 * s.raw.sfreq
    hit = np.abs(s.rpeaks[:, None] - found[None, :]).min(axis=1) <= tol
    false = np.abs(found[:, None] - s.rpeaks[None, :]).min(axis=1) > tol
    assert hit.mean() >= 0.9 and false.mean() <= 0.06
    assert len(res["ecg_rows"]) >= 1  # the strongest (L1) channel carries it


def test_no_ecg_on_trunk_emg_without_one():
    for seed, group in ((6, "control"), (7, "patient")):
        s = gen.make_subject(seed, group, qrs_uv=0.0, hum_uv=0.0)
        out = remove_ecg(ps.preprocessing.bandpass(s.raw), highpass=None)
        res = out.meta["processing"][-1]["result"]
        assert res["ecg_present"] is False and res["reason"].startswith(("no ECG found", "fewer than 3"))
        np.testing.assert_array_equal(out.emg(), ps.preprocessing.bandpass(s.raw).emg())


def test_template_subtraction_restores_full_flexion_with_ectopic_beats():
    """Controls with 60-100 uV QRS (some ectopic beats of another shape): the full-flexion RMS
    after the default chain is within 5 % of the clean signal's, per channel."""
    for seed in (11, 12):
        s = gen.make_subject(seed, "control", qrs_uv=80.0, hum_uv=0.0)
        proc, ref = preprocess(s.raw), ps.preprocessing.bandpass(s.clean)
        t = np.arange(s.raw.n_samples) / s.raw.sfreq
        ff = np.zeros(len(t), bool)
        for _, r in s.phases[s.phases.phase == "full_flexion"].iterrows():
            ff |= (t >= r.onset + 0.5) & (t < r.onset + r.duration - 0.5)
        ratio = np.sqrt(np.mean(proc.emg()[:, ff] ** 2, axis=1) / np.mean(ref.emg()[:, ff] ** 2, axis=1))
        assert np.all(np.abs(ratio - 1) < 0.05), ratio
        res = proc.meta["processing"][-1]["result"]
        assert res["ecg_present"] and len(res["rpeaks"]) >= 0.9 * len(s.rpeaks)


@pytest.mark.realdata
def test_back_lifting_recording_has_a_regular_time_locked_deflection(data_dir):
    """Independent check of what the step finds there: the plain average of the band-passed
    signal over +-100 ms windows at the R-peaks found has a peak-to-peak several times that of
    the same average half an interval later (where a heart has no QRS)."""
    rec = _read(data_dir, "tcontis_EMG_Processing/Exoskeleton_Data__Back_lifting.csv", {})
    steps = [{"name": "bandpass", "high": 110.0}, {"name": "powerline"}, {"name": "ecg", "highpass": None}]
    out = preprocess(rec, {"steps": steps})
    res = out.meta["processing"][-1]["result"]
    assert res["ecg_present"] and 35 <= res["heart_rate_bpm"] <= 60
    x = ps.preprocessing.bandpass(rec, high=110.0).emg()[0]
    r = np.asarray(res["rpeaks"])
    h = int(0.1 * rec.sfreq)
    half = int(np.median(np.diff(r)) // 2)

    def ptp_of_average(pos):
        pos = pos[(pos - h >= 0) & (pos + h < len(x))]
        return np.ptp(np.mean([x[p - h:p + h] for p in pos], axis=0))

    assert ptp_of_average(r) > 3 * ptp_of_average(r + half)
