"""A study of synthetic HD-sEMG Sorensen holds (BIDS-EMG with electrodes.tsv), processed with
`paraspinal study run`: the group statistics separate patients who redistribute less."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.cli import main
from paraspinal.errors import WriteError

PIPELINE = """name = "bandpass-only"
[[steps]]
name = "bandpass"
low = 20.0
high = 450.0
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    base = tmp_path_factory.mktemp("hdstudy")
    root = hd.write_grid_study(base / "bids", n_controls=3, n_patients=3, duration=16.0, sfreq=1024.0,
                               grids=("L_ES",), seed=3)
    pipe = base / "bandpass.toml"
    pipe.write_text(PIPELINE)
    out = base / "out"
    res = CliRunner().invoke(main, ["study", "run", str(root), "-o", str(out), "-j", "1", "--no-report", "-q",
                                    "--pipeline", str(pipe)])
    assert res.exit_code == 0, res.output
    return root, out, pipe


def test_the_study_is_bids_with_grids(study):
    root, _, _ = study
    truth = pd.read_csv(root / "derivatives/groundtruth/subjects.tsv", sep="\t")
    assert list(truth["group"]) == ["control"] * 3 + ["patient"] * 3
    assert (truth.loc[truth.group == "patient", "shift_mm"] < truth.loc[truth.group == "control", "shift_mm"].min()
            ).all()
    rec = ps.read(root / "sub-04/emg/sub-04_task-sorensen_emg.edf")
    assert hd.grids(rec) == ["L_ES"] and rec.meta["group"] == "patient"
    assert list(rec.phases["phase"]) == ["sorensen_hold"]
    assert hd.bad_check(rec, "L_ES")["on"] == "signals as read"
    with pytest.raises(WriteError, match="not empty"):
        hd.write_grid_study(root, n_controls=1, n_patients=1, duration=2.0, sfreq=512.0, grids=("L_ES",))


def test_group_statistics_separate_the_groups_on_centroid_shift(study):
    root, out, _ = study
    assert pd.read_csv(out / "errors.csv").empty
    feats = pd.read_parquet(out / "features.parquet")
    hdrows = feats[feats.feature.str.startswith("hd_")]
    assert set(hdrows["subject"]) == {f"{i:02d}" for i in range(1, 7)} and set(hdrows["channel"]) == {"L_ES"}
    st = pd.read_parquet(out / "group_stats.parquet")
    st = st[(st.channel == "L_ES") & (st.phase == "sorensen_hold")].set_index("feature")
    for feature in ("hd_centroid_displacement", "hd_centroid_y_shift", "hd_centroid_y_slope"):
        row = st.loc[feature]
        assert row["hedges_g"] < -1.5, (feature, row["hedges_g"])  # patients - controls: less redistribution
        assert row["auc"] == 0.0 and row["direction"] == "lower", feature  # every patient below every control
    # the estimated displacement follows the drawn shift (an independent record of the generator)
    truth = pd.read_csv(root / "derivatives/groundtruth/subjects.tsv", sep="\t", dtype={"participant_id": str})
    disp = hdrows[hdrows.feature == "hd_centroid_displacement"].set_index("subject")["value"]
    shift = truth.set_index(truth.participant_id.str[4:])["shift_mm"]
    assert disp.corr(shift[disp.index]) > 0.8


def test_the_electrode_files_key_the_cache(study):
    root, out, pipe = study
    el = root / "sub-02/emg/sub-02_electrodes.tsv"
    text = el.read_text()
    try:
        el.write_text(text.replace("\tL_ES\tL_ES\n", "\tL_ES\tL_ES\n", 1) + "")  # same bytes: still cached
        res = ps.run_study(root, out, pipeline=pipe, jobs=1, report=False, progress=False)
        assert res.n_computed == 0
        table = pd.read_csv(el, sep="\t")
        table["x"] = table["x"] * 1.25  # a 10 mm grid, say: the layout changed, so the recording is redone
        table.to_csv(el, sep="\t", index=False)
        res = ps.run_study(root, out, pipeline=pipe, jobs=1, report=False, progress=False)
        assert res.n_computed == 1
    finally:
        el.write_text(text)
