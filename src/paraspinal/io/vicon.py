"""Vicon Nexus CSV exports: the analog ``Devices`` block.

A Nexus CSV export holds blocks (``Devices``, ``Trajectories``, ``Model Outputs``...), each:

1. the block's name on a line of its own (``Devices``);
2. its rate in Hz (``2000``);
3. the device-name row: a device's name (``Imported Delsys Trigno EMG 2.0 - Sensor 1``,
   i.e. ``<device> - <output>``) above the first of its columns, empty above the rest;
4. the channel-name row (``Frame, Sub Frame, EMG1, ...``);
5. the units row (``, , V, V, ...``);
6. data rows, until a blank line or the next block.

Only the ``Devices`` block is read: it holds the analog channels (EMG, force plates,
voltages) at the analog rate. ``Frame`` and ``Sub Frame`` are dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChannelError, FormatError, ParameterError, ReadError, SamplingRateError
from ..recording import Recording, unit_scale
from . import _textutil as tu

__all__ = ["read_vicon_csv"]

_BLOCKS = ("Devices", "Trajectories", "Model Outputs", "Joints", "Segments")
_FRAME_COLUMNS = ("frame", "sub frame")


def read_vicon_csv(
    path: str | os.PathLike,
    *,
    emg: Iterable[str] | str | None = None,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read the analog channels of a Vicon Nexus CSV export.

    Parameters
    ----------
    path : path-like
        The ``.csv`` export.
    emg : list of str or str, optional
        Which channels are EMG: a list of channel names (as named below, or as in the
        channel-name row), or a regular expression (``re.search``) matched against the
        names below. By default the C3D reader's rule decides
        (:func:`paraspinal.io.c3d.is_emg_channel`: a voltage channel whose name says ``EMG``
        or names a known muscle, or whose unit is mV/µV); device names are not used, since
        Nexus names plain analog inputs "Analog EMG". Every other channel is kept as a
        ``misc`` channel with its unit (``N``, ``N.mm``, ``V``).
    channel_map : mapping, optional
        Explicit channel-name map (``{"Sensor 1.EMG1": "L_MF"}``).
    meta : mapping, optional
        Metadata (subject, group, ...).
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        Voltages in volts, at the rate of the ``Devices`` block.

    Raises
    ------
    FormatError
        No ``Devices`` block, or its rate, names or units rows are missing or malformed.
    ReadError
        No data rows; ragged rows or non-numeric cells (line and column given).
    ChannelError
        Names in ``emg`` that are not in the file; empty cells inside a channel.

    Notes
    -----
    **Channel names** are ``<output>.<channel>``: the part of the device name after its last
    ``" - "`` (the Nexus device output, e.g. ``Voltage``, ``Sensor 1``), a dot, and the
    channel name (``1``, ``EMG1``) -- e.g. ``Voltage.1``, ``Sensor 1.EMG1``. This is how
    Nexus writes the same channels' ``ANALOG:LABELS`` in a C3D file, so a CSV and a C3D
    export of a trial give the same names when the C3D reader keeps those labels. Where two
    devices give the same name (two force plates' ``Force.Fx``), the whole device name is
    used instead (``Force Plate 1 - Force.Fx``). A device name covers the columns up to the
    next device name (Nexus leaves the cells of a device's other channels empty).
    """
    path = Path(path)
    raw_head, _ = tu.head_lines(path, max_lines=10_000)
    start = next((i for i, ln in enumerate(raw_head) if _first_cell(ln.text) == "Devices"), None)
    if start is None:
        raise FormatError(
            "no 'Devices' block (analog data) in the export", file=path,
            hint="export the trial from Nexus with 'Devices' ticked, or read the C3D file",
        )
    if start + 5 > len(raw_head):
        raise FormatError("the 'Devices' block is cut short (rate, device, channel and units rows expected)",
                          file=path, hint="re-export the trial")
    rate_line, dev_line, name_line, unit_line = raw_head[start + 1:start + 5]
    try:
        sfreq = float(_first_cell(rate_line.text))
    except ValueError:
        raise FormatError(f"line {rate_line.number} should hold the Devices rate in Hz, not "
                          f"{rate_line.text[:40]!r}", file=path) from None
    if not np.isfinite(sfreq) or sfreq <= 0:
        raise SamplingRateError(f"the Devices block gives a rate of {sfreq} Hz (line {rate_line.number})", file=path)
    devices = tu.split_fields(dev_line.text, ",")
    names = tu.split_fields(name_line.text, ",")
    units = tu.split_fields(unit_line.text, ",")
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise FormatError(f"line {name_line.number} should name the channels", file=path)
    width = len(names)
    devices = (devices + [""] * width)[:width]
    units = (units + [""] * width)[:width]

    # data: from the line after the units row to the first blank line or block name
    first = start + 5
    if first >= len(raw_head) or tu.is_blank(raw_head[first].text, ","):
        raise ReadError(f"the Devices block has no data rows after line {unit_line.number}", file=path,
                        hint="re-export the trial")
    end = _block_end(path, raw_head[first].start)
    data = tu.read_numeric(path, offset=raw_head[first].start, first_line=raw_head[first].number,
                           delimiter=",", end=end, names=names)
    data = data[:width] if data.shape[0] >= width else data
    if data.shape[0] < width:
        raise ReadError(f"the data rows have {data.shape[0]} columns, the channel-name row {width}", file=path)

    # device of each column: forward fill of the device row
    filled, current = [], ""
    for d in devices:  # loop over columns
        current = d or current
        filled.append(current)
    keep = [j for j in range(width) if names[j].strip().lower() not in _FRAME_COLUMNS and names[j]]
    if not keep:
        raise ChannelError("the Devices block holds no channel besides Frame and Sub Frame", file=path)
    labels = [_label(filled[j], names[j]) for j in keep]
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    labels = [
        f"{filled[j]}.{names[j]}" if counts[lab] > 1 and filled[j] else lab for j, lab in zip(keep, labels)
    ]
    is_emg = _emg_mask(emg, labels, [names[j] for j in keep], [filled[j] for j in keep],
                       [units[j] for j in keep], path)
    ch_units = [units[j] for j in keep]
    types = ["emg" if e else "misc" for e in is_emg]
    if keep == list(range(keep[0], keep[0] + len(keep))):
        block = data[keep[0]:keep[0] + len(keep)]
    else:
        block = data[keep]
    meta_out = dict(meta or {})
    meta_out.setdefault("devices", sorted({d for d in filled if d}))
    return Recording.from_array(
        block, sfreq, labels, units=[u if u else "" for u in ch_units], ch_types=types,
        channel_map=channel_map, meta=meta_out, rename=rename, file=path, units_from_file=True,
    )


def _first_cell(text: str) -> str:
    return text.split(",", 1)[0].strip().strip('"')


def _label(device: str, channel: str) -> str:
    output = device.rsplit(" - ", 1)[-1].strip() if device else ""
    return f"{output}.{channel}" if output else channel


def _block_end(path: Path, offset: int) -> int | None:
    """Byte offset of the first blank line or block name after ``offset`` (None: end of file)."""
    with open(path, "rb") as fh:  # read-only
        fh.seek(offset)
        raw = fh.read()
    nl = rb"(?:\r\n|\n|\r(?!\n))"
    blocks = b"|".join(re.escape(b.encode()) for b in _BLOCKS)
    pattern = re.compile(nl + rb"(?=[ \t,]*(?:" + nl + rb"|$)|(?:" + blocks + rb")[ \t,]*(?:" + nl + rb"|$))")
    m = pattern.search(raw)
    return None if m is None else offset + m.end()


def _emg_mask(emg, labels, names, devices, units, path) -> list[bool]:
    if emg is None:
        # the same rule as the C3D reader, so that a trial exported both ways gets the same
        # EMG channels; device names are not used (Nexus calls plain inputs "Analog EMG")
        from .c3d import is_emg_channel

        return [is_emg_channel(n, u) for n, u in zip(names, units)]
    if isinstance(emg, str):
        try:
            rx = re.compile(emg)
        except re.error as err:
            raise ParameterError(f"emg={emg!r} is not a valid regular expression: {err}", file=path) from err
        return [bool(rx.search(lab)) for lab in labels]
    wanted = list(emg)
    missing = [w for w in wanted if w not in labels and w not in names]
    if missing:
        raise ChannelError(f"the emg option names channels that are not in the file: {missing}", file=path,
                           hint=f"the channels are {labels}")
    return [lab in wanted or n in wanted for lab, n in zip(labels, names)]
