"""Powerline interference: detection of the mains frequency and its removal.

Detection (``freq="auto"``)
    By the narrowness of the line in the quiet parts of the recording
    (``paraspinal.preprocessing.mains``): inverse-level weighted Hann periodograms of the
    quietest 2-s windows, a line-to-neighbourhood ratio at the first harmonics of 50 and 60
    Hz (allowing a drift of 0.2 Hz per harmonic), and a threshold from the Gamma law of
    the ratio for broadband noise. The answer is a frequency, or ``None`` ("no mains
    line": nothing is removed); the provenance records per channel whether a line was
    found, its estimated amplitude and how much was removed.

Removal
    ``method="interpolation"`` (default) is spectrum interpolation after Mewett, Nazeran &
    Reynolds (2001): the DFT of the channel is taken (of the whole channel up to about 64 s,
    else of overlapping 64-s segments, see ``spectral_rows``), and the magnitudes of the
    bins within ``width`` Hz of every harmonic are replaced by the RMS magnitude of the
    neighbouring bins (``neighbours`` Hz on each side, linearly interpolated between
    the two sides); the phases are kept, and the signal is transformed back. Using the
    RMS (not the mean) of the neighbours keeps the expected EMG power in the replaced
    bins, so hum-free EMG keeps its RMS. ``method="notch"`` is a cascade of second-order
    IIR notches (``scipy.signal.iirnotch``), one per harmonic with a constant -3 dB
    bandwidth ``width`` Hz, applied forward and backward (zero phase).

One pass with the band-pass
    ``spectral_rows`` also multiplies each segment's spectrum by the analytic
    zero-phase magnitude of the band-pass (see ``paraspinal.preprocessing.filters``),
    so :func:`paraspinal.pipeline.preprocess` runs the default band-pass and the
    interpolation in one FFT pass per channel (``powerline_rows(..., bandpass=...)``).

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
from collections.abc import Iterable, Mapping, Sequence
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
from .mains import MAINS_DEFAULTS, detect_powerline_array, detect_rows, line_ratios_array

__all__ = [
    "remove_powerline",
    "detect_powerline",
    "notch_array",
    "interpolate_spectrum_array",
    "harmonics",
    "spectral_rows",
    "POWERLINE_DEFAULTS",
]

#: Defaults of removal (each is a keyword parameter); detection defaults are
#: :data:`paraspinal.preprocessing.mains.MAINS_DEFAULTS`, merged in here.
POWERLINE_DEFAULTS: dict[str, Any] = {
    **MAINS_DEFAULTS,
    "width": 1.0,  # Hz: interpolation half-width
    "notch_width": 0.3,  # Hz: notch -3 dB bandwidth (single pass)
    "neighbours": 2.0,  # Hz of neighbouring bins used by interpolation, each side
    "excess": 4.0,  # a bin within +-width is replaced only if its power exceeds this x the neighbours'
    "fft_segment_s": 64.0,  # s: longer recordings are interpolated in overlapping segments
    "stop_width": 0.25,  # Hz: half-width of a stop band's flat bottom at the fundamental (+ max_drift x k)
    "transition": 0.5,  # Hz: raised-cosine edge of each stop band
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

def detect_powerline(rec: Recording, *, picks: str | Iterable[str] | None = None,
                     **kwargs: Any) -> dict[str, Any]:
    """Detect the mains frequency of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
    picks : str or list of str, optional
        Channels inspected (default all EMG).
    **kwargs
        Passed to :func:`~paraspinal.preprocessing.mains.detect_powerline_array`.

    Returns
    -------
    dict
        As :func:`~paraspinal.preprocessing.mains.detect_powerline_array` (amplitudes in
        uV), plus ``channels``.

    References
    ----------
    Welch PD (1967) IEEE Trans Audio Electroacoust 15:70-73; Thomson DJ (1982) Proc IEEE
    70:1055-1096.
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
                               out: np.ndarray | None = None, chunk: int = 1,
                               segment_s: float = POWERLINE_DEFAULTS["fft_segment_s"],
                               excess: float = POWERLINE_DEFAULTS["excess"]) -> np.ndarray:
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
        Ignored (kept for compatibility; rows are processed one per thread).
    segment_s : float
        Recordings longer than this (s) are processed in overlapping segments of about
        this length (default 64 s); see ``spectral_rows``.
    excess : float
        Only bins of the band whose power exceeds ``excess`` times the interpolated
        neighbour power are replaced (default 4, i.e. 6 dB); ``0`` replaces the whole band
        as Mewett et al. do.

    Returns
    -------
    ndarray

    Notes
    -----
    The DFT is taken of the whole channel when it is shorter than ``segment_s``, else of
    overlapping segments (``spectral_rows``). For every harmonic ``h`` the bins with ``|f - h| <= width`` get the magnitude
    ``sqrt(mean |X|^2)`` of the bins in ``(h - width - neighbours, h - width)`` on the
    left and ``(h + width, h + width + neighbours)`` on the right, interpolated linearly
    in frequency between the two sides; their phase is kept. The mean of the signal
    (bin 0) is untouched.

    Only bins where the line stands out are replaced: a bin keeps its value unless its
    power exceeds ``excess`` times the interpolated neighbour power. Replacing the whole
    band would refill it with the recording's *average* EMG magnitude, which spreads
    evenly in time: in a silent phase (full flexion) that adds power the muscle never
    produced and biases the extension/relaxation ratio low (15-20 % on the synthetic
    sample study). Bins of broadband EMG exceed 4x their mean power with probability
    e**-4 (1.8 %), and a mains line exceeds it by orders of magnitude. Mewett, Nazeran & Reynolds (2001) replace the line bins by the
    average of their neighbours; we average power rather than magnitude so the
    expected power of broadband EMG in the replaced bins is preserved.

    References
    ----------
    Mewett DT, Nazeran H, Reynolds KJ (2001) Proc IEEE EMBS 23:2190-2193.
    Mewett DT, Reynolds KJ, Nazeran H (2004) Med Biol Eng Comput 42:524-531.
    """
    x, was_1d = as_2d(data)
    fs = check_sfreq(sfreq)
    if width <= 0 or neighbours <= 0:
        raise ParameterError(f"width and neighbours must be positive, got {width}, {neighbours}")
    if out is None:
        out = np.empty(x.shape)
    elif was_1d:
        out = out.reshape(1, -1)
    if out is not x:
        out[...] = x
    spectral_rows(out, range(out.shape[0]), fs, line_freq=freq, max_freq=max_freq, width=width,
                  neighbours=neighbours, segment_s=segment_s, excess=excess)
    return out[0] if was_1d else out


# ---------------------------------------------------------------------------- one-pass FFT kernel

def _line_plans(L: int, fs: float, hs: np.ndarray, width: float,
                neighbours: float) -> list[tuple[slice, slice, slice, np.ndarray]]:
    """Bin ranges (replaced, left and right reference bands) of each harmonic for an L-point DFT."""
    df = fs / L
    top = L // 2
    plans = []
    for h in hs:
        lo_c, hi_c = int(math.ceil((h - width) / df)), int(math.floor((h + width) / df))
        l0 = max(int(math.ceil((h - width - neighbours) / df)), 1)
        r1 = min(int(math.floor((h + width + neighbours) / df)), top)
        c0, c1 = max(lo_c, 1), min(hi_c, top)
        if c1 < c0 or lo_c <= l0 or r1 < hi_c + 1:
            continue
        fl = 0.5 * (l0 + lo_c - 1) * df  # centre of the left band
        fr = 0.5 * (hi_c + 1 + r1) * df
        wgt = np.clip((np.arange(c0, c1 + 1) * df - fl) / (fr - fl), 0.0, 1.0)
        plans.append((slice(l0, lo_c), slice(hi_c + 1, r1 + 1), slice(c0, c1 + 1), wgt))
    return plans


def _interpolate_lines(X: np.ndarray, plans: list, excess: float = POWERLINE_DEFAULTS["excess"]) -> np.ndarray:
    """Spectrum interpolation (Mewett et al. 2001) of the rows of ``X`` in place.

    Within each harmonic's band only the bins whose power exceeds ``excess`` times the
    interpolated neighbour power are replaced (``excess <= 0``: every bin of the band).
    Returns, per row, ``sum |X_k - X'_k|**2`` over the replaced bins (the removed part's
    one-sided spectral energy).
    """
    removed = np.zeros(X.shape[0])
    for left, right, centre, wgt in plans:
        xl = X[:, left]
        xr = X[:, right]
        pl = np.sqrt(np.mean(xl.real ** 2 + xl.imag ** 2, axis=1, keepdims=True))
        pr = np.sqrt(np.mean(xr.real ** 2 + xr.imag ** 2, axis=1, keepdims=True))
        mag = pl + (pr - pl) * wgt[np.newaxis, :]
        c = X[:, centre]
        a = np.abs(c)
        new = np.where(a > 0, c * (mag / np.where(a > 0, a, 1.0)), mag)
        if excess > 0:
            new = np.where(a * a > excess * mag * mag, new, c)
        d = c - new
        removed += np.sum(d.real ** 2 + d.imag ** 2, axis=1)
        X[:, centre] = new
    return removed


def _layout(n: int, fs: float, segment_s: float, P: int) -> tuple[int, int, int, int, int]:
    """Segment grid of ``spectral_rows``: segment length, margin, kept length, hop, number.

    A record that fits in one segment is transformed whole (circularly, after removing the
    end-joining line); otherwise segments of about ``segment_s`` with margins ``P`` on both
    sides, consecutive kept parts overlapping by ``P``.
    """
    n_seg = sfft.next_fast_len(max(int(round(segment_s * fs)), 8 * (3 * P)), real=True)
    if n <= n_seg - 2 * P:
        return n, 0, n, n, 1
    V = n_seg - 2 * P
    hop = V - P
    return n_seg, P, V, hop, 1 + int(math.ceil(max(n - V, 0) / hop))


def _stop_gains(freqs: np.ndarray, rows: Sequence[int], stopbands: Mapping[int, Sequence[float]], f0: float,
                stop_width: float, max_drift: float, transition: float) -> dict[int, Any]:
    """Per row: (bins touched, their gain) of its stop bands, shared by rows with the same harmonics."""
    cache: dict[tuple, tuple[np.ndarray, np.ndarray] | None] = {}
    out = {}
    for i in rows:
        key = tuple(sorted(float(h) for h in stopbands.get(i, ())))
        if key not in cache:
            g = stopband_gain(freqs, key, f0, stop_width=stop_width, max_drift=max_drift,
                              transition=transition) if key else np.ones(len(freqs))
            idx = np.flatnonzero(g < 1.0)
            cache[key] = (idx, g[idx]) if len(idx) else None
        out[i] = cache[key]
    return out


def _stop(X: np.ndarray, idx: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Multiply the bins ``idx`` of the rows of ``X`` by ``g`` in place; returns the removed energy per row."""
    c = X[:, idx]
    d = c * (1.0 - g)[np.newaxis, :]
    X[:, idx] = c - d
    return np.sum(d.real ** 2 + d.imag ** 2, axis=1)


def _read_virtual(x: np.ndarray, E: int, a: int, out: np.ndarray) -> None:
    """Write samples ``a .. a + len(out)`` of the odd-extended signal into ``out``.

    The virtual signal is ``[odd extension (E), x, odd extension (E)]`` (as
    :func:`scipy.signal.sosfiltfilt` pads), zero outside.
    """
    n = len(x)
    b = a + len(out)
    lo, hi = max(a, E), min(b, E + n)
    if lo == a and hi == b:  # interior frame: one copy
        out[:] = x[a - E:b - E]
        return
    out[:] = 0.0
    if hi > lo:
        out[lo - a:hi - a] = x[lo - E:hi - E]
    lo, hi = max(a, 0), min(b, E)  # left extension: 2 x[0] - x[E - v]
    if hi > lo:
        v = np.arange(lo, hi)
        out[lo - a:hi - a] = 2.0 * x[0] - x[E - v]
    lo, hi = max(a, E + n), min(b, 2 * E + n)  # right extension: 2 x[-1] - x[n - 2 - j]
    if hi > lo:
        j = np.arange(lo, hi) - E - n
        out[lo - a:hi - a] = 2.0 * x[n - 1] - x[n - 2 - j]


def stopband_gain(freqs: np.ndarray, centres: Sequence[float], f0: float, *,
                  stop_width: float = POWERLINE_DEFAULTS["stop_width"],
                  max_drift: float = POWERLINE_DEFAULTS["max_drift"],
                  transition: float = POWERLINE_DEFAULTS["transition"]) -> np.ndarray:
    """Zero-phase magnitude of the mains stop bands at ``centres`` (harmonics of ``f0``).

    Around each centre ``h = k f0`` the gain is 0 within ``a_k = stop_width + k max_drift``
    Hz (the band a line drifting by ``max_drift`` Hz at the fundamental sweeps), rises as a
    raised cosine, ``sin**2``, over the next ``transition`` Hz and is 1 beyond.

    Parameters
    ----------
    freqs : ndarray
        Frequencies in Hz.
    centres : sequence of float
        Harmonics to stop, Hz.
    f0 : float
        Fundamental in Hz (gives the harmonic number of each centre).
    stop_width, max_drift, transition : float
        Hz (defaults 0.25, 0.2 and 0.5).

    Returns
    -------
    ndarray
        Gain in [0, 1], same shape as ``freqs``.

    References
    ----------
    Oppenheim AV, Schafer RW (2010). Discrete-Time Signal Processing, 3rd ed., section 7.5
    (frequency-domain filter design with smooth transition bands); Mewett DT, Reynolds KJ,
    Nazeran H (2004) Med Biol Eng Comput 42:524-531 (notch filtering of mains in EMG).
    """
    g = np.ones(np.shape(freqs))
    for h in centres:
        k = max(int(round(h / f0)), 1)
        a = stop_width + max_drift * k
        d = np.abs(np.asarray(freqs) - h)
        u = np.clip((d - a) / transition, 0.0, 1.0)
        g *= np.where(d <= a, 0.0, np.sin(0.5 * np.pi * u) ** 2)
    return g


def spectral_rows(data: np.ndarray, rows: Sequence[int], sfreq: float, *,
                  low: float | None = None, high: float | None = None, order: int = 4,
                  padlen: int | None = None, pad_periods: float = 3.0,
                  line_freq: float | None = None, max_freq: float | None = None,
                  width: float = POWERLINE_DEFAULTS["width"],
                  neighbours: float = POWERLINE_DEFAULTS["neighbours"],
                  segment_s: float = POWERLINE_DEFAULTS["fft_segment_s"],
                  excess: float = POWERLINE_DEFAULTS["excess"],
                  stopbands: Mapping[int, Sequence[float]] | None = None,
                  stop_width: float = POWERLINE_DEFAULTS["stop_width"],
                  max_drift: float = POWERLINE_DEFAULTS["max_drift"],
                  transition: float = POWERLINE_DEFAULTS["transition"],
                  workers: int | None = None, names: Sequence[str] | None = None,
                  file: str | None = None) -> dict[str, Any]:
    """Zero-phase band-pass and mains removal of rows of ``data`` in one FFT pass, in place.

    The mains part is spectrum interpolation at the harmonics of ``line_freq``, or, with
    ``stopbands`` (row -> harmonics in Hz), the zero-phase stop bands of
    ``stopband_gain`` at those harmonics of ``line_freq`` (the default method).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        Signals; the rows ``rows`` are replaced.
    rows : sequence of int
        Rows to process.
    sfreq : float
        Sampling rate in Hz.
    low, high : float or None
        Band-pass cut-offs in Hz (-3.01 dB points of the zero-phase response, as
        :func:`paraspinal.preprocessing.filters.butter_sos`); both None: no filtering.
    order : int
        Butterworth order per edge (default 4).
    padlen : int, optional
        Odd-symmetric padding at the two ends of the recording (default 3 periods of the
        lowest cut-off, as :func:`~paraspinal.preprocessing.filters.bandpass`; without a
        filter, 3 periods of 20 Hz, the default band-pass's padding).
    pad_periods : float
        Periods of the lowest cut-off for the default padding.
    line_freq : float or None
        Mains fundamental in Hz whose harmonics are removed by spectrum interpolation
        (None: no interpolation).
    max_freq, width, neighbours, excess : float
        As :func:`interpolate_spectrum_array`.
    stopbands : mapping of int to sequence of float, optional
        Per row, the harmonics to stop (empty: none); replaces interpolation.
    stop_width, max_drift, transition : float
        Stop-band shape (``stopband_gain``).
    segment_s : float
        Longer recordings are processed in overlapping segments of about this many
        seconds (default 64 s).
    workers : int, optional
        Threads (default up to 2); the result does not depend on it.
    names, file : optional
        For error messages.

    Returns
    -------
    dict
        Provenance: implementation, segment and overlap lengths, padding.

    Notes
    -----
    Each segment is transformed (:func:`scipy.fft.rfft` on a fast length), multiplied
    by the analytic zero-phase magnitude |H_eff(f)| of the dual-pass-corrected
    Butterworth (:func:`~paraspinal.preprocessing.filters.zero_phase_response`; real,
    hence exactly zero phase, and equal to the steady-state response of
    :func:`scipy.signal.sosfiltfilt` with the same design), the bins within ``width``
    of every mains harmonic get the RMS magnitude of their neighbours with their phase
    kept (Mewett et al. 2001), and the segment is transformed back. Segments are laid
    out by overlap-save: each has a margin of ``P`` samples on both sides (at least 1 s
    and about 30 time constants of the slowest filter pole, so the truncated impulse
    response errs by < 1e-9) that is discarded, and consecutive kept parts overlap by
    ``P`` samples where they are cross-faded with complementary sin^2/cos^2 ramps (the
    band-pass part is identical in both; the cross-fade only joins the interpolated line
    estimates smoothly). At the two ends of the recording the signal is odd-extended by
    ``padlen`` samples, as :func:`scipy.signal.sosfiltfilt` does. A recording that fits
    in one segment is transformed whole, exactly ``n`` points (no padding), after
    subtracting the straight line joining its first and last samples so that its
    periodic extension has no jump; the line is added back unless the filter has a
    high-pass edge (whose steady-state response to a straight line is exactly zero for
    order >= 2). The segment grid depends only on the number of samples, the sampling
    rate and ``segment_s``: spectrum interpolation replaces the line bins by EMG-like
    content whose waveform depends on the DFT grid, so the one-pass band-pass +
    interpolation equals the two steps run one after the other (away from the ends) only
    because both use the same grid. Temporary memory per thread: about
    ``2**19`` samples of segments, plus their spectra and inverse transforms (~20 MB).

    References
    ----------
    Mewett DT, Nazeran H, Reynolds KJ (2001) Proc IEEE EMBS 23:2190-2193; Winter DA
    (2009) section 3.4.4.3; Robertson DGE, Dowling JJ (2003) J Electromyogr Kinesiol
    13:569-573.
    """
    from .filters import _channel_label, _check_length, butter_sos, default_padlen, design_cutoffs, \
        run_rows, zero_phase_response

    fs = check_sfreq(sfreq, file)
    rows = list(rows)
    n = data.shape[-1]
    filt = low is not None or high is not None
    if filt:
        butter_sos(fs, low, high, order, file=file, channel=_channel_label(names))  # validates the cut-offs
        E = default_padlen(fs, low, high, pad_periods) if padlen is None else int(padlen)
    else:  # padding at the ends of long records only; the segment grid does not depend on it
        E = default_padlen(fs, 20.0, None, pad_periods) if padlen is None else int(padlen)
    E = min(E, max(n - 1, 0))
    if E < 0:
        raise ParameterError(f"padlen must be >= 0, got {E}", file=file)
    if filt:
        fc_text = " - ".join(f"{c:g} Hz" for c in (low, high) if c is not None)
        kind = "band-pass" if (low is not None and high is not None) else (
            "high-pass" if low is not None else "low-pass")
        _check_length(n, E, kind, fc_text, fs, file, names)
        lo_d, hi_d = design_cutoffs(fs, low, high, order)
        f_slow = min(c for c in (lo_d, hi_d) if c is not None)
        tau = 1.0 / (2.0 * math.pi * f_slow * math.sin(math.pi / (2.0 * order)))  # slowest pole, s
        settle = int(math.ceil(30.0 * tau * fs))
    else:
        settle = 0
    hs = np.empty(0)
    stop = stopbands is not None and line_freq is not None
    if stop:
        if stop_width < 0 or max_drift < 0 or transition <= 0:
            raise ParameterError("stop_width and max_drift must be >= 0 and transition > 0", file=file)
        if not any(len(stopbands.get(i, ())) for i in rows):
            stop = False
    elif line_freq is not None:
        if width <= 0 or neighbours <= 0:
            raise ParameterError(f"width and neighbours must be positive, got {width}, {neighbours}", file=file)
        hs = harmonics(float(line_freq), fs, max_freq, margin=width + neighbours)
    if not rows or (not filt and not len(hs) and not stop):
        return {"implementation": "none", "removed_rms": [0.0] * len(rows)}
    P = max(settle, int(math.ceil(fs)), E)  # margin discarded on each side of a segment (>= 1 s)
    if stop:  # the stop bands' impulse response lasts about 1 / transition: 2 of those
        P = max(P, int(math.ceil(2.0 * fs / transition)))
    O = P  # cross-fade length
    n_seg, P_, V, hop, K = _layout(n, fs, segment_s, P)
    freqs = sfft.rfftfreq(n_seg, 1.0 / fs)
    gain = zero_phase_response(freqs, fs, low, high, order) if filt else None
    plans = _line_plans(n_seg, fs, hs, width, neighbours) if len(hs) else []
    stop_gain = (_stop_gains(freqs, rows, stopbands, float(line_freq), stop_width, max_drift, transition)
                 if stop else {})
    ramp = np.sin(0.5 * np.pi * (np.arange(O) + 0.5) / O) ** 2 if K > 1 else None
    batch = max(1, (1 << 19) // n_seg)

    keep_line = not (filt and low is not None)  # a high-pass edge removes a straight line exactly

    removed_rms = dict.fromkeys(rows, 0.0)

    def one(i: int) -> None:
        x = data[i]
        if K == 1:
            ramp_ = np.linspace(x[0], x[-1], n) if n > 1 else x.copy()
            X = sfft.rfft((x - ramp_)[np.newaxis, :], axis=-1)
            if gain is not None:
                X *= gain
            if plans:  # removed power: two-sided energy 2 sum |dX|^2 / n, over n samples
                removed_rms[i] = math.sqrt(2.0 * float(_interpolate_lines(X, plans, excess)[0]) / n / n)
            elif stop_gain.get(i) is not None:
                removed_rms[i] = math.sqrt(2.0 * float(_stop(X, *stop_gain[i])[0]) / n / n)
            x[:] = sfft.irfft(X, n, axis=-1)[0]
            if keep_line:
                x += ramp_
            return
        F = np.empty((min(batch, K), n_seg))
        _read_virtual(x, E, E - P_, F[0])
        k = 0
        energy = 0.0
        while k < K:
            nb = min(batch, K - k)
            for j in range(1, nb):
                _read_virtual(x, E, E + (k + j) * hop - P_, F[j])
            X = sfft.rfft(F[:nb], axis=-1)
            if gain is not None:
                X *= gain
            if plans:  # mean power removed per segment, averaged over segments
                energy += float(np.sum(_interpolate_lines(X, plans, excess))) * 2.0 / n_seg / n_seg
            elif stop_gain.get(i) is not None:
                energy += float(np.sum(_stop(X, *stop_gain[i]))) * 2.0 / n_seg / n_seg
            Y = sfft.irfft(X, n_seg, axis=-1)
            del X
            if k + nb < K:  # read the next frame before this batch overwrites its start
                _read_virtual(x, E, E + (k + nb) * hop - P_, F[0])
            for j in range(nb):
                kk = k + j
                c = kk * hop  # first kept sample, in x coordinates
                y = Y[j, P_:P_ + V]
                stop = min(c + V, n)
                m = stop - c
                head = O if kk > 0 else 0
                tail = O if kk < K - 1 else 0
                if head:
                    h = min(head, m)
                    x[c:c + h] += y[:h] * ramp[:h]
                mid_end = max(min(m, V - tail), head)
                if mid_end > head:
                    x[c + head:c + mid_end] = y[head:mid_end]
                if tail and m > V - tail:
                    t0 = V - tail
                    x[c + t0:c + m] = y[t0:m] * ramp[::-1][:m - t0]
            del Y
            k += nb
        removed_rms[i] = math.sqrt(energy / K)

    run_rows(one, rows, workers, n)
    return {"implementation": "FFT zero-phase (overlap-save segments)" if K > 1 else "FFT zero-phase (whole record)",
            "segment_samples": int(n_seg), "n_segments": int(K), "margin_samples": int(P_),
            "crossfade_samples": int(O) if K > 1 else 0, "padlen": int(E),
            "removed_rms": [removed_rms[i] for i in rows]}


# ---------------------------------------------------------------------------- Recording form

def remove_powerline(rec: Recording, freq: float | str | None = "auto", *,
                     method: str = "stopband", max_freq: float | None = None,
                     width: float = POWERLINE_DEFAULTS["width"],
                     neighbours: float = POWERLINE_DEFAULTS["neighbours"],
                     notch_width: float = POWERLINE_DEFAULTS["notch_width"],
                     excess: float = POWERLINE_DEFAULTS["excess"],
                     picks: str | Iterable[str] | None = None, include_ecg: bool = False,
                     candidates: Sequence[float] = POWERLINE_DEFAULTS["candidates"],
                     threshold: float = POWERLINE_DEFAULTS["threshold"],
                     dominance: float = POWERLINE_DEFAULTS["dominance"],
                     n_harmonics: int = POWERLINE_DEFAULTS["n_harmonics"],
                     window_s: float = POWERLINE_DEFAULTS["window_s"],
                     false_alarm: float = POWERLINE_DEFAULTS["false_alarm"],
                     max_drift: float = POWERLINE_DEFAULTS["max_drift"],
                     stop_width: float = POWERLINE_DEFAULTS["stop_width"],
                     transition: float = POWERLINE_DEFAULTS["transition"],
                     detect_options: Mapping[str, Any] | None = None) -> Recording:
    """Remove powerline interference (fundamental and harmonics) from EMG channels.

    Parameters
    ----------
    rec : Recording
        Input (not modified).
    freq : float, "auto", "none" or None
        Mains fundamental in Hz; ``"auto"`` (default) detects it by the narrowness of the
        line in the quiet windows (:func:`~paraspinal.preprocessing.mains.detect_powerline_array`)
        and does nothing when no line is found; ``"none"``/None does nothing.
    method : {"stopband", "interpolation", "notch"}
        ``"stopband"`` (default): zero-phase stop bands (``stopband_gain``), as wide as
        the drift of the line, at the harmonics where a line stands out on each channel;
        ``"interpolation"``: spectrum interpolation (Mewett et al. 2001) at every
        harmonic; ``"notch"``: zero-phase IIR notches at every harmonic.
    max_freq : float, optional
        Highest harmonic removed (default Nyquist).
    stop_width, transition : float
        Hz; half-width of a stop band's flat bottom at the fundamental (default 0.25 Hz,
        plus ``max_drift`` per harmonic number) and its raised-cosine edge (0.5 Hz).
    width : float
        Hz; interpolation half-width (default 1 Hz).
    notch_width : float
        Hz; notch -3 dB bandwidth (default 0.3 Hz).
    excess : float
        Interpolation replaces only the bins whose power exceeds this multiple of the
        neighbours' (default 4; 0: the whole band). See :func:`interpolate_spectrum_array`.
    neighbours : float
        Hz of reference bins each side for interpolation (default 2 Hz).
    picks : str or list of str, optional
        Channels (default all EMG).
    include_ecg : bool
        Also treat ECG channels.
    candidates, threshold, dominance, n_harmonics, window_s, false_alarm, max_drift
        Detection parameters (defaults in :data:`~paraspinal.preprocessing.mains.MAINS_DEFAULTS`).
    detect_options : mapping, optional
        Other detection parameters (``max_windows``, ``gap``, ``neighbourhood``,
        ``level_band``).

    Returns
    -------
    Recording
        New Recording; the ``"powerline"`` provenance record says which frequency was
        used (``result.frequency``: a number, or None for "none"), per channel whether a
        line was found (``detected``), the line amplitude estimated in the quiet windows
        (``line_uv``, uV per harmonic) and the RMS removed (``removed_uv``), and for
        ``"auto"`` the detection statistics (``detection``).

    References
    ----------
    Mewett DT, Nazeran H, Reynolds KJ (2001) Proc IEEE EMBS 23:2190-2193; Thomson DJ
    (1982) Proc IEEE 70:1055-1096.
    """
    params = {"freq": freq, "method": method, "max_freq": max_freq, "width": width,
              "neighbours": neighbours, "notch_width": notch_width, "excess": excess, "picks": picks,
              "include_ecg": include_ecg,
              "candidates": list(candidates), "threshold": threshold, "dominance": dominance,
              "n_harmonics": n_harmonics, "window_s": window_s, "false_alarm": false_alarm,
              "max_drift": max_drift, "stop_width": stop_width, "transition": transition,
              "detect_options": dict(detect_options or {})}
    names = signal_channels(rec, picks, include_ecg)
    data = rec.raw.get_data()
    rows = rows_of(rec, names)
    res = powerline_rows(data, rows, rec.sfreq, freq, method=method, max_freq=max_freq, width=width,
                         neighbours=neighbours, notch_width=notch_width, excess=excess, candidates=candidates,
                         threshold=threshold, dominance=dominance, n_harmonics=n_harmonics, window_s=window_s,
                         false_alarm=false_alarm, max_drift=max_drift, stop_width=stop_width,
                         transition=transition, detect_options=detect_options, file=source_of(rec), names=names)
    return new_recording(rec, data, step=provenance("powerline", params, **res))


def powerline_rows(data: np.ndarray, rows: Sequence[int], sfreq: float, freq: float | str | None = "auto", *,
                   method: str = "stopband", max_freq: float | None = None,
                   width: float = POWERLINE_DEFAULTS["width"],
                   neighbours: float = POWERLINE_DEFAULTS["neighbours"],
                   notch_width: float = POWERLINE_DEFAULTS["notch_width"],
                   excess: float = POWERLINE_DEFAULTS["excess"],
                   candidates: Sequence[float] = POWERLINE_DEFAULTS["candidates"],
                   threshold: float = POWERLINE_DEFAULTS["threshold"],
                   dominance: float = POWERLINE_DEFAULTS["dominance"],
                   n_harmonics: int = POWERLINE_DEFAULTS["n_harmonics"],
                   window_s: float = POWERLINE_DEFAULTS["window_s"],
                   false_alarm: float = POWERLINE_DEFAULTS["false_alarm"],
                   max_drift: float = POWERLINE_DEFAULTS["max_drift"],
                   stop_width: float = POWERLINE_DEFAULTS["stop_width"],
                   transition: float = POWERLINE_DEFAULTS["transition"],
                   detect_options: Mapping[str, Any] | None = None,
                   file: str | None = None, bandpass: Mapping[str, Any] | None = None,
                   names: Sequence[str] | None = None, scale: float = 1e6) -> dict[str, Any]:
    """Detect (optionally) and remove mains interference in rows of ``data``, in place.

    Parameters as :func:`remove_powerline`; ``scale`` converts the data unit to uV (the
    data of a Recording are in volts: 1e6). Returns the provenance result
    (``frequency``, ``harmonics``, ``channels``, ``detected``, ``line_uv``,
    ``removed_uv``, ``detection``).

    ``bandpass`` (a mapping with ``low``, ``high`` and optionally ``order``, ``padlen``,
    ``pad_periods``) fuses a zero-phase band-pass into the same FFT pass
    (``spectral_rows``; ``method`` must be ``"interpolation"``): the detection then
    scores the raw rows with the band-pass response applied to their spectrum, and the
    band-pass provenance is returned under ``"bandpass"``. This is what
    :func:`paraspinal.pipeline.preprocess` does for a band-pass step followed by a
    powerline step; the result equals the two steps run one after the other except
    within about ``padlen`` samples of the ends (edge padding differs from
    :func:`scipy.signal.sosfiltfilt`'s).
    """
    if bandpass is not None and method not in ("interpolation", "stopband"):
        raise ParameterError("a band-pass can only be fused with spectrum interpolation or stop bands", file=file)
    bp = None
    if bandpass is not None:
        from .filters import zero_phase_response

        bp = {"low": bandpass.get("low", 20.0), "high": bandpass.get("high", 450.0),
              "order": int(bandpass.get("order", 4)), "padlen": bandpass.get("padlen"),
              "pad_periods": float(bandpass.get("pad_periods", 3.0))}

        def gain(f):
            return zero_phase_response(f, sfreq, bp["low"], bp["high"], bp["order"])
    else:
        gain = None
    if method not in ("stopband", "interpolation", "notch"):
        raise ParameterError(f"unknown powerline method {method!r}", file=file,
                             hint="use 'stopband' (default), 'interpolation' or 'notch'")
    detection = None
    opts = {**{k: MAINS_DEFAULTS[k] for k in ("max_windows", "gap", "neighbourhood", "level_band")},
            **dict(detect_options or {})}
    bad = set(opts) - set(MAINS_DEFAULTS)
    if bad:
        raise ParameterError(f"unknown detect_options {sorted(bad)}", file=file,
                             hint=f"valid ones are {sorted(MAINS_DEFAULTS)}")

    def detect(given: float | None) -> dict[str, Any]:
        return detect_rows(data, rows, sfreq, candidates=candidates, threshold=threshold, dominance=dominance,
                           n_harmonics=n_harmonics, window_s=window_s, false_alarm=false_alarm,
                           max_drift=max_drift, gain=gain, scale=scale, given=given, max_freq=max_freq,
                           file=file, **opts)

    if isinstance(freq, str):
        key = freq.lower()
        if key == "auto":
            if rows:
                detection = detect(None)
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
    if detection is None and f0 is not None and rows and method == "stopband":
        detection = detect(f0)  # which harmonics stand out on which channel
    stopbands = None
    if method == "stopband" and f0 is not None and detection is not None:
        lines = detection.get("line_harmonics") or [[] for _ in rows]
        forced = not (isinstance(freq, str) and freq.lower() == "auto")
        top = sfreq / 2.0 if max_freq is None else min(float(max_freq), sfreq / 2.0)
        stopbands = {}
        for j, i in enumerate(rows):
            hs_j = sorted(set(lines[j]) | ({f0} if forced or detection["detected"][j] else set()))
            stopbands[i] = [h for h in hs_j if h + stop_width + max_drift * round(h / f0) + transition < top]
    result: dict[str, Any] = {"frequency": f0, "method": method}
    if detection is not None:
        result["detection"] = {k: detection[k] for k in (
            "scores", "threshold", "dominance", "false_alarm", "channel_scores", "channel_thresholds",
            "harmonic_scores", "n_windows", "window_s", "effective_windows")}
    removed = None
    if bp is not None:
        from .filters import design_cutoffs

        impl = spectral_rows(data, rows, sfreq, low=bp["low"], high=bp["high"], order=bp["order"],
                             padlen=bp["padlen"], pad_periods=bp["pad_periods"], line_freq=f0, max_freq=max_freq,
                             width=width, neighbours=neighbours, excess=excess, stopbands=stopbands,
                             stop_width=stop_width, max_drift=max_drift, transition=transition,
                             names=names, file=file)
        lo_d, hi_d = design_cutoffs(sfreq, bp["low"], bp["high"], bp["order"])
        result["bandpass"] = {"padlen": impl.get("padlen"), "zero_phase": True, "order_per_edge": bp["order"],
                              "design_cutoffs_hz": [lo_d, hi_d], "gain_at_cutoff_db": -3.01,
                              "implementation": impl.get("implementation", "") + ", fused with powerline",
                              "segment_samples": impl.get("segment_samples")}
        removed = impl.pop("removed_rms", None)
        result["implementation"] = impl
        result["harmonics"] = _harmonics_used(f0, sfreq, max_freq, width + neighbours, stopbands)
    elif f0 is None or not rows:
        result["harmonics"] = []
    else:
        if method in ("interpolation", "stopband"):
            impl = spectral_rows(data, rows, sfreq, line_freq=f0, max_freq=max_freq, width=width,
                                 neighbours=neighbours, excess=excess, stopbands=stopbands, stop_width=stop_width,
                                 max_drift=max_drift, transition=transition, file=file)
            removed = impl.pop("removed_rms", None)
            result["implementation"] = impl
        else:
            removed = []
            for i in rows:
                before = data[i].copy()
                notch_array(data[i], sfreq, f0, max_freq=max_freq, width=notch_width, out=data[i])
                before -= data[i]
                removed.append(float(np.sqrt(np.mean(before * before))))
        margin = width + neighbours if method == "interpolation" else notch_width
        result["harmonics"] = _harmonics_used(f0, sfreq, max_freq, margin, stopbands)
    result.update(_per_channel(detection, f0, rows, names, removed, scale, stopbands))
    return result


def _harmonics_used(f0: float | None, sfreq: float, max_freq: float | None, margin: float,
                    stopbands: Mapping[int, Sequence[float]] | None) -> list[float]:
    if f0 is None:
        return []
    if stopbands is not None:
        return sorted({float(h) for hs in stopbands.values() for h in hs})
    return harmonics(f0, sfreq, max_freq, margin=margin).tolist()


def _per_channel(detection: dict[str, Any] | None, f0: float | None, rows: Sequence[int],
                 names: Sequence[str] | None, removed: Sequence[float] | None, scale: float,
                 stopbands: Mapping[int, Sequence[float]] | None = None) -> dict[str, Any]:
    """Per-channel provenance: line found?, its amplitude in the quiet windows, RMS removed (uV)."""
    labels = list(names) if names is not None else [f"row{i}" for i in rows]
    out: dict[str, Any] = {"channels": labels}
    if stopbands is not None:
        out["stopped_hz"] = dict(zip(labels, [list(stopbands.get(i, [])) for i in rows]))
    if removed is not None:
        out["removed_uv"] = dict(zip(labels, [float(r) * scale for r in removed]))
    else:
        out["removed_uv"] = dict.fromkeys(labels, 0.0)
    if detection is not None and f0 is not None:
        out["detected"] = dict(zip(labels, detection["detected"]))
        out["line_uv"] = {h: dict(zip(labels, v)) for h, v in detection["line_uv"].get(f0, {}).items()}
    elif detection is not None:
        out["detected"] = dict.fromkeys(labels, False)
        out["note"] = "no mains line found: nothing removed"
    return out
