"""Outputs: the combined tables (features, QC, errors), written atomically and deterministically.

The tables are rebuilt from the cache entries in a fixed order and hold no timestamps, so the
same inputs give byte-identical files whichever scheduler ran them; they are rewritten only
when the set of cache entries changed (:func:`outputs_current`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import atomic_path
from ..errors import ParameterError, WriteError
from .cache import Cache, canonical_json, write_parquet
from .discovery import ID_KEYS, Study
from .process import FEATURE_COLUMNS, QC_ID_COLUMNS, text_or_none

__all__ = ["ERROR_COLUMNS", "OUTPUT_FILES", "check_out_folder", "errors_table", "output_lock", "outputs_current",
           "outputs_fingerprint", "write_outputs", "is_disk_full", "disk_full_is_fatal"]


#: Columns of ``errors.csv``.
ERROR_COLUMNS: tuple[str, ...] = ("path", "subject", "session", "task", "run", "error", "reason")


_OUTPUT_VERSION = 1


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
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


_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def is_disk_full(err: BaseException) -> bool:
    """True for an OSError that says the disk (or the user's quota) is full.

    pyarrow raises OSError without ``errno`` and with the C library's message in its text
    (``"[errno 28] No space left on device"``), so the text is read too.
    """
    if not isinstance(err, OSError):
        return False
    if err.errno in _NO_SPACE:
        return True
    text = str(err).lower()
    return "no space left" in text or "disk quota exceeded" in text or f"errno {errno.ENOSPC}]" in text


def _folder_bytes(folder: Path) -> int:
    total = 0
    for p in folder.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            continue
    return total


@contextlib.contextmanager
def disk_full_is_fatal(out: Path) -> Iterator[None]:
    """Turn a full disk, wherever the run meets it, into one :class:`WriteError` naming the folder and the space.

    The space needed is estimated from the cached results (the tables written from them take
    about three times their size: Parquet, CSV and QC); every output is written to a temporary
    file and renamed, and cache entries are staged the same way, so a full disk leaves no partial
    file, and the finished recordings stay cached for the next run.
    """
    try:
        yield
    except OSError as err:
        if not is_disk_full(err):
            raise
        import shutil

        cached = _folder_bytes(out / "cache")
        try:
            free = shutil.disk_usage(out).free
        except OSError:
            free = 0
        need = max(3 * cached, 1 << 20)
        raise WriteError(
            f"the disk is full ({err.strerror or err}): the study outputs need about {need / 1e6:.0f} MB more "
            f"(three times the {cached / 1e6:.0f} MB of cached results), {free / 1e6:.0f} MB are free",
            file=out,
            hint="free space on that disk or choose another -o folder, then run again: finished recordings are "
                 "cached and nothing partial was left") from None


def check_out_folder(out: Path, study_root: Path) -> None:
    """Refuse an output folder inside the study folder (except under its ``derivatives/``)."""
    out_r, root_r = out.resolve(), study_root.resolve()
    if out_r == root_r or root_r in out_r.parents and out_r.parts[len(root_r.parts)] not in ("derivatives",):
        raise ParameterError("the output folder is inside the study folder", file=out,
                             hint="inputs are only read: choose an -o folder outside the study "
                                  "(or under its derivatives/ folder)")


def errors_table(records: list[dict[str, Any]], st: Study) -> pd.DataFrame:
    """The failed recordings as the ``errors.csv`` table (:data:`ERROR_COLUMNS`)."""
    rows = [{"path": r["path"], **{k: r["meta"].get(k) for k in ID_KEYS}, "error": r.get("error"),
             "reason": r.get("reason")} for r in records if r["status"] == "failed"]
    return pd.DataFrame(rows, columns=list(ERROR_COLUMNS))


def outputs_fingerprint(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the recordings' paths, keys, statuses and reasons: what the outputs are made of."""
    items = [[r["path"], r["key"], r["status"], r.get("reason")] for r in records]
    return hashlib.sha256(canonical_json([_OUTPUT_VERSION, items]).encode("utf-8")).hexdigest()


_OPTIONAL_OUTPUTS = ("group_stats.parquet", "group_stats.csv")
OUTPUT_FILES = ("features.parquet", "features.csv", "qc.parquet", "errors.csv") + _OPTIONAL_OUTPUTS


def outputs_current(out: Path, fingerprint: str) -> bool:
    """True when the outputs on disk were written from exactly these cache entries."""
    try:
        prov = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    sizes = prov.get("outputs", {}).get("sizes", {})
    if prov.get("outputs", {}).get("fingerprint") != fingerprint:
        return False
    for name in OUTPUT_FILES:
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


def write_outputs(out: Path, records: list[dict[str, Any]], cache: Cache, errors: pd.DataFrame) -> None:
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
        qc[c] = text_or_none(qc[c]) if len(qc) else qc[c]
    with atomic_path(out / "qc.parquet") as tmp:
        write_parquet(qc, tmp)
    with atomic_path(out / "errors.csv") as tmp:
        errors.to_csv(tmp, index=False, lineterminator="\n")
