"""Envelopes against analytic values (METHODS.md §10 items 4-5)."""

from __future__ import annotations

import numpy as np
import pytest

from paraspinal import Recording
from paraspinal.preprocessing import arv_array, envelope, linear_envelope_array, moving_rms_array, tkeo_array

FS = 2000.0


def test_moving_rms_of_a_stationary_signal_is_its_rms():
    t = np.arange(int(5 * FS)) / FS
    x = 3.0 * np.sin(2 * np.pi * 40 * t)  # 250 ms = 10 periods of 40 Hz
    env = moving_rms_array(x, FS, 250.0)
    np.testing.assert_allclose(env[250:-250], 3.0 / np.sqrt(2), rtol=1e-9)


def test_moving_rms_edges_average_available_samples_without_shrinking():
    x = np.full(1000, 2.0)
    env = moving_rms_array(x, FS, 250.0)
    np.testing.assert_allclose(env, 2.0, rtol=1e-12)  # zero padding would halve the ends


def test_moving_rms_small_hand_example():
    x = np.array([[3.0, 4.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    env = moving_rms_array(x, 1000.0, 3.0)  # 3 samples, centred
    expected0 = np.sqrt([25 / 2, 25 / 3, 16 / 3, 0 / 2])
    np.testing.assert_allclose(env[0], expected0)
    np.testing.assert_allclose(env[1], 1.0)


def test_tkeo_of_a_sinusoid_is_a2_sin2_omega():
    n = np.arange(4000)
    omega = 2 * np.pi * 50 / FS
    psi = tkeo_array(2.0 * np.cos(omega * n + 0.3))
    np.testing.assert_allclose(psi, 0.097887, atol=1e-6)
    np.testing.assert_allclose(psi, 4 * np.sin(omega) ** 2, rtol=1e-9)


def test_arv_over_rms_of_gaussian_noise(rng):
    x = rng.standard_normal(2_000_000)
    ratio = np.mean(arv_array(x, FS, 1000.0)[1000:-1000]) / np.sqrt(np.mean(x * x))
    assert ratio == pytest.approx(np.sqrt(2 / np.pi), abs=0.003)  # 0.798


def test_linear_envelope_of_a_sinusoid_is_its_mean_rectified_value():
    t = np.arange(int(6 * FS)) / FS
    env = linear_envelope_array(5.0 * np.sin(2 * np.pi * 60 * t), FS)
    np.testing.assert_allclose(env[int(FS):-int(FS)], 2 * 5.0 / np.pi, rtol=2e-3)


def test_envelope_recording_keeps_table_units_and_logs(rng):
    x = rng.standard_normal((2, 4000)) * 10
    rec = Recording.from_array(x, FS, ["L_MF_L5", "R_MF_L5"])
    out = envelope(rec, "rms")
    assert list(out.channels["name"]) == list(rec.channels["name"]) and list(out.channels["unit"]) == ["V", "V"]
    np.testing.assert_allclose(out.emg("uV"), moving_rms_array(rec.emg("uV"), FS), rtol=1e-9)
    assert out.meta["processing"][-1]["result"]["signal"] == "moving RMS"
    tk = envelope(rec, "tkeo")
    assert list(tk.channels["unit"]) == ["uV^2", "uV^2"]
    np.testing.assert_allclose(tk.emg("uV"), tkeo_array(rec.emg("uV")), rtol=1e-9)
