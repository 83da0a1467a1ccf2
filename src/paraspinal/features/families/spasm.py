"""Spasm family: spasm-like bursts of the extensors in static phases (an operational definition,
METHODS.md §2.3; see :func:`paraspinal.features.trunk.spasm_episodes`)."""

from __future__ import annotations

import numpy as np

from .. import trunk as _tr
from ..base import AMPLITUDE_UNIT as A
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("spasm_bursts", "spasm", "number of spasm-like bursts in static phases (operational definition)",
            "runs of env > k*median(env_static) for >= T", "count",
            "spasm_k=2, spasm_min_duration=0.1 s, spasm_merge=0.25 s, spasm_edge=0.5 s",
            "toolkit-defined (METHODS 2.3)"),
    Feature("spasm_burst_rate", "spasm", "spasm-like bursts per minute of static phases", "count/minutes", "1/min",
            "as spasm_bursts", "toolkit-defined"),
    Feature("spasm_burst_duration", "spasm", "mean duration of the spasm-like bursts", "mean(duration)", "s",
            "as spasm_bursts", "toolkit-defined"),
    Feature("spasm_burst_amplitude", "spasm", "mean peak envelope of the spasm-like bursts", "mean(max env)", A,
            "as spasm_bursts", "toolkit-defined"),
)


def rows(ctx: Context) -> Rows:
    """Whole-recording rows (``phase == "all"``) per extensor channel, when static phases exist."""
    out = ctx.new_rows()
    o = ctx.options
    ext_rows = ctx.ext_rows
    if not ext_rows:
        return out
    mask = np.zeros(ctx.centres.size, bool)
    minutes = 0.0
    for i, p in enumerate(ctx.labels):
        if p in o["spasm_phases"]:
            ei = ctx.env_idx([i], o["spasm_edge"])
            mask[ei] = True
            minutes += ei.size / ctx.fs_env / 60
    if mask.any():
        eps = _tr.spasm_episodes(ctx.env[ext_rows], ctx.fs_env, mask, k=o["spasm_k"],
                                 min_duration=o["spasm_min_duration"], merge=o["spasm_merge"])
        for j, k in enumerate(ext_rows):
            e = eps[j]
            ch, mus, sd = ctx.names[k], ctx.muscles[k], ctx.sides[k]
            out.add(ch, mus, sd, "all", None, "spasm_bursts", float(len(e)), "count")
            out.add(ch, mus, sd, "all", None, "spasm_burst_rate", len(e) / minutes, "1/min")
            if e:
                out.add(ch, mus, sd, "all", None, "spasm_burst_duration",
                        float(np.mean([x["duration"] for x in e])), "s")
                out.add(ch, mus, sd, "all", None, "spasm_burst_amplitude",
                        float(np.mean([x["amplitude"] for x in e])), ctx.units[k])
    return out
