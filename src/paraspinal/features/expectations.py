"""What a recording should give, and why a feature it should give is missing.

A feature that cannot be computed is left out of the tidy table (never written as NaN). Left
out silently, a missing flexion-relaxation ratio reads like a recording without one. This
module states, per family, when a recording *should* give its features, compares that with
the table :func:`paraspinal.features.compute` made, and gives the reason for every feature
that is missing, per channel (or pair):

* **flexion-relaxation** (``frr``, ``err``, ``fer``, ``frp_present``, pooled over the cycles):
  every extensor EMG channel (ES, LT, IL, MF, QL), whenever the phase table has a ``flexion``,
  ``full_flexion`` or ``extension`` phase;
* **static-dynamic** (``sdr``): every EMG channel, whenever the phases include a static phase
  of ``static_phases`` and a movement phase of ``dynamic_phases``;
* **asymmetry** (``asymmetry_index``): every left/right pair of the same muscle and level;
* **co-contraction** (``cci_falconer_winter``): every agonist/antagonist pair of one side.

The reasons say what stands in the way, e.g. ``"no full_flexion phase"``, ``"cycle 3
incomplete: no extension phase"`` (from :func:`paraspinal.phases.frp_cycle_problems`), ``"no
extensor channel among the EMG channels"``, or, when the phases were fine,
``"not finite: the full-flexion envelope is zero (flat or disconnected channel?)"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from .. import phases as _ph
from ..channels import EXTENSORS, agonist_antagonist_pairs, bilateral_pairs

__all__ = ["MISSING_COLUMNS", "EXPECTED", "missing_features", "missing_message"]

#: Columns of the table of missing features.
MISSING_COLUMNS: tuple[str, ...] = ("channel", "family", "features", "reason")

#: The features each family is expected to give (the rest of a family follows from them).
EXPECTED: dict[str, tuple[str, ...]] = {
    "flexion-relaxation": ("frr", "err", "fer", "frp_present"),
    "static-dynamic": ("sdr",),
    "asymmetry": ("asymmetry_index",),
    "co-contraction": ("cci_falconer_winter",),
}

_NOT_FINITE = {
    "flexion-relaxation": "not finite: the full-flexion envelope is zero or not finite (flat or disconnected "
                          "channel?)",
    "static-dynamic": "not finite: the movement-phase RMS is zero (flat or disconnected channel?)",
    "asymmetry": "not finite: both sides are zero (flat or disconnected channels?)",
    "co-contraction": "not finite: both envelopes are zero (flat or disconnected channels?)",
}


class _Present:
    """The channels that have each expected feature, from one pass over the table's columns."""

    def __init__(self, table: pd.DataFrame, features: Iterable[str]):
        wanted = set(features)
        feats = table["feature"].tolist()
        chans = table["channel"].astype(str).tolist()
        pooled = table["cycle"].isna().tolist()
        self.any: dict[str, set[str]] = {f: set() for f in wanted}
        self.pooled: dict[str, set[str]] = {f: set() for f in wanted}
        for f, c, p in zip(feats, chans, pooled):
            if f in wanted:
                self.any[f].add(c)
                if p:
                    self.pooled[f].add(c)

    def __call__(self, feature: str, *, pooled: bool = False) -> set[str]:
        return (self.pooled if pooled else self.any)[feature]


def _frp_missing(present: _Present, ph: pd.DataFrame, channels: pd.DataFrame, names: Sequence[str],
                 feats: list[str], sfreq: float | None, n_samples: int | None) -> list[dict]:
    labels = set(ph["phase"]) if len(ph) else set()
    if not labels & set(_ph.CYCLE_PHASES):
        return []
    muscle = dict(zip(channels["name"], channels["muscle"]))
    ext = [nm for nm in names if muscle.get(nm) in EXTENSORS]
    if not ext:
        unknown = [nm for nm in names if muscle.get(nm) is None]
        hint = (f"; {len(unknown)} channel(s) without a recognised muscle ({', '.join(unknown[:4])}"
                f"{' ...' if len(unknown) > 4 else ''}): map them with channel_map" if unknown else "")
        return [dict(channel="", family="flexion-relaxation", features=", ".join(feats),
                     reason=f"no extensor channel among the EMG channels{hint}")]
    problems = _ph.frp_cycle_problems(ph, sfreq=sfreq, n_samples=n_samples)
    out = []
    for nm in ext:
        lack = [f for f in feats if nm not in present(f, pooled=True)]
        if lack:
            reason = "; ".join(problems) if problems else _NOT_FINITE["flexion-relaxation"]
            out.append(dict(channel=nm, family="flexion-relaxation", features=", ".join(lack), reason=reason))
    return out


def missing_features(table: pd.DataFrame, phases: pd.DataFrame, channels: pd.DataFrame, *,
                     names: Iterable[str], want: Iterable[str] | None = None,
                     static_phases: Sequence[str] = ("standing", "sitting", "prone"),
                     dynamic_phases: Sequence[str] = _ph.DYNAMIC, sfreq: float | None = None,
                     n_samples: int | None = None) -> pd.DataFrame:
    """The features a recording should give but does not, with the reason.

    Parameters
    ----------
    table : pandas.DataFrame
        The tidy table :func:`paraspinal.features.compute` returned for the recording.
    phases : pandas.DataFrame
        The phase table the features used (validated: cycles numbered).
    channels : pandas.DataFrame
        The recording's channel table (``name, muscle, side, ...``).
    names : iterable of str
        The EMG channels the features were computed for.
    want : iterable of str, optional
        The feature names asked for (default: all); families not asked for are not expected.
    static_phases, dynamic_phases : sequence of str
        As in :func:`paraspinal.features.compute` (the static/dynamic ratio's phases).
    sfreq, n_samples : optional
        Sampling rate (Hz) and length of the signal, so that phases outside it count as missing.

    Returns
    -------
    pandas.DataFrame
        :data:`MISSING_COLUMNS`: ``channel`` (a channel, a pair ``"A|B"``, or ``""`` for the
        whole recording), ``family``, ``features`` (comma-separated) and ``reason``; empty when
        nothing expected is missing.
    """
    names = list(names)
    want_set = None if want is None else set(want)
    expected = {fam: [f for f in feats if want_set is None or f in want_set] for fam, feats in EXPECTED.items()}
    sub = channels[channels["name"].isin(names)]
    present = _Present(table, [f for feats in expected.values() for f in feats])
    out: list[dict] = []
    if expected["flexion-relaxation"]:
        out += _frp_missing(present, phases, channels, names, expected["flexion-relaxation"], sfreq, n_samples)
    labels = set(phases["phase"]) if len(phases) else set()
    if expected["static-dynamic"] and labels & set(static_phases) and labels & set(dynamic_phases):
        have = present("sdr")
        out += [dict(channel=nm, family="static-dynamic", features="sdr", reason=_NOT_FINITE["static-dynamic"])
                for nm in names if nm not in have]
    for fam, pairs in (("asymmetry", bilateral_pairs(sub)), ("co-contraction", agonist_antagonist_pairs(sub))):
        if expected[fam]:
            have = present(expected[fam][0])
            out += [dict(channel=f"{a}|{b}", family=fam, features=expected[fam][0], reason=_NOT_FINITE[fam])
                    for a, b in pairs if f"{a}|{b}" not in have]
    return pd.DataFrame(out, columns=list(MISSING_COLUMNS))


def missing_message(missing: pd.DataFrame, file: str | None = None, *, limit: int = 6) -> str:
    """One sentence for a warning: which features are missing where, and why."""
    parts = []
    for (fam, reason), grp in missing.groupby(["family", "reason"], sort=False):
        chans = [c for c in grp["channel"] if c]
        where = (f" on {', '.join(chans[:limit])}{' ...' if len(chans) > limit else ''}" if chans else "")
        feats = ", ".join(dict.fromkeys(f for s in grp["features"] for f in s.split(", ")))
        parts.append(f"no {fam} ({feats}){where}: {reason}")
    prefix = f"{file}: " if file else ""
    return prefix + "; ".join(parts)
