"""Spectral and fatigue features: Welch PSD, MNF, MDF, spectral moments, FInsm5, MDF slope.

Definitions (METHODS.md §7), with ``P(f)`` a Welch power spectral density and the band
``[f1, f2]`` (default 20-450 Hz, cut at Nyquist):

* spectral moment ``M_k = sum_{f in band} f**k P(f) df`` (rectangle rule on the Welch bins);
* mean frequency ``MNF = M_1 / M_0`` (Hz);
* median frequency ``MDF``: the frequency below which lies half the band power. Each Welch
  bin ``i`` holds the power ``P_i df`` spread evenly over ``[f_i - df/2, f_i + df/2]`` (its
  *edges*, cut at the band limits); the cumulative power is taken at the bin edges and
  interpolated linearly inside the bin that crosses one half. Interpolating the cumulative
  sum at the bin *centres* instead biases MDF low by half a bin;
* ``FInsm5 = M_-1 / M_5`` (Hz^-6 times the PSD normalisation; Dimitrov et al. 2006), a
  fatigue index that increases as the spectrum compresses towards low frequencies;
* fatigue slope: least-squares line through the MDF of successive windows (default 1 s)
  of a sustained contraction, in Hz/s, with its 95 % confidence interval (Student t with
  ``n - 2`` degrees of freedom); normalised slope = slope / initial MDF x 100 in %/s, the
  initial MDF being the regression's intercept at the start of the hold (Coorevits et al.
  2008; Roy et al. 1989).

References
----------
Welch PD (1967). The use of fast Fourier transform for the estimation of power spectra.
IEEE Trans Audio Electroacoust 15:70-73.
Stulen FB, De Luca CJ (1981). IEEE Trans Biomed Eng 28:515-523.
Roy SH, De Luca CJ, Casavant DA (1989). Lumbar muscle fatigue and chronic lower back pain.
Spine 14:992-1001.
Dimitrov GV, Arabadzhiev TI, Mileva KN, Bowtell JL, Crichton N, Dimitrova NA (2006).
Muscle fatigue during dynamic contractions assessed by new spectral indices. Med Sci Sports
Exerc 38:1971-1979.
Coorevits P, Danneels L, Cambier D, Ramon H, Vanderstraeten G (2008). Assessment of the
validity of the Biering-Sorensen test for measuring back muscle fatigue based on EMG median
frequency characteristics of back and hip muscles. J Electromyogr Kinesiol 18:997-1005.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal as _sig
from scipy import stats as _stats

from ..errors import ParameterError

__all__ = [
    "SPECTRAL_DEFAULTS", "welch_psd", "band_mask", "spectral_moment", "mean_frequency", "median_frequency",
    "finsm5", "spectral_features_array", "mdf_series", "fatigue_slope",
]

#: Defaults (each one is a keyword parameter of the functions below).
SPECTRAL_DEFAULTS: dict[str, Any] = {"band": (20.0, 450.0), "nperseg_s": 0.5, "window_s": 1.0}


def _nperseg(sfreq: float, nperseg: int | None, nperseg_s: float) -> int:
    n = int(nperseg) if nperseg is not None else int(round(nperseg_s * sfreq))
    if n < 8:
        raise ParameterError(f"Welch segments of {n} samples are too short", hint="use nperseg >= 8")
    return n


def welch_psd(data: np.ndarray, sfreq: float, *, nperseg: int | None = None, nperseg_s: float = 0.5,
              overlap: float = 0.5, window: str = "hann") -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density along the last axis (all channels at once).

    Parameters
    ----------
    data : ndarray, shape (..., n_samples)
        Signals in unit U.
    sfreq : float
        Sampling rate in Hz.
    nperseg : int, optional
        Segment length in samples; default ``nperseg_s * sfreq``.
    nperseg_s : float
        Segment length in s (default 0.5 s, i.e. 2 Hz resolution).
    overlap : float
        Fractional overlap of segments (default 0.5).
    window : str
        Taper (default Hann).

    Returns
    -------
    f : ndarray
        Frequencies (Hz).
    psd : ndarray, shape (..., n_freqs)
        One-sided PSD in U^2/Hz.

    References
    ----------
    Welch PD (1967). IEEE Trans Audio Electroacoust 15:70-73.
    """
    x = np.asarray(data, dtype=float)
    n = _nperseg(sfreq, nperseg, nperseg_s)
    if x.shape[-1] < n:
        raise ParameterError(f"{x.shape[-1]} samples are fewer than one Welch segment ({n})",
                             hint="use a shorter nperseg or a longer signal")
    return _sig.welch(x, fs=sfreq, window=window, nperseg=n, noverlap=int(n * overlap), axis=-1,
                      detrend="constant", scaling="density")


def band_mask(f: np.ndarray, band: tuple[float, float] | None, sfreq: float | None = None) -> np.ndarray:
    """Bins whose centre lies in ``[band[0], band[1]]`` (the upper limit cut at Nyquist)."""
    if band is None:
        return np.ones(f.shape, bool)
    lo, hi = float(band[0]), float(band[1])
    if sfreq is not None:
        hi = min(hi, sfreq / 2)
    if not lo < hi:
        raise ParameterError(f"band {band} is empty (at {sfreq} Hz)", hint="use a band below Nyquist")
    return (f >= lo) & (f <= hi)


def spectral_moment(f: np.ndarray, psd: np.ndarray, k: float, band: tuple[float, float] | None = None) -> np.ndarray:
    """Spectral moment ``M_k = sum f**k P(f) df`` over the band (Dimitrov et al. 2006).

    Parameters
    ----------
    f : ndarray
        Frequencies in Hz (uniform).
    psd : ndarray, shape (..., n_freqs)
        PSD in U^2/Hz.
    k : float
        Order (may be negative; the 0 Hz bin is then excluded).
    band : (float, float), optional
        Band in Hz.

    Returns
    -------
    ndarray
        ``M_k`` in U^2 Hz^k.
    """
    m = band_mask(f, band)
    if k < 0:
        m &= f > 0
    df = float(f[1] - f[0]) if f.size > 1 else 1.0
    return (psd[..., m] * f[m] ** k).sum(axis=-1) * df


def mean_frequency(f: np.ndarray, psd: np.ndarray, band: tuple[float, float] | None = None) -> np.ndarray:
    """Mean frequency ``MNF = M_1 / M_0`` in Hz (METHODS.md §7)."""
    return spectral_moment(f, psd, 1, band) / spectral_moment(f, psd, 0, band)


def median_frequency(f: np.ndarray, psd: np.ndarray, band: tuple[float, float] | None = None) -> np.ndarray:
    """Median frequency in Hz, the cumulative power interpolated at bin edges.

    Bin ``i`` (centre ``f_i``, width ``df``) holds ``P_i df`` spread evenly over
    ``[f_i - df/2, f_i + df/2]``, cut at the band limits; the MDF is where the cumulative
    power reaches half the total, interpolated linearly within the crossing bin. For a
    flat spectrum on ``[f1, f2]`` this returns exactly ``(f1 + f2) / 2``.

    Parameters
    ----------
    f : ndarray
        Uniform frequencies in Hz.
    psd : ndarray, shape (..., n_freqs)
    band : (float, float), optional

    Returns
    -------
    ndarray
        Hz; NaN where the band holds no power.
    """
    df = float(f[1] - f[0])
    if band is None:
        lo_b, hi_b = float(f[0]) - df / 2, float(f[-1]) + df / 2
    else:
        lo_b, hi_b = float(band[0]), min(float(band[1]), float(f[-1]) + df / 2)
    left = np.maximum(f - df / 2, lo_b)
    right = np.minimum(f + df / 2, hi_b)
    width = np.clip(right - left, 0.0, None)
    keep = width > 0
    left, right, width = left[keep], right[keep], width[keep]
    p = psd[..., keep] * width  # power per (cut) bin
    c = np.cumsum(p, axis=-1)
    total = c[..., -1:]
    half = total / 2
    j = np.argmax(c >= half, axis=-1)[..., None]  # first bin whose upper edge reaches half
    c_before = np.take_along_axis(c, j, -1) - np.take_along_axis(p, j, -1)
    pj = np.take_along_axis(p, j, -1)
    frac = np.where(pj > 0, (half - c_before) / np.where(pj > 0, pj, 1.0), 0.0)
    out = left[j] + frac * width[j]
    out = np.where(total > 0, out, np.nan)
    return out[..., 0]


def finsm5(f: np.ndarray, psd: np.ndarray, band: tuple[float, float] | None = (8.0, 500.0)) -> np.ndarray:
    """Dimitrov's fatigue index ``FInsm5 = M_-1 / M_5`` (Hz^-6; Dimitrov et al. 2006).

    Parameters
    ----------
    f, psd : ndarray
        Frequencies (Hz) and PSD.
    band : (float, float), optional
        Band in Hz (default 8-500 Hz as reported for the index, cut at the PSD's range;
        METHODS.md §7 marks the limits as unverified).

    Returns
    -------
    ndarray
    """
    return spectral_moment(f, psd, -1, band) / spectral_moment(f, psd, 5, band)


def spectral_features_array(data: np.ndarray, sfreq: float, *, band: tuple[float, float] = (20.0, 450.0),
                            finsm5_band: tuple[float, float] | None = None, nperseg: int | None = None,
                            nperseg_s: float = 0.5) -> dict[str, np.ndarray]:
    """MNF, MDF and FInsm5 of each channel from one Welch PSD.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
    sfreq : float
        Hz.
    band : (float, float)
        Band for MNF and MDF (Hz, upper limit cut at Nyquist).
    finsm5_band : (float, float), optional
        Band for FInsm5 (default: ``band``).
    nperseg, nperseg_s
        Welch segment (see :func:`welch_psd`).

    Returns
    -------
    dict
        ``mnf``, ``mdf`` (Hz), ``finsm5`` (Hz^-6, in units of the PSD normalisation).
    """
    f, p = welch_psd(data, sfreq, nperseg=nperseg, nperseg_s=nperseg_s)
    return spectral_from_psd(f, p, sfreq, band=band, finsm5_band=finsm5_band)


def spectral_from_psd(f: np.ndarray, p: np.ndarray, sfreq: float, *, band: tuple[float, float] = (20.0, 450.0),
                      finsm5_band: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """MNF, MDF, FInsm5 from a PSD (see :func:`spectral_features_array`)."""
    b = (band[0], min(band[1], sfreq / 2))
    fb = b if finsm5_band is None else (finsm5_band[0], min(finsm5_band[1], sfreq / 2))
    return {"mnf": mean_frequency(f, p, b), "mdf": median_frequency(f, p, b), "finsm5": finsm5(f, p, fb)}


def mdf_series(data: np.ndarray, sfreq: float, *, window_s: float = 1.0, step_s: float | None = None,
               band: tuple[float, float] = (20.0, 450.0), nperseg: int | None = None,
               nperseg_s: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Median frequency of successive windows (all channels and windows in one Welch call).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
    sfreq : float
        Hz.
    window_s : float
        Window length in s (default 1 s).
    step_s : float, optional
        Step between window starts (default: ``window_s``, no overlap).
    band : (float, float)
        Hz.
    nperseg, nperseg_s
        Welch segment inside each window (default 0.25 s, cut to the window).

    Returns
    -------
    t : ndarray, shape (n_windows,)
        Window centres in s from the start of ``data``.
    mdf : ndarray, shape (n_channels, n_windows)
        Hz.
    """
    x = np.atleast_2d(np.asarray(data, dtype=float))
    w = int(round(window_s * sfreq))
    s = w if step_s is None else int(round(step_s * sfreq))
    if w < 8 or s < 1:
        raise ParameterError(f"window_s={window_s} s and step_s={step_s} s are too short at {sfreq} Hz")
    n_win = (x.shape[1] - w) // s + 1
    if n_win < 1:
        raise ParameterError(f"the signal ({x.shape[1] / sfreq:.2f} s) is shorter than one {window_s} s window")
    nps = min(w, _nperseg(sfreq, nperseg, nperseg_s))
    view = np.lib.stride_tricks.sliding_window_view(x, w, axis=1)[:, ::s][:, :n_win]
    f, p = _sig.welch(view, fs=sfreq, window="hann", nperseg=nps, noverlap=nps // 2, axis=-1, detrend="constant")
    mdf = median_frequency(f, p, (band[0], min(band[1], sfreq / 2)))
    t = (np.arange(n_win) * s + w / 2) / sfreq
    return t, mdf


def fatigue_slope(data: np.ndarray, sfreq: float, *, window_s: float = 1.0, step_s: float | None = None,
                  band: tuple[float, float] = (20.0, 450.0), nperseg: int | None = None, nperseg_s: float = 0.25,
                  confidence: float = 0.95) -> dict[str, np.ndarray]:
    """Median-frequency fatigue slope of a sustained contraction, with its confidence interval.

    The MDF of successive windows (:func:`mdf_series`) is regressed on time by least
    squares, per channel: ``MDF(t) = b0 + b1 t``. The confidence interval of ``b1`` is
    ``b1 +/- t_{(1+confidence)/2, n-2} * SE(b1)``. The normalised slope is
    ``100 * b1 / b0`` in %/s, ``b0`` being the initial MDF (intercept at the start of the
    window series; Coorevits et al. 2008); its interval is the slope's interval scaled the
    same way (the intercept's own uncertainty is ignored).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Band-passed EMG of the hold.
    sfreq : float
        Hz.
    window_s, step_s, band, nperseg, nperseg_s
        See :func:`mdf_series`.
    confidence : float
        Confidence level (default 0.95).

    Returns
    -------
    dict of ndarray (one value per channel)
        ``slope`` (Hz/s), ``ci_low``, ``ci_high`` (Hz/s), ``initial`` (Hz), ``slope_pct``,
        ``ci_low_pct``, ``ci_high_pct`` (%/s), ``n_windows``, ``r2``.

    References
    ----------
    Roy SH, De Luca CJ, Casavant DA (1989). Spine 14:992-1001. Coorevits P et al. (2008).
    J Electromyogr Kinesiol 18:997-1005.
    """
    t, mdf = mdf_series(data, sfreq, window_s=window_s, step_s=step_s, band=band, nperseg=nperseg,
                        nperseg_s=nperseg_s)
    n = t.size
    if n < 3:
        raise ParameterError(f"a fatigue slope needs at least 3 windows, got {n}",
                             hint="use a longer hold or a shorter window_s")
    t0 = t - t[0]
    tm = t0.mean()
    sxx = ((t0 - tm) ** 2).sum()
    ym = mdf.mean(axis=1, keepdims=True)
    b1 = ((t0 - tm) * (mdf - ym)).sum(axis=1) / sxx
    b0 = ym[:, 0] - b1 * tm
    resid = mdf - (b0[:, None] + b1[:, None] * t0)
    ssr = (resid ** 2).sum(axis=1)
    sst = ((mdf - ym) ** 2).sum(axis=1)
    se = np.sqrt(ssr / (n - 2) / sxx)
    q = _stats.t.ppf(0.5 + confidence / 2, n - 2)
    lo, hi = b1 - q * se, b1 + q * se
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1 - ssr / sst, np.nan)
    return {"slope": b1, "ci_low": lo, "ci_high": hi, "initial": b0, "slope_pct": 100 * b1 / b0,
            "ci_low_pct": 100 * lo / b0, "ci_high_pct": 100 * hi / b0, "n_windows": np.full(b1.shape, n), "r2": r2}


def segment_psd(x: np.ndarray, sfreq: float, segments: np.ndarray, nperseg: int,
                chunk_frames: int = 1024, workers: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectra of many segments of one recording, from one pass of frames.

    Welch's estimate (Welch 1967, IEEE Trans Audio Electroacoust 15:70-73) averages modified
    periodograms of overlapping frames: a Hann window, 50 % overlap, the frame's mean removed,
    one-sided density scaling — as :func:`scipy.signal.welch` with ``window="hann",
    noverlap=nperseg // 2``. Here the frames lie on one grid for the whole recording (frame
    ``j`` starts at sample ``j * hop``, ``hop = nperseg // 2``), are computed once, and each
    segment averages the frames that lie wholly inside it. Compared with running Welch on each
    segment, the frames are aligned to the recording rather than to the segment's first sample
    (at most ``hop - 1`` samples of a segment's edges are unused); the estimator is the same.

    Parameters
    ----------
    x : ndarray, shape (n_channels, n_samples)
        Signals (any unit U).
    sfreq : float
        Sampling rate (Hz).
    segments : ndarray, shape (n_segments, 2)
        ``[start, stop)`` sample indices.
    nperseg : int
        Frame length (samples).
    chunk_frames : int
        Frames whose running sum is kept at a time (bounds memory).
    workers : int
        Threads of :func:`scipy.fft.rfft` (-1: every CPU); the result does not depend on it.

    Returns
    -------
    psd_sum : ndarray, shape (n_channels, n_segments, nperseg // 2 + 1)
        Sum over each segment's frames of the one-sided PSD (U²/Hz); divide by ``n_frames``.
    n_frames : ndarray of int, shape (n_segments,)
        Frames inside each segment (0 when the segment is shorter than a frame).
    """
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import fft as _fft
    from scipy.signal import get_window

    x = np.asarray(x, dtype=float)
    n_ch, n = x.shape
    hop = nperseg - nperseg // 2
    nf = nperseg // 2 + 1
    segments = np.asarray(segments, dtype=np.int64).reshape(-1, 2)
    out = np.zeros((n_ch, len(segments), nf))
    first = -(-segments[:, 0] // hop)                       # first frame starting inside
    last = (segments[:, 1] - nperseg) // hop                # last frame ending inside
    n_frames = np.maximum(last - first + 1, 0)
    if n < nperseg or not n_frames.any():
        return out, n_frames
    win = get_window("hann", nperseg)
    scale = 1.0 / (sfreq * (win * win).sum())
    # one-sided density: x2 except at DC (and Nyquist for even nperseg); (p * 2s) == (p * s) * 2 exactly
    weight = np.full(nf, scale)
    weight[1:(nf - 1 if nperseg % 2 == 0 else nf)] *= 2.0
    total = 1 + (n - nperseg) // hop
    frames = sliding_window_view(x, nperseg, axis=-1)[:, ::hop]   # view, (n_ch, total, nperseg)
    # Frames are windowed, transformed and summed a cache-sized block at a time (about 1 MB of
    # frames); the running sums restart at each chunk of ``chunk_frames`` frames.
    sub = max(1, min(chunk_frames, (1 << 17) // max(1, n_ch * nperseg)))
    csum = np.empty((n_ch, min(chunk_frames, total) + 1, nf))    # csum[:, j]: sum of the chunk's first j frames
    tmp = np.empty((n_ch, sub, nperseg))
    for f0 in range(0, total, chunk_frames):
        f1 = min(total, f0 + chunk_frames)
        inside = np.flatnonzero((n_frames > 0) & (first < f1) & (last >= f0))
        if not inside.size:
            continue
        csum[:, 0] = 0.0
        for s0 in range(f0, f1, sub):
            s1 = min(f1, s0 + sub)
            blk = frames[:, s0:s1]
            t = tmp[:, :s1 - s0]
            np.subtract(blk, blk.mean(axis=-1, keepdims=True), out=t)
            t *= win
            spec = _fft.rfft(t, axis=-1, workers=workers)
            p = csum[:, s0 - f0 + 1:s1 - f0 + 1]
            np.square(spec.real, out=p)
            p += np.square(spec.imag)
            p *= weight
            p[:, 0] += csum[:, s0 - f0]                            # carry the running sum
            for j in range(1, s1 - s0):
                # the running sum frame by frame, each step over every channel and bin at once: the
                # additions of np.cumsum(p, axis=1), whose strided walk along the frames is ~10x slower
                p[:, j] += p[:, j - 1]
        a = np.maximum(first[inside], f0) - f0
        b = np.minimum(last[inside] + 1, f1) - f0
        out[:, inside] += csum[:, b] - csum[:, a]
    return out, n_frames
