"""Flexion-relaxation family: FRR, ERR, FER, the standing and half-flexion ratios, FRP present,
and the trunk angles at which the extensors fall silent and resume (METHODS.md §1).

Per cycle and pooled over the cycles (the mean of the per-cycle numerators over the mean of
the per-cycle denominators), for the extensor channels, on the envelope trimmed by ``trim``
s at both ends of each phase. The angle features need a ``TRUNK_ANGLE`` channel.
"""

from __future__ import annotations

import numpy as np

from ... import phases as _ph
from .. import trunk as _tr
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("frr", "flexion-relaxation", "flexion relaxation ratio", "S(E_FLX)/mean(E_FF)", "1",
            "statistic=max, trim=0.5 s", "Gouteron et al. 2022 (name); Alschuler et al. 2009 (max/mean)"),
    Feature("err", "flexion-relaxation", "extension relaxation ratio", "S(E_EXT)/mean(E_FF)", "1",
            "statistic=max, trim=0.5 s", "Gouteron et al. 2022; Alschuler et al. 2009"),
    Feature("fer", "flexion-relaxation", "flexion-extension ratio (high = abnormal)", "S(E_FLX)/S(E_EXT)", "1",
            "statistic=max", "FER study (130 CNSLBP vs 130 controls), METHODS 1.5"),
    Feature("std_ff_ratio", "flexion-relaxation", "standing / full-flexion ratio", "mean(E_STD)/mean(E_FF)", "1",
            "trim=0.5 s", "Alschuler et al. 2009"),
    Feature("half_flexion_ratio", "flexion-relaxation", "envelope at half flexion over full flexion",
            "E(angle = 50 % of excursion)/mean(E_FF)", "1", "half-way in time without an angle",
            "Kienbacher et al. 2016"),
    Feature("frp_present", "flexion-relaxation", "flexion-relaxation present (1) or absent (0)",
            "ERR_frp_statistic >= frp_threshold", "1", "frp_statistic=mean, frp_threshold=4.0",
            "toolkit criterion; threshold near Gouteron et al. 2022 pooled NSCLBP ERR 4.07"),
    Feature("frp_onset_angle", "flexion-relaxation", "trunk angle at EMG-off (FRP onset)",
            "angle at first envelope run below thr for >= t_min in FLX/FF", "deg",
            "frp_angle_threshold=peak, frp_angle_p=25 %, frp_t_min=0.25 s",
            "Jin, Ning & Mirka 2012; Kippers & Parker 1984"),
    Feature("frp_cessation_angle", "flexion-relaxation", "trunk angle at EMG-on (FRP cessation)",
            "angle at first envelope run above thr for >= t_min after EMG-off", "deg", "as frp_onset_angle",
            "Jin, Ning & Mirka 2012"),
)

_FRP = ("frr", "err", "fer", "std_ff_ratio", "half_flexion_ratio", "frp_present")
_ANG = ("frp_onset_angle", "frp_cessation_angle")


def rows(ctx: Context) -> Rows:
    """The ratio rows, then the angle rows (when the recording has a trunk angle)."""
    out = ctx.new_rows()
    ext_rows = ctx.ext_rows
    cycles = sorted({c for (p, c) in ctx.gkeys if c is not None and p == "full_flexion"})
    if ext_rows and cycles and ctx.want & set(_FRP):
        _ratio_rows(ctx, out, ext_rows, cycles)
    if ext_rows and cycles and ctx.angle is not None and ctx.want & set(_ANG):
        _angle_rows(ctx, out, ext_rows)
    return out


def _half_flexion(ctx: Context, gi: dict, ext_rows: list[int]) -> np.ndarray:
    """Envelope of the extensors where the angle crosses half the cycle's excursion during
    flexion (the middle of the flexion phase without an angle)."""
    env, angle, env_idx = ctx.env, ctx.angle, ctx.env_idx
    if angle is not None:
        fl_full = env_idx(gi["flexion"])
        a0 = angle[fl_full[0]]
        amax = angle[env_idx(gi["full_flexion"])].mean()
        hit = np.flatnonzero(angle[fl_full] >= a0 + 0.5 * (amax - a0))
        hidx = fl_full[hit[0]] if hit.size else fl_full[fl_full.size // 2]
    else:
        fl_full = env_idx(gi["flexion"])
        hidx = fl_full[fl_full.size // 2]
    return env[ext_rows, hidx]


def _ratio_rows(ctx: Context, out: Rows, ext_rows: list[int], cycles: list[int]) -> None:
    env, env_idx, o = ctx.env, ctx.env_idx, ctx.options
    names, muscles, sides = ctx.names, ctx.muscles, ctx.sides
    trim, statistic, frp_statistic, frp_threshold = o["trim"], o["statistic"], o["frp_statistic"], o["frp_threshold"]
    add = out.add
    per: dict[str, list[np.ndarray]] = {}
    for c in cycles:
        gi = {p: ctx.groups.get((p, c)) for p in ("flexion", "full_flexion", "extension", "standing")}
        if not (gi["flexion"] and gi["full_flexion"] and gi["extension"]):
            continue
        fl_i = env_idx(gi["flexion"], trim)
        half = _half_flexion(ctx, gi, ext_rows)
        r = _tr.frp_ratios(env[np.ix_(ext_rows, fl_i)], env[np.ix_(ext_rows, env_idx(gi["full_flexion"], trim))],
                           env[np.ix_(ext_rows, env_idx(gi["extension"], trim))],
                           env[np.ix_(ext_rows, env_idx(gi["standing"], trim))] if gi["standing"] else None,
                           half, statistic=statistic)
        rf = r if frp_statistic == statistic else _tr.frp_ratios(
            env[np.ix_(ext_rows, fl_i)], env[np.ix_(ext_rows, env_idx(gi["full_flexion"], trim))],
            env[np.ix_(ext_rows, env_idx(gi["extension"], trim))], statistic=frp_statistic)
        r["frp_present"] = (rf["err"] >= frp_threshold).astype(float)
        r["_frp_num"] = rf["num_ext"]
        for k2, v in r.items():
            per.setdefault(k2, []).append(v)
        for j, k in enumerate(ext_rows):
            for feat in _FRP:
                if feat in r:
                    add(names[k], muscles[k], sides[k], "full_flexion", c, feat, r[feat][j], "1")
    if per:
        mean = {k2: np.mean(v, axis=0) for k2, v in per.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            agg = {"frr": mean["num_flx"] / mean["ff_mean"], "err": mean["num_ext"] / mean["ff_mean"],
                   "fer": mean["num_flx"] / mean["num_ext"],
                   "frp_present": (mean["_frp_num"] / mean["ff_mean"] >= frp_threshold).astype(float)}
            if "std_mean" in mean and len(per["std_mean"]) == len(per["ff_mean"]):
                agg["std_ff_ratio"] = mean["std_mean"] / mean["ff_mean"]
            if "half" in mean:
                agg["half_flexion_ratio"] = mean["half"] / mean["ff_mean"]
        for j, k in enumerate(ext_rows):
            for feat in _FRP:
                if feat in agg:
                    add(names[k], muscles[k], sides[k], "full_flexion", None, feat, agg[feat][j], "1")


def _angle_rows(ctx: Context, out: Rows, ext_rows: list[int]) -> None:
    o, ph, fs = ctx.options, ctx.ph, ctx.fs
    names, muscles, sides = ctx.names, ctx.muscles, ctx.sides
    add = out.add
    res = _ph.frp_angles(ctx.env[ext_rows], ctx.angle, ctx.fs_env,
                         ph.assign(onset=ph["_a"] / fs, duration=(ph["_b"] - ph["_a"]) / fs),
                         threshold=o["frp_angle_threshold"], p=o["frp_angle_p"], t_min=o["frp_t_min"])
    acc: dict[int, dict[str, list]] = {}
    for r in res:
        k = ext_rows[r["channel"]]
        add(names[k], muscles[k], sides[k], "full_flexion", r["cycle"], "frp_onset_angle", r["off_angle"], "deg")
        add(names[k], muscles[k], sides[k], "full_flexion", r["cycle"], "frp_cessation_angle", r["on_angle"], "deg")
        acc.setdefault(k, {"on": [], "off": []})
        acc[k]["off"].append(r["off_angle"])
        acc[k]["on"].append(r["on_angle"])
    for k, d in acc.items():
        for feat, vals in (("frp_onset_angle", d["off"]), ("frp_cessation_angle", d["on"])):
            v = np.asarray(vals, float)
            if np.isfinite(v).any():
                add(names[k], muscles[k], sides[k], "full_flexion", None, feat, float(np.nanmean(v)), "deg")
