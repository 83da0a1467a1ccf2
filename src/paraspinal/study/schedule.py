"""Scheduling: run the recordings' tasks on local worker processes or on a Dask distributed cluster.

Workers only read inputs and return results (or, on local processes, stage their cache
entries); the parent process publishes every cache entry and writes every output, so the same
code path serves both schedulers.
"""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._workers import init_worker, single_thread_env, tune_malloc
from ..errors import ParameterError, ParaspinalError
from .cache import stage_entry
from .outputs import is_disk_full
from .process import process_recording

__all__ = ["progress_bar", "schedule_dask", "schedule_local"]


def _run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one recording in a worker; never raises (failures come back as records)."""
    tune_malloc()
    t0 = time.perf_counter()
    try:
        res = process_recording(payload["path"], payload["pipeline"], payload["reader_options"],
                                meta=payload["meta"], feature_options=payload["feature_options"],
                                phase_options=payload["phase_options"], display_rate=payload["display_rate"])
        if payload.get("stage_dir"):
            work = stage_entry(Path(payload["stage_dir"]), payload["key"], res.features, res.qc, res.info,
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
    except OSError as err:
        if not is_disk_full(err):
            reason = (f"{payload['path']}: unexpected {type(err).__name__}: {err}. This is likely a bug in "
                      "paraspinal; please report it with this recording's details")
            kind, tb = type(err).__name__, traceback.format_exc(limit=20)
        else:  # staging the cache entry met a full disk: the parent stops the run
            reason, kind, tb = f"{payload.get('stage_dir')}: {err}", "DiskFull", None
    except Exception as err:  # noqa: BLE001 - one bad recording must not stop the study
        reason = (f"{payload['path']}: unexpected {type(err).__name__}: {err}. This is likely a bug in paraspinal; "
                  "please report it with this recording's details")
        kind, tb = type(err).__name__, traceback.format_exc(limit=20)
    return {"key": payload["key"], "status": "failed", "error": kind, "reason": reason, "traceback": tb,
            "seconds": round(time.perf_counter() - t0, 4)}


def schedule_local(payloads: list[dict[str, Any]], jobs: int, on_result: Callable[[dict[str, Any]], None]) -> str:
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


def schedule_dask(payloads: list[dict[str, Any]], address: Any, on_result: Callable[[dict[str, Any]], None]) -> str:
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


def progress_bar(total: int, enabled: bool, note: str) -> Any:
    """A tqdm progress bar on stderr, or None (disabled, nothing to do, or no tqdm)."""
    if not enabled or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is optional
        return None
    return tqdm(total=total, desc=f"paraspinal study ({note})", unit="rec", file=sys.stderr, dynamic_ncols=True)
