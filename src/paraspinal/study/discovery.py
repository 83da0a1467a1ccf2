"""Discovery: find the recordings of a study (a BIDS-EMG dataset, or any folder with a manifest CSV)."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, ParaspinalWarning, ReadError
from ..recording import normalise_group

__all__ = ["RecordingTask", "Study", "discover", "read_manifest", "ID_KEYS"]

#: Identity of a recording, in sort order.
ID_KEYS = ("subject", "session", "task", "run")
_BIDS_SUFFIXES = (".edf", ".bdf")
_BIDS_SIDECARS = (("channels", ".tsv"), ("events", ".tsv"), ("emg", ".json"))
#: Companion files of multi-file formats (hashed with the data file).
_COMPANIONS = {".hea": (".dat",), ".dat": (".hea",), ".vhdr": (".vmrk", ".eeg")}
_MANIFEST_NAMES = ("manifest.csv", "manifest.tsv")


@dataclass(frozen=True)
class RecordingTask:
    """One recording of a study, as discovered (nothing read yet).

    Attributes
    ----------
    path : str
        Absolute path of the data file.
    rel : str
        Path relative to the study root (POSIX separators); the recording's id in outputs.
    meta : dict
        ``subject, group, session, task, run`` (None when unknown), strings.
    reader_options : dict
        Keyword options for :func:`paraspinal.read` (``format``, ``channel_map``, ...).
    companions : tuple of str
        Absolute paths of sidecar/companion files whose content is part of the cache key.
    extra : dict
        Further inputs of the key (the subject's ``participants.tsv`` row or manifest row).
    problem : str or None
        A discovery-time problem (missing file, bad manifest cell, duplicate identity): the
        recording is reported as failed with this reason and not processed.
    """

    path: str
    rel: str
    meta: dict[str, Any]
    reader_options: dict[str, Any] = field(default_factory=dict)
    companions: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None

    @property
    def identity(self) -> tuple:
        """``(subject, session, task, run)`` with None sorting last."""
        return tuple(self.meta.get(k) for k in ID_KEYS)


@dataclass
class Study:
    """A discovered study.

    Attributes
    ----------
    root : pathlib.Path
        Study folder (for a manifest: the manifest's folder).
    kind : {"bids", "manifest"}
        How it was found.
    recordings : list of RecordingTask
        In identity order.
    manifest : pathlib.Path or None
        The manifest file, if any.
    notes : list of str
        Things worth knowing (e.g. no group column).
    """

    root: Path
    kind: str
    recordings: list[RecordingTask]
    manifest: Path | None = None
    notes: list[str] = field(default_factory=list)


def _none(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    s = str(v).strip()
    return None if s in ("", "n/a", "N/A", "nan", "NaN", "None") else s


def _sort_key(values: Sequence[Any]) -> tuple:
    return tuple((v is None, "" if v is None else str(v)) for v in values)


def discover(study: str | os.PathLike, *, manifest: str | os.PathLike | None = None) -> Study:
    """Find the recordings of a study.

    Parameters
    ----------
    study : path-like
        A BIDS-EMG dataset root, a folder holding ``manifest.csv`` (or ``manifest.tsv``), or
        a manifest file itself.
    manifest : path-like, optional
        An explicit manifest (relative paths inside it are relative to its folder).

    Returns
    -------
    Study

    Raises
    ------
    ReadError
        The study does not exist, or holds neither a manifest nor BIDS-EMG recordings.
    ParameterError
        The manifest lacks a required column.

    Notes
    -----
    A manifest wins over BIDS discovery when both are present. BIDS discovery looks at
    ``sub-*/emg/`` and ``sub-*/ses-*/emg/`` for ``*_emg.edf`` and ``*_emg.bdf`` (never
    under ``derivatives/``); ``group`` comes from ``participants.tsv``.
    """
    path = Path(study)
    if manifest is not None:
        return read_manifest(manifest)
    if not path.exists():
        raise ReadError("no such study folder", file=path, hint="check the path")
    if path.is_file():
        return read_manifest(path)
    for name in _MANIFEST_NAMES:
        if (path / name).is_file():
            return read_manifest(path / name)
    return _discover_bids(path)


def _bids_files(root: Path, notes: list[str]) -> list[Path]:
    """The EMG data files of a BIDS root; notes for subject folders without any, and for files left out."""
    files, seen_dirs = [], set()
    for pattern in ("sub-*/emg/*_emg.*", "sub-*/ses-*/emg/*_emg.*"):
        for f in root.glob(pattern):
            try:
                ok = f.is_file()
            except OSError:  # a link that cannot be followed
                ok = False
            if f.suffix.lower() in _BIDS_SUFFIXES and ok:
                files.append(f)
                seen_dirs.add(f.relative_to(root).parts[0])
            elif f.suffix.lower() in _BIDS_SUFFIXES or f.suffix.lower() in (".vhdr", ".fif", ".csv", ".txt"):
                why = "is not a regular file (a folder, a broken link or a link loop)" \
                    if f.suffix.lower() in _BIDS_SUFFIXES else "is not EDF or BDF, which BIDS discovery reads"
                notes.append(f"{f}: {why}; left out (list it in a manifest.csv to process it)")
    for sub in sorted(p for p in root.glob("sub-*") if p.is_dir()):
        if sub.name not in seen_dirs:
            notes.append(f"{sub}: no EMG recording (sub-*/[ses-*/]emg/*_emg.edf|bdf); this subject is left out")
    return sorted(files)


def _participants(root: Path, notes: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """``participants.tsv`` rows by participant id, groups normalised (notes say what was done), and the
    problem of each participant listed more than once (its recordings fail with it)."""
    from ..io.sidecars import participant_row, read_participants, sidecar_exists

    ptsv = root / "participants.tsv"
    if not sidecar_exists(ptsv, "participants.tsv"):
        notes.append(f"{root}: no participants.tsv; subjects have no group")
        return {}, {}
    table = read_participants(ptsv)
    if "group" not in table.columns:
        notes.append(f"{ptsv}: no 'group' column; group comparisons need one (control/patient)")
    out, problems = {}, {}
    for pid in dict.fromkeys(table["participant_id"]):
        try:
            row = participant_row(table, pid, ptsv)
        except ReadError as err:
            problems[pid] = str(err)
            continue
        raw_group = row.get("group")
        row = {k: _none(v) for k, v in row.items()}
        if "group" in row:
            row["group"], note = normalise_group(raw_group if row["group"] is not None else None)
            if note:
                notes.append(f"{ptsv}: {pid}: {note}")
        out[pid] = row
    return out, problems


def _discover_bids(root: Path) -> Study:
    from ..io.bids import parse_entities
    from ..io.sidecars import electrode_files

    root = root.resolve()
    notes: list[str] = []
    files = _bids_files(root, notes)
    if not files:
        raise ReadError(
            "no BIDS-EMG recordings (sub-*/[ses-*/]emg/*_emg.edf|bdf) and no manifest.csv found", file=root,
            hint="point to a BIDS-EMG dataset root, or add a manifest.csv (see docs/study.md)")
    has_ptsv = (root / "participants.tsv").is_file()
    participants, duplicated = _participants(root, notes)
    tasks = []
    unlisted = set()
    for f in files:
        ents = parse_entities(f)
        rel = f.relative_to(root).as_posix()
        if not ents or ents.get("suffix") != "emg":
            continue
        prow = participants.get(f"sub-{ents['sub']}", {})
        if has_ptsv and not prow and f"sub-{ents['sub']}" not in duplicated and ents["sub"] not in unlisted:
            unlisted.add(ents["sub"])
            notes.append(f"{root / 'participants.tsv'}: sub-{ents['sub']} has no row, so its recordings have no group "
                         "(group statistics leave them out); add the row")
        meta = {"subject": ents["sub"], "group": prow.get("group"), "session": ents.get("ses"),
                "task": ents.get("task"), "run": _run_text(ents.get("run"))}
        stem = f.name.split(".")[0].rsplit("_", 1)[0]
        comps = tuple(str(f.with_name(f"{stem}_{s}{e}")) for s, e in _BIDS_SIDECARS
                      if f.with_name(f"{stem}_{s}{e}").is_file())
        try:  # electrode grids (inherited: sub-01_electrodes.tsv, ...); a conflict fails on reading, in errors.csv
            grid_files = electrode_files(f)
        except ReadError:
            grid_files = None
        if grid_files:
            comps += tuple(str(g) for g in (grid_files[0], *grid_files[1]))
        tasks.append(RecordingTask(path=str(f), rel=rel, meta=meta, companions=comps,
                                   extra={"participant": prow}, problem=duplicated.get(f"sub-{ents['sub']}")))
    return _warned(Study(root=root, kind="bids", recordings=_finalise(tasks), notes=notes))


def _warned(study: Study) -> Study:
    """Say each note of a discovered study once, as a ParaspinalWarning (the study goes on)."""
    for note in study.notes:
        warnings.warn(note, ParaspinalWarning, stacklevel=4)
    return study


def _run_text(run: Any) -> str | None:
    run = _none(run)
    if run is None:
        return None
    return str(int(run)) if run.isdigit() else run


def read_manifest(path: str | os.PathLike) -> Study:
    """Read a manifest CSV (or TSV) describing a study.

    Columns (header row required; order free; unknown columns are ignored):

    ==============  ========  ========================================================
    column          required  meaning
    ==============  ========  ========================================================
    path            yes       data file, relative to the manifest's folder or absolute
    subject         yes       subject label
    group           no        ``control``, ``patient``, ...
    session         no        session label
    task            no        task label (``frt``, ``static``, ``sorensen`` ...)
    run             no        run number or label
    format          no        force a reader (``edf``, ``text``, ``c3d``, ...)
    channel_map     no        ``OLD=NEW;OLD2=NEW2`` (``,`` also separates) or a JSON object
    reader_options  no        JSON object of reader options, e.g. ``{"sfreq": 1000}``
    ==============  ========  ========================================================

    Empty cells and ``n/a`` mean "not given".

    Parameters
    ----------
    path : path-like
        The manifest (``.tsv`` is read tab-separated, anything else comma-separated).

    Returns
    -------
    Study

    Raises
    ------
    ReadError
        The manifest cannot be read or has no rows.
    ParameterError
        A required column is missing.
    """
    path = Path(path).resolve()
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise ReadError("no such manifest file", file=path, hint="check the path") from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise ReadError(f"cannot read the manifest: {err}", file=path,
                        hint="it must be a CSV with a header row: path,subject,group,...") from err
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("path", "subject") if c not in table.columns]
    if missing:
        raise ParameterError(f"the manifest lacks the column(s) {missing}", file=path,
                             hint="required columns are path and subject; see docs/study.md")
    if not len(table):
        raise ReadError("the manifest has no rows", file=path, hint="add one row per recording")
    root = path.parent
    tasks = []
    notes: list[str] = []
    for i, raw in enumerate(table.to_dict(orient="records")):
        row = {k: _none(v) for k, v in raw.items()}
        problem = None
        rel_in = row.get("path")
        if rel_in is None:
            problem = f"manifest row {i + 2}: empty path"
            fpath = root / f"<row {i + 2}>"
        else:
            fpath = Path(rel_in).expanduser()
            if not fpath.is_absolute():
                fpath = root / fpath
        try:
            rel = fpath.relative_to(root).as_posix()
        except ValueError:
            rel = fpath.as_posix()
        meta = {"subject": row.get("subject"), "group": row.get("group"), "session": row.get("session"),
                "task": row.get("task"), "run": _run_text(row.get("run"))}
        opts: dict[str, Any] = {}
        try:
            if row.get("reader_options"):
                o = json.loads(row["reader_options"])
                if not isinstance(o, dict):
                    raise ValueError("not a JSON object")
                opts.update(o)
            if row.get("format"):
                opts["format"] = row["format"]
            if row.get("channel_map"):
                opts["channel_map"] = _parse_channel_map(row["channel_map"])
        except ValueError as err:
            problem = f"manifest row {i + 2}: bad reader_options/channel_map ({err}); fix the cell"
        if meta["subject"] is None and problem is None:
            problem = f"manifest row {i + 2}: no subject; fill the subject column"
        if problem is None and not fpath.is_file():
            problem = f"{fpath}: no such file (manifest row {i + 2}); check the path column"
        comps = tuple(str(fpath.with_suffix(s)) for s in _COMPANIONS.get(fpath.suffix.lower(), ())
                      if fpath.with_suffix(s).is_file())
        meta["group"], note = normalise_group(raw.get("group") if meta["group"] is not None else None)
        if note:
            notes.append(f"{path}: row {i + 2}: {note}")
        tasks.append(RecordingTask(path=str(fpath), rel=rel, meta=meta, reader_options=opts, companions=comps,
                                   extra={"manifest_row": row}, problem=problem))
    tasks = _group_conflicts(tasks, path)
    return _warned(Study(root=root, kind="manifest", recordings=_finalise(tasks), manifest=path, notes=notes))


def _group_conflicts(tasks: list[RecordingTask], path: Path) -> list[RecordingTask]:
    """Recordings of a subject whose manifest rows give it different groups fail (none can be trusted)."""
    groups: dict[Any, set] = {}
    for t in tasks:
        if t.meta.get("subject") is not None and t.meta.get("group") is not None:
            groups.setdefault(t.meta["subject"], set()).add(t.meta["group"])
    out = []
    for t in tasks:
        seen = groups.get(t.meta.get("subject"), set())
        if len(seen) > 1 and t.problem is None:
            t = RecordingTask(**{**t.__dict__, "problem": (
                f"{path}: subject {t.meta['subject']!r} has rows of different groups {sorted(seen)}; a subject "
                "belongs to one group: fix the group column")})
        out.append(t)
    return out


def _parse_channel_map(text: str) -> dict[str, str]:
    text = text.strip()
    if text.startswith("{"):
        d = json.loads(text)
        if not isinstance(d, dict):
            raise ValueError("channel_map JSON must be an object")
        return {str(k): str(v) for k, v in d.items()}
    out = {}
    for part in text.replace(",", ";").split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"{part!r} is not OLD=NEW")
        a, b = part.split("=", 1)
        out[a.strip()] = b.strip()
    return out


def _finalise(tasks: list[RecordingTask]) -> list[RecordingTask]:
    """Sort by identity then path; mark later duplicates of an identity as problems."""
    tasks = sorted(tasks, key=lambda t: (_sort_key(t.identity), t.rel))
    seen: dict[tuple, str] = {}
    out = []
    for t in tasks:
        if t.problem is None:
            if t.identity in seen:
                t = RecordingTask(**{**t.__dict__, "problem": (
                    f"{t.path}: same subject/session/task/run as {seen[t.identity]}; "
                    "give each recording a distinct session, task or run")})
            else:
                seen[t.identity] = t.rel
        out.append(t)
    return out
