"""Validate the default conditioning on flexion-relaxation cohorts it was not built around.

The cohorts come from ``scripts/_independent_generator.py`` (written for this script alone,
independent of ``paraspinal.synth``: ARMA spectra, logistic/ramp/bell envelopes, drifting
50/60 Hz mains with harmonics, ECG with per-channel shape and gain, RR variability and
ectopic beats, baseline wander, 1 uV amplifier noise). Every recording goes through the
default pipeline (``ps.preprocess`` with no option: mains ``"auto"``, ECG found from the EMG)
and ``ps.features.compute`` with the generator's true phases (with cycle numbers), so phase
detection is not what is measured. The oracle is the same statistic on the clean signal
(EMG + amplifier noise, band-passed only).

Reported per cohort: ERR and FRR error (mean and max statistic, pooled over cycles) against
the clean signal, FRP decision (``frp_present``) agreement, R-peaks found / false (within
50 ms of a true R-peak), mains detections (right, missed, false), ECG decisions, and the
residual-artefact flag of ``paraspinal.preprocessing.residual_artefact``.

Usage::

    python scripts/validate_conditioning.py --subjects 8 --out bench_results/validate_conditioning.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _independent_generator as gen  # noqa: E402

import paraspinal as ps  # noqa: E402

#: name -> (group draws, QRS range uV, hum range uV, sampling rate)
COHORTS = {
    "target": ((0.0, 60.0), (0.0, 5.0), 2048.0),
    "strong_ecg": ((60.0, 100.0), (0.0, 5.0), 2048.0),
    "hum_free": ((0.0, 100.0), (0.0, 0.0), 2048.0),
    "ecg_free": ((0.0, 0.0), (0.0, 5.0), 2048.0),
    "target_1khz": ((0.0, 60.0), (0.0, 5.0), 1000.0),
}
TOL_BEAT_S = 0.05


def _ratios(rec, phases, statistic):
    df = ps.features.compute(rec, phases=phases, features=["err", "frr", "frp_present"], statistic=statistic)
    df = df[df.cycle.isna()]
    return df.pivot_table(index="channel", columns="feature", values="value")


def _beats(found, inferred, true, fs):
    """Beats found within 50 ms of a true R-peak, false ones (all, and among those found with
    evidence rather than inferred from the rhythm)."""
    found = np.asarray(found, dtype=np.int64)
    true = np.asarray(true, dtype=np.int64)
    inf = np.isin(found, np.asarray(inferred, dtype=np.int64))
    out = {"true": int(len(true)), "found": int(len(found)), "inferred": int(inf.sum())}
    if not len(true) or not len(found):
        return {**out, "hit": 0, "false": int(len(found)), "false_evidence": int((~inf).sum())}
    tol = TOL_BEAT_S * fs
    hit = np.abs(true[:, None] - found[None, :]).min(axis=1) <= tol
    false = np.abs(found[:, None] - true[None, :]).min(axis=1) > tol
    return {**out, "hit": int(hit.sum()), "false": int(false.sum()), "false_evidence": int((false & ~inf).sum())}


def _step(rec, name):
    return next((s["result"] for s in rec.meta.get("processing", []) if s["step"] == name), {})


def run_subject(seed, group, qrs, hum, fs, mains):
    s = gen.make_subject(seed, group, fs=fs, qrs_uv=qrs, hum_uv=hum, mains=mains)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        proc = ps.preprocess(s.raw)
        dt = time.perf_counter() - t0
        ref = ps.preprocess(s.clean, {"steps": [{"name": "bandpass"}]})
        rows = []
        for stat in ("mean", "max"):
            a, b = _ratios(proc, s.phases, stat), _ratios(ref, s.phases, stat)
            for ch in a.index:
                for feat in ("err", "frr"):
                    rows.append({"channel": ch, "statistic": stat, "feature": feat, "value": a.at[ch, feat],
                                 "clean": b.at[ch, feat], "error": a.at[ch, feat] / b.at[ch, feat] - 1})
                if stat == "mean":
                    rows.append({"channel": ch, "statistic": stat, "feature": "frp_present",
                                 "value": a.at[ch, "frp_present"], "clean": b.at[ch, "frp_present"],
                                 "error": float(a.at[ch, "frp_present"] != b.at[ch, "frp_present"])})
        _, summ = ps.preprocessing.residual_artefact(proc, s.phases)
        flags = summ.set_index("channel")["flag"].astype(bool).to_dict()
        ratio = summ.set_index("channel")["artefact_to_emg"].to_dict()
    pl, ec = _step(proc, "powerline"), _step(proc, "ecg")
    return {"seed": seed, "group": group, "qrs_uv": qrs, "hum_uv": hum, "mains": s.info["mains"], "fs": fs,
            "n_ectopic": s.info["n_ectopic"], "seconds": dt, "mains_found": pl.get("frequency"),
            "mains_channels": pl.get("detected"), "ecg_present": bool(ec.get("ecg_present")),
            "ecg_reason": ec.get("reason"), "ecg_channels": ec.get("ecg_channels"),
            "beats": _beats(ec.get("rpeaks", []), ec.get("inferred", []), s.rpeaks, fs),
            "ratios": rows, "flags": flags, "artefact_to_emg": ratio}


def run_cohort(name, n, seed0=0):
    (q0, q1), (h0, h1), fs = COHORTS[name]
    out = []
    for group in ("control", "patient"):
        for i in range(n):
            seed = seed0 + 1000 * (group == "patient") + 37 * i + sum(map(ord, name)) % 997
            rng = np.random.default_rng(seed)
            # spread the levels evenly over the range (first and last subject at its ends)
            u = i / max(n - 1, 1)
            qrs = q0 + (q1 - q0) * u
            hum = h0 + (h1 - h0) * ((i * 0.618) % 1.0 if n > 2 else u)
            mains = 50.0 if rng.random() < 0.5 else 60.0
            out.append(run_subject(seed, group, qrs, hum, fs, mains))
    return out


def summarise(name, subjects):
    r = pd.DataFrame([dict(row, seed=s["seed"], group=s["group"], qrs_uv=s["qrs_uv"], hum_uv=s["hum_uv"])
                      for s in subjects for row in s["ratios"]])
    out = {"cohort": name, "subjects": len(subjects)}
    for g in ("control", "patient"):
        for stat in ("mean", "max"):
            for feat in ("err", "frr"):
                e = r[(r.group == g) & (r.statistic == stat) & (r.feature == feat)]["error"].abs()
                out[f"{g}_{feat}_{stat}_median_abs_err"] = float(e.median())
                out[f"{g}_{feat}_{stat}_max_abs_err"] = float(e.max())
                out[f"{g}_{feat}_{stat}_within_15pct"] = float((e <= 0.15).mean())
        fp = r[(r.group == g) & (r.feature == "frp_present")]
        out[f"{g}_frp_agreement"] = float(1 - fp["error"].mean())
    b = [s["beats"] for s in subjects]
    n_true, n_found = sum(x["true"] for x in b), sum(x["found"] for x in b)
    out["beats_true"] = int(n_true)
    out["beats_found_pct"] = 100.0 * sum(x["hit"] for x in b) / n_true if n_true else None
    out["beats_false_pct"] = 100.0 * sum(x["false"] for x in b) / n_found if n_found else None
    out["beats_false_evidence_pct"] = (100.0 * sum(x["false_evidence"] for x in b) / n_found if n_found else None)
    out["beats_inferred_pct"] = 100.0 * sum(x["inferred"] for x in b) / n_found if n_found else None
    q = [(s["qrs_uv"], s["group"], x) for s, x in zip(subjects, b) if x["true"]]
    for g in ("control", "patient"):
        for lo, hi in ((0.0, 20.0), (20.0, 60.0), (60.0, 101.0)):
            sel = [x for v, gg, x in q if lo <= v < hi and gg == g]
            t = sum(x["true"] for x in sel)
            out[f"{g}_beats_found_pct_qrs_{lo:g}_{min(hi, 100):g}"] = (100.0 * sum(x["hit"] for x in sel) / t
                                                                       if t else None)
    with_ecg = [s for s in subjects if s["qrs_uv"] > 0]
    out["ecg_missed"] = int(sum(not s["ecg_present"] for s in with_ecg))
    out["ecg_false"] = int(sum(bool(s["ecg_present"]) for s in subjects if s["qrs_uv"] == 0))
    out["mains_right"] = int(sum(s["mains_found"] == s["mains"] for s in subjects if s["mains"]))
    out["mains_missed"] = int(sum(s["mains_found"] is None for s in subjects if s["mains"]))
    out["mains_wrong"] = int(sum(s["mains_found"] not in (None, s["mains"]) for s in subjects if s["mains"]))
    out["mains_false"] = int(sum(s["mains_found"] is not None for s in subjects if not s["mains"]))
    out["channels"] = int(sum(len(s["flags"]) for s in subjects))
    out["flagged_channels"] = int(sum(sum(s["flags"].values()) for s in subjects))
    err = r[(r.feature == "err") & (r.statistic == "mean")].set_index(["seed", "group", "channel"])["error"].abs()
    big = {k for k, v in err.items() if v > 0.15}
    flagged = {(s["seed"], s["group"], ch) for s in subjects for ch, f in s["flags"].items() if f}
    out["err_over_15pct_not_flagged"] = int(len(big - flagged))
    out["flagged_err_within_5pct"] = int(sum(1 for k in flagged if err.get(k, 1.0) <= 0.05))
    out["max_artefact_to_emg"] = float(max(max(s["artefact_to_emg"].values()) for s in subjects))
    out["seconds_per_recording"] = float(np.mean([s["seconds"] for s in subjects]))
    return out, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subjects", type=int, default=8, help="subjects per group and cohort")
    ap.add_argument("--cohorts", nargs="*", default=list(COHORTS))
    ap.add_argument("--out", default="bench_results/validate_conditioning.json")
    ap.add_argument("--worst", type=int, default=5, help="print the worst channels per cohort")
    args = ap.parse_args()
    summaries, details = [], {}
    for name in args.cohorts:
        subj = run_cohort(name, args.subjects)
        summ, r = summarise(name, subj)
        summaries.append(summ)
        details[name] = subj
        worst = r[r.feature == "err"].assign(abs_error=lambda d: d.error.abs()).nlargest(args.worst, "abs_error")
        print(f"\n== {name}: worst ERR channels", flush=True)
        print(worst[["group", "seed", "qrs_uv", "hum_uv", "channel", "statistic", "clean", "value", "error"]]
              .to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    tab = pd.DataFrame(summaries).set_index("cohort").T
    print("\n" + tab.to_string(float_format=lambda v: f"{v:.3g}"))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"summaries": summaries, "subjects": details, "paraspinal": ps.__version__,
                   "tolerance_beat_s": TOL_BEAT_S}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
