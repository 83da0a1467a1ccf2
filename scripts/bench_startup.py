#!/usr/bin/env python
"""Benchmark: what starting paraspinal costs, against ``import mne`` in the same run.

Each contender runs in a fresh Python process, so that nothing is imported already:

- ``python -c pass`` (the interpreter alone, for scale);
- ``import mne`` (the reference: MNE loads its names lazily);
- ``import paraspinal``;
- ``paraspinal --help`` (the installed console script);
- ``paraspinal info FILE`` (a sample-study EDF: reading it and the quality glance);
- ``import paraspinal; ps.read(FILE)``;
- ``import mne; mne.io.read_raw_edf(FILE, preload=True)`` (what reading the EDF costs MNE alone).

The contenders are interleaved over ``--repeats`` rounds (after one unrecorded warm-up round,
which fills the file cache); each process's wall time (from start to exit) and CPU time (user +
system, from ``os.wait4``) are recorded, and the medians reported with their ratio to
``import mne``. Prints a table and writes JSON.

Targets (issue 18): ``import paraspinal`` within 1.5x ``import mne``; ``paraspinal --help``
under 0.5 s of wall time on an idle machine.

Usage::

    python scripts/bench_startup.py                    # 5 rounds
    python scripts/bench_startup.py --repeats 9 --file path/to/recording.edf
    python scripts/bench_startup.py --before ../old-checkout/src   # and the same from an older tree
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "sub-01" / "emg" / "sub-01_task-frt_emg.edf"


def cli_command() -> list[str]:
    """The ``paraspinal`` console script beside this interpreter, else the same entry point through ``-c``."""
    script = Path(sys.executable).parent / "paraspinal"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from paraspinal.cli import main; sys.exit(main())"]


def contenders(file: Path, before: Path | None = None) -> list[tuple[str, list[str], dict | None]]:
    """``(label, argv, environment)`` of every contender, in the order they run in each round.

    With ``before`` (the ``src`` folder of another checkout), the paraspinal contenders run a
    second time with that folder first on ``PYTHONPATH``, labelled ``(before)``.
    """
    py = [sys.executable, "-c"]
    runs = [
        ("python -c pass", py + ["pass"]),
        ("import mne", py + ["import mne"]),
        ("import paraspinal", py + ["import paraspinal"]),
        ("paraspinal --help", cli_command() + ["--help"]),
        ("paraspinal info FILE", cli_command() + ["info", str(file)]),
        ("import paraspinal; ps.read(FILE)", py + [f"import paraspinal as ps; ps.read({str(file)!r})"]),
        ("import mne; mne.io.read_raw_edf(FILE)",
         py + [f"import mne; mne.io.read_raw_edf({str(file)!r}, preload=True, verbose='error')"]),
    ]
    out = [(label, cmd, None) for label, cmd in runs]
    if before is not None:
        path = [str(before), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        out += [(f"{label} (before)", cmd, env) for label, cmd in runs if "paraspinal" in label]
    return out


def run_once(argv: list[str], env: dict | None = None) -> dict:
    """Wall and CPU seconds of one process running ``argv`` to its end."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{err[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}


def summarise(results: dict[str, list[dict]], reference: str) -> list[dict]:
    """Median wall and CPU time of each contender and their ratios to ``reference``."""
    med = {k: {m: statistics.median(r[m] for r in runs) for m in ("wall_s", "cpu_s")} for k, runs in results.items()}
    ref = med[reference]
    return [{"contender": k, "wall_s": v["wall_s"], "cpu_s": v["cpu_s"],
             "wall_ratio": v["wall_s"] / ref["wall_s"], "cpu_ratio": v["cpu_s"] / ref["cpu_s"]}
            for k, v in med.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="rounds (each contender once per round)")
    ap.add_argument("--file", type=Path, default=SAMPLE, help="recording for `info` and `ps.read` (an EDF)")
    ap.add_argument("--out", type=Path, default=Path("bench_results/bench_startup.json"))
    ap.add_argument("--before", type=Path, default=None, metavar="SRC",
                    help="also run the paraspinal contenders from this src folder of an older checkout")
    args = ap.parse_args(argv)
    if not args.file.is_file():
        ap.error(f"{args.file} is not a file (give --file)")

    if args.before is not None and not (args.before / "paraspinal" / "__init__.py").is_file():
        ap.error(f"--before {args.before}: no paraspinal package in it")
    runs = contenders(args.file.resolve(), args.before.resolve() if args.before else None)
    results: dict[str, list[dict]] = {label: [] for label, _, _ in runs}
    for _, cmd, env in runs:  # warm-up round: file cache, .pyc files; not recorded
        run_once(cmd, env)
    for r in range(args.repeats):
        for label, cmd, env in runs:
            res = run_once(cmd, env)
            results[label].append(res)
            print(f"  round {r + 1}: {label:<47} wall {res['wall_s']:6.3f} s  cpu {res['cpu_s']:6.3f} s", flush=True)
    rows = summarise(results, "import mne")

    print()
    print(f"fresh process each; median of {args.repeats} interleaved rounds; file {args.file.name}")
    print(f"{'contender':<47} {'wall (s)':>9} {'cpu (s)':>8} {'wall/mne':>9} {'cpu/mne':>8}")
    for row in rows:
        print(f"{row['contender']:<47} {row['wall_s']:9.3f} {row['cpu_s']:8.3f} "
              f"{row['wall_ratio']:9.2f} {row['cpu_ratio']:8.2f}")
    by = {row["contender"]: row for row in rows}
    imp, helps = by["import paraspinal"], by["paraspinal --help"]
    read, mne_read = by["import paraspinal; ps.read(FILE)"], by["import mne; mne.io.read_raw_edf(FILE)"]
    print(f"import paraspinal / import mne: cpu {imp['cpu_ratio']:.2f}, wall {imp['wall_ratio']:.2f} (target <= 1.5); "
          f"paraspinal --help: {helps['wall_s']:.3f} s wall (target < 0.5 s on an idle machine); "
          f"ps.read / MNE's read, both from a fresh process: cpu {read['cpu_s'] / mne_read['cpu_s']:.2f}")
    doc = {
        "benchmark": "bench_startup",
        "params": {"repeats": args.repeats, "file": str(args.file), "out": str(args.out),
                   "before": str(args.before) if args.before else None},
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "commands": {label: cmd for label, cmd, _ in runs},
        "rows": rows,
        "raw": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    print(f"JSON written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
