"""Co-contraction family: agonist/antagonist indices on the envelopes of each phase (METHODS.md §3).

Rows are labelled with the pair, agonist first: ``channel == "L_LT|L_RA"``,
``muscle == "LT|RA"``. On un-normalised (uV) envelopes the family warns and records a note.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...channels import agonist_antagonist_pairs
from ...errors import ParaspinalWarning
from .. import trunk as _tr
from ..base import AMPLITUDE_UNIT as A
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("cci_falconer_winter", "co-contraction", "Falconer-Winter co-contraction",
            "200 sum min(A,B)/(sum A + sum B)", "%", "envelope=rms", "Falconer & Winter 1985"),
    Feature("cci_rudolph", "co-contraction", "Rudolph co-contraction index", "mean((low/high)(low+high))", A,
            "envelope=rms", "Rudolph et al. 2000"),
    Feature("antagonist_ratio", "co-contraction", "antagonist/agonist ratio", "100 mean(B)/mean(A)", "%", "-",
            "van Dieen, Cholewicki & Radebold 2003"),
    Feature("dccr", "co-contraction", "directed co-contraction ratio", "1 - B/A if A > B else A/B - 1", "1", "-",
            "METHODS 3 (J Sports Sci Med table)"),
)

_COC = tuple(f.name for f in FEATURES)


def rows(ctx: Context) -> Rows:
    """One row per agonist/antagonist pair, (phase, cycle) group and co-contraction feature."""
    out = ctx.new_rows()
    rec, units, muscles, sides = ctx.rec, ctx.units, ctx.muscles, ctx.sides
    sub = rec.channels[rec.channels["name"].isin(ctx.names)]
    pos = {nm: i for i, nm in enumerate(ctx.names)}
    pairs = agonist_antagonist_pairs(sub)
    raw_units = [units[pos[a]] for a, b in pairs] + [units[pos[b]] for a, b in pairs]
    if pairs and any(u == "uV" for u in raw_units):
        ctx.notes.append("co-contraction indices computed on un-normalised (uV) envelopes: normalise to MVC/RVC "
                         "for comparable agonist and antagonist units (METHODS.md 3)")
        # stacklevel 3: the caller of paraspinal.features.compute
        warnings.warn(f"{ctx.file or 'recording'}: " + ctx.notes[-1], ParaspinalWarning, stacklevel=3)
    if not pairs:
        return out
    ka, kb = [pos[ag] for ag, an in pairs], [pos[an] for ag, an in pairs]
    # every pair at once, one group at a time (each row reduced as on its own)
    res = {}
    for key in ctx.gkeys:
        ei = ctx.env_idx(ctx.groups[key])
        r = _tr.cocontraction(ctx.env[np.ix_(ka, ei)], ctx.env[np.ix_(kb, ei)])
        res[key] = {feat: r[feat].tolist() for feat in _COC}  # Python floats: the same values
    labs = [f"{ag}|{an}" for ag, an in pairs]
    mus = [f"{muscles[a]}|{muscles[b]}" for a, b in zip(ka, kb)]
    sds = [sides[a] for a in ka]
    rud_units = [units[a] if units[a] == units[b] else f"{units[a]}|{units[b]}" for a, b in zip(ka, kb)]
    unit = {feat: rud_units if feat == "cci_rudolph" else ("%" if feat in ("cci_falconer_winter", "antagonist_ratio")
                                                          else "1") for feat in _COC}
    for key in ctx.gkeys:
        for feat in _COC:
            out.add_channels(labs, mus, sds, key[0], key[1], feat, res[key][feat], unit[feat])
    return out
