"""Trunk features: flexion-relaxation ratios, static/dynamic contrast, asymmetry, co-contraction, spasm-like bursts.

All functions here work on amplitude envelopes (moving RMS by default), as arrays, so that
:func:`paraspinal.features.compute` can compute each envelope once and reuse it.

Flexion-relaxation (METHODS.md §1.3), per cycle, on an envelope ``E``:

* ``FRR = S(E_FLX) / mean(E_FF)``, ``ERR = S(E_EXT) / mean(E_FF)``, ``FER = S(E_FLX) / S(E_EXT)``
  with ``S`` = max (default, Alschuler et al. 2009) or mean (``statistic="mean"``);
  names after Gouteron et al. 2022; FER after the FER study (130 vs 130; METHODS.md §1.5);
* ``std_ff_ratio = mean(E_STD) / mean(E_FF)`` (Alschuler et al. 2009);
* ``half_flexion_ratio = E(half flexion) / mean(E_FF)`` (Kienbacher et al. 2016), the
  envelope where the trunk angle crosses half the cycle's excursion during flexion (the
  middle of the flexion phase without an angle);
* FRP present when the ERR (with ``frp_statistic``, default mean) is at least
  ``frp_threshold`` (default 4.0; Gouteron's pooled NSCLBP ERR is 4.07, the synthetic
  ground truth uses the same criterion). Ratio cut-offs are protocol- and
  processing-specific (METHODS.md §1.5): change the threshold for your protocol.

Each phase is trimmed by ``trim`` s at both ends before these statistics (the central part
of a 3-s hold, METHODS.md §1.2), so the envelope window does not leak the neighbouring
phase into the full-flexion mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = [
    "frp_ratios", "asymmetry", "lr_xcorr", "cocontraction", "spasm_episodes", "TRUNK_DEFAULTS",
]

#: Defaults (each one is a keyword parameter).
TRUNK_DEFAULTS: dict[str, Any] = {
    "statistic": "max", "frp_statistic": "mean", "frp_threshold": 4.0, "trim": 0.5,
    "max_lag": 0.5, "spasm_k": 2.0, "spasm_min_duration": 0.1, "spasm_merge": 0.25, "spasm_edge": 0.5,
}


def _stat(x: np.ndarray, statistic: str) -> np.ndarray:
    if statistic == "max":
        return x.max(axis=-1)
    if statistic == "mean":
        return x.mean(axis=-1)
    raise ParameterError(f"statistic={statistic!r}", hint="use 'max' (Alschuler et al. 2009) or 'mean'")


def frp_ratios(flx: np.ndarray, ff: np.ndarray, ext: np.ndarray, std: np.ndarray | None = None,
               half: np.ndarray | None = None, *, statistic: str = "max") -> dict[str, np.ndarray]:
    """Flexion-relaxation ratios of one cycle, per channel.

    Parameters
    ----------
    flx, ff, ext : ndarray, shape (n_channels, n_k)
        Envelope samples in flexion, full flexion, extension (unit U).
    std : ndarray, optional
        Envelope samples in standing.
    half : ndarray, shape (n_channels,), optional
        Envelope at half flexion.
    statistic : {"max", "mean"}
        Statistic of the flexion and extension envelopes.

    Returns
    -------
    dict of ndarray
        ``frr``, ``err``, ``fer`` and, when given, ``std_ff_ratio``, ``half_flexion_ratio``;
        also the parts ``num_flx``, ``num_ext``, ``ff_mean``, ``std_mean``, ``half``.
    """
    f = _stat(flx, statistic)
    e = _stat(ext, statistic)
    m = ff.mean(axis=-1)
    out = {"num_flx": f, "num_ext": e, "ff_mean": m}
    with np.errstate(divide="ignore", invalid="ignore"):
        out["frr"] = f / m
        out["err"] = e / m
        out["fer"] = f / e
        if std is not None:
            out["std_mean"] = std.mean(axis=-1)
            out["std_ff_ratio"] = out["std_mean"] / m
        if half is not None:
            out["half"] = half
            out["half_flexion_ratio"] = half / m
    return out


def asymmetry(left: np.ndarray, right: np.ndarray) -> dict[str, np.ndarray]:
    """Left/right asymmetry of two amplitudes (METHODS.md §8).

    ``AI = (R - L) / (R + L)`` (signed, -1..1; positive = right larger) and
    ``side_ratio = max(L, R) / min(L, R)`` (>= 1; as in the BMC CAM 2017 FRR-asymmetry
    table). Normalise each side (MVC/RVC) first where you can: electrode and skin
    impedance differ by side.

    Parameters
    ----------
    left, right : ndarray
        Amplitudes (same unit).

    Returns
    -------
    dict
        ``asymmetry_index``, ``side_ratio``.
    """
    left = np.asarray(left, float)
    right = np.asarray(right, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ai = (right - left) / (right + left)
        sr = np.maximum(left, right) / np.minimum(left, right)
    return {"asymmetry_index": ai, "side_ratio": sr}


def lr_xcorr(left: np.ndarray, right: np.ndarray, sfreq: float, max_lag: float = 0.5) -> tuple[float, float]:
    """Peak normalised cross-correlation of two envelopes and its lag (Lehman 2002).

    Both envelopes have their mean removed; ``r(tau) = sum L(t) R(t + tau) /
    sqrt(sum L^2 sum R^2)`` for ``|tau| <= max_lag``; the peak (largest value) and its lag in
    s (positive: the right side follows the left) are returned. ``r = 1`` for identical
    shapes.

    Parameters
    ----------
    left, right : ndarray, shape (n,)
    sfreq : float
        Envelope sampling rate (Hz).
    max_lag : float
        s.

    Returns
    -------
    (float, float)
        Peak correlation (dimensionless) and lag (s); NaN for a constant envelope.
    """
    a = np.asarray(left, float)
    b = np.asarray(right, float)
    if a.size < 3:
        return float("nan"), float("nan")
    a = a - a.sum() / a.size  # the mean (np.mean's own sum and division)
    b = b - b.sum() / b.size
    den = np.sqrt((a * a).sum() * (b * b).sum())
    if not den > 0:
        return float("nan"), float("nan")
    k = min(int(round(max_lag * sfreq)), a.size - 1)
    # only lags |tau| <= k are needed: r(tau) = sum_t a(t) b(t + tau), for short envelopes
    # numpy's direct correlation of the padded right side is cheapest
    pad = np.zeros(k)
    r = np.correlate(np.concatenate([pad, b, pad]), a, mode="valid") / den
    lags = np.arange(-k, k + 1)
    i = int(np.argmax(r))
    return float(r[i]), float(lags[i] / sfreq)


def cocontraction(agonist: np.ndarray, antagonist: np.ndarray) -> dict[str, np.ndarray]:
    """Co-contraction indices of agonist/antagonist envelopes over a period (METHODS.md §3).

    * Falconer & Winter (1985): ``%COCON = 100 * 2 * sum(min(A, B)) / (sum A + sum B)`` (%);
    * Rudolph et al. (2000): ``CCI = mean((low / high) * (low + high))`` sample by sample,
      ``low``/``high`` the smaller/larger of the two (unit of the envelopes; 0 where both
      are 0);
    * antagonist/agonist ratio ``100 * mean(B) / mean(A)`` (%; van Dieen et al. 2003);
    * directed co-contraction ratio ``DCCR = 1 - mean(B)/mean(A)`` if the agonist is larger,
      else ``mean(A)/mean(B) - 1`` (-1..1).

    ``A == B`` gives 100 % and ``2A``; ``B == 0`` gives 0 for both; both are symmetric.

    Parameters
    ----------
    agonist, antagonist : ndarray, shape (..., n)
        Envelopes (same unit, ideally normalised).

    Returns
    -------
    dict of ndarray
        ``cci_falconer_winter``, ``cci_rudolph``, ``antagonist_ratio``, ``dccr``.
    """
    a = np.asarray(agonist, float)
    b = np.asarray(antagonist, float)
    low = np.minimum(a, b)
    high = np.maximum(a, b)
    sa, sb = a.sum(axis=-1), b.sum(axis=-1)
    n = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        fw = np.where(sa + sb > 0, 200.0 * low.sum(axis=-1) / (sa + sb), np.nan)
        on = high > 0
        rud = np.where(on, low / np.where(on, high, 1.0) * (low + high), 0.0).mean(axis=-1)
        ma, mb = sa / n, sb / n  # the means: np.mean divides the same sums by the count
        ratio = np.where(ma > 0, 100.0 * mb / np.where(ma > 0, ma, 1.0), np.nan)
        dccr = np.where(ma > mb, 1.0 - mb / np.where(ma > 0, ma, 1.0), ma / np.where(mb > 0, mb, 1.0) - 1.0)
        dccr = np.where((ma == 0) & (mb == 0), np.nan, dccr)
    return {"cci_falconer_winter": fw, "cci_rudolph": rud, "antagonist_ratio": ratio, "dccr": dccr}


def spasm_episodes(env: np.ndarray, sfreq: float, mask: np.ndarray, *, k: float = 2.0, min_duration: float = 0.1,
                   merge: float = 0.25, baseline: np.ndarray | None = None) -> list[list[dict[str, float]]]:
    """Spasm-like bursts: envelope above ``k`` x the subject's resting baseline, in static phases.

    An operational definition, not a validated criterion (none exists for sEMG "spasm",
    METHODS.md §2.3): an episode is a run of samples, inside ``mask`` (static phases,
    outside any movement), where the envelope exceeds ``k * baseline`` for at least
    ``min_duration`` s; runs closer than ``merge`` s are joined. The baseline is the median
    of the envelope over ``mask`` (robust to the bursts themselves) unless given.

    Parameters
    ----------
    env : ndarray, shape (n_channels, n)
        Envelopes (e.g. 250 ms moving RMS, uV), sampled at ``sfreq``.
    sfreq : float
        Envelope sampling rate (Hz).
    mask : ndarray of bool, shape (n,)
        Samples eligible (static phases, edges removed).
    k : float
        Threshold factor (default 2).
    min_duration, merge : float
        s.
    baseline : ndarray, shape (n_channels,), optional
        Resting level per channel.

    Returns
    -------
    list (per channel) of list of dict
        ``onset``, ``duration`` (s), ``amplitude`` (peak envelope, unit of ``env``),
        ``baseline``.
    """
    env = np.atleast_2d(env)
    if not mask.any():
        return [[] for _ in range(env.shape[0])]
    base = np.median(env[:, mask], axis=1) if baseline is None else np.asarray(baseline, float)
    out = []
    mlen = max(1, int(round(min_duration * sfreq)))
    gap = int(round(merge * sfreq))
    for i in range(env.shape[0]):
        above = (env[i] > k * base[i]) & mask
        m = np.concatenate([[False], above, [False]])
        d = np.flatnonzero(m[1:] != m[:-1]).reshape(-1, 2)
        if len(d) and gap > 0:
            keep = np.concatenate([[True], (d[1:, 0] - d[:-1, 1]) >= gap])
            ends = np.concatenate([d[np.flatnonzero(keep)[1:] - 1, 1], [d[-1, 1]]])
            d = np.stack([d[keep, 0], ends], 1)
        eps = []
        for a, b in d:
            if b - a >= mlen:
                eps.append(dict(onset=a / sfreq, duration=(b - a) / sfreq, amplitude=float(env[i, a:b].max()),
                                baseline=float(base[i])))
        out.append(eps)
    return out
