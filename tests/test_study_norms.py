"""`study run` writes group statistics; `paraspinal norms build` writes the reference; the report shows both."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from study_helpers import make_study

from paraspinal import norms
from paraspinal.cli import main


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    root = make_study(tmp_path_factory.mktemp("study") / "bids", n_controls=3, n_patients=2, seed=3)
    out = tmp_path_factory.mktemp("out") / "out"
    res = CliRunner().invoke(main, ["study", "run", str(root), "-o", str(out), "-j", "1", "-q"])
    assert res.exit_code == 0, res.output
    return out


def test_group_statistics_written_by_study_run(processed):
    prov = json.loads((processed / "provenance.json").read_text())
    assert prov["group_statistics"] == "written"
    stats = pd.read_parquet(processed / "group_stats.parquet")
    csv = pd.read_csv(processed / "group_stats.csv")
    assert len(stats) == len(csv) > 0
    for col in ("feature", "auc", "hedges_g", "q_fdr", "n_control", "n_patient"):
        assert col in stats.columns
    # oracle: the textbook Hedges' g (Hedges & Olkin 1985), by hand from the subjects' ERR values
    feats = pd.read_parquet(processed / "features.parquet")
    row = stats[(stats["feature"] == "err") & (stats["task"] == "frt")].iloc[0]
    vals = feats[(feats["feature"] == "err") & (feats["task"] == "frt") & (feats["channel"] == row["channel"])
                 & (feats["phase"] == row["phase"]) & feats["cycle"].isna()]
    c = vals.loc[vals["group"] == "control", "value"].to_numpy()
    p = vals.loc[vals["group"] == "patient", "value"].to_numpy()
    assert (len(c), len(p)) == (row["n_control"], row["n_patient"]) == (3, 2)
    pooled = np.sqrt(((len(c) - 1) * c.var(ddof=1) + (len(p) - 1) * p.var(ddof=1)) / (len(c) + len(p) - 2))
    g = (1 - 3 / (4 * (len(c) + len(p)) - 9)) * (p.mean() - c.mean()) / pooled
    assert row["hedges_g"] == pytest.approx(g, rel=1e-9)


def test_norms_build_command(processed):
    res = CliRunner().invoke(main, ["norms", "build", str(processed)])
    assert res.exit_code == 0, res.output
    assert "3 subjects" in res.output
    ref = norms.load_reference(processed / "norms")
    assert ref.n_subjects == 3
    assert ref.envelopes is not None and len(ref.envelopes) > 0


def test_report_shows_group_statistics_and_guarding(processed):
    index = (processed / "report" / "index.html").read_text()
    assert "Group statistics" in index and "hedges_g" in index
    pages = sorted((processed / "report" / "subjects").glob("sub-*.html"))
    assert len(pages) == 5
    text = " ".join(re.sub(r"<[^>]+>", " ", p.read_text()) for p in pages)
    assert "Guarding profile" in text and "research measure, not a diagnosis" in text
    assert "(this subject left out)" in text  # controls are scored against the other controls


def test_view_command_needs_a_target():
    res = CliRunner().invoke(main, ["view"])
    assert res.exit_code == 2 and "give a FILE" in res.output
    res = CliRunner().invoke(main, ["view", "--study", "."])
    assert res.exit_code == 2 and "--study needs --subject" in res.output


def test_group_statistics_restored_when_missing_from_an_unchanged_output(processed):
    (processed / "group_stats.parquet").unlink()
    (processed / "group_stats.csv").unlink()
    res = CliRunner().invoke(main, ["study", "run", str(json.loads((processed / "provenance.json").read_text())
                                                        ["study"]["root"]), "-o", str(processed), "-j", "1", "-q",
                                    "--no-report"])
    assert res.exit_code == 0, res.output
    assert (processed / "group_stats.parquet").is_file() and (processed / "group_stats.csv").is_file()
