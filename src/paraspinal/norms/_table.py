"""Subject-level values from the tidy feature table (shared by the reference, scoring and statistics).

Every comparison in :mod:`paraspinal.norms` is made on *subject-level* values: one number per
subject (and session, when sessions are kept), task, phase, channel and feature. The rule:

1. within one recording (subject, session, task, run), the pooled row of a phase (``cycle`` empty)
   is used when the feature table has one for that channel, phase and feature; otherwise the
   mean over the per-cycle rows;
2. the recording-level values are then averaged over runs (and over sessions unless
   ``sessions="keep"``).

So each subject counts once, however many cycles or runs it has: subjects, not cycles, are the
independent units of a group comparison (cycles of one subject are repeated measures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import atomic_path
from .._files import write_text_atomic as _write_text
from ..errors import ParameterError, WriteError

#: Default key of a comparison: one value per subject for each of these.
KEYS: tuple[str, ...] = ("task", "phase", "muscle", "side", "channel", "feature")

#: Columns of the tidy feature table (DESIGN.md, "The feature table").
TABLE_COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run", "channel", "muscle", "side",
                                  "phase", "cycle", "feature", "value", "unit")

#: Derived subject-level features computed here from the per-cycle rows.
DERIVED = {
    "rms_cycle_cv": "between-repetition coefficient of variation of the phase RMS, "
                    "SD(rms over cycles, ddof=1) / mean(rms over cycles); needs >= 2 cycles; toolkit-defined "
                    "(less variable repetitions in LBP: Hodges & Tucker 2011; van Dieen, Flor & Hodges 2017)",
}

_MISSING = ""


def check_table(df: pd.DataFrame, *, what: str = "features_df", by: Sequence[str] = KEYS) -> None:
    """Raise :class:`~paraspinal.errors.ParameterError` when ``df`` is not a tidy feature table."""
    if not isinstance(df, pd.DataFrame):
        raise ParameterError(f"{what} must be a pandas DataFrame (the tidy feature table), got {type(df).__name__}",
                             hint="pass the output of paraspinal.analyze / features.compute or OUT/features.parquet")
    need = {"subject", "group", "feature", "value", *by}
    missing = sorted(need - set(df.columns))
    if missing:
        raise ParameterError(f"{what} lacks the column(s) {missing}",
                             hint=f"the tidy feature table has the columns {list(TABLE_COLUMNS)}")


def _key_frame(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Key columns as strings, missing values as "" (so groupby keeps them and sorts deterministically)."""
    out = {}
    for c in cols:
        s = df[c] if c in df.columns else pd.Series(None, index=df.index, dtype=object)
        out[c] = s.astype(object).where(s.notna(), _MISSING).astype(str)
    return pd.DataFrame(out, index=df.index)


def restore_missing(df: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """Turn the "" placeholders of key columns back into None."""
    df = df.copy()
    for c in cols:
        if c in df.columns:
            df[c] = df[c].astype(object).where(df[c] != _MISSING, None)
    return df


def subject_level(features_df: pd.DataFrame, *, by: Sequence[str] = KEYS, sessions: str = "mean",
                  derived: bool = True) -> pd.DataFrame:
    """One value per subject (and session) and key: cycles, then runs (and sessions) averaged.

    Parameters
    ----------
    features_df : pandas.DataFrame
        The tidy feature table (``subject, group, session, task, run, channel, muscle, side, phase,
        cycle, feature, value, unit``), any number of subjects.
    by : sequence of str
        Key columns (default :data:`KEYS`: task, phase, muscle, side, channel, feature).
    sessions : {"mean", "keep"}
        Average over sessions (a reference, a group comparison) or keep them apart (pre/post).
    derived : bool
        Add the derived features of :data:`DERIVED` (``rms_cycle_cv``).

    Returns
    -------
    pandas.DataFrame
        ``subject, group, [session,] *by, value, unit, n_values``, sorted by subject and key;
        missing key values are "" (empty string). ``n_values`` counts the recording-level values
        averaged.

    Raises
    ------
    ParameterError
        A subject belongs to more than one group, or a key has more than one unit.
    """
    check_table(features_df, by=by)
    if sessions not in ("mean", "keep"):
        raise ParameterError(f"sessions={sessions!r}", hint="use 'mean' or 'keep'")
    by = list(by)
    df = features_df
    if "unit" not in df.columns:
        df = df.assign(unit="")
    # recording identity: subject, session, task, run (+ the keys)
    rec_cols = ["subject", "group", "session", "run"]
    keys = _key_frame(df, list(dict.fromkeys(rec_cols + by + ["unit"])))
    values = pd.to_numeric(df["value"], errors="coerce").astype(float)
    cycle = df["cycle"] if "cycle" in df.columns else pd.Series(pd.NA, index=df.index)
    pooled = cycle.isna().to_numpy()
    work = keys.assign(value=values.to_numpy(), _pooled=pooled, _cycle=cycle.to_numpy())
    work = work[np.isfinite(work["value"].to_numpy())]
    group_cols = list(dict.fromkeys(rec_cols + by))

    # derived: between-cycle CV of the phase RMS, from the per-cycle rows of each recording
    extra = None
    if derived and "feature" in by:
        rms = work[(work["feature"] == "rms") & ~work["_pooled"]]
        if len(rms):
            g = rms.groupby(group_cols + ["unit"], sort=False)["value"]
            agg = g.agg(["mean", "std", "count"]).reset_index()
            agg = agg[(agg["count"] >= 2) & (agg["mean"] != 0)]
            if len(agg):
                extra = agg[group_cols + ["unit"]].copy()
                extra["feature"] = "rms_cycle_cv"
                extra["unit"] = "1"
                extra["value"] = (agg["std"] / agg["mean"]).to_numpy()
                extra["_pooled"] = True
    # pooled row when the recording has one for this key, else mean over cycles
    has_pooled = work.groupby(group_cols, sort=False)["_pooled"].transform("any")
    work = work[work["_pooled"] | ~has_pooled]
    if extra is not None:
        work = pd.concat([work, extra[work.columns.drop("_cycle")]], ignore_index=True)
    units = work.groupby(by, sort=False)["unit"].nunique()
    if (units > 1).any():
        bad = units[units > 1].index[0]
        raise ParameterError(f"feature values of one key have different units: {bad}",
                             hint="compute all recordings with the same normalisation (uV or %MVC...) "
                                  "or pass them separately")
    rec = work.groupby(group_cols + ["unit"], sort=False)["value"].mean().reset_index()
    out_cols = ["subject", "group"] + (["session"] if sessions == "keep" else []) + by
    sub = rec.groupby(out_cols + ["unit"], sort=True)["value"].agg(["mean", "count"]).reset_index()
    sub = sub.rename(columns={"mean": "value", "count": "n_values"})
    groups = sub.groupby("subject")["group"].nunique()
    if (groups > 1).any():
        bad = groups[groups > 1].index.tolist()
        raise ParameterError(f"subject(s) {bad} appear in more than one group",
                             hint="fix the group column of participants.tsv or the manifest")
    return sub[out_cols + ["value", "unit", "n_values"]].reset_index(drop=True)


def write_atomic(df: pd.DataFrame, path: Path, kind: str) -> None:
    """Write a table as Parquet or CSV through a temporary file and :func:`os.replace`."""
    try:
        with atomic_path(path) as tmp:
            if kind == "parquet":
                df.to_parquet(tmp, index=False, engine="pyarrow")
            else:
                df.to_csv(tmp, index=False, lineterminator="\n")
    except OSError as err:
        raise WriteError(f"could not write ({err})", file=path, hint="check the folder exists and is writable") from err


def write_text_atomic(text: str, path: Path) -> None:
    """Write a text file through a temporary file and :func:`os.replace`."""
    try:
        _write_text(path, text)
    except OSError as err:
        raise WriteError(f"could not write ({err})", file=path, hint="check the folder exists and is writable") from err
