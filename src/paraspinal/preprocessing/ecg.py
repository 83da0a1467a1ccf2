"""ECG contamination of trunk EMG: R-peak detection, removal and a residual-ECG index.

R-peak detection and the ECG decision (:func:`detect_rpeaks_array`, :func:`ecg_presence_array`)
    In ``paraspinal.preprocessing.rpeaks``: a locally whitened multichannel matched
    filter learnt from the quiet beats, the beats selected with the heart's rhythm (long RR
    gaps searched at their expected positions), and the decision whether the beats are a
    heart's (35-200 bpm, a regular rhythm, one template match per cycle, a beat-locked
    template explaining half the QRS-window variance on some channel) and which channels
    carry it. When the recording has an ECG lead (type ``ecg``), the beats come from it.
    The ECG step changes only the channels that carry an ECG, and nothing when there is
    none (its provenance says why).

Removal (:func:`remove_ecg_array`)
    ``"template"`` (default): template subtraction after a 20 Hz high-pass (METHODS.md
    §5): for every beat the window ``[-pre, +post]`` around its R-peak is gathered into a
    2-D array (beats x samples); the template of a beat is the mean of the ``n_template``
    (40) neighbouring beats centred on it, *excluding the beat itself* (so the beat's own
    EMG is not subtracted; computed for all beats at once from cumulative sums over the
    beat axis); before that, each beat is aligned by the lag (within ``max_lag_ms``) that
    maximises the normalised cross-correlation, over the QRS part, with the channel's
    weighted mean QRS (one alignment template per channel: the lag is a property of the
    beat's fiducial, and a single template makes the search one vectorised pass over all
    beats and lags), the running template is computed from the aligned beats and fitted
    by least squares ``a * template + b``;
    ``a * template`` (tapered over 10 ms at both ends) is subtracted (``b`` too if
    ``subtract_offset``), only between the midpoints of the neighbouring RR intervals so
    successive beats never overlap. The window is -100 to +150 ms: after the 20 Hz
    high-pass only the QRS is left, and a longer window would only subtract the template's
    EMG. A beat whose window still holds more than ``misfit_ratio`` (4) times the power of
    the EMG around it after subtraction (an ectopic beat of another shape, in a quiet
    phase) is gated (replaced by a straight line over its window).
    ``"hp30"``: 4th-order Butterworth 30 Hz high-pass (Drake & Callaghan 2006).
    ``"gating"``: samples within ``gate_ms`` of each R-peak (about a QRS duration) are
    replaced by linear interpolation between the gate edges.

Residual-ECG index (:func:`ecg_index_array`)
    ``ECI = 10 log10( (P_avg - P_between / n_beats) / P_between )`` in dB, where
    ``P_avg`` is the mean power of the R-peak-locked average over +/- ``half_window_ms``
    (50 ms: a QRS lasts 80-120 ms), and ``P_between`` the mean power of the samples more
    than ``exclude_ms`` (100 ms) from any R-peak. Averaging ``n`` beats leaves the
    incoherent EMG with power ``P_between / n``, which is subtracted (bias correction), so
    clean EMG scores near the floor (-40 dB) whatever the number of beats, and the index
    is the ratio of the coherent (ECG) QRS power to the EMG power. It says how much the
    heart, not the muscle, drives the signal around each beat: > 0 dB means the QRS
    dominates the EMG; the QC warns above -10 dB.

References
----------
Pan J, Tompkins WJ (1985). A real-time QRS detection algorithm. IEEE Trans Biomed Eng
32(3):230-236.
Drake JDM, Callaghan JP (2006). Elimination of electrocardiogram contamination from
electromyogram signals: an evaluation of currently used removal techniques. J
Electromyogr Kinesiol 16(2):175-187.
Petersen E, Sauer J, Grasshoff J, Rostalski P (2020). Removing cardiac artifacts from
single-channel respiratory electromyograms. IEEE Access 8:30905-30917.
Hof AL (2009). A simple method to remove ECG artifacts from trunk muscle EMG signals. J
Electromyogr Kinesiol 19(6):e554-e555.
Crit Care 2023, respiratory surface EMG round table, Table 2 (doi:10.1186/s13054-023-04779-x)
(gating: gate length about a QRS, filled by interpolation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import signal

from ..errors import ChannelError, ParameterError
from ..recording import Recording
from .filters import (
    run_rows,
    as_2d,
    butter_sos,
    check_sfreq,
    filter_rows,
    new_recording,
    provenance,
    rows_of,
    signal_channels,
    source_of,
)
from .rpeaks import RPEAK_DEFAULTS, rpeak_analysis

__all__ = [
    "detect_rpeaks",
    "detect_rpeaks_array",
    "ecg_presence_array",
    "remove_ecg",
    "remove_ecg_array",
    "ecg_index",
    "ecg_index_array",
    "ECG_DEFAULTS",
]

#: Defaults (each one is a keyword parameter).
ECG_DEFAULTS: dict[str, Any] = {
    "band": RPEAK_DEFAULTS["band"],  # Hz, detection band (detector defaults: RPEAK_DEFAULTS)
    "highpass": 20.0,  # Hz, before template subtraction (METHODS.md §5)
    "n_template": 40,  # beats in the running template (Petersen et al. 2020)
    "pre_ms": 100.0,  # template window before the R-peak (after a 20 Hz high-pass only the QRS is left)
    "post_ms": 150.0,  # template window after the R-peak
    "max_lag_ms": 5.0,  # alignment search range
    "align_ms": 60.0,  # half-width of the QRS part used for alignment
    "misfit_ratio": 4.0,  # a beat whose residual power exceeds this x the local EMG's is gated
    "misfit_ref_ms": 200.0,  # local EMG: the larger of the powers this long before and after the window
    "gate_ms": (50.0, 50.0),  # gating window before/after the R-peak
    "hp_cutoff": 30.0,  # Hz, Drake & Callaghan 2006
    "index_half_window_ms": 50.0,
    "index_exclude_ms": 100.0,
    "index_floor_db": -40.0,
}


def _cumsum_rows(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[k] = a[0] + ... + a[k]`` over the first axis, row after row.

    For C-ordered 2-D arrays with long rows this is several times faster than
    ``np.cumsum(a, axis=0)`` (which walks each column with a large stride).
    """
    if len(a):
        out[0] = a[0]
    for k in range(1, len(a)):
        np.add(out[k - 1], a[k], out=out[k])
    return out


# ---------------------------------------------------------------------------- detection

def detect_rpeaks_array(data: np.ndarray, sfreq: float, *, rows: Sequence[int] | None = None,
                        decide: bool = True, **params: Any) -> np.ndarray:
    """Detect R-peaks from one ECG lead or from several ECG-contaminated EMG channels.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        ECG lead(s) or trunk EMG channels (any unit).
    sfreq : float
        Sampling rate in Hz.
    rows : sequence of int, optional
        Rows of ``data`` to combine (default all).
    decide : bool
        Return the beats only when they are a heart's (:func:`ecg_presence_array`;
        default True). False returns the beat-like events whatever they are.
    **params
        Detector and decision parameters, defaults in
        :data:`paraspinal.preprocessing.rpeaks.RPEAK_DEFAULTS` (``band`` 10-40 Hz,
        ``target_fs`` 250 Hz, ``qrs_ms`` 80, ``refractory_ms`` 300, ``z_strong`` 5,
        ``z_weak`` 3, ``hr_range`` 35-200 bpm, ...).

    Returns
    -------
    ndarray of int
        R-peak sample indices, increasing (beats inferred from the rhythm included; see
        :func:`ecg_presence_array` for which ones had evidence).

    References
    ----------
    Pan J, Tompkins WJ (1985). IEEE Trans Biomed Eng 32(3):230-236; Turin GL (1960) IRE
    Trans Inf Theory 6:311-329.
    """
    res = rpeak_analysis(data, sfreq, rows=rows, **params)
    if decide and not res["ecg_present"]:
        return np.empty(0, dtype=np.int64)
    return res["rpeaks"]


def ecg_presence_array(data: np.ndarray, sfreq: float, *, rows: Sequence[int] | None = None,
                       check_rows: Sequence[int] | None = None, **params: Any) -> dict[str, Any]:
    """Find R-peaks and decide whether the recording carries an ECG, and on which channels.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        ECG lead(s) and/or trunk EMG (any unit).
    sfreq : float
        Sampling rate in Hz.
    rows : sequence of int, optional
        Rows the beats are found on (default all; an ECG lead if there is one).
    check_rows : sequence of int, optional
        Rows assessed per channel (default ``rows``).
    **params
        Override :data:`paraspinal.preprocessing.rpeaks.RPEAK_DEFAULTS`.

    Returns
    -------
    dict
        ``ecg_present`` (bool), ``reason`` (a sentence: "ECG found: ..." or "no ECG found:
        ..."), ``rpeaks``, ``evidence`` (per beat; False: inferred from the rhythm),
        ``heart_rate_bpm``, ``regular_share``, ``rr_change``, ``uniqueness``,
        ``best_share``, ``template_share`` and ``template_snr`` (per ``check_rows`` row),
        ``ecg_rows``.

    Notes
    -----
    The criteria are those of ``paraspinal.preprocessing.rpeaks``: heart rate 35-200
    bpm, a regular rhythm (70 % of RR within 25 % of the median, median beat-to-beat
    change <= 12 %) unless the beats are very distinct, one template match per cycle
    (uniqueness >= 1.5) and a beat-locked template explaining >= 50 % of the QRS-window
    variance on at least one channel; a channel carries ECG when its template SNR >= 10.

    References
    ----------
    Clifford GD, Azuaje F, McSharry PE (2006). Advanced Methods and Tools for ECG Data
    Analysis. Artech House; Turin GL (1960) IRE Trans Inf Theory 6:311-329.
    """
    return rpeak_analysis(data, sfreq, rows=rows, check_rows=check_rows, **params)


def detect_rpeaks(rec: Recording, *, source: str | Sequence[str] = "auto", decide: bool = True,
                  **kwargs: Any) -> np.ndarray:
    """R-peaks of a Recording (sample indices).

    Parameters
    ----------
    rec : Recording
    source : "auto", "ecg", "emg" or list of channel names
        ``"auto"``: the ECG lead(s) when the recording has any, else all EMG channels.
    decide : bool
        Empty when the beats are not a heart's (default True).
    **kwargs
        Passed to :func:`detect_rpeaks_array`.

    Returns
    -------
    ndarray of int

    References
    ----------
    Pan J, Tompkins WJ (1985). IEEE Trans Biomed Eng 32(3):230-236.
    """
    names = _source_channels(rec, source)
    data = rec.raw.get_data(picks=rows_of(rec, names)) if names else np.empty((0, rec.n_samples))
    return detect_rpeaks_array(data, rec.sfreq, decide=decide, **kwargs)


def _source_channels(rec: Recording, source: str | Sequence[str]) -> list[str]:
    types = dict(zip(rec.channels["name"], rec.channels["type"]))
    if isinstance(source, str):
        if source == "auto":
            ecg = [n for n in rec.ch_names if types[n] == "ecg"]
            return ecg or [n for n in rec.ch_names if types[n] == "emg"]
        if source in ("ecg", "emg"):
            out = [n for n in rec.ch_names if types[n] == source]
            if not out:
                raise ChannelError(f"the recording has no {source.upper()} channel for R-peak detection",
                                   file=source_of(rec), hint="use source='auto' or name the channels")
            return out
        source = [source]
    return signal_channels(rec, list(source), include_ecg=True)


# ---------------------------------------------------------------------------- index

def _beat_mask(n: int, rpeaks: np.ndarray, half: int) -> np.ndarray:
    """Boolean mask of samples within ``half`` samples of any R-peak."""
    d = np.zeros(n + 1, dtype=np.int64)
    np.add.at(d, np.clip(rpeaks - half, 0, n), 1)
    np.add.at(d, np.clip(rpeaks + half + 1, 0, n), -1)
    return np.cumsum(d[:-1]) > 0


def _eci_rows(x: np.ndarray, rows: Sequence[int], fs: float, rpeaks: np.ndarray, half_window_ms: float,
              exclude_ms: float, floor_db: float) -> np.ndarray:
    n = x.shape[-1]
    hw = max(int(round(half_window_ms * fs / 1000.0)), 1)
    r = np.asarray(rpeaks, dtype=np.int64)
    r = r[(r - hw >= 0) & (r + hw < n)]
    out = np.full(len(rows), np.nan)
    if len(r) < 3:
        return out
    far = ~_beat_mask(n, r, max(int(round(exclude_ms * fs / 1000.0)), hw))
    if far.sum() < 10:
        return out
    farf = far.astype(np.float64)  # the "between beats" samples as a 0/1 weight vector
    n_far = float(farf.sum())
    rows = list(rows)

    def one(j: int) -> None:
        xi = x[rows[j]]
        avg = np.lib.stride_tricks.sliding_window_view(xi, 2 * hw + 1)[r - hw].mean(axis=0)
        m_far = float(np.einsum("i,i->", farf, xi)) / n_far  # mean and variance of xi[far] by dot products
        avg -= m_far
        p_avg = float(np.mean(avg * avg))
        p_between = max(float(np.einsum("i,i,i->", farf, xi, xi)) / n_far - m_far * m_far, 0.0)
        if p_between <= 0:
            out[j] = np.inf if p_avg > 0 else np.nan
            return
        coherent = p_avg - p_between / len(r)
        ratio = max(coherent / p_between, 10 ** (floor_db / 10.0))
        out[j] = 10.0 * math.log10(ratio)

    run_rows(one, range(len(rows)), None, n)
    return out


def ecg_index_array(data: np.ndarray, sfreq: float, rpeaks: np.ndarray, *,
                    half_window_ms: float = ECG_DEFAULTS["index_half_window_ms"],
                    exclude_ms: float = ECG_DEFAULTS["index_exclude_ms"],
                    floor_db: float = ECG_DEFAULTS["index_floor_db"]) -> np.ndarray:
    """Residual-ECG index per channel, in dB.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Band-passed EMG (the index is meant for signals high-passed at >= 20 Hz).
    sfreq : float
        Sampling rate in Hz.
    rpeaks : ndarray of int
        R-peak sample indices.
    half_window_ms : float
        Half-width of the beat-locked window, ms (default 50: the QRS).
    exclude_ms : float
        Samples closer than this to an R-peak are not "between beats", ms (default 100).
    floor_db : float
        Lower bound of the index (default -40 dB).

    Returns
    -------
    ndarray, shape (n_channels,)
        ``10 log10((P_avg - P_between / n_beats) / P_between)``; NaN when fewer than 3
        beats are available.

    Notes
    -----
    See the module docstring. The R-peak-locked average keeps what is time-locked to the
    heart (ECG) and averages the EMG down by the number of beats; subtracting the
    expected residual EMG power makes the index unbiased for clean EMG.

    References
    ----------
    Drake JDM, Callaghan JP (2006). J Electromyogr Kinesiol 16:175-187 (ECG
    contamination of trunk EMG); Pan J, Tompkins WJ (1985). IEEE Trans Biomed Eng 32:230.
    """
    x, was_1d = as_2d(data)
    out = _eci_rows(x, range(x.shape[0]), check_sfreq(sfreq), rpeaks, half_window_ms, exclude_ms, floor_db)
    return out


def ecg_index(rec: Recording, rpeaks: np.ndarray | None = None, *, picks: str | Iterable[str] | None = None,
              highpass: float | None = 20.0, **kwargs: Any) -> dict[str, float]:
    """Residual-ECG index (dB) of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
    rpeaks : ndarray of int, optional
        R-peaks (detected with :func:`detect_rpeaks` when omitted).
    picks : str or list of str, optional
        Channels (default all EMG).
    highpass : float or None
        High-pass (Hz) applied to a copy before the index (default 20; None if the
        recording is already filtered).
    **kwargs
        Passed to :func:`ecg_index_array`.

    Returns
    -------
    dict
        Channel name -> index in dB.
    """
    names = signal_channels(rec, picks)
    if rpeaks is None:
        rpeaks = detect_rpeaks(rec)
    data = rec.raw.get_data(picks=rows_of(rec, names))
    if highpass is not None:
        filter_rows(data, range(len(names)), rec.sfreq, highpass, None, names=names, file=source_of(rec))
    return dict(zip(names, ecg_index_array(data, rec.sfreq, rpeaks, **kwargs).tolist()))


# ---------------------------------------------------------------------------- removal

def _template_rows(x: np.ndarray, rows: Sequence[int], fs: float, rpeaks: np.ndarray, *, n_template: int,
                   pre_ms: float, post_ms: float, max_lag_ms: float, align_ms: float,
                   subtract_offset: bool, weighted: bool = True, chunk_beats: int = 256,
                   misfit_ratio: float = ECG_DEFAULTS["misfit_ratio"],
                   misfit_ref_ms: float = ECG_DEFAULTS["misfit_ref_ms"],
                   workers: int | None = None) -> dict[str, Any]:
    """Template subtraction on rows of ``x`` in place (see the module notes).

    Per row: the QRS parts (``+/- align_ms`` plus the lag range) of all beats are read
    into a small beats x samples array; every beat is aligned by the lag (within
    ``max_lag_ms``) maximising its normalised cross-correlation with the row's
    weighted mean QRS (all lags and beats at once, from cumulative sums); the aligned
    windows are then read in chunks of ``chunk_beats`` beats (plus the neighbours their
    running templates need; a strided view of the row indexed by beat), and per chunk the
    leave-one-out weighted running template (cumulative sums over beats), its
    least-squares fit ``a * T + b`` and the subtraction between the RR midpoints are
    done. A chunk's windows are read before the previous chunk is subtracted, so every
    template is built from uncorrected beats. Rows run on up to two threads; memory per
    thread is a few chunks (~3 MB each at 2 kHz), whatever the recording's length.
    """
    from .filters import run_rows

    n = x.shape[-1]
    pre = int(round(pre_ms * fs / 1000.0))
    post = int(round(post_ms * fs / 1000.0))
    m = int(round(max_lag_ms * fs / 1000.0))
    r_all = np.asarray(rpeaks, dtype=np.int64)
    ok = (r_all - pre - m >= 0) & (r_all + post + m < n)
    r = r_all[ok]
    b = len(r)
    if b < 3:
        return {"n_beats_used": int(b), "note": "fewer than 3 complete beats: nothing subtracted"}
    # partition: a beat owns the samples between the midpoints of its RR intervals
    pos_all = np.searchsorted(r_all, r)
    prev = np.where(pos_all > 0, r_all[np.maximum(pos_all - 1, 0)], r - pre - 1)
    nxt = np.where(pos_all < len(r_all) - 1, r_all[np.minimum(pos_all + 1, len(r_all) - 1)], r + post + 1)
    lo = np.maximum((prev + r + 1) // 2, r - pre)
    hi = np.minimum((r + nxt + 1) // 2, r + post + 1)
    L = pre + post + 1
    a_half = int(round(align_ms * fs / 1000.0))
    Lq = 2 * a_half + 1
    q0 = pre - a_half  # QRS start inside the beat window
    size = min(n_template + 1, b)
    start = np.clip(np.arange(b) - size // 2, 0, b - size)  # running-template window of each beat
    rows = list(rows)
    lags_used = [0.0] * len(rows)
    gated: list[list[int]] = [[] for _ in rows]
    taper = _taper(L, max(min(int(round(0.01 * fs)), L // 4), 1))  # no step at the window edges

    def one(j: int) -> None:
        xi = x[rows[j]]
        lag = _lags(xi, r, a_half, m, weighted)
        ra = r + lag
        sw = np.lib.stride_tricks.sliding_window_view(xi, L)
        chunks = [(k0, min(k0 + chunk_beats, b)) for k0 in range(0, b, chunk_beats)]

        def gather(ci: int) -> tuple:
            """Aligned windows (a copy) and weights of the beats chunk ``ci`` needs."""
            k0, k1 = chunks[ci]
            g0, g1 = int(start[k0]), int(start[k1 - 1]) + size
            W = sw[ra[g0:g1] - pre]
            if weighted:  # inverse of the beat's EMG power outside the QRS: the weighted mean is the
                # minimum-variance estimate of the common ECG waveform, and beats recorded during
                # strong contractions do not lend their EMG to the template of a quiet phase
                v = np.einsum("ij,ij->i", W, W) - np.einsum("ij,ij->i", W[:, q0:q0 + Lq], W[:, q0:q0 + Lq])
                v /= (L - Lq)
                wt = 1.0 / np.maximum(v, 1e-300)
            else:
                wt = np.ones(g1 - g0)
            return k0, k1, g0, g1, W, wt

        # the windows of chunk ci + 1 are read before chunk ci is subtracted from the row
        # (its first beats' windows overlap chunk ci's); later chunks do not overlap it
        nxt = gather(0)
        for ci in range(len(chunks)):
            k0, k1, g0, g1, W, wt = nxt
            nxt = gather(ci + 1) if ci + 1 < len(chunks) else None
            Ww = W * wt[:, None]
            c = np.empty((g1 - g0 + 1, L))
            c[0] = 0.0
            _cumsum_rows(Ww, c[1:])
            cw = np.concatenate([[0.0], np.cumsum(wt)])
            s_ = start[k0:k1] - g0
            nk = k1 - k0
            if nk > 1 and s_[-1] - s_[0] == nk - 1:  # interior: consecutive windows, slices
                T = c[s_[0] + size:s_[0] + size + nk] - c[s_[0]:s_[0] + nk]
            else:
                T = c[s_ + size] - c[s_]
            del c
            own = slice(k0 - g0, k1 - g0)
            T -= Ww[own]
            del Ww
            T /= np.maximum(cw[s_ + size] - cw[s_] - wt[own], 1e-300)[:, None]
            blk = W[own]
            # least squares a * T + b per beat
            tm = T.mean(axis=1)
            wm = blk.mean(axis=1)
            var = np.einsum("ij,ij->i", T, T) - L * tm * tm
            cov = np.einsum("ij,ij->i", T, blk) - L * tm * wm
            a = np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0)
            T *= a[:, None] * taper[None, :]
            if subtract_offset:
                T += (wm - a * tm)[:, None]
            del W, blk
            # subtract between the RR midpoints (disjoint ranges): slices, one per beat, are
            # ~50x faster than one fancy-indexed scatter of the same samples
            base = (ra[k0:k1] - pre).tolist()
            u0 = np.maximum(np.maximum(lo[k0:k1], ra[k0:k1] - pre), 0).tolist()
            u1 = np.minimum(np.minimum(hi[k0:k1], ra[k0:k1] - pre + L), n).tolist()
            for kk in range(nk):
                if u1[kk] > u0[kk]:
                    xi[u0[kk]:u1[kk]] -= T[kk, u0[kk] - base[kk]:u1[kk] - base[kk]]
        lags_used[j] = float(np.mean(np.abs(lag)))
        if misfit_ratio > 0:
            gated[j] = _gate_misfits(xi, ra, pre, post, int(round(misfit_ref_ms * fs / 1000.0)), misfit_ratio)

    run_rows(one, range(len(rows)), workers, n)
    return {"n_beats_used": int(b), "mean_abs_lag_samples": lags_used,
            "n_gated": [len(g) for g in gated], "gated_samples": gated}


def _taper(L: int, nt: int) -> np.ndarray:
    """Window of ``L`` ones with ``sin**2`` ramps of ``nt`` samples at both ends."""
    taper = np.ones(L)
    taper[:nt] = np.sin(0.5 * np.pi * (np.arange(nt) + 0.5) / nt) ** 2
    taper[L - nt:] = taper[:nt][::-1]
    return taper


def _lags(xi: np.ndarray, r: np.ndarray, a_half: int, m: int, weighted: bool) -> np.ndarray:
    """Lag (within +-m samples) of each beat maximising its normalised cross-correlation over
    the QRS (+-a_half) with the row's weighted mean QRS (all beats and lags at once)."""
    b = len(r)
    Lq = 2 * a_half + 1
    if m > 0:
        sv = np.lib.stride_tricks.sliding_window_view(xi, Lq + 2 * m)
        Wq = np.ascontiguousarray(sv[r - a_half - m].T)  # (Lq + 2m) x beats: contiguous lag blocks
        wq = 1.0 / np.maximum(np.einsum("ij,ij->j", Wq, Wq), 1e-300) if weighted else np.ones(b)
        G = np.einsum("jb,b->j", Wq[m:m + Lq], wq) / wq.sum()
        G -= G.mean()
        c1 = np.zeros((Lq + 2 * m + 1, b))
        _cumsum_rows(Wq, c1[1:])
        c2 = np.zeros_like(c1)
        _cumsum_rows(Wq * Wq, c2[1:])
        best = np.full(b, -np.inf)
        lag = np.zeros(b, dtype=np.int64)
        for k in range(2 * m + 1):  # loop over lags; vectorised over beats
            num = np.einsum("j,jb->b", G, Wq[k:k + Lq])  # einsum: OpenBLAS gemv is slower here
            s1 = c1[k + Lq] - c1[k]
            s2 = c2[k + Lq] - c2[k]
            cc = num / np.sqrt(np.maximum(s2 - s1 * s1 / Lq, 1e-300))
            better = cc > best
            best[better] = cc[better]
            lag[better] = k - m
        del Wq, c1, c2
    else:
        lag = np.zeros(b, dtype=np.int64)
    return lag


def _gate_misfits(xi: np.ndarray, ra: np.ndarray, pre: int, post: int, ref: int, ratio: float) -> list[int]:
    """Gate the beats the template did not fit (e.g. ectopic beats of another shape), in place.

    After subtraction, a beat whose window ``[r - pre, r + post]`` still holds more than
    ``ratio`` times the power of the EMG around it (the larger of the mean powers over
    ``ref`` samples before and after the window, so the edge of a contraction is not
    mistaken for a residual) is replaced by the straight line between the window's edges.
    Returns the R-peak samples of the gated beats.
    """
    n = len(xi)
    L = pre + post + 1
    ok = (ra - pre - ref >= 0) & (ra + post + ref + 1 < n)
    if ref < 1 or not ok.any():
        return []
    rk = ra[ok]
    W = np.lib.stride_tricks.sliding_window_view(xi, L + 2 * ref)[rk - pre - ref]
    core = W[:, ref:ref + L]
    p_core = np.var(core, axis=1)
    p_loc = np.maximum(np.mean(W[:, :ref] ** 2, axis=1), np.mean(W[:, ref + L:] ** 2, axis=1))
    bad = rk[p_core > ratio * np.maximum(p_loc, 1e-300)]
    t = (np.arange(L) + 1.0) / (L + 1.0)
    for r0 in bad.tolist():  # a loop over the few misfit beats
        left, right = xi[r0 - pre - 1], xi[r0 + post + 1]
        xi[r0 - pre:r0 + post + 1] = left + (right - left) * t
    return [int(v) for v in bad]


def _gate_rows(x: np.ndarray, rows: Sequence[int], fs: float, rpeaks: np.ndarray,
               gate_ms: tuple[float, float]) -> dict[str, Any]:
    n = x.shape[-1]
    pre = int(round(gate_ms[0] * fs / 1000.0))
    post = int(round(gate_ms[1] * fs / 1000.0))
    r = np.asarray(rpeaks, dtype=np.int64)
    r = r[(r - pre - 1 >= 0) & (r + post + 1 < n)]
    if len(r) == 0:
        return {"n_beats_used": 0}
    offs = np.arange(-pre, post + 1)
    idx = r[:, None] + offs[None, :]
    t = (offs + pre + 1) / (pre + post + 2)
    for i in rows:
        xi = x[i]
        left = xi[r - pre - 1][:, None]
        right = xi[r + post + 1][:, None]
        xi[idx] = left + (right - left) * t[None, :]
    return {"n_beats_used": int(len(r)), "gated_fraction": float(_beat_mask(n, r, max(pre, post)).mean())}


def ecg_rows(x: np.ndarray, rows: Sequence[int], sfreq: float, rpeaks: np.ndarray, method: str = "template", *,
             highpass: float | None = ECG_DEFAULTS["highpass"], n_template: int = ECG_DEFAULTS["n_template"],
             pre_ms: float = ECG_DEFAULTS["pre_ms"], post_ms: float = ECG_DEFAULTS["post_ms"],
             max_lag_ms: float = ECG_DEFAULTS["max_lag_ms"], align_ms: float = ECG_DEFAULTS["align_ms"],
             subtract_offset: bool = False, weighted: bool = True,
             misfit_ratio: float = ECG_DEFAULTS["misfit_ratio"],
             misfit_ref_ms: float = ECG_DEFAULTS["misfit_ref_ms"],
             gate_ms: tuple[float, float] = ECG_DEFAULTS["gate_ms"],
             hp_cutoff: float = ECG_DEFAULTS["hp_cutoff"], names: Sequence[str] | None = None,
             file: str | None = None) -> dict[str, Any]:
    """Remove ECG from rows of ``x`` in place with the given R-peaks; returns the provenance result."""
    fs = check_sfreq(sfreq, file)
    if method not in ("template", "hp30", "gating"):
        raise ParameterError(f"unknown ECG removal method {method!r}", file=file,
                             hint="use 'template' (default), 'hp30' or 'gating'")
    if n_template < 2:
        raise ParameterError(f"n_template must be at least 2, got {n_template}", file=file)
    res: dict[str, Any] = {"method": method}
    if not list(rows):
        return res
    if method == "hp30":
        res.update(filter_rows(x, rows, fs, hp_cutoff, None, order=4, names=names, file=file))
        return res
    if highpass is not None:
        res["highpass"] = filter_rows(x, rows, fs, highpass, None, order=4, names=names, file=file)
    if method == "template":
        res.update(_template_rows(x, rows, fs, rpeaks, n_template=n_template, pre_ms=pre_ms, post_ms=post_ms,
                                  max_lag_ms=max_lag_ms, align_ms=align_ms, subtract_offset=subtract_offset,
                                  weighted=weighted, misfit_ratio=misfit_ratio, misfit_ref_ms=misfit_ref_ms))
    else:
        res.update(_gate_rows(x, rows, fs, rpeaks, gate_ms))
    return res


def remove_ecg_array(data: np.ndarray, sfreq: float, rpeaks: np.ndarray | None = None,
                     method: str = "template", *, out: np.ndarray | None = None,
                     detect_options: dict[str, Any] | None = None, **kwargs: Any) -> np.ndarray:
    """Remove ECG contamination from EMG channels (array form).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        EMG (any unit).
    sfreq : float
        Sampling rate in Hz.
    rpeaks : ndarray of int, optional
        R-peak sample indices. When omitted they are found from ``data`` itself
        (:func:`ecg_presence_array`), and only the channels that carry an ECG are
        cleaned; nothing is changed when no ECG is found.
    method : {"template", "hp30", "gating"}
        Template subtraction (default), 4th-order Butterworth 30 Hz high-pass (Drake &
        Callaghan 2006) or gating with linear interpolation.
    out : ndarray, optional
        Output array (may be ``data``).
    detect_options : dict, optional
        Detector parameters (:data:`paraspinal.preprocessing.rpeaks.RPEAK_DEFAULTS`).
    **kwargs
        ``highpass`` (Hz, 20; None to skip, for already filtered data), ``n_template``
        (40), ``pre_ms`` (100), ``post_ms`` (150), ``max_lag_ms`` (5), ``align_ms`` (60),
        ``subtract_offset`` (False), ``misfit_ratio`` (4), ``misfit_ref_ms`` (200),
        ``gate_ms`` ((50, 50)), ``hp_cutoff`` (30).

    Returns
    -------
    ndarray

    References
    ----------
    Drake JDM, Callaghan JP (2006). J Electromyogr Kinesiol 16:175-187.
    Petersen E et al. (2020). IEEE Access 8:30905-30917 (40-beat running template,
    cross-correlation alignment, least-squares scaling).
    """
    x, was_1d = as_2d(data)
    fs = check_sfreq(sfreq)
    y = np.array(x, dtype=np.float64, copy=True) if out is None else (out.reshape(1, -1) if was_1d else out)
    if out is not None and y is not x:
        y[...] = x
    rows = list(range(y.shape[0]))
    if rpeaks is None:
        ana = rpeak_analysis(y, fs, **(detect_options or {}))
        if not ana["ecg_present"]:
            return y[0] if was_1d else y
        rpeaks, rows = ana["rpeaks"], ana["ecg_rows"]
    ecg_rows(y, rows, fs, np.asarray(rpeaks, dtype=np.int64), method, **kwargs)
    return y[0] if was_1d else y


def remove_ecg(rec: Recording, method: str = "template", *, rpeaks: np.ndarray | None = None,
               source: str | Sequence[str] = "auto", picks: str | Iterable[str] | None = None,
               highpass: float | None = ECG_DEFAULTS["highpass"], n_template: int = ECG_DEFAULTS["n_template"],
               pre_ms: float = ECG_DEFAULTS["pre_ms"], post_ms: float = ECG_DEFAULTS["post_ms"],
               max_lag_ms: float = ECG_DEFAULTS["max_lag_ms"], align_ms: float = ECG_DEFAULTS["align_ms"],
               subtract_offset: bool = False, weighted: bool = True,
               misfit_ratio: float = ECG_DEFAULTS["misfit_ratio"],
               misfit_ref_ms: float = ECG_DEFAULTS["misfit_ref_ms"],
               gate_ms: tuple[float, float] = ECG_DEFAULTS["gate_ms"],
               hp_cutoff: float = ECG_DEFAULTS["hp_cutoff"], band: tuple[float, float] = ECG_DEFAULTS["band"],
               detect_options: dict[str, Any] | None = None, report_index: bool = True) -> Recording:
    """Remove ECG contamination from a Recording's trunk EMG channels, where there is one.

    Parameters
    ----------
    rec : Recording
        Input (not modified).
    method : {"template", "hp30", "gating"}
        Template subtraction after a 20 Hz high-pass (default; METHODS.md §5), 4th-order
        Butterworth 30 Hz high-pass (Drake & Callaghan 2006), or gating of +/- ``gate_ms``
        around each R-peak filled by linear interpolation.
    rpeaks : ndarray of int, optional
        R-peak sample indices (taken as a heart's, on every channel). When omitted they
        are found (:func:`ecg_presence_array`; from the ECG lead if any, else from the EMG
        channels together), the step decides whether there is an ECG at all and which
        channels carry it, and only those channels are changed.
    source : "auto", "ecg", "emg" or list of str
        Channels for R-peak detection.
    picks : str or list of str, optional
        Channels cleaned (default all EMG).
    highpass : float or None
        High-pass (Hz, 4th order, zero phase) before template subtraction or gating
        (default 20 Hz; pass None when the recording is already band-passed from 20 Hz).
    n_template : int
        Beats in the running template (default 40, centred on the beat, beat excluded).
    pre_ms, post_ms : float
        Template window around the R-peak, ms (default 100 and 150: after a 20 Hz
        high-pass the P and T waves are gone; each beat only subtracts between the
        midpoints of its RR intervals).
    max_lag_ms : float
        Cross-correlation alignment range, ms (default 5).
    align_ms : float
        Half-width of the QRS part used for alignment, ms (default 60).
    subtract_offset : bool
        Also subtract the least-squares offset ``b`` (default False: after a high-pass the
        offset is EMG, not ECG; it is still fitted so that it does not bias ``a``).
    weighted : bool
        Weight the beats of the running template by the inverse of their EMG power
        outside the QRS (default True); False gives the plain mean.
    misfit_ratio, misfit_ref_ms : float
        A beat whose window still holds more than ``misfit_ratio`` (4) times the power of
        the EMG within ``misfit_ref_ms`` (200 ms) around it after subtraction (an ectopic
        beat of another shape) is gated; 0 turns this off.
    gate_ms : (float, float)
        Gate before/after the R-peak, ms (default 50, 50).
    hp_cutoff : float
        Cut-off of ``"hp30"``, Hz (default 30).
    band : (float, float)
        R-peak detection band, Hz.
    detect_options : dict, optional
        Other detector and decision parameters
        (:data:`paraspinal.preprocessing.rpeaks.RPEAK_DEFAULTS`).
    report_index : bool
        Compute the residual-ECG index before and after (default True).

    Returns
    -------
    Recording
        New Recording; the ``"ecg"`` provenance record holds ``ecg_present`` and
        ``reason`` (e.g. "no ECG found: ..."), the R-peaks (``rpeaks``, with ``inferred``
        for the beats placed from the rhythm and ``unlike`` for beats unlike the template,
        e.g. ectopic), heart rate and rhythm statistics, per channel
        ``ecg_channels`` (True where the channel carries ECG and was cleaned),
        ``template_snr`` and ``template_share``, the gated (misfit) beats, and
        ``ecg_index_before_db`` / ``ecg_index_after_db``.

    References
    ----------
    Pan J, Tompkins WJ (1985). IEEE Trans Biomed Eng 32:230-236.
    Drake JDM, Callaghan JP (2006). J Electromyogr Kinesiol 16:175-187.
    Petersen E, Sauer J, Grasshoff J, Rostalski P (2020). IEEE Access 8:30905-30917.
    """
    params = {"method": method, "source": source, "picks": picks, "highpass": highpass, "n_template": n_template,
              "pre_ms": pre_ms, "post_ms": post_ms, "max_lag_ms": max_lag_ms, "align_ms": align_ms,
              "subtract_offset": subtract_offset, "weighted": weighted, "misfit_ratio": misfit_ratio,
              "misfit_ref_ms": misfit_ref_ms, "gate_ms": list(gate_ms), "hp_cutoff": hp_cutoff,
              "band": list(band), "detect_options": dict(detect_options or {}), "rpeaks_given": rpeaks is not None}
    names = signal_channels(rec, picks)
    data = rec.raw.get_data()
    rows = rows_of(rec, names)
    res = ecg_step_rows(rec, data, rows, names, method=method, rpeaks=rpeaks, source=source, highpass=highpass,
                        n_template=n_template, pre_ms=pre_ms, post_ms=post_ms, max_lag_ms=max_lag_ms,
                        align_ms=align_ms, subtract_offset=subtract_offset, weighted=weighted,
                        misfit_ratio=misfit_ratio, misfit_ref_ms=misfit_ref_ms, gate_ms=gate_ms,
                        hp_cutoff=hp_cutoff, band=band, detect_options=detect_options, report_index=report_index)
    return new_recording(rec, data, step=provenance("ecg", params, **res))


def _find(rec: Recording, data: np.ndarray, rows: Sequence[int], source: str | Sequence[str],
          band: tuple[float, float], detect_options: dict[str, Any] | None) -> dict[str, Any]:
    """R-peaks, the ECG decision and the channels that carry it (rows of ``data``)."""
    src_names = _source_channels(rec, source)
    src_rows = rows_of(rec, src_names)
    opts = {**dict(detect_options or {}), "band": tuple(band)}
    unknown = set(opts) - set(RPEAK_DEFAULTS)
    if unknown:
        raise ParameterError(f"unknown detect_options {sorted(unknown)}", file=source_of(rec),
                             hint=f"valid ones are {sorted(RPEAK_DEFAULTS)}")
    same = list(src_rows) == list(rows)
    ana = rpeak_analysis(data, rec.sfreq, rows=src_rows, check_rows=None if same else rows, **opts)
    ana["source"] = src_names
    if not same:  # ecg_rows are rows of data already
        ana["ecg_rows"] = [i for i in ana["ecg_rows"] if i in set(rows)]
    return ana


def ecg_step_rows(rec: Recording, data: np.ndarray, rows: Sequence[int], names: Sequence[str], *,
                  method: str = "template", rpeaks: np.ndarray | None = None,
                  source: str | Sequence[str] = "auto", band: tuple[float, float] = ECG_DEFAULTS["band"],
                  detect_options: dict[str, Any] | None = None,
                  report_index: bool = True, **kwargs: Any) -> dict[str, Any]:
    """The ECG step on rows of ``data`` (all channels of ``rec``), in place; returns provenance."""
    fs = rec.sfreq
    file = source_of(rec)
    names = list(names)
    res: dict[str, Any] = {"channels": names}
    if not rows:
        return res
    if rpeaks is None:
        ana = _find(rec, data, rows, source, band, detect_options)
        rpeaks = ana["rpeaks"]
        res["rpeak_source"] = ana["source"]
        for k in ("ecg_present", "reason", "heart_rate_bpm", "regular_share", "rr_change", "uniqueness",
                  "best_share", "n_evidence", "n_inferred"):
            res[k] = ana.get(k)
        res["template_snr"] = dict(zip(names, ana["template_snr"]))
        res["template_share"] = dict(zip(names, ana["template_share"]))
        clean = [i for i in rows if i in set(ana["ecg_rows"])]
        res["inferred"] = [int(r) for r, e in zip(rpeaks, ana["evidence"]) if not e]
        res["unlike"] = [int(r) for r, u in zip(rpeaks, ana["unlike"]) if u]
        if not ana["ecg_present"]:  # beat-like events that are not a heart's are not R-peaks
            res["n_events"] = int(len(rpeaks))
            rpeaks, res["inferred"], res["unlike"] = np.empty(0, np.int64), [], []
    else:
        rpeaks = np.asarray(rpeaks, dtype=np.int64)
        res.update({"rpeak_source": "given", "ecg_present": True, "reason": "R-peaks given"})
        clean = list(rows)
    rpeaks = np.asarray(rpeaks, dtype=np.int64)
    res["rpeaks"] = rpeaks.tolist()
    res["n_beats"] = int(len(rpeaks))
    if len(rpeaks) > 1 and res.get("heart_rate_bpm") is None:
        res["heart_rate_bpm"] = float(60.0 * fs / np.median(np.diff(rpeaks)))
    clean_names = [n for n, i in zip(names, rows) if i in set(clean)]
    res["ecg_channels"] = {n: n in clean_names for n in names}
    if not res["ecg_present"]:
        res["note"] = f"{res['reason']}: signal left untouched"
        return res
    if not clean or len(rpeaks) < 3:
        res["note"] = "ECG found, but no channel carries it above the template SNR threshold: nothing removed"
        return res
    hp = kwargs.pop("highpass", ECG_DEFAULTS["highpass"])
    if method != "hp30" and hp is not None:
        res["highpass"] = filter_rows(data, clean, fs, hp, None, order=4, names=clean_names, file=file)
    if report_index:
        # the index needs >= 20 Hz high-passed data: with highpass=None the data are taken
        # as already filtered; for hp30 a 20 Hz high-passed copy gives the "before" value
        pre = method == "hp30"
        res["ecg_index_before_db"] = dict(zip(clean_names, _index_rows(data, clean, fs, rpeaks, file, pre).tolist()))
    out = ecg_rows(data, clean, fs, rpeaks, method, highpass=None, names=clean_names, file=file, **kwargs)
    if "n_gated" in out:
        out["n_gated"] = dict(zip(clean_names, out["n_gated"]))
        out["gated_samples"] = dict(zip(clean_names, out["gated_samples"]))
    if "mean_abs_lag_samples" in out:
        out["mean_abs_lag_samples"] = dict(zip(clean_names, out["mean_abs_lag_samples"]))
    res.update(out)
    if report_index:
        res["ecg_index_after_db"] = dict(zip(clean_names, _index_rows(data, clean, fs, rpeaks, file, False).tolist()))
    return res


def _index_rows(data: np.ndarray, rows: Sequence[int], fs: float, rpeaks: np.ndarray, file: str | None,
                prefilter: bool) -> np.ndarray:
    args = (fs, rpeaks, ECG_DEFAULTS["index_half_window_ms"], ECG_DEFAULTS["index_exclude_ms"],
            ECG_DEFAULTS["index_floor_db"])
    if not prefilter:  # index straight on the rows (threaded inside)
        return _eci_rows(data, rows, *args)
    out = np.empty(len(rows))
    sos = butter_sos(fs, ECG_DEFAULTS["highpass"], None, 4, file=file)
    pad = min(int(math.ceil(3 * fs / ECG_DEFAULTS["highpass"])), data.shape[-1] - 1)
    for j, i in enumerate(rows):  # one channel at a time: bounded memory
        y = signal.sosfiltfilt(sos, data[i], padlen=pad)[np.newaxis, :]
        out[j] = _eci_rows(y, [0], *args)[0]
    return out
