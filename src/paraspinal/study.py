"""Study processing: discover a study, run the analysis on every recording, cache, write the outputs.

A *study* is either a BIDS-EMG dataset (``participants.tsv`` with a ``group`` column and
``sub-*/[ses-*/]emg/*_emg.edf|bdf`` files with their sidecars) or any folder with a
manifest CSV (see :func:`read_manifest` and ``docs/study.md``).

:func:`run_study` runs :func:`process_recording` (read, QC, preprocess, phases, features)
on every recording, on local worker processes or on a Dask distributed cluster, and writes::

    OUT/features.parquet   the tidy feature table of all recordings (+ features.csv)
    OUT/qc.parquet         per-channel signal quality of every recording
    OUT/errors.csv         recordings that failed, with the reason
    OUT/provenance.json    versions, pipeline and its hash, input hashes, timings, times
    OUT/cache/             one entry per recording, keyed by input and pipeline hashes
    OUT/report/index.html  the HTML report (see :mod:`paraspinal.report`)

Design (``docs/study.md`` has the long form):

* **Cache.** Each recording's results are stored under ``OUT/cache/<kk>/<key>/`` where
  ``key`` is the SHA-256 of: the data file's bytes, its sidecars' bytes (``channels.tsv``,
  ``events.tsv``, ``emg.json``; companion files of multi-file formats), the subject's row of
  ``participants.tsv`` (or the manifest row), the reader options, the pipeline hash, the
  feature options, the cache format and the paraspinal version. A re-run only computes
  recordings whose key has no entry. Entries are written to a temporary folder and renamed
  into place, so an interrupted run (even ``SIGKILL``) leaves only whole entries.
* **Single writer.** Workers only read inputs and return results; the parent process
  writes every cache entry and output. The same code path serves local processes and Dask
  (whose workers need not see ``OUT``, only the inputs).
* **Deterministic outputs.** The combined tables are rebuilt from the cache entries in a
  fixed order (rows sorted by subject, session, task, run, channel, phase, cycle, feature)
  and hold no timestamps, so the same inputs give byte-identical files whichever scheduler
  ran them. Times live in ``provenance.json`` only.
* **Failures.** A recording that raises is listed in ``errors.csv`` with the error's
  message; the rest goes on. Failures are not cached: the next run tries them again.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._files import atomic_path
from ._files import write_text_atomic as _write_text_atomic
from ._version import __version__
from .errors import ChannelError, ParameterError, ParaspinalError, ParaspinalWarning, ReadError, WriteError
from .pipeline import Pipeline

__all__ = [
    "write_group_statistics",
    "RecordingTask",
    "Study",
    "RecordingResult",
    "StudyResult",
    "discover",
    "read_manifest",
    "process_recording",
    "run_study",
    "recording_key",
    "file_sha256",
    "atomic_path",
    "FEATURE_COLUMNS",
    "QC_ID_COLUMNS",
    "ERROR_COLUMNS",
    "SORT_COLUMNS",
    "CACHE_VERSION",
    "EXIT_OK",
    "EXIT_FAILURES",
    "EXIT_FATAL",
]

#: Version of the cache entry layout; part of every key.
CACHE_VERSION = 2
#: Columns of the combined feature table (those of :data:`paraspinal.features.COLUMNS`).
FEATURE_COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run", "channel", "muscle", "side",
                                    "phase", "cycle", "feature", "value", "unit")
#: Row order of the feature table.
SORT_COLUMNS: tuple[str, ...] = ("subject", "session", "task", "run", "channel", "phase", "cycle", "feature")
#: Identity columns put in front of the QC table's own columns.
QC_ID_COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run")
#: Columns of ``errors.csv``.
ERROR_COLUMNS: tuple[str, ...] = ("path", "subject", "session", "task", "run", "error", "reason")
#: Exit statuses of ``paraspinal study run``.
EXIT_OK, EXIT_FAILURES, EXIT_FATAL = 0, 1, 2

_ID = ("subject", "session", "task", "run")
_META = ("subject", "group", "session", "task", "run")
_BIDS_SUFFIXES = (".edf", ".bdf")
_BIDS_SIDECARS = (("channels", ".tsv"), ("events", ".tsv"), ("emg", ".json"))
#: Companion files of multi-file formats (hashed with the data file).
_COMPANIONS = {".hea": (".dat",), ".dat": (".hea",), ".vhdr": (".vmrk", ".eeg")}
_MANIFEST_NAMES = ("manifest.csv", "manifest.tsv")
_THREAD_VARS = ("PARASPINAL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_OUTPUT_VERSION = 1


# ============================================================================ discovery
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
        return tuple(self.meta.get(k) for k in _ID)


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


def _discover_bids(root: Path) -> Study:
    from .io.bids import parse_entities

    root = root.resolve()
    files = sorted(
        f for pattern in ("sub-*/emg/*_emg.*", "sub-*/ses-*/emg/*_emg.*")
        for f in root.glob(pattern) if f.suffix.lower() in _BIDS_SUFFIXES and f.is_file()
    )
    if not files:
        raise ReadError(
            "no BIDS-EMG recordings (sub-*/[ses-*/]emg/*_emg.edf|bdf) and no manifest.csv found", file=root,
            hint="point to a BIDS-EMG dataset root, or add a manifest.csv (see docs/study.md)")
    notes: list[str] = []
    participants: dict[str, dict[str, Any]] = {}
    ptsv = root / "participants.tsv"
    if ptsv.is_file():
        try:
            table = pd.read_csv(ptsv, sep="\t", dtype=str, keep_default_na=False)
        except (OSError, ValueError) as err:
            raise ReadError(f"cannot read participants.tsv: {err}", file=ptsv,
                            hint="it must be a tab-separated table with a participant_id column") from err
        if "participant_id" not in table.columns:
            raise ReadError("participants.tsv has no participant_id column", file=ptsv,
                            hint="the first column must be participant_id (sub-<label>)")
        if "group" not in table.columns:
            notes.append(f"{ptsv}: no 'group' column; group comparisons need one (control/patient)")
        for row in table.to_dict(orient="records"):
            participants[str(row["participant_id"])] = {k: _none(v) for k, v in row.items()}
    else:
        notes.append(f"{root}: no participants.tsv; subjects have no group")
    tasks = []
    for f in files:
        ents = parse_entities(f)
        rel = f.relative_to(root).as_posix()
        if not ents or ents.get("suffix") != "emg":
            continue
        prow = participants.get(f"sub-{ents['sub']}", {})
        meta = {"subject": ents["sub"], "group": prow.get("group"), "session": ents.get("ses"),
                "task": ents.get("task"), "run": _run_text(ents.get("run"))}
        stem = f.name.split(".")[0].rsplit("_", 1)[0]
        comps = tuple(str(f.with_name(f"{stem}_{s}{e}")) for s, e in _BIDS_SIDECARS
                      if f.with_name(f"{stem}_{s}{e}").is_file())
        tasks.append(RecordingTask(path=str(f), rel=rel, meta=meta, companions=comps,
                                   extra={"participant": prow}))
    return Study(root=root, kind="bids", recordings=_finalise(tasks), notes=notes)


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
    for i, row in enumerate(table.to_dict(orient="records")):
        row = {k: _none(v) for k, v in row.items()}
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
        tasks.append(RecordingTask(path=str(fpath), rel=rel, meta=meta, reader_options=opts, companions=comps,
                                   extra={"manifest_row": row}, problem=problem))
    return Study(root=root, kind="manifest", recordings=_finalise(tasks), manifest=path)


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


# ============================================================================ hashing / keys
def file_sha256(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks (the file is opened read-only)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def recording_key(task: RecordingTask, pipeline: Pipeline, feature_options: Mapping[str, Any] | None = None,
                  *, input_hashes: Mapping[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The cache key of a recording and the hashes of its input files.

    Parameters
    ----------
    task : RecordingTask
    pipeline : Pipeline
    feature_options : mapping, optional
        Options of :func:`paraspinal.features.compute` (and phases).
    input_hashes : mapping, optional
        Precomputed ``{path: sha256}``.

    Returns
    -------
    key : str
        SHA-256 (hex) of the canonical JSON of every input of the result.
    hashes : dict
        ``{file name relative to the data file's folder: sha256}``.
    """
    base = Path(task.path).parent
    files = [task.path, *task.companions]
    hashes = {}
    for f in files:
        name = os.path.relpath(f, base).replace(os.sep, "/")
        hashes[name] = (input_hashes or {}).get(f) or file_sha256(f)
    material = {
        "cache_version": CACHE_VERSION, "paraspinal": __version__, "rel": task.rel, "meta": task.meta,
        "reader_options": task.reader_options, "extra": task.extra, "files": hashes,
        "pipeline": pipeline.hash, "options": dict(feature_options or {}),
    }
    return hashlib.sha256(_canon(material).encode("utf-8")).hexdigest(), hashes


# ============================================================================ one recording
class RecordingResult(NamedTuple):
    """What :func:`process_recording` returns.

    Attributes
    ----------
    features : pandas.DataFrame
        The tidy feature table (:data:`FEATURE_COLUMNS`), rows sorted by :data:`SORT_COLUMNS`.
    qc : pandas.DataFrame
        :data:`QC_ID_COLUMNS` + :data:`paraspinal.preprocessing.qc.QC_COLUMNS`, one row per channel.
    info : dict
        JSON-safe facts: sampling rate, duration, channels, phase source, the phases,
        per-step timings (s), peak resident memory of the process during the call (MB,
        Linux), warnings.
    display : dict or None
        With ``display_rate``: decimated envelopes for the report (``times`` s,
        ``envelope`` uV (n_emg, n), ``channels``, optional ``angle`` deg).
    """

    features: pd.DataFrame
    qc: pd.DataFrame
    info: dict[str, Any]
    display: dict[str, np.ndarray] | None


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (``VmHWM``) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float | None:
    """``VmHWM`` of this process in MB (None when /proc is unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return None


def _text_or_none(series: pd.Series) -> pd.Series:
    """Strings, with None where missing (object dtype; the same whatever the input dtype)."""
    s = series.astype(object)
    missing = s.isna().to_numpy()
    out = s.astype(str).astype(object)
    out[missing] = None
    return out


def _sorted_features(df: pd.DataFrame) -> pd.DataFrame:
    df = df.loc[:, list(FEATURE_COLUMNS)].copy()
    for c in FEATURE_COLUMNS:
        if c == "cycle":
            df[c] = pd.array(df[c], dtype="Int64")
        elif c == "value":
            df[c] = df[c].astype("float64")
        else:
            df[c] = _text_or_none(df[c])
    df = df.sort_values(list(SORT_COLUMNS), kind="mergesort", na_position="last")
    return df.reset_index(drop=True)


def process_recording(
    path: str | os.PathLike,
    pipeline: Pipeline | str | os.PathLike | Mapping[str, Any] | None = None,
    reader_options: Mapping[str, Any] | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
    feature_options: Mapping[str, Any] | None = None,
    phase_options: Mapping[str, Any] | None = None,
    display_rate: float | None = None,
) -> RecordingResult:
    """Read, check, condition, find phases and compute the features of one recording.

    The one per-recording function of a study run: every scheduler runs exactly this.

    Parameters
    ----------
    path : path-like
        Data file (opened read-only).
    pipeline : Pipeline, path, dict or None
        Conditioning (None: :meth:`paraspinal.Pipeline.default`).
    reader_options : mapping, optional
        Passed to :func:`paraspinal.read` (``format``, ``channel_map``, ...).
    meta : mapping, optional
        ``subject, group, session, task, run``; values that are not None override what the
        file says.
    feature_options : mapping, optional
        Passed to :func:`paraspinal.features.compute`.
    phase_options : mapping, optional
        Passed to :func:`paraspinal.phases.detect`.
    display_rate : float, optional
        Also return 250 ms moving-RMS envelopes sampled at this rate (Hz) for plots.

    Returns
    -------
    RecordingResult
        ``(features, qc, info, display)``.

    Raises
    ------
    ParaspinalError
        Any reading, channel or parameter problem (naming the file), e.g. a
        :class:`~paraspinal.errors.ChannelError` when the recording has no EMG channel.
    """
    from . import features as _features
    from . import phases as _phases
    from .io import read
    from .pipeline import preprocess
    from .preprocessing import moving_rms_array
    from .preprocessing.qc import QC_COLUMNS, qc

    reset = _reset_peak_rss()
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = time.perf_counter()
        rec = read(path, **dict(reader_options or {}))
        given = {k: v for k, v in (meta or {}).items() if v is not None}
        if given:
            rec = rec.with_meta(**given)
        timings["read"] = time.perf_counter() - t
        if not rec.emg_names:
            raise ChannelError(
                f"no EMG channel among {rec.ch_names}", file=path,
                hint="name the EMG channels so paraspinal recognises them (e.g. L_MF, R_LT) or give a channel_map "
                     "(manifest column or reader option), or set their type to EMG in channels.tsv")
        t = time.perf_counter()
        q = qc(rec)
        timings["qc"] = time.perf_counter() - t
        t = time.perf_counter()
        proc = preprocess(rec, pipeline)
        del rec
        timings["preprocess"] = time.perf_counter() - t
        t = time.perf_counter()
        ph = _phases.detect(proc, **dict(phase_options or {}))
        if len(ph):
            proc = _phases.set_phases(proc, ph)
        timings["phases"] = time.perf_counter() - t
        t = time.perf_counter()
        fopts = dict(feature_options or {})
        feats = _features.compute(proc, **fopts)
        wanted = fopts.get("features")
        if wanted is None or "trunk_flexion_max" in (wanted if not isinstance(wanted, str) else [wanted]):
            # maximal trunk flexion from the angle channel (the guarding profile's range-of-motion sign)
            from .norms.reference import kinematic_features

            kin = kinematic_features(proc)
            if len(kin):
                feats = pd.concat([feats, kin.astype(feats.dtypes.to_dict())], ignore_index=True)
        timings["features"] = time.perf_counter() - t
        display = None
        if display_rate:
            t = time.perf_counter()
            display = _display(proc, display_rate, moving_rms_array)
            timings["display"] = time.perf_counter() - t
    m = proc.meta
    feats = _sorted_features(feats)
    q = q.reindex(columns=list(QC_COLUMNS)).copy()
    for k in reversed(QC_ID_COLUMNS):
        q.insert(0, k, None if m.get(k) is None else str(m.get(k)))
    q = q.sort_values("channel", kind="mergesort").reset_index(drop=True)
    phases_tab = proc.phases
    msgs = []
    for w in caught:
        s = f"{w.category.__name__}: {w.message}"
        if s not in msgs:
            msgs.append(s)
    timings["total"] = time.perf_counter() - t_all
    info = {
        "sfreq": proc.sfreq, "duration_s": round(proc.duration, 6), "n_samples": proc.n_samples,
        "channels": list(proc.ch_names), "emg_channels": list(proc.emg_names),
        "meta": {k: (None if m.get(k) is None else str(m.get(k))) for k in _META},
        "phase_source": m.get("phase_source") if isinstance(m.get("phase_source"), (str, type(None)))
        else list(m.get("phase_source")),
        "phases": [{"onset": float(r.onset), "duration": float(r.duration), "phase": str(r.phase),
                    "cycle": None if pd.isna(r.cycle) else int(r.cycle)} for r in phases_tab.itertuples()],
        "n_rows": int(len(feats)), "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "peak_rss_mb": _peak_rss_mb() if reset else None, "warnings": msgs[:20],
        "pid": os.getpid(), "host": platform.node(),
    }
    return RecordingResult(feats, q, info, display)


def _display(rec: Any, rate: float, moving_rms: Callable[..., np.ndarray]) -> dict[str, np.ndarray]:
    fs = rec.sfreq
    step = max(1, int(round(fs / rate)))
    names = list(rec.emg_names)
    env = moving_rms(rec.get_data(names, unit="uV"), fs, 250.0)[:, ::step].astype(np.float32)
    out = {"times": (np.arange(env.shape[1]) * step / fs).astype(np.float32), "envelope": env,
           "channels": np.array(names, dtype=str)}
    if "TRUNK_ANGLE" in rec.ch_names:
        ang = rec.get_data(["TRUNK_ANGLE"], unit=None)[0]
        out["angle"] = ang[::step].astype(np.float32)
    return out


# ============================================================================ worker side
def _limit_threads() -> None:
    """One BLAS/OpenMP/FFT thread per worker, so N workers use N cores."""
    for v in _THREAD_VARS:
        os.environ[v] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # pragma: no cover - threadpoolctl missing
        pass


_MALLOC_TUNED = False


def _tune_malloc() -> None:
    """Undo a tiny glibc trim threshold (Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536``).

    Setting that variable also freezes glibc's mmap threshold at 128 KiB, so every large NumPy
    temporary is a fresh ``mmap`` whose pages the kernel must zero: it doubles the time of a
    recording (measured: 0.83 s vs 0.44 s, most of it system time). This restores glibc's own
    upper limits (mmap threshold 32 MiB, trim threshold 64 MiB) in the worker process, once.
    Set ``PARASPINAL_KEEP_MALLOC=1`` to leave the allocator alone.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or not sys.platform.startswith("linux") or os.environ.get("PARASPINAL_KEEP_MALLOC"):
        return
    _MALLOC_TUNED = True
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def init_worker() -> None:
    """Initialise a worker process: one BLAS/OpenMP thread, no warnings on the console."""
    _limit_threads()
    warnings.simplefilter("ignore")


def _run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one recording in a worker; never raises (failures come back as records)."""
    _tune_malloc()
    t0 = time.perf_counter()
    try:
        res = process_recording(payload["path"], payload["pipeline"], payload["reader_options"],
                                meta=payload["meta"], feature_options=payload["feature_options"],
                                phase_options=payload["phase_options"], display_rate=payload["display_rate"])
        if payload.get("stage_dir"):
            work = _stage_entry(Path(payload["stage_dir"]), payload["key"], res.features, res.qc, res.info,
                                res.display)
            return {"key": payload["key"], "status": "ok", "staged": str(work)}
        return {"key": payload["key"], "status": "ok", "features": res.features, "qc": res.qc, "info": res.info,
                "display": res.display}
    except ParaspinalError as err:
        reason, kind = str(err), type(err).__name__
        tb = None
    except MemoryError:
        reason, kind, tb = (f"{payload['path']}: out of memory while processing; run with fewer --jobs or on a "
                            "machine with more memory"), "MemoryError", None
    except Exception as err:  # noqa: BLE001 - one bad recording must not stop the study
        reason = (f"{payload['path']}: unexpected {type(err).__name__}: {err}. This is likely a bug in paraspinal; "
                  "please report it with this recording's details")
        kind, tb = type(err).__name__, traceback.format_exc(limit=20)
    return {"key": payload["key"], "status": "failed", "error": kind, "reason": reason, "traceback": tb,
            "seconds": round(time.perf_counter() - t0, 4)}


# ============================================================================ cache
def _stage_entry(tmp: Path, key: str, features: pd.DataFrame, qc: pd.DataFrame, info: Mapping[str, Any],
                 display: Mapping[str, np.ndarray] | None) -> Path:
    """Write a cache entry's files into a fresh folder under ``tmp`` and return it.

    Local workers stage their own entries, so the parent only renames them into place (one
    ``os.replace``) instead of serialising, receiving and writing every result on the cores the
    workers need. A worker killed while staging leaves a folder in ``tmp`` that is never
    published and is removed at the next run.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{key[:16]}-", dir=tmp))
    try:
        _write_parquet(features, work / "features.parquet")
        _write_parquet(qc, work / "qc.parquet")
        if display is not None:
            np.savez(work / "display.npz", **display)
        with open(work / "info.json", "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=1, default=str)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work


class _Cache:
    """Cache entries ``root/<kk>/<key>/{features.parquet, qc.parquet, info.json, display.npz}``."""

    def __init__(self, root: Path):
        self.root = root
        self.tmp = root / "tmp"

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def has(self, key: str) -> bool:
        return (self.entry(key) / "info.json").is_file()

    def clean_tmp(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def put(self, key: str, features: pd.DataFrame, qc: pd.DataFrame, info: Mapping[str, Any],
            display: Mapping[str, np.ndarray] | None, *, replace: bool = False) -> None:
        if self.has(key) and not replace:
            return
        self.adopt(key, _stage_entry(self.tmp, key, features, qc, info, display), replace=replace)

    def adopt(self, key: str, work: Path, *, replace: bool = False) -> None:
        """Publish a staged entry (a folder under ``tmp``) as ``key``: one rename, atomic."""
        final = self.entry(key)
        try:
            if (final / "info.json").is_file() and not replace:
                return
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():  # an entry being refreshed, or a broken leftover: move it aside first
                old = Path(tempfile.mkdtemp(prefix="old-", dir=self.tmp))
                os.replace(final, old / "entry")
                os.replace(work, final)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(work, final)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)

    def info(self, key: str) -> dict[str, Any]:
        with open(self.entry(key) / "info.json", encoding="utf-8") as fh:
            return json.load(fh)

    def features(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(self.entry(key) / "features.parquet")

    def qc(self, key: str) -> pd.DataFrame:
        return pd.read_parquet(self.entry(key) / "qc.parquet")


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False, engine="pyarrow", compression="snappy")


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Refuse two study runs writing to the same output folder at once."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fh = open(out / ".lock", "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise WriteError("another `paraspinal study run` is writing to this folder", file=out,
                             hint="wait for it to finish, or choose another -o folder") from None
        yield
    finally:
        fh.close()


# ============================================================================ schedulers


def _schedule_local(payloads: list[dict[str, Any]], jobs: int, on_result: Callable[[dict[str, Any]], None]) -> str:
    """Run payloads on ``jobs`` local processes (in this process when ``jobs == 1``)."""
    if jobs <= 1 or len(payloads) <= 1:
        # one worker, one core: the same single-threaded work as each process of a pool
        try:
            from threadpoolctl import threadpool_limits

            limiter: Any = threadpool_limits(1)
        except Exception:  # pragma: no cover
            limiter = contextlib.nullcontext()
        with limiter, single_thread_env():
            for p in payloads:
                on_result(_run_task(p))
        return "in-process (1 worker)"
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    n = min(jobs, len(payloads))
    pending = list(payloads)
    for attempt in range(2):
        ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=init_worker)
        broken: list[dict[str, Any]] = []
        try:
            with single_thread_env():  # spawn starts every worker at the first submit, with this environment
                futs = {ex.submit(_run_task, p): p for p in pending}
            for fut in as_completed(futs):
                p = futs.pop(fut)
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    broken.append(p)
                    continue
                on_result(res)
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
        if not broken:
            break
        pending = broken
        if attempt == 1:
            for p in broken:
                on_result({"key": p["key"], "status": "failed", "error": "WorkerDied",
                           "reason": f"{p['path']}: the worker process died while processing it (out of memory?); "
                                     "run with fewer --jobs or process it alone", "traceback": None, "seconds": None})
    return f"local processes ({n} workers, spawn)"


@contextlib.contextmanager
def single_thread_env() -> Iterator[None]:
    """Set the BLAS/OpenMP/paraspinal thread variables to 1 (while worker processes are spawned,
    or while one worker runs in this process), then restore them."""
    old = {v: os.environ.get(v) for v in _THREAD_VARS}
    for v in _THREAD_VARS:
        os.environ[v] = "1"
    try:
        yield
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val


def _schedule_dask(payloads: list[dict[str, Any]], address: Any, on_result: Callable[[dict[str, Any]], None]) -> str:
    """Run payloads on a dask.distributed cluster (``address`` or a Client)."""
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover
        raise ParameterError("--scheduler needs the 'distributed' package",
                             hint="pip install 'dask[distributed]'") from None
    own = not isinstance(address, Client)
    try:
        client = Client(address, timeout="20s") if own else address
    except (OSError, TimeoutError, ValueError) as err:
        raise ParameterError(f"cannot connect to the Dask scheduler at {address!r}: {err}",
                             hint="start one with `dask scheduler` and `dask worker ADDRESS`, or check the address")
    try:
        nworkers = len(client.scheduler_info().get("workers", {}))
        futs = client.map(_run_task, payloads, pure=False, key=[f"paraspinal-{p['key'][:20]}" for p in payloads])
        index = {f.key: p for f, p in zip(futs, payloads)}
        for fut in as_completed(futs):
            p = index[fut.key]
            try:
                res = fut.result()
            except Exception as err:  # KilledWorker, CancelledError...
                res = {"key": p["key"], "status": "failed", "error": type(err).__name__,
                       "reason": f"{p['path']}: the Dask task failed ({type(err).__name__}: {err}); a worker may have "
                                 "died (out of memory?)", "traceback": None, "seconds": None}
            on_result(res)
            fut.release()
        return f"dask.distributed ({client.scheduler.address}, {nworkers} workers)"
    finally:
        if own:
            client.close()


# ============================================================================ the run
@dataclass
class StudyResult:
    """Summary of :func:`run_study`.

    Attributes
    ----------
    out : pathlib.Path
    n_recordings, n_ok, n_failed, n_cached, n_computed : int
        ``n_cached`` were found in the cache; ``n_computed`` were processed in this run
        (including the ones that failed).
    errors : pandas.DataFrame
        :data:`ERROR_COLUMNS`.
    report : pathlib.Path or None
        ``OUT/report/index.html`` when written.
    exit_code : int
        :data:`EXIT_OK` (0) or :data:`EXIT_FAILURES` (1).
    """

    out: Path
    n_recordings: int
    n_ok: int
    n_failed: int
    n_cached: int
    n_computed: int
    errors: pd.DataFrame
    report: Path | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_FAILURES if self.n_failed else EXIT_OK


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    from .pipeline import versions

    out = dict(versions())
    for mod in ("pandas", "pyarrow", "matplotlib", "jinja2", "dask", "distributed"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover
            pass
    out["python"] = platform.python_version()
    return out


def _check_out(out: Path, study_root: Path) -> None:
    out_r, root_r = out.resolve(), study_root.resolve()
    if out_r == root_r or root_r in out_r.parents and out_r.parts[len(root_r.parts)] not in ("derivatives",):
        raise ParameterError("the output folder is inside the study folder", file=out,
                             hint="inputs are only read: choose an -o folder outside the study "
                                  "(or under its derivatives/ folder)")


def run_study(
    study: str | os.PathLike | Study,
    out: str | os.PathLike,
    *,
    pipeline: Pipeline | str | os.PathLike | Mapping[str, Any] | None = None,
    jobs: int | None = None,
    scheduler: Any = None,
    feature_options: Mapping[str, Any] | None = None,
    phase_options: Mapping[str, Any] | None = None,
    use_cache: bool = True,
    report: bool = True,
    progress: bool = True,
    display_rate: float = 20.0,
    rehash: bool = False,
) -> StudyResult:
    """Process every recording of a study and write the outputs.

    Parameters
    ----------
    study : path-like or Study
        A BIDS-EMG root, a folder with ``manifest.csv``, a manifest file, or a
        :class:`Study` from :func:`discover`.
    out : path-like
        Output folder (created; must not be inside the study folder, except under
        ``derivatives/``).
    pipeline : Pipeline, TOML/JSON path, dict or None
        Conditioning pipeline (None: the default).
    jobs : int, optional
        Local worker processes (default: the CPUs available to this process). ``1`` runs
        in this process. Each worker uses one core: its numeric libraries and paraspinal's
        per-channel work run on one thread. Ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        Address of a Dask scheduler (``tcp://host:8786``) or a Client: run the same tasks
        on that cluster. Its workers must be able to read the input paths.
    feature_options, phase_options : mapping, optional
        Passed to :func:`paraspinal.features.compute` / :func:`paraspinal.phases.detect`;
        part of the cache key.
    use_cache : bool
        Reuse cached results (default). False recomputes everything (and refreshes the cache).
    report : bool
        Write ``OUT/report/`` at the end.
    progress : bool
        Show a progress bar on stderr.
    display_rate : float
        Sampling rate (Hz) of the envelopes kept for the report.
    rehash : bool
        Read every input file to hash it, even those whose size, times and inode are
        unchanged since the last run (``OUT/cache/hashes.json``).

    Returns
    -------
    StudyResult

    Raises
    ------
    ParaspinalError
        Fatal problems only (no study found, bad pipeline, output folder not writable,
        another run on the same folder); per-recording problems go to ``errors.csv``.
    """
    t_start = time.perf_counter()
    started = _now()
    pipe = Pipeline.coerce(pipeline)
    st = study if isinstance(study, Study) else discover(study)
    out = Path(out).resolve()
    _check_out(out, st.root)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise WriteError(f"cannot write to the output folder: {err.strerror}", file=out,
                         hint="choose a writable -o folder") from None
    fopts = dict(feature_options or {})
    popts = dict(phase_options or {})
    opts_for_key = {"features": fopts, "phases": popts, "display_rate": display_rate}
    cache = _Cache(out / "cache")
    with _lock(out):
        cache.clean_tmp()
        records: list[dict[str, Any]] = []
        payloads: list[dict[str, Any]] = []
        hashes_all = _hash_files([f for t in st.recordings if t.problem is None for f in (t.path, *t.companions)],
                                 out / "cache" / "hashes.json", rehash=rehash or not use_cache)
        for task in st.recordings:
            rec: dict[str, Any] = {"path": task.rel, "abs_path": task.path, "meta": task.meta, "key": None,
                                   "inputs": {}, "status": None, "cached": False}
            records.append(rec)
            if task.problem is not None:
                rec.update(status="failed", error="ReadError" if "no such file" in task.problem else "ParameterError",
                           reason=task.problem)
                continue
            try:
                key, hashes = recording_key(task, pipe, opts_for_key, input_hashes=hashes_all)
            except OSError as err:
                rec.update(status="failed", error="ReadError",
                           reason=f"{task.path}: cannot read the file: {err.strerror}; check its permissions")
                continue
            rec.update(key=key, inputs=hashes)
            if use_cache and cache.has(key):
                rec.update(status="ok", cached=True)
                continue
            payloads.append({"key": key, "path": task.path, "reader_options": task.reader_options,
                             "meta": task.meta, "pipeline": pipe.to_dict(), "feature_options": fopts,
                             "phase_options": popts, "display_rate": display_rate,
                             "size": os.path.getsize(task.path)})
        by_key = {r["key"]: r for r in records if r["key"] is not None}
        # largest first: better load balance on few workers
        payloads.sort(key=lambda p: (-p["size"], p["path"]))
        bar = _progress(len(payloads), progress, f"{len(records) - len(payloads)} cached")

        def on_result(res: dict[str, Any]) -> None:
            r = by_key[res["key"]]
            if res["status"] == "ok" and "staged" in res:
                cache.adopt(res["key"], Path(res["staged"]), replace=not use_cache)
                r.update(status="ok")
            elif res["status"] == "ok":
                cache.put(res["key"], res["features"], res["qc"], res["info"], res["display"], replace=not use_cache)
                r.update(status="ok")
            else:
                r.update(status="failed", error=res["error"], reason=res["reason"], traceback=res.get("traceback"),
                         seconds=res.get("seconds"))
            if bar is not None:
                bar.update(1)

        if scheduler is not None:
            how = _schedule_dask(payloads, scheduler, on_result) if payloads else "dask.distributed (nothing to do)"
        else:
            n_jobs = jobs if jobs is not None else available_cpus()
            if n_jobs < 1:
                raise ParameterError(f"--jobs must be at least 1, got {n_jobs}")
            if n_jobs > 1 and len(payloads) > 1:
                for p in payloads:  # workers stage their cache entries; this process only renames them
                    p["stage_dir"] = str(cache.tmp)
            how = _schedule_local(payloads, n_jobs, on_result) if payloads else "local (nothing to do)"
        if bar is not None:
            bar.close()
        for r in records:
            if r["status"] == "ok":
                info = cache.info(r["key"])
                r["info"] = info
                r["meta"] = info.get("meta", r["meta"])
        errors = _errors_table(records, st)
        fingerprint = _outputs_fingerprint(records)
        skipped = use_cache and _outputs_current(out, fingerprint)
        if not skipped:
            _write_outputs(out, records, cache, errors)
        # also when the tables are unchanged but the statistics are missing (an older output folder)
        if not skipped or not (out / "group_stats.parquet").is_file():
            group_stats = write_group_statistics(out)
        else:
            group_stats = "unchanged"
        finished = _now()
        seconds = time.perf_counter() - t_start
        sizes = {n: (out / n).stat().st_size for n in _OUTPUT_FILES if (out / n).is_file()}
        cpu = os.times()
        prov = _provenance(st, pipe, records, how, jobs, scheduler, fopts, popts, started, finished, seconds,
                           fingerprint, skipped, sizes)
        prov["parent_cpu_s"] = round(cpu.user + cpu.system, 2)
        prov["group_statistics"] = group_stats
        _write_text_atomic(out / "provenance.json", json.dumps(prov, indent=1, default=str) + "\n")
        result = StudyResult(out=out, n_recordings=len(records), n_ok=prov["n_ok"], n_failed=prov["n_failed"],
                             n_cached=prov["n_cached"], n_computed=prov["n_computed"], errors=errors,
                             seconds=seconds)
        if report:
            try:
                from .report import write_report

                import jinja2  # noqa: F401
                import matplotlib  # noqa: F401
            except ImportError as err:
                warnings.warn(f"the HTML report was skipped: {err}; install paraspinal[report] "
                              "(matplotlib, jinja2) and run `paraspinal study report OUT`", ParaspinalWarning,
                              stacklevel=2)
            else:
                result.report = write_report(out, jobs=jobs)
        result.seconds = time.perf_counter() - t_start
    return result


def write_group_statistics(out: str | os.PathLike, *, groups: tuple[str, str] = ("control", "patient"),
                           min_subjects: int = 2) -> str:
    """Write ``OUT/group_stats.parquet`` and ``.csv``: controls against patients, per feature.

    One row per task x phase x muscle x side x channel x feature, from
    :func:`paraspinal.norms.group_statistics` (group means and SDs, Hedges' g with its 95 % CI,
    Welch t, Mann-Whitney U, Benjamini-Hochberg q, ROC AUC with bootstrap CI, Youden cut-off).
    When either group has fewer than ``min_subjects`` subjects, stale files are removed and
    nothing is written.

    Parameters
    ----------
    out : path-like
        A study output folder holding ``features.parquet``.
    groups : (str, str)
        Reference group and comparison group.
    min_subjects : int
        Subjects needed in each group.

    Returns
    -------
    str
        ``"written"``, or why nothing was written (recorded in provenance.json).
    """
    from . import norms

    out = Path(out)
    targets = [out / "group_stats.parquet", out / "group_stats.csv"]
    feats = pd.read_parquet(out / "features.parquet") if (out / "features.parquet").is_file() else None
    counts = feats.groupby("group")["subject"].nunique() if feats is not None and len(feats) else pd.Series()
    have = {g: int(counts.get(g, 0)) for g in groups}
    if min(have.values()) < min_subjects:
        for t in targets:
            t.unlink(missing_ok=True)
        return f"not written: needs at least {min_subjects} subjects in each of {list(groups)}, found {have}"
    norms.write_group_stats(norms.group_statistics(feats, groups=groups), out)
    return "written"


def _stat_sig(f: str) -> list[int] | None:
    try:
        st = os.stat(f)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _hash_files(files: Sequence[str], memo: Path | None = None, *, rehash: bool = False) -> dict[str, str]:
    """SHA-256 of many files on a few threads (hashlib releases the GIL on large buffers).

    With ``memo`` (a JSON file), a file whose size, modification time, change time and inode
    are those recorded with its hash last time is not read again (git's index does the same);
    ``rehash`` ignores the memo. The memo is rewritten atomically.
    """
    from concurrent.futures import ThreadPoolExecutor

    old: dict[str, Any] = {}
    if memo is not None and not rehash:
        try:
            old = json.loads(memo.read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError, AttributeError):
            old = {}

    def one(f: str) -> tuple[str, str | None, list[int] | None]:
        sig = _stat_sig(f)
        prev = old.get(f)
        if sig is not None and isinstance(prev, list) and len(prev) == 2 and prev[0] == sig:
            return f, prev[1], sig
        try:
            return f, file_sha256(f), _stat_sig(f)
        except OSError:
            return f, None, None  # hashed again (and the error reported) by recording_key

    with ThreadPoolExecutor(max_workers=max(1, min(4, available_cpus()))) as ex:
        done = list(ex.map(one, sorted(set(files))))
    if memo is not None:
        new = {f: [sig, h] for f, h, sig in done if h is not None and sig is not None}
        if new != old:
            _write_text_atomic(memo, json.dumps({"version": 1, "files": new}, separators=(",", ":")) + "\n")
    return {f: h for f, h, _ in done if h is not None}


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; ``os.cpu_count`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return max(1, os.cpu_count() or 1)


def _progress(total: int, enabled: bool, note: str) -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is optional
        return None
    return tqdm(total=total, desc=f"paraspinal study ({note})", unit="rec", file=sys.stderr, dynamic_ncols=True)


def _errors_table(records: list[dict[str, Any]], st: Study) -> pd.DataFrame:
    rows = [{"path": r["path"], **{k: r["meta"].get(k) for k in _ID}, "error": r.get("error"),
             "reason": r.get("reason")} for r in records if r["status"] == "failed"]
    return pd.DataFrame(rows, columns=list(ERROR_COLUMNS))


def _outputs_fingerprint(records: list[dict[str, Any]]) -> str:
    items = [[r["path"], r["key"], r["status"], r.get("reason")] for r in records]
    return hashlib.sha256(_canon([_OUTPUT_VERSION, items]).encode("utf-8")).hexdigest()


_OPTIONAL_OUTPUTS = ("group_stats.parquet", "group_stats.csv")
_OUTPUT_FILES = ("features.parquet", "features.csv", "qc.parquet", "errors.csv") + _OPTIONAL_OUTPUTS


def _outputs_current(out: Path, fingerprint: str) -> bool:
    """True when the outputs on disk were written from exactly these cache entries."""
    try:
        prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    sizes = prov.get("outputs", {}).get("sizes", {})
    if prov.get("outputs", {}).get("fingerprint") != fingerprint:
        return False
    for name in _OUTPUT_FILES:
        p = out / name
        if name not in sizes and name in _OPTIONAL_OUTPUTS and not p.is_file():
            continue  # group statistics are only written when both groups are present
        if not p.is_file() or p.stat().st_size != sizes.get(name):
            return False
    return True


def _feature_schema() -> Any:
    import pyarrow as pa

    empty = pd.DataFrame({c: pd.Series([], dtype="Int64" if c == "cycle" else "float64" if c == "value" else object)
                          for c in FEATURE_COLUMNS})
    fields = [pa.field(c, pa.int64() if c == "cycle" else pa.float64() if c == "value" else pa.string())
              for c in FEATURE_COLUMNS]
    return pa.Table.from_pandas(empty, schema=pa.schema(fields), preserve_index=False).schema


def _write_outputs(out: Path, records: list[dict[str, Any]], cache: _Cache, errors: pd.DataFrame) -> None:
    """features.parquet/.csv (streamed recording by recording, in Arrow), qc.parquet, errors.csv; each atomic.

    Cache entries hold each recording's rows already sorted (:func:`process_recording`) and
    ``records`` are in identity order, so concatenation gives the globally sorted table
    without holding it all in memory.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = _feature_schema()
    ok = [r for r in records if r["status"] == "ok"]  # records are in identity order
    chunk_rows = 250_000
    with atomic_path(out / "features.parquet") as tmp_pq, atomic_path(out / "features.csv") as tmp_csv:
        with pq.ParquetWriter(tmp_pq, schema, compression="snappy") as writer, \
                pacsv.CSVWriter(tmp_csv, schema.remove_metadata()) as cw:
            buf: list[Any] = []
            n = 0

            def flush() -> None:
                nonlocal buf, n
                if buf:
                    table = pa.concat_tables(buf)
                    writer.write_table(table)
                    cw.write_table(table.replace_schema_metadata(None))
                buf, n = [], 0

            for r in ok:
                t = pq.read_table(cache.entry(r["key"]) / "features.parquet", columns=list(FEATURE_COLUMNS))
                t = pa.Table.from_arrays([t[c].cast(schema.field(c).type) for c in FEATURE_COLUMNS], schema=schema)
                buf.append(t)
                n += t.num_rows
                if n >= chunk_rows:
                    flush()
            flush()
            if not ok:  # an empty table still has a schema
                writer.write_table(schema.empty_table())
    qcs = [cache.qc(r["key"]) for r in ok]
    qc = pd.concat(qcs, ignore_index=True) if qcs else pd.DataFrame(columns=list(QC_ID_COLUMNS))
    for c in QC_ID_COLUMNS:
        qc[c] = _text_or_none(qc[c]) if len(qc) else qc[c]
    with atomic_path(out / "qc.parquet") as tmp:
        _write_parquet(qc, tmp)
    with atomic_path(out / "errors.csv") as tmp:
        errors.to_csv(tmp, index=False, lineterminator="\n")


def _provenance(st: Study, pipe: Pipeline, records: list[dict[str, Any]], how: str, jobs: int | None,
                scheduler: Any, fopts: dict, popts: dict, started: str, finished: str, seconds: float,
                fingerprint: str, skipped: bool, sizes: dict[str, int]) -> dict[str, Any]:
    recs = []
    for r in records:
        info = r.get("info") or {}
        recs.append({
            "path": r["path"], **{k: r["meta"].get(k) for k in _META}, "status": r["status"],
            "cached": r["cached"], "key": r["key"], "inputs_sha256": r["inputs"],
            "seconds": (info.get("timings_s") or {}).get("total", r.get("seconds")),
            "timings_s": info.get("timings_s"), "peak_rss_mb": info.get("peak_rss_mb"),
            "phase_source": info.get("phase_source"), "n_rows": info.get("n_rows"),
            "warnings": info.get("warnings", []), "worker": {"pid": info.get("pid"), "host": info.get("host")}
            if info else None,
            **({"error": r.get("error"), "reason": r.get("reason")} if r["status"] == "failed" else {}),
            **({"traceback": r["traceback"]} if r.get("traceback") else {}),
        })
    n_ok = sum(r["status"] == "ok" for r in records)
    n_cached = sum(r["cached"] for r in records)
    return {
        "paraspinal": __version__,
        "versions": _versions(),
        "study": {"root": str(st.root), "kind": st.kind, "manifest": None if st.manifest is None else str(st.manifest),
                  "notes": st.notes},
        "pipeline": {**pipe.to_dict(), "hash": pipe.hash},
        "options": {"features": fopts, "phases": popts},
        "scheduler": how, "jobs": jobs, "dask_scheduler": None if scheduler is None else str(scheduler),
        "started": started, "finished": finished, "seconds": round(seconds, 3),
        "n_recordings": len(records), "n_ok": n_ok, "n_failed": len(records) - n_ok, "n_cached": n_cached,
        "n_computed": sum(1 for r in records if not r["cached"] and r["key"] is not None),
        "outputs": {"fingerprint": fingerprint, "rewritten": not skipped, "sizes": sizes},
        "recordings": recs,
        "platform": {"system": platform.system(), "machine": platform.machine(), "host": platform.node()},
    }
