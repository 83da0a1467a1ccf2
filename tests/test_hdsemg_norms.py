"""HD-sEMG map features in the normative comparison: reference, z-scores, the guarding sign of less
redistribution and the group statistics, on a synthetic cohort whose patients redistribute less."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from paraspinal import features, hdsemg as hd, norms, synth


def _subject(i: int, group: str, rng: np.random.Generator) -> pd.DataFrame:
    patient = group == "patient"
    # controls: the blob moves 12-18 mm cranially over the hold, on a broad map; patients: 0-4 mm, more focal
    shift = rng.uniform(0.0, 4.0) if patient else rng.uniform(12.0, 18.0)
    spread = (8.0, 12.0) if patient else (11.0, 18.0)
    sim = hd.simulate_grid(30.0, 1024.0, shift=(0.0, shift), spread=spread, centre=(16.0, 36.0 + rng.uniform(-4, 4)),
                           seed=int(rng.integers(1 << 30)),
                           meta={"subject": f"{i:02d}", "group": group, "task": "sorensen"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return features.compute(sim.recording, features=["hdsemg"])


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(17)
    groups = ["control"] * 6 + ["patient"] * 5
    return pd.concat([_subject(i, g, rng) for i, g in enumerate(groups, 1)], ignore_index=True)


def test_map_features_enter_the_reference_and_the_scores(cohort):
    ref = norms.build_reference(cohort)
    keys = set(ref.stats["feature"])
    assert {"hd_centroid_y", "hd_centroid_displacement", "hd_entropy", "hd_cv"} <= keys
    row = ref.stats[ref.stats["feature"] == "hd_centroid_displacement"].iloc[0]
    assert row["channel"] == "L_ES" and row["muscle"] == "ES" and row["phase"] == "sorensen_hold"
    assert row["unit"] == "mm" and row["n"] == 6 and row["mean"] > 10
    sc = norms.score(cohort[cohort.group == "patient"], ref)
    z = sc[sc.feature == "hd_centroid_displacement"]["z"]
    assert len(z) == 5 and (z < -2).all()


def test_the_guarding_sign_of_less_redistribution(cohort):
    ref_all = norms.build_reference(cohort)
    prof = norms.guarding_profile(norms.score(cohort[cohort.group == "patient"], ref_all))
    red = prof[prof.sign == "reduced_redistribution"]
    assert len(red) == 5 and red["assessable"].all() and red["flag"].all()
    assert red["reason"].str.contains("centroid displacement|map entropy|map CV").all()
    # controls, each scored against the others, are not flagged
    for s in sorted(cohort.loc[cohort.group == "control", "subject"].unique()):
        ref = norms.build_reference(cohort[cohort.subject != s])
        p = norms.guarding_profile(norms.score(cohort[cohort.subject == s], ref)).set_index("sign")
        assert not p.at["reduced_redistribution", "flag"], s
        assert p.at["reduced_redistribution", "strength"] < 2
    detail = norms.guarding_profile(norms.score(cohort[cohort.group == "patient"], ref_all), detail=True)
    used = detail[detail.sign == "reduced_redistribution"].groupby("feature")["direction"].first().to_dict()
    assert used == {"hd_centroid_displacement": -1, "hd_entropy": -1, "hd_cv": 1}


def test_a_recording_without_grids_has_no_redistribution_row():
    rec = synth.simulate("frt", "control", sfreq=1000, seed=2, ecg=False, powerline=None,
                         channels=("L_LT", "R_LT")).recording
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = features.compute(rec.with_meta(subject="a", group="control"), features=["rms"])
        b = features.compute(rec.with_meta(subject="b", group="control"), features=["rms"])
    table = pd.concat([a, b], ignore_index=True)
    prof = norms.guarding_profile(norms.score(table[table.subject == "a"], norms.build_reference(table)))
    assert "reduced_redistribution" not in set(prof["sign"]) and "static_amplitude" in set(prof["sign"])


def test_group_statistics_see_the_direction(cohort):
    st = norms.group_statistics(cohort, n_boot=200).set_index("feature")
    assert st.at["hd_centroid_displacement", "hedges_g"] < -2
    assert st.at["hd_centroid_displacement", "auc"] == 0.0  # every patient below every control
    assert st.at["hd_centroid_displacement", "direction"] == "lower"
    assert st.at["hd_centroid_y_slope", "hedges_g"] < -2
    assert st.at["hd_entropy", "hedges_g"] < 0 and st.at["hd_cv", "hedges_g"] > 0
