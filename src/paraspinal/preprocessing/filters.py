"""Zero-phase Butterworth filters: band-pass, high-pass, low-pass.

Every filter is a Butterworth design in second-order sections applied forward and
backward (:func:`scipy.signal.sosfiltfilt`), so it has no phase shift and no lag.

**What the cut-off means.** ``low``/``high``/``cutoff`` are the -3 dB points of the
*applied* (zero-phase, forward-backward) response: ``|H_eff(fc)| = 2**-0.5``, i.e. -3.01 dB
at each stated cut-off. Running a filter forward and backward squares its magnitude, so
the single-pass design must have ``|H|**2 = 2**-0.5`` (not 1/2) at fc: this is the dual-pass
correction of Winter (2009, section 3.4.4.3) and Robertson & Dowling (2003). For an
Nth-order Butterworth made by the bilinear transform (what :func:`scipy.signal.butter`
returns) the single-pass magnitude is exactly Butterworth on the pre-warped axis
``W = tan(pi f / fs)``. With ``C = (2**0.5 - 1)**(1 / (2 N))`` the design edges are

* low-pass edge:  ``W_design = W_c / C``  (the design corner lies above fc),
* high-pass edge: ``W_design = W_c * C``  (the design corner lies below fc),

and ``f_design = (fs / pi) * arctan(W_design)``. Because the correction is made on the
warped axis, a corrected low-pass edge always stays below Nyquist (450 Hz at fs = 1 kHz
is designed at about 455 Hz). The effective zero-phase magnitude per edge is then::

    |H_eff(f)| = |H(f)|**2 = 1 / (1 + (W / W_design)**(2N))      (low-pass edge)
    |H_eff(f)| = 1 / (1 + (W_design / W)**(2N))                  (high-pass edge)

i.e. -3.01 dB at each stated cut-off, with twice the single-pass roll-off (order 4 ->
48 dB/octave far from the edge). A **band-pass is a cascade** of a corrected high-pass
and a corrected low-pass Butterworth of order ``order`` each (4 + 4 second-order sections
for the default order 4), so its response is the product of the two edge responses
above; :func:`zero_phase_response` evaluates it, and the tests check it by filtering
impulses and sinusoids. A stated cut-off at or above Nyquist is refused (never clamped).

**Defaults.** Band-pass 20-450 Hz, 4th order: a 20 Hz high-pass corner removes movement
artefact and baseline noise with the least loss of EMG power (De Luca et al. 2010), and
SENIAM recommends a 10-20 Hz high-pass and a ~500 Hz low-pass (Hermens et al. 2000).

Only EMG channels are filtered (ECG too if asked); ``misc`` channels (trunk angle, IMU)
are never touched.

References
----------
De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010). Filtering the surface EMG signal:
movement artifact and baseline noise contamination. J Biomech 43(8):1573-1579.
Hermens HJ, Freriks B, Disselhorst-Klug C, Rau G (2000). Development of recommendations
for SEMG sensors and sensor placement procedures (SENIAM). J Electromyogr Kinesiol
10(5):361-374.
Butterworth S (1930). On the theory of filter amplifiers. Experimental Wireless 7:536-541.
Winter DA (2009). Biomechanics and Motor Control of Human Movement, 4th ed. Wiley,
section 3.4.4.3 (correction of the cut-off of a dual-pass filter).
Robertson DGE, Dowling JJ (2003). Design and responses of Butterworth and critically
damped digital filters. J Electromyogr Kinesiol 13(6):569-573.
"""

from __future__ import annotations

import copy as _copy
import math
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import mne
import numpy as np
from scipy import signal

from .._version import __version__
from ..errors import ChannelError, ParameterError, SamplingRateError
from ..recording import Recording, annotations_copy

__all__ = [
    "bandpass",
    "highpass",
    "lowpass",
    "bandpass_array",
    "highpass_array",
    "lowpass_array",
    "butter_sos",
    "design_cutoffs",
    "dual_pass_factor",
    "zero_phase_response",
    "default_padlen",
    "FILTER_DEFAULTS",
]

#: Defaults of the filters (every one is also a keyword parameter).
FILTER_DEFAULTS: dict[str, Any] = {
    "low": 20.0,  # Hz, De Luca et al. 2010
    "high": 450.0,  # Hz, SENIAM ~500 Hz, below Nyquist at 1 kHz+
    "order": 4,
    "pad_periods": 3.0,  # edge padding = this many periods of the lowest cut-off
}


# ---------------------------------------------------------------------------- helpers
# These helpers are shared by the preprocessing modules (same sub-package).

def source_of(rec: Recording) -> str | None:
    """File a Recording came from (for error messages), or None."""
    src = rec.meta.get("source")
    return None if src is None else str(src)


def signal_channels(rec: Recording, picks: str | Iterable[str] | None = None,
                    include_ecg: bool = False) -> list[str]:
    """Names of the channels a conditioning step works on.

    Parameters
    ----------
    rec : Recording
    picks : str or list of str, optional
        Channel names or ``"emg"``. Default: all EMG channels (and ECG when
        ``include_ecg``). Non-electrical (``misc``) channels are refused.
    include_ecg : bool
        Also pick ECG channels when ``picks`` is None.

    Returns
    -------
    list of str
    """
    types = dict(zip(rec.channels["name"], rec.channels["type"]))
    units = dict(zip(rec.channels["name"], rec.channels["unit"]))
    if picks is None:
        wanted = ("emg", "ecg") if include_ecg else ("emg",)
        names = [n for n in rec.ch_names if types[n] in wanted]
    elif isinstance(picks, str) and picks in ("emg", "ecg"):
        names = [n for n in rec.ch_names if types[n] == picks]
    else:
        names = [picks] if isinstance(picks, str) else list(picks)
        for n in names:
            if n not in types:
                raise ChannelError("no such channel", file=source_of(rec), channel=str(n),
                                   hint=f"available channels are {rec.ch_names}")
            if types[n] not in ("emg", "ecg"):
                raise ChannelError(
                    f"is a {types[n]} channel (unit {units[n]}), not EMG or ECG",
                    file=source_of(rec), channel=str(n),
                    hint="conditioning steps only process EMG/ECG channels; leave it out of picks")
    return names


def new_recording(rec: Recording, data: np.ndarray, *,
                  step: Mapping[str, Any] | None = None,
                  units: Mapping[str, str] | None = None,
                  columns: Mapping[str, Mapping[str, Any]] | None = None) -> Recording:
    """Wrap ``data`` (all channels, storage units) in a new Recording like ``rec``.

    ``data`` is used without a copy: pass an array you own (e.g. from
    ``rec.raw.get_data()``).

    Parameters
    ----------
    rec : Recording
        Template (info, annotations, channel table, meta); not modified.
    data : ndarray, shape (n_channels, n_samples)
        New values for every channel.
    step : mapping, optional
        A provenance record appended to ``meta["processing"]``.
    units : mapping, optional
        New ``channels["unit"]`` per name (e.g. ``"%MVC"``).
    columns : mapping, optional
        Extra channel-table columns: ``{column: {name: value}}``.

    Returns
    -------
    Recording
    """
    # the channels do not change: share the MNE Info (read-only by convention, like the signals of
    # Recording.with_phases); the annotations on the same clock (annotations_copy)
    raw = mne.io.RawArray(data, rec.raw.info, first_samp=rec.raw.first_samp, copy=None, verbose=False)
    raw.set_annotations(annotations_copy(rec.raw), verbose=False)
    table = rec.channels.copy()
    if units:
        for n, u in units.items():
            table.loc[table["name"] == n, "unit"] = u
    if columns:
        for col, per_name in columns.items():
            if col not in table.columns:
                table[col] = None
            table[col] = table[col].astype(object)
            for n, v in per_name.items():
                table.loc[table["name"] == n, col] = v
    meta = _copy.deepcopy(rec.meta)
    if step is not None:
        log = list(meta.get("processing") or [])
        log.append(dict(step))
        meta["processing"] = log
    return Recording(raw, table, meta)


def rows_of(rec: Recording, names: Sequence[str]) -> list[int]:
    """Row indices of ``names`` in ``rec.raw.get_data()``."""
    index = {n: i for i, n in enumerate(rec.ch_names)}
    return [index[n] for n in names]


def provenance(step: str, params: Mapping[str, Any], **result: Any) -> dict[str, Any]:
    """A provenance record: ``{"step", "params", "result", "version"}`` (JSON-safe values)."""
    return {
        "step": step,
        "params": _jsonable(dict(params)),
        "result": _jsonable(result),
        "version": __version__,
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return repr(obj)


def as_2d(data: np.ndarray, what: str = "data") -> tuple[np.ndarray, bool]:
    """View ``data`` as 2-D float (n_channels, n_samples); say whether it was 1-D."""
    arr = np.asarray(data)
    if arr.ndim == 1:
        return arr[np.newaxis, :], True
    if arr.ndim != 2:
        raise ParameterError(f"{what} must be 1-D or 2-D (n_channels, n_samples), got shape {arr.shape}")
    return arr, False


def check_sfreq(sfreq: float, file: str | None = None) -> float:
    """Return ``sfreq`` as a positive float or raise :class:`SamplingRateError`."""
    try:
        fs = float(sfreq)
    except (TypeError, ValueError):
        raise SamplingRateError(f"sampling rate {sfreq!r} is not a number", file=file) from None
    if not math.isfinite(fs) or fs <= 0:
        raise SamplingRateError(f"sampling rate {sfreq} Hz is not a positive number", file=file)
    return fs


def _channel_label(names: Sequence[str] | None) -> str | None:
    if not names:
        return None
    return names[0] if len(names) == 1 else ", ".join(map(str, names))


# ---------------------------------------------------------------------------- design

def dual_pass_factor(order: int) -> float:
    """Warped-axis correction factor ``C = (2**0.5 - 1)**(1 / (2 N))`` of a dual-pass filter.

    Parameters
    ----------
    order : int
        Single-pass Butterworth order N.

    Returns
    -------
    float
        ``C`` (< 1): a low-pass edge is designed at ``W_c / C``, a high-pass edge at
        ``W_c * C`` (``W = tan(pi f / fs)``), so the forward-backward response is -3.01 dB
        at the stated cut-off.

    References
    ----------
    Winter DA (2009). Biomechanics and Motor Control of Human Movement, 4th ed., section
    3.4.4.3. Robertson DGE, Dowling JJ (2003). J Electromyogr Kinesiol 13:569-573.
    """
    return float((math.sqrt(2.0) - 1.0) ** (1.0 / (2.0 * int(order))))


def design_cutoffs(sfreq: float, low: float | None, high: float | None,
                   order: int = 4) -> tuple[float | None, float | None]:
    """Single-pass design corners (Hz) that put the zero-phase -3.01 dB points at ``low``/``high``.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    low, high : float or None
        Stated (effective, zero-phase) high-pass and low-pass cut-offs in Hz; must be
        below Nyquist (checked by :func:`butter_sos`).
    order : int
        Single-pass Butterworth order.

    Returns
    -------
    (float or None, float or None)
        ``f_design = (fs / pi) * arctan(W_design)`` with ``W_design = W_c * C`` for the
        high-pass edge and ``W_c / C`` for the low-pass edge (:func:`dual_pass_factor`);
        always strictly between 0 and Nyquist.

    References
    ----------
    Winter DA (2009), section 3.4.4.3; Robertson DGE, Dowling JJ (2003) J Electromyogr
    Kinesiol 13:569-573.
    """
    c = dual_pass_factor(order)
    fs = float(sfreq)

    def warp(f: float) -> float:
        return math.tan(math.pi * f / fs)

    def unwarp(w: float) -> float:
        return fs / math.pi * math.atan(w)

    lo = None if low is None else unwarp(warp(low) * c)
    hi = None if high is None else unwarp(warp(high) / c)
    return lo, hi


def zero_phase_response(freqs: np.ndarray, sfreq: float, low: float | None, high: float | None,
                        order: int = 4) -> np.ndarray:
    """Analytic magnitude of the zero-phase (forward-backward) filter, ``|H_eff(f)|``.

    Parameters
    ----------
    freqs : array_like
        Frequencies in Hz (0 ... Nyquist).
    sfreq : float
        Sampling rate in Hz.
    low, high : float or None
        Stated cut-offs in Hz (the -3.01 dB points of the result).
    order : int
        Single-pass Butterworth order of each edge.

    Returns
    -------
    ndarray
        ``prod over edges of 1 / (1 + x**(2N))`` with ``x = W_design / W`` (high-pass edge)
        or ``W / W_design`` (low-pass edge), ``W = tan(pi f / fs)``: the squared
        single-pass magnitude of the bilinear Butterworth design, which is exactly the
        steady-state response of :func:`scipy.signal.sosfiltfilt` with
        :func:`butter_sos`. Real and non-negative (zero phase).

    References
    ----------
    Winter DA (2009), section 3.4.4.3; Robertson DGE, Dowling JJ (2003).
    """
    fs = float(sfreq)
    f = np.asarray(freqs, dtype=np.float64)
    w = np.tan(np.pi * np.clip(f, 0.0, fs / 2.0) / fs)
    lo, hi = design_cutoffs(fs, low, high, order)
    g = np.ones_like(w)
    n2 = 2 * int(order)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if lo is not None:
            x = math.tan(math.pi * lo / fs) / w
            g /= 1.0 + np.where(w > 0, x, np.inf) ** n2
        if hi is not None:
            x = w / math.tan(math.pi * hi / fs)
            g /= 1.0 + np.where(f >= fs / 2.0, np.inf, x) ** n2
    return np.nan_to_num(g, nan=0.0, posinf=0.0)


def butter_sos(sfreq: float, low: float | None, high: float | None, order: int = 4, *,
               file: str | None = None, channel: str | None = None) -> np.ndarray:
    """Design a zero-phase-corrected Butterworth filter in second-order sections.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    low : float or None
        High-pass cut-off in Hz (None for a low-pass): the -3.01 dB point of the
        forward-backward response.
    high : float or None
        Low-pass cut-off in Hz (None for a high-pass), likewise.
    order : int
        Order of each single-pass edge (default 4).
    file, channel : str, optional
        Named in error messages.

    Returns
    -------
    ndarray, shape (n_sections, 6)
        Sections for :func:`scipy.signal.sosfiltfilt`; a band-pass is a high-pass
        cascaded with a low-pass, ``ceil(order / 2)`` sections per edge.

    Raises
    ------
    ParameterError
        If a cut-off is not positive, not below Nyquist (no silent clamp), or
        ``low >= high``.

    Notes
    -----
    Butterworth (1930) design by the bilinear transform (:func:`scipy.signal.butter`
    with ``output="sos"``) at the dual-pass-corrected corners of
    :func:`design_cutoffs` (Winter 2009, section 3.4.4.3; Robertson & Dowling 2003), so
    that filtering forward and backward gives -3.01 dB at the stated cut-offs.
    """
    fs = check_sfreq(sfreq, file)
    nyq = fs / 2.0
    if not isinstance(order, (int, np.integer)) or order < 1:
        raise ParameterError(f"filter order must be a positive integer, got {order!r}", file=file)
    for name, fc in (("low", low), ("high", high)):
        if fc is None:
            continue
        if not np.isfinite(fc) or fc <= 0:
            raise ParameterError(f"cut-off {name}={fc} Hz must be a positive number", file=file, channel=channel)
        if fc >= nyq:
            raise ParameterError(
                f"cut-off {name}={fc:g} Hz is at or above the Nyquist frequency {nyq:g} Hz "
                f"(sampling rate {fs:g} Hz)",
                file=file, channel=channel,
                hint=f"choose a cut-off below {nyq:g} Hz (e.g. {0.9 * nyq:g} Hz), or drop the "
                     f"low-pass; paraspinal does not clamp cut-offs silently")
    if low is None and high is None:
        raise ParameterError("a filter needs at least one cut-off", file=file)
    if low is not None and high is not None and low >= high:
        raise ParameterError(f"band-pass needs low < high, got low={low:g} Hz, high={high:g} Hz",
                             file=file, channel=channel)
    lo_d, hi_d = design_cutoffs(fs, low, high, int(order))
    parts = []
    if lo_d is not None:
        parts.append(signal.butter(int(order), lo_d, btype="highpass", fs=fs, output="sos"))
    if hi_d is not None:
        parts.append(signal.butter(int(order), hi_d, btype="lowpass", fs=fs, output="sos"))
    return np.concatenate(parts, axis=0)


def default_padlen(sfreq: float, low: float | None, high: float | None,
                   pad_periods: float = FILTER_DEFAULTS["pad_periods"]) -> int:
    """Edge padding (samples) for zero-phase filtering.

    ``pad_periods`` periods of the lowest cut-off (default 3): the Butterworth impulse
    response has decayed well within three periods of its lowest corner, so the
    odd-symmetric extension scipy pads with settles before real data begins.

    Parameters
    ----------
    sfreq : float
        Sampling rate, Hz.
    low, high : float or None
        Cut-offs, Hz.
    pad_periods : float
        Number of periods of the lowest cut-off.

    Returns
    -------
    int
    """
    f = min(c for c in (low, high) if c is not None)
    return int(math.ceil(pad_periods * sfreq / f))


def _check_length(n: int, padlen: int, kind: str, fc_text: str, sfreq: float,
                  file: str | None, names: Sequence[str] | None) -> None:
    if n <= padlen:
        raise ParameterError(
            f"the recording has {n} samples ({n / sfreq:.3f} s) but the {kind} filter ({fc_text}) "
            f"needs more than {padlen} samples ({padlen / sfreq:.3f} s) for its edge padding",
            file=file, channel=_channel_label(names),
            hint="use a longer recording, a higher cut-off, or pass a smaller padlen "
                 "(accepting edge transients)")


# ---------------------------------------------------------------------------- array forms

def _filtfilt_rows(x: np.ndarray, sos: np.ndarray, padlen: int, out: np.ndarray | None,
                   chunk: int) -> np.ndarray:
    """Apply sosfiltfilt row-block by row-block (bounded temporary memory)."""
    if out is None:
        out = np.empty(x.shape, dtype=np.float64)
    n_rows = x.shape[0]
    chunk = max(int(chunk), 1)
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        out[start:stop] = signal.sosfiltfilt(sos, x[start:stop], axis=-1, padtype="odd", padlen=padlen)
    return out


def _filter_array(data, sfreq, low, high, order, padlen, out, chunk, names, file, kind, pad_periods):
    x, was_1d = as_2d(data)
    fs = check_sfreq(sfreq, file)
    sos = butter_sos(fs, low, high, order, file=file, channel=_channel_label(names))
    if padlen is None:
        padlen = default_padlen(fs, low, high, pad_periods)
    padlen = int(padlen)
    if padlen < 0:
        raise ParameterError(f"padlen must be >= 0, got {padlen}", file=file)
    fc_text = " - ".join(f"{c:g} Hz" for c in (low, high) if c is not None)
    _check_length(x.shape[1], padlen, kind, fc_text, fs, file, names)
    if out is not None and was_1d:
        out = out.reshape(1, -1)
    y = _filtfilt_rows(x, sos, padlen, out, chunk)
    return y[0] if was_1d else y


def bandpass_array(data: np.ndarray, sfreq: float, low: float = 20.0, high: float = 450.0, *,
                   order: int = 4, padlen: int | None = None,
                   pad_periods: float = FILTER_DEFAULTS["pad_periods"],
                   out: np.ndarray | None = None, chunk: int = 1,
                   names: Sequence[str] | None = None, file: str | None = None) -> np.ndarray:
    """Zero-phase Butterworth band-pass of an array.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals (any unit; the output has the same unit).
    sfreq : float
        Sampling rate in Hz.
    low, high : float
        Cut-offs in Hz (default 20 and 450 Hz; De Luca et al. 2010, SENIAM): the
        -3.01 dB points of the applied zero-phase response (dual-pass corrected design,
        Winter 2009; see the module notes).
    order : int
        Butterworth order of each single-pass edge (default 4; the forward-backward
        response falls off like order 8 far from the edges).
    padlen : int, optional
        Samples of odd-symmetric padding at each edge; default
        :func:`default_padlen` (3 periods of ``low``).
    pad_periods : float
        Periods of the lowest cut-off used for the default padding.
    out : ndarray, optional
        Output array of the same shape (may be ``data`` itself: in-place filtering).
    chunk : int
        Channels filtered per call (bounds temporary memory to ~5 x chunk rows).
    names : sequence of str, optional
        Channel names for error messages.
    file : str, optional
        Source file for error messages.

    Returns
    -------
    ndarray
        Filtered signals, same shape as ``data``.

    Raises
    ------
    ParameterError
        If a cut-off is at or above Nyquist, ``low >= high``, or the signal is not
        longer than the padding.

    References
    ----------
    De Luca CJ et al. (2010) J Biomech 43:1573-1579; Hermens HJ et al. (2000) J
    Electromyogr Kinesiol 10:361-374.
    """
    return _filter_array(data, sfreq, low, high, order, padlen, out, chunk, names, file, "band-pass", pad_periods)


def highpass_array(data: np.ndarray, sfreq: float, cutoff: float = 20.0, *, order: int = 4,
                   padlen: int | None = None, pad_periods: float = FILTER_DEFAULTS["pad_periods"],
                   out: np.ndarray | None = None, chunk: int = 1,
                   names: Sequence[str] | None = None, file: str | None = None) -> np.ndarray:
    """Zero-phase Butterworth high-pass of an array.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals.
    sfreq : float
        Sampling rate in Hz.
    cutoff : float
        Zero-phase -3.01 dB cut-off in Hz (default 20 Hz, De Luca et al. 2010; 30 Hz is
        the Drake & Callaghan 2006 ECG-suppression choice).
    order, padlen, pad_periods, out, chunk, names, file
        As in :func:`bandpass_array`.

    Returns
    -------
    ndarray

    References
    ----------
    De Luca CJ et al. (2010) J Biomech 43:1573-1579.
    """
    return _filter_array(data, sfreq, cutoff, None, order, padlen, out, chunk, names, file, "high-pass", pad_periods)


def lowpass_array(data: np.ndarray, sfreq: float, cutoff: float = 450.0, *, order: int = 4,
                  padlen: int | None = None, pad_periods: float = FILTER_DEFAULTS["pad_periods"],
                  out: np.ndarray | None = None, chunk: int = 1,
                  names: Sequence[str] | None = None, file: str | None = None) -> np.ndarray:
    """Zero-phase Butterworth low-pass of an array.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals.
    sfreq : float
        Sampling rate in Hz.
    cutoff : float
        Zero-phase -3.01 dB cut-off in Hz (default 450 Hz, SENIAM).
    order, padlen, pad_periods, out, chunk, names, file
        As in :func:`bandpass_array`.

    Returns
    -------
    ndarray

    References
    ----------
    Hermens HJ et al. (2000) J Electromyogr Kinesiol 10:361-374.
    """
    return _filter_array(data, sfreq, None, cutoff, order, padlen, out, chunk, names, file, "low-pass", pad_periods)


# ---------------------------------------------------------------------------- Recording forms

def filter_rows(data: np.ndarray, rows: Sequence[int], sfreq: float, low: float | None,
                high: float | None, *, order: int = 4, padlen: int | None = None,
                pad_periods: float = FILTER_DEFAULTS["pad_periods"], names: Sequence[str] | None = None,
                file: str | None = None, workers: int | None = None) -> dict[str, Any]:
    """Filter the rows ``rows`` of ``data`` in place, one row per task (bounded memory).

    Rows are filtered by :func:`scipy.signal.sosfiltfilt` (which releases the GIL) on a
    pool of ``workers`` threads (default: up to 2, the machine's cores), each holding the
    temporaries of one row only. The result does not depend on ``workers``.

    Returns the provenance result (padding, design corners, gain at the cut-offs).
    """
    fs = check_sfreq(sfreq, file)
    sos = butter_sos(fs, low, high, order, file=file, channel=_channel_label(names))
    if padlen is None:
        padlen = default_padlen(fs, low, high, pad_periods)
    padlen = int(padlen)
    if padlen < 0:
        raise ParameterError(f"padlen must be >= 0, got {padlen}", file=file)
    kind = "band-pass" if (low is not None and high is not None) else ("high-pass" if low is not None else "low-pass")
    fc_text = " - ".join(f"{c:g} Hz" for c in (low, high) if c is not None)
    _check_length(data.shape[-1], padlen, kind, fc_text, fs, file, names)
    rows = list(rows)

    def one(i: int) -> None:
        data[i] = signal.sosfiltfilt(sos, data[i], padtype="odd", padlen=padlen)

    run_rows(one, rows, workers, data.shape[-1])
    lo_d, hi_d = design_cutoffs(fs, low, high, order)
    return {"padlen": padlen, "zero_phase": True, "order_per_edge": int(order),
            "design_cutoffs_hz": [c for c in (lo_d, hi_d) if c is not None],
            "gain_at_cutoff_db": -3.01, "implementation": "sosfiltfilt"}


def default_workers() -> int:
    """Threads used for per-channel work.

    ``$PARASPINAL_NUM_THREADS`` if set, else ``$OMP_NUM_THREADS`` if set (the variable the
    numeric libraries honour; study workers set both to 1 so that N workers use N cores),
    else ``min(2, os.cpu_count())``.
    """
    for var in ("PARASPINAL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return max(1, min(2, os.cpu_count() or 1))


def sum_rows(fn: Any, rows: Sequence[int], n_out: int, workers: int | None = None,
             n_samples: int = 0, min_samples: int = 200_000) -> tuple[np.ndarray, int]:
    """Sum ``fn(row)`` (an array of ``n_out`` values, or None to skip) over rows.

    Each worker thread accumulates its share of the rows into its own buffer, so memory
    is one accumulator (plus one row's temporaries) per thread, whatever the number of
    rows. Returns the sum and the number of rows that contributed.
    """
    rows = list(rows)
    w = default_workers() if workers is None else max(1, int(workers))
    if w == 1 or len(rows) < 2 or n_samples < min_samples:
        w = 1
    w = min(w, max(len(rows), 1))

    def group(g: int) -> tuple[np.ndarray, int]:
        acc = np.zeros(n_out)
        used = 0
        for i in rows[g::w]:
            part = fn(i)
            if part is not None:
                acc += part
                used += 1
        return acc, used

    if w == 1:
        return group(0)
    with ThreadPoolExecutor(max_workers=w) as ex:
        results = list(ex.map(group, range(w)))
    acc = results[0][0]
    for a_, _ in results[1:]:
        acc += a_
    return acc, sum(u for _, u in results)


def run_rows(fn: Any, rows: Sequence[int], workers: int | None = None, n_samples: int = 0,
             min_samples: int = 200_000) -> None:
    """Call ``fn(row)`` for every row, on a thread pool when that pays.

    ``fn`` must release the GIL for most of its time (SciPy filters, scipy.fft, NumPy
    ufuncs on large arrays) and write only its own row. Short signals (fewer than
    ``min_samples`` samples) or a single row run in the calling thread.
    """
    rows = list(rows)
    w = default_workers() if workers is None else max(1, int(workers))
    if w == 1 or len(rows) < 2 or n_samples < min_samples:
        for i in rows:
            fn(i)
        return
    with ThreadPoolExecutor(max_workers=min(w, len(rows))) as ex:
        for _ in ex.map(fn, rows):
            pass


def _filter_rec(rec: Recording, step: str, low, high, order, picks, include_ecg, padlen, pad_periods,
                params: dict) -> Recording:
    names = signal_channels(rec, picks, include_ecg)
    data = rec.raw.get_data()
    res: dict[str, Any] = {"channels": names}
    if names:
        res.update(filter_rows(data, rows_of(rec, names), rec.sfreq, low, high, order=order, padlen=padlen,
                               pad_periods=pad_periods, names=names, file=source_of(rec)))
    return new_recording(rec, data, step=provenance(step, params, **res))


def bandpass(rec: Recording, low: float = 20.0, high: float = 450.0, *, order: int = 4,
             picks: str | Iterable[str] | None = None, include_ecg: bool = False,
             padlen: int | None = None, pad_periods: float = FILTER_DEFAULTS["pad_periods"]) -> Recording:
    """Zero-phase Butterworth band-pass of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
        Input (not modified).
    low, high : float
        Cut-offs in Hz (default 20-450 Hz): the -3.01 dB points of the applied
        zero-phase response (dual-pass corrected; see the module notes).
    order : int
        Butterworth order of each single-pass edge (default 4).
    picks : str or list of str, optional
        Channels to filter; default all EMG channels. ``misc`` channels are refused.
    include_ecg : bool
        Also filter ECG channels (default False: R-peak detection prefers the raw lead).
    padlen : int, optional
        Edge padding in samples (default: 3 periods of ``low``).
    pad_periods : float
        Periods of the lowest cut-off for the default padding.

    Returns
    -------
    Recording
        A new Recording; a ``"bandpass"`` record is appended to ``meta["processing"]``.

    Raises
    ------
    ParameterError
        Cut-off at or above Nyquist, or a recording shorter than the padding.

    References
    ----------
    De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010). J Biomech 43:1573-1579.
    Hermens HJ et al. (2000). SENIAM. J Electromyogr Kinesiol 10:361-374.

    Examples
    --------
    >>> rec_f = bandpass(rec)  # doctest: +SKIP
    """
    params = {"low": low, "high": high, "order": order, "picks": picks, "include_ecg": include_ecg,
              "padlen": padlen}
    return _filter_rec(rec, "bandpass", low, high, order, picks, include_ecg, padlen, pad_periods, params)


def highpass(rec: Recording, cutoff: float = 20.0, *, order: int = 4,
             picks: str | Iterable[str] | None = None, include_ecg: bool = False,
             padlen: int | None = None, pad_periods: float = FILTER_DEFAULTS["pad_periods"]) -> Recording:
    """Zero-phase Butterworth high-pass of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
    cutoff : float
        Zero-phase -3.01 dB cut-off in Hz (default 20 Hz; De Luca et al. 2010).
    order, picks, include_ecg, padlen, pad_periods
        As in :func:`bandpass`.

    Returns
    -------
    Recording

    References
    ----------
    De Luca CJ et al. (2010) J Biomech 43:1573-1579.
    """
    params = {"cutoff": cutoff, "order": order, "picks": picks, "include_ecg": include_ecg, "padlen": padlen}
    return _filter_rec(rec, "highpass", cutoff, None, order, picks, include_ecg, padlen, pad_periods, params)


def lowpass(rec: Recording, cutoff: float = 450.0, *, order: int = 4,
            picks: str | Iterable[str] | None = None, include_ecg: bool = False,
            padlen: int | None = None, pad_periods: float = FILTER_DEFAULTS["pad_periods"]) -> Recording:
    """Zero-phase Butterworth low-pass of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
    cutoff : float
        Zero-phase -3.01 dB cut-off in Hz (default 450 Hz; SENIAM).
    order, picks, include_ecg, padlen, pad_periods
        As in :func:`bandpass`.

    Returns
    -------
    Recording

    References
    ----------
    Hermens HJ et al. (2000) J Electromyogr Kinesiol 10:361-374.
    """
    params = {"cutoff": cutoff, "order": order, "picks": picks, "include_ecg": include_ecg, "padlen": padlen}
    return _filter_rec(rec, "lowpass", None, cutoff, order, picks, include_ecg, padlen, pad_periods, params)
