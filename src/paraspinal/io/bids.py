"""BIDS-EMG: write a Recording as a BIDS-EMG dataset, and read one back with its sidecars.

Layout (BIDS 1.10+, EMG datatype)::

    ROOT/dataset_description.json
    ROOT/participants.tsv            participant_id, ..., group
    ROOT/sub-<label>/[ses-<label>/]emg/sub-<label>[_ses-<label>]_task-<label>[_run-<index>]_emg.edf
                                      ..._channels.tsv   name, type, units, ..., target_muscle, muscle, side, level
                                      ..._events.tsv     onset, duration, trial_type, cycle, sample
                                      ..._emg.json

The data file, ``*_emg.json``, ``dataset_description.json``, ``participants.tsv`` and the
scans file are written by MNE-BIDS (``write_raw_bids``). paraspinal then adds its columns:

- ``channels.tsv``: ``target_muscle`` (the BIDS-EMG column naming the muscle in words,
  e.g. ``"left multifidus"``), and paraspinal's codes ``muscle`` (``MF``), ``side``
  (``L``/``R``) and ``level`` (``L5``); ``units`` of non-voltage channels (``deg``) as the
  Recording says, which the EDF header does not carry through MNE's exporter.
- ``events.tsv``: rewritten from the Recording's phases: ``onset`` and ``duration`` in
  seconds from the first sample, ``trial_type`` = phase name, ``cycle`` (flexion-relaxation
  cycle number or ``n/a``), ``sample`` (0-based); ``events.json`` describes the columns.
- ``participants.tsv``: a ``group`` column (``control``/``patient``/...). Rows of other
  participants are kept; the column is added when missing.
- for electrode grids: ``sub-<label>[_ses-<label>]_electrodes.tsv`` (``name, x, y,
  coordinate_system, group``: every grid channel at its position in mm, the grid's name as
  group and coordinate system), ``..._coordsystem.json`` (one named coordinate system per
  grid, in mm, with its model and montage), and ``signal_electrode``/``group`` columns in
  ``channels.tsv`` (:func:`write_electrodes`).

Determinism: the measurement date is not written (``meas_date`` is cleared: BIDS
``acq_time`` becomes ``n/a`` and the EDF start date is MNE's fixed default), so writing
the same Recording twice gives byte-identical files.

References
----------
Gorgolewski KJ et al. (2016). The brain imaging data structure. Sci Data 3:160044.
BIDS specification, "Electromyography" (BEP042, BIDS 1.10):
https://bids-specification.readthedocs.io/en/stable/modality-specific-files/electromyography.html
Appelhoff S et al. (2019). MNE-BIDS. J Open Source Softw 4(44):1896.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import write_text_atomic
from ..channels import MUSCLES, SIDES
from ..errors import ChannelError, ParameterError, ReadError, WriteError
from ..grids import layout_of
from ..recording import Recording
from .sidecars import NA as _NA
from .sidecars import apply_sidecars, events_to_phases, parse_entities
from .sidecars import read_tsv as _read_tsv

__all__ = ["apply_sidecars", "read_bids", "write_bids", "parse_entities", "events_to_phases", "phases_to_events",
           "EVENTS_COLUMNS", "EVENTS_JSON", "write_electrodes"]

_LABEL = re.compile(r"^[A-Za-z0-9]+$")
_ENTITY_ORDER = ("sub", "ses", "task", "acq", "run")


# ----------------------------------------------------------------------------- helpers
# (reading the sidecars, parse_entities and events_to_phases: paraspinal.io.sidecars)
def _write_tsv(df: pd.DataFrame, path: Path) -> None:
    text = df.to_csv(sep="\t", index=False, lineterminator="\n", na_rep=_NA)
    write_text_atomic(path, text)


def _na(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return _NA
    return str(value)


# ----------------------------------------------------------------------------- reading
def read_bids(
    path: str | os.PathLike,
    *,
    subject: str | None = None,
    session: str | None = None,
    task: str | None = None,
    run: int | str | None = None,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read a BIDS-EMG recording with its sidecars.

    Parameters
    ----------
    path : path-like
        The data file (``*_emg.edf`` / ``*_emg.bdf``), or the dataset root, in which case
        ``subject`` (and ``session``, ``task``, ``run`` as needed) choose one file.
    subject, session, task, run : str, optional
        Entities selecting the file under a root.
    channel_map, meta, rename
        As :func:`paraspinal.io.mne_formats.read_edf`.

    Returns
    -------
    Recording

    Raises
    ------
    ReadError
        No file, or several, match the entities.

    References
    ----------
    BIDS specification, "Electromyography" (https://bids-specification.readthedocs.io).
    """
    from .mne_formats import read_bdf, read_edf

    path = Path(path)
    if path.is_dir():
        if subject is None:
            raise ParameterError("a BIDS root needs subject=... to choose a recording", file=path,
                                 hint="or pass the *_emg.edf file itself")
        want = {"sub": str(subject), "ses": session, "task": task,
                "run": None if run is None else str(run)}
        found = []
        for f in sorted(path.glob(f"sub-{subject}/**/emg/*_emg.*")):
            if f.suffix.lower() not in (".edf", ".bdf"):
                continue
            ents = parse_entities(f)
            if all(v is None or (k == "run" and ents.get(k, "").lstrip("0") == v.lstrip("0")) or ents.get(k) == v
                   for k, v in want.items()):
                found.append(f)
        if len(found) != 1:
            raise ReadError(
                f"{len(found)} EMG recordings match {({k: v for k, v in want.items() if v is not None})}"
                + (f": {[f.name for f in found]}" if found else ""),
                file=path, hint="give session=, task= or run= to choose one, or pass the file's path",
            )
        path = found[0]
    if not path.is_file():
        raise ReadError("no such file", file=path, hint="check the path")
    reader = read_bdf if path.suffix.lower() == ".bdf" else read_edf
    rec = reader(path, channel_map=channel_map, meta=meta, rename=rename)
    # as ps.read says what it read
    rec.meta["source"] = str(path)
    rec.meta["format"] = "bdf" if path.suffix.lower() == ".bdf" else "edf"
    return rec


# ----------------------------------------------------------------------------- writing
def _label(value: Any, entity: str, required: bool) -> str | None:
    if value is None:
        if required:
            raise ParameterError(f"BIDS needs a {entity} label", hint=f"pass {entity}=... or set rec.meta[{entity!r}]")
        return None
    text = str(value)
    if entity == "run":
        if not text.isdigit():
            raise ParameterError(f"BIDS run must be a non-negative integer, got {value!r}")
        return text
    if not _LABEL.match(text):
        raise ParameterError(f"BIDS {entity} label {text!r} may hold only letters and digits",
                             hint="e.g. subject='P07' rather than 'P-07'")
    return text


def write_bids(
    rec: Recording,
    root: str | os.PathLike,
    *,
    subject: str | None = None,
    session: str | None = None,
    task: str | None = None,
    run: int | str | None = None,
    group: str | None = None,
    fmt: str = "edf",
    overwrite: bool = False,
) -> Path:
    """Write a Recording into a BIDS-EMG dataset.

    Parameters
    ----------
    rec : Recording
        What to write (EMG in volts is stored in µV by EDF/BDF).
    root : path-like
        The dataset root (created when missing).
    subject, session, task, run : str or int, optional
        BIDS entities; default to ``rec.meta``. ``subject`` and ``task`` are required.
    group : str, optional
        The participant's group for ``participants.tsv`` (default ``rec.meta["group"]``).
    fmt : {"edf", "bdf"}
        Data format: EDF (16-bit) or BDF (24-bit).
    overwrite : bool
        Replace an existing recording with the same entities.

    Returns
    -------
    pathlib.Path
        The data file written (``.../sub-01_task-frt_emg.edf``).

    Raises
    ------
    ParameterError
        Missing or invalid entities, unknown ``fmt``.
    WriteError
        The recording exists (and ``overwrite`` is False) or cannot be written.

    Notes
    -----
    Each channel is scaled to its own physical range in the file (``physical_range=
    "channelwise"``), so the round-trip error is at most (max - min) / (2**16 - 1) per
    channel for EDF, / (2**24 - 1) for BDF.

    References
    ----------
    BIDS specification, "Electromyography" (BEP042); Appelhoff S et al. (2019),
    MNE-BIDS, J Open Source Softw 4(44):1896.
    """
    from mne_bids import BIDSPath, write_raw_bids

    fmt = str(fmt).lower()
    if fmt not in ("edf", "bdf"):
        raise ParameterError(f"fmt={fmt!r}: BIDS-EMG data are written as 'edf' or 'bdf'")
    meta = rec.meta
    subject = _label(subject if subject is not None else meta.get("subject"), "subject", True)
    session = _label(session if session is not None else meta.get("session"), "session", False)
    task = _label(task if task is not None else meta.get("task"), "task", True)
    run = _label(run if run is not None else meta.get("run"), "run", False)
    group = group if group is not None else meta.get("group")
    root = Path(root)
    bids_path = BIDSPath(subject=subject, session=session, task=task, run=run, datatype="emg",
                         suffix="emg", extension=f".{fmt}", root=root)
    if bids_path.fpath.exists() and not overwrite:
        raise WriteError("the recording exists", file=bids_path.fpath, hint="pass overwrite=True to replace it")

    raw = rec.to_mne()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw.set_meas_date(None)
        raw.info["subject_info"] = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_raw_bids(raw, bids_path, format=fmt.upper(), allow_preload=True, overwrite=True,
                           emg_placement="ChannelSpecific", physical_range="channelwise", verbose="error")
    except (OSError, ValueError, RuntimeError) as err:
        raise WriteError(f"could not write the BIDS recording: {err}", file=bids_path.fpath) from err

    _write_channels(rec, bids_path.copy().update(suffix="channels", extension=".tsv").fpath)
    write_electrodes(rec, bids_path.copy().update(suffix="channels", extension=".tsv").fpath, subject, session)
    _write_events(rec, bids_path.copy().update(suffix="events", extension=".tsv").fpath)
    _write_group(root, subject, group)
    return Path(bids_path.fpath)


def _write_channels(rec: Recording, path: Path) -> None:
    tsv = _read_tsv(path)
    table = rec.channels.set_index("name")
    target, muscle, side, level, units = [], [], [], [], []
    for name, unit in zip(tsv["name"], tsv["units"]):
        if name not in table.index:
            raise ChannelError("MNE-BIDS wrote a channel the Recording does not have", file=path, channel=name)
        row = table.loc[name]
        m, s, lv = row["muscle"], row["side"], row["level"]
        is_emg = row["type"] == "emg" and isinstance(m, str)
        words = " ".join(w for w in (SIDES.get(s) if isinstance(s, str) else None, MUSCLES.get(m)) if w)
        target.append(words if is_emg and words else _NA)
        muscle.append(_na(m) if is_emg else _NA)
        side.append(_na(s) if is_emg else _NA)
        level.append(_na(lv) if is_emg else _NA)
        units.append(unit if row["unit"] == "V" else (row["unit"] or _NA))
    tsv["units"] = units
    tsv["target_muscle"] = target
    tsv["muscle"] = muscle
    tsv["side"] = side
    tsv["level"] = level
    _write_tsv(tsv, path)
    sidecar = path.with_suffix(".json")
    write_text_atomic(sidecar, json.dumps({
        "target_muscle": {"Description": "Muscle under the electrode, in words (BIDS-EMG)."},
        "muscle": {"Description": "paraspinal muscle code",
                   "Levels": dict(sorted(MUSCLES.items()))},
        "side": {"Description": "Body side", "Levels": dict(SIDES)},
        "level": {"Description": "Vertebral level of the electrode (e.g. L5, L4-L5)"},
    }, indent=2) + "\n")


#: Columns of an ``events.tsv`` that paraspinal writes, in order.
EVENTS_COLUMNS: tuple[str, ...] = ("onset", "duration", "trial_type", "cycle", "sample")

#: The ``events.json`` sidecar that describes those columns.
EVENTS_JSON: dict[str, dict[str, str]] = {
    "onset": {"Description": "Start of the phase from the first sample", "Units": "s"},
    "duration": {"Description": "Length of the phase", "Units": "s"},
    "trial_type": {"Description": "Task phase (paraspinal phase vocabulary: standing, flexion, "
                                  "full_flexion, extension, ...)"},
    "cycle": {"Description": "Flexion-relaxation cycle number (1-based), n/a outside cycles"},
    "sample": {"Description": "Onset as a 0-based sample index"},
}


def _seconds(v: float) -> str:
    return "0" if v == 0 else f"{v:.6f}".rstrip("0").rstrip(".")


def phases_to_events(phases: pd.DataFrame, sfreq: float) -> pd.DataFrame:
    """A phase table (``onset, duration, phase[, cycle]``) as an events table of text columns
    (:data:`EVENTS_COLUMNS`; the inverse of :func:`events_to_phases`)."""
    onset = np.asarray(phases["onset"], dtype=float) if len(phases) else np.zeros(0)
    duration = np.asarray(phases["duration"], dtype=float) if len(phases) else np.zeros(0)
    cycles = phases["cycle"] if "cycle" in phases else pd.Series([None] * len(phases))
    return pd.DataFrame({
        "onset": [_seconds(v) for v in onset],
        "duration": [_seconds(v) for v in duration],
        "trial_type": [str(p) for p in phases["phase"]] if len(phases) else [],
        "cycle": [_NA if pd.isna(c) else str(int(c)) for c in cycles],
        "sample": np.round(onset * float(sfreq)).astype(np.int64),
    }, columns=list(EVENTS_COLUMNS))


def _write_events(rec: Recording, path: Path) -> None:
    phases = rec.phases
    if not len(phases):
        if path.exists():
            path.unlink()
        return
    _write_tsv(phases_to_events(phases, rec.sfreq), path)
    write_text_atomic(path.with_suffix(".json"), json.dumps(EVENTS_JSON, indent=2) + "\n")


def _write_group(root: Path, subject: str, group: str | None) -> None:
    path = root / "participants.tsv"
    table = _read_tsv(path)
    if "group" not in table.columns:
        table["group"] = _NA
    mask = table["participant_id"] == f"sub-{subject}"
    if group is not None:
        table.loc[mask, "group"] = str(group)
    table = table.sort_values("participant_id", kind="stable").reset_index(drop=True)
    _write_tsv(table, path)
    sidecar = root / "participants.json"
    info = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}
    info["group"] = {"Description": "Study group", "Levels": {"control": "healthy control",
                                                            "patient": "low-back-pain patient"}}
    write_text_atomic(sidecar, json.dumps(info, indent=4) + "\n")


# ----------------------------------------------------------------------------- electrode grids
def write_electrodes(rec: Recording, channels_tsv: Path, subject: str, session: str | None) -> list[Path]:
    """Write the electrode grids of a Recording as BIDS-EMG ``electrodes.tsv`` and ``coordsystem.json``.

    ``sub-<label>[_ses-<label>]_electrodes.tsv`` beside the data file holds one row per grid
    channel: ``name`` (the channel's name), ``x``, ``y`` (mm, the channel table's ``x_mm``,
    ``y_mm``), ``coordinate_system`` and ``group`` (the grid's name).
    ``..._coordsystem.json`` has one coordinate system per grid (``EMGCoordinateSystem``
    ``"Other"``, ``EMGCoordinateUnits`` ``"mm"``, a description of the frame, and
    ``GridModel``/``Montage`` from ``rec.meta["grids"]``). ``channels_tsv`` gains
    ``signal_electrode`` (the channel's electrode) and ``group``. By the BIDS inheritance
    principle the two files apply to every task and run of the subject (and session).
    Nothing is written for a recording without grids.

    Parameters
    ----------
    rec : Recording
    channels_tsv : Path
        The recording's ``*_channels.tsv`` (already written).
    subject, session : str
        BIDS labels.

    Returns
    -------
    list of Path
        The files written (empty without grids).

    Raises
    ------
    WriteError
        Another recording of the same subject (and session) wrote a different layout.

    References
    ----------
    BIDS specification, "Electromyography": electrodes description and coordinate systems.
    """
    layout = layout_of(rec)
    if not len(layout):
        return []
    folder = channels_tsv.parent
    prefix = f"sub-{subject}" + (f"_ses-{session}" if session else "")
    table = pd.DataFrame({"name": layout["name"], "x": [f"{v:.6g}" for v in layout["x_mm"]],
                          "y": [f"{v:.6g}" for v in layout["y_mm"]], "coordinate_system": layout["grid"],
                          "group": layout["grid"]})
    info = rec.meta.get("grids") or {}
    systems = {}
    for g in dict.fromkeys(layout["grid"]):
        gi = info.get(g) or {}
        systems[g] = {"EMGCoordinateSystem": "Other", "EMGCoordinateUnits": "mm",
                      "EMGCoordinateSystemDescription": (
                          f"electrode grid {g}: x along the grid's columns, y along its rows (row 0 caudal on the "
                          "back, so y is cranio-caudal, positive cranially), origin at lattice cell (row 0, col 0)"),
                      **({"GridModel": str(gi["model"])} if gi.get("model") else {}),
                      "Montage": str(gi.get("montage", "monopolar"))}
    electrodes = folder / f"{prefix}_electrodes.tsv"
    coordsystem = folder / f"{prefix}_coordsystem.json"
    text = table.to_csv(sep="\t", index=False, lineterminator="\n")
    doc = json.dumps(systems, indent=2) + "\n"
    for path, new in ((electrodes, text), (coordsystem, doc)):
        if path.exists() and path.read_text(encoding="utf-8") != new:
            raise WriteError("another recording of this subject wrote a different electrode layout", file=path,
                             hint="record different grid placements as separate sessions (ses-)")
    write_text_atomic(electrodes, text)
    write_text_atomic(coordsystem, doc)
    tsv = _read_tsv(channels_tsv)
    grid_of = dict(zip(layout["name"], layout["grid"]))
    tsv["signal_electrode"] = [n if n in grid_of else _NA for n in tsv["name"]]
    tsv["group"] = [grid_of.get(n, _NA) for n in tsv["name"]]
    _write_tsv(tsv, channels_tsv)
    return [electrodes, coordsystem]
