"""Amplitude family: RMS, ARV and iEMG of the samples; peak, percentiles and CV of the envelope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..base import AMPLITUDE_UNIT as A
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows", "percentile_names"]

FEATURES: tuple[Feature, ...] = (
    Feature("rms", "amplitude", "root mean square of the EMG in the phase", "sqrt(mean(x^2))", A, "-",
            "Merletti 1999 (ISEK standards)"),
    Feature("arv", "amplitude", "average rectified (mean absolute) value", "mean(|x|)", A, "-", "Merletti 1999"),
    Feature("iemg", "amplitude", "integrated EMG", "sum(|x|)/fs", "U*s", "-", "Merletti 1999"),
    Feature("peak", "amplitude", "largest value of the envelope", "max(env)", A, "envelope=rms, window_ms=250",
            "Clancy et al. 2002"),
    Feature("p10", "amplitude", "10th percentile of the envelope", "percentile(env, 10)", A,
            "percentiles=(10,50,90)", "-"),
    Feature("p50", "amplitude", "median of the envelope", "percentile(env, 50)", A, "percentiles=(10,50,90)", "-"),
    Feature("p90", "amplitude", "90th percentile of the envelope", "percentile(env, 90)", A,
            "percentiles=(10,50,90)", "-"),
    Feature("cv", "amplitude", "coefficient of variation of the envelope (amplitude variability)",
            "SD(env)/mean(env)", "1", "envelope=rms, window_ms=250",
            "Hodges & Tucker 2011; van Dieen, Flor & Hodges 2017"),
)


def percentile_names(options: Mapping[str, Any]) -> Iterable[str]:
    """``p<q>`` for each requested percentile (``percentiles=(25, 75)``: ``p25``, ``p75``)."""
    return [f"p{p:g}" for p in options["percentiles"]]


def rows(ctx: Context) -> Rows:
    """One row per channel, (phase, cycle) group and amplitude feature."""
    out = ctx.new_rows()
    names, muscles, sides, units, fs = ctx.names, ctx.muscles, ctx.sides, ctx.units, ctx.fs
    percentiles = ctx.options["percentiles"]
    feats = ("rms", "arv", "iemg", "peak", *[f"p{p:g}" for p in percentiles], "cv")
    unit = {feat: [{"iemg": f"{u}*s", "cv": "1"}.get(feat, u) for u in units] for feat in feats}
    for key in ctx.gkeys:
        ii = ctx.groups[key]
        cnt = ctx.count[ii].sum()
        st = {"rms": ctx.rms(ii), "arv": ctx.sumabs[:, ii].sum(1) / cnt, "iemg": ctx.sumabs[:, ii].sum(1) / fs}
        e = ctx.env[:, ctx.env_idx(ii)]
        st["peak"] = e.max(axis=1)
        if percentiles:
            q = np.percentile(e, list(percentiles), axis=1)
            for p, v in zip(percentiles, q):
                st[f"p{p:g}"] = v
        m = e.mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            st["cv"] = e.std(axis=1) / m
        for feat in feats:  # Python floats: the same values
            out.add_channels(names, muscles, sides, key[0], key[1], feat, st[feat].tolist(), unit[feat])
    return out
