"""Amplitude features against analytic values and hand-computed arrays."""

import numpy as np
import pytest

from paraspinal.features import amplitude as am
from paraspinal.preprocessing import moving_rms_array


def test_gaussian_arv_over_rms_is_sqrt_2_over_pi(rng):
    x = rng.standard_normal((3, 400_000))
    r = am.amplitude_features_array(x, 2000.0)
    assert r["arv"] / r["rms"] == pytest.approx(np.full(3, np.sqrt(2 / np.pi)), abs=3e-3)


def test_hand_computed_values():
    x = np.array([[1.0, -1.0, 3.0, -3.0], [0.0, 2.0, 0.0, -2.0]])
    assert am.rms(x) == pytest.approx([np.sqrt(5.0), np.sqrt(2.0)])
    assert am.arv(x) == pytest.approx([2.0, 1.0])
    assert am.iemg(x, 2.0) == pytest.approx([4.0, 2.0])  # uV*s
    st = am.envelope_stats(np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), percentiles=(10, 50, 90))
    assert st["peak"][0] == 5 and st["p50"][0] == 3
    assert st["cv"][0] == pytest.approx(np.std([1, 2, 3, 4, 5]) / 3)


def test_rms_at_matches_preprocessing_moving_rms(rng):
    x = rng.standard_normal((2, 5000))
    full = moving_rms_array(x, 1000.0, 250.0)
    centres = np.array([0, 3, 100, 2500, 4990, 4999])
    assert am.rms_at(x, centres, 250) == pytest.approx(full[:, centres], rel=1e-9)


def test_windowed_rms_constant_sine():
    fs = 1000.0
    t = np.arange(10_000) / fs
    x = 2 * np.sin(2 * np.pi * 50 * t)
    _, v = am.windowed_rms(x[None], fs, 1.0)
    assert v == pytest.approx(np.full((1, 10), np.sqrt(2)), rel=1e-6)
