"""The phase sidecar: where edited phases are saved, and how analysis reads them back.

The viewer never writes into a recording. Phases are saved as a BIDS ``events.tsv`` table
(columns ``onset, duration, trial_type, cycle, sample``; ``onset`` and ``duration`` in
seconds from the first sample, ``cycle`` a flexion-relaxation cycle number or ``n/a``,
``sample`` the 0-based onset sample) next to the recording:

* a BIDS file ``sub-01_task-frt_emg.edf`` -> its own ``sub-01_task-frt_events.tsv``, which
  :func:`paraspinal.read` already applies, so a re-read (and ``paraspinal study run``, whose
  cache key includes the events file) uses the edited phases;
* any other file ``trial3.csv`` -> ``trial3.csv.events.tsv`` (the whole file name plus
  ``.events.tsv``, so ``a.edf`` and ``a.csv`` in one folder do not share a sidecar).
  :func:`paraspinal.read` does not look for it: use :func:`read_with_phases` (or
  ``rec.with_phases(load_phases(path))``) before :func:`paraspinal.analyze`.

A sidecar is never the recording: a recording named like its own BIDS sidecar (a text
recording ``sub-01_task-frt_events.tsv``) gets ``sub-01_task-frt_events.tsv.events.tsv``, and
:func:`write_phases` refuses to replace a file that is not a phase table, so saving phases can
never overwrite an input file.

A column description ``*.json`` is written next to the table when none exists. Files are
written to a temporary file and renamed into place.

This module needs no Qt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import write_text_atomic
from ..errors import ParameterError, ReadError, WriteError
from ..io.bids import EVENTS_COLUMNS, EVENTS_JSON, events_to_phases, parse_entities, phases_to_events
from ..io.sidecars import same_file, sidecar_exists, sidecar_of
from ..recording import Recording

__all__ = ["sidecar_path", "write_phases", "load_phases", "apply_phases", "read_with_phases", "is_bids_file",
           "EVENTS_COLUMNS"]


def is_bids_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is named like a BIDS data file (``sub-<label>_..._<suffix>.<ext>``)."""
    return bool(parse_entities(path))


def sidecar_path(path: str | os.PathLike) -> Path:
    """The phase sidecar of a recording file.

    Parameters
    ----------
    path : path-like
        The recording file.

    Returns
    -------
    pathlib.Path
        ``<base>_events.tsv`` for a BIDS data file, else ``<file name>.events.tsv``; never
        ``path`` itself (a recording named ``..._events.tsv`` gets ``<file name>.events.tsv``).

    Examples
    --------
    >>> sidecar_path("sub-01_task-frt_emg.edf").name
    'sub-01_task-frt_events.tsv'
    >>> sidecar_path("trial3.csv").name
    'trial3.csv.events.tsv'
    >>> sidecar_path("sub-01_task-frt_events.tsv").name
    'sub-01_task-frt_events.tsv.events.tsv'
    """
    path = Path(path)
    if is_bids_file(path):
        side = sidecar_of(path, "events", ".tsv")
        if side is not None:
            return side
    return path.with_name(path.name + ".events.tsv")


def _is_phase_table(path: Path) -> bool:
    """True when ``path`` starts with an events-table header (``onset`` and ``duration`` columns)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4096)
    except OSError:
        return False
    cols = first.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n").split("\t")
    return {"onset", "duration"} <= {c.strip() for c in cols}


def write_phases(phases: pd.DataFrame, path: str | os.PathLike, sfreq: float) -> Path:
    """Write a phase table as an ``events.tsv`` sidecar (atomically).

    Parameters
    ----------
    phases : pandas.DataFrame
        ``onset, duration, phase`` (seconds) and optionally ``cycle``; rows are written in
        order of onset. An empty table writes the header only (no phases).
    path : path-like
        The ``.tsv`` file to write (see :func:`sidecar_path`).
    sfreq : float
        Sampling rate, for the ``sample`` column.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    WriteError
        ``path`` exists and is not a phase table (an events table with ``onset`` and
        ``duration`` columns): it may be a recording, and is never replaced.
    """
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not (path.is_file() and _is_phase_table(path)):
        raise WriteError("exists and is not a phase sidecar (an events.tsv with onset and duration columns); "
                         "refusing to replace it", file=path,
                         hint="it may be a recording: save the phases to another path")
    if len(phases):
        phases = phases.sort_values("onset", kind="mergesort")
    table = phases_to_events(phases, sfreq)
    write_text_atomic(path, table.to_csv(sep="\t", index=False, lineterminator="\n"))
    desc = path.with_suffix(".json")
    if not desc.exists() and not desc.is_symlink():
        write_text_atomic(desc, json.dumps(EVENTS_JSON, indent=2) + "\n")
    return path


def load_phases(path: str | os.PathLike) -> pd.DataFrame:
    """Read a phase sidecar (``events.tsv``) into a phase table.

    Parameters
    ----------
    path : path-like
        The sidecar, or a recording file (its :func:`sidecar_path` is read).

    Returns
    -------
    pandas.DataFrame
        ``onset, duration, phase, cycle`` (``cycle`` nullable integer).

    Raises
    ------
    ReadError
        The file is missing or lacks ``onset``/``duration``.
    """
    path = Path(path)
    if not path.name.endswith(".tsv"):
        path = sidecar_path(path)
    if not sidecar_exists(path, "phase sidecar"):
        raise ReadError("no phase sidecar", file=path, hint="save phases from the viewer (Ctrl+S) first")
    try:
        tsv = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise ReadError(f"could not read the phase sidecar: {err}", file=path) from err
    return events_to_phases(tsv, path)


def apply_phases(rec: Recording, path: str | os.PathLike | None = None) -> Recording:
    """Return ``rec`` with the phases of its sidecar, when the sidecar exists.

    Parameters
    ----------
    rec : Recording
        A recording (its ``meta["source"]`` locates the sidecar unless ``path`` is given).
    path : path-like, optional
        The sidecar or the recording file.

    Returns
    -------
    Recording
        A new Recording with the sidecar's phases, or ``rec`` itself when there is none.

    Raises
    ------
    ParameterError
        ``path`` is the recording's own file given as its sidecar.
    """
    src = rec.meta.get("source")
    if path is None:
        if src is None:
            return rec
        side = sidecar_path(src)
    else:
        path = Path(path)
        is_recording = src is not None and same_file(path, src)
        side = path if path.name.endswith(".tsv") and not is_recording else sidecar_path(path)
    if src is not None and same_file(side, src):
        raise ParameterError("the phase sidecar given is the recording itself", file=side,
                             hint="pass the recording's path (its sidecar is found) or the events.tsv")
    if not sidecar_exists(side, "phase sidecar"):
        return rec
    return rec.with_phases(load_phases(side))


def read_with_phases(path: str | os.PathLike, **options: Any) -> Recording:
    """:func:`paraspinal.read` a file and apply its phase sidecar (for non-BIDS files).

    BIDS files need nothing more than :func:`paraspinal.read`, which applies their
    ``events.tsv``; calling this on them gives the same result.

    Parameters
    ----------
    path : path-like
        The recording.
    **options
        Passed to :func:`paraspinal.read`.

    Returns
    -------
    Recording
    """
    from ..io import read

    rec = read(path, **options)
    # the recording is never its own sidecar (sidecar_path): a text recording named
    # sub-01_task-frt_events.tsv gets its phases from sub-01_task-frt_events.tsv.events.tsv
    return apply_phases(rec.with_meta(source=str(path)) if rec.meta.get("source") is None else rec, path)
