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
import time
import warnings
from collections.abc import Iterator

__all__ = ["available_cpus", "die_with_parent", "init_worker", "single_thread_env", "tune_malloc"]

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
    """Initialise a worker process: it dies with its parent, one BLAS/OpenMP thread, no warnings on the console."""
    die_with_parent()
    _limit_threads()
    warnings.simplefilter("ignore")


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(poll_s: float = 0.5) -> None:
    """Make this worker process end when the process that started it ends (even by ``kill -9``).

    A pool worker busy with a long recording otherwise runs on, orphaned, until its task ends.
    On Linux the kernel sends the worker ``SIGKILL`` when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``, through ctypes); strictly, when the parent's *thread* that
    started the worker ends, and paraspinal's pools are started and shut down by the one thread
    that runs the study or the report. A parent that died before this call is noticed at once
    (the worker's parent id is no longer its starter's). Elsewhere (or when prctl is not
    available) a daemon thread checks the parent id every ``poll_s`` seconds.
    """
    import multiprocessing

    starter = multiprocessing.parent_process()
    parent = starter.pid if starter is not None else os.getppid()
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent is already gone
        os._exit(1)
    if not armed:
        import threading

        def watch() -> None:
            while True:
                time.sleep(poll_s)
                if os.getppid() != parent:
                    os._exit(1)

        threading.Thread(target=watch, name="paraspinal-parent-watch", daemon=True).start()


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
