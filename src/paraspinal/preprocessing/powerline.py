"""Powerline interference: detection of the mains frequency and its removal.

Detection (``freq="auto"``)
    For each candidate fundamental (default 50 and 60 Hz: a parameter, not a constant)
    and each of its first ``n_harmonics`` harmonics below Nyquist, the *line ratio* is the
    Welch PSD's maximum within ``tol`` Hz of the harmonic divided by the median PSD of
    the neighbourhood ``inner``-``outer`` Hz away on both sides. A channel's score for a
    candidate is its largest line ratio over the harmonics; the recording's score is the
    largest over channels (hum may reach only some electrodes). Welch segments are
    ``segment_s`` long (4 s: 0.25 Hz resolution) but shortened, not below 1 s, so that
    there are at least 8 of them; on long recordings ``max_segments`` (64) non-overlapping
    segments spread evenly over the recording are averaged instead of all of them. The winner must reach
    ``threshold`` (default 10, i.e. a line 10 dB above its neighbourhood) *and* beat the
    other candidates by ``dominance`` (default 3x); otherwise the answer is ``None``
    ("no mains line": nothing is removed). On pure noise the statistic stays below ~4
    with 1-s segments; see ``docs/preprocessing.md``.

Removal
    ``method="interpolation"`` (default) is spectrum interpolation after Mewett, Nazeran &
    Reynolds (2001): the DFT of the whole channel is taken, and the magnitudes of the
    bins within ``width`` Hz of every harmonic are replaced by the RMS magnitude of the
    neighbouring bins (``neighbours`` Hz on each side, linearly interpolated between
    the two sides); the phases are kept, and the signal is transformed back. Using the
    RMS (not the mean) of the neighbours keeps the expected EMG power in the replaced
    bins, so hum-free EMG keeps its RMS. ``method="notch"`` is a cascade of second-order
    IIR notches (``scipy.signal.iirnotch``), one per harmonic with a constant -3 dB
    bandwidth ``width`` Hz, applied forward and backward (zero phase).

References
----------
Mewett DT, Nazeran H, Reynolds KJ (2001). Removing power line noise from recorded EMG.
Proc 23rd Annu Int Conf IEEE EMBS, 2190-2193.
Mewett DT, Reynolds KJ, Nazeran H (2004). Reducing power line interference in digitised
electromyogram recordings by spectrum interpolation. Med Biol Eng Comput 42:524-531.
Welch PD (1967). The use of fast Fourier transform for the estimation of power spectra.
IEEE Trans Audio Electroacoust 15:70-73.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft
from scipy import signal

from ..errors import ParameterError
from ..recording import Recording
from .filters import (
    as_2d,
    check_sfreq,
    new_recording,
    provenance,
    rows_of,
    signal_channels,
    source_of,
)

__all__ = [
    "remove_powerline",
    "detect_powerline",
    "detect_powerline_array",
    "line_ratios_array",
    "notch_array",
    "interpolate_spectrum_array",
    "harmonics",
    "POWERLINE_DEFAULTS",
]

#: Defaults of detection and removal (each is a keyword parameter).
POWERLINE_DEFAULTS: dict[str, Any] = {
    "candidates": (50.0, 60.0),  # mains fundamentals in use worldwide
    "n_harmonics": 3,  # harmonics inspected by the detector
    "threshold": 10.0,  # line / neighbourhood PSD ratio needed to call a line
    "dominance": 3.0,  # winner's score / runner-up's score
    "max_segments": 64,  # longer recordings: 64 segments spread over the recording
    "segment_s": 4.0,  # longest Welch segment (0.25 Hz resolution), shortened to keep >= 8 segments
    "tol": 1.0,  # Hz, search half-width around a harmonic
    "inner": 2.0,  # Hz, neighbourhood starts this far from the harmonic
    "outer": 6.0,  # Hz, neighbourhood ends this far from the harmonic
    "width": 1.0,  # Hz: interpolation half-width
    "notch_width": 0.3,  # Hz: notch -3 dB bandwidth (single pass)
    "neighbours": 2.0,  # Hz of neighbouring bins used by interpolation, each side
}


def harmonics(freq: float, sfreq: float, max_freq: float | None = None, margin: float = 0.0) -> np.ndarray:
    """Harmonics ``k * freq`` (k >= 1) below ``min(max_freq, Nyquist) - margin``.

    Parameters
    ----------
    freq : float
        Fundamental in Hz.
    sfreq : float
        Sampling rate in Hz.
    max_freq : float, optional
        Upper limit in Hz (e.g. a band edge); Nyquist by default.
    margin : float
        Keep this many Hz below the limit.

    Returns
    -------
    ndarray of float
    """
    top = sfreq / 2.0 if max_freq is None else min(float(max_freq), sfreq / 2.0)
    top -= margin
    if freq <= 0 or top < freq:
        return np.empty(0)
    return freq * np.arange(1, int(math.floor(top / freq)) + 1)


# ---------------------------------------------------------------------------- detection

def line_ratios_array(data: np.ndarray, sfreq: float, freq: float, *,
                      n_harmonics: int = POWERLINE_DEFAULTS["n_harmonics"],
                      segment_s: float = POWERLINE_DEFAULTS["segment_s"],
                      tol: float = POWERLINE_DEFAULTS["tol"],
                      inner: float = POWERLINE_DEFAULTS["inner"],
                      outer: float = POWERLINE_DEFAULTS["outer"]) -> np.ndarray:
    """Line-to-neighbourhood PSD ratio at the harmonics of ``freq``, per channel.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals.
    sfreq : float
        Sampling rate in Hz.
    freq : float
        Fundamental in Hz.
    n_harmonics : int
        Harmonics inspected (those whose neighbourhood fits below Nyquist).
    segment_s : float
        Welch segment length in seconds (shortened to the signal length).
    tol, inner, outer : float
        Search half-width and neighbourhood limits in Hz.

    Returns
    -------
    ndarray, shape (n_channels, n_used_harmonics)
        Ratios (1 = no line); an empty second axis when no harmonic fits.

    References
    ----------
    Welch PD (1967) IEEE Trans Audio Electroacoust 15:70-73.
    """
    x, _ = as_2d(data)
    fs = check_sfreq(sfreq)
    f, p = _welch(x, fs, segment_s)
    return _ratios_from_spectrum(f, p, fs, freq, n_harmonics, tol, inner, outer)


def _ratios_from_spectrum(f: np.ndarray, p: np.ndarray, fs: float, freq: float, n_harmonics: int,
                          tol: float, inner: float, outer: float) -> np.ndarray:
    hs = harmonics(freq, fs, margin=outer + 1.0)[:n_harmonics]
    out = np.empty((p.shape[0], len(hs)))
    for j, h in enumerate(hs):
        d = np.abs(f - h)
        line = d <= tol
        nb = (d >= inner) & (d <= outer)
        if not line.any() or nb.sum() < 2:
            out[:, j] = np.nan
            continue
        ref = np.median(p[:, nb], axis=1)
        out[:, j] = np.where(ref > 0, p[:, line].max(axis=1) / np.where(ref > 0, ref, 1.0), np.nan)
    return out


def _welch(x: np.ndarray, fs: float, segment_s: float, rows: Sequence[int] | None = None,
           max_segments: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD row by row (bounded memory on long recordings).

    With ``max_segments``, long recordings are represented by that many non-overlapping
    segments spread evenly over the whole recording (the mains line is stationary enough
    that a sample of the recording finds it; this keeps detection cheap on hour-long data).
    """
    rows = range(x.shape[0]) if rows is None else rows
    n = x.shape[-1]
    nper = int(min(n, max(16, round(segment_s * fs))))
    ps = []
    f = np.fft.rfftfreq(nper, 1.0 / fs)
    starts = None
    if max_segments is not None and n // nper > 2 * max_segments:
        starts = np.linspace(0, n - nper, max_segments).astype(np.int64)
        win = signal.get_window("hann", nper)
        scale = 1.0 / (fs * np.sum(win ** 2))
    for i in rows:
        if starts is None:
            f, p = signal.welch(x[i], fs=fs, nperseg=nper, detrend="constant")
        else:
            seg = x[i][starts[:, None] + np.arange(nper)[None, :]]
            seg = (seg - seg.mean(axis=1, keepdims=True)) * win
            p = np.mean(np.abs(np.fft.rfft(seg, axis=1)) ** 2, axis=0) * scale
            p[1:-1 if nper % 2 == 0 else None] *= 2
        ps.append(p)
    return f, (np.stack(ps) if ps else np.empty((0, len(f))))


def detect_powerline_array(data: np.ndarray, sfreq: float, *,
                           candidates: Sequence[float] = POWERLINE_DEFAULTS["candidates"],
                           n_harmonics: int = POWERLINE_DEFAULTS["n_harmonics"],
                           threshold: float = POWERLINE_DEFAULTS["threshold"],
                           dominance: float = POWERLINE_DEFAULTS["dominance"],
                           segment_s: float = POWERLINE_DEFAULTS["segment_s"],
                           tol: float = POWERLINE_DEFAULTS["tol"],
                           inner: float = POWERLINE_DEFAULTS["inner"],
                           outer: float = POWERLINE_DEFAULTS["outer"]) -> dict[str, Any]:
    """Detect the mains frequency from the spectrum.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals (raw or band-passed).
    sfreq : float
        Sampling rate in Hz.
    candidates : sequence of float
        Candidate fundamentals in Hz (default 50 and 60).
    n_harmonics : int
        Harmonics inspected per candidate (default 3: 50/100/150 vs 60/120/180 Hz).
    threshold : float
        Line ratio needed to call a line (default 10 = 10 dB).
    dominance : float
        The winner's score must exceed every other candidate's by this factor.
    segment_s, tol, inner, outer : float
        Welch segment (s) and the line/neighbourhood limits (Hz); see
        :func:`line_ratios_array`.

    Returns
    -------
    dict
        ``frequency`` (float, or None when no line is present), ``scores`` (candidate ->
        recording score), ``channel_scores`` (candidate -> list per channel),
        ``threshold``, ``dominance``.

    References
    ----------
    Welch PD (1967) IEEE Trans Audio Electroacoust 15:70-73.
    """
    x, _ = as_2d(data)
    return _detect_rows(x, None, check_sfreq(sfreq), candidates=candidates, n_harmonics=n_harmonics,
                        threshold=threshold, dominance=dominance, segment_s=segment_s, tol=tol,
                        inner=inner, outer=outer)


def _detect_rows(x: np.ndarray, rows: Sequence[int] | None, fs: float, *, candidates, n_harmonics,
                 threshold, dominance, segment_s, max_segments=POWERLINE_DEFAULTS["max_segments"],
                 tol=POWERLINE_DEFAULTS["tol"],
                 inner=POWERLINE_DEFAULTS["inner"], outer=POWERLINE_DEFAULTS["outer"]) -> dict[str, Any]:
    if not len(candidates):
        raise ParameterError("powerline detection needs at least one candidate frequency")
    # long segments sharpen the line; keep >= 8 segments (down to 1 s) so the noise averages
    seg = min(float(segment_s), max(1.0, x.shape[-1] / fs / 8.0))
    spec = _welch(x, fs, seg, rows, max_segments)  # each segment's mean is removed
    n_rows = spec[1].shape[0]
    ch_scores: dict[float, np.ndarray] = {}
    for c in candidates:
        r = _ratios_from_spectrum(spec[0], spec[1], fs, c, n_harmonics, tol, inner, outer)
        with np.errstate(all="ignore"):
            ch_scores[float(c)] = (np.nanmax(np.where(np.isfinite(r), r, -np.inf), axis=1)
                                   if r.shape[1] else np.full(n_rows, np.nan))
        ch_scores[float(c)][~np.isfinite(ch_scores[float(c)])] = np.nan
    scores = {c: (float(np.nanmax(s)) if np.isfinite(s).any() else float("nan")) for c, s in ch_scores.items()}
    finite = {c: s for c, s in scores.items() if np.isfinite(s)}
    found = None
    if finite:
        best = max(finite, key=finite.get)
        others = [s for c, s in finite.items() if c != best]
        if finite[best] >= threshold and all(finite[best] >= dominance * max(o, 1e-12) for o in others):
            found = best
    return {
        "frequency": found,
        "scores": scores,
        "channel_scores": {c: s.tolist() for c, s in ch_scores.items()},
        "threshold": threshold,
        "dominance": dominance,
    }


def detect_powerline(rec: Recording, *, picks: str | Iterable[str] | None = None,
                     **kwargs: Any) -> dict[str, Any]:
    """Detect the mains frequency of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
    picks : str or list of str, optional
        Channels inspected (default all EMG).
    **kwargs
        Passed to :func:`detect_powerline_array`.

    Returns
    -------
    dict
        As :func:`detect_powerline_array`, plus ``channels``.
    """
    names = signal_channels(rec, picks)
    if not names:
        return {"frequency": None, "scores": {}, "channel_scores": {}, "channels": []}
    res = detect_powerline_array(rec.get_data(names, unit="uV"), rec.sfreq, **kwargs)
    res["channels"] = names
    return res


# ---------------------------------------------------------------------------- removal, arrays

def notch_array(data: np.ndarray, sfreq: float, freq: float, *, max_freq: float | None = None,
                width: float = POWERLINE_DEFAULTS["notch_width"], out: np.ndarray | None = None,
                padlen: int | None = None, chunk: int = 1) -> np.ndarray:
    """Remove ``freq`` and its harmonics with zero-phase second-order IIR notches.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals.
    sfreq : float
        Sampling rate in Hz.
    freq : float
        Mains fundamental in Hz.
    max_freq : float, optional
        Highest harmonic removed (default: up to Nyquist).
    width : float
        -3 dB bandwidth of each (single-pass) notch in Hz (default 0.3 Hz; Q = f / width).
        Each notch removes about (pi / 2) x width Hz of EMG spectrum, so with many harmonics
        keep it narrow or limit ``max_freq`` to the band edge.
    out : ndarray, optional
        Output array (may be ``data``).
    padlen : int, optional
        Edge padding (default: 3 time constants of the narrowest notch, ``3 fs / (pi width)``,
        limited to the signal length - 1).
    chunk : int
        Channels per call.

    Returns
    -------
    ndarray

    Notes
    -----
    All notches are cascaded into one second-order-section array and applied with
    :func:`scipy.signal.sosfiltfilt`; the zero-phase response of each notch is the square
    of its single-pass response.

    References
    ----------
    Mewett DT, Reynolds KJ, Nazeran H (2004) Med Biol Eng Comput 42:524-531 (notch
    filtering as the comparison method).
    """
    x, was_1d = as_2d(data)
    fs = check_sfreq(sfreq)
    hs = harmonics(freq, fs, max_freq, margin=width)
    if out is None:
        out = np.empty(x.shape)
    elif was_1d:
        out = out.reshape(1, -1)
    if not len(hs):
        out[...] = x
        return out[0] if was_1d else out
    sos = []
    for h in hs:
        b, a = signal.iirnotch(h, h / width, fs=fs)
        sos.append(np.concatenate([b, a]))
    sos = np.asarray(sos)
    if padlen is None:
        padlen = int(math.ceil(3 * fs / (math.pi * width)))
    padlen = min(int(padlen), x.shape[1] - 1)
    for s in range(0, x.shape[0], max(chunk, 1)):
        out[s:s + chunk] = signal.sosfiltfilt(sos, x[s:s + chunk], axis=-1, padlen=padlen)
    return out[0] if was_1d else out


def interpolate_spectrum_array(data: np.ndarray, sfreq: float, freq: float, *,
                               max_freq: float | None = None,
                               width: float = POWERLINE_DEFAULTS["width"],
                               neighbours: float = POWERLINE_DEFAULTS["neighbours"],
                               out: np.ndarray | None = None, chunk: int = 1) -> np.ndarray:
    """Remove ``freq`` and its harmonics by spectrum interpolation.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals.
    sfreq : float
        Sampling rate in Hz.
    freq : float
        Mains fundamental in Hz.
    max_freq : float, optional
        Highest harmonic treated (default: up to Nyquist).
    width : float
        Half-width in Hz of the band replaced around each harmonic (default 1 Hz).
    neighbours : float
        Width in Hz of the reference bands on each side (default 2 Hz).
    out : ndarray, optional
        Output array (may be ``data``).
    chunk : int
        Channels transformed per call.

    Returns
    -------
    ndarray

    Notes
    -----
    For every harmonic ``h`` the bins with ``|f - h| <= width`` get the magnitude
    ``sqrt(mean |X|^2)`` of the bins in ``(h - width - neighbours, h - width)`` on the
    left and ``(h + width, h + width + neighbours)`` on the right, interpolated linearly
    in frequency between the two sides; their phase is kept. The mean of the signal
    (bin 0) is untouched. Mewett, Nazeran & Reynolds (2001) replace the line bins by the
    average of their neighbours; we average power rather than magnitude so the
    expected power of broadband EMG in the replaced bins is preserved.

    References
    ----------
    Mewett DT, Nazeran H, Reynolds KJ (2001) Proc IEEE EMBS 23:2190-2193.
    Mewett DT, Reynolds KJ, Nazeran H (2004) Med Biol Eng Comput 42:524-531.
    """
    x, was_1d = as_2d(data)
    fs = check_sfreq(sfreq)
    n = x.shape[1]
    if width <= 0 or neighbours <= 0:
        raise ParameterError(f"width and neighbours must be positive, got {width}, {neighbours}")
    hs = harmonics(freq, fs, max_freq, margin=width + neighbours)
    if out is None:
        out = np.empty(x.shape)
    elif was_1d:
        out = out.reshape(1, -1)
    if not len(hs):
        out[...] = x
        return out[0] if was_1d else out
    df = fs / n
    # bin index sets (same for every channel): replaced bins and their two reference bands
    plans = []
    for h in hs:
        lo_c, hi_c = int(math.ceil((h - width) / df)), int(math.floor((h + width) / df))
        left = np.arange(max(int(math.ceil((h - width - neighbours) / df)), 1), lo_c)
        right = np.arange(hi_c + 1, min(int(math.floor((h + width + neighbours) / df)), n // 2) + 1)
        centre = np.arange(max(lo_c, 1), min(hi_c, n // 2) + 1)
        if len(centre) == 0 or len(left) == 0 or len(right) == 0:
            continue
        fl, fr = left.mean() * df, right.mean() * df
        wgt = np.clip((centre * df - fl) / (fr - fl), 0.0, 1.0)
        plans.append((left, right, centre, wgt))
    for s in range(0, x.shape[0], max(chunk, 1)):
        X = sfft.rfft(x[s:s + chunk], axis=-1)
        for left, right, centre, wgt in plans:
            pl = np.sqrt(np.mean(np.abs(X[:, left]) ** 2, axis=1, keepdims=True))
            pr = np.sqrt(np.mean(np.abs(X[:, right]) ** 2, axis=1, keepdims=True))
            mag = pl + (pr - pl) * wgt[np.newaxis, :]
            c = X[:, centre]
            a = np.abs(c)
            phase = np.where(a > 0, c / np.where(a > 0, a, 1.0), 1.0)
            X[:, centre] = mag * phase
        out[s:s + chunk] = sfft.irfft(X, n=n, axis=-1)
    return out[0] if was_1d else out


# ---------------------------------------------------------------------------- Recording form

def remove_powerline(rec: Recording, freq: float | str | None = "auto", *,
                     method: str = "interpolation", max_freq: float | None = None,
                     width: float = POWERLINE_DEFAULTS["width"],
                     neighbours: float = POWERLINE_DEFAULTS["neighbours"],
                     notch_width: float = POWERLINE_DEFAULTS["notch_width"],
                     picks: str | Iterable[str] | None = None, include_ecg: bool = False,
                     candidates: Sequence[float] = POWERLINE_DEFAULTS["candidates"],
                     threshold: float = POWERLINE_DEFAULTS["threshold"],
                     dominance: float = POWERLINE_DEFAULTS["dominance"],
                     n_harmonics: int = POWERLINE_DEFAULTS["n_harmonics"],
                     segment_s: float = POWERLINE_DEFAULTS["segment_s"]) -> Recording:
    """Remove powerline interference (fundamental and harmonics) from EMG channels.

    Parameters
    ----------
    rec : Recording
        Input (not modified).
    freq : float, "auto", "none" or None
        Mains fundamental in Hz; ``"auto"`` (default) detects it from the spectrum
        (:func:`detect_powerline_array`) and does nothing when no line is found;
        ``"none"``/None does nothing.
    method : {"interpolation", "notch"}
        Spectrum interpolation (default; Mewett et al. 2001) or zero-phase IIR notches.
    max_freq : float, optional
        Highest harmonic removed (default Nyquist).
    width : float
        Hz; interpolation half-width (default 1 Hz).
    notch_width : float
        Hz; notch -3 dB bandwidth (default 0.3 Hz).
    neighbours : float
        Hz of reference bins each side for interpolation (default 2 Hz).
    picks : str or list of str, optional
        Channels (default all EMG).
    include_ecg : bool
        Also treat ECG channels.
    candidates, threshold, dominance, n_harmonics, segment_s
        Detection parameters (see :func:`detect_powerline_array`).

    Returns
    -------
    Recording
        New Recording; the ``"powerline"`` provenance record says which frequency was
        used (``result.frequency``: a number, or None for "none") and, for ``"auto"``,
        the detection scores.

    References
    ----------
    Mewett DT, Nazeran H, Reynolds KJ (2001) Proc IEEE EMBS 23:2190-2193.
    """
    params = {"freq": freq, "method": method, "max_freq": max_freq, "width": width,
              "neighbours": neighbours, "notch_width": notch_width, "picks": picks, "include_ecg": include_ecg,
              "candidates": list(candidates), "threshold": threshold, "dominance": dominance,
              "n_harmonics": n_harmonics, "segment_s": segment_s}
    names = signal_channels(rec, picks, include_ecg)
    data = rec.raw.get_data()
    rows = rows_of(rec, names)
    res = powerline_rows(data, rows, rec.sfreq, freq, method=method, max_freq=max_freq, width=width,
                         neighbours=neighbours, notch_width=notch_width, candidates=candidates, threshold=threshold,
                         dominance=dominance, n_harmonics=n_harmonics, segment_s=segment_s,
                         file=source_of(rec))
    res["channels"] = names
    return new_recording(rec, data, step=provenance("powerline", params, **res))


def powerline_rows(data: np.ndarray, rows: Sequence[int], sfreq: float, freq: float | str | None = "auto", *,
                   method: str = "interpolation", max_freq: float | None = None,
                   width: float = POWERLINE_DEFAULTS["width"],
                   neighbours: float = POWERLINE_DEFAULTS["neighbours"],
                   notch_width: float = POWERLINE_DEFAULTS["notch_width"],
                   candidates: Sequence[float] = POWERLINE_DEFAULTS["candidates"],
                   threshold: float = POWERLINE_DEFAULTS["threshold"],
                   dominance: float = POWERLINE_DEFAULTS["dominance"],
                   n_harmonics: int = POWERLINE_DEFAULTS["n_harmonics"],
                   segment_s: float = POWERLINE_DEFAULTS["segment_s"],
                   file: str | None = None) -> dict[str, Any]:
    """Detect (optionally) and remove mains interference in rows of ``data``, in place.

    Parameters as :func:`remove_powerline`; returns the provenance result
    (``frequency``, ``harmonics``, ``detection``).
    """
    if method not in ("interpolation", "notch"):
        raise ParameterError(f"unknown powerline method {method!r}", file=file,
                             hint="use 'interpolation' or 'notch'")
    detection = None
    if isinstance(freq, str):
        key = freq.lower()
        if key == "auto":
            if rows:
                detection = _detect_rows(data, rows, sfreq, candidates=candidates, threshold=threshold,
                                         dominance=dominance, n_harmonics=n_harmonics, segment_s=segment_s)
                f0 = detection["frequency"]
            else:
                f0 = None
        elif key == "none":
            f0 = None
        else:
            raise ParameterError(f"powerline frequency {freq!r} is not understood", file=file,
                                 hint="give a number in Hz, 'auto' or 'none'")
    elif freq is None:
        f0 = None
    else:
        f0 = float(freq)
        if not np.isfinite(f0) or f0 <= 0 or f0 >= sfreq / 2:
            raise ParameterError(f"powerline frequency {freq} Hz must be between 0 and Nyquist "
                                 f"({sfreq / 2:g} Hz)", file=file)
    result: dict[str, Any] = {"frequency": f0}
    if detection is not None:
        result["detection"] = {"scores": detection["scores"], "threshold": threshold,
                               "dominance": dominance}
    if f0 is None or not rows:
        result["harmonics"] = []
        return result
    for i in rows:
        if method == "interpolation":
            interpolate_spectrum_array(data[i], sfreq, f0, max_freq=max_freq, width=width,
                                       neighbours=neighbours, out=data[i])
        else:
            notch_array(data[i], sfreq, f0, max_freq=max_freq, width=notch_width, out=data[i])
    margin = width + neighbours if method == "interpolation" else notch_width
    result["harmonics"] = harmonics(f0, sfreq, max_freq, margin=margin).tolist()
    return result
