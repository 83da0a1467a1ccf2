"""Group statistics of a study's output folder (controls against patients, per feature)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = ["write_group_statistics"]


def write_group_statistics(out: str | os.PathLike, *, groups: tuple[str, str] = ("control", "patient"),
                           min_subjects: int = 2) -> str:
    """Write ``OUT/group_stats.parquet`` and ``.csv``: controls against patients, per feature.

    One row per task x phase x muscle x side x channel x feature, from
    :func:`paraspinal.norms.group_statistics` (group means and SDs, Hedges' g with its 95 % CI,
    Welch t, Mann-Whitney U, Benjamini-Hochberg q, ROC AUC with bootstrap CI, Youden cut-off).
    When either group has fewer than ``min_subjects`` subjects, stale files are removed and
    nothing is written.

    Parameters
    ----------
    out : path-like
        A study output folder holding ``features.parquet``.
    groups : (str, str)
        Reference group and comparison group.
    min_subjects : int
        Subjects needed in each group.

    Returns
    -------
    str
        ``"written"``, or why nothing was written (recorded in provenance.json).
    """
    from .. import norms

    out = Path(out)
    targets = [out / "group_stats.parquet", out / "group_stats.csv"]
    feats = pd.read_parquet(out / "features.parquet") if (out / "features.parquet").is_file() else None
    counts = feats.groupby("group")["subject"].nunique() if feats is not None and len(feats) else pd.Series()
    have = {g: int(counts.get(g, 0)) for g in groups}
    if min(have.values()) < min_subjects:
        for t in targets:
            t.unlink(missing_ok=True)
        return f"not written: needs at least {min_subjects} subjects in each of {list(groups)}, found {have}"
    norms.write_group_stats(norms.group_statistics(feats, groups=groups), out)
    return "written"
