"""Mains (powerline) detection by narrowness, where the muscle is quietest.

A mains line is a narrow, stable sinusoid at 50 or 60 Hz and its harmonics (the grid
frequency drifts by at most about +-0.2 Hz); EMG is broadband and its level changes by an
order of magnitude between phases. A line of a few microvolts that is invisible in the
whole recording's spectrum under 50 uV of movement EMG dominates a silent full flexion, so
the detector looks for narrowness in the quiet parts of the recording:

1. Each channel is cut into windows of ``window_s`` (2 s, 0.5 Hz resolution; shortened on
   short recordings so that there are at least 8, never below 0.5 s). When there are more
   than ``max_windows`` (64) windows, the quietest 64 are kept, ranked by the power of the
   first difference (a cheap broadband level insensitive to baseline wander).
2. Hann periodogram of each window, ``P_w(f)`` (mean removed; multiplied by ``gain(f)**2``
   when a zero-phase band-pass still has to be applied), and its broadband level ``B_w``,
   the median of ``P_w`` over 20-450 Hz (robust to lines).
3. Inverse-level weighted average of the level-normalised periodograms,
   ``R(f) = sum_w u_w P_w(f) / B_w / sum_w u_w`` with ``u_w = 1 / B_w``: a constant line
   of power ``A**2 / 2`` adds about ``A**2 / B_w`` to window ``w``, so weighting by
   ``1 / B_w`` is the matched (maximum signal-to-noise) combination, and the quiet windows
   carry the decision.
4. At each harmonic ``h = k f0`` (``k`` = 1..``n_harmonics``), the *line ratio* is
   ``max R`` within ``|f - h| <= df + k * max_drift`` over the median of ``R`` in the
   neighbourhood ``gap`` to ``gap + neighbourhood`` Hz beyond that band, on both sides.
5. For Gaussian noise each bin of ``R`` is approximately Gamma-distributed with mean 1 and
   ``M_eff = (sum u)**2 / sum u**2`` degrees of freedom (the effective number of windows),
   so a line is called on a channel when its ratio exceeds
   ``max(threshold, Q(M_eff, false_alarm / n_bins))`` with ``Q`` the Gamma upper quantile
   (default ``false_alarm`` 1e-7 per channel and harmonic, ``threshold`` floor 3).
6. The recording's fundamental is the candidate with the largest excess (ratio over its
   threshold) on any channel, when that excess is >= 1 and its best ratio beats every
   other candidate's by ``dominance`` (2).

The amplitude of the line in the quiet windows is estimated per channel and harmonic from
the weighted mean periodogram (``A = sqrt(2 df sum (P - N))`` over the line bins, ``N`` the
neighbourhood mean).

References
----------
Welch PD (1967). The use of fast Fourier transform for the estimation of power spectra.
IEEE Trans Audio Electroacoust 15:70-73.
Thomson DJ (1982). Spectrum estimation and harmonic analysis. Proc IEEE 70:1055-1096
(detection of line components against a smooth background spectrum).
Harris FJ (1978). On the use of windows for harmonic analysis with the discrete Fourier
transform. Proc IEEE 66:51-83 (Hann window, equivalent noise bandwidth).
Mewett DT, Reynolds KJ, Nazeran H (2004). Reducing power line interference in digitised
electromyogram recordings by spectrum interpolation. Med Biol Eng Comput 42:524-531.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft
from scipy import signal, special

from ..errors import ParameterError
from .filters import as_2d, check_sfreq, run_rows

__all__ = ["detect_powerline_array", "line_ratios_array", "detect_rows", "MAINS_DEFAULTS"]

#: Detection defaults (each one a keyword parameter).
MAINS_DEFAULTS: dict[str, Any] = {
    "candidates": (50.0, 60.0),  # mains fundamentals in use worldwide
    "n_harmonics": 3,  # harmonics inspected per candidate (50/100/150 vs 60/120/180 Hz)
    "window_s": 2.0,  # s: detection windows (0.5 Hz resolution)
    "max_windows": 64,  # quietest windows transformed per channel
    "max_drift": 0.2,  # Hz: mains drift at the fundamental (k x at harmonic k)
    "gap": 1.0,  # Hz between the line band and its neighbourhood
    "neighbourhood": 4.0,  # Hz of neighbourhood on each side
    "false_alarm": 1e-7,  # per channel and harmonic, for Gaussian noise
    "threshold": 3.0,  # floor of the line ratio (about 5 dB)
    "dominance": 2.0,  # best candidate's ratio / every other candidate's
    "level_band": (20.0, 450.0),  # Hz: band of the broadband level B_w
}


def _windows(n: int, fs: float, window_s: float) -> tuple[int, np.ndarray]:
    """Window length and start samples (non-overlapping, or half-overlapping on short records)."""
    L = int(round(window_s * fs))
    L = int(max(min(L, 2 * n // 9), min(round(0.5 * fs), n)))
    L = max(min(L, n), 8)
    n_win = n // L
    if n_win >= 8:
        return L, np.arange(n_win, dtype=np.int64) * L
    k = max(2 * n // L - 1, 1)
    return L, np.linspace(0, n - L, k).astype(np.int64)


def _quiet_spectra(x: np.ndarray, rows: Sequence[int], fs: float, window_s: float, max_windows: int,
                   gain: Callable[[np.ndarray], np.ndarray] | None, level_band: tuple[float, float],
                   workers: int | None = None) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Periodograms of the quietest windows of each row, and their broadband levels."""
    rows = list(rows)
    n = x.shape[-1]
    L, starts = _windows(n, fs, window_s)
    win = signal.get_window("hann", L)
    scale = 1.0 / (fs * np.sum(win ** 2))
    f = np.fft.rfftfreq(L, 1.0 / fs)
    g2 = None if gain is None else np.asarray(gain(f), dtype=np.float64) ** 2
    bb = (f >= level_band[0]) & (f <= min(level_band[1], 0.45 * fs))
    if bb.sum() < 8:
        bb = f > 0
    ps: list[np.ndarray | None] = [None] * len(rows)
    levels = np.zeros((len(rows), min(len(starts), max_windows)))

    def one(j: int) -> None:
        xi = x[rows[j]]
        st = starts
        if len(st) > max_windows:  # the quietest windows, by first-difference power
            d = np.diff(xi[:st[-1] + L])
            d = np.append(d, 0.0)
            lev = np.einsum("ij,ij->i", d.reshape(-1, L), d.reshape(-1, L)) if len(d) == len(st) * L else \
                np.array([np.dot(d[s:s + L], d[s:s + L]) for s in st])
            st = np.sort(st[np.argsort(lev, kind="stable")[:max_windows]])
        seg = np.lib.stride_tricks.sliding_window_view(xi, L)[st]
        seg = (seg - seg.mean(axis=1, keepdims=True)) * win
        X = sfft.rfft(seg, axis=1)
        p = (X.real ** 2 + X.imag ** 2) * scale
        p[:, 1:] *= 2.0
        if g2 is not None:
            p *= g2
        ps[j] = p
        levels[j, :len(st)] = np.median(p[:, bb], axis=1)

    run_rows(one, range(len(rows)), workers, n)
    return f, ps, levels


def _harmonic_bins(f: np.ndarray, fs: float, f0: float, n_harmonics: int, max_drift: float, gap: float,
                   width: float) -> list[tuple[float, np.ndarray, np.ndarray]]:
    df = f[1] - f[0] if len(f) > 1 else fs
    out = []
    for k in range(1, int(n_harmonics) + 1):
        h = k * f0
        tol = df + max_drift * k
        if h + tol + gap + width >= fs / 2.0:
            break
        d = np.abs(f - h)
        line = d <= tol
        nb = (d >= tol + gap) & (d <= tol + gap + width)
        if line.any() and nb.sum() >= 2:
            out.append((h, line, nb))
    return out


def _gamma_quantile(m_eff: np.ndarray, p: float) -> np.ndarray:
    """Upper ``p`` quantile of a Gamma(m, 1/m) variable (mean 1), elementwise."""
    m = np.maximum(np.asarray(m_eff, dtype=np.float64), 1e-3)
    return special.gammainccinv(m, p) / m


def detect_rows(x: np.ndarray, rows: Sequence[int] | None, sfreq: float, *,
                candidates: Sequence[float] = MAINS_DEFAULTS["candidates"],
                n_harmonics: int = MAINS_DEFAULTS["n_harmonics"],
                window_s: float = MAINS_DEFAULTS["window_s"],
                max_windows: int = MAINS_DEFAULTS["max_windows"],
                max_drift: float = MAINS_DEFAULTS["max_drift"],
                gap: float = MAINS_DEFAULTS["gap"],
                neighbourhood: float = MAINS_DEFAULTS["neighbourhood"],
                false_alarm: float = MAINS_DEFAULTS["false_alarm"],
                threshold: float = MAINS_DEFAULTS["threshold"],
                dominance: float = MAINS_DEFAULTS["dominance"],
                level_band: tuple[float, float] = MAINS_DEFAULTS["level_band"],
                gain: Callable[[np.ndarray], np.ndarray] | None = None,
                scale: float = 1.0, given: float | None = None, max_freq: float | None = None,
                file: str | None = None) -> dict[str, Any]:
    """Mains detection on rows of ``x`` (see the module docstring); the work behind
    :func:`detect_powerline_array`.

    ``gain(f)``, if given, is the magnitude of a zero-phase filter still to be applied (the
    periodograms are multiplied by its square), so raw data are scored as if filtered.
    ``scale`` converts the data unit to microvolts for the amplitude estimates. With
    ``given`` (a fundamental in Hz) the candidates are only scored and ``given`` is used.
    For the chosen fundamental, ``line_harmonics`` lists per channel the harmonics up to
    ``max_freq`` (default Nyquist) whose line ratio reaches its threshold (as in step 5).
    """
    fs = check_sfreq(sfreq, file)
    if not len(candidates):
        raise ParameterError("powerline detection needs at least one candidate frequency", file=file)
    if not (0 < false_alarm < 1) or threshold <= 0 or dominance < 1 or window_s <= 0 or max_windows < 1:
        raise ParameterError("powerline detection: false_alarm must be in (0, 1), threshold > 0, dominance >= 1, "
                             "window_s > 0 and max_windows >= 1", file=file)
    rows = list(range(x.shape[0])) if rows is None else list(rows)
    if given is not None and float(given) not in [float(c) for c in candidates]:
        candidates = (*candidates, float(given))
    base = {"frequency": None, "threshold": float(threshold), "dominance": float(dominance),
            "false_alarm": float(false_alarm), "scores": {float(c): float("nan") for c in candidates},
            "channel_scores": {float(c): [] for c in candidates}, "channel_thresholds": {},
            "harmonic_scores": {}, "line_uv": {}, "detected": [], "n_windows": 0, "window_s": None,
            "effective_windows": []}
    if not rows or x.shape[-1] < 16:
        return base
    f, ps, levels = _quiet_spectra(x, rows, fs, window_s, int(max_windows), gain, level_band)
    u = np.where(levels > 0, 1.0 / np.where(levels > 0, levels, 1.0), 0.0)
    usum = u.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_eff = np.where(usum > 0, usum ** 2 / np.maximum(np.sum(u * u, axis=1), 1e-300), 0.0)
        wts = u / np.where(usum > 0, usum, 1.0)[:, None]
    # level-normalised, inverse-level weighted mean periodogram R, and the weighted mean P
    R = np.stack([np.einsum("w,wf->f", wts[j] * u[j], ps[j]) for j in range(len(rows))])
    Pm = np.stack([np.einsum("w,wf->f", wts[j], ps[j]) for j in range(len(rows))])
    df = f[1] - f[0]
    scores, thresholds, harm, amps = {}, {}, {}, {}
    best_excess = {}
    for c in candidates:
        c = float(c)
        bins = _harmonic_bins(f, fs, c, n_harmonics, max_drift, gap, neighbourhood)
        if not bins:
            scores[c] = np.full(len(rows), np.nan)
            thresholds[c] = np.full(len(rows), np.nan)
            harm[c], amps[c] = {}, {}
            best_excess[c] = np.full(len(rows), np.nan)
            continue
        s_k, t_k, a_k = [], [], []
        for h, line, nb in bins:
            with np.errstate(invalid="ignore", divide="ignore"):
                ref = np.median(R[:, nb], axis=1)
                s = np.where(ref > 0, R[:, line].max(axis=1) / np.where(ref > 0, ref, 1.0), np.nan)
                noise = Pm[:, nb].mean(axis=1)
                a = np.sqrt(2.0 * df * np.maximum(np.sum(Pm[:, line] - noise[:, None], axis=1), 0.0)) * scale
            s_k.append(s)
            t_k.append(np.maximum(threshold, _gamma_quantile(m_eff, false_alarm / line.sum())))
            a_k.append(a)
        S, T = np.stack(s_k, axis=1), np.stack(t_k, axis=1)
        ex = np.where(np.isfinite(S), S / T, -np.inf)
        best = np.argmax(ex, axis=1)
        ix = np.arange(len(rows))
        scores[c] = np.where(np.isfinite(S).any(axis=1), np.nanmax(np.where(np.isfinite(S), S, -np.inf), axis=1),
                             np.nan)
        thresholds[c] = T[ix, best]
        best_excess[c] = np.where(np.isfinite(ex[ix, best]), ex[ix, best], np.nan)
        harm[c] = {float(h): S[:, k].tolist() for k, (h, _, _) in enumerate(bins)}
        amps[c] = {float(h): np.stack(a_k, axis=1)[:, k].tolist() for k, (h, _, _) in enumerate(bins)}
    rec_score = {c: (float(np.nanmax(s)) if np.isfinite(s).any() else float("nan")) for c, s in scores.items()}
    rec_excess = {c: (float(np.nanmax(e)) if np.isfinite(e).any() else float("nan")) for c, e in best_excess.items()}
    found = None
    finite = {c: e for c, e in rec_excess.items() if np.isfinite(e)}
    if finite:
        top = max(finite, key=finite.get)
        others = [rec_score[c] for c in finite if c != top and np.isfinite(rec_score[c])]
        if finite[top] >= 1.0 and all(rec_score[top] >= dominance * o for o in others):
            found = top
    if given is not None:
        found = float(given)
    detected = ([] if found is None else
                [bool(e >= 1.0) for e in np.nan_to_num(best_excess.get(found, np.zeros(len(rows))), nan=0.0)])
    lines = {}
    if found is not None:  # every harmonic below max_freq: which ones stand out, per channel
        top = fs / 2.0 if max_freq is None else min(float(max_freq), fs / 2.0)
        if gain is not None:  # only where the filter still to be applied passes the line (> -30 dB)
            g = np.asarray(gain(f), dtype=np.float64)
            passed = np.flatnonzero(g >= 10 ** (-30 / 20))
            top = min(top, float(f[passed[-1]])) if len(passed) else 0.0
        bins = _harmonic_bins(f, fs, found, int(top // found), max_drift, gap, neighbourhood)
        per = [[] for _ in rows]
        for h, line, nb in bins:
            if h > top:
                break
            with np.errstate(invalid="ignore", divide="ignore"):
                ref = np.median(R[:, nb], axis=1)
                s = np.where(ref > 0, R[:, line].max(axis=1) / np.where(ref > 0, ref, 1.0), 0.0)
            thr = np.maximum(threshold, _gamma_quantile(m_eff, false_alarm / line.sum()))
            for j in np.flatnonzero(s >= thr):
                per[j].append(float(h))
        lines = {"line_harmonics": per}
    base.update({
        "frequency": found,
        "scores": rec_score,
        "channel_scores": {c: s.tolist() for c, s in scores.items()},
        "channel_thresholds": {c: t.tolist() for c, t in thresholds.items()},
        "harmonic_scores": harm,
        "line_uv": amps,
        "detected": detected,
        "n_windows": int(levels.shape[1]),
        "window_s": float((2 * (len(f) - 1)) / fs) if len(f) > 1 else None,
        "effective_windows": m_eff.tolist(),
        **lines,
    })
    return base


def detect_powerline_array(data: np.ndarray, sfreq: float, **kwargs: Any) -> dict[str, Any]:
    """Detect the mains frequency of EMG channels by the narrowness of the line.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals (raw or band-passed), any unit (the amplitude estimates ``line_uv`` are in
        that unit).
    sfreq : float
        Sampling rate in Hz.
    **kwargs
        Detection parameters, defaults in :data:`MAINS_DEFAULTS`: ``candidates`` (50, 60 Hz),
        ``n_harmonics`` (3), ``window_s`` (2 s), ``max_windows`` (64), ``max_drift``
        (0.2 Hz), ``gap`` (1 Hz), ``neighbourhood`` (4 Hz), ``false_alarm`` (1e-7),
        ``threshold`` (3), ``dominance`` (2), ``level_band`` (20-450 Hz).

    Returns
    -------
    dict
        ``frequency`` (float, or None when no line is found), ``scores`` (candidate ->
        largest line ratio over channels), ``channel_scores`` and ``channel_thresholds``
        (candidate -> list per channel), ``harmonic_scores`` and ``line_uv`` (candidate ->
        harmonic -> list per channel: ratio, and estimated line amplitude in the quiet
        windows), ``detected`` (per channel, for the chosen frequency), ``n_windows``,
        ``window_s``, ``effective_windows`` (per channel), ``threshold``, ``dominance``,
        ``false_alarm``.

    Notes
    -----
    See the module docstring (``paraspinal.preprocessing.mains``) for the statistic.

    References
    ----------
    Welch PD (1967) IEEE Trans Audio Electroacoust 15:70-73; Thomson DJ (1982) Proc IEEE
    70:1055-1096; Harris FJ (1978) Proc IEEE 66:51-83.
    """
    x, _ = as_2d(data)
    unknown = set(kwargs) - set(MAINS_DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown powerline detection parameters {sorted(unknown)}",
                             hint=f"valid ones are {sorted(MAINS_DEFAULTS)}")
    return detect_rows(x, None, check_sfreq(sfreq), **kwargs)


def line_ratios_array(data: np.ndarray, sfreq: float, freq: float, **kwargs: Any) -> np.ndarray:
    """Line ratio (see :func:`detect_powerline_array`) at the harmonics of ``freq``, per channel.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
    sfreq : float
        Sampling rate in Hz.
    freq : float
        Fundamental in Hz.
    **kwargs
        Detection parameters (:data:`MAINS_DEFAULTS`, without ``candidates``).

    Returns
    -------
    ndarray, shape (n_channels, n_used_harmonics)
        Ratios (about 1 without a line); an empty second axis when no harmonic fits below
        Nyquist.
    """
    x, _ = as_2d(data)
    res = detect_powerline_array(x, sfreq, candidates=(float(freq),), dominance=1.0, **kwargs)
    hs = res["harmonic_scores"].get(float(freq), {})
    if not hs:
        return np.empty((x.shape[0], 0))
    return np.stack([np.asarray(v) for v in hs.values()], axis=1)

