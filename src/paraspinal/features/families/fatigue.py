"""Fatigue family: the slope of the median frequency over a long static hold (Roy et al. 1989)."""

from __future__ import annotations

from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("mdf_slope", "fatigue", "slope of the least-squares line through MDF of successive windows",
            "b1 of MDF(t)", "Hz/s", "fatigue_window=1 s, fatigue_phases=(sorensen_hold, all), "
            "min_fatigue_duration=10 s", "Roy et al. 1989"),
    Feature("mdf_slope_ci_low", "fatigue", "lower 95 % confidence limit of mdf_slope", "b1 - t SE(b1)", "Hz/s",
            "confidence=0.95", "-"),
    Feature("mdf_slope_ci_high", "fatigue", "upper 95 % confidence limit of mdf_slope", "b1 + t SE(b1)", "Hz/s",
            "confidence=0.95", "-"),
    Feature("mdf_initial", "fatigue", "initial MDF (regression intercept at the start)", "b0", "Hz", "-",
            "Coorevits et al. 2008"),
    Feature("mdf_slope_pct", "fatigue", "normalised MDF slope", "100*b1/b0", "%/s", "-", "Coorevits et al. 2008"),
)

#: feature -> (key of :func:`paraspinal.features.spectral.fatigue_slope`'s result, unit)
_FROM_FIT = {"mdf_slope": ("slope", "Hz/s"), "mdf_slope_ci_low": ("ci_low", "Hz/s"),
             "mdf_slope_ci_high": ("ci_high", "Hz/s"), "mdf_initial": ("initial", "Hz"),
             "mdf_slope_pct": ("slope_pct", "%/s")}


def rows(ctx: Context) -> Rows:
    """One row per channel and fatigue feature for each group of one long enough fatigue segment."""
    out = ctx.new_rows()
    for key in ctx.gkeys:
        ii = ctx.groups[key]
        if not (len(ii) == 1 and ii[0] in ctx.fat_res and ctx.fat_res[ii[0]]):
            continue
        r = ctx.fat_res[ii[0]]
        for k in range(ctx.n_ch):
            for feat, (name, unit) in _FROM_FIT.items():
                out.add(ctx.names[k], ctx.muscles[k], ctx.sides[k], key[0], key[1], feat, r[name][k], unit)
    return out
