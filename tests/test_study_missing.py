"""A study says, per recording and channel, which expected features are missing and why (qc.parquet, report).

The study is written by hand (tests/test_phases_files.py's burst generator: edfio EDF files, BIDS
TSVs without a cycle column), not by paraspinal.synth.
"""

from __future__ import annotations

import warnings

import pandas as pd

import paraspinal as ps
from test_phases_files import EXTENSORS, write_study


def test_unknown_full_flexion_label_is_reported_per_channel(tmp_path):
    study = write_study(tmp_path / "study", {"01": "control", "02": "patient"})
    ev = study / "sub-02" / "emg" / "sub-02_task-frt_events.tsv"
    table = pd.read_csv(ev, sep="\t")
    table["trial_type"] = table["trial_type"].replace({"Full flexion": "hold"})  # a word the vocabulary won't guess
    table.to_csv(ev, sep="\t", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ps.study.run_study(study, tmp_path / "out", jobs=1, progress=False)
    assert res.n_ok == 2
    qc = pd.read_parquet(tmp_path / "out" / "qc.parquet")
    assert {"missing_features", "ff_artefact_to_emg", "artefact", "artefact_reason"} <= set(qc.columns)
    two = qc[qc["subject"] == "02"].set_index("channel")
    for ch in EXTENSORS:
        assert two.at[ch, "missing_features"] == "frr, err, fer, frp_present: no full_flexion phase"
    assert pd.isna(two.at["R_RA", "missing_features"])  # an antagonist is not expected to relax
    assert qc[qc["subject"] == "01"]["missing_features"].isna().all()
    assert set(qc["artefact"]) <= {"ok", "artefact", "unknown"}
    html = (tmp_path / "out" / "report" / "index.html").read_text()
    assert "Features not computed" in html and "no full_flexion phase" in html
    feats = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert feats[(feats["subject"] == "02") & feats["feature"].isin(["frr", "err"])].empty
