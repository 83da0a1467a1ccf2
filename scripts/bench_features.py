"""Benchmark: phases + all features vs the default preprocessing chain on the same data.

Synthetic flexion-relaxation cycles (paraspinal.synth.simulate_array), 16 EMG channels at
2 kHz, default 60 minutes. Measured in the same run:

* ``preprocess``: :func:`paraspinal.pipeline.preprocess` with the default pipeline;
* ``phases``: :func:`paraspinal.phases.from_angle` on the trunk-angle channel;
* ``features``: :func:`paraspinal.features.compute` (every feature).

Memory is the tracemalloc peak of the Python allocations made during a second, untimed
feature call (NumPy arrays are traced; tracemalloc slows allocation, so time and memory
are measured on separate calls), compared with the size of the EMG input array
(n_channels x n_samples x 8 bytes).

Usage::

    python scripts/bench_features.py                 # 60 min (heavy: ~4 GB RAM)
    python scripts/bench_features.py --minutes 5     # quick
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

CHANNELS = ("L_LT", "R_LT", "L_IL", "R_IL", "L_MF", "R_MF", "L_ES", "R_ES", "L_QL", "R_QL",
            "L_RA", "R_RA", "L_EO", "R_EO", "L_IO", "R_IO")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sfreq", type=float, default=2000.0)
    ap.add_argument("--out", default="bench_results/bench_features.json")
    args = ap.parse_args()

    from paraspinal import Recording, features, phases, synth
    from paraspinal.pipeline import preprocess

    n_cycles = max(1, int(round(args.minutes * 60 / 15)))
    t0 = time.perf_counter()
    data, rows, units, truth = synth.simulate_array("frt", "patient", sfreq=args.sfreq, channels=CHANNELS, seed=0,
                                                    protocol_options={"n_cycles": n_cycles}, ecg_lead=False)
    data *= np.array([1e-6 if u == "uV" else 1.0 for u in units])[:, None]
    rec = Recording.from_array(data, args.sfreq, rows, units=["V" if u == "uV" else u for u in units])
    del data
    t_sim = time.perf_counter() - t0
    n_emg = len(rec.emg_names)
    input_bytes = n_emg * rec.n_samples * 8

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        proc = preprocess(rec)
        t_pre = time.perf_counter() - t0
        del rec
        t0 = time.perf_counter()
        ph = phases.from_angle(proc)
        proc = phases.set_phases(proc, ph)
        t_ph = time.perf_counter() - t0
        t0 = time.perf_counter()
        table = features.compute(proc)
        t_feat = time.perf_counter() - t0
        del table
        tracemalloc.start()  # a second, untimed call: tracemalloc slows allocations down
        table = features.compute(proc)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    res = {
        "minutes": args.minutes, "sfreq": args.sfreq, "n_emg_channels": n_emg, "n_samples": proc.n_samples,
        "n_phases": len(ph), "n_rows": len(table), "simulate_s": t_sim, "preprocess_s": t_pre, "phases_s": t_ph,
        "features_s": t_feat, "phases_plus_features_s": t_ph + t_feat,
        "ratio_to_preprocess": (t_ph + t_feat) / t_pre, "target_ratio": 2.0,
        "input_array_MB": input_bytes / 1e6, "features_tracemalloc_peak_MB": peak / 1e6,
        "memory_ratio": peak / input_bytes, "target_memory_ratio": 1.5,
        "memory_measure": "tracemalloc peak during features.compute (NumPy allocations traced)",
    }
    print(f"{'quantity':32s} value")
    for k, v in res.items():
        print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
