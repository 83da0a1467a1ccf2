"""Hashing and the cache: a recording's key, the input hashes (with their memo), the cache entries.

Each recording's results are stored under ``OUT/cache/<kk>/<key>/``, where ``key`` is the
SHA-256 of every input of the result (:func:`recording_key`). Entries are staged in a temporary
folder and renamed into place, so an interrupted run leaves only whole entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import write_text_atomic as _write_text_atomic
from .._version import __version__
from .._workers import available_cpus
from ..pipeline import Pipeline
from .discovery import RecordingTask

__all__ = ["CACHE_VERSION", "Cache", "canonical_json", "file_sha256", "hash_files", "recording_key", "stage_entry",
           "write_parquet"]


#: Version of the cache entries: part of every key, raised whenever the layout or what the same
#: pipeline computes changes (3: mains by narrowness and stop bands, ECG only where found; 4: the
#: feature table's ``quality`` column).
CACHE_VERSION = 4


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


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the same text for the same content (hashed for keys)."""
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
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest(), hashes


def stage_entry(tmp: Path, key: str, features: pd.DataFrame, qc: pd.DataFrame, info: Mapping[str, Any],
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
        write_parquet(features, work / "features.parquet")
        write_parquet(qc, work / "qc.parquet")
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


class Cache:
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
        self.adopt(key, stage_entry(self.tmp, key, features, qc, info, display), replace=replace)

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


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a table as Parquet (pyarrow, snappy, no index)."""
    df.to_parquet(path, index=False, engine="pyarrow", compression="snappy")


def _stat_sig(f: str) -> list[int] | None:
    try:
        st = os.stat(f)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def hash_files(files: Sequence[str], memo: Path | None = None, *, rehash: bool = False,
                sha256: Callable[[str], str] = file_sha256) -> dict[str, str]:
    """SHA-256 of many files on a few threads (hashlib releases the GIL on large buffers).

    With ``memo`` (a JSON file), a file whose size, modification time, change time and inode
    are those recorded with its hash last time is not read again (git's index does the same);
    ``rehash`` ignores the memo. The memo is rewritten atomically. ``sha256`` hashes one file
    (:func:`run_study` passes ``paraspinal.study.file_sha256``, the name it looks up at run time).
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
            return f, sha256(f), _stat_sig(f)
        except OSError:
            return f, None, None  # hashed again (and the error reported) by recording_key

    with ThreadPoolExecutor(max_workers=max(1, min(4, available_cpus()))) as ex:
        done = list(ex.map(one, sorted(set(files))))
    if memo is not None:
        new = {f: [sig, h] for f, h, sig in done if h is not None and sig is not None}
        if new != old:
            _write_text_atomic(memo, json.dumps({"version": 1, "files": new}, separators=(",", ":")) + "\n")
    return {f: h for f, h, _ in done if h is not None}
