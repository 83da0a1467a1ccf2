#!/usr/bin/env python
"""Benchmark: how fast and how lean ``paraspinal.read`` is against the libraries it builds on.

Writes a 16-channel, 60-minute, 2 kHz recording as EDF (through paraspinal's writer) and as
CSV (a time column plus one column per channel, µV with 3 decimals), then reads each file
with:

- ``paraspinal.read`` and ``mne.io.read_raw_edf(preload=True)`` (EDF);
- ``paraspinal.read`` and ``pandas.read_csv`` with each available engine (CSV).

Each read runs in a fresh subprocess so that its peak resident memory belongs to it alone:
the peak counter is reset after imports (``/proc/self/clear_refs``) and the peak (``VmHWM``)
read after the call, minus the resident size before it (Linux only); contenders are interleaved
over ``--repeats`` rounds and the median time is reported. Prints a table and writes JSON.

Targets (issue 2): EDF within 1.2x of MNE's own read; CSV within 1.5x of the fastest pandas
engine; peak memory within 2x of the loaded float64 array.

Usage::

    python scripts/bench_io.py                 # full size (60 min), 3 rounds
    python scripts/bench_io.py --minutes 5     # quick look
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import sys, time, json, warnings
warnings.simplefilter("ignore")
kind, path = sys.argv[1], sys.argv[2]
import numpy as np
if kind.startswith("paraspinal"):
    import paraspinal as ps
    ps.io.FORMATS  # registry imported
    import importlib
    for mod in ("paraspinal.io.mne_formats", "paraspinal.io.text"):  # import cost outside the timing
        importlib.import_module(mod)
elif kind.startswith("mne"):
    import mne
else:
    import pandas as pd
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
def status_kb(key):
    # /proc/self/status belongs to this process image; ru_maxrss would carry the parent's
    # peak across fork+exec on Linux
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(key)
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak-RSS counter (VmHWM) to the current RSS
before = status_kb("VmRSS")
t0 = time.perf_counter()
if kind.startswith("paraspinal"):
    rec = ps.read(path)
    shape = (len(rec.ch_names), rec.n_samples)
elif kind == "mne.io.read_raw_edf":
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    shape = raw._data.shape
else:
    engine = kind.split("=", 1)[1]
    df = pd.read_csv(path, engine=engine)
    shape = (df.shape[1] - 1, df.shape[0])
elapsed = time.perf_counter() - t0
after = status_kb("VmHWM")
print(json.dumps({"seconds": elapsed, "peak_mb": (after - before) / 1024, "shape": list(shape)}))
"""


def make_files(folder: Path, n_ch: int, minutes: float, sfreq: float) -> tuple[Path, Path, int]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import paraspinal as ps

    n = int(round(minutes * 60 * sfreq))
    rng = np.random.default_rng(1)
    data = np.round(rng.standard_normal((n_ch, n)) * 30.0, 3)  # µV
    names = [f"{side}_{m}" for m in ("LT", "IL", "MF", "RA", "EO", "ES", "QL", "IO") for side in "LR"][:n_ch]
    edf = folder / "bench.edf"
    rec = ps.Recording.from_array(data, sfreq, names, units="uV")
    rec.save(edf, overwrite=True)
    del rec
    csv = folder / "bench.csv"
    cols = {"time": np.round(np.arange(n) / sfreq, 6)}
    cols.update({nm: data[i] for i, nm in enumerate(names)})
    pacsv.write_csv(pa.table(cols), csv)
    return edf, csv, n


def run_child(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sfreq", type=float, default=2000.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("bench_results/bench_io.json"))
    ap.add_argument("--workdir", type=Path, default=None, help="where to write the test files (default: a temp dir)")
    args = ap.parse_args(argv)

    engines = ["c"]
    try:
        import pyarrow  # noqa: F401

        engines.insert(0, "pyarrow")
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t0 = time.perf_counter()
        edf, csv, n = make_files(Path(tmp), args.channels, args.minutes, args.sfreq)
        print(f"wrote {edf.stat().st_size / 1e6:.0f} MB EDF and {csv.stat().st_size / 1e6:.0f} MB CSV "
              f"({args.channels} ch x {n} samples) in {time.perf_counter() - t0:.1f} s", flush=True)
        array_mb = args.channels * n * 8 / 2**20
        contenders = [("paraspinal.read", edf, "EDF"), ("mne.io.read_raw_edf", edf, "EDF"),
                      ("paraspinal.read ", csv, "CSV")]
        contenders += [(f"pandas.read_csv engine={e}", csv, "CSV") for e in engines]
        results: dict[str, list[dict]] = {k: [] for k, _, _ in contenders}
        for r in range(args.repeats):
            for kind, path, _ in contenders:
                child_kind = kind.strip() if not kind.startswith("pandas") else "pandas=" + kind.split("=")[1]
                res = run_child(child_kind, path)
                results[kind].append(res)
                print(f"  round {r + 1}: {kind.strip():<34} {res['seconds']:7.2f} s  peak +{res['peak_mb']:7.0f} MB",
                      flush=True)
    rows = []
    for kind, path, fmt in contenders:
        secs = statistics.median(x["seconds"] for x in results[kind])
        peak = statistics.median(x["peak_mb"] for x in results[kind])
        rows.append({"format": fmt, "reader": kind.strip(), "median_s": secs, "peak_mb": peak,
                     "peak_over_array": peak / array_mb})
    edf_ref = next(r for r in rows if r["reader"] == "mne.io.read_raw_edf")["median_s"]
    csv_ref = min(r["median_s"] for r in rows if r["reader"].startswith("pandas"))
    for r in rows:
        r["time_ratio"] = r["median_s"] / (edf_ref if r["format"] == "EDF" else csv_ref)

    print()
    print(f"{args.channels} channels x {args.minutes:g} min x {args.sfreq:g} Hz; loaded array {array_mb:.0f} MiB (float64); "
          f"median of {args.repeats} rounds")
    print(f"{'format':<6} {'reader':<34} {'time (s)':>9} {'ratio':>7} {'peak (MiB)':>10} {'peak/array':>11}")
    for r in rows:
        print(f"{r['format']:<6} {r['reader']:<34} {r['median_s']:9.2f} {r['time_ratio']:7.2f} "
              f"{r['peak_mb']:10.0f} {r['peak_over_array']:11.2f}")
    print("ratio: EDF rows against mne.io.read_raw_edf, CSV rows against the fastest pandas engine")
    doc = {
        "benchmark": "bench_io",
        "params": vars(args) | {"out": str(args.out), "workdir": str(args.workdir)},
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "array_mb": array_mb,
        "rows": rows,
        "raw": {k: v for k, v in results.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    print(f"JSON written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
