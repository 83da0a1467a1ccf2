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

One module per concept; this package's front is :func:`run_study`, which ties them together,
and every public name below is importable from ``paraspinal.study``:

============  ================================================================================
module        concept
============  ================================================================================
discovery     a study's recordings: BIDS-EMG discovery, the manifest CSV
cache         hashing (files, memo of hashes, recording keys) and the cache entries
process       one recording: read, QC, preprocess, phases, features (what every worker runs)
schedule      local worker processes or a Dask cluster; the progress bar
outputs       the combined tables, written atomically and deterministically; the output lock
provenance    ``provenance.json``: versions, parameters, hashes, timings
stats         group statistics of an output folder
============  ================================================================================

The worker set-up shared with the report (threads, allocator, CPUs) is
``paraspinal._workers``, below both.
"""

from __future__ import annotations

import errno
import json
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import atomic_path
from .._files import write_text_atomic as _write_text_atomic
from .._workers import available_cpus, init_worker, single_thread_env  # noqa: F401 - importable from here too
from ..errors import ParameterError, ParaspinalWarning, WriteError
from ..pipeline import Pipeline
from .cache import CACHE_VERSION, Cache, file_sha256, hash_files, recording_key
from .discovery import RecordingTask, Study, discover, read_manifest
from .outputs import (
    ERROR_COLUMNS,
    OUTPUT_FILES,
    check_out_folder,
    disk_full_is_fatal,
    errors_table,
    output_lock,
    outputs_current,
    outputs_fingerprint,
    write_outputs,
)
from .process import FEATURE_COLUMNS, QC_ID_COLUMNS, SORT_COLUMNS, RecordingResult, process_recording
from .provenance import make_provenance, utc_now
from .schedule import progress_bar, schedule_dask, schedule_local
from .stats import write_group_statistics

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

#: Exit statuses of ``paraspinal study run``.
EXIT_OK, EXIT_FAILURES, EXIT_FATAL = 0, 1, 2


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


def _plan(st: Study, pipe: Pipeline, cache: Cache, hashes_all: Mapping[str, str], use_cache: bool, fopts: dict,
          popts: dict, display_rate: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One record per recording (failed at discovery, cached, or to compute) and a payload for each to compute."""
    opts_for_key = {"features": fopts, "phases": popts, "display_rate": display_rate}
    records: list[dict[str, Any]] = []
    payloads: list[dict[str, Any]] = []
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
    return records, payloads


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
        :class:`~paraspinal.study.Study` from :func:`~paraspinal.study.discover`.
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
    started = utc_now()
    pipe = Pipeline.coerce(pipeline)
    st = study if isinstance(study, Study) else discover(study)
    out = Path(out).resolve()
    check_out_folder(out, st.root)
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
    cache = Cache(out / "cache")
    with output_lock(out), disk_full_is_fatal(out):
        cache.clean_tmp()
        hashes_all = hash_files([f for t in st.recordings if t.problem is None for f in (t.path, *t.companions)],
                                out / "cache" / "hashes.json", rehash=rehash or not use_cache, sha256=file_sha256)
        records, payloads = _plan(st, pipe, cache, hashes_all, use_cache, fopts, popts, display_rate)
        by_key = {r["key"]: r for r in records if r["key"] is not None}
        # largest first: better load balance on few workers
        payloads.sort(key=lambda p: (-p["size"], p["path"]))
        bar = progress_bar(len(payloads), progress, f"{len(records) - len(payloads)} cached")

        def on_result(res: dict[str, Any]) -> None:
            r = by_key[res["key"]]
            if res.get("error") == "DiskFull":  # a worker could not stage its entry: this process cannot either
                raise OSError(errno.ENOSPC, res["reason"])
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
            how = schedule_dask(payloads, scheduler, on_result) if payloads else "dask.distributed (nothing to do)"
        else:
            n_jobs = jobs if jobs is not None else available_cpus()
            if n_jobs < 1:
                raise ParameterError(f"--jobs must be at least 1, got {n_jobs}")
            if n_jobs > 1 and len(payloads) > 1:
                for p in payloads:  # workers stage their cache entries; this process only renames them
                    p["stage_dir"] = str(cache.tmp)
            how = schedule_local(payloads, n_jobs, on_result) if payloads else "local (nothing to do)"
        if bar is not None:
            bar.close()
        for r in records:
            if r["status"] == "ok":
                info = cache.info(r["key"])
                r["info"] = info
                r["meta"] = info.get("meta", r["meta"])
        errors = errors_table(records, st)
        fingerprint = outputs_fingerprint(records)
        skipped = use_cache and outputs_current(out, fingerprint)
        if not skipped:
            write_outputs(out, records, cache, errors)
        # also when the tables are unchanged but the statistics are missing (an older output folder)
        if not skipped or not (out / "group_stats.parquet").is_file():
            group_stats = write_group_statistics(out)
        else:
            group_stats = "unchanged"
        finished = utc_now()
        seconds = time.perf_counter() - t_start
        sizes = {n: (out / n).stat().st_size for n in OUTPUT_FILES if (out / n).is_file()}
        cpu = os.times()
        prov = make_provenance(st, pipe, records, how, jobs, scheduler, fopts, popts, started, finished, seconds,
                               fingerprint, skipped, sizes)
        prov["parent_cpu_s"] = round(cpu.user + cpu.system, 2)
        prov["group_statistics"] = group_stats
        _write_text_atomic(out / "provenance.json", json.dumps(prov, indent=1, default=str) + "\n")
        result = StudyResult(out=out, n_recordings=len(records), n_ok=prov["n_ok"], n_failed=prov["n_failed"],
                             n_cached=prov["n_cached"], n_computed=prov["n_computed"], errors=errors,
                             seconds=seconds)
        if report:
            try:
                from ..report import write_report

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
