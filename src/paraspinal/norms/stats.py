"""Group statistics of the feature table: effect sizes, tests, FDR, ROC, cut-offs, LOSO classification.

All statistics are computed on subject-level values (:func:`paraspinal.norms.subject_level`: cycles,
runs and sessions averaged within a subject), so that each subject counts once. They are
research statistics for group comparisons; none of them is a diagnostic criterion.

Conventions: the *first* group of ``groups`` is the reference (``"control"``), the second the
comparison (``"patient"``). Differences, effect sizes and the AUC are oriented so that a
positive ``hedges_g`` / an AUC above 0.5 means *higher values in the second group*.

References
----------
Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press, ch. 5
(bias-corrected standardised mean difference g and its large-sample variance).
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis.
Wiley, ch. 4 (formulas for d, J, g, V_d and V_g; worked example).
Welch BL (1947). The generalization of "Student's" problem when several different population
variances are involved. Biometrika 34:28-35.
Mann HB, Whitney DR (1947). On a test of whether one of two random variables is stochastically
larger than the other. Ann Math Stat 18:50-60.
Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical and powerful
approach to multiple testing. J R Stat Soc B 57:289-300.
Hanley JA, McNeil BJ (1982). The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology 143:29-36 (AUC = U / (n1 n2)).
Youden WJ (1950). Index for rating diagnostic tests. Cancer 3:32-35.
Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall (percentile CI).
Wilcoxon F (1945). Individual comparisons by ranking methods. Biometrics Bull 1:80-83.
Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed. (d_z).
Lakens D (2013). Calculating and reporting effect sizes to facilitate cumulative science.
Front Psychol 4:863 (d_z = mean difference / SD of the differences).
Kerby DS (2014). The simple difference formula: an approach to teaching nonparametric
correlation. Compr Psychol 3:11.IT.3.1 (matched-pairs rank-biserial correlation).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

from ..errors import ParameterError
from ._table import KEYS, restore_missing, subject_level, write_atomic

__all__ = [
    "benjamini_hochberg",
    "hedges_g",
    "hedges_g_from_summary",
    "welch_from_summary",
    "auc",
    "auc_bootstrap_ci",
    "youden_cutoff",
    "loso_accuracy_1d",
    "group_statistics",
    "paired_statistics",
    "LosoResult",
    "loso_classify",
    "write_group_stats",
]

DISCLAIMER = ("research statistics for group comparisons; not a diagnostic test "
              "(paraspinal sEMG as a diagnostic test for low-back pain is investigational)")


# ----------------------------------------------------------------------------- small pieces
def benjamini_hochberg(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg FDR-adjusted p-values (q-values) of a family of tests.

    With the m finite p-values sorted, ``p_(1) <= ... <= p_(m)``::

        q_(i) = min_{j >= i} min(1, m p_(j) / j)

    Rejecting every hypothesis with ``q <= alpha`` controls the false discovery rate at
    ``alpha`` for independent (or positively dependent) tests (Benjamini & Hochberg 1995).
    Non-finite p-values are left out of the family and returned as NaN.

    Parameters
    ----------
    p : array-like of float
        p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        q-values, same shape as ``p``.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.isfinite(flat)
    if np.any((flat[ok] < 0) | (flat[ok] > 1)):
        raise ParameterError("p-values must lie in [0, 1]", hint="check the tests that produced them")
    m = int(ok.sum())
    if m == 0:
        return q
    pv = flat[ok]
    order = np.argsort(pv, kind="mergesort")
    scaled = pv[order] * m / np.arange(1, m + 1)
    adj = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adj
    qf = q.ravel()
    qf[ok] = out
    return qf.reshape(p.shape)


def hedges_g_from_summary(n1, m1, s1, n2, m2, s2, *, confidence: float = 0.95) -> tuple[np.ndarray, ...]:
    """Hedges' g of group 2 versus group 1 from summary statistics, with its confidence interval.

    ::

        s_p  = sqrt(((n1 - 1) s1^2 + (n2 - 1) s2^2) / (n1 + n2 - 2))     pooled SD
        d    = (m2 - m1) / s_p                                             Cohen's d
        J    = 1 - 3 / (4 (n1 + n2 - 2) - 1)                               small-sample correction
        g    = J d
        V_d  = (n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2))                   large-sample variance of d
        V_g  = J^2 V_d
        CI   = g -/+ z_{1-alpha/2} sqrt(V_g)

    (Hedges & Olkin 1985, ch. 5; Borenstein et al. 2009, eqs. 4.18-4.24.) Vectorised: every
    argument may be an array. Entries with n < 2 in a group, or a pooled SD of 0, give NaN.

    Parameters
    ----------
    n1, m1, s1 : array-like
        Size, mean and SD (ddof = 1) of group 1 (the reference, e.g. controls).
    n2, m2, s2 : array-like
        The same for group 2 (e.g. patients).
    confidence : float
        Confidence level of the interval (normal approximation).

    Returns
    -------
    g, ci_low, ci_high, se : numpy.ndarray
    """
    n1, m1, s1, n2, m2, s2 = (np.asarray(a, dtype=float) for a in (n1, m1, s1, n2, m2, s2))
    df = n1 + n2 - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        sp = np.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / df)
        d = (m2 - m1) / sp
        j = 1.0 - 3.0 / (4.0 * df - 1.0)
        g = j * d
        vd = (n1 + n2) / (n1 * n2) + d ** 2 / (2.0 * (n1 + n2))
        se = np.sqrt(j ** 2 * vd)
    bad = (n1 < 2) | (n2 < 2) | ~(sp > 0)
    g, se = np.where(bad, np.nan, g), np.where(bad, np.nan, se)
    z = _st.norm.ppf(0.5 + confidence / 2.0)
    return g, g - z * se, g + z * se, se


def hedges_g(x: Sequence[float], y: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Hedges' g of ``y`` versus ``x`` (positive when ``y`` is larger) with its CI.

    See :func:`hedges_g_from_summary` for the formulas.

    Parameters
    ----------
    x, y : array-like
        Values of group 1 (reference) and group 2.
    confidence : float

    Returns
    -------
    (g, ci_low, ci_high) : tuple of float
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    sd = (lambda a: float(np.std(a, ddof=1)) if a.size > 1 else np.nan)
    g, lo, hi, _ = hedges_g_from_summary(x.size, x.mean() if x.size else np.nan, sd(x),
                                         y.size, y.mean() if y.size else np.nan, sd(y), confidence=confidence)
    return float(g), float(lo), float(hi)


def welch_from_summary(n1, m1, s1, n2, m2, s2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's unequal-variance t test of group 2 versus group 1 from summary statistics.

    ::

        t  = (m2 - m1) / sqrt(s1^2/n1 + s2^2/n2)
        df = (s1^2/n1 + s2^2/n2)^2 / ((s1^2/n1)^2/(n1-1) + (s2^2/n2)^2/(n2-1))     (Welch-Satterthwaite)
        p  = 2 P(T_df > |t|)

    (Welch 1947.) Equals ``scipy.stats.ttest_ind(y, x, equal_var=False)``.

    Returns
    -------
    t, df, p : numpy.ndarray
    """
    n1, m1, s1, n2, m2, s2 = (np.asarray(a, dtype=float) for a in (n1, m1, s1, n2, m2, s2))
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = s1 ** 2 / n1, s2 ** 2 / n2
        t = (m2 - m1) / np.sqrt(a + b)
        df = (a + b) ** 2 / (a ** 2 / (n1 - 1) + b ** 2 / (n2 - 1))
        p = 2.0 * _st.t.sf(np.abs(t), df)
    bad = (n1 < 2) | (n2 < 2) | ~((a + b) > 0)
    return np.where(bad, np.nan, t), np.where(bad, np.nan, df), np.where(bad, np.nan, p)


def auc(x: Sequence[float], y: Sequence[float]) -> float:
    """Area under the ROC curve for ``y`` (positives) against ``x`` (negatives).

    ``AUC = U_y / (n_x n_y) = P(Y > X) + P(Y = X) / 2``, where ``U_y`` is the Mann-Whitney
    statistic of ``y`` (Hanley & McNeil 1982). 0.5 = no separation; above 0.5 = ``y`` higher.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size == 0 or y.size == 0:
        return float("nan")
    ranks = _st.rankdata(np.concatenate([x, y]))
    u = ranks[x.size:].sum() - y.size * (y.size + 1) / 2.0
    return float(u / (x.size * y.size))


def _seed_for(seed: int, key: Any) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the key (not on table order)."""
    return np.random.default_rng([int(seed), zlib.crc32(repr(key).encode("utf-8"))])


def auc_bootstrap_ci(x: Sequence[float], y: Sequence[float], *, n_boot: int = 2000, confidence: float = 0.95,
                     rng: np.random.Generator | int | None = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the AUC (Efron & Tibshirani 1993).

    Controls and patients are resampled separately (stratified: the group sizes stay fixed),
    ``n_boot`` times. Every resample's AUC is its Mann-Whitney U over ``n_x n_y``, computed
    from how many times each original value was drawn: with ``C[i, j] = [y_j > x_i] +
    [y_j = x_i] / 2`` over the original values and the draw counts ``c_x``, ``c_y`` of a
    resample, ``U = c_x^T C c_y`` — the same number as ranking the resample (mid-ranks for
    ties), for all resamples at once by one matrix product.

    Parameters
    ----------
    x, y : array-like
        Negatives (controls) and positives (patients).
    n_boot : int
        Number of resamples.
    confidence : float
    rng : numpy.random.Generator or int
        Seed (deterministic output).

    Returns
    -------
    (low, high) : tuple of float
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2 or y.size < 2 or n_boot < 1:
        return float("nan"), float("nan")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    ix = rng.integers(0, x.size, (n_boot, x.size))
    iy = rng.integers(0, y.size, (n_boot, y.size))
    offsets = np.arange(n_boot)[:, None]
    cx = np.bincount((ix + offsets * x.size).ravel(), minlength=n_boot * x.size).reshape(n_boot, x.size)
    cy = np.bincount((iy + offsets * y.size).ravel(), minlength=n_boot * y.size).reshape(n_boot, y.size)
    comp = (y[None, :] > x[:, None]) + 0.5 * (y[None, :] == x[:, None])
    # c_x^T C c_y for every resample: one BLAS product, then row-wise dot products (exact:
    # integers and halves far below 2**53, so the order of summation does not matter)
    u = np.einsum("bj,bj->b", cx.astype(float) @ comp, cy)
    a = u / (x.size * y.size)
    alpha = 1.0 - confidence
    lo, hi = np.quantile(a, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def youden_cutoff(x: Sequence[float], y: Sequence[float], direction: str | None = None
                  ) -> tuple[float, str, float, float]:
    """Cut-off maximising Youden's J = sensitivity + specificity - 1 (Youden 1950).

    ``direction="higher"``: a value ``>= cutoff`` is called positive (``y``-like); ``"lower"``:
    a value ``<= cutoff`` is. With ``direction=None`` it follows the AUC side: ``"higher"``
    when AUC >= 0.5, else ``"lower"``. Candidate cut-offs are the observed values; among equal
    J the one with the higher sensitivity is kept.

    Parameters
    ----------
    x, y : array-like
        Negatives (controls) and positives (patients).
    direction : {"higher", "lower"} or None

    Returns
    -------
    (cutoff, direction, sensitivity, specificity) : tuple
        Sensitivity and specificity as fractions (0-1) in the same sample (optimistic: the
        cut-off was chosen on it).
    """
    x = np.sort(np.asarray(x, dtype=float))
    y = np.sort(np.asarray(y, dtype=float))
    if x.size == 0 or y.size == 0:
        return float("nan"), direction or "higher", float("nan"), float("nan")
    if direction is None:
        direction = "higher" if auc(x, y) >= 0.5 else "lower"
    if direction not in ("higher", "lower"):
        raise ParameterError(f"direction={direction!r}", hint="use 'higher', 'lower' or None")
    c = np.unique(np.concatenate([x, y]))
    if direction == "higher":
        se = 1.0 - np.searchsorted(y, c, "left") / y.size
        sp = np.searchsorted(x, c, "left") / x.size
        k = int(np.argmax(se + sp))  # ascending cut-offs: first max = highest sensitivity
    else:
        se = np.searchsorted(y, c, "right") / y.size
        sp = 1.0 - np.searchsorted(x, c, "right") / x.size
        j = se + sp
        k = int(np.flatnonzero(j == j.max())[-1])  # largest cut-off among ties = highest sensitivity
    return float(c[k]), direction, float(se[k]), float(sp[k])


def loso_accuracy_1d(x: Sequence[float], y: Sequence[float]) -> float:
    """Leave-one-subject-out accuracy of a one-feature nearest-centroid classifier.

    Each subject in turn is left out; the centroids (group means) are computed from the others
    and the subject is assigned to the nearer one (a tie counts as half right). In one
    dimension standardisation does not change the nearest centroid, so the held-out own-group
    mean is ``(n_g m_g - x_i) / (n_g - 1)`` in closed form.

    Returns
    -------
    float
        Fraction of subjects classified into their own group (NaN with < 2 per group).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2 or y.size < 2:
        return float("nan")

    def right(own: np.ndarray, other: np.ndarray) -> np.ndarray:
        m_own = (own.sum() - own) / (own.size - 1)
        d_own, d_other = np.abs(own - m_own), np.abs(own - other.mean())
        return np.where(d_own < d_other, 1.0, np.where(d_own > d_other, 0.0, 0.5))

    return float(np.concatenate([right(x, y), right(y, x)]).mean())


# ----------------------------------------------------------------------------- group statistics
def _two_groups(groups: Sequence[str]) -> tuple[str, str]:
    if isinstance(groups, str) or len(groups) != 2:
        raise ParameterError(f"groups must name exactly two groups, got {groups!r}",
                             hint='e.g. groups=("control", "patient"): reference first')
    return str(groups[0]), str(groups[1])


def group_statistics(features_df: pd.DataFrame, *, groups: Sequence[str] = ("control", "patient"),
                     by: Sequence[str] = KEYS, confidence: float = 0.95, n_boot: int = 2000, seed: int = 0,
                     fdr_on: str = "mwu", min_n: int = 2) -> pd.DataFrame:
    """Compare two groups feature by feature on subject-level values.

    One row per key (``by``: task, phase, muscle, side, channel, feature). With
    ``groups=(a, b)`` (``a`` = reference) the columns are::

        *by, unit, n_a, n_b, mean_a, sd_a, mean_b, sd_b, median_a, median_b,
        hedges_g, g_ci_low, g_ci_high, welch_t, welch_df, welch_p, mwu_u, mwu_p, q_fdr,
        auc, auc_ci_low, auc_ci_high, cutoff, direction, sensitivity, specificity,
        loso_accuracy, note

    * ``hedges_g`` (b - a) with its large-sample CI: :func:`hedges_g_from_summary`
      (Hedges & Olkin 1985; Borenstein et al. 2009 ch. 4);
    * ``welch_t, welch_df, welch_p``: Welch's t test of b versus a (= ``scipy.stats.ttest_ind(b, a,
      equal_var=False)``);
    * ``mwu_u, mwu_p``: ``scipy.stats.mannwhitneyu(b, a)`` (two-sided; exact for small samples
      without ties, else normal approximation with tie and continuity corrections); ``mwu_u``
      is the U of group b;
    * ``q_fdr``: Benjamini-Hochberg q-values of ``mwu_p`` (or ``welch_p``, ``fdr_on``) over all
      rows of the table (one family; Benjamini & Hochberg 1995);
    * ``auc = mwu_u / (n_a n_b)`` (Hanley & McNeil 1982) with a stratified percentile bootstrap
      CI (``n_boot`` resamples, seeded per key from ``seed``: the same key gives the same CI
      whatever else is in the table);
    * ``cutoff, direction, sensitivity, specificity``: Youden-optimal cut-off (:func:`youden_cutoff`);
      ``direction`` follows the AUC side ("higher": ``value >= cutoff`` is called b); the
      sensitivity and specificity are in-sample (optimistic) fractions;
    * ``loso_accuracy``: leave-one-subject-out accuracy of a one-feature nearest-centroid
      classifier (:func:`loso_accuracy_1d`); see :func:`loso_classify` for several features.

    Parameters
    ----------
    features_df : pandas.DataFrame
        The tidy feature table (all subjects of both groups).
    groups : (str, str)
        Reference group first.
    by : sequence of str
        Key columns.
    confidence : float
        Level of the confidence intervals.
    n_boot : int
        Bootstrap resamples of the AUC CI (0 skips it).
    seed : int
        Bootstrap seed.
    fdr_on : {"mwu", "welch"}
        Which p-values the BH q-values adjust.
    min_n : int
        Keys with fewer subjects in either group get NaN statistics and a note (>= 2).

    Returns
    -------
    pandas.DataFrame
        Sorted by key; ``attrs["disclaimer"]``, ``attrs["groups"]``, ``attrs["fdr"]``.

    Raises
    ------
    ParameterError
        Fewer or more than two groups named, or a group absent from the table.
    """
    a, b = _two_groups(groups)
    if fdr_on not in ("mwu", "welch"):
        raise ParameterError(f"fdr_on={fdr_on!r}", hint="use 'mwu' or 'welch'")
    min_n = max(2, int(min_n))
    by = list(by)
    sub = subject_level(features_df, by=by)
    present = set(sub["group"])
    for gname in (a, b):
        if gname not in present:
            raise ParameterError(f"group {gname!r} is not in the feature table (groups found: {sorted(present)})",
                                 hint="set groups=(reference, comparison) to labels of the group column")
    sub = sub[sub["group"].isin([a, b])]
    summ = sub.groupby(by + ["group"], sort=True)["value"].agg(["count", "mean", "std", "median"]).unstack("group")
    out = pd.DataFrame(index=summ.index)
    units = sub.groupby(by, sort=True)["unit"].first()
    out["unit"] = units.reindex(out.index)
    for stat in ("count", "mean", "std", "median"):
        for gname in (a, b):
            col = {"count": "n", "std": "sd"}.get(stat, stat)
            vals = summ[(stat, gname)] if (stat, gname) in summ.columns else np.nan
            out[f"{col}_{gname}"] = vals
    out[f"n_{a}"] = out[f"n_{a}"].fillna(0).astype(int)
    out[f"n_{b}"] = out[f"n_{b}"].fillna(0).astype(int)
    n1, n2 = out[f"n_{a}"].to_numpy(float), out[f"n_{b}"].to_numpy(float)
    m1, m2 = out[f"mean_{a}"].to_numpy(float), out[f"mean_{b}"].to_numpy(float)
    s1, s2 = out[f"sd_{a}"].to_numpy(float), out[f"sd_{b}"].to_numpy(float)
    g, lo, hi, _ = hedges_g_from_summary(n1, m1, s1, n2, m2, s2, confidence=confidence)
    t, df, p = welch_from_summary(n1, m1, s1, n2, m2, s2)
    enough = (n1 >= min_n) & (n2 >= min_n)
    out["hedges_g"], out["g_ci_low"], out["g_ci_high"] = [np.where(enough, v, np.nan) for v in (g, lo, hi)]
    out["welch_t"], out["welch_df"], out["welch_p"] = [np.where(enough, v, np.nan) for v in (t, df, p)]

    # per-key rank statistics (need the values themselves)
    k = len(out)
    cols = {c: np.full(k, np.nan) for c in ("mwu_u", "mwu_p", "auc", "auc_ci_low", "auc_ci_high", "cutoff",
                                            "sensitivity", "specificity", "loso_accuracy")}
    direction = np.full(k, None, dtype=object)
    note = np.full(k, "", dtype=object)
    pos = {key: i for i, key in enumerate(out.index)}
    values = {key: v.to_numpy(float) for key, v in sub.groupby(by + ["group"], sort=True)["value"]}
    for key, i in pos.items():
        kt = key if isinstance(key, tuple) else (key,)
        x = values.get(kt + (a,), np.empty(0))
        y = values.get(kt + (b,), np.empty(0))
        if x.size < min_n or y.size < min_n:
            note[i] = f"fewer than {min_n} subjects in a group ({a}: {x.size}, {b}: {y.size}): no statistics"
            continue
        res = _st.mannwhitneyu(y, x, alternative="two-sided")
        cols["mwu_u"][i], cols["mwu_p"][i] = float(res.statistic), float(res.pvalue)
        cols["auc"][i] = float(res.statistic) / (x.size * y.size)
        if n_boot:
            cols["auc_ci_low"][i], cols["auc_ci_high"][i] = auc_bootstrap_ci(
                x, y, n_boot=n_boot, confidence=confidence, rng=_seed_for(seed, kt))
        c, d, se, sp = youden_cutoff(x, y, "higher" if cols["auc"][i] >= 0.5 else "lower")
        cols["cutoff"][i], direction[i], cols["sensitivity"][i], cols["specificity"][i] = c, d, se, sp
        cols["loso_accuracy"][i] = loso_accuracy_1d(x, y)
        if not (np.std(x) > 0 or np.std(y) > 0):
            note[i] = "all values equal: no spread"
    for c, v in cols.items():
        out[c] = v
    out["q_fdr"] = benjamini_hochberg(out["mwu_p" if fdr_on == "mwu" else "welch_p"].to_numpy(float))
    out["direction"] = direction
    out["note"] = note
    order = ["unit", f"n_{a}", f"n_{b}", f"mean_{a}", f"sd_{a}", f"mean_{b}", f"sd_{b}", f"median_{a}",
             f"median_{b}", "hedges_g", "g_ci_low", "g_ci_high", "welch_t", "welch_df", "welch_p", "mwu_u", "mwu_p",
             "q_fdr", "auc", "auc_ci_low", "auc_ci_high", "cutoff", "direction", "sensitivity", "specificity",
             "loso_accuracy", "note"]
    res = restore_missing(out[order].reset_index(), by)
    res.attrs.update(disclaimer=DISCLAIMER, groups=[a, b], fdr=f"Benjamini-Hochberg over all {int(np.isfinite(out['q_fdr']).sum())} "
                     f"rows with a p-value, on {fdr_on}_p", confidence=confidence, n_boot=n_boot, seed=seed,
                     aggregation="subject-level values: pooled-cycle rows (else mean of cycles), then mean of runs "
                                 "and sessions")
    return res


# ----------------------------------------------------------------------------- multi-feature LOSO
@dataclass
class LosoResult:
    """Leave-one-subject-out cross-validated classification (see :func:`loso_classify`).

    Attributes
    ----------
    predictions : pandas.DataFrame
        ``subject, group, predicted, distance_<a>, distance_<b>`` per held-out subject.
    accuracy, sensitivity, specificity : float
        Fractions; sensitivity = patients (group b) called b, specificity = controls called a.
    columns : list of str
        The feature columns used (``task/phase/channel/feature``).
    dropped : list of str
        Columns left out (missing in some subject).
    """

    predictions: pd.DataFrame
    accuracy: float
    sensitivity: float
    specificity: float
    columns: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    method: str = "standardised nearest centroid"


def loso_classify(features_df: pd.DataFrame, features: Sequence[str] | None = None, *,
                  groups: Sequence[str] = ("control", "patient"), by: Sequence[str] = KEYS,
                  select: dict[str, Any] | None = None) -> LosoResult:
    """Leave-one-subject-out accuracy of a standardised nearest-centroid classifier.

    Features are the subject-level values of the chosen keys (a wide subject x column matrix;
    columns missing in any subject are dropped and listed). For each subject in turn, using the
    other subjects only: every column is standardised with the training mean and SD (ddof = 1;
    zero-SD columns skipped), the two group centroids are the training means of the
    standardised columns, and the held-out subject goes to the nearer centroid (Euclidean
    distance; a tie goes to the reference group). Nothing of the held-out subject enters the
    standardisation or the centroids, so the accuracy is not optimistic the way an in-sample
    cut-off is (Tibshirani et al. 2002 use shrunken centroids; this is the unshrunken form).

    Parameters
    ----------
    features_df : pandas.DataFrame
        Tidy feature table.
    features : sequence of str, optional
        Feature names to use (default: all).
    groups : (str, str)
        Reference group first.
    by : sequence of str
        Key columns (define the matrix columns).
    select : dict, optional
        Filters on key columns, e.g. ``{"task": "frt", "phase": "full_flexion"}`` (a value or a
        list of values).

    Returns
    -------
    LosoResult
    """
    a, b = _two_groups(groups)
    by = list(by)
    sub = subject_level(features_df, by=by)
    sub = sub[sub["group"].isin([a, b])]
    if features is not None:
        sub = sub[sub["feature"].isin(list(features))]
    for col, val in (select or {}).items():
        if col not in sub.columns:
            raise ParameterError(f"select names the column {col!r}, which is not a key", hint=f"use one of {by}")
        vals = [val] if isinstance(val, str) or not isinstance(val, (list, tuple, set)) else list(val)
        sub = sub[sub[col].isin([str(v) for v in vals])]
    if sub.empty:
        raise ParameterError("no subject-level values left for the classifier",
                             hint="check features= and select= against the feature table")
    sub = sub.assign(_col=sub[by].agg("/".join, axis=1))
    wide = sub.pivot_table(index=["subject", "group"], columns="_col", values="value", aggfunc="mean").sort_index(axis=1)
    dropped = [c for c in wide.columns if wide[c].isna().any()]
    wide = wide.drop(columns=dropped)
    if wide.shape[1] == 0:
        raise ParameterError("every feature column is missing in at least one subject",
                             hint="choose features every subject has")
    grp = wide.index.get_level_values("group").to_numpy()
    counts = {gname: int((grp == gname).sum()) for gname in (a, b)}
    if min(counts.values()) < 2:
        raise ParameterError(f"leave-one-subject-out needs >= 2 subjects per group, got {counts}")
    X = wide.to_numpy(float)
    n = X.shape[0]
    pred = np.empty(n, dtype=object)
    dist = np.full((n, 2), np.nan)
    for i in range(n):
        train = np.arange(n) != i
        mu = X[train].mean(axis=0)
        sd = X[train].std(axis=0, ddof=1)
        use = sd > 0
        Z = (X[:, use] - mu[use]) / sd[use]
        ca = Z[train & (grp == a)].mean(axis=0)
        cb = Z[train & (grp == b)].mean(axis=0)
        dist[i] = np.linalg.norm(Z[i] - ca), np.linalg.norm(Z[i] - cb)
        pred[i] = b if dist[i, 1] < dist[i, 0] else a
    preds = pd.DataFrame({"subject": wide.index.get_level_values("subject"), "group": grp, "predicted": pred,
                          f"distance_{a}": dist[:, 0], f"distance_{b}": dist[:, 1]})
    correct = preds["predicted"] == preds["group"]
    return LosoResult(predictions=preds, accuracy=float(correct.mean()),
                      sensitivity=float(correct[grp == b].mean()), specificity=float(correct[grp == a].mean()),
                      columns=list(wide.columns), dropped=dropped)


# ----------------------------------------------------------------------------- paired pre/post
def paired_statistics(features_df: pd.DataFrame, pre: str = "pre", post: str = "post", *, by: Sequence[str] = KEYS,
                      group: str | None = None, min_n: int = 2) -> pd.DataFrame:
    """Paired pre/post comparison across sessions (treatment studies), per key.

    Subject-level values per session (cycles and runs averaged); only subjects with both
    sessions enter. Per key, with differences ``D = post - pre``::

        mean_diff = mean(D),  sd_diff = SD(D, ddof=1)
        d_z       = mean_diff / sd_diff                          (Cohen 1988; Lakens 2013, eq. 6)
        wilcoxon  = scipy.stats.wilcoxon(post, pre)              (two-sided; zero differences dropped)
        r_rb      = (T+ - T-) / (T+ + T-)                         matched-pairs rank-biserial (Kerby 2014)

    where ``T+`` and ``T-`` are the sums of the ranks of ``|D|`` (non-zero D) with positive and
    negative sign; ``r_rb`` lies in [-1, 1], positive = values higher after. ``q_fdr`` are
    Benjamini-Hochberg q-values of ``wilcoxon_p`` over the table.

    Parameters
    ----------
    features_df : pandas.DataFrame
        Tidy feature table with a ``session`` column.
    pre, post : str
        Session labels.
    by : sequence of str
        Key columns.
    group : str, optional
        Restrict to one group (e.g. ``"patient"``).
    min_n : int
        Keys with fewer pairs get NaN statistics and a note.

    Returns
    -------
    pandas.DataFrame
        ``*by, unit, n_pairs, mean_pre, mean_post, mean_diff, sd_diff, d_z, wilcoxon_w, wilcoxon_p,
        rank_biserial, q_fdr, note``.
    """
    by = list(by)
    if "session" not in features_df.columns:
        raise ParameterError("the feature table has no session column", hint="paired statistics compare sessions")
    sub = subject_level(features_df, by=by, sessions="keep")
    if group is not None:
        sub = sub[sub["group"] == group]
    found = sorted(set(sub["session"]))
    for lab in (pre, post):
        if lab not in found:
            raise ParameterError(f"session {lab!r} is not in the feature table (sessions found: {found})",
                                 hint="set pre= and post= to session labels")
    sub = sub[sub["session"].isin([pre, post])]
    wide = sub.pivot_table(index=by + ["subject"], columns="session", values="value", aggfunc="mean")
    wide = wide.dropna(subset=[pre, post])
    units = sub.groupby(by, sort=True)["unit"].first()
    rows = []
    for key, w in wide.groupby(level=list(range(len(by))), sort=True):
        x0, x1 = w[pre].to_numpy(float), w[post].to_numpy(float)
        d = x1 - x0
        n = d.size
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row.update(unit=units.get(key), n_pairs=n, mean_pre=x0.mean(), mean_post=x1.mean(), mean_diff=d.mean(),
                   sd_diff=np.nan, d_z=np.nan, wilcoxon_w=np.nan, wilcoxon_p=np.nan, rank_biserial=np.nan, note="")
        if n < min_n:
            row["note"] = f"fewer than {min_n} complete pairs: no statistics"
            rows.append(row)
            continue
        sd = float(np.std(d, ddof=1))
        row["sd_diff"] = sd
        row["d_z"] = d.mean() / sd if sd > 0 else np.nan
        nz = d[d != 0]
        if nz.size == 0:
            row["note"] = "all differences are zero"
        else:
            r = _st.rankdata(np.abs(nz))
            tp, tm = r[nz > 0].sum(), r[nz < 0].sum()
            row["rank_biserial"] = (tp - tm) / (tp + tm)
            res = _st.wilcoxon(x1, x0)
            row["wilcoxon_w"], row["wilcoxon_p"] = float(res.statistic), float(res.pvalue)
        if not sd > 0:
            row["note"] = (row["note"] + "; " if row["note"] else "") + "zero SD of differences: d_z undefined"
        rows.append(row)
    cols = by + ["unit", "n_pairs", "mean_pre", "mean_post", "mean_diff", "sd_diff", "d_z", "wilcoxon_w", "wilcoxon_p",
                 "rank_biserial", "q_fdr", "note"]
    out = pd.DataFrame(rows, columns=[c for c in cols if c != "q_fdr"])
    out.insert(len(by) + 10, "q_fdr", benjamini_hochberg(out["wilcoxon_p"].to_numpy(float)))
    out = restore_missing(out[cols], by)
    out.attrs.update(disclaimer=DISCLAIMER, pre=pre, post=post)
    return out


# ----------------------------------------------------------------------------- output
def write_group_stats(stats: pd.DataFrame, out_dir: str | os.PathLike, *, name: str = "group_stats") -> list[Path]:
    """Write a statistics table as ``OUT/<name>.parquet`` and ``OUT/<name>.csv``, atomically.

    Each file is written to a temporary file in the same folder and moved into place with
    :func:`os.replace`, so a reader never sees half a file.

    Parameters
    ----------
    stats : pandas.DataFrame
        Output of :func:`group_statistics` or :func:`paired_statistics`.
    out_dir : path-like
        Study output folder (created if missing).
    name : str
        File stem.

    Returns
    -------
    list of pathlib.Path
        The two files written.
    """
    if not isinstance(stats, pd.DataFrame):
        raise ParameterError(f"stats must be a DataFrame, got {type(stats).__name__}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = stats.copy()
    table.attrs = {}
    pq, csv = out / f"{name}.parquet", out / f"{name}.csv"
    write_atomic(table, pq, "parquet")
    write_atomic(table, csv, "csv")
    return [pq, csv]
