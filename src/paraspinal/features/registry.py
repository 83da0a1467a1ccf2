"""The feature registry: every family, the inputs it needs, and every feature it writes.

:data:`FAMILIES` is the one list :func:`paraspinal.features.compute` asks, in table order;
:data:`FEATURES` (name -> :class:`~paraspinal.features.base.Feature`) and
:func:`feature_table_markdown` (the table of ``docs/features.md``) are built from it.

To add a family, write ``features/families/<name>.py`` (``FEATURES`` and ``rows(ctx)``) and
add one line to :data:`FAMILIES` (see ``docs/design.md``, "Adding a feature family").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import ParameterError
from .base import Family, Feature
from .families import (
    amplitude,
    asymmetry,
    cocontraction,
    fatigue,
    flexion_relaxation,
    hdsemg,
    spasm,
    spectral,
    static_dynamic,
)

__all__ = ["FAMILIES", "FEATURES", "feature_table_markdown", "wanted"]

#: The feature families, in the order of the table's features.
FAMILIES: tuple[Family, ...] = (
    Family("amplitude", amplitude.FEATURES, amplitude.rows, ("sums", "envelope"), amplitude.percentile_names),
    Family("spectral", spectral.FEATURES, spectral.rows, ("psd",)),
    Family("fatigue", fatigue.FEATURES, fatigue.rows, ("fatigue",)),
    Family("flexion-relaxation", flexion_relaxation.FEATURES, flexion_relaxation.rows, ("envelope", "angle")),
    Family("static-dynamic", static_dynamic.FEATURES, static_dynamic.rows, ("sums",)),
    Family("asymmetry", asymmetry.FEATURES, asymmetry.rows, ("sums", "envelope")),
    Family("co-contraction", cocontraction.FEATURES, cocontraction.rows, ("envelope",)),
    Family("spasm", spasm.FEATURES, spasm.rows, ("envelope",)),
    Family("hdsemg", hdsemg.FEATURES, hdsemg.rows, ()),
)

#: Feature registry: name -> :class:`Feature` (listed in docs/features.md).
FEATURES: dict[str, Feature] = {f.name: f for fam in FAMILIES for f in fam.features}

_FAT = tuple(f.name for f in fatigue.FEATURES)


def feature_table_markdown() -> str:
    """The registry as a Markdown table (name, definition, formula, unit, defaults, citation)."""
    lines = ["| feature | family | definition | formula | unit | defaults | citation |", "|---|---|---|---|---|---|---|"]
    for f in FEATURES.values():
        lines.append(f"| `{f.name}` | {f.family} | {f.definition} | `{f.formula}` | {f.unit} | {f.defaults} | "
                     f"{f.citation} |")
    return "\n".join(lines)


def wanted(features: Iterable[str] | None, percentiles: Sequence[float]) -> set[str]:
    """The feature names asked for by ``compute(features=..., percentiles=...)``.

    Parameters
    ----------
    features : iterable of str or None
        Feature names and family names (None: every feature, with ``p<q>`` for the
        requested percentiles only).
    percentiles : sequence of float
        Envelope percentiles.

    Returns
    -------
    set of str

    Raises
    ------
    ParameterError
        An unknown name.
    """
    pnames = {f"p{p:g}" for p in percentiles}
    allowed = set(FEATURES) | pnames
    if features is None:
        return allowed - ({"p10", "p50", "p90"} - pnames)
    fs = set(features)
    families = {f.family for f in FEATURES.values()}
    out = set()
    for f in fs:
        if f in families:
            out |= {k for k, v in FEATURES.items() if v.family == f}
        elif f in allowed:
            out.add(f)
        else:
            raise ParameterError(f"unknown feature {f!r}", hint=f"use names of FEATURES or families {sorted(families)}")
    if "mdf_slope" in out or "mdf_slope_pct" in out:
        out |= set(_FAT)
    return out
