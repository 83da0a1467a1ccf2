"""Residual artefact after conditioning, measured where it matters: in the static phases.

Flexion-relaxation ratios divide by the EMG of full flexion, where a healthy erector spinae
falls to 1-3 uV; whatever mains or ECG the conditioning left there enters the denominator.
:func:`residual_artefact` measures, per channel, per static phase segment (and pooled over
the segments of each phase):

* **residual mains** (``line_rms_uv``): the power standing above the local spectral level at
  the mains harmonics, ``P_line = sum_h sum_{|f - h| <= d_k} (P(f) - N_h) df`` from the Hann
  periodogram ``P`` of the segment, with ``N_h`` the mean periodogram 1-5 Hz beyond the line
  band ``d_k = max(2 df, 0.3 + 0.2 k)`` Hz of harmonic ``k``, summed over the harmonics
  below ``max_freq`` and clipped at 0 (so broadband EMG alone scores about 0);
* **residual ECG** (``ecg_rms_uv``): the beat-locked power at the R-peaks found during
  conditioning (kept in the ``"ecg"`` provenance record), ``P_coh = mean(avg**2) -
  P_between / n`` (the residual-ECG index's bias-corrected coherent power, over +-50 ms),
  spread over the segment, ``P_ecg = P_coh n (2 h + 1) / L``; and the residual-ECG index
  ``ecg_index_db = 10 log10(P_coh / P_between)``;
* the EMG left when both are taken out, ``emg_rms_uv = sqrt(P - P_line - P_ecg)``, and the
  artefact-to-EMG ratio ``artefact_to_emg = sqrt((P_line + P_ecg) / P_emg)``.

The per-channel summary compares the artefact of full flexion (pooled over its segments)
with the EMG there: the channel is flagged when ``artefact_to_emg`` exceeds
``flag_fraction`` (default 0.3: an artefact 30 % of the EMG RMS raises the full-flexion RMS
by 4.4 % and lowers ERR and FRR by as much). Without a full-flexion phase the quietest static
phase is the reference, and the summary says so.

References
----------
Drake JDM, Callaghan JP (2006). Elimination of electrocardiogram contamination from
electromyogram signals: an evaluation of currently used removal techniques. J Electromyogr
Kinesiol 16(2):175-187.
Mewett DT, Reynolds KJ, Nazeran H (2004). Reducing power line interference in digitised
electromyogram recordings by spectrum interpolation. Med Biol Eng Comput 42:524-531.
Welch PD (1967). IEEE Trans Audio Electroacoust 15:70-73 (periodogram with a data window).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.fft as sfft
from scipy import signal

from ..errors import ParameterError
from ..recording import Recording
from .filters import check_sfreq, default_workers, signal_channels, source_of

__all__ = ["residual_artefact", "ARTEFACT_DEFAULTS", "ARTEFACT_COLUMNS", "ARTEFACT_SUMMARY_COLUMNS"]

#: Defaults of :func:`residual_artefact` (each one a keyword parameter).
ARTEFACT_DEFAULTS: dict[str, Any] = {
    "static_phases": ("standing", "sitting", "prone", "full_flexion", "sorensen_hold", "rest"),
    "reference_phase": "full_flexion",
    "trim": 0.5,  # s removed at both ends of each segment (as the flexion-relaxation features)
    "flag_fraction": 0.3,  # artefact RMS / EMG RMS in the reference phase that flags a channel
    "candidates": (50.0, 60.0),  # mains fundamentals measured when the conditioning found none
    "max_freq": 450.0,  # Hz: highest harmonic measured
    "half_window_ms": 50.0,  # beat-locked window half-width (the QRS)
    "exclude_ms": 100.0,  # samples closer than this to an R-peak are not "between beats"
}

ARTEFACT_COLUMNS = ["channel", "phase", "cycle", "metric", "value", "unit"]
ARTEFACT_SUMMARY_COLUMNS = ["channel", "reference_phase", "emg_rms_uv", "line_rms_uv", "ecg_rms_uv",
                            "artefact_rms_uv", "artefact_to_emg", "flag_fraction", "flag", "quality", "reason"]
_UNITS = {"rms_uv": "uV", "line_rms_uv": "uV", "ecg_rms_uv": "uV", "emg_rms_uv": "uV", "artefact_rms_uv": "uV",
          "artefact_to_emg": "1", "ecg_index_db": "dB", "n_beats": "1", "duration_s": "s"}


def _provenance(rec: Recording, step: str) -> dict[str, Any] | None:
    for rec_step in reversed(rec.meta.get("processing") or []):
        if rec_step.get("step") == step:
            return rec_step.get("result") or {}
    return None


def _line_power(x: np.ndarray, fs: float, freqs: Sequence[float], max_freq: float) -> np.ndarray:
    """Excess power (uV^2) at the mains harmonics of each row of a segment; the larger over
    the candidate fundamentals ``freqs``."""
    L = x.shape[-1]
    win = signal.get_window("hann", L)
    # the rows' transforms on the per-channel threads (each row's values do not depend on them)
    X = sfft.rfft((x - x.mean(axis=1, keepdims=True)) * win, axis=1, workers=default_workers())
    P = (X.real ** 2 + X.imag ** 2) * (2.0 / (fs * np.sum(win ** 2)))
    f = np.fft.rfftfreq(L, 1.0 / fs)
    df = f[1] - f[0]
    best = np.zeros(x.shape[0])
    top = min(max_freq, 0.5 * fs - 6.0)
    for f0 in freqs:
        tot = np.zeros(x.shape[0])
        for k in range(1, int(top // f0) + 1):
            h = k * f0
            dk = max(2 * df, 0.3 + 0.2 * k)
            d = np.abs(f - h)
            line, nb = d <= dk, (d > dk + 1.0) & (d <= dk + 5.0)
            if not line.any() or nb.sum() < 2:
                continue
            tot += (np.sum(P[:, line], axis=1) - line.sum() * P[:, nb].mean(axis=1)) * df
        best = np.maximum(best, tot)  # the excesses of the harmonics are summed, then clipped at 0
    return best


def _beat_sums(x: np.ndarray, r: np.ndarray, hw: int, ex: int) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Sums for the beat-locked power of a segment: the sum of the beat windows (rows x
    window), their number, the sum of squares of the between-beat samples, their number."""
    L = x.shape[-1]
    r = r[(r - hw >= 0) & (r + hw < L)]
    far = np.ones(L, bool)
    for rk in r.tolist():  # a loop over the few beats of a segment
        far[max(rk - ex, 0):rk + ex + 1] = False
    if len(r):
        W = np.lib.stride_tricks.sliding_window_view(x, 2 * hw + 1, axis=1)[:, r - hw]
        s = W.sum(axis=1)
    else:
        s = np.zeros((x.shape[0], 2 * hw + 1))
    xf = x[:, far]
    return s, int(len(r)), np.einsum("ij,ij->i", xf, xf), int(far.sum())


def _ecg_power(s: np.ndarray, nb: int, ss_far: np.ndarray, n_far: int, hw: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Residual ECG power spread over a segment (uV^2) and the residual-ECG index (dB)."""
    if nb < 1 or n_far < 10:
        return np.full(s.shape[0], np.nan), np.full(s.shape[0], np.nan)
    avg = s / nb
    p_between = ss_far / n_far
    coh = np.mean(avg * avg, axis=1) - p_between / nb
    with np.errstate(divide="ignore", invalid="ignore"):
        eci = 10.0 * np.log10(np.maximum(coh / np.where(p_between > 0, p_between, np.nan), 1e-4))
    return np.maximum(coh, 0.0) * nb * (2 * hw + 1) / L, eci


def _static_segments(phases: pd.DataFrame, fs: float, n: int, static: Sequence[str], trim: float) -> pd.DataFrame:
    need = {"onset", "duration", "phase"}
    if not need <= set(phases.columns):
        raise ParameterError(f"a phase table needs the columns {sorted(need)}, got {list(phases.columns)}")
    ph = phases[phases["phase"].isin(list(static))].copy()
    cyc = ph["cycle"] if "cycle" in ph else pd.Series([pd.NA] * len(ph), index=ph.index)
    a = np.clip(np.round((ph["onset"].to_numpy(float) + trim) * fs).astype(np.int64), 0, n)
    b = np.clip(np.round((ph["onset"].to_numpy(float) + ph["duration"].to_numpy(float) - trim) * fs)
                .astype(np.int64), 0, n)
    out = pd.DataFrame({"phase": ph["phase"].to_numpy(), "cycle": pd.array(cyc, dtype="Int64"), "a": a, "b": b})
    return out[out["b"] - out["a"] >= int(0.5 * fs)].reset_index(drop=True)


def _sources(rec: Recording, x: np.ndarray | None, fs: float, line_freq: float | str | None, rpeaks: np.ndarray | None,
             candidates: Sequence[float]) -> tuple[list[float], np.ndarray, str]:
    """Mains fundamentals to measure and R-peaks, from the arguments or the provenance."""
    if isinstance(line_freq, str) and line_freq.lower() == "auto":
        pl = _provenance(rec, "powerline")
        f0 = None if pl is None else pl.get("frequency")
        freqs = [float(f0)] if f0 else [float(c) for c in candidates]
    elif line_freq is None or (isinstance(line_freq, str) and line_freq.lower() == "none"):
        freqs = []
    else:
        freqs = [float(line_freq)]
    if rpeaks is not None:
        return freqs, np.asarray(rpeaks, dtype=np.int64), "R-peaks given"
    ec = _provenance(rec, "ecg")
    if ec is not None:
        r = np.asarray(ec.get("rpeaks") or [], dtype=np.int64)
        return freqs, r, str(ec.get("reason") or ("R-peaks of the conditioning" if len(r) else "no R-peaks"))
    from .ecg import ecg_presence_array  # no ECG step ran: look for one now

    ana = ecg_presence_array(np.empty((0, rec.n_samples)) if x is None else x, fs)
    return freqs, (ana["rpeaks"] if ana["ecg_present"] else np.empty(0, np.int64)), ana["reason"]


def residual_artefact(rec: Recording, phases: pd.DataFrame | None = None, *,
                      picks: str | Iterable[str] | None = None, line_freq: float | str | None = "auto",
                      rpeaks: np.ndarray | None = None, per_cycle: bool = True,
                      **options: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Residual mains and ECG per channel and static phase of a conditioned Recording.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG (e.g. :func:`paraspinal.pipeline.preprocess`), not modified.
    phases : pandas.DataFrame, optional
        Phase table ``onset, duration, phase[, cycle]`` in seconds (default ``rec.phases``).
    picks : str or list of str, optional
        Channels (default all EMG).
    line_freq : float, "auto" or None
        Mains fundamental measured (Hz); ``"auto"`` (default) takes the one the conditioning
        found (``"powerline"`` provenance) or, when it found none, the larger residual at
        50 and 60 Hz; None: mains not measured.
    rpeaks : ndarray of int, optional
        R-peaks; by default those of the ``"ecg"`` provenance record (none when the
        conditioning found no ECG), or found now when no ECG step ran.
    per_cycle : bool
        True (default): the table has a row per cycle besides the pooled ones; False: the
        pooled rows only (the summary reads no more, so it is the same, and cheaper to make).
    **options
        Override :data:`ARTEFACT_DEFAULTS`: ``static_phases``, ``reference_phase``
        (``"full_flexion"``), ``trim`` (0.5 s), ``flag_fraction`` (0.3), ``candidates``,
        ``max_freq`` (450 Hz), ``half_window_ms`` (50), ``exclude_ms`` (100).

    Returns
    -------
    table : pandas.DataFrame
        Tidy, :data:`ARTEFACT_COLUMNS` (``channel, phase, cycle, metric, value, unit``): one
        row per channel, static-phase segment with a cycle number (``cycle``) or phase pooled
        over all its segments (``cycle`` missing; the features' convention) and metric: ``rms_uv``, ``line_rms_uv``,
        ``ecg_rms_uv``, ``emg_rms_uv``, ``artefact_rms_uv`` (uV), ``artefact_to_emg`` (1),
        ``ecg_index_db`` (dB), ``n_beats``, ``duration_s``.
    summary : pandas.DataFrame
        :data:`ARTEFACT_SUMMARY_COLUMNS`, one row per channel: the reference phase, its EMG,
        mains, ECG and total artefact (uV, pooled), ``artefact_to_emg``, the threshold,
        ``flag`` (True when ``artefact_to_emg > flag_fraction``), ``quality`` (``"ok"``,
        ``"artefact"``, or ``"unknown"`` without static phases) and a ``reason``.
        ``summary.attrs`` holds the sources of the mains frequency and the R-peaks.

    Notes
    -----
    Formulas in the module docstring (``paraspinal.preprocessing.artefact``).

    References
    ----------
    Drake JDM, Callaghan JP (2006) J Electromyogr Kinesiol 16:175-187; Mewett DT et al.
    (2004) Med Biol Eng Comput 42:524-531.
    """
    unknown = set(options) - set(ARTEFACT_DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown residual_artefact options {sorted(unknown)}", file=source_of(rec),
                             hint=f"valid ones are {sorted(ARTEFACT_DEFAULTS)}")
    o = {**ARTEFACT_DEFAULTS, **options}
    names = signal_channels(rec, picks)
    fs = check_sfreq(rec.sfreq, source_of(rec))
    # the whole signal only when R-peaks must be looked for now; otherwise each segment is read alone
    whole = names and rpeaks is None and _provenance(rec, "ecg") is None
    x = rec.get_data(names, unit="uV") if whole else None
    segs = _static_segments(rec.phases if phases is None else phases, fs, rec.n_samples, o["static_phases"], o["trim"])
    freqs, r, ecg_source = _sources(rec, x, fs, line_freq, rpeaks, o["candidates"])
    hw = max(int(round(o["half_window_ms"] * fs / 1000.0)), 1)
    ex = max(int(round(o["exclude_ms"] * fs / 1000.0)), hw)
    parts, pooled = [], {}
    for seg in segs.itertuples(index=False):
        xs = x[:, seg.a:seg.b] if x is not None else (rec.get_data(names, unit="uV", start=seg.a, stop=seg.b)
                                                      if names else np.empty((0, seg.b - seg.a)))
        L = xs.shape[-1]
        tot = np.mean(xs * xs, axis=1)
        line = _line_power(xs, fs, freqs, o["max_freq"]) if freqs else np.zeros(len(names))
        sums = _beat_sums(xs, r[(r >= seg.a) & (r < seg.b)] - seg.a, hw, ex)
        if per_cycle and not pd.isna(seg.cycle):  # one row per cycle; every phase also gets a pooled row (as the features)
            parts.append(_metrics(names, seg.phase, seg.cycle, tot, line, *_ecg_power(*sums, hw, L), sums[1], L / fs))
        acc = pooled.setdefault(seg.phase, [0.0, 0.0, 0.0, 0, 0.0, 0, 0])
        acc[0] = acc[0] + tot * L
        acc[1] = acc[1] + line * L
        acc[2] = acc[2] + sums[0]
        acc[3] += sums[1]
        acc[4] = acc[4] + sums[2]
        acc[5] += sums[3]
        acc[6] += L
    for phase, (e_tot, e_line, s_sum, nb, ss_far, n_far, L) in pooled.items():
        s_sum = np.zeros((len(names), 2 * hw + 1)) if np.isscalar(s_sum) else s_sum
        ss_far = np.zeros(len(names)) if np.isscalar(ss_far) else ss_far
        ecg, eci = _ecg_power(s_sum, nb, ss_far, n_far, hw, L)
        parts.append(_metrics(names, phase, pd.NA, e_tot / L, e_line / L, ecg, eci, nb, L / fs))
    table = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ARTEFACT_COLUMNS))
    table["cycle"] = pd.array(table["cycle"], dtype="Int64")
    summary = _summary(table, names, o)
    summary.attrs.update({"line_freq": freqs, "ecg": ecg_source, "n_rpeaks": int(len(r))})
    return table[ARTEFACT_COLUMNS], summary


def _metrics(names: Sequence[str], phase: str, cycle: Any, tot: np.ndarray, line: np.ndarray, ecg: np.ndarray,
             eci: np.ndarray, n_beats: int, duration: float) -> pd.DataFrame:
    """Tidy rows of one segment (or pooled phase)."""
    ecg0 = np.nan_to_num(ecg, nan=0.0)
    emg = np.maximum(tot - line - ecg0, 0.0)
    art = line + ecg0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(emg > 0, np.sqrt(art / np.where(emg > 0, emg, 1.0)), np.inf)
    vals = {"rms_uv": np.sqrt(tot), "line_rms_uv": np.sqrt(line), "ecg_rms_uv": np.sqrt(ecg),
            "emg_rms_uv": np.sqrt(emg), "artefact_rms_uv": np.sqrt(art), "artefact_to_emg": ratio,
            "ecg_index_db": eci, "n_beats": np.full(len(names), float(n_beats)),
            "duration_s": np.full(len(names), float(duration))}
    k = len(vals)
    return pd.DataFrame({
        "channel": np.tile(np.asarray(names, dtype=object), k),
        "phase": phase, "cycle": [cycle] * (k * len(names)),
        "metric": np.repeat(list(vals), len(names)),
        "value": np.concatenate([np.asarray(v, dtype=float) for v in vals.values()]),
        "unit": np.repeat([_UNITS[m] for m in vals], len(names)),
    })


def _summary(table: pd.DataFrame, names: Sequence[str], o: dict[str, Any]) -> pd.DataFrame:
    """Per channel: the artefact of the reference phase (pooled) against its EMG, and the flag."""
    pooled = table[table["cycle"].isna()] if len(table) else table
    wide = (pooled.drop_duplicates(["channel", "phase", "metric"]).set_index(["channel", "phase", "metric"])["value"]
            .unstack("metric").reindex(columns=list(_UNITS)) if len(pooled) else None)
    have = set(wide.index.get_level_values(0)) if wide is not None else set()
    rows = []
    for ch in names:
        # one row per phase; a metric that is NaN everywhere (ECG not measured) stays
        t = wide.xs(ch, level="channel") if ch in have else pd.DataFrame()
        if not len(t):
            rows.append({"channel": ch, "reference_phase": None, "flag_fraction": o["flag_fraction"], "flag": False,
                         "quality": "unknown", "reason": "no static phase (of at least 0.5 s after trimming)"})
            continue
        ref = o["reference_phase"] if o["reference_phase"] in t.index else str(t["emg_rms_uv"].idxmin())
        v = t.loc[ref]
        ratio = float(v["artefact_to_emg"])
        flag = bool(ratio > o["flag_fraction"])
        where = ref if ref == o["reference_phase"] else f"{ref} (no {o['reference_phase']} phase: the quietest static one)"
        ecg_txt = "not measured (no R-peaks)" if not np.isfinite(v["ecg_rms_uv"]) else f"{v['ecg_rms_uv']:.2f} uV"
        reason = (f"residual artefact {ratio:.2f} x the EMG ({v['emg_rms_uv']:.2f} uV) in {where}: mains "
                  f"{v['line_rms_uv']:.2f} uV, ECG {ecg_txt}; flagged above {o['flag_fraction']:g}")
        rows.append({"channel": ch, "reference_phase": ref, "emg_rms_uv": float(v["emg_rms_uv"]),
                     "line_rms_uv": float(v["line_rms_uv"]), "ecg_rms_uv": float(v["ecg_rms_uv"]),
                     "artefact_rms_uv": float(v["artefact_rms_uv"]), "artefact_to_emg": ratio,
                     "flag_fraction": o["flag_fraction"], "flag": flag, "quality": "artefact" if flag else "ok",
                     "reason": reason})
    return pd.DataFrame(rows, columns=ARTEFACT_SUMMARY_COLUMNS)
