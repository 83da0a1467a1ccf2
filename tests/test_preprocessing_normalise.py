"""Normalisation: reference values from phases or reference recordings (Besomi et al. 2020)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paraspinal import Recording
from paraspinal.errors import ParameterError
from paraspinal.preprocessing import normalise, normalise_array, reference_values

FS = 1000.0


def sine_rec(amps, seconds=4.0, phases=None, source=None):
    t = np.arange(int(seconds * FS)) / FS
    x = np.vstack([a * np.sqrt(2) * np.sin(2 * np.pi * 40 * t) for a in amps])  # RMS = a
    return Recording.from_array(x, FS, ["L_ES_L3", "R_ES_L3"], phases=phases, meta={"source": source})


def test_mvc_from_own_phases():
    t = np.arange(int(6 * FS)) / FS
    level = np.where((t >= 2) & (t < 4), 100.0, 10.0)  # MVC block RMS 100 uV, rest 10 uV
    x = np.vstack([level * np.sqrt(2) * np.sin(2 * np.pi * 40 * t)] * 2)
    ph = pd.DataFrame({"onset": [2.0], "duration": [2.0], "phase": ["mvc"]})
    rec = Recording.from_array(x, FS, ["L_ES_L3", "R_ES_L3"], phases=ph)
    out = normalise(rec, "mvc")
    assert list(out.channels["unit"]) == ["%MVC", "%MVC"]
    np.testing.assert_allclose(out.channels["norm_reference_uv"].astype(float), 100.0, rtol=1e-6)
    np.testing.assert_allclose(out.emg()[:, :10], rec.emg("uV")[:, :10] / 100.0 * 100.0, rtol=1e-9)
    assert out.meta["processing"][-1]["result"]["unit"] == "%MVC"


def test_mvc_from_separate_reference_and_rvc_and_peak():
    ph = pd.DataFrame({"onset": [0.0], "duration": [4.0], "phase": ["mvc"]})
    ref = sine_rec([200.0, 50.0], phases=ph)
    task = sine_rec([20.0, 10.0])
    out = normalise(task, "mvc", reference=ref)
    rms = np.sqrt(np.mean(out.emg() ** 2, axis=1))
    np.testing.assert_allclose(rms, [10.0, 20.0], rtol=1e-3)  # 20/200 and 10/50 in %
    rv = sine_rec([40.0, 40.0], phases=pd.DataFrame({"onset": [0.0], "duration": [4.0], "phase": ["sorensen_hold"]}))
    assert reference_values(task, "rvc", reference=rv)["L_ES_L3"] == pytest.approx(40.0, rel=1e-3)
    trials = [sine_rec([30.0, 5.0]), sine_rec([60.0, 2.0])]
    refs = reference_values(task, "peak", reference=trials)
    assert refs["L_ES_L3"] == pytest.approx(60.0, rel=1e-3) and refs["R_ES_L3"] == pytest.approx(10.0, rel=1e-3)
    assert list(normalise(task, "peak", reference=trials).channels["unit"]) == ["%peak", "%peak"]


def test_none_and_errors():
    task = sine_rec([20.0, 10.0], source="task.edf")
    out = normalise(task, "none")
    np.testing.assert_array_equal(out.emg(), task.emg())
    assert out.meta["processing"][-1]["result"]["unit"] == "uV"
    with pytest.raises(ParameterError, match="mvc"):
        normalise(task, "mvc")
    with pytest.raises(ParameterError):
        normalise(task, "zscore")
    with pytest.raises(ParameterError):
        normalise_array(np.ones((1, 3)), [0.0])
