"""Amplitude features: RMS, ARV, iEMG, envelope peak, percentiles, coefficient of variation.

For a stretch of conditioned EMG ``x`` (``N`` samples at ``fs`` Hz, unit U, usually uV):

* ``rms = sqrt(mean(x**2))`` (U);
* ``arv = mean(|x|)``, the average rectified (mean absolute) value (U);
* ``iemg = sum(|x|) / fs``, the integrated EMG (U*s);
* ``peak = max(env)``, the largest value of the amplitude envelope (U);
* ``pXX`` = the XX-th percentile of the envelope (U);
* ``cv = SD(env) / mean(env)`` (dimensionless), amplitude variability: less variable
  activity is one of the adaptations to pain (Hodges & Tucker 2011; van Dieen, Flor &
  Hodges 2017).

The envelope is the moving RMS (default 250 ms; Clancy et al. 2002) computed once for
all channels. For a Gaussian zero-mean signal ``arv / rms = sqrt(2/pi) = 0.798``.

References
----------
Merletti R (1999). Standards for reporting EMG data. J Electromyogr Kinesiol 9:III-IV.
Clancy EA, Morin EL, Merletti R (2002). J Electromyogr Kinesiol 12:1-16.
Hodges PW, Tucker K (2011). Moving differently in pain: a new theory to explain the
adaptation to pain. Pain 152:S90-S98.
van Dieen JH, Flor H, Hodges PW (2017). Low-back pain patients learn to adapt motor behavior
with adverse secondary consequences. Exerc Sport Sci Rev 45:223-229.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["rms", "arv", "iemg", "envelope_stats", "amplitude_features_array", "windowed_rms", "rms_at"]


def rms(x: np.ndarray) -> np.ndarray:
    """Root mean square along the last axis (unit of ``x``)."""
    x = np.asarray(x, dtype=float)
    return np.sqrt(np.einsum("...i,...i->...", x, x) / x.shape[-1])


def arv(x: np.ndarray) -> np.ndarray:
    """Average rectified value ``mean(|x|)`` along the last axis (unit of ``x``)."""
    return np.abs(np.asarray(x, dtype=float)).mean(axis=-1)


def iemg(x: np.ndarray, sfreq: float) -> np.ndarray:
    """Integrated EMG ``sum(|x|) / sfreq`` along the last axis (unit of ``x`` times s)."""
    return np.abs(np.asarray(x, dtype=float)).sum(axis=-1) / float(sfreq)


def envelope_stats(env: np.ndarray, percentiles: Sequence[float] = (10, 50, 90)) -> dict[str, np.ndarray]:
    """Peak, percentiles and coefficient of variation of envelopes along the last axis.

    Parameters
    ----------
    env : ndarray, shape (..., n)
        Envelopes (unit U).
    percentiles : sequence of float
        Percentiles to report (``p10``, ``p50``, ``p90`` by default).

    Returns
    -------
    dict
        ``peak``, ``pXX`` (U), ``cv`` (dimensionless; NaN where the mean is 0).
    """
    env = np.asarray(env, dtype=float)
    out = {"peak": env.max(axis=-1)}
    if len(percentiles):
        q = np.percentile(env, list(percentiles), axis=-1)
        for p, v in zip(percentiles, q):
            out[f"p{p:g}"] = v
    m = env.mean(axis=-1)
    sd = env.std(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = np.where(m > 0, sd / np.where(m > 0, m, 1.0), np.nan)
    return out


def rms_at(x: np.ndarray, centres: np.ndarray, window: int) -> np.ndarray:
    """Centred moving RMS evaluated only at ``centres`` (cumulative sums).

    Same convention as :func:`paraspinal.preprocessing.moving_rms_array`: a window of
    ``window`` samples with ``window // 2`` before the centre, cut at the signal's ends and
    averaged over the samples that exist.

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
    centres : ndarray of int
        Sample indices.
    window : int
        Samples.

    Returns
    -------
    ndarray, shape (n_channels, len(centres))
    """
    x = np.atleast_2d(x)
    n = x.shape[1]
    a, b = window // 2, window - 1 - window // 2
    lo = np.clip(centres - a, 0, n)
    hi = np.clip(centres + b + 1, 0, n)
    cnt = np.maximum(hi - lo, 1)
    out = np.empty((x.shape[0], len(centres)))
    c = np.empty(n + 1)
    c[0] = 0.0
    for i in range(x.shape[0]):  # one row at a time keeps the cumulative sum small
        np.multiply(x[i], x[i], out=c[1:])
        np.cumsum(c[1:], out=c[1:])
        out[i] = np.sqrt(np.maximum(c[hi] - c[lo], 0.0) / cnt)
    return out


def windowed_rms(x: np.ndarray, sfreq: float, window_s: float = 1.0, step_s: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """RMS of successive (sliding) windows by cumulative sums.

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
    sfreq : float
        Hz.
    window_s : float
        Window in s.
    step_s : float, optional
        Step in s (default ``window_s``).

    Returns
    -------
    t : ndarray
        Window starts in s.
    values : ndarray, shape (n_channels, n_windows)
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    w = int(round(window_s * sfreq))
    s = w if step_s is None else int(round(step_s * sfreq))
    if w < 1 or s < 1 or w > x.shape[1]:
        raise ParameterError(f"window {window_s} s / step {step_s} s do not fit the signal")
    starts = np.arange(0, x.shape[1] - w + 1, s)
    return starts / sfreq, rms_at(x, starts + w // 2, w)


def amplitude_features_array(data: np.ndarray, sfreq: float, *, env: np.ndarray | None = None,
                             window_ms: float = 250.0, percentiles: Sequence[float] = (10, 50, 90)
                             ) -> dict[str, np.ndarray]:
    """All amplitude features of a stretch of EMG, every channel at once.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        Conditioned EMG (unit U).
    sfreq : float
        Hz.
    env : ndarray, optional
        The envelope of ``data`` (default: moving RMS of ``window_ms``).
    window_ms : float
        Envelope window (ms).
    percentiles : sequence of float

    Returns
    -------
    dict of ndarray
        ``rms``, ``arv``, ``iemg``, ``peak``, ``pXX``, ``cv``.
    """
    x = np.atleast_2d(np.asarray(data, dtype=float))
    if env is None:
        w = max(1, int(round(window_ms * sfreq / 1000)))
        env = rms_at(x, np.arange(x.shape[1]), w)
    out = {"rms": rms(x), "arv": arv(x), "iemg": iemg(x, sfreq)}
    out.update(envelope_stats(env, percentiles))
    return out
