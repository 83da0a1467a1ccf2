#!/usr/bin/env python
"""Benchmark ``paraspinal study run``: 1 vs 2 local workers, a 2-worker Dask cluster, a re-run, memory.

Study: N recordings (default 200) of 8 channels (6 EMG + ECG + trunk angle) x 3 min x 2 kHz, a
flexion-relaxation protocol of 12 cycles, BIDS-EMG layout. ``min(N, 10)`` distinct subjects are
simulated with :func:`paraspinal.synth.write_study`; the rest are hard links of those files under
new subject labels (same signals, distinct recordings: the cache key includes the path), which
makes the study in seconds instead of minutes. Processing cost does not depend on the values.

Runs, in one invocation, each as the real command (``python -m paraspinal.cli study run``, a new
process, ``--no-report``; the report is timed on its own) into a fresh output folder:

1. ``--jobs 1``  (in-process: one worker)
2. ``--jobs 2``  (two spawned worker processes)
3. ``--scheduler ADDRESS`` on a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1,
   processes=True)`` started before the timer (its start-up time is printed separately)
4. run 2 again with nothing changed (everything from the cache)
5. ``--jobs 2`` on a smaller study of ``--n-small`` recordings (default 50), for memory
6. ``study report`` on run 2's output (all pages), then again (incremental)

``--repeat R`` runs 1 and 2 alternately R times and keeps the fastest of each: on a machine shared
with other work, other load only ever slows a run down.

Peak memory per task: each task resets the kernel's resident-set high-water mark
(``/proc/self/clear_refs`` <- 5) and reads ``VmHWM`` from ``/proc/self/status`` at its end
(``ru_maxrss`` is not used: it survives fork/exec and never resets). The values come from
``provenance.json``. "Bounded" means the per-task peak of the N-recording study is no larger than
that of the small study (within 10 %).

Targets: 2 workers >= 1.7x faster than 1; Dask within 1.25x of 2 local workers; the re-run under
5 % of run 2; per-task peak memory independent of study size.

The machine's 1-minute load average before each run is printed beside it: other processes on
the same cores make the parallel runs look slower than they are.

Usage::

    python scripts/bench_study.py [--n 200] [--n-small 50] [--out bench_results/bench_study.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

CHANNELS = ("L_LT", "R_LT", "L_MF", "R_MF", "L_RA", "R_RA")


def make_study(root: Path, n: int, n_distinct: int = 10, seed: int = 0) -> Path:
    """A BIDS-EMG study of ``n`` recordings (``min(n, n_distinct)`` simulated, the rest hard-linked)."""
    from paraspinal import synth

    k = min(n, n_distinct)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synth.write_study(root, n_controls=(k + 1) // 2, n_patients=k // 2, seed=seed, tasks=("frt",),
                          sfreq=2000.0, channels=CHANNELS,
                          task_options={"frt": {"protocol_options": {"n_cycles": 12}}})
    ptsv = root / "participants.tsv"
    lines = ptsv.read_text().splitlines()
    header, rows = lines[0], lines[1:]
    subs = sorted(p for p in root.glob("sub-*") if p.is_dir())
    out_rows = list(rows)
    for i in range(k, n):
        src = subs[i % k]
        label = f"sub-{i + 1:02d}"
        for f in src.rglob("*"):
            if f.is_file():
                dst = root / label / f.relative_to(src).as_posix().replace(src.name, label)
                dst.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(f, dst)
                except OSError:
                    shutil.copyfile(f, dst)
        out_rows.append(rows[i % k].replace(src.name, label, 1))
    ptsv.write_text("\n".join([header, *out_rows]) + "\n")
    return root


def run_cli(study: Path, out: Path, *extra: str) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "paraspinal.cli", "study", "run", str(study), "-o", str(out), "-q", "--no-report",
           *extra]
    load = os.getloadavg()[0]
    t = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr}")
    prov = json.loads((out / "provenance.json").read_text())
    prov["_load_before"] = round(load, 2)
    return dt, prov


def summarise(name: str, n: int, workers: str, wall: float, prov: dict) -> dict:
    recs = prov["recordings"]
    per = [r["timings_s"]["total"] for r in recs if r.get("timings_s") and not r["cached"]]
    rss = [r["peak_rss_mb"] for r in recs if r.get("peak_rss_mb") is not None and not r["cached"]]
    return {"run": name, "n": n, "workers": workers, "wall_s": round(wall, 2),
            "task_s_sum": round(sum(per), 1),
            "computed": prov["n_computed"], "cached": prov["n_cached"], "load_avg_1min_before": prov["_load_before"],
            "task_s_median": round(statistics.median(per), 3) if per else None,
            "peak_rss_mb_median": round(statistics.median(rss), 1) if rss else None,
            "peak_rss_mb_max": round(max(rss), 1) if rss else None}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="recordings in the study (default 200)")
    ap.add_argument("--n-small", type=int, default=50, help="recordings of the memory-comparison study (0: skip)")
    ap.add_argument("--workdir", default=None, help="where studies and outputs go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask run")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run 1 and 2 local workers this many times, alternating, and keep the fastest of each "
                         "(for machines shared with other work)")
    ap.add_argument("--out", default="bench_results/bench_study.json")
    args = ap.parse_args(argv)

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_study_"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    extra: dict = {}
    try:
        t = time.perf_counter()
        study = make_study(work / "study", args.n)
        extra["make_study_s"] = round(time.perf_counter() - t, 1)
        print(f"study: {args.n} recordings, 8 ch x 180 s x 2 kHz, made in {extra['make_study_s']} s ({study})",
              file=sys.stderr)

        best: dict[str, tuple[float, dict]] = {}
        for rep in range(args.repeat):  # alternate, keep the fastest of each (other load only slows runs down)
            for jobs in ("1", "2"):
                o = work / f"out_j{jobs}"
                if rep:
                    shutil.rmtree(o)
                wall, prov = run_cli(study, o, "--jobs", jobs)
                if jobs not in best or wall < best[jobs][0]:
                    best[jobs] = (wall, prov)
        rows.append(summarise("local", args.n, "1", *best["1"]))
        rows.append(summarise("local", args.n, "2", *best["2"]))
        if args.repeat > 1:  # leave run 2's output matching its best run for the re-run below
            shutil.rmtree(work / "out_j2")
            run_cli(study, work / "out_j2", "--jobs", "2")
        if not args.no_dask:
            from distributed import LocalCluster

            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
            extra["dask_cluster_start_s"] = round(time.perf_counter() - t, 2)
            try:
                walld, provd = run_cli(study, work / "out_dask", "--scheduler", cluster.scheduler_address)
            finally:
                cluster.close()
            rows.append(summarise("dask", args.n, "2", walld, provd))
        wallr, provr = run_cli(study, work / "out_j2", "--jobs", "2")
        rows.append(summarise("re-run (cached)", args.n, "2", wallr, provr))
        if args.n_small:
            small = make_study(work / "study_small", args.n_small)
            walls, provs = run_cli(small, work / "out_small", "--jobs", "2")
            rows.append(summarise("local (small)", args.n_small, "2", walls, provs))
        from paraspinal.report import write_report

        t = time.perf_counter()
        write_report(work / "out_j2", force=True)
        extra["report_all_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        write_report(work / "out_j2")
        extra["report_incremental_s"] = round(time.perf_counter() - t, 2)

        same = {}
        for name in ("features.parquet", "features.csv", "qc.parquet"):
            ref = (work / "out_j1" / name).read_bytes()
            same[name] = all((work / o / name).read_bytes() == ref for o in ("out_j2", "out_dask")
                             if (work / o / name).exists())
        by = {(r["run"], r["workers"]): r for r in rows}
        t1, t2 = by[("local", "1")]["wall_s"], by[("local", "2")]["wall_s"]
        targets = {"speedup_2_vs_1": round(t1 / t2, 2), "speedup_target": 1.7}
        if ("dask", "2") in by:
            targets.update(dask_vs_local=round(by[("dask", "2")]["wall_s"] / t2, 2), dask_target=1.25)
        targets.update(rerun_fraction=round(by[("re-run (cached)", "2")]["wall_s"] / t2, 3), rerun_target=0.05)
        if ("local (small)", "2") in by:
            big, sm = by[("local", "2")]["peak_rss_mb_max"], by[("local (small)", "2")]["peak_rss_mb_max"]
            targets.update(peak_rss_max_mb_n=big, peak_rss_max_mb_small=sm,
                           peak_rss_ratio=round(big / sm, 3) if big and sm else None, peak_rss_ratio_target=1.10)
        targets["identical_outputs"] = same

        hdr = f"{'run':<18}{'n':>5}{'workers':>9}{'wall s':>9}{'computed':>10}{'cached':>8}{'task s':>9}" \
              f"{'RSS med MB':>12}{'RSS max MB':>12}{'load':>6}"
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            print(f"{r['run']:<18}{r['n']:>5}{r['workers']:>9}{r['wall_s']:>9.1f}{r['computed']:>10}{r['cached']:>8}"
                  f"{(r['task_s_median'] or 0):>9.3f}{(r['peak_rss_mb_median'] or 0):>12.1f}"
                  f"{(r['peak_rss_mb_max'] or 0):>12.1f}{r['load_avg_1min_before']:>6.1f}")
        print()
        for k, v in {**extra, **targets}.items():
            print(f"{k:<26}{v}")
        result = {"rows": rows, "targets": targets, **extra,
                  "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                              "platform": platform.platform()}}
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {out}")
        return result
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
