"""Benchmark the default conditioning chain against NeuroKit2, BioSPPy and a bare band-pass.

Data: 16 channels x MINUTES min x 2 kHz float64 of synthetic trunk EMG (Shwedyk-shaped noise
with a slow activity modulation, a 100 uV ECG train and a 5 uV 50 Hz hum), made once.

Contenders, one process, one run, on the same input array. Each contender is called twice:
once timed with time.perf_counter (no tracing), once under tracemalloc for its peak memory
(NumPy reports its allocations to tracemalloc); tracing slows code with many small Python
allocations far more than code with a few big ones, so it is kept out of the timing (the
traced time is printed too). Before any timing, 3x the input is touched and freed once
(``prefault``) so no contender pays the OS's first-touch cost for the others.

* paraspinal preprocess(): ``paraspinal.preprocess`` with the default pipeline plus a 250 ms moving
  RMS step, on a Recording built before the timing (the public path: comparable across versions).
* paraspinal default chain: band-pass 20-450 Hz fused with mains detection (quiet windows) and
  removal in one FFT pass -> R-peaks and the ECG decision -> template subtraction on the channels
  that carry ECG -> 250 ms moving RMS, on ONE working copy, with the same in-place kernels as
  ``preprocess``. Both use both cores (per-channel work on up to 2 threads; ``os.cpu_count()`` is
  printed); the floor below is single-threaded by definition.
* paraspinal whole chain: what a study does with one file — ``paraspinal.read`` of the same
  array written as EDF before the timing (16-bit, as a study's files are), the default
  conditioning, phases (``phases.detect``: here the envelope, the data have no angle or
  annotations) and every feature (``features.compute``).
* NeuroKit2: ``emg_clean`` + ``emg_amplitude`` per channel (skipped, with a message, when
  neurokit2 is not installed; it is not a dependency of paraspinal).
* BioSPPy: ``biosppy.signals.emg.emg(signal, sampling_rate, show=False)`` per channel.
* floor: ``scipy.signal.sosfiltfilt`` band-pass (4th-order Butterworth 20-450 Hz) per channel.

"Peak memory" = tracemalloc's peak of the allocations made during the call (the input array
exists before and is not counted), divided by the input size; "peak/input incl. input" adds
the input itself (what the process holds at its peak).

Usage::

    python scripts/bench_preprocess.py --minutes 60 --out bench_results/bench_preprocess.json

To compare with an older checkout, run this script with ``PYTHONPATH=OLD/src`` and
``--skip chain neurokit2 biosppy`` (the ``preprocess()`` contender is the same call in both).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import os
import platform
import tempfile
import time
import tracemalloc
import warnings

import numpy as np
from scipy import signal

FS = 2000.0


def make_data(n_ch: int, minutes: float, seed: int = 0) -> np.ndarray:
    n = int(minutes * 60 * FS)
    rng = np.random.default_rng(seed)
    x = np.empty((n_ch, n))
    block = 2 ** 20
    f = np.fft.rfftfreq(block, 1 / FS)
    g = 80.0 ** 2 * f / (np.sqrt(f ** 2 + 40.0 ** 2) * (f ** 2 + 80.0 ** 2))
    g /= np.sqrt(np.mean(g ** 2) * 2)
    t_full = np.arange(n) / FS
    act = 5 + 15 * (1 + np.sin(2 * np.pi * t_full / 15.0))  # 5-35 uV
    # ECG: 100 uV QRS at ~70 bpm
    r = np.cumsum(60.0 / rng.normal(70, 1.5, size=int(minutes * 80) + 10))
    r = (r[r < n / FS - 1] * FS).astype(int)
    qrs_t = np.arange(-40, 41) / FS
    qrs = 100 * (np.exp(-0.5 * (qrs_t / 0.004) ** 2) - 0.35 * np.exp(-0.5 * ((qrs_t - 0.016) / 0.004) ** 2))
    ecg = np.zeros(n)
    idx = r[:, None] + np.arange(-40, 41)[None, :]
    np.add.at(ecg, idx[(idx.max(axis=1) < n)], np.broadcast_to(qrs, idx.shape)[(idx.max(axis=1) < n)])
    hum = 5 * np.sin(2 * np.pi * 50 * t_full)
    for c in range(n_ch):
        for s in range(0, n, block):
            m = min(block, n - s)
            z = np.fft.irfft((rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) * g, block)[:m]
            x[c, s:s + m] = z
        x[c] *= act
        x[c] += (0.5 + 0.5 * c / n_ch) * ecg + hum + rng.standard_normal(n)
    del t_full, act, ecg, hum
    return x


def paraspinal_chain(x: np.ndarray) -> np.ndarray:
    import importlib

    # sub-modules (the package re-exports functions named like some of them)
    E = importlib.import_module("paraspinal.preprocessing.ecg")
    V = importlib.import_module("paraspinal.preprocessing.envelope")
    P = importlib.import_module("paraspinal.preprocessing.powerline")

    y = x.copy()  # the one working copy
    rows = range(y.shape[0])
    # band-pass fused with mains detection + removal (one FFT pass), as preprocess() runs them
    P.powerline_rows(y, list(rows), FS, "auto", bandpass={"low": 20.0, "high": 450.0, "order": 4})
    # R-peaks, the ECG decision and the channels that carry it; template subtraction on those
    ana = E.ecg_presence_array(y, FS)
    if ana["ecg_present"]:
        E.ecg_rows(y, ana["ecg_rows"], FS, ana["rpeaks"], "template", highpass=None)
    V.envelope_rows(y, rows, FS, "rms", window_ms=250.0)
    return y


def preprocess_chain(x: np.ndarray):
    """``paraspinal.preprocess`` (default pipeline) + the 250 ms moving RMS step, on a
    Recording built beforehand: the public path, the same call whatever the version."""
    return _PREPROCESS[0](_PREPROCESS[1], _PREPROCESS[2])


_PREPROCESS: list = []


def prepare_preprocess(x: np.ndarray) -> None:
    import paraspinal as ps

    rec = ps.Recording.from_array(x, FS, [f"ch{i}" for i in range(x.shape[0])], units="uV")
    steps = [*ps.Pipeline.default().to_dict()["steps"], {"name": "envelope", "method": "rms", "window_ms": 250.0}]
    _PREPROCESS[:] = [ps.preprocess, rec, {"steps": steps}]


_EDF: list = []


def prepare_whole_chain(x: np.ndarray, path: str) -> None:
    import paraspinal as ps

    rec = ps.Recording.from_array(x, FS, [f"ch{i}" for i in range(x.shape[0])], units="uV")
    rec.save(path, overwrite=True)
    _EDF[:] = [path]


def whole_chain(x: np.ndarray):
    """Read the EDF of ``x`` -> default conditioning -> phases -> every feature."""
    import paraspinal as ps
    from paraspinal import features, phases

    rec = ps.read(_EDF[0])
    proc = ps.preprocess(rec)
    del rec
    ph = phases.detect(proc)
    if len(ph):
        proc = phases.set_phases(proc, ph)
    return features.compute(proc)


def neurokit(x: np.ndarray) -> list:
    import neurokit2 as nk

    out = []
    for row in x:
        cleaned = nk.emg_clean(row, sampling_rate=int(FS))
        out.append(nk.emg_amplitude(cleaned))
    return out


def biosppy_emg(x: np.ndarray) -> list:
    from biosppy.signals import emg

    return [emg.emg(signal=row, sampling_rate=FS, show=False) for row in x]


def floor(x: np.ndarray) -> np.ndarray:
    sos = signal.butter(4, [20.0, 450.0], btype="bandpass", fs=FS, output="sos")
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        y[i] = signal.sosfiltfilt(sos, x[i])
    return y


def prefault(nbytes: int) -> None:
    """Touch and free ``nbytes`` of memory before any timing.

    The first touch of fresh pages is slow on some systems (about 2 s per GB on the VM this
    was written on) and later allocations reuse them, so without this the first contender
    timed pays for everybody's page faults.
    """
    buf = np.ones(nbytes // 8)
    del buf
    gc.collect()


def measure(fn, x):
    """Time one call without tracing, then measure peak memory in a second, traced call.

    tracemalloc hooks every allocation (Python objects included), which slows code with
    many small allocations far more than code with few large ones, so timing under it
    would rank contenders by their allocation count; the traced call's time is reported
    too (``seconds_traced``) so nothing is hidden.
    """
    gc.collect()
    t0 = time.perf_counter()
    res = fn(x)
    dt = time.perf_counter() - t0
    del res
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    res = fn(x)
    dt_traced = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del res
    gc.collect()
    return dt, peak, dt_traced


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--out", default="bench_results/bench_preprocess.json")
    ap.add_argument("--skip", nargs="*", default=[],
                    help="contenders to skip (neurokit2, biosppy, chain, whole)")
    args = ap.parse_args()
    x = make_data(args.channels, args.minutes)
    for mod, name in (("neurokit2", "neurokit2"), ("biosppy.signals.emg", "biosppy")):
        if name not in args.skip and importlib.util.find_spec(mod.split(".")[0]) is None:
            print(f"{name} is not installed: its contender is skipped (pip install {name} to include it)")
            args.skip.append(name)
    # warm up imports and caches so no contender pays for them inside its timing
    for mod in ("paraspinal.preprocessing", "neurokit2", "biosppy.signals.emg"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass
    prepare_preprocess(x[:2, : int(20 * FS)])
    preprocess_chain(None)
    prepare_preprocess(x)
    size = x.nbytes
    prefault(3 * size)
    contenders = [("paraspinal preprocess()", preprocess_chain)]
    if "chain" not in args.skip:  # the in-place kernels (needs the version of this script's era)
        paraspinal_chain(x[:2, : int(20 * FS)])
        contenders.append(("paraspinal default chain", paraspinal_chain))
    tmp = None
    if "whole" not in args.skip:
        tmp = tempfile.TemporaryDirectory(prefix="bench_preprocess_")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepare_whole_chain(x[:, : int(20 * FS)], os.path.join(tmp.name, "warm.edf"))
            whole_chain(None)  # warm up the readers, phases and features
            prepare_whole_chain(x, os.path.join(tmp.name, "recording.edf"))
        contenders.append(("paraspinal whole chain (read to features)", whole_chain))
    contenders.append(("scipy sosfiltfilt band-pass (floor)", floor))
    if "neurokit2" not in args.skip:
        contenders.append(("NeuroKit2 emg_clean + emg_amplitude", neurokit))
    if "biosppy" not in args.skip:
        contenders.append(("BioSPPy emg.emg", biosppy_emg))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in contenders:
            dt, peak, dt_traced = measure(fn, x)
            rows.append({"contender": name, "seconds": dt, "seconds_traced": dt_traced, "peak_alloc_mb": peak / 1e6,
                         "peak_over_input": peak / size, "peak_over_input_incl_input": (peak + size) / size})
            print(f"  done: {name}: {dt:.1f} s", flush=True)
    t = {r["contender"]: r["seconds"] for r in rows}
    chain = t.get("paraspinal default chain", t["paraspinal preprocess()"])
    ratios = {"chain / floor": chain / t["scipy sosfiltfilt band-pass (floor)"]}
    if "NeuroKit2 emg_clean + emg_amplitude" in t:
        ratios["chain / neurokit2"] = chain / t["NeuroKit2 emg_clean + emg_amplitude"]
    if "BioSPPy emg.emg" in t:
        ratios["chain / biosppy"] = chain / t["BioSPPy emg.emg"]
    whole = t.get("paraspinal whole chain (read to features)")
    if whole is not None and "NeuroKit2 emg_clean + emg_amplitude" in t:
        ratios["whole chain / neurokit2"] = whole / t["NeuroKit2 emg_clean + emg_amplitude"]
    if tmp is not None:
        tmp.cleanup()
    print(f"\n{args.channels} channels x {args.minutes:g} min x {FS:g} Hz float64 = {size / 1e6:.0f} MB; "
          f"{os.cpu_count()} CPUs: the paraspinal chain uses up to 2 threads, the floor is single-threaded")
    print(f"{'contender':40s} {'time (s)':>9s} {'traced (s)':>11s} {'peak alloc (MB)':>16s} {'peak/input':>11s} "
          f"{'incl. input':>12s}")
    for r in rows:
        print(f"{r['contender']:40s} {r['seconds']:9.2f} {r['seconds_traced']:11.2f} {r['peak_alloc_mb']:16.0f} "
              f"{r['peak_over_input']:11.2f} {r['peak_over_input_incl_input']:12.2f}")
    for k, v in ratios.items():
        print(f"{k}: {v:.2f}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"channels": args.channels, "minutes": args.minutes, "sfreq": FS, "input_mb": size / 1e6,
                   "results": rows, "ratios": ratios, "memory_method": "tracemalloc peak during a second, traced call (time from an untraced call)",
                   "prefault_bytes": 3 * size,
                   "python": platform.python_version(), "machine": platform.machine(),
                   "cpu_count": os.cpu_count()}, fh, indent=2)


if __name__ == "__main__":
    main()
