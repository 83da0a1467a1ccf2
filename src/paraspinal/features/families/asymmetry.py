"""Asymmetry family: left/right asymmetry of the phase RMS and cross-correlation of the envelopes.

Rows are labelled with the pair, left first: ``channel == "L_MF|R_MF"``, ``side == "L|R"``.
"""

from __future__ import annotations

import math

import numpy as np

from ...channels import bilateral_pairs
from .. import trunk as _tr
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("asymmetry_index", "asymmetry", "signed left/right asymmetry of the phase RMS", "(R-L)/(R+L)", "1", "-",
            "METHODS 8 (standard form)"),
    Feature("side_ratio", "asymmetry", "larger over smaller side RMS", "max(L,R)/min(L,R)", "1", "-",
            "BMC Complement Altern Med 2017;17:303"),
    Feature("lr_xcorr", "asymmetry", "peak normalised cross-correlation of the L and R envelopes",
            "max_tau sum L(t)R(t+tau)/sqrt(sum L^2 sum R^2), mean removed", "1", "max_lag=0.5 s", "Lehman 2002"),
    Feature("lr_lag", "asymmetry", "lag of the cross-correlation peak (right after left > 0)", "argmax_tau", "s",
            "max_lag=0.5 s", "Lehman 2002"),
)


def rows(ctx: Context) -> Rows:
    """One row per bilateral pair, (phase, cycle) group and asymmetry feature."""
    out = ctx.new_rows()
    add, env, env_idx, muscles = out.add, ctx.env, ctx.env_idx, ctx.muscles
    rec = ctx.rec
    sub = rec.channels[rec.channels["name"].isin(ctx.names)]
    pos = {nm: i for i, nm in enumerate(ctx.names)}
    rms = {key: ctx.rms(ctx.groups[key]) for key in ctx.gkeys}
    seen: dict[tuple[int, int, int], tuple[float, float]] = {}

    def xcorr(kl: int, kr: int, i: int) -> tuple[float, float]:
        """Cross-correlation of one pair in one segment, computed once (the pooled groups reuse it)."""
        if (kl, kr, i) not in seen:
            ei = env_idx([i])
            seen[(kl, kr, i)] = _tr.lr_xcorr(env[kl, ei], env[kr, ei], ctx.fs_env, ctx.options["max_lag"])
        return seen[(kl, kr, i)]

    for left, right in bilateral_pairs(sub):
        kl, kr = pos[left], pos[right]
        lab = f"{left}|{right}"
        for key in ctx.gkeys:
            a = _tr.asymmetry(rms[key][kl], rms[key][kr])
            add(lab, muscles[kl], "L|R", key[0], key[1], "asymmetry_index", a["asymmetry_index"], "1")
            add(lab, muscles[kl], "L|R", key[0], key[1], "side_ratio", a["side_ratio"], "1")
            if ctx.want & {"lr_xcorr", "lr_lag"} and len(ctx.groups[key]) == 1:
                # one segment: its value is the mean (np.nanmean of one value is 0.0 + value)
                r, lag = xcorr(kl, kr, ctx.groups[key][0])
                if math.isfinite(r):
                    add(lab, muscles[kl], "L|R", key[0], key[1], "lr_xcorr", 0.0 + r, "1")
                    add(lab, muscles[kl], "L|R", key[0], key[1], "lr_lag", 0.0 + lag, "s")
            elif ctx.want & {"lr_xcorr", "lr_lag"}:
                xc = np.array([xcorr(kl, kr, i) for i in ctx.groups[key]], float)
                if np.isfinite(xc[:, 0]).any():
                    add(lab, muscles[kl], "L|R", key[0], key[1], "lr_xcorr", float(np.nanmean(xc[:, 0])), "1")
                    add(lab, muscles[kl], "L|R", key[0], key[1], "lr_lag", float(np.nanmean(xc[:, 1])), "s")
    return out
