"""Phases: vocabulary, synonyms, protocol timing, trunk-angle segmentation vs synthetic truth, IMU tilt."""

import numpy as np
import pandas as pd
import pytest

from paraspinal import phases, synth
from paraspinal.errors import ParameterError, ParaspinalWarning


def test_vocabulary_and_synonyms():
    assert phases.is_static("standing") and phases.is_static("FF") and not phases.is_static("flexion")
    assert phases.is_dynamic("FLX") and phases.is_dynamic("ext") and phases.is_calibration("mvc")
    for lab, canon in {"FF": "full_flexion", "MVF": "full_flexion", "STD": "standing", "FLX": "flexion",
                       "EXT": "extension", "flex": "flexion", "full flexion": "full_flexion"}.items():
        assert phases.canonical_phase(lab) == canon


def test_validate_maps_and_flags_unknown():
    df = pd.DataFrame({"onset": [0, 3], "duration": [3, 3], "phase": ["STD", "wobble"]})
    with pytest.warns(ParaspinalWarning):
        out = phases.validate(df)
    assert out["phase"].tolist() == ["standing", "wobble"]
    with pytest.raises(ParameterError):
        phases.validate(df, on_unknown="error")


def test_from_protocol_cycles():
    proto = [("standing", 3), ("flexion", 3), ("full_flexion", 3), ("extension", 3), ("standing", 3)] * 2
    df = phases.from_protocol(proto, start=1.0)
    assert df["onset"].iat[0] == 1.0 and df["onset"].iat[-1] == pytest.approx(28.0)
    assert df["cycle"].tolist() == [1] * 5 + [2] * 5
    assert (df["source"] == "protocol").all()


@pytest.mark.parametrize("profile,seed", [("control", 0), ("patient", 1), ("control", 2)])
def test_angle_boundaries_within_100_ms(profile, seed):
    sim = synth.simulate("frt", profile, sfreq=1000, seed=seed, channels=("L_LT",), ecg=False, powerline=None)
    found = phases.from_angle(sim.recording)
    truth = sim.truth.phase_table()
    assert len(found) == len(truth)
    assert found["phase"].tolist() == truth["phase"].tolist()
    assert found["cycle"].tolist() == truth["cycle"].tolist()
    assert np.abs(found["onset"].to_numpy() - truth["onset"].to_numpy()).max() < 0.100
    assert (found["source"] == "angle").all()


def test_detect_prefers_annotations_and_set_phases_records_source():
    sim = synth.simulate("frt", "control", sfreq=500, seed=0, channels=("L_LT",), ecg=False)
    df = phases.detect(sim.recording)
    assert (df["source"] == "annotations").all()
    rec = sim.recording.with_phases(sim.recording.phases.iloc[:0])
    df = phases.detect(rec)
    assert (df["source"] == "angle").all()
    out = phases.set_phases(rec, df)
    assert out.meta["phase_source"] == "angle" and len(out.phases) == len(df)
    assert len(rec.phases) == 0  # input untouched


def test_envelope_phases_are_flagged():
    sim = synth.simulate("frt", "control", sfreq=1000, seed=0, channels=("L_LT", "R_LT"), ecg=False, powerline=None,
                         angle=False, baseline=False, artefacts=False)
    with pytest.warns(ParaspinalWarning):
        df = phases.from_envelope(sim.recording)
    assert (df["source"] == "envelope").all()
    assert (df["phase"] == "full_flexion").sum() == 3


def test_inclination_from_accelerometer_and_gyro():
    fs = 100.0
    t = np.arange(2000) / fs
    theta = 45 * (1 - np.cos(2 * np.pi * 0.1 * t))  # 0..90 deg
    acc = np.stack([np.cos(np.radians(theta)), np.sin(np.radians(theta)), np.zeros_like(t)])
    assert phases.inclination_from_imu(acc, fs) == pytest.approx(theta, abs=1e-6)
    gyro = np.gradient(theta) * fs
    fused = phases.inclination_from_imu(acc, fs, gyro=gyro, alpha=0.98)
    assert np.abs(fused - theta).max() < 1.0
