"""The methods reference documents every feature and every statistic column the code writes.

A feature added to ``paraspinal.features.FEATURES``, or a column added to the output of
``paraspinal.norms.group_statistics`` / ``paired_statistics``, without a matching entry in
``docs/methods/`` fails these tests. A name counts as documented when it appears on the page in
inline-code form (between backticks), so a substring of prose ("cv" in "CV") does not count.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from paraspinal.features import FEATURES
from paraspinal.norms import DERIVED, KEYS, group_statistics, paired_statistics

METHODS = Path(__file__).resolve().parents[1] / "docs" / "methods"


def _code_names(page: str) -> set[str]:
    """Every inline-code span of a Markdown page (the text between single backticks)."""
    text = (METHODS / page).read_text(encoding="utf-8")
    return set(re.findall(r"`([^`\n]+)`", text))


def _missing(names, page: str) -> list[str]:
    documented = _code_names(page)
    return sorted(n for n in names if n not in documented)


def _tiny_table() -> pd.DataFrame:
    """A tidy feature table: 3 controls and 3 patients, two sessions, one feature."""
    rows = []
    for i, group in enumerate(["control"] * 3 + ["patient"] * 3):
        for session, shift in (("pre", 0.0), ("post", 1.0)):
            rows.append(dict(subject=f"s{i}", group=group, session=session, task="frt", run=None,
                             channel="L_LT", muscle="LT", side="L", phase="full_flexion", cycle=pd.NA,
                             feature="rms", value=float(i) + shift + (3.0 if group == "patient" else 0.0),
                             unit="uV"))
    df = pd.DataFrame(rows)
    df["cycle"] = df["cycle"].astype("Int64")
    return df


def test_every_registered_feature_is_on_the_features_page():
    assert FEATURES, "the feature registry is empty"
    missing = _missing(FEATURES, "features.md")
    assert not missing, f"features without an entry on docs/methods/features.md: {missing}"


def test_every_group_statistics_column_is_on_the_statistics_page():
    stats = group_statistics(_tiny_table(), n_boot=0)
    columns = [c for c in stats.columns if c not in KEYS]
    assert "hedges_g" in columns and "n_control" in columns  # the table really was computed
    missing = _missing(columns, "statistics.md")
    assert not missing, f"group_statistics columns without an entry on docs/methods/statistics.md: {missing}"


def test_every_paired_statistics_column_is_on_the_statistics_page():
    stats = paired_statistics(_tiny_table(), pre="pre", post="post")
    columns = [c for c in stats.columns if c not in KEYS]
    assert "d_z" in columns
    missing = _missing(columns, "statistics.md")
    assert not missing, f"paired_statistics columns without an entry on docs/methods/statistics.md: {missing}"


def test_derived_subject_level_features_are_on_the_statistics_page():
    missing = _missing(DERIVED, "statistics.md")
    assert not missing, f"derived features without an entry on docs/methods/statistics.md: {missing}"


@pytest.mark.parametrize("page", ["features.md", "statistics.md"])
def test_the_check_can_fail(page):
    """An undocumented name is reported (guards against a check that passes vacuously)."""
    assert _missing(["surely_not_a_documented_name"], page) == ["surely_not_a_documented_name"]
    assert len(_code_names(page)) > 20


def test_methods_pages_exist_and_end_with_references():
    for page in ("index.md", "conditioning.md", "features.md", "statistics.md", "synthetic.md"):
        text = (METHODS / page).read_text(encoding="utf-8")
        assert text.startswith("# "), f"{page} must start with one level-1 heading"
        assert len(re.findall(r"^# ", text, flags=re.M)) == 1, f"{page} has more than one level-1 heading"
        assert "## References" in text, f"{page} has no References section"
