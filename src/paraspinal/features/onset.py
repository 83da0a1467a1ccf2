"""Muscle-activity onsets and offsets: Hodges & Bui, TKEO (Solnik), Bonato double threshold.

Every detector takes conditioned EMG (band-passed, ECG removed for trunk channels;
METHODS.md §4), a resting baseline, and returns active periods as events usable as phases:
a DataFrame ``onset, duration, phase, cycle, channel`` with ``phase == "active"`` (seconds
from the start of the signal). Onset and offset indices never fall outside the signal.

* ``"hodges_bui"`` (Hodges & Bui 1996): the mean of the rectified signal over a trailing
  window of ``window_ms`` (a causal moving average, so that the decision at sample ``n``
  uses samples up to ``n``) is compared with ``mu_rest + h * sd_rest`` of the same
  quantity in the baseline. Hodges & Bui tested h = 1, 2, 3 SD and windows of 20-100 ms;
  defaults h = 3, 50 ms (their grid; the "best" combination is not verified, METHODS.md §4).
* ``"tkeo"`` (Li, Zhou & Aruin 2007; Solnik et al. 2010): the Teager-Kaiser energy
  ``psi[n] = x[n]^2 - x[n+1] x[n-1]`` is rectified and smoothed by a trailing moving
  average of ``window_ms`` (Solnik low-passed it at 50 Hz; a 20 ms average has its first
  zero at 50 Hz); active where it exceeds ``mu_rest + j * sd_rest``. Solnik's j is not
  verified (METHODS.md §11): default j = 3, a design choice (on 100 simulated bursts at
  10 dB SNR it gave a mean bias of about 3 ms; see tests/test_features_onset.py).
* ``"bonato"`` (Bonato, D'Alessio & Knaflitz 1998): test function on non-overlapping pairs
  of samples ``g = (x[k-1]^2 + x[k]^2) / sigma_rest^2`` (chi-square with 2 degrees of freedom
  in Gaussian noise); a pair is "on" when ``g > zeta``; the muscle is active where at least
  ``r0`` of the last ``m`` pairs are on. ``zeta`` follows from the false-alarm probability
  per decision ``p_fa`` (``P(g > zeta) = exp(-zeta/2)`` per pair, combined over ``m`` pairs
  by the binomial tail). Defaults m = 5, r0 = 1 (typical values, METHODS.md §4 [M]) and
  p_fa = 0.01 (a design choice: 0.05 gave many false short activations).

All three then keep active periods of at least ``min_active_ms`` and merge gaps shorter than
``min_gap_ms`` (Bonato's "state must persist" rule; toolkit defaults 30 ms and 30 ms).

References
----------
Hodges PW, Bui BH (1996). A comparison of computer-based methods for the determination of
onset of muscle contraction using electromyography. Electroencephalogr Clin Neurophysiol
101:511-519.
Bonato P, D'Alessio T, Knaflitz M (1998). A statistical method for the measurement of muscle
activation intervals from surface myoelectric signal during gait. IEEE Trans Biomed Eng
45:287-299.
Li X, Zhou P, Aruin AS (2007). Ann Biomed Eng 35:1532-1538.
Solnik S, Rider P, Steinweg K, DeVita P, Hortobagyi T (2010). Teager-Kaiser energy operator
signal conditioning improves EMG onset detection. Eur J Appl Physiol 110:489-498.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ChannelError, ParameterError
from ..preprocessing import tkeo_array
from ..recording import Recording

__all__ = ["ONSET_METHODS", "ONSET_DEFAULTS", "onsets_array", "onsets", "active_mask"]

#: Methods.
ONSET_METHODS: tuple[str, ...] = ("hodges_bui", "tkeo", "bonato")
#: Default parameters per method (each one is a keyword parameter).
ONSET_DEFAULTS: dict[str, dict[str, Any]] = {
    "hodges_bui": {"h": 3.0, "window_ms": 50.0},
    "tkeo": {"j": 3.0, "window_ms": 20.0},
    "bonato": {"m": 5, "r0": 1, "p_fa": 0.01},
}


def _trailing_mean(y: np.ndarray, w: int) -> np.ndarray:
    """Mean over the last ``w`` samples (fewer at the start), along the last axis."""
    c = np.concatenate([np.zeros(y.shape[:-1] + (1,)), np.cumsum(y, axis=-1)], axis=-1)
    n = y.shape[-1]
    hi = np.arange(1, n + 1)
    lo = np.maximum(hi - w, 0)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


def _runs(mask: np.ndarray) -> np.ndarray:
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(m[1:] != m[:-1])
    return d.reshape(-1, 2)


def _clean_runs(mask: np.ndarray, min_active: int, min_gap: int) -> np.ndarray:
    runs = _runs(mask)
    if len(runs) and min_gap > 0:
        gaps = runs[1:, 0] - runs[:-1, 1]
        keep = np.concatenate([[True], gaps >= min_gap])
        starts = runs[keep, 0]
        ends = np.concatenate([runs[np.flatnonzero(keep)[1:] - 1, 1], [runs[-1, 1]]])
        runs = np.stack([starts, ends], 1)
    if len(runs):
        runs = runs[(runs[:, 1] - runs[:, 0]) >= min_active]
    return runs


def active_mask(x: np.ndarray, sfreq: float, baseline: tuple[int, int], method: str = "hodges_bui",
                **params: Any) -> np.ndarray:
    """Sample-wise active/inactive decision of one method, before the duration rules.

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
        Conditioned EMG.
    sfreq : float
        Hz.
    baseline : (int, int)
        Resting interval ``[start, stop)`` in samples.
    method : {"hodges_bui", "tkeo", "bonato"}
    **params
        Method parameters (see :data:`ONSET_DEFAULTS`).

    Returns
    -------
    ndarray of bool, shape (n_channels, n_samples)
    """
    if method not in ONSET_METHODS:
        raise ParameterError(f"unknown onset method {method!r}", hint=f"use one of {list(ONSET_METHODS)}")
    p = {**ONSET_DEFAULTS[method], **params}
    unknown = set(params) - set(ONSET_DEFAULTS[method])
    if unknown:
        raise ParameterError(f"unknown parameter(s) {sorted(unknown)} for method {method!r}",
                             hint=f"valid: {sorted(ONSET_DEFAULTS[method])}")
    b0, b1 = baseline
    n = x.shape[1]
    if method == "hodges_bui":
        w = max(1, int(round(p["window_ms"] * sfreq / 1000)))
        tf = _trailing_mean(np.abs(x - x[:, b0:b1].mean(axis=1, keepdims=True)), w)
        ref = tf[:, b0 + min(w, b1 - b0 - 1):b1]
        return tf > ref.mean(axis=1, keepdims=True) + p["h"] * ref.std(axis=1, keepdims=True)
    if method == "tkeo":
        w = max(1, int(round(p["window_ms"] * sfreq / 1000)))
        psi = np.abs(tkeo_array(x))
        tf = _trailing_mean(psi, w)
        ref = tf[:, b0 + min(w, b1 - b0 - 1):b1]
        return tf > ref.mean(axis=1, keepdims=True) + p["j"] * ref.std(axis=1, keepdims=True)
    # bonato
    m, r0, p_fa = int(p["m"]), int(p["r0"]), float(p["p_fa"])
    if not (1 <= r0 <= m) or not 0 < p_fa < 1:
        raise ParameterError(f"Bonato needs 1 <= r0 <= m and 0 < p_fa < 1, got m={m}, r0={r0}, p_fa={p_fa}")
    var = x[:, b0:b1].var(axis=1, keepdims=True)
    var[var <= 0] = np.finfo(float).tiny
    n_pairs = n // 2
    xx = x[:, :2 * n_pairs] ** 2
    g = (xx[:, 0::2] + xx[:, 1::2]) / var
    # per-pair probability q with P(at least r0 of m above) = p_fa (binomial tail), solved by bisection
    from scipy import stats

    lo_q, hi_q = 1e-12, 1.0
    for _ in range(60):
        mid = (lo_q + hi_q) / 2
        if stats.binom.sf(r0 - 1, m, mid) > p_fa:
            hi_q = mid
        else:
            lo_q = mid
    zeta = -2.0 * np.log(lo_q)
    on = (g > zeta).astype(float)
    cnt = _trailing_mean(on, m) * np.minimum(np.arange(1, n_pairs + 1), m)
    act_pairs = cnt >= r0
    out = np.zeros(x.shape, bool)
    out[:, :2 * n_pairs] = np.repeat(act_pairs, 2, axis=1)
    if n % 2:
        out[:, -1] = out[:, -2]
    return out


def onsets_array(data: np.ndarray, sfreq: float, *, baseline: tuple[float, float] = (0.0, 1.0),
                 method: str = "hodges_bui", min_active_ms: float = 30.0, min_gap_ms: float = 30.0,
                 ch_names: Iterable[str] | None = None, **params: Any) -> pd.DataFrame:
    """Active periods (onset, offset) of each channel.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Conditioned EMG (any unit).
    sfreq : float
        Hz.
    baseline : (float, float)
        Resting interval in s (default the first second), from which the mean and SD of
        the test function (or the noise variance for Bonato) are estimated.
    method : {"hodges_bui", "tkeo", "bonato"}
    min_active_ms : float
        Shortest active period kept (ms).
    min_gap_ms : float
        Shorter inactive gaps are bridged (ms).
    ch_names : iterable of str, optional
        Names for the ``channel`` column (default ``"0", "1", ...``).
    **params
        Method parameters: ``h``, ``window_ms`` (Hodges & Bui); ``j``, ``window_ms`` (TKEO);
        ``m``, ``r0``, ``p_fa`` (Bonato).

    Returns
    -------
    pandas.DataFrame
        ``onset, duration, phase, cycle, channel`` (s; ``phase == "active"``), ordered by
        channel then onset.
    """
    x = np.atleast_2d(np.asarray(data, dtype=float))
    n = x.shape[1]
    names = [str(i) for i in range(x.shape[0])] if ch_names is None else [str(c) for c in ch_names]
    if len(names) != x.shape[0]:
        raise ChannelError(f"{len(names)} names for {x.shape[0]} channels")
    b0 = int(np.clip(round(baseline[0] * sfreq), 0, n))
    b1 = int(np.clip(round(baseline[1] * sfreq), 0, n))
    if b1 - b0 < max(10, int(0.1 * sfreq)):
        raise ParameterError(f"the baseline {baseline} s holds too few samples ({b1 - b0})",
                             hint="give a resting interval of at least 0.1 s")
    mask = active_mask(x, sfreq, (b0, b1), method, **params)
    min_active = max(1, int(round(min_active_ms * sfreq / 1000)))
    min_gap = int(round(min_gap_ms * sfreq / 1000))
    rows = []
    for i, nm in enumerate(names):
        for a, b in _clean_runs(mask[i], min_active, min_gap):
            a, b = int(min(max(a, 0), n - 1)), int(min(max(b, a + 1), n))
            rows.append(dict(onset=a / sfreq, duration=(b - a) / sfreq, phase="active", cycle=pd.NA, channel=nm))
    df = pd.DataFrame(rows, columns=["onset", "duration", "phase", "cycle", "channel"])
    df["onset"] = df["onset"].astype(float)
    df["duration"] = df["duration"].astype(float)
    df["cycle"] = df["cycle"].astype("Int64")
    return df


def onsets(rec: Recording, *, picks: Iterable[str] | None = None, baseline: tuple[float, float] | str = (0.0, 1.0),
           method: str = "hodges_bui", **options: Any) -> pd.DataFrame:
    """Active periods of a Recording's EMG channels (see :func:`onsets_array`).

    Parameters
    ----------
    rec : Recording
        Conditioned EMG (not modified).
    picks : list of str, optional
        Channels (default all EMG).
    baseline : (float, float) or str
        Resting interval in s, or a phase name whose first occurrence is the baseline
        (e.g. ``"rest"``, ``"standing"``).
    method : {"hodges_bui", "tkeo", "bonato"}
    **options
        Passed to :func:`onsets_array`.

    Returns
    -------
    pandas.DataFrame
        Events with ``phase == "active"``; ``rec.with_phases(df)`` accepts them.
    """
    names = rec.emg_names if picks is None else list(picks)
    if isinstance(baseline, str):
        ph = rec.phases
        sel = ph[ph["phase"] == baseline]
        if not len(sel):
            raise ParameterError(f"no {baseline!r} phase to use as the baseline", file=rec.meta.get("source"),
                                 hint="give baseline=(start, stop) in seconds")
        baseline = (float(sel["onset"].iat[0]), float(sel["onset"].iat[0] + sel["duration"].iat[0]))
    try:
        return onsets_array(rec.get_data(names, unit="uV"), rec.sfreq, baseline=baseline, method=method,
                            ch_names=names, **options)
    except ParameterError as err:
        raise ParameterError(err.what, file=rec.meta.get("source"), hint=err.hint) from None
