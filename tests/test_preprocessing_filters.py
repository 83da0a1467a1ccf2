"""Butterworth filters: measured responses against the analytic Butterworth magnitude.

Oracle: the bilinear-transform Butterworth has the exact analytic magnitude on the
pre-warped axis w = tan(pi f / fs): |H|^2 = 1 / (1 + (w / wc)^(2N)) for a low-pass, the
high-pass mirror, and the low-pass-to-band-pass transform for a band-pass. The response is
*measured* by filtering an impulse and sinusoids (never with scipy's freqz); zero-phase
filtering squares it (-6.02 dB at each stated cut-off).
"""

from __future__ import annotations

import numpy as np
import pytest

from paraspinal import Recording
from paraspinal.errors import ParameterError
from paraspinal.preprocessing import bandpass, bandpass_array, highpass_array, lowpass, lowpass_array

FS = 2000.0


def _w(f, fs=FS):
    return np.tan(np.pi * np.asarray(f, dtype=float) / fs)


def analytic_zero_phase(f, low=None, high=None, order=4, fs=FS):
    """|H_eff(f)| = |H(f)|^2 of the forward-backward Butterworth (analytic)."""
    w = _w(f, fs)
    with np.errstate(divide="ignore", invalid="ignore"):
        if low is not None and high is not None:
            w1, w2 = _w(low, fs), _w(high, fs)
            x = (w * w - w1 * w2) / (w * (w2 - w1))
        elif low is not None:
            x = _w(low, fs) / w
        else:
            x = w / _w(high, fs)
        mag2 = 1.0 / (1.0 + x ** (2 * order))
    return np.nan_to_num(mag2)  # |H|^2 single pass = |H_eff| after filtfilt


def measured_impulse_response(fn, n=2 ** 15, **kw):
    x = np.zeros(n)
    x[n // 2] = 1.0
    y = fn(x, FS, **kw)
    f = np.fft.rfftfreq(n, 1 / FS)
    return f, np.abs(np.fft.rfft(y))


@pytest.mark.parametrize("fn,kw,an", [
    (bandpass_array, {"low": 20.0, "high": 450.0}, {"low": 20.0, "high": 450.0}),
    (highpass_array, {"cutoff": 30.0}, {"low": 30.0}),
    (lowpass_array, {"cutoff": 6.0}, {"high": 6.0}),
])
def test_impulse_response_matches_analytic_butterworth(fn, kw, an):
    f, mag = measured_impulse_response(fn, **kw)
    sel = (f > 0.5) & (f < 990)
    expected = analytic_zero_phase(f[sel], **an)
    assert np.max(np.abs(mag[sel] - expected)) < 2e-3


@pytest.mark.parametrize("fc", [20.0, 450.0])
def test_sinusoid_at_cutoff_is_minus_6db_zero_phase(fc):
    t = np.arange(int(4 * FS)) / FS
    x = np.sin(2 * np.pi * fc * t)
    y = bandpass_array(x, FS, 20.0, 450.0)
    core = slice(int(FS), int(3 * FS))
    gain_db = 20 * np.log10(np.std(y[core]) / np.std(x[core]))
    # the stated cut-off is the single-pass -3 dB point; filtfilt squares it: -6.02 dB
    assert gain_db == pytest.approx(-6.02, abs=0.05)


def test_zero_phase_burst_centre_does_not_move():
    n = int(2 * FS)
    t = np.arange(n) / FS
    centre = 1.0123
    burst = np.exp(-0.5 * ((t - centre) / 0.05) ** 2) * np.sin(2 * np.pi * 80 * t)
    y = bandpass_array(burst, FS)
    env_in = np.abs(np.fft.ifft(np.fft.fft(burst) * (np.fft.fftfreq(n) > 0) * 2))
    env_out = np.abs(np.fft.ifft(np.fft.fft(y) * (np.fft.fftfreq(n) > 0) * 2))
    assert abs(int(np.argmax(env_out)) - int(np.argmax(env_in))) <= 1


def test_cutoff_at_or_above_nyquist_is_refused():
    x = np.random.default_rng(0).standard_normal(5000)
    with pytest.raises(ParameterError, match="Nyquist"):
        bandpass_array(x, 1000.0, 20.0, 500.0)
    with pytest.raises(ParameterError, match="Nyquist"):
        bandpass_array(x, 800.0, 20.0, 450.0)


def test_too_short_recording_names_file_channel_and_length():
    rec = Recording.from_array(np.ones((1, 100)), FS, ["L_MF_L5"], meta={"source": "short.edf"})
    with pytest.raises(ParameterError) as err:
        bandpass(rec)
    msg = str(err.value)
    assert "short.edf" in msg and "L_MF_L5" in msg and "300 samples" in msg and "longer recording" in msg


def test_recording_form_filters_emg_only_and_keeps_input(rng):
    n = int(3 * FS)
    angle = np.linspace(0, 60, n)
    data = np.vstack([rng.standard_normal((2, n)) * 20 + 50, angle])
    rec = Recording.from_array(data, FS, ["L_ES_L3", "R_ES_L3", "TRUNK_ANGLE"], units=["uV", "uV", "deg"])
    before = rec.get_data(unit="uV").copy()
    out = bandpass(rec)
    assert np.array_equal(rec.get_data(unit="uV"), before)  # input untouched
    np.testing.assert_array_equal(out.get_data("TRUNK_ANGLE"), rec.get_data("TRUNK_ANGLE"))
    np.testing.assert_allclose(out.emg(), bandpass_array(rec.emg(), FS), rtol=1e-10, atol=1e-9)
    step = out.meta["processing"][-1]
    assert step["step"] == "bandpass" and step["params"]["low"] == 20.0 and step["result"]["channels"] == ["L_ES_L3", "R_ES_L3"]
    with pytest.raises(Exception, match="misc"):
        lowpass(rec, picks=["TRUNK_ANGLE"])
