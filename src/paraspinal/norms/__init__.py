"""Normative reference from controls, z-scores, guarding profiles and group statistics.

>>> from paraspinal import norms  # doctest: +SKIP
>>> ref = norms.build_reference(features, group="control")  # doctest: +SKIP
>>> scores = norms.score(features_of_one_patient, ref)  # doctest: +SKIP
>>> profile = norms.guarding_profile(scores)  # doctest: +SKIP
>>> stats = norms.group_statistics(features)  # doctest: +SKIP

Every comparison uses *subject-level* values (:func:`subject_level`): cycles, runs and sessions
averaged within a subject, so each subject counts once. Guarding profiles and z-scores are
research measures, not diagnoses (METHODS.md 2.3: no validated sEMG criterion of guarding or
spasm exists; paraspinal sEMG as a diagnostic test for low-back pain is investigational).

See ``docs/norms.md``.
"""

from __future__ import annotations

from ._table import DERIVED, KEYS, subject_level
from .literature import (
    CAVEAT,
    ReferenceSet,
    apply_cutoffs,
    get_reference_set,
    list_reference_sets,
    reference_sets_table,
)
from .reference import (
    NormativeReference,
    build_from_study,
    build_reference,
    envelope_band,
    envelope_curves,
    kinematic_features,
    load_reference,
)
from .scoring import GUARDING_SIGNS, NOT_A_DIAGNOSIS, GuardingItem, GuardingSign, guarding_profile, score
from .stats import (
    LosoResult,
    auc,
    auc_bootstrap_ci,
    benjamini_hochberg,
    group_statistics,
    hedges_g,
    hedges_g_from_summary,
    loso_accuracy_1d,
    loso_classify,
    paired_statistics,
    welch_from_summary,
    write_group_stats,
    youden_cutoff,
)

__all__ = [
    "KEYS", "DERIVED", "subject_level",
    "NormativeReference", "build_reference", "load_reference", "build_from_study",
    "envelope_curves", "envelope_band", "kinematic_features",
    "score", "guarding_profile", "GuardingItem", "GuardingSign", "GUARDING_SIGNS", "NOT_A_DIAGNOSIS",
    "group_statistics", "paired_statistics", "write_group_stats", "loso_classify", "LosoResult",
    "benjamini_hochberg", "hedges_g", "hedges_g_from_summary", "welch_from_summary", "auc", "auc_bootstrap_ci",
    "youden_cutoff", "loso_accuracy_1d",
    "ReferenceSet", "list_reference_sets", "get_reference_set", "reference_sets_table", "apply_cutoffs", "CAVEAT",
]
