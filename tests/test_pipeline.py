"""Pipelines: TOML/dict/JSON forms, stable hash, validation, and preprocess()."""

from __future__ import annotations

import json

import numpy as np
import pytest

from paraspinal import Recording
from paraspinal.errors import ParameterError
from paraspinal.pipeline import Pipeline, preprocess
from paraspinal.preprocessing import bandpass, envelope, remove_ecg, remove_powerline
from test_preprocessing_ecg import FS, make_frp

TOML = """
name = "lab-a"

[[steps]]
name = "bandpass"
low = 20.0
high = 450.0
order = 4

[[steps]]
name = "powerline"
freq = "auto"
method = "stopband"

[[steps]]
name = "ecg"
method = "template"
highpass = false
"""


@pytest.fixture(scope="module")
def rec():
    _, cont, _, _, phases = make_frp(4)
    t = np.arange(cont.shape[1]) / FS
    x = cont + 8 * np.sin(2 * np.pi * 50 * t)
    angle = np.linspace(0, 80, cont.shape[1])
    return Recording.from_array(np.vstack([x, angle]), FS, ["R_ES_L3", "L_ES_L3", "TRUNK_ANGLE"],
                                units=["uV", "uV", "deg"], phases=phases, meta={"source": "frp.edf"})


def test_toml_dict_and_default_agree(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(TOML)
    p = Pipeline.from_toml(path)
    assert [s.name for s in p.steps] == ["bandpass", "powerline", "ecg"]
    assert p.steps[2].params["highpass"] is None  # TOML false -> None
    assert p.hash == Pipeline.default().hash  # same steps and parameters, whatever the name
    assert Pipeline.coerce(str(path)) == p


def test_hash_is_stable_and_sensitive():
    a = Pipeline([("bandpass", {"low": 20.0, "high": 450.0})])
    b = Pipeline([{"name": "bandpass", "high": 450.0, "low": 20.0}])
    c = Pipeline([("bandpass", {"low": 10.0, "high": 450.0})])
    assert a.hash == b.hash != c.hash
    assert len(a.hash) == 64 and a.hash == Pipeline.from_dict(json.loads(a.to_json())).hash


def test_json_has_versions(tmp_path):
    d = json.loads(Pipeline.default().to_json(tmp_path / "p.json"))
    assert set(d["versions"]) == {"paraspinal", "numpy", "scipy", "mne"}
    assert d["hash"] == Pipeline.default().hash
    assert Pipeline.coerce(tmp_path / "p.json") == Pipeline.default()


def test_unknown_step_or_parameter_lists_valid_ones():
    with pytest.raises(ParameterError, match="(?i)valid step names are.*bandpass"):
        Pipeline([("wavelet", {})])
    with pytest.raises(ParameterError, match="(?i)valid parameters of 'bandpass' are.*low"):
        Pipeline([("bandpass", {"lowcut": 20})])


def test_preprocess_matches_step_by_step_and_keeps_input(rec):
    before = rec.get_data().copy()
    out = preprocess(rec)
    np.testing.assert_array_equal(rec.get_data(), before)
    manual = remove_ecg(remove_powerline(bandpass(rec), "auto"), highpass=None)
    # preprocess fuses band-pass + powerline into one FFT pass; the band-pass is the same
    # LTI filter (see test_fused_band_pass_alone_equals_the_iir_step) and the interpolation
    # uses the same DFT grid, so the two agree away from the ends, where the IIR's odd
    # padding and the FFT's end handling differ (a few 1e-4 of the signal RMS reach the
    # interior through the line-bin magnitudes)
    core = slice(int(FS), -int(FS))
    a, b = out.emg()[:, core], manual.emg()[:, core]
    assert np.sqrt(np.mean((a - b) ** 2)) < 1e-3 * np.sqrt(np.mean(b ** 2))
    np.testing.assert_array_equal(out.get_data("TRUNK_ANGLE"), rec.get_data("TRUNK_ANGLE"))
    steps = [s["step"] for s in out.meta["processing"]]
    assert steps == ["bandpass", "powerline", "ecg"]
    assert out.meta["processing"][1]["result"]["frequency"] == 50.0
    assert out.meta["pipeline"]["hash"] == Pipeline.default().hash
    assert out.phases.equals(rec.phases)


def test_fused_band_pass_alone_equals_the_iir_step(rec):
    """With no mains line to remove, the fused pass is the band-pass: 1e-6 relative RMS."""
    p = {"steps": [{"name": "bandpass"}, {"name": "powerline", "freq": "none"}]}
    out = preprocess(rec, p)
    ref = bandpass(rec)
    core = slice(int(FS), -int(FS))
    a, b = out.emg()[:, core], ref.emg()[:, core]
    assert np.sqrt(np.mean((a - b) ** 2)) < 1e-6 * np.sqrt(np.mean(b ** 2))
    res = out.meta["processing"][0]["result"]
    assert res["gain_at_cutoff_db"] == -3.01 and "fused" in res["implementation"]
    assert out.meta["processing"][1]["result"]["frequency"] is None


def test_preprocess_with_envelope_and_normalise_steps(rec):
    p = {"steps": [{"name": "bandpass"}, {"name": "envelope", "method": "rms", "window_ms": 250.0},
                   {"name": "normalise", "method": "peak"}]}
    out = preprocess(rec, p)
    manual = envelope(bandpass(rec))
    assert list(out.channels["unit"][:2]) == ["%peak", "%peak"]
    peak = manual.emg("uV").max(axis=1)
    np.testing.assert_allclose(out.emg().max(axis=1), 100.0 * manual.emg("uV").max(axis=1) / peak, rtol=1e-9)
