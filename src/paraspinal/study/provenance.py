"""Provenance: what ``OUT/provenance.json`` records (versions, pipeline, options, hashes, times)."""

from __future__ import annotations

import datetime as _dt
import platform
from typing import Any

from .._version import __version__
from ..pipeline import Pipeline
from ..recording import META_KEYS
from .discovery import Study

__all__ = ["make_provenance", "utc_now"]


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    from ..pipeline import versions

    out = dict(versions())
    for mod in ("pandas", "pyarrow", "matplotlib", "jinja2", "dask", "distributed"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # pragma: no cover
            pass
    out["python"] = platform.python_version()
    return out


def make_provenance(st: Study, pipe: Pipeline, records: list[dict[str, Any]], how: str, jobs: int | None,
                    scheduler: Any, fopts: dict, popts: dict, started: str, finished: str, seconds: float,
                    fingerprint: str, skipped: bool, sizes: dict[str, int]) -> dict[str, Any]:
    """The content of ``provenance.json`` for a run (one entry per recording, then the run)."""
    recs = []
    for r in records:
        info = r.get("info") or {}
        recs.append({
            "path": r["path"], **{k: r["meta"].get(k) for k in META_KEYS}, "status": r["status"],
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
