"""Static/dynamic family: RMS pooled over static postures and over movement phases, and their ratio."""

from __future__ import annotations

import numpy as np

from ..base import AMPLITUDE_UNIT as A
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("rms_static", "static-dynamic", "RMS pooled over static postures", "sqrt(mean x^2 over static phases)",
            A, "static_phases=(standing, sitting, prone)", "Kravitz et al. 1981; Geisser et al. 2005"),
    Feature("rms_dynamic", "static-dynamic", "RMS pooled over movement phases", "sqrt(mean x^2 over dynamic phases)",
            A, "dynamic_phases=(flexion, extension, lifting, lowering, walking)", "Ahern et al. 1988"),
    Feature("sdr", "static-dynamic", "static/dynamic ratio (toolkit-defined index)", "rms_static/rms_dynamic", "1",
            "as rms_static, rms_dynamic",
            "toolkit-defined (METHODS 2.1); Kravitz-type guarding predicts higher SDR"),
)


def rows(ctx: Context) -> Rows:
    """Whole-recording rows (``phase == "all"``) when both static and dynamic phases exist."""
    out = ctx.new_rows()
    s_i = [i for i, p in enumerate(ctx.labels) if p in ctx.options["static_phases"]]
    d_i = [i for i, p in enumerate(ctx.labels) if p in ctx.options["dynamic_phases"]]
    if s_i and d_i:
        rs = ctx.rms(s_i)
        rd = ctx.rms(d_i)
        for k in range(ctx.n_ch):
            ch, mus, sd, u = ctx.names[k], ctx.muscles[k], ctx.sides[k], ctx.units[k]
            out.add(ch, mus, sd, "all", None, "rms_static", rs[k], u)
            out.add(ch, mus, sd, "all", None, "rms_dynamic", rd[k], u)
            out.add(ch, mus, sd, "all", None, "sdr", rs[k] / rd[k] if rd[k] > 0 else np.nan, "1")
    return out
