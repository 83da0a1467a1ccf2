"""Delsys Trigno CSV exports (EMGworks, Trigno Discover).

Layout of the export, as the files show it:

1. one ``Label: <sensor>: <channel> Sampling frequency: <Hz> Number of points: <n>
   start: <s> Unit: <unit> Domain Unit: s`` line per channel;
2. trigger lines (``Start Trigger Method: ...``) and blank lines;
3. a header row of paired columns, ``X[s]`` (that channel's time) then the channel;
4. the samples. Channels sampled slower than others (accelerometer, gyroscope at
   ~148 Hz next to EMG at ~1259 Hz) end early: their cells are then empty or zero, and
   ``Number of points`` says how many of their rows are real.

EMG channels are kept at their own rate. Inertial and other non-EMG channels have their
own rate; they are dropped by default (``imu="drop"``) or resampled onto the EMG clock
(``imu="resample"``), never mixed in silently.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChannelError, FormatError, ReadError, ParameterError, ParaspinalWarning, SamplingRateError
from ..recording import Recording
from . import _textutil as tu

__all__ = ["read_delsys"]

_LABEL = re.compile(
    r"^Label:\s*(?P<label>.*?)\s+Sampling frequency:\s*(?P<fs>\S+)\s+Number of points:\s*(?P<n>\S+)"
    r"(?:\s+start:\s*(?P<start>\S+))?(?:\s+Unit:\s*(?P<unit>.*?))?(?:\s+Domain Unit:\s*(?P<dunit>\S+))?\s*$"
)
_TIME_HEADER = re.compile(r"^X\s*\[\s*s\s*\]", re.IGNORECASE)
_EMG_LABEL = re.compile(r"(^|[^A-Za-z])EMG([^A-Za-z]|$)", re.IGNORECASE)


@dataclass
class _Channel:
    label: str
    sfreq: float
    n_points: int
    unit: str
    is_emg: bool
    col: int = -1  # data column of the signal
    tcol: int = -1  # data column of its time


def read_delsys(
    path: str | os.PathLike,
    *,
    imu: str = "drop",
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read a Delsys Trigno CSV export (EMGworks / Trigno Discover).

    Parameters
    ----------
    path : path-like
        The ``.csv`` export, starting with ``Label:`` lines.
    imu : {"drop", "resample"}
        What to do with non-EMG channels (accelerometer ``ACC``, gyroscope ``GYRO``,
        magnetometer, analog inputs), which Trigno samples at their own rate.
        ``"drop"`` (default) leaves them out. ``"resample"`` interpolates each linearly
        (``numpy.interp``) from its own ``X[s]`` time column onto the EMG sample times,
        and adds it as a ``misc`` channel with its unit from the ``Label`` line (``g``,
        ``°/s``). Upsampling by linear interpolation adds no aliasing and only slightly
        smooths these slow signals.
    channel_map : mapping, optional
        Explicit channel-name map (``{"Mini sensor 10: EMG 10": "L_MF"}``).
    meta : mapping, optional
        Metadata (subject, group, ...).
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        EMG in volts (Trigno exports write ``Unit: V``), at the EMG rate of the ``Label``
        lines. Channels are named by their label (``"Mini sensor 10: EMG 10"``); a sensor
        named after its muscle in Trigno Discover (``"Left Multifidus: EMG 1"``) is
        recognised.

    Raises
    ------
    FormatError
        No ``Label:`` line or header row, or a header row that does not match them.
    SamplingRateError
        EMG channels at different rates, or an EMG time column that contradicts the
        ``Sampling frequency`` of its ``Label`` line by more than 0.1 %.
    ChannelError
        No EMG channel; empty cells inside an EMG channel.

    Notes
    -----
    Each channel is cut to ``min(Number of points, last non-empty row)``: this removes
    the zero or empty padding after the slower channels, and tolerates a truncated
    export (fewer rows than ``Number of points``; a ParaspinalWarning says so). EMG
    channels of one file share a rate; if their point counts differ, all are cut to the
    shortest (with a warning). The rate is the ``Sampling frequency`` of the Label lines
    (e.g. ``1.259259e+003`` Hz), checked against the EMG time column.
    """
    path = Path(path)
    if imu not in ("drop", "resample"):
        raise ParameterError(f"imu={imu!r} is not 'drop' or 'resample'", file=path,
                             hint="imu='drop' leaves inertial channels out; imu='resample' puts them on the EMG clock")
    lines, _ = tu.head_lines(path, max_lines=400)
    channels: list[_Channel] = []
    header_idx = None
    for i, ln in enumerate(lines):
        text = ln.text.strip()
        if text.startswith("Label:"):
            channels.append(_parse_label(text, ln.number, path))
        elif text and _TIME_HEADER.match(text.strip('"')):
            header_idx = i
            break
    if not channels:
        raise FormatError("no 'Label: ... Sampling frequency: ...' line: not a Delsys Trigno export", file=path,
                          hint="for other CSV files use format='text'")
    if header_idx is None:
        raise FormatError("no header row starting with 'X[s]' after the Label lines", file=path,
                          hint="the export may be truncated; re-export it from EMGworks / Trigno Discover")
    header = tu.split_fields(lines[header_idx].text, ",")
    while header and header[-1] == "":
        header.pop()
    _match_columns(channels, header, lines[header_idx].number, path)
    data_line = header_idx + 1
    if data_line >= len(lines):
        raise ReadError(f"the header row (line {lines[header_idx].number}) is followed by no data rows",
                        file=path, hint="re-export the recording with its samples")
    ln = lines[data_line]
    data = tu.read_numeric(path, offset=ln.start, first_line=ln.number, delimiter=",", names=header)
    if data.shape[0] < len(header):
        raise FormatError(f"the data rows have {data.shape[0]} columns, the header row {len(header)}", file=path)

    emg = [c for c in channels if c.is_emg]
    aux = [c for c in channels if not c.is_emg]
    if not emg:
        raise ChannelError("no EMG channel in the Label lines", file=path,
                           hint=f"the channels are {[c.label for c in channels]}")
    rates = sorted({c.sfreq for c in emg})
    if len(rates) > 1:
        detail = ", ".join(f"{c.label!r} {c.sfreq:g} Hz" for c in emg)
        raise SamplingRateError(
            f"the EMG channels are sampled at different rates ({detail})", file=path,
            hint="export the sensors at one EMG rate, or export them to separate files",
        )
    sfreq = rates[0]
    lengths = [_valid_length(data, c, path) for c in emg]
    n = min(lengths)
    short = [c.label for c, m in zip(emg, lengths) if m < c.n_points]
    if short:
        warnings.warn(
            f"{path}: EMG channels {short} have fewer samples ({n}) than their Label lines say "
            f"({emg[0].n_points}): a truncated export; reading what is there",
            ParaspinalWarning, stacklevel=2,
        )
    if max(lengths) - n > 1:
        warnings.warn(f"{path}: EMG channels have {min(lengths)}-{max(lengths)} samples; all are cut to {n}",
                      ParaspinalWarning, stacklevel=2)
    t_emg = data[emg[0].tcol, :n]
    if n >= 2:
        tu.check_sfreq_against_time(t_emg, sfreq, file=path, column=emg[0].label,
                                    source="the Label line", rtol=1e-3)
    asm = tu.Assembled()
    for c in emg:
        asm.add(data[c.col, :n], c.label, c.unit or "V", "emg")
    meta_out: dict[str, Any] = dict(meta or {})
    if aux:
        if imu == "resample":
            t_dst = t_emg[0] + np.arange(n) / sfreq
            for c in aux:  # loop over channels
                m = _valid_length(data, c, path)
                if m < 2:
                    raise ChannelError("fewer than two samples, so it cannot be resampled", file=path,
                                       channel=c.label, hint="use imu='drop'")
                x = data[c.col, :m]
                if not np.isfinite(x).all():
                    raise ChannelError("empty or non-finite cells inside the channel", file=path,
                                       channel=c.label, hint="use imu='drop' or fix the export")
                values = tu.interp_onto(t_dst, data[c.tcol, :m], x[np.newaxis], file=path,
                                        names=[c.label], src_rate=c.sfreq)[0]
                asm.add(values, c.label, c.unit, "misc")
            meta_out["imu"] = "resampled (linear) onto the EMG clock"
        else:
            meta_out["imu"] = f"dropped {len(aux)} non-EMG channel(s)"
    return Recording.from_array(
        np.vstack(asm.data), sfreq, asm.names, units=asm.units, ch_types=asm.types,
        channel_map=channel_map, meta=meta_out, rename=rename, file=path, units_from_file=True,
    )


def _parse_label(text: str, number: int, path: Path) -> _Channel:
    m = _LABEL.match(text)
    if not m:
        raise FormatError(f"line {number} is not a Label line the reader understands: {text[:80]!r}", file=path,
                          hint="expected 'Label: <name> Sampling frequency: <Hz> Number of points: <n> ... Unit: <u>'")
    label = m["label"].strip()
    try:
        fs = float(m["fs"])
        n_pts = int(float(m["n"]))
    except ValueError:
        raise FormatError(f"line {number}: the rate {m['fs']!r} or point count {m['n']!r} is not a number",
                          file=path, channel=label) from None
    if not np.isfinite(fs) or fs <= 0:
        raise SamplingRateError(f"line {number}: sampling frequency {m['fs']!r}", file=path, channel=label)
    unit = (m["unit"] or "").strip()
    kind = label.split(":")[-1]
    is_emg = bool(_EMG_LABEL.search(kind)) and (unit == "" or _is_voltage(unit))
    return _Channel(label, fs, max(n_pts, 0), unit, is_emg)


def _is_voltage(unit: str) -> bool:
    from ..recording import unit_scale

    return unit_scale(unit) is not None


def _match_columns(channels: list[_Channel], header: list[str], number: int, path: Path) -> None:
    """Give each channel its signal column and the time column before it."""
    signals = []
    tcol = None
    for j, name in enumerate(header):
        if _TIME_HEADER.match(name.strip('"')):
            tcol = j
        else:
            signals.append((j, name, tcol))
    if len(signals) != len(channels):
        raise FormatError(
            f"the header row (line {number}) has {len(signals)} signal columns for {len(channels)} Label lines",
            file=path, hint="the export may be edited or truncated; re-export it",
        )
    for c, (j, name, tcol) in zip(channels, signals):
        if tcol is None:
            raise FormatError(f"the header row (line {number}) has no X[s] time column before {name!r}",
                              file=path, channel=name)
        if name.strip() != c.label:
            raise FormatError(
                f"the header row (line {number}) names column {j + 1} {name!r} where the Label lines say {c.label!r}",
                file=path, channel=c.label, hint="the export may have been edited; re-export it",
            )
        c.col, c.tcol = j, tcol


def _valid_length(data: np.ndarray, c: _Channel, path: Path) -> int:
    """Rows of a channel that are real: up to Number of points and the last non-empty cell."""
    col = data[c.col]
    filled = np.flatnonzero(~np.isnan(col))
    last = int(filled[-1]) + 1 if filled.size else 0
    return min(c.n_points, last) if c.n_points > 0 else last
