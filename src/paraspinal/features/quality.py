"""The ``quality`` column of the feature table: what may make a value untrustworthy.

A flexion-relaxation ratio divides by the EMG of full flexion, 1-3 uV in a healthy erector
spinae. Mains or ECG left there by the conditioning enters that denominator and lowers the
ratio (an artefact at 30 % of the EMG RMS raises the full-flexion RMS by 4.4 %); and phases
found from the EMG envelope alone (no annotation, no trunk angle) are found from the very
activity the ratio measures. Such values are still given, never dropped: the row says why it
should be read with care.

``quality`` holds, per row, the checks that apply to its feature:

``"ok"``
    every check that applies passed;
``"artefact"``
    the residual artefact of the channel in full flexion exceeds the stated fraction of its
    EMG there (:func:`paraspinal.preprocessing.residual_artefact`, ``flag_fraction`` 0.3;
    the reason is ``artefact_reason`` in a study's ``qc.parquet``);
``"artefact_unknown"``
    the residual artefact could not be measured on the channel (no static phase of 0.5 s);
``"phases_from_envelope"``
    the phases of the row come from the EMG envelope alone;
missing (None)
    no quality check is defined for the feature (amplitude, spectra, ...).

Several flags are joined by ``"|"`` in the order above (``"artefact|phases_from_envelope"``).

References
----------
Drake JDM, Callaghan JP (2006). Elimination of electrocardiogram contamination from
electromyogram signals: an evaluation of currently used removal techniques. J Electromyogr
Kinesiol 16(2):175-187.
Colloca CJ, Hinrichs RN (2005). The biomechanical and clinical significance of the lumbar
erector spinae flexion-relaxation phenomenon: a review of literature. J Manipulative Physiol
Ther 28(8):623-631.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["ARTEFACT_FEATURES", "ENVELOPE_PHASE_FEATURES", "QUALITY_FLAGS", "quality_column"]

#: Features whose value depends on the EMG of full flexion (the denominator or the silence
#: threshold), so on the artefact left there.
ARTEFACT_FEATURES: frozenset[str] = frozenset({
    "frr", "err", "std_ff_ratio", "half_flexion_ratio", "frp_present", "frp_onset_angle", "frp_cessation_angle"})
#: Features flagged when their phases come from the EMG envelope: the flexion-relaxation family.
ENVELOPE_PHASE_FEATURES: frozenset[str] = ARTEFACT_FEATURES | {"fer"}
#: The flags, in the order they are joined.
QUALITY_FLAGS: tuple[str, ...] = ("ok", "artefact", "artefact_unknown", "phases_from_envelope")


def _from_envelope(phase_source: str | Iterable[str] | None) -> bool:
    """True when the phases were found from the EMG envelope alone (source ``envelope...``)."""
    if phase_source is None:
        return False
    srcs = [phase_source] if isinstance(phase_source, str) else list(phase_source)
    return any(str(s).split("+")[0] == "envelope" for s in srcs)


def quality_column(features: pd.Series, channels: pd.Series, artefact: pd.DataFrame | None,
                   phase_source: str | Iterable[str] | None) -> pd.Series:
    """The ``quality`` of each feature-table row.

    Parameters
    ----------
    features, channels : pandas.Series
        The table's ``feature`` and ``channel`` columns.
    artefact : pandas.DataFrame or None
        Per-channel summary of :func:`paraspinal.preprocessing.residual_artefact` (columns
        ``channel`` and ``quality``: ``ok``/``artefact``/``unknown``); None: not measured,
        so every artefact-sensitive row is ``artefact_unknown``.
    phase_source : str, list of str or None
        Where the phases came from (``Recording.meta["phase_source"]``).

    Returns
    -------
    pandas.Series
        Object dtype, the table's index: flags joined by ``"|"``, None where no check applies.
    """
    # each distinct feature and channel is looked up once (code -1: a missing one)
    f_codes, f_uniq = pd.factorize(features)
    f_uniq = f_uniq.tolist()
    sens = np.array([f in ARTEFACT_FEATURES for f in f_uniq] + [False])[f_codes]
    env = _from_envelope(phase_source) & np.array([f in ENVELOPE_PHASE_FEATURES for f in f_uniq] + [False])[f_codes]
    verdict = {} if artefact is None else dict(zip(artefact["channel"], artefact["quality"]))
    c_codes, c_uniq = pd.factorize(channels)
    art = np.array([verdict.get(c, "unknown") for c in c_uniq.tolist()] + ["unknown"], dtype=object)[c_codes]
    flag = np.where(art == "ok", "ok", np.where(art == "artefact", "artefact", "artefact_unknown")).astype(object)
    out = np.full(len(features), None, dtype=object)
    out[sens] = flag[sens]
    # with envelope phases, "ok" gives way to the phase flag; another artefact flag is kept before it
    both = sens & env & (flag != "ok")
    out[env & ~both] = "phases_from_envelope"
    out[both] = flag[both] + "|phases_from_envelope"
    return pd.Series(out, index=features.index, dtype=object)
