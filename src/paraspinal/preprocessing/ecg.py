"""ECG contamination of trunk EMG: R-peak detection, removal and a residual-ECG index.

R-peak detection (:func:`detect_rpeaks_array`)
    A Pan & Tompkins (1985)-style detector, written for multichannel trunk EMG:
    (1) zero-phase band-pass ``band`` (default 10-40 Hz: the QRS has most of its energy
    there while paraspinal EMG peaks at 50-100 Hz, and it still works after the 20 Hz
    high-pass of the default chain), (2) central-difference derivative, (3) squaring,
    (4) each channel divided by its median (robust per-channel scaling, so a channel
    with strong ECG counts as much as its contrast, not its amplitude) and the channels
    averaged, (5) moving-window integration over ``integration_ms`` (150 ms, centred),
    (6) candidate peaks at least ``refractory_ms`` apart (250 ms), accepted when above an
    adaptive threshold ``N + fraction * (S - N)`` where, in blocks of ``block_s`` seconds,
    ``S`` is the mean of the largest candidates (as many as beats at 40 bpm) and ``N`` the
    block median of the integrated signal, both smoothed by a running median over five
    blocks (Pan & Tompkins' SPKI/NPKI with ``fraction = 0.25``-``0.3``), (7) a search-back
    for RR gaps longer than 1.66 x the running median RR with half the threshold (as in
    Pan & Tompkins), and (8) each beat's fiducial moved to the maximum of the short-time
    QRS energy near the integrated peak. When the recording has an ECG lead (type
    ``ecg``), it is used instead of the EMG channels.

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
    ``a * template`` is subtracted (``b`` too if ``subtract_offset``), only between the
    midpoints of the neighbouring RR intervals so successive beats never overlap.
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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage, signal

from ..errors import ChannelError, ParameterError
from ..recording import Recording
from .filters import (
    run_rows,
    sum_rows,
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

__all__ = [
    "detect_rpeaks",
    "detect_rpeaks_array",
    "remove_ecg",
    "remove_ecg_array",
    "ecg_index",
    "ecg_index_array",
    "ECG_DEFAULTS",
]

#: Defaults (each one is a keyword parameter).
ECG_DEFAULTS: dict[str, Any] = {
    "band": (10.0, 40.0),  # Hz, detection band
    "integration_ms": 150.0,  # Pan & Tompkins moving-window integration
    "refractory_ms": 250.0,  # no two beats closer (240 bpm)
    "fraction": 0.3,  # threshold position between noise and signal level
    "block_s": 4.0,  # adaptive-level block length
    "confidence": 4.0,  # first-stage beat energy / block median for a "confident" beat
    "min_confident": 8,
    "match_fraction": 0.4,  # matched-filter acceptance, fraction of a typical beat
    "qrs_ms": 60.0,  # half-width of the matched-filter template
    "target_fs": 250.0,  # Hz, detection runs on decimated band-passed signals
    "max_shift_ms": 80.0,  # re-alignment range of beats on the mean QRS
    "min_corr": 0.8,  # beats less correlated with the mean QRS are dropped
    "highpass": 20.0,  # Hz, before template subtraction (METHODS.md §5)
    "n_template": 40,  # beats in the running template (Petersen et al. 2020)
    "pre_ms": 250.0,  # template window before the R-peak
    "post_ms": 400.0,  # template window after the R-peak
    "max_lag_ms": 5.0,  # alignment search range
    "align_ms": 60.0,  # half-width of the QRS part used for alignment
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


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean over ``n`` samples (edges: mean of the available samples).

    Cumulative sums read through slices (no index arrays).
    """
    n = max(int(n), 1)
    m = len(x)
    c = np.empty(m + 1)
    c[0] = 0.0
    np.cumsum(x, dtype=np.float64, out=c[1:])
    a, b = n // 2, n - 1 - n // 2
    if n > m:
        idx = np.arange(m)
        lo, hi = np.maximum(idx - a, 0), np.minimum(idx + b + 1, m)
        return (c[hi] - c[lo]) / (hi - lo)
    out = np.empty(m)
    np.subtract(c[n:], c[:-n], out=out[a:m - b])
    out[a:m - b] /= n
    out[:a] = c[b + 1:b + 1 + a] / np.arange(b + 1, b + 1 + a)
    if b:
        out[m - b:] = (c[m] - c[m - b - a:m - a]) / np.arange(a + b, a, -1)
    return out


# ---------------------------------------------------------------------------- detection

def _band_decimated(x: np.ndarray, rows: Sequence[int], fs: float, band: tuple[float, float],
                    target_fs: float) -> tuple[np.ndarray, int]:
    """Rows decimated to about ``target_fs`` and band-passed (2nd-order Butterworth, zero phase).

    Decimation averages blocks of ``q`` samples (a boxcar anti-alias filter whose nulls sit
    on the multiples of the new sampling rate) before filtering at the low rate: the
    detection band (10-40 Hz) is far below the new Nyquist, so this costs little accuracy
    and a quarter of the work of filtering at the full rate.
    """
    q = max(int(fs // target_fs), 1)
    fs_d = fs / q
    sos = butter_sos(fs_d, band[0], min(band[1], 0.45 * fs_d), order=2)
    n_d = x.shape[-1] // q
    pad = min(int(math.ceil(3 * fs_d / band[0])), n_d - 1)
    out = np.empty((len(rows), n_d), dtype=np.float32)
    rows = list(rows)

    def one(j: int) -> None:  # one row per task: bounded memory
        i = rows[j]
        if q > 1:  # block means (einsum's summation loop is the fastest here)
            d = np.einsum("ij->i", x[i, :n_d * q].reshape(n_d, q))
            d /= q
        else:
            d = x[i]
        out[j] = signal.sosfiltfilt(sos, d, padlen=pad)

    run_rows(one, range(len(rows)), None, x.shape[-1])
    return out, q


def _energy(y: np.ndarray) -> np.ndarray:
    """Mean over rows of the median-scaled squared derivative (Pan & Tompkins steps 2-4)."""
    def one(j: int) -> np.ndarray | None:
        d = np.gradient(y[j].astype(np.float64))
        d *= d
        med = np.median(d)
        if not np.isfinite(med) or med <= 0:
            med = np.mean(d)
        if med > 0:
            d /= med
            return d
        return None

    acc, used = sum_rows(one, range(y.shape[0]), y.shape[-1], None, y.shape[-1])
    return acc / max(used, 1)


def _matched(y: np.ndarray, beats: np.ndarray, half: int) -> np.ndarray:
    """Sum over rows of the normalised matched-filter output (squared) for the mean beat."""
    n = y.shape[-1]
    beats = beats[(beats - half >= 0) & (beats + half < n)]
    idx = beats[:, None] + np.arange(-half, half + 1)[None, :]
    def one(j: int) -> np.ndarray | None:
        r64 = y[j].astype(np.float64)
        tpl = r64[idx].mean(axis=0)
        tpl -= tpl.mean()
        nrm = np.sqrt(np.sum(tpl * tpl))
        if nrm <= 0:
            return None
        sigma = 1.4826 * np.median(np.abs(r64)) + 1e-300  # robust scale of the row
        return np.convolve(r64, tpl[::-1] / (nrm * sigma), mode="same")  # short kernel: direct

    acc, _ = sum_rows(one, range(y.shape[0]), n, None, n)
    return acc * acc


def _rpeaks_from_energy(e: np.ndarray, fs: float, integration_ms: float, refractory_ms: float,
                        fraction: float, block_s: float) -> tuple[np.ndarray, np.ndarray]:
    """First stage: integrated energy, adaptive block threshold, search-back, fiducials.

    Returns the beats and their confidence (integrated energy / block median).
    """
    n = len(e)
    mwi = _moving_mean(e, round(integration_ms * fs / 1000.0))
    dist = max(int(round(refractory_ms * fs / 1000.0)), 1)
    cand, _ = signal.find_peaks(mwi, distance=dist)
    if len(cand) == 0:
        return cand.astype(np.int64), np.empty(0)
    h = mwi[cand]
    blk = max(int(round(block_s * fs)), 1)
    n_blk = int(math.ceil(n / blk))
    b_of = cand // blk
    k = max(1, int(math.floor(block_s * 40.0 / 60.0)))  # beats at 40 bpm in a block
    order = np.lexsort((-h, b_of))
    hb, bb = h[order], b_of[order]
    first = np.searchsorted(bb, np.arange(n_blk))
    rank = np.arange(len(hb)) - first[bb]
    top = rank < k
    s_sum = np.bincount(bb[top], weights=hb[top], minlength=n_blk)
    s_cnt = np.bincount(bb[top], minlength=n_blk)
    with np.errstate(invalid="ignore", divide="ignore"):
        S = s_sum / s_cnt
    pad_len = n_blk * blk - n
    mw = np.concatenate([mwi, np.full(pad_len, np.nan)]) if pad_len else mwi
    N = np.nanmedian(mw.reshape(n_blk, blk), axis=1)
    S = np.where(np.isfinite(S), S, N)
    if n_blk >= 3:
        S = ndimage.median_filter(S, size=min(5, n_blk | 1), mode="nearest")
        N = ndimage.median_filter(N, size=min(5, n_blk | 1), mode="nearest")
    thr = N + fraction * (S - N)
    t = thr[b_of]
    beats = cand[h > t]
    # search-back: fill RR gaps longer than 1.66 x the running median RR
    if len(beats) >= 4:
        rr = np.diff(beats)
        med = ndimage.median_filter(rr.astype(float), size=min(9, len(rr) | 1), mode="nearest")
        gaps = np.flatnonzero(rr > 1.66 * med)
        extra = []
        for g in gaps:  # loop over (rare) gaps, not samples
            lo, hi = beats[g] + dist, beats[g + 1] - dist
            sel = (cand > lo) & (cand < hi) & (h > 0.5 * t)
            if sel.any():
                extra.append(cand[sel][np.argmax(h[sel])])
        if extra:
            beats = np.union1d(beats, np.asarray(extra))
    if len(beats) == 0:
        return beats.astype(np.int64), np.empty(0)
    conf = mwi[beats] / np.maximum(N[np.minimum(beats // blk, n_blk - 1)], 1e-300)
    # fiducial: maximum of short-time QRS energy near the integrated peak
    half = max(int(round(integration_ms * fs / 2000.0)), 1)
    short = _moving_mean(e, max(int(round(0.01 * fs)), 1))
    offs = np.arange(-half, half + 1)
    idx = np.clip(beats[:, None] + offs[None, :], 0, n - 1)
    fid = idx[np.arange(len(beats)), np.argmax(short[idx], axis=1)]
    fid, first_idx = np.unique(fid, return_index=True)
    conf = conf[first_idx]
    if len(fid) > 1:  # re-impose the refractory period after moving fiducials
        keep = np.concatenate([[True], np.diff(fid) >= dist])
        fid, conf = fid[keep], conf[keep]
    return fid.astype(np.int64), conf


def _refine(y: np.ndarray, beats: np.ndarray, half: int, max_shift: int, min_corr: float,
            n_iter: int = 2) -> np.ndarray:
    """Align beats to their mean multichannel waveform; drop beats that do not resemble it.

    For each beat the shift within ``+/- max_shift`` that maximises the normalised
    correlation (summed over rows) with the mean beat is applied; the mean is recomputed
    and the process repeated ``n_iter`` times. Beats whose final correlation is below
    ``min_corr`` are dropped. Only the beats' windows (``+/- (half + max_shift)``) are
    read, into a samples x beats array per row; the correlations at all shifts are dot
    products of its contiguous blocks with the template and the window energies come from
    cumulative sums, so the cost is O(rows x beats x window), not O(rows x samples). Rows
    run on up to two threads.
    """
    n = y.shape[-1]
    beats = beats[(beats - half - max_shift >= 0) & (beats + half + max_shift < n)]
    if len(beats) < 3:
        return beats
    L = 2 * half + 1
    S = 2 * max_shift + 1
    shift = np.zeros(len(beats), dtype=np.int64)
    best = np.zeros(len(beats))
    for _ in range(n_iter):
        pos = beats + shift
        parts: list[tuple[np.ndarray, np.ndarray, float] | None] = [None] * y.shape[0]

        def one(j: int) -> None:
            sv = np.lib.stride_tricks.sliding_window_view(y[j], L + S - 1)
            Wn = np.ascontiguousarray(sv[beats - max_shift - half].T, dtype=np.float64)  # (L + S - 1) x beats
            sl = np.lib.stride_tricks.sliding_window_view(y[j], L)
            tpl = sl[pos - half].astype(np.float64).mean(axis=0)
            tpl -= tpl.mean()
            num = np.empty((S, len(beats)))
            for k in range(S):  # einsum (OpenBLAS gemv is slower on these shapes)
                num[k] = np.einsum("j,jb->b", tpl, Wn[k:k + L])
            c1 = np.zeros((L + S, len(beats)))
            c2 = np.zeros_like(c1)
            _cumsum_rows(Wn, c1[1:])
            _cumsum_rows(Wn * Wn, c2[1:])
            s1 = c1[L:L + S] - c1[:S]
            den = np.maximum(c2[L:L + S] - c2[:S] - s1 * s1 / L, 0.0)
            parts[j] = (num.T, den.T, float(np.sum(tpl * tpl)))

        run_rows(one, range(y.shape[0]), None, n)
        num = sum(p[0] for p in parts)
        den = sum(p[1] for p in parts)
        t_energy = sum(p[2] for p in parts)
        cc = num / (np.sqrt(den * t_energy) + 1e-300)
        k = np.argmax(cc, axis=1)
        best = cc[np.arange(len(beats)), k]
        shift = k - max_shift
    out = (beats + shift)[best >= min_corr]
    return np.unique(out)


def detect_rpeaks_array(data: np.ndarray, sfreq: float, *,
                        band: tuple[float, float] = ECG_DEFAULTS["band"],
                        integration_ms: float = ECG_DEFAULTS["integration_ms"],
                        refractory_ms: float = ECG_DEFAULTS["refractory_ms"],
                        fraction: float = ECG_DEFAULTS["fraction"],
                        block_s: float = ECG_DEFAULTS["block_s"],
                        confidence: float = ECG_DEFAULTS["confidence"],
                        min_confident: int = ECG_DEFAULTS["min_confident"],
                        match_fraction: float = ECG_DEFAULTS["match_fraction"],
                        qrs_ms: float = ECG_DEFAULTS["qrs_ms"],
                        target_fs: float = ECG_DEFAULTS["target_fs"],
                        max_shift_ms: float = ECG_DEFAULTS["max_shift_ms"],
                        min_corr: float = ECG_DEFAULTS["min_corr"],
                        rows: Sequence[int] | None = None) -> np.ndarray:
    """Detect R-peaks from one ECG lead or from several ECG-contaminated EMG channels.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        ECG lead(s) or trunk EMG channels (any unit).
    sfreq : float
        Sampling rate in Hz.
    band : (float, float)
        Detection band-pass in Hz (default 10-40 Hz).
    integration_ms : float
        Moving-window integration length, ms (default 150, Pan & Tompkins 1985).
    refractory_ms : float
        Minimum RR interval, ms (default 250).
    fraction : float
        Threshold position between the noise and the signal level (default 0.3).
    block_s : float
        Block length for the adaptive levels, s (default 4).
    confidence : float
        A first-stage beat is "confident" when its integrated energy exceeds this many
        times its block's median (default 4).
    min_confident : int
        Confident beats needed for the matched-filter stage (default 8); with fewer, the
        first-stage beats are returned.
    match_fraction : float
        Matched-filter stage: a peak is a beat when its output reaches this fraction of
        the median output at the confident beats (default 0.4).
    qrs_ms : float
        Half-width of the matched-filter beat template, ms (default 60).
    target_fs : float
        The band-passed signals are decimated to about this rate for detection (Hz,
        default 250: block means of 8 samples at 2 kHz; the 10-40 Hz band is far below its
        Nyquist, and the fiducial is refined to the full rate by the template alignment).
    max_shift_ms : float
        Beats are re-aligned on the mean multichannel QRS within this range, ms (80).
    min_corr : float
        Beats whose correlation with the mean QRS is below this are dropped (0.8).
    rows : sequence of int, optional
        Rows of ``data`` to combine (default all).

    Returns
    -------
    ndarray of int
        R-peak sample indices, increasing.

    References
    ----------
    Pan J, Tompkins WJ (1985). IEEE Trans Biomed Eng 32(3):230-236.
    """
    x, _ = as_2d(data)
    fs = check_sfreq(sfreq)
    rows = list(range(x.shape[0])) if rows is None else list(rows)
    if not rows or x.shape[-1] < int(2 * fs):
        return np.empty(0, dtype=np.int64)
    band = (float(band[0]), min(float(band[1]), 0.45 * fs))
    y, q = _band_decimated(x, rows, fs, band, target_fs)
    fs_d = fs / q
    e = _energy(y)
    beats, conf = _rpeaks_from_energy(e, fs_d, integration_ms, refractory_ms, fraction, block_s)
    confident = beats[conf >= confidence]
    if len(confident) >= min_confident:
        # stage 2: matched filter with the mean beat of the confident beats (all rows)
        half = max(int(round(qrs_ms * fs_d / 1000.0)), 1)
        mf = _matched(y, confident, half)
        dist = max(int(round(refractory_ms * fs_d / 1000.0)), 1)
        cand, _ = signal.find_peaks(mf, distance=dist)
        ref = np.median(mf[confident[(confident >= 0) & (confident < len(mf))]])
        if len(cand) and ref > 0:
            # the matched-filter peak of a beat is near its confident fiducial; keep those
            # reaching `match_fraction` of the typical beat's squared output
            beats = cand[mf[cand] >= match_fraction ** 2 * ref]
    # stage 3: align every beat on the mean multichannel QRS, drop those unlike it
    half = max(int(round(qrs_ms * fs_d / 1000.0)), 1)
    beats = _refine(y, beats, half, max(int(round(max_shift_ms * fs_d / 1000.0)), 1), min_corr)
    if len(beats) > 1:
        dist = max(int(round(refractory_ms * fs_d / 1000.0)), 1)
        beats = beats[np.concatenate([[True], np.diff(beats) >= dist])]
    # block means are centred (q - 1) / 2 samples after the block start
    return (beats.astype(np.int64) * q + (q - 1) // 2).astype(np.int64)


def detect_rpeaks(rec: Recording, *, source: str | Sequence[str] = "auto", **kwargs: Any) -> np.ndarray:
    """R-peaks of a Recording (sample indices).

    Parameters
    ----------
    rec : Recording
    source : "auto", "ecg", "emg" or list of channel names
        ``"auto"``: the ECG lead(s) when the recording has any, else all EMG channels.
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
    return detect_rpeaks_array(data, rec.sfreq, **kwargs)


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

    def one(j: int) -> None:
        xi = x[rows[j]]
        # --- alignment on the row's weighted mean QRS (all beats and lags at once)
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
            T *= a[:, None]
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

    run_rows(one, range(len(rows)), workers, n)
    return {"n_beats_used": int(b), "mean_abs_lag_samples": lags_used}


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
             gate_ms: tuple[float, float] = ECG_DEFAULTS["gate_ms"],
             hp_cutoff: float = ECG_DEFAULTS["hp_cutoff"], names: Sequence[str] | None = None,
             file: str | None = None) -> dict[str, Any]:
    """Remove ECG from rows of ``x`` in place; returns the provenance result."""
    fs = check_sfreq(sfreq, file)
    if method not in ("template", "hp30", "gating"):
        raise ParameterError(f"unknown ECG removal method {method!r}", file=file,
                             hint="use 'template' (default), 'hp30' or 'gating'")
    if n_template < 2:
        raise ParameterError(f"n_template must be at least 2, got {n_template}", file=file)
    res: dict[str, Any] = {"method": method}
    if method == "hp30":
        res.update(filter_rows(x, rows, fs, hp_cutoff, None, order=4, names=names, file=file))
        return res
    if highpass is not None:
        res["highpass"] = filter_rows(x, rows, fs, highpass, None, order=4, names=names, file=file)
    if method == "template":
        res.update(_template_rows(x, rows, fs, rpeaks, n_template=n_template, pre_ms=pre_ms, post_ms=post_ms,
                                  max_lag_ms=max_lag_ms, align_ms=align_ms, subtract_offset=subtract_offset,
                                  weighted=weighted))
    else:
        res.update(_gate_rows(x, rows, fs, rpeaks, gate_ms))
    return res


def remove_ecg_array(data: np.ndarray, sfreq: float, rpeaks: np.ndarray | None = None,
                     method: str = "template", *, out: np.ndarray | None = None,
                     **kwargs: Any) -> np.ndarray:
    """Remove ECG contamination from EMG channels (array form).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        EMG (any unit).
    sfreq : float
        Sampling rate in Hz.
    rpeaks : ndarray of int, optional
        R-peak sample indices; detected from ``data`` itself when omitted (not needed
        for ``"hp30"``).
    method : {"template", "hp30", "gating"}
        Template subtraction (default), 4th-order Butterworth 30 Hz high-pass (Drake &
        Callaghan 2006) or gating with linear interpolation.
    out : ndarray, optional
        Output array (may be ``data``).
    **kwargs
        ``highpass`` (Hz, 20; None to skip, for already filtered data), ``n_template``
        (40), ``pre_ms`` (250), ``post_ms`` (400), ``max_lag_ms`` (5), ``align_ms`` (60),
        ``subtract_offset`` (False), ``gate_ms`` ((50, 50)), ``hp_cutoff`` (30).

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
    if rpeaks is None and method != "hp30":
        rpeaks = detect_rpeaks_array(y, fs)
    ecg_rows(y, range(y.shape[0]), fs, np.asarray(rpeaks if rpeaks is not None else [], dtype=np.int64),
             method, **kwargs)
    return y[0] if was_1d else y


def remove_ecg(rec: Recording, method: str = "template", *, rpeaks: np.ndarray | None = None,
               source: str | Sequence[str] = "auto", picks: str | Iterable[str] | None = None,
               highpass: float | None = ECG_DEFAULTS["highpass"], n_template: int = ECG_DEFAULTS["n_template"],
               pre_ms: float = ECG_DEFAULTS["pre_ms"], post_ms: float = ECG_DEFAULTS["post_ms"],
               max_lag_ms: float = ECG_DEFAULTS["max_lag_ms"], align_ms: float = ECG_DEFAULTS["align_ms"],
               subtract_offset: bool = False, weighted: bool = True,
               gate_ms: tuple[float, float] = ECG_DEFAULTS["gate_ms"],
               hp_cutoff: float = ECG_DEFAULTS["hp_cutoff"], band: tuple[float, float] = ECG_DEFAULTS["band"],
               report_index: bool = True) -> Recording:
    """Remove ECG contamination from a Recording's trunk EMG channels.

    Parameters
    ----------
    rec : Recording
        Input (not modified).
    method : {"template", "hp30", "gating"}
        Template subtraction after a 20 Hz high-pass (default; METHODS.md §5), 4th-order
        Butterworth 30 Hz high-pass (Drake & Callaghan 2006), or gating of +/- ``gate_ms``
        around each R-peak filled by linear interpolation.
    rpeaks : ndarray of int, optional
        R-peak sample indices; detected with :func:`detect_rpeaks` (ECG lead if any, else
        the EMG channels combined) when omitted.
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
        Template window around the R-peak, ms (default 250 and 400; each beat only
        subtracts between the midpoints of its RR intervals).
    max_lag_ms : float
        Cross-correlation alignment range, ms (default 5).
    align_ms : float
        Half-width of the QRS part used for alignment, ms (default 60).
    subtract_offset : bool
        Also subtract the least-squares offset ``b`` (default False: after a high-pass the
        offset is EMG, not ECG; it is still fitted so that it does not bias ``a``).
    weighted : bool
        Weight the beats of the running template by the inverse of their EMG power
        outside the QRS (default True), so beats during strong contractions do not add
        their EMG to the template of a quiet phase; False gives the plain mean.
    gate_ms : (float, float)
        Gate before/after the R-peak, ms (default 50, 50).
    hp_cutoff : float
        Cut-off of ``"hp30"``, Hz (default 30).
    band : (float, float)
        R-peak detection band, Hz.
    report_index : bool
        Compute the residual-ECG index before and after (default True).

    Returns
    -------
    Recording
        New Recording; the ``"ecg"`` provenance record holds the method, the number of
        beats, the heart rate, the R-peak source and ``ecg_index_before_db`` /
        ``ecg_index_after_db`` per channel.

    References
    ----------
    Pan J, Tompkins WJ (1985). IEEE Trans Biomed Eng 32:230-236.
    Drake JDM, Callaghan JP (2006). J Electromyogr Kinesiol 16:175-187.
    Petersen E, Sauer J, Grasshoff J, Rostalski P (2020). IEEE Access 8:30905-30917.
    """
    params = {"method": method, "source": source, "picks": picks, "highpass": highpass, "n_template": n_template,
              "pre_ms": pre_ms, "post_ms": post_ms, "max_lag_ms": max_lag_ms, "align_ms": align_ms,
              "subtract_offset": subtract_offset, "weighted": weighted, "gate_ms": list(gate_ms), "hp_cutoff": hp_cutoff,
              "band": list(band), "rpeaks_given": rpeaks is not None}
    names = signal_channels(rec, picks)
    data = rec.raw.get_data()
    rows = rows_of(rec, names)
    res = ecg_step_rows(rec, data, rows, names, method=method, rpeaks=rpeaks, source=source, highpass=highpass,
                        n_template=n_template, pre_ms=pre_ms, post_ms=post_ms, max_lag_ms=max_lag_ms,
                        align_ms=align_ms, subtract_offset=subtract_offset, weighted=weighted, gate_ms=gate_ms,
                        hp_cutoff=hp_cutoff, band=band, report_index=report_index)
    return new_recording(rec, data, step=provenance("ecg", params, **res))


def ecg_step_rows(rec: Recording, data: np.ndarray, rows: Sequence[int], names: Sequence[str], *,
                  method: str = "template", rpeaks: np.ndarray | None = None,
                  source: str | Sequence[str] = "auto", band: tuple[float, float] = ECG_DEFAULTS["band"],
                  report_index: bool = True, **kwargs: Any) -> dict[str, Any]:
    """The ECG step on rows of ``data`` (all channels of ``rec``), in place; returns provenance."""
    fs = rec.sfreq
    file = source_of(rec)
    res: dict[str, Any] = {"channels": list(names)}
    if not rows:
        return res
    need_peaks = method != "hp30" or report_index
    src_names: list[str] = []
    if rpeaks is None and need_peaks:
        src_names = _source_channels(rec, source)
        rpeaks = detect_rpeaks_array(data, fs, band=band, rows=rows_of(rec, src_names))
    rpeaks = np.asarray(rpeaks if rpeaks is not None else [], dtype=np.int64)
    res["rpeak_source"] = src_names if src_names else "given"
    res["n_beats"] = int(len(rpeaks))
    if len(rpeaks) > 1:
        res["heart_rate_bpm"] = float(60.0 * fs / np.median(np.diff(rpeaks)))
    if method != "hp30" and len(rpeaks) < 3:
        res["note"] = "fewer than 3 R-peaks found: no ECG removed"
        return res
    hp = kwargs.pop("highpass", ECG_DEFAULTS["highpass"])
    if method != "hp30" and hp is not None:
        res["highpass"] = filter_rows(data, rows, fs, hp, None, order=4, names=names, file=file)
    if report_index:
        # the index needs >= 20 Hz high-passed data: with highpass=None the data are taken
        # as already filtered; for hp30 a 20 Hz high-passed copy gives the "before" value
        pre = method == "hp30"
        res["ecg_index_before_db"] = dict(zip(names, _index_rows(data, rows, fs, rpeaks, file, pre).tolist()))
    res.update(ecg_rows(data, rows, fs, rpeaks, method, highpass=None, names=names, file=file, **kwargs))
    if report_index:
        res["ecg_index_after_db"] = dict(zip(names, _index_rows(data, rows, fs, rpeaks, file, False).tolist()))
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
