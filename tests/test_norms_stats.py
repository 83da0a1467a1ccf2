"""Group statistics of paraspinal.norms against SciPy and worked examples.

Oracles: SciPy's own tests on the same numbers (ttest_ind(equal_var=False), mannwhitneyu,
wilcoxon, false_discovery_control), a worked example of Hedges' g from Borenstein et al. 2009,
a small-integer example derived by hand below, brute-force loops for the AUC, the Youden cut-off
and the leave-one-out classifier, and null simulations at the statistics level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from paraspinal import norms
from paraspinal.errors import ParameterError


def _table(values: dict[tuple[str, str], np.ndarray], groups=("control", "patient")) -> pd.DataFrame:
    """A tidy feature table: values[(feature, group)] = one value per subject."""
    rows = []
    for (feature, group), vals in values.items():
        for i, v in enumerate(vals):
            rows.append(dict(subject=f"{group[0]}{i:02d}", group=group, session=None, task="frt", run=None,
                             channel="L_MF", muscle="MF", side="L", phase="full_flexion", cycle=pd.NA,
                             feature=feature, value=float(v), unit="1"))
    df = pd.DataFrame(rows)
    df["cycle"] = df["cycle"].astype("Int64")
    return df


@pytest.fixture
def two_groups(rng):
    vals = {}
    for k, (shift, n1, n2) in enumerate([(0.0, 7, 9), (1.0, 12, 10), (-0.7, 6, 6), (2.5, 15, 20)]):
        vals[(f"f{k}", "control")] = rng.normal(0, 1, n1)
        vals[(f"f{k}", "patient")] = rng.normal(shift, 1.5, n2)
    # ties, to exercise the tie corrections of mannwhitneyu
    vals[("ties", "control")] = np.array([1, 2, 2, 3, 3, 3, 4, 5], float)
    vals[("ties", "patient")] = np.array([2, 3, 3, 4, 4, 5, 6], float)
    return vals, _table(vals)


def test_statistics_equal_scipy(two_groups):
    vals, df = two_groups
    st = norms.group_statistics(df, n_boot=200).set_index("feature")
    for f in st.index:
        x, y = vals[(f, "control")], vals[(f, "patient")]
        row = st.loc[f]
        assert row["n_control"] == x.size and row["n_patient"] == y.size
        assert row["mean_control"] == pytest.approx(x.mean()) and row["sd_patient"] == pytest.approx(y.std(ddof=1))
        w = stats.ttest_ind(y, x, equal_var=False)
        assert row["welch_t"] == pytest.approx(w.statistic, rel=1e-10)
        assert row["welch_p"] == pytest.approx(w.pvalue, rel=1e-8)
        assert row["welch_df"] == pytest.approx(w.df, rel=1e-10)
        u = stats.mannwhitneyu(y, x, alternative="two-sided")
        assert row["mwu_u"] == pytest.approx(u.statistic) and row["mwu_p"] == pytest.approx(u.pvalue, rel=1e-10)
        # AUC = U / (n1 n2) = P(Y > X) + P(Y = X) / 2, by brute force over all pairs
        pairs = (y[:, None] > x[None, :]).mean() + 0.5 * (y[:, None] == x[None, :]).mean()
        assert row["auc"] == pytest.approx(pairs) and row["auc"] == pytest.approx(norms.auc(x, y))
        assert row["auc_ci_low"] <= row["auc"] <= row["auc_ci_high"]
    q = stats.false_discovery_control(st["mwu_p"].to_numpy(float), method="bh")
    np.testing.assert_allclose(st["q_fdr"].to_numpy(float), q, rtol=1e-12)


@pytest.mark.parametrize("m", [1, 5, 37, 400])
def test_benjamini_hochberg_equals_scipy(m, rng):
    p = rng.uniform(0, 1, m) ** 3
    if m > 5:
        p[:5] = p[5]  # ties
    np.testing.assert_allclose(norms.benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


def test_benjamini_hochberg_hand_example_and_nan():
    # m = 4, sorted p = .01 .02 .03 .5: m p / i = .04 .04 .04 .5 -> q = .04 .04 .04 .5 (running min from the top)
    q = norms.benjamini_hochberg([0.03, np.nan, 0.5, 0.01, 0.02])
    np.testing.assert_allclose(q, [0.04, np.nan, 0.5, 0.04, 0.04])
    with pytest.raises(ParameterError):
        norms.benjamini_hochberg([0.2, 1.5])


def test_hedges_g_borenstein_worked_example():
    # Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis, Wiley,
    # chapter 4 ("Effect sizes based on means"), worked example for two independent groups:
    # treated mean 103, SD 5.5, n 50; control mean 100, SD 4.5, n 50 ->
    # S_within = 5.0249, d = 0.5970, V_d = 0.0418, J = 0.9923, g = 0.5924, V_g = 0.0411, SE_g = 0.2028.
    # These numbers are recalled from the book, not re-read here (page not checked). Each is re-derivable:
    # S_within = sqrt((49*4.5^2 + 49*5.5^2)/98) = sqrt(25.25) = 5.02494; d = 3/5.02494 = 0.59702;
    # V_d = 100/2500 + 0.59702^2/200 = 0.041782; J = 1 - 3/(4*98 - 1) = 0.992327; g = 0.592440;
    # V_g = 0.992327^2 * 0.041782 = 0.041144; SE_g = 0.202840.
    g, lo, hi, se = norms.hedges_g_from_summary(50, 100.0, 4.5, 50, 103.0, 5.5)
    assert float(g) == pytest.approx(0.5924, abs=5e-5)
    assert float(se) == pytest.approx(0.2028, abs=5e-5)
    assert float(se) ** 2 == pytest.approx(0.0411, abs=5e-5)
    assert (float(lo), float(hi)) == pytest.approx((0.5924 - 1.959964 * 0.2028, 0.5924 + 1.959964 * 0.2028), abs=2e-4)


def test_hedges_g_small_integer_example_by_hand():
    # Derived by hand (check it): x = 1..5 (reference), y = 3..7.
    # means 3 and 5; both variances (ddof 1) = 10/4 = 2.5; pooled SD s_p = sqrt(2.5) = 1.581139
    # d = (5 - 3) / sqrt(2.5) = 1.264911; df = 8; J = 1 - 3/(4*8 - 1) = 28/31 = 0.903226
    # g = J d = 1.142500
    # V_d = (5 + 5)/(5 * 5) + d^2/(2 (5 + 5)) = 0.4 + 1.6/20 = 0.48; V_g = J^2 V_d = 0.391592
    # 95 % CI = g -/+ 1.959964 sqrt(0.391592) = 1.142500 -/+ 1.226492 = (-0.083992, 2.368992)
    g, lo, hi = norms.hedges_g([1, 2, 3, 4, 5], [3, 4, 5, 6, 7])
    d = 2 / math.sqrt(2.5)
    j = 28 / 31
    assert g == pytest.approx(j * d, rel=1e-12)
    se = math.sqrt(j ** 2 * 0.48)
    z = stats.norm.ppf(0.975)
    assert (lo, hi) == pytest.approx((j * d - z * se, j * d + z * se), rel=1e-12)
    assert (g, lo, hi) == pytest.approx((1.142500, -0.083992, 2.368992), abs=2e-6)


def test_youden_cutoff_brute_force(rng):
    for _ in range(20):
        x = np.round(rng.normal(0, 1, rng.integers(3, 15)), 1)
        y = np.round(rng.normal(0.8, 1, rng.integers(3, 15)), 1)
        c, direction, se, sp = norms.youden_cutoff(x, y)
        assert direction == ("higher" if norms.auc(x, y) >= 0.5 else "lower")
        cands = np.unique(np.concatenate([x, y]))
        if direction == "higher":
            js = [(y >= t).mean() + (x < t).mean() - 1 for t in cands]
            assert se == pytest.approx((y >= c).mean()) and sp == pytest.approx((x < c).mean())
        else:
            js = [(y <= t).mean() + (x > t).mean() - 1 for t in cands]
            assert se == pytest.approx((y <= c).mean()) and sp == pytest.approx((x > c).mean())
        assert se + sp - 1 == pytest.approx(max(js))


def test_loso_accuracy_1d_brute_force(rng):
    for _ in range(10):
        x, y = rng.normal(0, 1, 7), rng.normal(1, 1, 9)
        right = []
        for own, other in ((x, y), (y, x)):
            for i in range(own.size):
                rest = np.delete(own, i)
                d_own, d_other = abs(own[i] - rest.mean()), abs(own[i] - other.mean())
                right.append(1.0 if d_own < d_other else 0.0 if d_own > d_other else 0.5)
        assert norms.loso_accuracy_1d(x, y) == pytest.approx(np.mean(right))


def test_loso_classify_separable_and_noise(rng):
    vals = {("a", "control"): rng.normal(0, 1, 8), ("a", "patient"): rng.normal(6, 1, 8),
            ("b", "control"): rng.normal(0, 1, 8), ("b", "patient"): rng.normal(0, 1, 8)}
    df = _table(vals)
    res = norms.loso_classify(df, ["a", "b"])
    assert res.accuracy == 1.0 and res.sensitivity == 1.0 and res.specificity == 1.0
    assert len(res.predictions) == 16 and res.columns == ["frt/full_flexion/MF/L/L_MF/a", "frt/full_flexion/MF/L/L_MF/b"]
    with pytest.raises(ParameterError):
        norms.loso_classify(df, ["nope"])


def test_bootstrap_ci_deterministic_and_order_free(two_groups):
    vals, df = two_groups
    a = norms.group_statistics(df, n_boot=300, seed=4)
    b = norms.group_statistics(df.sample(frac=1.0, random_state=1), n_boot=300, seed=4)
    pd.testing.assert_frame_equal(a, b)
    only = norms.group_statistics(df[df.feature == "f1"], n_boot=300, seed=4)
    row = a[a.feature == "f1"].iloc[0]
    assert only["auc_ci_low"].iloc[0] == row["auc_ci_low"] and only["auc_ci_high"].iloc[0] == row["auc_ci_high"]


def test_null_distribution_statistics_level():
    """Statistics-level null: 100 simulated tables, 40 features each, both groups from N(0, 1).

    Fast version of the synthetic-recording null study (test_norms_synthetic.py): the feature
    values are drawn directly instead of computed from recordings.
    """
    rng = np.random.default_rng(7)
    n1, n2, k, reps = 10, 12, 40, 100
    any_reject = 0
    aucs, welch_p = [], []
    for _ in range(reps):
        vals = {}
        for f in range(k):
            vals[(f"f{f}", "control")] = rng.normal(0, 1, n1)
            vals[(f"f{f}", "patient")] = rng.normal(0, 1, n2)
        st = norms.group_statistics(_table(vals), n_boot=0)
        any_reject += bool((st["q_fdr"] <= 0.10).any())
        aucs.append(st["auc"].to_numpy())
        welch_p.append(st["welch_p"].to_numpy())
    aucs, welch_p = np.concatenate(aucs), np.concatenate(welch_p)
    assert abs(aucs.mean() - 0.5) < 0.01
    # per test: about 5 % of p-values below 0.05 (binomial SD over 4000 tests = 0.34 %)
    assert 0.035 < (welch_p < 0.05).mean() < 0.065
    # under the global null, BH at q = 0.10 controls the family-wise error at 0.10 (Benjamini & Hochberg 1995)
    assert any_reject / reps <= 0.10 + 2 * math.sqrt(0.1 * 0.9 / reps)


def test_too_few_subjects_gives_nan_with_note():
    df = _table({("f", "control"): np.array([1.0]), ("f", "patient"): np.array([2.0, 3.0])})
    st = norms.group_statistics(df, n_boot=10)
    assert np.isnan(st["hedges_g"].iloc[0]) and np.isnan(st["mwu_p"].iloc[0])
    assert "fewer than 2" in st["note"].iloc[0]


def test_group_errors():
    df = _table({("f", "control"): np.arange(3.0), ("f", "patient"): np.arange(3.0)})
    with pytest.raises(ParameterError, match="not in the feature table"):
        norms.group_statistics(df, groups=("control", "lbp"))
    with pytest.raises(ParameterError, match="exactly two"):
        norms.group_statistics(df, groups=("control",))


def test_paired_statistics_equal_scipy(rng):
    rows = []
    pre = rng.normal(10, 2, 12)
    post = pre - rng.normal(1.0, 1.0, 12)
    for i in range(12):
        for sess, v in (("pre", pre[i]), ("post", post[i])):
            rows.append(dict(subject=f"p{i:02d}", group="patient", session=sess, task="frt", run=None, channel="L_MF",
                             muscle="MF", side="L", phase="full_flexion", cycle=pd.NA, feature="rms", value=v,
                             unit="uV"))
    # a subject with only one session is left out
    rows.append(dict(rows[0], subject="p99"))
    df = pd.DataFrame(rows)
    out = norms.paired_statistics(df, pre="pre", post="post")
    assert len(out) == 1
    row = out.iloc[0]
    d = post - pre
    assert row["n_pairs"] == 12
    assert row["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    w = stats.wilcoxon(post, pre)
    assert row["wilcoxon_w"] == pytest.approx(w.statistic) and row["wilcoxon_p"] == pytest.approx(w.pvalue)
    r = stats.rankdata(np.abs(d))
    assert row["rank_biserial"] == pytest.approx((r[d > 0].sum() - r[d < 0].sum()) / r.sum())


def test_rank_biserial_hand_example():
    # differences post - pre = +1, -2, +3, +4 -> ranks of |D| = 1, 2, 3, 4; T+ = 1 + 3 + 4 = 8, T- = 2
    # r = (8 - 2) / 10 = 0.6 (Kerby 2014, simple difference formula)
    rows = []
    for i, (a, b) in enumerate([(5, 6), (5, 3), (5, 8), (5, 9)]):
        for sess, v in (("pre", a), ("post", b)):
            rows.append(dict(subject=f"s{i}", group="patient", session=sess, task="t", run=None, channel="c",
                             muscle=None, side=None, phase="all", cycle=pd.NA, feature="f", value=float(v), unit="1"))
    out = norms.paired_statistics(pd.DataFrame(rows))
    assert out["rank_biserial"].iloc[0] == pytest.approx(0.6)
    assert out["mean_diff"].iloc[0] == pytest.approx(1.5)


def test_write_group_stats_atomic(tmp_path, two_groups):
    _, df = two_groups
    st = norms.group_statistics(df, n_boot=50)
    files = norms.write_group_stats(st, tmp_path / "OUT")
    assert [f.name for f in files] == ["group_stats.parquet", "group_stats.csv"]
    assert sorted(p.name for p in (tmp_path / "OUT").iterdir()) == ["group_stats.csv", "group_stats.parquet"]
    back = pd.read_parquet(files[0])
    pd.testing.assert_frame_equal(back, st.reset_index(drop=True), check_dtype=False)
    first = files[0].read_bytes()
    norms.write_group_stats(st, tmp_path / "OUT")
    assert files[0].read_bytes() == first
    expected = {"feature", "muscle", "side", "phase", "task", "n_control", "n_patient", "mean_control", "sd_control",
                "mean_patient", "sd_patient", "hedges_g", "g_ci_low", "g_ci_high", "welch_t", "welch_p", "mwu_u",
                "mwu_p", "q_fdr", "auc", "auc_ci_low", "auc_ci_high", "cutoff", "sensitivity", "specificity"}
    assert expected <= set(back.columns)


@pytest.mark.parametrize("nx, ny", [(6, 6), (40, 25), (7, 3)])
def test_auc_bootstrap_equals_ranking_each_resample(nx, ny):
    """The counts-and-comparison-matrix AUC equals ranking every resample (mid-ranks for ties)."""
    from scipy import stats as st

    from paraspinal.norms.stats import auc_bootstrap_ci

    rng = np.random.default_rng(nx * 100 + ny)
    x = np.round(rng.normal(size=nx), 1)  # rounding makes ties
    y = np.round(rng.normal(0.5, size=ny), 1)
    g = np.random.default_rng(0)  # the same draws as auc_bootstrap_ci(..., rng=0)
    ix, iy = g.integers(0, nx, (2000, nx)), g.integers(0, ny, (2000, ny))
    ranks = st.rankdata(np.concatenate([x[ix], y[iy]], axis=1), axis=1)
    a = (ranks[:, nx:].sum(axis=1) - ny * (ny + 1) / 2) / (nx * ny)
    np.testing.assert_allclose(auc_bootstrap_ci(x, y, rng=0), np.quantile(a, [0.025, 0.975]), atol=1e-12)
