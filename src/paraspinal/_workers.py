"""Worker set-up shared by the study and the report: one thread per worker, the allocator, the CPUs.

A worker is one core (``docs/design.md``, "Parallel work"): a worker process (or one worker run
in this process) runs NumPy/SciPy/BLAS and paraspinal's own per-channel threads
single-threaded, so N workers use N cores and never oversubscribe them.
:mod:`paraspinal.study` and :mod:`paraspinal.report` both start workers with these helpers;
this module imports neither.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

__all__ = ["available_cpus", "init_worker", "single_thread_env", "tune_malloc"]

_THREAD_VARS = ("PARASPINAL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


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


def tune_malloc() -> None:
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


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; ``os.cpu_count`` where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS/Windows
        return max(1, os.cpu_count() or 1)
