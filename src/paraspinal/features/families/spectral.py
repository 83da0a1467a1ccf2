"""Spectral family: mean and median frequency and FInsm5 of the Welch PSD of each phase."""

from __future__ import annotations

from .. import spectral as _sp
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("mnf", "spectral", "mean frequency of the Welch PSD", "M1/M0 over band", "Hz",
            "band=(20,450), nperseg_s=0.5 (Hann, 50 % overlap)", "Stulen & De Luca 1981; METHODS 7"),
    Feature("mdf", "spectral", "median frequency (cumulative power interpolated at bin edges)",
            "sum_{f<=MDF} P = sum_{f>MDF} P", "Hz", "band=(20,450), nperseg_s=0.5", "Stulen & De Luca 1981"),
    Feature("finsm5", "spectral", "Dimitrov spectral fatigue index", "M_-1/M_5, M_k = sum f^k P df", "Hz^-6",
            "finsm5_band=band", "Dimitrov et al. 2006"),
)

_UNITS = {"mnf": "Hz", "mdf": "Hz", "finsm5": "Hz^-6"}


def rows(ctx: Context) -> Rows:
    """One row per channel, (phase, cycle) group with Welch windows, and spectral feature.

    The PSD of a group is the window-count-weighted mean of its segments' PSDs.
    """
    out = ctx.new_rows()
    o = ctx.options
    for key in ctx.gkeys:
        ii = ctx.groups[key]
        if not ctx.nwin[ii].sum() > 0:
            continue
        wts = ctx.nwin[ii]
        p = (ctx.psd[:, ii] * wts[None, :, None]).sum(1) / wts.sum()
        st = _sp.spectral_from_psd(ctx.freqs, p, ctx.fs, band=o["band"], finsm5_band=o["finsm5_band"])
        for feat, unit in _UNITS.items():  # Python floats: the same values
            out.add_channels(ctx.names, ctx.muscles, ctx.sides, key[0], key[1], feat, st[feat].tolist(), unit)
    return out
