"""R-peaks from trunk EMG (or an ECG lead), and the decision whether there is an ECG at all.

The heart's QRS complex reaches every trunk electrode at the same instants with a fixed
shape per channel, while the EMG is broadband noise whose level changes tenfold between
phases. The detector uses both facts:

1. **Detection signals.** Each channel is block-averaged to about ``target_fs`` (250 Hz) and
   band-passed ``band`` (10-40 Hz, 2nd-order zero-phase Butterworth), ``y_c``. Its local
   noise variance ``s_c(n)`` is the median of ``y_c**2`` over blocks of ``block_s`` (0.5 s)
   divided by 0.455 (the median of a chi-square with one degree of freedom), so a QRS
   occupying a tenth of a block does not raise it.
2. **Bootstrap.** Peaks (at least ``refractory_ms`` apart) of the locally whitened,
   channel-summed energy ``sum_c y_c**2 / s_c`` integrated over 80 ms; the strongest 15 %
   (at least 5) are aligned by cross-correlation (within ``align_ms``) on their
   multichannel mean and give a first template ``T_c`` per channel (``+-qrs_ms``).
3. **Multichannel matched filter** with local whitening (the generalised likelihood ratio
   for a known shape in Gaussian noise of slowly varying variance; Turin 1960):
   ``z(n) = sum_c (T_c * y_c)(n) / s_c(n) / sqrt(sum_c |T_c|**2 / s_c(n))``, divided by its
   robust standard deviation. A beat of the template's amplitude gives
   ``z_exp(n) = sqrt(sum_c |T_c|**2 / s_c(n))`` (likewise scaled), so every peak also has an
   amplitude estimate ``a = z / z_exp`` (1: a beat like the template).
4. **Selection with the heart's rhythm.** Peaks with ``z >= z_strong`` (5) and
   ``a >= min_amplitude`` (0.3) are beats. In every RR gap longer than 1.5 local RR, the
   expected positions are searched (+-20 % RR) for a peak with ``z >= z_weak`` (2.5) and
   ``a >= min_amplitude``; where there is none and the gap is a whole number of RR
   intervals (+-25 %), the beat is *inferred* at the expected position (marked as such).
5. **Iterative refinement.** The templates are re-learnt from all beats found (weights
   ``1 / s_c``, i.e. quiet beats count most) and steps 3-4 repeated (``n_iter`` = 2).

**Is there an ECG?** (``ecg_present``) The beats are taken for a heart when all hold:
at least ``min_beats`` (5) beats with evidence; heart rate ``60 / median RR`` within
``hr_range`` (35-200 bpm); at least ``min_regular`` (70 %) of the RR intervals within
``rr_tolerance`` (25 %) of the median; a *unique* beat per cycle: at the beats with
``z >= z_strong`` the median of ``z_beat / max z`` between the beats (away from them by a
quarter RR) is at least ``min_uniqueness`` (1.5: a motor unit firing regularly matches
its template at every discharge, a heart only once per cycle); and on at least one channel
the beat-locked template explains at least ``min_share`` (50 %) of the variance of the
signal over the QRS windows of the strong beats. Each channel then carries an ECG when
its template's signal-to-noise ratio ``mean(T_c**2) sum_k 1 / s_c(r_k)`` (1 for noise)
is at least ``channel_snr`` (10). When the recording has an ECG lead (MNE type ``ecg``)
the beats come from it and only the per-channel test uses the EMG.

References
----------
Pan J, Tompkins WJ (1985). A real-time QRS detection algorithm. IEEE Trans Biomed Eng
32(3):230-236 (band-pass, refractory period, search-back over long RR gaps).
Turin GL (1960). An introduction to matched filters. IRE Trans Inf Theory 6(3):311-329.
Christov II (2004). Real time electrocardiogram QRS detection using combined adaptive
threshold. Biomed Eng Online 3:28 (adaptive thresholds with the expected RR).
Clifford GD, Azuaje F, McSharry PE (2006). Advanced Methods and Tools for ECG Data
Analysis. Artech House (physiological heart-rate limits; ectopic beats and RR regularity).
Willigenburg NW, Daffertshofer A, Kingma I, van Dieen JH (2012). Removing ECG
contamination from EMG recordings: a comparison of ICA-based and other filtering
procedures. J Electromyogr Kinesiol 22:485-493 (the ECG is shared by all trunk channels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage, signal

from .filters import as_2d, butter_sos, check_sfreq, run_rows

__all__ = ["rpeak_analysis", "RPEAK_DEFAULTS"]

#: Defaults of the detector and of the ECG decision (each one a keyword parameter).
RPEAK_DEFAULTS: dict[str, Any] = {
    "band": (10.0, 40.0),  # Hz: the QRS's band, below most of the paraspinal EMG power
    "target_fs": 250.0,  # Hz: detection runs on block means
    "block_s": 0.5,  # s: blocks of the local noise variance
    "qrs_ms": 80.0,  # ms: half-width of the matched-filter templates
    "align_ms": 20.0,  # ms: alignment range of the bootstrap beats
    "refractory_ms": 300.0,  # ms: two beats at least this far apart (200 bpm)
    "z_strong": 5.0,  # standardised matched-filter output of a beat found on its own
    "z_weak": 3.0,  # ... of a beat found at its expected position
    "min_amplitude": 0.3,  # a = z / z_exp: a peak much smaller than the template is not a beat
    "n_iter": 2,  # template refinements
    "hr_range": (35.0, 200.0),  # bpm
    "rr_tolerance": 0.25,  # RR within 25 % of the median is "regular"
    "min_regular": 0.7,  # share of regular RR intervals
    "max_rr_change": 0.12,  # median beat-to-beat RR change (sinus rhythm: a few %)
    "distinct_uniqueness": 8.0,  # ... unless the beats are this distinct (e.g. atrial fibrillation)
    "distinct_share": 0.8,
    "min_beats": 5,  # beats with evidence
    "min_uniqueness": 1.5,  # median z_beat / max z between beats
    "min_share": 0.5,  # variance share of the QRS windows explained by the template (best channel)
    "channel_snr": 10.0,  # template SNR for a channel to carry ECG
}


def band_decimated(x: np.ndarray, rows: Sequence[int], fs: float, band: tuple[float, float],
                   target_fs: float) -> tuple[np.ndarray, int]:
    """Rows block-averaged to about ``target_fs`` and band-passed (2nd order, zero phase).

    Block means of ``q = floor(fs / target_fs)`` samples are a boxcar anti-alias filter
    whose nulls sit on the multiples of the new rate; the detection band lies far below
    the new Nyquist. Returns the rows (float32: the detection needs no more) and ``q``.
    """
    q = max(int(fs // target_fs), 1)
    fs_d = fs / q
    sos = butter_sos(fs_d, band[0], min(band[1], 0.45 * fs_d), order=2)
    n_d = x.shape[-1] // q
    pad = min(int(math.ceil(3 * fs_d / band[0])), n_d - 1)
    out = np.empty((len(rows), n_d), dtype=np.float32)
    rows = list(rows)

    def one(j: int) -> None:
        i = rows[j]
        if q > 1:
            d = np.einsum("ij->i", x[i, :n_d * q].reshape(n_d, q))
            d /= q
        else:
            d = x[i]
        out[j] = signal.sosfiltfilt(sos, d, padlen=pad)

    run_rows(one, range(len(rows)), None, x.shape[-1])
    return out, q


def local_variance(y: np.ndarray, block: int, sub: int = 10) -> np.ndarray:
    """Robust local noise variance per sample (up to a constant factor, which cancels in the
    matched filter): the median, within each block, of the mean of ``y**2`` over ``sub``
    sub-blocks (a QRS fills one or two of them), smoothed by a running median over three
    blocks and held within each block."""
    n = y.shape[-1]
    sub = max(min(int(sub), block), 1)
    block = max(block // sub, 1) * sub
    nb = max(n // block, 1)
    head = y[:, :nb * block].reshape(y.shape[0], nb, sub, block // sub).astype(np.float64)
    v = np.median(np.einsum("rbsk,rbsk->rbs", head, head), axis=2) / (block // sub)
    if nb >= 3:
        v = ndimage.median_filter(v, size=(1, 3), mode="nearest")
    floor = np.maximum(np.median(v, axis=1, keepdims=True) * 1e-6, 1e-30)
    v = np.maximum(v, floor).astype(np.float32)
    s = np.empty((y.shape[0], n), dtype=np.float32)
    s[:, :nb * block] = np.repeat(v, block, axis=1)
    s[:, nb * block:] = v[:, -1:]
    return s


def _windows(y: np.ndarray, pos: np.ndarray, half: int) -> np.ndarray:
    """``y[:, pos + m]`` for m in -half..half: array (rows, beats, 2 half + 1)."""
    sv = np.lib.stride_tricks.sliding_window_view(y, 2 * half + 1, axis=1)
    return sv[:, pos - half]


def _templates(y: np.ndarray, s: np.ndarray, pos: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-variance weighted beat-locked mean per row, and the sum of weights (rows x beats)."""
    W = _windows(y, pos, half).astype(np.float64)
    w = 1.0 / s[:, pos].astype(np.float64)
    T = np.einsum("rb,rbm->rm", w, W) / w.sum(axis=1, keepdims=True)
    return T, w.sum(axis=1)


def _align(y: np.ndarray, s: np.ndarray, pos: np.ndarray, half: int, shift: int, n_iter: int = 2) -> np.ndarray:
    """Shift each beat (within +-shift) to maximise its whitened correlation with the mean."""
    n = y.shape[-1]
    pos = pos[(pos - half - shift >= 0) & (pos + half + shift < n)]
    if len(pos) < 2 or shift < 1:
        return pos
    for _ in range(n_iter):
        pos = pos[(pos - half - shift >= 0) & (pos + half + shift < n)]  # a shifted beat may now reach an edge
        if len(pos) < 2:
            return pos
        T, _ = _templates(y, s, pos, half)
        W = _windows(y, pos, half + shift).astype(np.float64) / np.sqrt(s[:, pos])[:, :, None]
        Tw = T / np.sqrt(np.median(s, axis=1))[:, None]
        cc = np.stack([np.einsum("rm,rbm->b", Tw, W[:, :, k:k + 2 * half + 1]) for k in range(2 * shift + 1)], axis=1)
        pos = pos + np.argmax(cc, axis=1) - shift
    return np.unique(pos)


def _matched(y: np.ndarray, s: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whitened multichannel matched filter ``z`` and its expected value for a template-sized
    beat ``z_exp``, both divided by the robust standard deviation of ``z``."""
    num = np.zeros(y.shape[-1])
    den = np.zeros(y.shape[-1])
    for c in range(y.shape[0]):  # a row at a time: temporaries of one row only
        e = float(np.dot(T[c], T[c]))
        if e > 0:
            inv = 1.0 / s[c].astype(np.float64)
            num += np.convolve(y[c].astype(np.float64), T[c][::-1], mode="same") * inv
            den += e * inv
    den = np.sqrt(np.maximum(den, 1e-300))
    z = num / den
    zs = z[::4]  # robust spread from every 4th sample (the output is smooth at this scale)
    s0 = 1.4826 * np.median(np.abs(zs - np.median(zs))) + 1e-300
    return z / s0, den / s0


def whitened_energy(y: np.ndarray, s: np.ndarray, fs_d: float) -> np.ndarray:
    """Channel-summed locally whitened energy ``sum_c y_c**2 / s_c``, integrated over 80 ms,
    standardised by its median and robust spread (large values: a QRS-like burst)."""
    e = np.zeros(y.shape[-1])
    for c in range(y.shape[0]):
        yc = y[c].astype(np.float64)
        e += yc * yc / s[c]
    k = max(int(round(0.08 * fs_d)), 1)
    e = np.convolve(e, np.ones(k) / k, mode="same")
    med = float(np.median(e))
    return (e - med) / (1.4826 * float(np.median(np.abs(e - med))) + 1e-300)


def _bootstrap(y: np.ndarray, s: np.ndarray, e: np.ndarray, fs_d: float, half: int,
               p: dict[str, Any]) -> np.ndarray:
    """Strongest peaks of the whitened energy ``e``, aligned on their multichannel mean."""
    dist = max(int(round(p["refractory_ms"] * fs_d / 1000.0)), 1)
    cand, _ = signal.find_peaks(e, distance=dist)
    if len(cand) < 3:
        return cand.astype(np.int64)
    # the quietest quarter of the recording (mean log local variance over channels), where
    # the QRS stands out most; within it the strongest half of the energy peaks
    lv = np.mean(np.log(s), axis=0)
    quiet = cand[lv[cand] <= np.quantile(lv, 0.25)]
    pool = quiet if len(quiet) >= 10 else cand
    n_top = max(5, int(math.ceil(0.5 * len(pool))))
    top = np.sort(pool[np.argsort(e[pool])[::-1][:n_top]])
    return _align(y, s, top, half, max(int(round(p["align_ms"] * fs_d / 1000.0)), 1))


def _select(z: np.ndarray, zexp: np.ndarray, ze: np.ndarray, fs_d: float,
            p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Beats from the matched-filter output ``z``: strong peaks, then in long RR gaps an
    unlike beat (a premature ectopic beat: a strong peak of the whitened energy ``ze``), or
    at each expected position a weak template-like peak, else a beat inferred from the
    rhythm (at the largest ``z`` near the expected position). Returns positions, an
    evidence mask (False: inferred) and an "unlike the template" mask."""
    dist = max(int(round(p["refractory_ms"] * fs_d / 1000.0)), 1)
    cand, _ = signal.find_peaks(z, distance=dist)
    if not len(cand):
        return cand.astype(np.int64), np.zeros(0, bool), np.zeros(0, bool)
    amp = z[cand] / np.maximum(zexp[cand], 1e-300)
    ok = amp >= p["min_amplitude"]
    beats = cand[ok & (z[cand] >= p["z_strong"])]
    if len(beats) < 3:
        return beats.astype(np.int64), np.ones(len(beats), bool), np.zeros(len(beats), bool)
    weak = cand[ok & (z[cand] >= p["z_weak"])]
    rr = np.diff(beats).astype(np.float64)
    rr_med = float(np.median(rr))
    loc = ndimage.median_filter(rr, size=min(9, len(rr) | 1), mode="nearest")
    found, unlike, inferred = [], [], []
    n = len(z)
    for g in np.flatnonzero(rr > 1.5 * loc):  # a loop over (rare) gaps, not samples
        a, b, r_loc = int(beats[g]), int(beats[g + 1]), float(loc[g])
        m = int(round((b - a) / r_loc)) - 1
        if m < 1:
            continue
        lo, hi = a + dist, b - dist
        if hi > lo and m == 1:  # one beat missing: a premature (ectopic) beat unlike the template?
            k = lo + int(np.argmax(ze[lo:hi]))
            if ze[k] >= p["z_strong"] and not np.any((weak > k - 0.12 * r_loc) & (weak < k + 0.12 * r_loc)):
                unlike.append(k)
                continue
        step = (b - a) / (m + 1)
        regular = abs(step / r_loc - 1.0) <= p["rr_tolerance"]
        for j in range(1, m + 1):
            e = a + j * step
            sel = weak[(weak > e - 0.12 * r_loc) & (weak < e + 0.12 * r_loc)]
            if len(sel):
                found.append(int(sel[np.argmax(z[sel])]))
            elif regular:
                w0, w1 = max(int(e - 0.05 * r_loc), 0), min(int(e + 0.05 * r_loc) + 1, n)
                inferred.append(w0 + int(np.argmax(z[w0:w1])) if w1 > w0 else int(round(e)))
    allb = np.concatenate([beats, np.asarray(found, np.int64), np.asarray(unlike, np.int64),
                           np.asarray(inferred, np.int64)])
    evid = np.concatenate([np.ones(len(beats) + len(found) + len(unlike), bool), np.zeros(len(inferred), bool)])
    odd = np.concatenate([np.zeros(len(beats) + len(found), bool), np.ones(len(unlike), bool),
                          np.zeros(len(inferred), bool)])
    order = np.argsort(allb, kind="stable")
    allb, evid, odd = allb[order], evid[order], odd[order]
    keep = np.concatenate([[True], np.diff(allb) >= min(dist, int(0.5 * rr_med))])
    return allb[keep].astype(np.int64), evid[keep], odd[keep]


def _uniqueness(z: np.ndarray, beats: np.ndarray, strong: np.ndarray) -> float:
    """Median over strong beats of z at the beat over the largest z between it and the next
    beat (a quarter RR away from both)."""
    if len(beats) < 3:
        return float("nan")
    ratios = []
    lo = beats[:-1] + (np.diff(beats) // 4)
    hi = beats[1:] - (np.diff(beats) // 4)
    okk = hi > lo + 1
    if not okk.any():
        return float("nan")
    edges = np.stack([lo[okk], hi[okk]], axis=1).ravel()
    mx = np.maximum.reduceat(z, edges)[::2]
    first = beats[:-1][okk]
    ratios = z[first] / np.maximum(mx, 1e-3)
    sel = np.isin(first, strong)
    return float(np.median(ratios[sel])) if sel.any() else float("nan")


def _share(y: np.ndarray, s: np.ndarray, pos: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: variance share of the QRS windows explained by the leave-one-out template
    (each beat against the weighted mean of the *other* beats, least-squares scaled, so
    noise windows explain nothing of each other), and the template SNR
    ``mean(T**2) * sum_k 1 / s(r_k)`` (1 for noise)."""
    if len(pos) < 3:
        return np.full(y.shape[0], np.nan), np.full(y.shape[0], np.nan)
    W = _windows(y, pos, half).astype(np.float64)
    W = W - W.mean(axis=2, keepdims=True)
    w = 1.0 / s[:, pos].astype(np.float64)
    tot_w = w.sum(axis=1)
    S = np.einsum("rb,rbm->rm", w, W)
    T = S / tot_w[:, None]
    loo = (S[:, None, :] - w[:, :, None] * W) / (tot_w[:, None] - w)[:, :, None]  # rows x beats x m
    tt = np.einsum("rbm,rbm->rb", loo, loo)
    a = np.einsum("rbm,rbm->rb", loo, W) / np.maximum(tt, 1e-300)
    res = W - a[:, :, None] * loo
    # weighted by 1 / s: the quiet beats, where the ECG can be seen, count most
    tot = np.einsum("rb,rbm,rbm->r", w, W, W)
    share = 1.0 - np.einsum("rb,rbm,rbm->r", w, res, res) / np.maximum(tot, 1e-300)
    snr = np.mean(T * T, axis=1) * tot_w
    return share, snr


def rpeak_analysis(data: np.ndarray, sfreq: float, *, rows: Sequence[int] | None = None,
                   check_rows: Sequence[int] | None = None, **params: Any) -> dict[str, Any]:
    """Detect R-peaks on rows of ``data`` and decide whether they are a heart's.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        ECG lead(s) or trunk EMG (any unit).
    sfreq : float
        Sampling rate in Hz.
    rows : sequence of int, optional
        Rows the beats are detected on (default all).
    check_rows : sequence of int, optional
        Rows whose ECG content is assessed per channel (default ``rows``); with an ECG
        lead, the EMG rows.
    **params
        Override :data:`RPEAK_DEFAULTS`.

    Returns
    -------
    dict
        ``rpeaks`` (full-rate sample indices), ``evidence`` (bool per beat: False for beats
        inferred from the rhythm), ``unlike`` (bool per beat: an ectopic beat found by its
        energy, not by the template), ``ecg_present``, ``reason``, ``heart_rate_bpm``,
        ``regular_share``, ``uniqueness``, ``template_share`` and ``template_snr`` (per
        ``check_rows`` row), ``ecg_rows`` (rows of ``check_rows`` that carry an ECG).
    """
    p = {**RPEAK_DEFAULTS, **params}
    x, _ = as_2d(data)
    fs = check_sfreq(sfreq)
    rows = list(range(x.shape[0])) if rows is None else list(rows)
    check = rows if check_rows is None else list(check_rows)
    empty = {"rpeaks": np.empty(0, np.int64), "evidence": np.zeros(0, bool), "unlike": np.zeros(0, bool),
             "ecg_present": False,
             "heart_rate_bpm": None, "regular_share": None, "uniqueness": None,
             "template_share": [float("nan")] * len(check), "template_snr": [float("nan")] * len(check),
             "ecg_rows": []}
    if not rows or x.shape[-1] < int(4 * fs):
        return {**empty, "reason": "recording shorter than 4 s or no channel: no ECG looked for"}
    band = (float(p["band"][0]), min(float(p["band"][1]), 0.45 * fs))
    y, q = band_decimated(x, rows, fs, band, p["target_fs"])
    fs_d = fs / q
    s = local_variance(y, max(int(round(p["block_s"] * fs_d)), 4))
    half = max(int(round(p["qrs_ms"] * fs_d / 1000.0)), 2)
    ze = whitened_energy(y, s, fs_d)
    beats = _bootstrap(y, s, ze, fs_d, half, p)
    evid = np.ones(len(beats), bool)
    z = zexp = None
    for _ in range(max(int(p["n_iter"]), 1)):
        use = beats[evid]
        use = use[(use - half >= 0) & (use + half < y.shape[-1])]
        if len(use) < 3:
            break
        T, _ = _templates(y, s, use, half)
        z, zexp = _matched(y, s, T)
        beats, evid, odd = _select(z, zexp, ze, fs_d, p)
    if z is None or len(beats) < 3:
        return {**empty, "reason": "fewer than 3 beat-like events: no ECG"}
    use = beats[evid]
    use = use[(use - half >= 0) & (use + half < y.shape[-1])]
    T, _ = _templates(y, s, use, half)
    w = np.sum(T * T / np.median(s, axis=1)[:, None], axis=0)
    offset = int(np.argmax(w)) - half  # the template's energy peak: the R wave
    strong = beats[evid & (z[beats] >= p["z_strong"])]
    if check_rows is None:
        yc, sc = y, s
    else:
        yc, _ = band_decimated(x, check, fs, band, p["target_fs"])
        sc = local_variance(yc, max(int(round(p["block_s"] * fs_d)), 4))
    st = strong[(strong - half >= 0) & (strong + half < yc.shape[-1])]
    share, snr = _share(yc, sc, st if len(st) >= 3 else use, half)
    stats = _decide(z, beats, evid, strong, share, fs_d, p)
    stats["template_share"] = share.tolist()
    stats["template_snr"] = snr.tolist()
    stats["ecg_rows"] = [check[j] for j in range(len(check)) if stats["ecg_present"] and snr[j] >= p["channel_snr"]]
    # a beat the template does not resemble where the ECG is clear (an ectopic beat of another
    # shape) is "unlike" as well: its R wave is not where the template's is
    # (where a normal beat would stand out clearly, it matches the template at less than
    # 60 % of the template's amplitude; normal beats there match at 80-100 %)
    amp = z[beats] / np.maximum(zexp[beats], 1e-300)
    odd |= evid & (zexp[beats] >= 2 * p["z_strong"]) & (amp < 0.6)
    # unlike beats: the R wave is the peak of the instantaneous whitened energy (within 40 ms)
    pos = beats + offset
    w40 = max(int(round(0.04 * fs_d)), 1)
    for j in np.flatnonzero(odd):  # a loop over the few ectopic beats
        a0, a1 = max(beats[j] - w40, 0), min(beats[j] + w40 + 1, y.shape[-1])
        pos[j] = a0 + int(np.argmax(np.einsum("rn,rn->n", y[:, a0:a1], y[:, a0:a1] / s[:, a0:a1])))
    r_full = np.clip(pos * q + (q - 1) // 2, 0, x.shape[-1] - 1).astype(np.int64)
    order = np.argsort(r_full, kind="stable")
    return {**stats, "rpeaks": r_full[order], "evidence": evid[order], "unlike": odd[order]}


def _decide(z: np.ndarray, beats: np.ndarray, evid: np.ndarray, strong: np.ndarray, share: np.ndarray,
            fs_d: float, p: dict[str, Any]) -> dict[str, Any]:
    """Heart rate, rhythm, uniqueness and template share, and the verdict with its reason."""
    rr = np.diff(beats) / fs_d
    med = float(np.median(rr))
    hr = 60.0 / med if med > 0 else float("nan")
    regular = float(np.mean(np.abs(rr / med - 1.0) <= p["rr_tolerance"])) if len(rr) else 0.0
    uniq = _uniqueness(z, beats, strong)
    n_ev = int(evid.sum())
    # beat-to-beat change of RR, between evidence beats that follow each other
    rr_ev = rr[evid[:-1] & evid[1:]]
    change = float(np.median(np.abs(np.diff(rr_ev)) / rr_ev[:-1])) if len(rr_ev) >= 3 else float("nan")
    best = float(np.nanmax(share)) if np.isfinite(share).any() else float("nan")
    out = {"heart_rate_bpm": hr, "regular_share": regular, "rr_change": change, "uniqueness": uniq,
           "best_share": best, "n_evidence": n_ev, "n_inferred": int((~evid).sum())}
    lo, hi = p["hr_range"]
    rhythm = regular >= p["min_regular"] and np.isfinite(change) and change <= p["max_rr_change"]
    distinct = np.isfinite(uniq) and uniq >= p["distinct_uniqueness"] and best >= p["distinct_share"]
    if n_ev < p["min_beats"]:
        reason = f"no ECG found: only {n_ev} beats with evidence (needs {p['min_beats']})"
    elif not lo <= hr <= hi:
        reason = f"no ECG found: the beat-like events recur at {hr:.0f} per minute, outside {lo:g}-{hi:g} bpm"
    elif not (rhythm or distinct):
        reason = (f"no ECG found: the intervals are not a heart's rhythm ({100 * regular:.0f} % within "
                  f"{100 * p['rr_tolerance']:.0f} % of the median, needs {100 * p['min_regular']:.0f} %; "
                  f"median beat-to-beat change {100 * np.nan_to_num(change, nan=1.0):.0f} %, at most "
                  f"{100 * p['max_rr_change']:.0f} %)")
    elif not (np.isfinite(uniq) and uniq >= p["min_uniqueness"]):
        reason = (f"no ECG found: the template matches between the beats almost as well as at them "
                  f"(uniqueness {uniq:.2f} < {p['min_uniqueness']:g})")
    elif not (np.isfinite(best) and best >= p["min_share"]):
        reason = (f"no ECG found: the beat-locked template explains at most {100 * np.nan_to_num(best):.0f} % "
                  f"of the QRS-window variance (needs {100 * p['min_share']:.0f} %)")
    else:
        reason = None
    out["ecg_present"] = reason is None
    out["reason"] = reason if reason else f"ECG found: {n_ev} beats at {hr:.0f} bpm"
    return out
