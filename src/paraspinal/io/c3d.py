"""C3D motion-capture files: the analog channels (EMG, and on request the others) through ezc3d.

A C3D file holds 3-D marker trajectories at the point rate (``POINT:RATE``) and analog
channels (EMG, force plates, triggers) at the analog rate (``ANALOG:RATE``), an integer
number of analog samples ("subframes") per point frame. This reader returns the analog
channels at the analog rate.

Scaling. The C3D specification gives the physical value of analog sample ``x`` of channel
``i`` as ``(x - ANALOG:OFFSET[i]) * ANALOG:SCALE[i] * ANALOG:GEN_SCALE`` (C3D User Guide,
"The ANALOG group"). ezc3d (1.7) applies this conversion itself, for integer *and* float
data files, in ``c3d["data"]["analogs"]``; paraspinal's tests check it against a decoding of
the file's bytes written from the specification. This reader therefore only converts the
unit (``ANALOG:UNITS``: ``V``, ``mV``, ``uV``) to volts.

Which channels are EMG (``channels="emg"``), in order:

1. a channel whose unit is not a voltage (``N``, ``Nmm``, ``deg``) is not EMG;
2. a label with the word ``EMG`` in it (``EMG 3``, ``Delt_ant.EMG1``, ``Sensor 2.IM EMG2``)
   is EMG - Qualisys (``EMG 1..16``) and Vicon/Delsys exports label them so;
3. a label that names a muscle paraspinal knows (``Left Multifidus L5``) is EMG;
4. a channel in ``mV`` or ``uV`` is EMG - BTS writes EMG in mV labelled with the muscle
   (``Right Rectus femoris``), beside force plates in N and N.mm, and force plates,
   triggers and generic analog inputs are recorded in V;
5. anything else (``Voltage.1``, ``Sync``, ``Channel_08``) is not EMG.

Descriptions (``ANALOG:DESCRIPTIONS``) are not used: Vicon describes plain voltage inputs as
"Analog EMG::Voltage". Labels are kept verbatim, including ``:`` and ``.``.

C3D events (``EVENT:LABELS``, ``EVENT:CONTEXTS``, ``EVENT:TIMES``) become zero-duration
phases, timed from the first frame of the file.

References
----------
Motion Lab Systems (2008). The C3D File Format: A Technical User Guide. https://www.c3d.org
Michaud B, Begon M (2021). ezc3d: An easy C3D file I/O cross-platform solution for C++,
Python and MATLAB. J Open Source Softw 6(58):2911. doi:10.21105/joss.02911
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..channels import parse_channel_name
from ..errors import ChannelError, ParameterError, ParaspinalWarning, ReadError
from ..recording import Recording, unit_scale

__all__ = ["read_c3d", "is_emg_channel"]

_BLOCK = 512
_PROCESSORS = {84: "Intel", 85: "DEC", 86: "MIPS"}
_EMG_WORD = re.compile(r"(?i)(?:^|[^a-z])s?emg(?:$|[^a-z])")


def is_emg_channel(label: str, unit: str) -> bool:
    """Tell whether a C3D analog channel carries EMG, from its label and unit.

    Parameters
    ----------
    label : str
        ``ANALOG:LABELS`` entry (``"EMG 3"``, ``"Delt_ant.EMG1"``, ``"Right Rectus femoris"``).
    unit : str
        ``ANALOG:UNITS`` entry (``"V"``, ``"mV"``, ``"N"``).

    Returns
    -------
    bool
        See the rules in the module docstring.

    Examples
    --------
    >>> is_emg_channel("EMG 1", "V"), is_emg_channel("Fz1", "N"), is_emg_channel("R Rectus femoris", "mV")
    (True, False, True)
    """
    scale = unit_scale(unit)
    if scale is None:
        return False
    if _EMG_WORD.search(label):
        return True
    if parse_channel_name(label).muscle is not None:
        return True
    return scale < 1.0


def _header_check(path: Path) -> None:
    """Check the C3D header and parameter-section structure before ezc3d parses them.

    ezc3d trusts the byte offsets in the file: a truncated data section is read short
    without complaint and some corrupted parameter sections make it loop. This walks the
    structures the C3D User Guide defines (header block; parameter records chained by
    their "offset to next" word; data start block and size) and raises on the first that
    does not hold.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_BLOCK)
        if len(head) < _BLOCK:
            raise ReadError(
                f"the C3D header is incomplete ({size} bytes, a C3D file has at least 1024)",
                file=path, hint="the file is truncated; copy or export it again",
            )
        pblock = head[0]
        if head[1] != 0x50 or pblock < 2:
            raise ReadError("not a C3D file (byte 2 is not the C3D key 0x50)", file=path,
                            hint="check that the file is a C3D export")
        fh.seek((pblock - 1) * _BLOCK)
        pstart = fh.read(4)
        if len(pstart) < 4:
            raise ReadError("the C3D parameter section is missing", file=path,
                            hint="the file is truncated; copy or export it again")
        n_pblocks, proc = pstart[2], pstart[3]
        if proc not in _PROCESSORS:
            raise ReadError(f"unknown C3D processor type {proc} (expected 84 Intel, 85 DEC or 86 MIPS)",
                            file=path, hint="the parameter section is corrupted; export the file again")
        if n_pblocks == 0:
            raise ReadError("the C3D parameter section is empty", file=path,
                            hint="the file is corrupted; export it again")
        fh.seek((pblock - 1) * _BLOCK)
        section = fh.read(n_pblocks * _BLOCK)
    if len(section) < n_pblocks * _BLOCK:
        raise ReadError(
            f"the C3D parameter section is cut short ({len(section)} of {n_pblocks * _BLOCK} bytes)",
            file=path, hint="the file is truncated; copy or export it again",
        )
    big = proc == 86
    ushort = ">H" if big else "<H"
    scalars = _walk_parameters(path, section, (pblock - 1) * _BLOCK, big)
    # Data size the header promises: frames x (points*4 + analog samples per frame) words.
    n_points = struct.unpack(ushort, head[2:4])[0]
    n_analog = struct.unpack(ushort, head[4:6])[0]
    first, last = struct.unpack(ushort, head[6:8])[0], struct.unpack(ushort, head[8:10])[0]
    data_start = struct.unpack(ushort, head[16:18])[0]
    if proc == 85:
        return  # DEC floats: leave the word size to ezc3d
    scale = struct.unpack(">f" if big else "<f", head[12:16])[0]
    word = 4 if scale < 0 else 2
    n_frames = last - first + 1
    if data_start >= 2 and n_frames > 0:
        need = (data_start - 1) * _BLOCK + n_frames * (4 * n_points + n_analog) * word
        # ezc3d's ROTATION extension: 4 x 4 float32 per rotation, USED per sample, RATIO samples per frame
        ratio, used = scalars.get(("ROTATION", "RATIO"), 0), scalars.get(("ROTATION", "USED"), 0)
        if not (0 <= ratio <= 1000 and 0 <= used <= 10000):
            raise ReadError(f"the C3D ROTATION parameters are implausible (RATIO {ratio:g}, USED {used:g})",
                            file=path, hint="the parameter section is damaged; export the file again")
        need += int(n_frames * ratio * used * 16 * 4)
        if size < need:
            raise ReadError(
                f"the C3D file is truncated: its header announces {n_frames} frames "
                f"({need} bytes) but the file has {size} bytes",
                file=path, hint="copy or export the file again",
            )


_TYPES = {-1: 1, 1: 1, 2: 2, 4: 4}  # C3D parameter data types and their sizes in bytes: char, byte, int, float


def _walk_parameters(path: Path, section: bytes, start: int, big: bool) -> dict[tuple[str, str], float]:
    """Check every record of a C3D parameter section (C3D User Guide, "The parameter section").

    A record: name length (negative: locked), group id (negative: a group, positive: a
    parameter of that group), the name, the offset to the next record (from this word), then
    for a parameter its data type (-1 char, 1 byte, 2 int, 4 float), number of dimensions
    (0-7), the dimensions and the data, and a description. Each part must lie before the next
    record and inside the section, the names must be text, and every parameter must belong
    to a group of the section: ezc3d trusts all of it, and crashes or loops where it is wrong.
    Returns the first value of every numeric parameter, by ``(group, name)``.
    """
    short = ">h" if big else "<h"
    groups: dict[int, str] = {}
    members: list[tuple[int, str]] = []
    first: dict[tuple[int, str], float] = {}
    pos = 4

    def bad(what: str) -> ReadError:
        return ReadError(f"corrupted C3D parameter record at byte {start + pos} ({what})", file=path,
                         hint="the parameter section is damaged; export the file again")

    while pos + 2 <= len(section):
        n_chars = abs(struct.unpack("b", section[pos:pos + 1])[0])
        gid = struct.unpack("b", section[pos + 1:pos + 2])[0]
        if n_chars == 0 or gid == 0:
            break
        name = section[pos + 2:pos + 2 + n_chars]
        if len(name) < n_chars or not re.fullmatch(rb"[A-Za-z0-9_ \-]+", name):
            raise bad("its name is not text")
        p = pos + 2 + n_chars
        if p + 2 > len(section):
            raise bad("cut short")
        offset = struct.unpack(short, section[p:p + 2])[0]
        end = p + offset if offset > 0 else len(section)
        if offset < 0 or end > len(section):
            raise bad(f"a link of {offset} bytes out of the section")
        q = p + 2
        if gid < 0:
            groups[-gid] = name.decode("latin-1").upper()
        else:
            members.append((gid, name.decode("latin-1")))
            if q + 2 > end:
                raise bad("cut short")
            typ, ndims = struct.unpack("b", section[q:q + 1])[0], section[q + 1]
            if typ not in _TYPES or ndims > 7 or q + 2 + ndims > end:
                raise bad(f"data type {typ}, {ndims} dimensions")
            n_values = int(np.prod([section[q + 2 + k] for k in range(ndims)], dtype=np.int64))
            d = q + 2 + ndims
            if typ in (1, 2, 4) and n_values and d + _TYPES[typ] <= end:
                fmt = {1: "b", 2: short, 4: (">f" if big else "<f")}[typ]
                first[(gid, name.decode("latin-1").upper())] = struct.unpack(fmt, section[d:d + _TYPES[typ]])[0]
            q = d + n_values * _TYPES[typ]
        if q + 1 > end or q + 1 + section[q] > end:
            raise bad("its data or description runs into the next record")
        if offset == 0:
            break
        pos = end
    orphans = sorted({f"{name} (group {gid})" for gid, name in members if gid not in groups})
    if orphans:
        raise ReadError(f"C3D parameters of no group: {orphans[:5]}", file=path,
                        hint="the parameter section is damaged; export the file again")
    return {(groups[gid], name): value for (gid, name), value in first.items()}


def _values(group: Mapping[str, Any], key: str) -> Any:
    if key in group:
        return group[key]["value"]
    return None


def read_c3d(
    path: str | os.PathLike,
    *,
    channels: str | Iterable[str] = "emg",
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read the analog channels of a C3D file.

    Parameters
    ----------
    path : path-like
        The ``.c3d`` file (opened read-only).
    channels : {"emg", "all"} or list of str
        ``"emg"`` (default) keeps the EMG channels as recognised by
        :func:`is_emg_channel`; ``"all"`` keeps every analog channel, the others as
        ``misc`` with their unit (``N``, ``Nmm``, ``V``); a list keeps those labels, in
        that order (a listed channel in a voltage unit is EMG, any other ``misc``).
    channel_map : mapping, optional
        Explicit channel-name map (``{"EMG 1": "L_MF_L5"}``), by C3D label.
    meta : mapping, optional
        Metadata to attach (subject, group, ...).
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        Sampled at ``ANALOG:RATE`` (Hz); EMG in volts. ``meta`` holds ``point_rate`` (Hz),
        ``first_frame`` (1-based, as in the file header) and ``manufacturer`` when the file
        names it. C3D events become zero-duration phases (``"Left Foot Strike"``).

    Raises
    ------
    ReadError
        Truncated or corrupted file.
    ChannelError
        No EMG channel, an unknown label in ``channels``, or duplicate labels.

    References
    ----------
    Motion Lab Systems (2008). The C3D File Format: A Technical User Guide. https://www.c3d.org
    Michaud B, Begon M (2021). J Open Source Softw 6(58):2911 (ezc3d).
    """
    import ezc3d

    path = Path(path)
    _header_check(path)
    try:
        c3d = ezc3d.c3d(os.fspath(path), extract_forceplat_data=False)
    except Exception as err:  # noqa: BLE001 - ezc3d raises many kinds on a damaged file (MemoryError too)
        raise ReadError(f"could not be read as C3D: {err}", file=path,
                        hint="the file may be truncated or corrupted; export it again") from err
    params = c3d["parameters"]
    analog = params.get("ANALOG", {})
    labels = [str(s).strip() for s in (_values(analog, "LABELS") or [])]
    data = np.asarray(c3d["data"]["analogs"], dtype=np.float64)
    if data.ndim != 3 or data.shape[1] == 0 or not labels:
        raise ChannelError("the C3D file has no analog channels", file=path,
                           hint="EMG in a C3D file is stored as analog channels; export them with the trial")
    data = data[0]
    n_used = data.shape[0]
    labels = labels[:n_used] + [f"Analog {i + 1}" for i in range(len(labels), n_used)]
    units = [str(u).strip() for u in (_values(analog, "UNITS") or [])]
    units = units[:n_used] + ["V"] * (n_used - len(units))
    rate = _values(analog, "RATE")
    sfreq = float(np.ravel(rate)[0]) if rate is not None and np.size(rate) else float(c3d["header"]["analogs"]["frame_rate"])
    point_rate = float(c3d["header"]["points"]["frame_rate"])
    if not (np.isfinite(point_rate) and point_rate > 0):
        point_rate = None  # no point data (or a damaged header): events are then timed from the first sample

    expected = (c3d["header"]["analogs"]["last_frame"] - c3d["header"]["analogs"]["first_frame"] + 1)
    if data.shape[1] < expected:
        raise ReadError(f"the C3D file is truncated: {data.shape[1]} of {expected} analog samples",
                        file=path, hint="copy or export the file again")

    if isinstance(channels, str) and channels == "emg":
        idx = [i for i, (lab, u) in enumerate(zip(labels, units)) if is_emg_channel(lab, u)]
        if not idx:
            raise ChannelError(
                "no EMG channel recognised among the analog channels "
                f"{list(zip(labels, units))[:20]}",
                file=path,
                hint="pass channels=[...] with the EMG labels, or channels='all'",
            )
        types = ["emg"] * len(idx)
    elif isinstance(channels, str) and channels == "all":
        idx = list(range(n_used))
        types = ["emg" if is_emg_channel(labels[i], units[i]) else "misc" for i in idx]
    elif isinstance(channels, str):
        raise ParameterError(f"channels={channels!r} is not 'emg', 'all' or a list of labels", file=path)
    else:
        wanted = [str(c) for c in channels]
        missing = [c for c in wanted if c not in labels]
        if missing:
            raise ChannelError(f"no analog channel labelled {missing}", file=path,
                               hint=f"the analog labels are {labels}")
        idx = [labels.index(c) for c in wanted]
        types = ["emg" if unit_scale(units[i]) is not None else "misc" for i in idx]
    names = [labels[i] for i in idx]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ChannelError(f"duplicate analog labels {dup}", file=path,
                           hint="relabel the channels in the capture software and export the trial again")
    ch_units = [units[i] if units[i] else ("V" if t == "emg" else "") for i, t in zip(idx, types)]
    rec_meta: dict[str, Any] = {"point_rate": point_rate,
                                "first_frame": int(c3d["header"]["points"]["first_frame"]) + 1}
    manufacturer = params.get("MANUFACTURER", {})
    company = _values(manufacturer, "COMPANY")
    if company:
        rec_meta["manufacturer"] = str(company[0] if isinstance(company, list) else company).strip()
    rec_meta.update(dict(meta or {}))
    rec = Recording.from_array(
        data[idx], sfreq, names, units=ch_units, ch_types=types, channel_map=channel_map,
        meta=rec_meta, rename=rename, file=path, units_from_file=True,
    )
    t0 = c3d["header"]["points"]["first_frame"] / point_rate if point_rate else 0.0
    phases = _events(params, t0, rec.duration, path)
    if phases is not None:
        rec = rec.with_phases(phases)
    return rec


def _events(params: Mapping[str, Any], t0: float, duration: float, path: Path) -> pd.DataFrame | None:
    """C3D events as phases: ``EVENT:TIMES`` row 0 minutes, row 1 seconds (C3D User Guide)."""
    event = params.get("EVENT")
    if not event:
        return None
    labels = [str(s).strip() for s in (_values(event, "LABELS") or [])]
    times = _values(event, "TIMES")
    used = _values(event, "USED")
    n = int(np.ravel(used)[0]) if used is not None and np.size(used) else len(labels)
    if n == 0 or times is None or np.size(times) == 0:
        return None
    times = np.asarray(times, dtype=float).reshape(2, -1)
    n = min(n, len(labels), times.shape[1])
    contexts = [str(s).strip() for s in (_values(event, "CONTEXTS") or [])]
    contexts = contexts + [""] * (n - len(contexts))
    onset = times[0, :n] * 60.0 + times[1, :n] - t0
    desc = [f"{c} {lab}".strip() if c else lab for c, lab in zip(contexts[:n], labels[:n])]
    inside = (onset >= 0) & (onset <= duration)
    if not inside.all():
        warnings.warn(
            f"{path}: {int((~inside).sum())} C3D event(s) outside the recorded frames were dropped",
            ParaspinalWarning, stacklevel=3,
        )
    if not inside.any():
        return None
    return pd.DataFrame({"onset": onset[inside], "duration": np.zeros(int(inside.sum())),
                         "phase": [d for d, k in zip(desc, inside) if k]})
