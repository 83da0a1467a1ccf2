"""WFDB (PhysioNet) records through the ``wfdb`` package.

A WFDB record is a text header (``.hea``: record line, one signal line per channel with
its format, gain ``adc/unit``, baseline and name, then ``#`` comment lines) and one or more
binary signal files (``.dat``). Physical values are ``(digital - baseline) / gain`` in the
unit the signal line names (WFDB header(5) manual page); ``wfdb.rdrecord`` returns them as
``p_signal``, which this reader converts to volts from the unit (``mV`` or the lowercase
``mv`` some PhysioNet headers write).

Header comments of the form ``<age>: 44 <sex>: M <diagnoses>: ...`` (the PhysioNet
convention) become ``meta`` fields (``age`` as a number when it is one); a comment line
that starts with a space continues the previous field; other comment lines are kept in
``meta["comments"]``.

Records whose signals have different sampling rates (``samps_per_frame`` > 1 for some
signals, written ``16x2`` in the header) are refused with a :class:`SamplingRateError`:
``wfdb`` would average the faster signals down to the frame rate, which destroys EMG.

References
----------
Goldberger AL et al. (2000). PhysioBank, PhysioToolkit, and PhysioNet. Circulation
101(23):e215-e220. WFDB file formats: https://physionet.org/physiotools/wag/header-5.htm,
https://physionet.org/physiotools/wag/signal-5.htm; wfdb-python:
https://wfdb.readthedocs.io
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ReadError, SamplingRateError
from ..recording import Recording, unit_scale

__all__ = ["read_wfdb", "parse_comments"]

_FIELD = re.compile(r"<([^<>]+)>:?\s*")


def parse_comments(comments: list[str]) -> dict[str, Any]:
    """Turn WFDB header comments into metadata fields.

    Parameters
    ----------
    comments : list of str
        Comment lines without the leading ``#`` and the one space after it; a line that
        starts with white space continues the previous field.

    Returns
    -------
    dict
        ``{"age": 57, "sex": "M", "diagnoses": "...", "comments": [...]}``; a field name is
        lower-cased with spaces replaced by ``_``.

    Examples
    --------
    >>> parse_comments(["<age>: 62 <sex>: M", "<diagnoses>: chronic low back pain and a", " right L5 radiculopathy"])
    {'age': 62, 'sex': 'M', 'diagnoses': 'chronic low back pain and a right L5 radiculopathy'}
    """
    out: dict[str, Any] = {}
    free: list[str] = []
    last: str | None = None
    for line in comments:
        if line[:1].isspace() and last is not None and not _FIELD.search(line):
            out[last] = f"{out[last]} {line.strip()}".strip()
            continue
        parts = _FIELD.split(line)
        # parts = [text before the first tag, name1, value1, name2, value2, ...]
        if len(parts) == 1:
            if line.strip():
                free.append(line.strip())
            last = None
            continue
        if parts[0].strip():
            free.append(parts[0].strip())
        for name, value in zip(parts[1::2], parts[2::2]):
            key = name.strip().lower().replace(" ", "_")
            out[key] = value.strip()
            last = key
    if "age" in out:
        try:
            age = float(out["age"])
            out["age"] = int(age) if age.is_integer() else age
        except ValueError:
            pass
    if free:
        out["comments"] = free
    return out


_RECORD_LINE = re.compile(r"^\S+\s+\d+(?:\s+[0-9.eE+-]+(?:/[0-9.eE+-]+)?(?:\([^)]*\))?(?:\s+\d+)?)?")


def _check_record_line(header: Path) -> None:
    """Check the record line (name, number of signals, frequency, samples; WFDB header(5)).

    ``wfdb`` falls back to 250 Hz when the frequency field cannot be parsed: a corrupted
    header would then give a wrong time axis without an error.
    """
    for line in header.read_text(encoding="latin-1").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not _RECORD_LINE.match(text):
            raise ReadError(f"the WFDB header's record line {text[:60]!r} is malformed", file=header,
                            hint="it must read 'NAME N_SIGNALS FREQUENCY N_SAMPLES', e.g. 'emg 1 4000 50860'")
        return
    raise ReadError("the WFDB header has no record line", file=header, hint="the .hea file is empty or corrupted")


def _raw_comments(header: Path) -> list[str]:
    """Comment lines of a header with their indentation (``wfdb`` strips it).

    The ``#`` and one following space are removed; a line that still starts with white
    space continues the field above it.
    """
    lines = header.read_text(encoding="latin-1").splitlines()
    out = []
    for line in lines:
        body = line.lstrip()
        if body.startswith("#"):
            text = body[1:]
            out.append(text[1:] if text.startswith(" ") else text)
    return out


def read_wfdb(
    path: str | os.PathLike,
    *,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read a WFDB record (PhysioNet).

    Parameters
    ----------
    path : path-like
        The record's ``.hea`` header or its ``.dat`` signal file (the header must sit
        beside it, with the same stem).
    channel_map : mapping, optional
        Explicit channel-name map (``{"EMG": "L_MF_L5"}``).
    meta : mapping, optional
        Metadata to attach; it takes precedence over the header comments.
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        Voltage channels in volts; other units (``mmHg``, ``deg``) kept and recorded.
        ``meta`` holds the header comments (see :func:`parse_comments`), ``record_name``
        and, when the header has them, ``base_date``/``base_time`` as ISO strings.

    Raises
    ------
    ReadError
        Missing header, unreadable header, truncated or corrupted signal file.
    SamplingRateError
        Signals recorded at different rates in one record.

    References
    ----------
    WFDB header(5) and signal(5) formats, https://physionet.org/physiotools/wag/;
    Goldberger AL et al. (2000). Circulation 101(23):e215-e220.
    """
    import wfdb as _wfdb

    path = Path(path)
    header = path.with_suffix(".hea")
    if not header.is_file():
        raise ReadError(f"the WFDB header {header.name} is missing", file=path,
                        hint="a WFDB record needs its .hea header beside the .dat file")
    record_name = os.fspath(header.with_suffix(""))
    _check_record_line(header)
    try:
        head = _wfdb.rdheader(record_name)
    except Exception as err:  # wfdb raises bare Exception/ValueError/IndexError on bad headers
        raise ReadError(f"the WFDB header could not be parsed: {err}", file=header,
                        hint="check the record line and the signal lines against the WFDB header format") from err
    spf = list(getattr(head, "samps_per_frame", None) or [])
    if len(set(spf)) > 1:
        names = list(head.sig_name or [])
        rates = {n: float(head.fs) * s for n, s in zip(names, spf)}
        raise SamplingRateError(
            f"the signals have different sampling rates {rates} Hz",
            file=header,
            hint="paraspinal reads one rate per recording; resample or split the record "
            "(e.g. wfdb.rdrecord(name, channels=[...], smooth_frames=False)) and build a Recording "
            "with Recording.from_array for each rate",
        )
    try:
        rec = _wfdb.rdrecord(record_name, physical=True)
    except Exception as err:
        raise ReadError(f"the WFDB signal file could not be read: {err}", file=path,
                        hint="the .dat file may be truncated or corrupted; download the record again") from err
    if not hasattr(rec, "p_signal") or rec.p_signal is None:
        raise ReadError("the WFDB record holds no signals", file=path,
                        hint="a multi-segment record must be read segment by segment")
    data = np.asarray(rec.p_signal, dtype=np.float64).T
    if rec.sig_name is None or any(n is None for n in rec.sig_name):
        raise ReadError("a WFDB signal line has no signal name (incomplete header)", file=header,
                        hint="each signal line needs file, format, gain, resolution, zero, initial value, "
                        "checksum, block size and description")
    names = [str(n) for n in rec.sig_name]
    units = [str(u).strip() if u else "" for u in (rec.units or [""] * len(names))]
    types = ["misc" if unit_scale(u) is None else None for u in units]
    out_meta: dict[str, Any] = parse_comments(_raw_comments(header) or list(rec.comments or []))
    out_meta["record_name"] = rec.record_name
    if rec.base_date is not None:
        out_meta["base_date"] = rec.base_date.isoformat()
    if rec.base_time is not None:
        out_meta["base_time"] = rec.base_time.isoformat()
    out_meta.update(dict(meta or {}))
    return Recording.from_array(
        data, float(rec.fs), names, units=units, ch_types=types, channel_map=channel_map,
        meta=out_meta, rename=rename, file=path, units_from_file=True,
    )
