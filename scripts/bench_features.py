"""Benchmark: phases + all features vs the default preprocessing chain on the same data.

Synthetic flexion-relaxation cycles (paraspinal.synth.simulate_array), 16 EMG channels at
2 kHz, default 60 minutes. Measured in the same run:

* ``preprocess``: :func:`paraspinal.pipeline.preprocess` with the default pipeline;
* ``phases``: :func:`paraspinal.phases.from_angle` on the trunk-angle channel;
* ``features``: :func:`paraspinal.features.compute` (every feature);
* ``whole chain``: what a study does with one file — :func:`paraspinal.read` of the same
  recording written as EDF (written before the timing), the default conditioning, phases from
  the angle and every feature;
* ``NeuroKit2``: ``emg_clean`` + ``emg_amplitude`` per EMG channel of the same signals (uV),
  which conditions and makes an envelope but computes no feature. Skipped, with a message,
  when neurokit2 is not installed (it is not a dependency of paraspinal:
  ``pip install neurokit2`` to include it).

Ratios: features / preprocess (target <= 1), whole chain / NeuroKit2 (target <= 0.5). Every
contender is warmed up first on 30 s of the same recording (imports, first-call costs), and
3-4x the input is touched and freed before each timing (first-touch page faults cost up to
~3 s per GB on some virtual machines, where memory freed for half a second goes back to the
host, and would otherwise land on whichever step runs first). ``preprocess`` and ``features``
are timed ``--repeat`` times (default 3), interleaved, and their medians compared (both
print every run).

Memory is the tracemalloc peak of the Python allocations made during a second, untimed
feature call (NumPy arrays are traced; tracemalloc slows allocation, so time and memory
are measured on separate calls), compared with the size of the EMG input array
(n_channels x n_samples x 8 bytes).

Usage::

    python scripts/bench_features.py                 # 60 min (heavy: ~5 GB RAM)
    python scripts/bench_features.py --minutes 15
    python scripts/bench_features.py --minutes 5 --skip neurokit2 chain   # quick
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

CHANNELS = ("L_LT", "R_LT", "L_IL", "R_IL", "L_MF", "R_MF", "L_ES", "R_ES", "L_QL", "R_QL",
            "L_RA", "R_RA", "L_EO", "R_EO", "L_IO", "R_IO")


def neurokit(x: np.ndarray, sfreq: float) -> list:
    """NeuroKit2's conditioning and envelope, one channel at a time (its API takes one signal)."""
    import neurokit2 as nk

    return [nk.emg_amplitude(nk.emg_clean(row, sampling_rate=int(sfreq))) for row in x]


def whole_chain(path: Path) -> int:
    """Read -> default conditioning -> phases from the angle -> every feature (rows returned)."""
    import paraspinal as ps
    from paraspinal import features, phases

    rec = ps.read(path)
    proc = ps.preprocess(rec)
    del rec
    proc = phases.set_phases(proc, phases.from_angle(proc))
    return len(features.compute(proc))


def prefault(nbytes: int) -> None:
    """Touch and free memory once so that no contender pays the first-touch cost of the others."""
    buf = np.ones(nbytes // 8)
    del buf
    gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sfreq", type=float, default=2000.0)
    ap.add_argument("--out", default="bench_results/bench_features.json")
    ap.add_argument("--skip", nargs="*", default=[], help="contenders to skip (neurokit2, chain)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="timings of preprocess and of features, interleaved; their medians are compared")
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
    tmp = tempfile.TemporaryDirectory(prefix="bench_features_")
    edf = Path(tmp.name) / "recording.edf"
    nk_ok = "neurokit2" not in args.skip
    if nk_ok:
        try:
            import neurokit2  # noqa: F401
        except ImportError:
            nk_ok = False
            print("NeuroKit2 is not installed: its contender is skipped (pip install neurokit2 to include it)")
    emg_uv = rec.emg(unit="uV") if nk_ok else None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "chain" not in args.skip:
            rec.save(edf)  # untimed; the chain reads it back
        # warm up imports and first-call costs on 30 s of the same data, so that no step pays them
        warm = Path(tmp.name) / "warm.edf"
        rec.crop(0.0, min(30.0, rec.duration)).save(warm)
        whole_chain(warm)
        if nk_ok:
            neurokit(emg_uv[:, : int(30 * args.sfreq)], args.sfreq)
        proc = preprocess(rec)  # untimed: the conditioned recording the features read
        t0 = time.perf_counter()
        ph = phases.from_angle(proc)
        proc = phases.set_phases(proc, ph)
        t_ph = time.perf_counter() - t0
        pre_runs, feat_runs = [], []
        for _ in range(args.repeat):  # interleaved: conditioning, features, conditioning, ...
            prefault(3 * input_bytes)
            t0 = time.perf_counter()
            out = preprocess(rec)
            pre_runs.append(time.perf_counter() - t0)
            del out
            prefault(3 * input_bytes)
            t0 = time.perf_counter()
            table = features.compute(proc)
            feat_runs.append(time.perf_counter() - t0)
            del table
        del rec
        t_pre, t_feat = float(np.median(pre_runs)), float(np.median(feat_runs))
        tracemalloc.start()  # a second, untimed call: tracemalloc slows allocations down
        table = features.compute(proc)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        n_rows, n_samples = len(table), proc.n_samples
        del table, proc
        t_chain = t_nk = None
        if "chain" not in args.skip:
            prefault(4 * input_bytes)  # the chain holds the read signals and the conditioned copy
            t0 = time.perf_counter()
            whole_chain(edf)
            t_chain = time.perf_counter() - t0
        if nk_ok:
            prefault(3 * input_bytes)
            t0 = time.perf_counter()
            neurokit(emg_uv, args.sfreq)
            t_nk = time.perf_counter() - t0
            del emg_uv
    tmp.cleanup()

    res = {
        "minutes": args.minutes, "sfreq": args.sfreq, "n_emg_channels": n_emg, "n_samples": n_samples,
        "n_phases": len(ph), "n_rows": n_rows, "simulate_s": t_sim, "repeat": args.repeat,
        "preprocess_runs_s": [round(t, 4) for t in pre_runs], "features_runs_s": [round(t, 4) for t in feat_runs],
        "preprocess_s": t_pre, "phases_s": t_ph, "features_s": t_feat, "phases_plus_features_s": t_ph + t_feat,
        "features_over_preprocess": t_feat / t_pre, "target_features_over_preprocess": 1.0,
        "ratio_to_preprocess": (t_ph + t_feat) / t_pre,
        "whole_chain_s": t_chain, "neurokit2_clean_amplitude_s": t_nk,
        "chain_over_neurokit2": t_chain / t_nk if t_chain and t_nk else None, "target_chain_over_neurokit2": 0.5,
        "input_array_MB": input_bytes / 1e6, "features_tracemalloc_peak_MB": peak / 1e6,
        "memory_ratio": peak / input_bytes, "target_memory_ratio": 1.5,
        "memory_measure": "tracemalloc peak during features.compute (NumPy allocations traced)",
        "cpu_count": os.cpu_count(),
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
