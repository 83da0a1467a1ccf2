"""Benchmark the synthetic-EMG generator against one zero-phase band-pass over the same array.

Target (issue 3): generating one hour of 16 channels at 2 kHz takes at most 3x the time of
one ``scipy.signal.sosfiltfilt`` 4th-order 20-450 Hz Butterworth band-pass over the same
array, measured in the same run, and the generator's peak memory stays within 3x of the
output array (float64, 16 x 7.2 M samples = 921.6 MB).

Peak memory is measured with :mod:`tracemalloc` (NumPy reports its buffers to it), started
just before the generator and read just after; the process high-water mark from
:func:`resource.getrusage` is printed beside it. Timing runs are made without tracemalloc.

Usage::

    python scripts/bench_synth.py [--duration 3600] [--sfreq 2000] [--out bench_results/bench_synth.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy
from scipy import signal

from paraspinal import synth

CHANNELS_16 = [f"{s}_{m}" for m in ("LT_T10", "LT_L1", "IL_L3", "MF_L4", "MF_L5", "RA", "EO", "IO") for s in "LR"]


def _generate(duration: float, sfreq: float, fatigue: float | None) -> np.ndarray:
    n_cycles = int(round(duration / 15.0))
    data, _, _, _ = synth.simulate_array(
        "frt", "patient", sfreq=sfreq, channels=CHANNELS_16, seed=1, protocol_options={"n_cycles": n_cycles},
        ecg_lead=False, angle=False, fatigue=None if fatigue is None else {"slope": fatigue, "phases": ["all"]},
    )
    return data


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=3600.0, help="seconds (default one hour)")
    ap.add_argument("--sfreq", type=float, default=2000.0)
    ap.add_argument("--fatigue", action="store_true", help="also time the fatigue (spectral compression) path")
    ap.add_argument("--out", default="bench_results/bench_synth.json")
    args = ap.parse_args(argv)

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    data = _generate(args.duration, args.sfreq, None)
    t_gen = time.perf_counter() - t0
    rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out_bytes = data.nbytes
    shape = data.shape

    sos = signal.butter(4, [20.0, 450.0], btype="bandpass", fs=args.sfreq, output="sos")
    t0 = time.perf_counter()
    filtered = signal.sosfiltfilt(sos, data, axis=-1)
    t_filt = time.perf_counter() - t0
    del filtered, data
    gc.collect()

    tracemalloc.start()
    data = _generate(args.duration, args.sfreq, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del data
    gc.collect()

    rows = [("generate (default: ECG, powerline, baseline, artefacts, bursts)", t_gen)]
    t_fat = None
    if args.fatigue:
        t0 = time.perf_counter()
        data = _generate(args.duration, args.sfreq, -0.3)
        t_fat = time.perf_counter() - t0
        del data
        rows.append(("generate with fatigue (1-s blocks)", t_fat))
    rows.append(("sosfiltfilt 4th-order 20-450 Hz", t_filt))

    result = {
        "shape": list(shape), "sfreq": args.sfreq, "duration_s": args.duration,
        "output_MB": out_bytes / 1e6,
        "t_generate_s": t_gen, "t_generate_fatigue_s": t_fat, "t_sosfiltfilt_s": t_filt,
        "time_ratio": t_gen / t_filt,
        "peak_tracemalloc_MB": peak / 1e6, "memory_ratio": peak / out_bytes,
        "maxrss_increase_during_generate_MB": (rss_gen - rss0) / 1e3,
        "memory_method": "tracemalloc peak during generation (NumPy buffers); ru_maxrss shown for reference",
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "targets": {"time_ratio_max": 3.0, "memory_ratio_max": 3.0},
    }
    print(f"array {shape[0]} x {shape[1]} float64 = {out_bytes / 1e6:.1f} MB")
    print(f"{'step':<66} {'seconds':>8}")
    for name, t in rows:
        print(f"{name:<66} {t:8.2f}")
    print(f"time ratio generate / sosfiltfilt: {result['time_ratio']:.2f}  (target <= 3)")
    print(f"peak memory (tracemalloc): {peak / 1e6:.1f} MB = {result['memory_ratio']:.2f} x output (target <= 3); "
          f"ru_maxrss rise {result['maxrss_increase_during_generate_MB']:.1f} MB")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
