"""Amplitude envelopes: moving RMS, linear envelope, Teager-Kaiser energy operator.

* Moving RMS over a centred window of ``window_ms`` (default 250 ms, the usual choice
  for posture phases): ``RMS[n] = sqrt(mean(x[k]**2 for k in window(n)))``. At the edges
  the window is cut to the samples that exist and the mean is over those samples only
  (no zero padding, so the envelope does not shrink at the ends). Computed from a
  cumulative sum of ``x**2`` (O(n) whatever the window).
* Linear envelope: full-wave rectification then a 6 Hz, 4th-order, zero-phase
  Butterworth low-pass (Winter 2009).
* TKEO ``psi[n] = x[n]**2 - x[n+1] x[n-1]`` (Kaiser 1990; Li, Zhou & Aruin 2007); the
  first and last samples, which lack a neighbour, copy their neighbour's value.

Envelopes of a Recording keep the channel table. Moving RMS and linear envelopes are
amplitudes: they are stored in volts like the EMG (``channels["unit"] == "V"``), so
``rec.emg("uV")`` returns microvolts. TKEO values are energies stored in uV^2 with
``channels["unit"] == "uV^2"``. The ``"envelope"`` provenance record says which.

References
----------
Kaiser JF (1990). On a simple algorithm to calculate the 'energy' of a signal. Proc IEEE
ICASSP, 381-384.
Li X, Zhou P, Aruin AS (2007). Teager-Kaiser energy operation of surface EMG improves
muscle activity onset detection. Ann Biomed Eng 35(9):1532-1538.
Winter DA (2009). Biomechanics and Motor Control of Human Movement, 4th ed. Wiley.
Clancy EA, Morin EL, Merletti R (2002). Sampling, noise-reduction and amplitude estimation
issues in surface electromyography. J Electromyogr Kinesiol 12:1-16.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..recording import Recording
from .filters import (
    as_2d,
    check_sfreq,
    filter_rows,
    new_recording,
    provenance,
    rows_of,
    run_rows,
    signal_channels,
    source_of,
)

__all__ = ["envelope", "moving_rms_array", "linear_envelope_array", "tkeo_array", "arv_array", "ENVELOPE_DEFAULTS"]

#: Defaults (each one is a keyword parameter).
ENVELOPE_DEFAULTS: dict[str, Any] = {"window_ms": 250.0, "cutoff": 6.0, "order": 4}


def _window(window_ms: float, sfreq: float) -> int:
    n = int(round(window_ms * sfreq / 1000.0))
    if n < 1:
        raise ParameterError(f"window of {window_ms} ms is shorter than one sample at {sfreq:g} Hz",
                             hint="use a longer window")
    return n


def _rms_row(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """Centred moving RMS of one row by cumulative sums (slices, no index arrays).

    ``out`` may be ``x`` (in place). One temporary of the row's length (the cumulative
    sum) is allocated.
    """
    m = len(x)
    c = np.empty(m + 1)
    c[0] = 0.0
    np.multiply(x, x, out=c[1:])
    np.cumsum(c[1:], out=c[1:])
    a, b = n // 2, n - 1 - n // 2  # samples before / after the centre
    if n > m:  # window longer than the signal: every window is cut
        idx = np.arange(m)
        lo, hi = np.maximum(idx - a, 0), np.minimum(idx + b + 1, m)
        out[:] = np.sqrt(np.maximum(c[hi] - c[lo], 0.0) / (hi - lo))
        return out
    # x is not read below: out may alias it
    first_edge = c[b + 1:b + 1 + a] / np.arange(b + 1, b + 1 + a)  # centres 0 .. a-1
    last_cnt = np.arange(a + b, a, -1)  # centres m-b .. m-1 see a + (m-1-i) + 1 samples
    last_edge = (c[m] - c[m - b - a:m - a]) / last_cnt
    # interior: full windows [i - a, i + b], centres a .. m - 1 - b
    s = out[a:m - b]
    np.subtract(c[n:], c[:-n], out=s)
    np.maximum(s, 0.0, out=s)  # cumulative-sum round-off can leave -1e-20
    s /= n
    np.sqrt(s, out=s)
    out[:a] = np.sqrt(np.maximum(first_edge, 0.0))
    if b:
        out[m - b:] = np.sqrt(np.maximum(last_edge, 0.0))
    return out


def moving_rms_array(data: np.ndarray, sfreq: float, window_ms: float = 250.0, *,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Centred moving RMS (O(n), cumulative sums; edges average the available samples).

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals (unit U); the result is in U.
    sfreq : float
        Sampling rate in Hz.
    window_ms : float
        Window length in ms (default 250). An even number of samples puts the extra
        sample before the centre.
    out : ndarray, optional
        Output array (may be ``data``).

    Returns
    -------
    ndarray

    References
    ----------
    Clancy EA, Morin EL, Merletti R (2002). J Electromyogr Kinesiol 12:1-16.
    """
    x, was_1d = as_2d(data)
    n = _window(window_ms, check_sfreq(sfreq))
    y = np.empty(x.shape) if out is None else (out.reshape(1, -1) if was_1d else out)
    run_rows(lambda i: _rms_row(x[i], n, y[i]), range(x.shape[0]), None, x.shape[1])
    return y[0] if was_1d else y


def arv_array(data: np.ndarray, sfreq: float, window_ms: float = 250.0) -> np.ndarray:
    """Centred moving average rectified value (mean of ``|x|``), same edges as the RMS.

    Parameters
    ----------
    data : ndarray
        Signals.
    sfreq : float
        Sampling rate in Hz.
    window_ms : float
        Window in ms.

    Returns
    -------
    ndarray

    References
    ----------
    Clancy EA, Morin EL, Merletti R (2002). J Electromyogr Kinesiol 12:1-16.
    """
    x, was_1d = as_2d(data)
    n = _window(window_ms, check_sfreq(sfreq))
    y = np.empty(x.shape)
    a, b = n // 2, n - 1 - n // 2
    m = x.shape[1]
    idx = np.arange(m)
    lo = np.maximum(idx - a, 0)
    hi = np.minimum(idx + b + 1, m)
    for i in range(x.shape[0]):
        c = np.concatenate([[0.0], np.cumsum(np.abs(x[i]))])
        y[i] = (c[hi] - c[lo]) / (hi - lo)
    return y[0] if was_1d else y


def linear_envelope_array(data: np.ndarray, sfreq: float, cutoff: float = 6.0, *, order: int = 4,
                          out: np.ndarray | None = None) -> np.ndarray:
    """Linear envelope: full-wave rectification, then a zero-phase Butterworth low-pass.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals (unit U); the result is in U.
    sfreq : float
        Sampling rate in Hz.
    cutoff : float
        Low-pass cut-off in Hz (default 6 Hz): the -3.01 dB point of the applied
        zero-phase response (dual-pass corrected design, Winter 2009 section 3.4.4.3; see
        ``paraspinal.preprocessing.filters``).
    order : int
        Butterworth order (default 4).
    out : ndarray, optional
        Output array (may be ``data``).

    Returns
    -------
    ndarray

    References
    ----------
    Winter DA (2009). Biomechanics and Motor Control of Human Movement. Wiley.
    """
    x, was_1d = as_2d(data)
    fs = check_sfreq(sfreq)
    y = np.empty(x.shape) if out is None else (out.reshape(1, -1) if was_1d else out)
    np.abs(x, out=y)
    filter_rows(y, range(y.shape[0]), fs, None, cutoff, order=order)
    return y[0] if was_1d else y


def tkeo_array(data: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Teager-Kaiser energy operator ``psi[n] = x[n]**2 - x[n+1] x[n-1]``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples) or (n_samples,)
        Signals (unit U); the result is in U^2.
    out : ndarray, optional
        Output array (not ``data``).

    Returns
    -------
    ndarray
        Same shape; ``psi[0] = psi[1]`` and ``psi[-1] = psi[-2]`` (edge samples copy their
        neighbour). For ``A cos(W n + phi)`` the result is exactly ``A**2 sin(W)**2``.

    References
    ----------
    Kaiser JF (1990). Proc IEEE ICASSP, 381-384. Li X, Zhou P, Aruin AS (2007). Ann Biomed
    Eng 35:1532-1538.
    """
    x, was_1d = as_2d(data)
    if x.shape[1] < 3:
        raise ParameterError(f"TKEO needs at least 3 samples, got {x.shape[1]}")
    y = np.empty(x.shape) if out is None else (out.reshape(1, -1) if was_1d else out)
    y[:, 1:-1] = x[:, 1:-1] * x[:, 1:-1] - x[:, 2:] * x[:, :-2]
    y[:, 0] = y[:, 1]
    y[:, -1] = y[:, -2]
    return y[0] if was_1d else y


def envelope_rows(data: np.ndarray, rows: Sequence[int], sfreq: float, method: str = "rms", *,
                  window_ms: float = 250.0, cutoff: float = 6.0, order: int = 4) -> dict[str, Any]:
    """Replace rows of ``data`` by their envelope, in place; returns the provenance result."""
    if method == "rms":
        n = _window(window_ms, sfreq)
        run_rows(lambda i: _rms_row(data[i], n, data[i]), rows, None, data.shape[-1])  # threads: rows independent
        return {"signal": "moving RMS", "window_samples": n, "edges": "mean over available samples"}
    if method == "linear":
        for i in rows:
            np.abs(data[i], out=data[i])
        filter_rows(data, rows, sfreq, None, cutoff, order=order)
        return {"signal": "linear envelope"}
    if method == "tkeo":
        for i in rows:
            y = tkeo_array(data[i])
            data[i] = y * 1e12  # V^2 -> uV^2
        return {"signal": "TKEO", "unit": "uV^2"}
    raise ParameterError(f"unknown envelope method {method!r}", hint="use 'rms', 'linear' or 'tkeo'")


def envelope(rec: Recording, method: str = "rms", *, window_ms: float = 250.0, cutoff: float = 6.0,
             order: int = 4, picks: str | Iterable[str] | None = None) -> Recording:
    """Amplitude envelope of a Recording's EMG channels.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG (not modified).
    method : {"rms", "linear", "tkeo"}
        Moving RMS (default), linear envelope, or TKEO.
    window_ms : float
        Moving-RMS window in ms (default 250).
    cutoff : float
        Linear-envelope low-pass corner in Hz (default 6).
    order : int
        Linear-envelope Butterworth order (default 4).
    picks : str or list of str, optional
        Channels (default all EMG).

    Returns
    -------
    Recording
        Same channel table; RMS and linear envelopes in volts (``rec.emg("uV")`` gives
        microvolts), TKEO in uV^2 (``channels["unit"] = "uV^2"``). The ``"envelope"``
        provenance record says which.

    References
    ----------
    Clancy EA et al. (2002) J Electromyogr Kinesiol 12:1-16; Winter DA (2009); Kaiser JF
    (1990) Proc IEEE ICASSP; Li X, Zhou P, Aruin AS (2007) Ann Biomed Eng 35:1532-1538.
    """
    names = signal_channels(rec, picks)
    data = rec.raw.get_data()
    params = {"method": method, "window_ms": window_ms, "cutoff": cutoff, "order": order, "picks": picks}
    try:
        res = envelope_rows(data, rows_of(rec, names), rec.sfreq, method, window_ms=window_ms,
                            cutoff=cutoff, order=order)
    except ParameterError as err:
        raise ParameterError(err.what, file=source_of(rec), hint=err.hint) from None
    res["channels"] = names
    res.setdefault("unit", "V (read as uV with rec.emg('uV'))")
    units = {n: "uV^2" for n in names} if method == "tkeo" else None
    return new_recording(rec, data, step=provenance("envelope", params, **res), units=units)
