"""Score subjects against a normative reference, and summarise the operational guarding signs.

Scores and guarding profiles are **research measures, not diagnoses**: no validated sEMG
criterion exists for "guarding" or "spasm" (METHODS.md section 2.3), paraspinal sEMG as a
diagnostic test for low-back pain is investigational, and a z-score only says how far a value
lies from *these* controls recorded with *this* protocol and processing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..channels import EXTENSORS, FLEXORS
from ..errors import ParameterError
from ._table import _key_frame, restore_missing, subject_level
from .reference import NormativeReference

__all__ = ["score", "guarding_profile", "GuardingItem", "GuardingSign", "GUARDING_SIGNS", "NOT_A_DIAGNOSIS"]

NOT_A_DIAGNOSIS = ("research measure, not a diagnosis: z-scores against this lab's controls; no validated sEMG "
                   "criterion of guarding or spasm exists (METHODS.md 2.3)")

STATIC = ("standing", "sitting", "prone", "rest")
MOVEMENT = ("flexion", "extension", "lifting", "lowering", "walking")
#: Sustained or repeated tasks over which HD-sEMG maps redistribute (a recording without phases is ``all``).
SUSTAINED = ("sorensen_hold", "all") + MOVEMENT


def score(features_df: pd.DataFrame, reference: NormativeReference, *, subject: str | Iterable[str] | None = None
          ) -> pd.DataFrame:
    """z-scores and percentiles of subjects' features against a normative reference.

    The subject's values are made subject-level the same way as the reference's
    (:func:`paraspinal.norms.subject_level`; sessions kept apart), then per key::

        z                 = (value - mean_ref) / sd_ref
        percentile        = 100 (#{ref < value} + 0.5 #{ref == value}) / n_ref     (empirical, mid-rank)
        percentile_normal = 100 Phi(z)

    Each subject is scored only against the reference: the scores of one subject do not depend
    on the row order or on which other subjects are in ``features_df``. ``z`` is NaN (with a
    ``note``) when the key is not in the reference, its units differ, or the reference has fewer
    than 2 subjects or a zero SD (e.g. every control has FRP present).

    Parameters
    ----------
    features_df : pandas.DataFrame
        Tidy feature table of one or more subjects.
    reference : NormativeReference
    subject : str or iterable of str, optional
        Score only these subjects.

    Returns
    -------
    pandas.DataFrame
        ``subject, group, session, *by, value, unit, ref_n, ref_mean, ref_sd, ref_median, ref_min,
        ref_max, z, percentile, percentile_normal, note``; ``attrs["disclaimer"]`` says it is not a
        diagnosis.
    """
    if not isinstance(reference, NormativeReference):
        raise ParameterError(f"reference must be a NormativeReference, got {type(reference).__name__}",
                             hint="use paraspinal.norms.build_reference(...) or load_reference(folder)")
    by = reference.by
    sub = subject_level(features_df, by=by, sessions="keep")
    if subject is not None:
        wanted = {str(subject)} if isinstance(subject, str) else {str(s) for s in subject}
        sub = sub[sub["subject"].astype(str).isin(wanted)]
        if sub.empty:
            raise ParameterError(f"subject(s) {sorted(wanted)} not in the feature table")
    sub = sub.reset_index(drop=True)
    ref = reference.stats
    rk = _key_frame(ref, by)
    refk = pd.concat([rk, ref[["unit", "n", "mean", "sd", "median", "min", "max"]]
                      .rename(columns=lambda c: "ref_unit" if c == "unit" else f"ref_{c}")], axis=1)
    merged = sub.merge(refk, on=by, how="left", validate="many_to_one")
    val = merged["value"].to_numpy(float)
    mean, sd = merged["ref_mean"].to_numpy(float), merged["ref_sd"].to_numpy(float)
    n = merged["ref_n"].to_numpy(float)
    in_ref = merged["ref_n"].notna().to_numpy()
    same_unit = (merged["ref_unit"].astype(str) == merged["unit"].astype(str)).to_numpy()
    ok = in_ref & same_unit & (n >= 2) & (sd > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(ok, (val - mean) / sd, np.nan)
    note = np.full(len(merged), "", dtype=object)
    note[in_ref & (n >= 2) & ~(sd > 0)] = "reference SD is zero (all controls equal): z undefined"
    note[in_ref & (n < 2)] = "fewer than 2 reference subjects: z undefined"
    note[in_ref & ~same_unit] = "unit differs from the reference's: not scored"
    note[~in_ref] = "key not in the reference"

    # empirical percentile against the stored control values
    vk = _key_frame(reference.values, by).assign(_ref=reference.values["value"].to_numpy(float))
    pairs = merged[by].assign(_row=np.arange(len(merged)), _val=val).merge(vk, on=by, how="inner")
    below = (pairs["_ref"] < pairs["_val"]).astype(float) + 0.5 * (pairs["_ref"] == pairs["_val"])
    cnt = below.groupby(pairs["_row"]).agg(["sum", "count"])
    pct = np.full(len(merged), np.nan)
    pct[cnt.index.to_numpy()] = 100.0 * cnt["sum"].to_numpy() / cnt["count"].to_numpy()
    pct[~(in_ref & same_unit)] = np.nan

    out = merged.drop(columns=["ref_unit"]).assign(z=z, percentile=pct, percentile_normal=100.0 * _st.norm.cdf(z),
                                                   note=note)
    cols = ["subject", "group", "session"] + by + ["value", "unit", "ref_n", "ref_mean", "ref_sd", "ref_median",
                                                   "ref_min", "ref_max", "z", "percentile", "percentile_normal", "note"]
    out = out[cols].sort_values(["subject", "session"] + by, kind="mergesort").reset_index(drop=True)
    out["ref_n"] = out["ref_n"].fillna(0).astype(int)
    out = restore_missing(out, ["session"] + by)
    out.attrs.update(disclaimer=NOT_A_DIAGNOSIS, reference=reference.provenance.get("source"),
                     reference_subjects=reference.n_subjects)
    return out


# ----------------------------------------------------------------------------- guarding signs
@dataclass(frozen=True)
class GuardingItem:
    """One piece of evidence of a sign: a feature in some phases of some muscles.

    Attributes
    ----------
    feature : str
        Feature name (the ``feature`` column).
    direction : {+1, -1}
        +1: higher than controls is the guarding direction; -1: lower.
    phases : tuple of str or None
        Phases to use (None = any).
    muscles : {"extensor", "flexor", "extensor_pair", "coactivation", "any"}
        Channel class: single extensor / flexor channels, L|R extensor pairs, agonist|antagonist
        pairs, or anything.
    text : str
        How the reason sentence names it ("full-flexion RMS").
    """

    feature: str
    direction: int
    phases: tuple[str, ...] | None = None
    muscles: str = "extensor"
    text: str = ""


@dataclass(frozen=True)
class GuardingSign:
    """An operational guarding sign (METHODS.md 2.3): a label, its evidence items and citations."""

    name: str
    label: str
    items: tuple[GuardingItem, ...]
    citation: str
    optional: bool = False
    #: Reported only for subjects with values of its features: a sign of a recording kind most
    #: recordings lack (HD-sEMG maps need electrode grids), not "not assessable" for all others.
    measured_only: bool = False


#: The operational signs of METHODS.md 2.3 (plus reduced movement activity of 2.1).
GUARDING_SIGNS: tuple[GuardingSign, ...] = (
    GuardingSign("static_amplitude", "elevated static activity",
                 (GuardingItem("rms", +1, STATIC, "extensor", "static RMS"),),
                 "Sherman 1985; Arena et al. 1991; Geisser et al. 2005"),
    GuardingSign("absent_frp", "absent flexion-relaxation",
                 (GuardingItem("frr", -1, None, "extensor", "FRR"),
                  GuardingItem("err", -1, None, "extensor", "ERR"),
                  GuardingItem("fer", +1, None, "extensor", "FER"),
                  GuardingItem("rms", +1, ("full_flexion",), "extensor", "full-flexion RMS"),
                  GuardingItem("frp_present", -1, None, "extensor", "FRP present (1/0)")),
                 "Gouteron et al. 2022; Neblett et al. 2013; FER study (METHODS 1.5); Ahern et al. 1988"),
    GuardingSign("reduced_movement_activity", "reduced extensor activity during movement",
                 (GuardingItem("rms", -1, ("extension", "lifting", "lowering"), "extensor", "movement RMS"),),
                 "Kravitz et al. 1981; Lund et al. 1991; FER study (METHODS 1.5)"),
    GuardingSign("coactivation", "increased antagonist co-activation",
                 (GuardingItem("antagonist_ratio", +1, MOVEMENT, "coactivation", "antagonist/agonist ratio"),
                  GuardingItem("cci_falconer_winter", +1, MOVEMENT, "coactivation", "co-contraction index"),
                  GuardingItem("rms", +1, MOVEMENT, "flexor", "antagonist RMS")),
                 "Lund et al. 1991; van Dieen, Cholewicki & Radebold 2003; van Dieen, Flor & Hodges 2017"),
    GuardingSign("low_variability", "reduced variability",
                 (GuardingItem("rms_cycle_cv", -1, MOVEMENT, "extensor", "between-repetition CV of RMS"),),
                 "Hodges & Tucker 2011; van Dieen, Flor & Hodges 2017; Ringheim et al. 2019"),
    GuardingSign("asymmetry", "left/right asymmetry",
                 (GuardingItem("side_ratio", +1, None, "extensor_pair", "L/R side ratio"),),
                 "METHODS 8 (BMC Complement Altern Med 2017); Sherman 1985 found no predictive value",
                 optional=True),
    GuardingSign("spasm", "spasm-like bursts at rest",
                 (GuardingItem("spasm_burst_rate", +1, None, "extensor", "spasm-like burst rate"),),
                 "toolkit-defined operational definition (METHODS 2.3: no validated sEMG criterion)"),
    GuardingSign("reduced_rom", "reduced range of motion",
                 (GuardingItem("trunk_flexion_max", -1, None, "any", "maximal trunk flexion"),),
                 "Lund et al. 1991; Neblett et al. 2013 (gross flexion ROM)"),
    GuardingSign("reduced_redistribution", "less redistribution of activity within the muscle (HD-sEMG)",
                 (GuardingItem("hd_centroid_displacement", -1, SUSTAINED, "extensor", "centroid displacement"),
                  GuardingItem("hd_entropy", -1, SUSTAINED, "extensor", "map entropy"),
                  GuardingItem("hd_cv", +1, SUSTAINED, "extensor", "map CV")),
                 "Sanderson et al. 2019 (J Anat: less redistribution in an endurance task; Front Sports Act Living: "
                 "lower entropy in lifting); Arvanitidis et al. 2021 (controls more homogeneous); Falla et al. 2014",
                 measured_only=True),
)

_PHASE_WORDS = {"full_flexion": "full flexion", "sorensen_hold": "Sorensen hold"}


def _muscle_mask(muscle: pd.Series, side: pd.Series, kind: str) -> np.ndarray:
    m = muscle.astype(str)
    s = side.astype(str)
    if kind == "any":
        return np.ones(len(m), bool)
    if kind == "extensor":
        return m.isin(EXTENSORS).to_numpy()
    if kind == "flexor":
        return m.isin(FLEXORS).to_numpy()
    parts = m.str.split("|", n=1, expand=True).reindex(columns=[0, 1])
    first, second = parts[0].astype(object).fillna(""), parts[1].astype(object).fillna("")
    if kind == "extensor_pair":
        return (first.isin(EXTENSORS) & (second == "") & (s == "L|R")).to_numpy()
    if kind == "coactivation":
        return (first.isin(EXTENSORS) & second.isin(FLEXORS)).to_numpy()
    raise ParameterError(f"unknown muscle class {kind!r}",
                         hint="use 'extensor', 'flexor', 'extensor_pair', 'coactivation' or 'any'")


def _where(row: pd.Series) -> str:
    bits = [str(row["channel"])] if row.get("channel") not in (None, "") else []
    phase = row.get("phase")
    if phase not in (None, "", "all"):
        bits.append(_PHASE_WORDS.get(str(phase), str(phase)))
    if row.get("task") not in (None, ""):
        bits.append(f"task {row['task']}")
    return ", ".join(bits)


def _item_sentence(text: str, row: pd.Series) -> str:
    z = float(row["z"])
    return f"{text} {abs(z):.1f} SD {'above' if z > 0 else 'below'} controls ({_where(row)})"


def guarding_profile(scores: pd.DataFrame, *, threshold: float = 2.0, aggregate: str = "mean",
                     signs: Sequence[str] | None = None, include_optional: bool = True,
                     definitions: Sequence[GuardingSign] = GUARDING_SIGNS, detail: bool = False) -> pd.DataFrame:
    """Operational guarding signs (METHODS.md 2.3) of scored subjects: flag, strength, reason.

    For every subject (and session) and sign, the evidence items of the sign (e.g. for absent
    flexion-relaxation: FRR and ERR lower, FER and full-flexion RMS higher, on the extensor
    channels) are taken from ``scores`` and oriented so that positive = the guarding direction
    (``d = direction x z``). Then::

        strength = aggregate(d over the items' rows)        (mean by default; "median" or "max")
        flag     = strength >= threshold                     (default 2, i.e. 2 SD)

    Rows whose z is undefined because every control has the same value (e.g. no control had a
    spasm-like burst; every control had FRP present) flag the sign when the subject's value lies
    beyond that value in the guarding direction (``n_beyond`` counts them; ``strength`` stays
    the aggregate of the finite z, NaN when there is none). A sign with no rows is ``assessable = False`` (e.g.
    reduced range of motion without a trunk-angle feature), except a ``measured_only`` sign (less
    redistribution of HD-sEMG maps), which is left out for a subject without grid features. The mean over channels and phases
    is the default because the maximum of many z-scores exceeds 2 by chance far more often.

    **This is a research profile, not a diagnosis.** No validated sEMG criterion of guarding or
    spasm exists; a flag says a feature lies far from this lab's controls, nothing about
    its cause.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`score` (one or more subjects).
    threshold : float
        Flag threshold on the oriented strength (SD units, > 0).
    aggregate : {"mean", "median", "max"}
        How the oriented z of a sign's rows are combined.
    signs : sequence of str, optional
        Sign names to report (default all of ``definitions``).
    include_optional : bool
        Report the optional signs (asymmetry: Sherman 1985 found no predictive value).
    definitions : sequence of GuardingSign
        Sign definitions (default :data:`GUARDING_SIGNS`; build your own from
        :class:`GuardingSign` and :class:`GuardingItem`).
    detail : bool
        Return the item rows (every score used, with its oriented z) instead of the summary.

    Returns
    -------
    pandas.DataFrame
        Summary: ``subject, session, sign, label, assessable, flag, strength, aggregate, threshold,
        n_values, n_beyond, feature, task, phase, channel, z, reason, citation, interpretation``
        (``feature ... z`` locate the most extreme item). ``attrs["disclaimer"]`` and the
        ``interpretation`` column say it is not a diagnosis.
    """
    need = {"subject", "feature", "phase", "muscle", "side", "z", "value", "ref_min", "ref_max"}
    if not isinstance(scores, pd.DataFrame) or need - set(scores.columns):
        raise ParameterError("scores must be the output of paraspinal.norms.score",
                             hint=f"missing columns: {sorted(need - set(getattr(scores, 'columns', [])))}")
    if not threshold > 0:
        raise ParameterError(f"threshold must be > 0, got {threshold}")
    if aggregate not in ("mean", "median", "max"):
        raise ParameterError(f"aggregate={aggregate!r}", hint="use 'mean', 'median' or 'max'")
    defs = [d for d in definitions if (signs is None or d.name in signs) and (include_optional or not d.optional)]
    if signs is not None:
        unknown = sorted(set(signs) - {d.name for d in definitions})
        if unknown:
            raise ParameterError(f"unknown guarding sign(s) {unknown}", hint=f"use {[d.name for d in definitions]}")
    sc = scores.copy()
    if "session" not in sc.columns:
        sc["session"] = None
    sc["session"] = sc["session"].astype(object).where(sc["session"].notna(), "")
    for c in ("task", "channel"):
        if c not in sc.columns:
            sc[c] = ""
    items = []
    for d in defs:
        for it in d.items:
            m = (sc["feature"] == it.feature).to_numpy() & _muscle_mask(sc["muscle"], sc["side"], it.muscles)
            if it.phases is not None:
                m &= sc["phase"].isin(it.phases).to_numpy()
            part = sc[m].copy()
            if part.empty:
                continue
            part["sign"], part["item"], part["direction"] = d.name, it.text, it.direction
            part["d"] = it.direction * part["z"].to_numpy(float)
            lo, hi = part["ref_min"].to_numpy(float), part["ref_max"].to_numpy(float)
            v = part["value"].to_numpy(float)
            part["beyond_range"] = np.where(it.direction > 0, v > hi, v < lo)
            items.append(part)
    cols_item = ["subject", "session", "sign", "item", "feature", "task", "phase", "channel", "value", "z", "direction",
                 "d", "beyond_range", "note"]
    for part in items:
        if "note" not in part:
            part["note"] = ""
    item_table = (pd.concat(items, ignore_index=True)[cols_item] if items
                  else pd.DataFrame(columns=cols_item))
    if detail:
        item_table = item_table.assign(flag=item_table["d"] >= threshold)
        item_table["session"] = item_table["session"].where(item_table["session"] != "", None)
        item_table.attrs["disclaimer"] = NOT_A_DIAGNOSIS
        return item_table.sort_values(["subject", "session", "sign", "feature", "task", "phase", "channel"],
                                      kind="mergesort", na_position="first").reset_index(drop=True)

    who = sc[["subject", "session"]].drop_duplicates().sort_values(["subject", "session"], kind="mergesort")
    by_sign = {k: g for k, g in item_table.groupby(["subject", "session", "sign"], sort=False)} if len(item_table) else {}
    rows = []
    for subj, sess in who.itertuples(index=False):
        for d in defs:
            g = by_sign.get((subj, sess, d.name))
            row = dict(subject=subj, session=sess or None, sign=d.name, label=d.label, assessable=False, flag=False,
                       strength=np.nan, aggregate=aggregate, threshold=float(threshold), n_values=0, n_beyond=0,
                       feature=None, task=None, phase=None, channel=None, z=np.nan, reason="", citation=d.citation,
                       interpretation=NOT_A_DIAGNOSIS)
            if (g is None or g.empty) and d.measured_only:
                continue  # e.g. no electrode grid: the sign does not apply to this recording
            if g is None or g.empty:
                feats = ", ".join(sorted({it.feature for it in d.items}))
                row["reason"] = f"not assessable: no {feats} values for this subject in the scores"
                rows.append(row)
                continue
            row["assessable"] = True
            row["n_values"] = int(len(g))
            finite = np.isfinite(g["d"].to_numpy(float))
            fin = g[finite]
            outside = g[~finite & g["beyond_range"].astype(bool).to_numpy()]
            if len(fin):
                dv = fin["d"].to_numpy(float)
                strength = {"mean": np.mean, "median": np.median, "max": np.max}[aggregate](dv)
                worst = fin.iloc[int(np.argmax(dv))]
                row.update(strength=float(strength), flag=bool(strength >= threshold),
                           n_beyond=int((dv >= threshold).sum()), feature=worst["feature"], task=worst["task"] or None,
                           phase=worst["phase"], channel=worst["channel"], z=float(worst["z"]))
                verb = "flagged" if row["flag"] or len(outside) else "not flagged"
                row["reason"] = (f"{d.label} {verb}: {aggregate} {strength:+.1f} SD in the guarding direction over "
                                 f"{len(fin)} value(s), {row['n_beyond']} beyond {threshold:g} SD; most extreme: "
                                 f"{_item_sentence(worst['item'], worst)}")
                if len(outside):
                    first = outside.iloc[0]
                    row["flag"] = True
                    row["n_beyond"] += int(len(outside))
                    side = "above every" if first["direction"] > 0 else "below every"
                    row["reason"] += (f"; and {len(outside)} value(s) where all controls are equal lie {side} control "
                                      f"value, e.g. {first['item']} {first['value']:.3g} ({_where(first)})")
            else:
                if len(outside):
                    first = outside.iloc[0]
                    row.update(flag=True, n_beyond=int(len(outside)), feature=first["feature"],
                               task=first["task"] or None, phase=first["phase"], channel=first["channel"])
                    side = "above every" if first["direction"] > 0 else "below every"
                    row["reason"] = (f"{d.label} flagged: {first['item']} {first['value']:.3g} lies {side} control "
                                     f"value (controls all equal, z undefined) ({_where(first)})")
                else:
                    notes = {str(n) for n in g["note"].fillna("") if str(n)}
                    equal = "reference SD is zero (all controls equal): z undefined"
                    if notes <= {equal} and notes:
                        row["reason"] = (f"{d.label} not flagged: the controls' values are all equal (z undefined) "
                                         f"and this subject's lie within them")
                    else:  # nothing could be scored: say why (from the scores' notes)
                        row["assessable"] = False
                        row["reason"] = f"not assessable: {'; '.join(sorted(notes)) or 'no finite z-score'}"
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(disclaimer=NOT_A_DIAGNOSIS, threshold=float(threshold), aggregate=aggregate)
    return out
