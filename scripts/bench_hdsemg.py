"""Benchmark: HD-sEMG processing of two 64-electrode grids, step by step and through the whole chain.

A synthetic bilateral recording (``paraspinal.hdsemg.simulate_grid``: two GR08MM1305 13 x 5
grids, 2048 Hz, default 5 minutes, a moving activity blob, four bad electrodes per grid) is
written as an OTBiolab+ MATLAB export (``Data``, ``Description``, ``SamplingFrequency``,
float32 as OTBiolab+ writes it) and then processed as a lab would.

Step by step (the HD-sEMG functions):

1. ``read``: ``ps.read`` (content sniffing picks the OTBiolab+ reader), which also checks the
   grids' bad electrodes on the signals as read (``hdsemg.mark_bad``, kept in ``rec.meta``);
2. ``condition``: ``ps.preprocess`` with the given pipeline (default: band-pass 20-450 Hz and
   mains interpolation, ``--pipeline default`` adds ECG template subtraction);
3. ``montage``: ``ps.hdsemg.single_differential`` along the columns;
4. ``maps``: ``ps.hdsemg.map_features`` (1-s windows, bad electrodes interpolated) and
   ``ps.hdsemg.map_series``.

The whole chain (issue 17's target, under 20 s here), the steps of ``ps.analyze`` on the file
with the Sorensen-hold phase: ``read`` (with the bad-electrode check), ``preprocess`` with the
default pipeline (band-pass, powerline, ECG template subtraction), and the feature table with
every family (per electrode: amplitude, spectral, fatigue...; per grid: the ``hdsemg``
family). ``hdsemg family`` is that family alone on the conditioned recording
(``ps.features.compute(features=["hdsemg"])``), for its share.

Times are wall-clock seconds of one run; the machine is shared, so compare ratios within a run.

Usage::

    python scripts/bench_hdsemg.py                  # 5 minutes, 2 x 64 channels
    python scripts/bench_hdsemg.py --minutes 1 --pipeline default
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io

PIPELINES = {
    "filter": {"name": "hdsemg-filter", "steps": [{"name": "bandpass", "low": 20.0, "high": 450.0, "order": 4},
                                                   {"name": "powerline", "freq": "auto", "method": "interpolation"}]},
    "default": None,
}


def write_otb(path: Path, rec) -> None:
    """An OTBiolab+-style MATLAB export of a grid recording (float32 uV, labels with the grid model)."""
    t = rec.channels
    labels = [f"{'Left' if g.startswith('L') else 'Right'} erector spinae - MULTIPLE IN {1 + i // 64} "
              f"(Channel {1 + 64 * (i // 64)}->{64 * (1 + i // 64)}) - GR08MM1305 ({int(n.split('_')[-1])})[uV]"
              for i, (g, n) in enumerate(zip(t["grid"], t["name"]))]
    desc = np.empty((len(labels), 1), dtype=object)
    for i, lab in enumerate(labels):
        desc[i, 0] = np.array([lab])
    data = np.empty((1, 1), dtype=object)
    data[0, 0] = rec.get_data(unit="uV").T.astype(np.float32)
    scipy.io.savemat(path, {"Data": data, "Description": desc,
                            "SamplingFrequency": np.array([[rec.sfreq]]), "Time": np.zeros((1, 1))})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--sfreq", type=float, default=2048.0)
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), default="filter")
    ap.add_argument("--out", default="bench_results/bench_hdsemg.json")
    args = ap.parse_args()

    import paraspinal as ps

    t0 = time.perf_counter()
    sim = ps.hdsemg.simulate_grid(args.minutes * 60, args.sfreq, grids=("L_ES", "R_ES"), shift=(0.0, 12.0),
                                  bad={"dead": [7], "saturated": [30], "noisy": [45], "line": [12]}, seed=0)
    t_sim = time.perf_counter() - t0
    times: dict[str, float] = {}
    chain: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bilateral_otb.mat"
        t0 = time.perf_counter()
        write_otb(path, sim.recording)
        t_write = time.perf_counter() - t0
        del sim
        phases = pd.DataFrame({"onset": [0.0], "duration": [args.minutes * 60], "phase": ["sorensen_hold"]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            rec = ps.read(path)
            times["read"] = time.perf_counter() - t0
            bad = ps.hdsemg.recorded_bad(rec)
            t0 = time.perf_counter()
            pre = ps.preprocess(rec, PIPELINES[args.pipeline])
            times["condition"] = time.perf_counter() - t0
            del rec
            t0 = time.perf_counter()
            sd = ps.hdsemg.single_differential(pre)
            times["montage"] = time.perf_counter() - t0
            del pre
            t0 = time.perf_counter()
            table = ps.hdsemg.map_features(sd, window_s=1.0)
            series = ps.hdsemg.map_series(sd, window_s=1.0)
            times["maps"] = time.perf_counter() - t0
            del sd
            # what ps.analyze(path, phases=phases) does, step by step
            t0 = time.perf_counter()
            rec = ps.read(path)
            chain["read + check"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            proc = ps.phases.set_phases(ps.preprocess(rec), ps.phases.validate(phases))
            chain["preprocess"] = time.perf_counter() - t0
            del rec
            t0 = time.perf_counter()
            whole = ps.features.compute(proc)
            chain["feature table"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            fam = ps.features.compute(proc, features=["hdsemg"])
            family_s = time.perf_counter() - t0
    total = sum(times.values())
    n_ch = 128
    print(f"HD-sEMG: 2 x 64 channels, {args.minutes:g} min at {args.sfreq:g} Hz")
    print(f"(setup, not counted: simulate {t_sim:.1f} s, write the OTBiolab+ file {t_write:.1f} s)")
    print(f"step by step, pipeline {args.pipeline!r}")
    print(f"{'step':16s} {'seconds':>8s}")
    for k, v in times.items():
        print(f"{k:16s} {v:8.2f}")
    print(f"{'total':16s} {total:8.2f}")
    print("whole chain (= ps.analyze): default pipeline, every feature family")
    for k, v in chain.items():
        print(f"{k:16s} {v:8.2f}")
    print(f"{'total':16s} {sum(chain.values()):8.2f}   (target < 20 s)")
    print(f"{'hdsemg family':16s} {family_s:8.2f}   (alone; part of the feature table)")
    print(f"bad electrodes flagged on reading: {len(bad)} (8 made bad); map rows {len(table)}, window rows "
          f"{len(series)}; whole table {len(whole)} rows, of which {len(fam)} from the hdsemg family")
    res = {"minutes": args.minutes, "sfreq": args.sfreq, "channels": n_ch, "pipeline": args.pipeline,
           "seconds": times, "total_s": total, "chain_s": chain,
           "chain_total_s": sum(chain.values()), "family_s": family_s, "simulate_s": t_sim, "write_s": t_write,
           "bad_flagged": len(bad), "feature_rows": len(table), "window_rows": len(series),
           "table_rows": len(whole), "family_rows": len(fam)}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"written {out}")


if __name__ == "__main__":
    main()
