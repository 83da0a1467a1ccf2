"""Flexion-relaxation cycles inferred from the phase sequence labs annotate (no ``cycle`` column).

Oracles: cycle numbers written by hand for each sequence; :func:`phases.from_protocol` and
:func:`phases.from_angle` (their own numbering code) on the same sequences; the sample study
with and without its ``cycle`` column (the feature tables must be identical).
"""

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import phases
from paraspinal.errors import ParaspinalWarning

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
FRP = ["frr", "err", "fer", "frp_present"]


def table(labels, dur=3.0, cycles=None, gap=0.0):
    """Back-to-back phases of ``dur`` s (``gap`` s between them), as a lab's events table would give."""
    on = np.arange(len(labels)) * (dur + gap)
    df = pd.DataFrame({"onset": on, "duration": [dur] * len(labels), "phase": labels})
    if cycles is not None:
        df["cycle"] = pd.array(cycles, dtype="Int64")
    return df


def cycles_of(df):
    return [None if pd.isna(c) else int(c) for c in df["cycle"]]


def quiet_validate(df, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = phases.validate(df, file="sub-x_events.tsv", **kw)
    return out, [str(w.message) for w in caught if issubclass(w.category, ParaspinalWarning)]


S, F, FF, E = "standing", "flexion", "full_flexion", "extension"

# (labels, the cycle numbers a reader of the protocol would write by hand)
CASES = {
    "bids_three_cycles": ([S, F, FF, E, S, S, F, FF, E, S, S, F, FF, E, S],
                          [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]),
    "one_standing_between": ([S, F, FF, E, S, F, FF, E, S], [1, 1, 1, 1, 2, 2, 2, 2, 2]),
    "no_standing_at_all": ([F, FF, E, F, FF, E], [1, 1, 1, 2, 2, 2]),
    "cycle_2_missing_its_standing": ([S, F, FF, E, F, FF, E, S], [1, 1, 1, 1, 2, 2, 2, 2]),
    "repeated_labels": ([S, S, F, F, FF, FF, E, E, S, S, F, FF, E, S],
                        [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]),
    "interleaved_sitting_rest": ([S, F, FF, E, "sitting", S, F, FF, E, "rest", S],
                                 [1, 1, 1, 1, None, 2, 2, 2, 2, None, 2]),
    "cycle_without_full_flexion": ([S, F, E, S, S, F, FF, E, S], [1, 1, 1, 1, 2, 2, 2, 2, 2]),
    "aborted_bend": ([S, F, S, F, FF, E, S], [None, None, 1, 1, 1, 1, 1]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cycles_from_sequence(name):
    labels, want = CASES[name]
    out, msgs = quiet_validate(table(labels))
    assert cycles_of(out) == want
    assert out["phase"].tolist() == labels
    assert (out["source"] == "annotations+cycles-inferred").all()
    assert out.attrs["phase_check"]["cycles"]["mode"] == "inferred"
    if name != "aborted_bend":
        assert not msgs, msgs


def test_gaps_between_phases_do_not_matter():
    labels, want = CASES["bids_three_cycles"]
    out, msgs = quiet_validate(table(labels, dur=2.5, gap=0.7))
    assert cycles_of(out) == want and not msgs


def test_unsorted_rows_are_read_in_time_order():
    labels, want = CASES["bids_three_cycles"]
    df = table(labels).iloc[::-1].reset_index(drop=True)
    out, _ = quiet_validate(df)
    assert cycles_of(out) == want and out["onset"].is_monotonic_increasing


def test_trailing_incomplete_cycle_is_dropped_with_file_and_time():
    out, msgs = quiet_validate(table([S, F, FF, E, S, S, F, FF]))
    assert cycles_of(out) == [1, 1, 1, 1, 1, None, None, None]
    assert len(msgs) == 1
    assert "sub-x_events.tsv" in msgs[0] and "trailing incomplete" in msgs[0] and "18.000-24.000 s" in msgs[0]
    assert "no extension" in msgs[0]


def test_leading_partial_cycle_is_dropped_with_a_warning():
    out, msgs = quiet_validate(table([FF, E, S, F, FF, E, S]))
    assert cycles_of(out) == [None, None, 1, 1, 1, 1, 1]
    assert len(msgs) == 1 and "leading partial" in msgs[0] and "0.000-6.000 s" in msgs[0]


def test_point_events_are_not_phases_and_say_so():
    df = table([S, F, FF, E]).assign(duration=0.0)
    out, msgs = quiet_validate(df)
    assert out["cycle"].isna().all()
    assert len(msgs) == 1 and "zero duration" in msgs[0]


def test_vocabulary_spellings_before_numbering():
    labels = ["Quiet Standing", "FLX", "Full-Flexion", "re-extension", "STD", "stand", "forward bending", "MVF",
              "Return", "upright"]
    out, msgs = quiet_validate(table(labels))
    assert out["phase"].tolist() == [S, F, FF, E, S, S, F, FF, E, S]
    assert cycles_of(out) == [1, 1, 1, 1, 1, 2, 2, 2, 2, 2] and not msgs


@pytest.mark.parametrize("protocol", [
    [("standing", 3), ("flexion", 3), ("full_flexion", 3), ("extension", 3), ("standing", 3)] * 3,
    [("standing", 3), ("flexion", 2), ("full_flexion", 4), ("extension", 2)] * 2 + [("standing", 5)],
    [("flexion", 2), ("full_flexion", 3), ("extension", 2)] * 3,
    [("standing", 2), ("flexion", 2), ("full_flexion", 3), ("extension", 2), ("standing", 2), ("sitting", 5),
     ("standing", 2), ("flexion", 2), ("full_flexion", 3), ("extension", 2), ("standing", 2)],
])
def test_same_cycles_as_from_protocol(protocol):
    ref = phases.from_protocol(protocol)
    out, msgs = quiet_validate(ref.drop(columns=["cycle", "source"]))
    assert cycles_of(out) == cycles_of(ref) and not msgs


def hand_angle(fs=100.0, n_cycles=3, rest=4.0, ramp=2.5, hold=3.0, top=80.0):
    """A trunk angle made for this test: cosine ramps to ``top`` deg, holds, rests at 0 deg."""
    parts = [np.zeros(int(rest * fs))]
    t = np.arange(int(ramp * fs)) / fs
    up = top / 2 * (1 - np.cos(np.pi * t / ramp))
    for _ in range(n_cycles):
        parts += [up, np.full(int(hold * fs), top), up[::-1], np.zeros(int(rest * fs))]
    return np.concatenate(parts)


def test_same_cycles_as_from_angle():
    ref = phases.from_angle(hand_angle(), 100.0)
    assert ref["cycle"].max() == 3
    out, msgs = quiet_validate(ref.drop(columns=["cycle", "source"]))
    assert cycles_of(out) == cycles_of(ref) and not msgs
    # from_angle's own table passes the check (its numbers agree with the sequence)
    again, msgs = quiet_validate(ref)
    assert cycles_of(again) == cycles_of(ref) and not msgs
    assert again.attrs["phase_check"]["cycles"] == {"mode": "checked", "n_cycles": 3, "contradictions": []}


def test_file_cycle_numbers_are_kept_and_checked():
    labels, want = CASES["bids_three_cycles"]
    own = [c + 10 for c in want]  # a lab numbering its cycles 11, 12, 13: consistent, kept
    out, msgs = quiet_validate(table(labels, cycles=own))
    assert cycles_of(out) == own and not msgs and (out["source"] == "annotations").all()
    wrong = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]  # cycle 1 runs into the second flexion
    out, msgs = quiet_validate(table(labels, cycles=wrong))
    assert cycles_of(out) == wrong  # never overwritten
    assert len(msgs) == 1 and "contradict" in msgs[0] and "cycle 1 spans" in msgs[0]
    assert out.attrs["phase_check"]["cycles"]["contradictions"]


def test_partly_numbered_file_is_not_filled_but_flagged():
    labels, want = CASES["bids_three_cycles"]
    part = want[:10] + [None] * 5
    out, msgs = quiet_validate(table(labels, cycles=part))
    assert cycles_of(out) == part
    assert len(msgs) == 1 and "have no number" in msgs[0] and "flexion at 33.000 s" in msgs[0]


def test_cycles_keep_mode_and_idempotence():
    labels, _ = CASES["bids_three_cycles"]
    out, _ = quiet_validate(table(labels), cycles="keep")
    assert out["cycle"].isna().all()
    first, _ = quiet_validate(table(labels + [S, F, FF]))
    second, msgs = quiet_validate(first)  # the feature table validates again: no new warning
    assert cycles_of(second) == cycles_of(first) and not msgs


def test_set_phases_records_source_and_check():
    labels, want = CASES["bids_three_cycles"]
    rec = ps.Recording.from_array(np.zeros((1, 46000)), 1000.0, ["L_LT"])
    out = phases.set_phases(rec, quiet_validate(table(labels))[0])
    assert out.meta["phase_source"] == "annotations+cycles-inferred"
    assert out.meta["phase_check"]["cycles"]["n_cycles"] == 3
    assert cycles_of(out.phases) == want


# ----------------------------------------------------------------------------- frp_cycle_problems
@pytest.mark.parametrize("labels,cycles,want", [
    ([], None, ["no phases"]),
    (["standing", "sitting"], None, ["no flexion phase", "no full_flexion phase", "no extension phase"]),
    ([S, F, E], [1, 1, 1], ["no full_flexion phase"]),
    ([S, F, FF, E], None, ["no numbered cycle (the flexion, full_flexion and extension phases carry no cycle "
                           "number)"]),
    ([S, F, FF, E, S, F, E], [1, 1, 1, 1, 2, 2, 2], ["cycle 2 incomplete: no full_flexion phase"]),
    ([S, F, FF, E, S, F, FF], [1, 1, 1, 1, 1, None, None],
     ["2 flexion/full_flexion/extension row(s) outside any numbered cycle (the first flexion at 15.000 s)"]),
    ([S, F, FF, E, S], [1, 1, 1, 1, 1], []),
])
def test_frp_cycle_problems(labels, cycles, want):
    df = table(labels, cycles=cycles) if labels else pd.DataFrame(columns=["onset", "duration", "phase", "cycle"])
    assert phases.frp_cycle_problems(df) == want


def test_frp_cycle_problems_outside_the_signal():
    df = table([S, F, FF, E], cycles=[1, 1, 1, 1])
    assert phases.frp_cycle_problems(df, sfreq=1000.0, n_samples=12000) == []
    assert phases.frp_cycle_problems(df, sfreq=1000.0, n_samples=8000) == ["no extension phase"]


# ----------------------------------------------------------------------------- the sample study, cycle column removed
def test_sample_study_without_cycle_column_gives_the_same_features(tmp_path):
    study = tmp_path / "study"
    shutil.copytree(SAMPLE, study)
    files = sorted(study.glob("sub-*/emg/*_events.tsv"))
    assert len(files) == 24
    for f in files:
        tsv = pd.read_csv(f, sep="\t", dtype=str, keep_default_na=False)
        if "cycle" in tsv:
            tsv.drop(columns="cycle").to_csv(f, sep="\t", index=False)
    n_frp = 0
    for edf in sorted(SAMPLE.glob("sub-*/emg/*_emg.edf")):
        copy = study / edf.relative_to(SAMPLE)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            want, rec_a = ps.analyze(edf, return_recording=True)
            got, rec_b = ps.analyze(copy, return_recording=True)
        pd.testing.assert_frame_equal(got, want)
        n_frp += int(got["feature"].isin(FRP).sum())
        if "frt" in edf.name:
            assert rec_b.meta["phase_source"] == "annotations+cycles-inferred"
            assert rec_a.meta["phase_source"] == "annotations"
            assert rec_b.meta["phase_check"]["angle"]["status"] == "agree"
            assert rec_b.phases["cycle"].tolist() == rec_a.phases["cycle"].tolist()
        msgs = [str(w.message) for w in caught]
        assert not any("cycle" in m or "disagree" in m for m in msgs), msgs
    # 12 frt recordings x 4 extensor channels x (3 cycles + pooled) x 4 features
    assert n_frp == 12 * 4 * 4 * 4
