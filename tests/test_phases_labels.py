"""Label spellings labs use, unknown labels reported once, and the annotation/angle cross-check."""

import warnings

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import phases
from paraspinal.errors import ParaspinalWarning

# spellings seen in labs' exports and papers -> vocabulary (written by hand, not read from SYNONYMS)
LAB_SPELLINGS = {
    "full flexion": "full_flexion", "Full-Flexion": "full_flexion", "FF": "full_flexion", "flexed": "full_flexion",
    "fullflexion": "full_flexion", "FullFlexion": "full_flexion", "full_flex": "full_flexion",
    "MVF": "full_flexion", "Maximum voluntary flexion": "full_flexion", "FULL_FLEXION": "full_flexion",
    "return": "extension", "re-extension": "extension", "reextension": "extension", "Re_Extension": "extension",
    "extension": "extension", "EXT": "extension", "Return to upright": "extension",
    "upright": "standing", "stand": "standing", "standing still": "standing", "quiet standing": "standing",
    "Quiet_Standing": "standing", "STD": "standing", "Standing 2": "standing", "standing-1": "standing",
    "flex": "flexion", "forward bending": "flexion", "Forward-Bending": "flexion", "bending": "flexion",
    "FLX": "flexion", "flexion1": "flexion", "  Flexion  ": "flexion",
    "rest": "rest", "Rest": "rest", "seated": "sitting", "prone lying": "prone", "Biering-Sorensen": "sorensen_hold",
    "MVIC": "mvc",
}

# bare words whose meaning would be a guess: kept as they are
AMBIGUOUS = ["hold", "baseline", "relax", "relaxed", "max", "reference", "rising", "stance", "supine", "neutral",
             "trial", "start", "end", "task", "bend start", "cycle"]


@pytest.mark.parametrize("label,canon", list(LAB_SPELLINGS.items()))
def test_lab_spellings(label, canon):
    assert phases.canonical_phase(label) == canon


@pytest.mark.parametrize("label", AMBIGUOUS)
def test_ambiguous_words_are_not_guessed(label):
    assert phases.canonical_phase(label) is None


def test_spelling_table_is_folded_and_points_into_the_vocabulary():
    for key, canon in phases.SYNONYMS.items():
        assert canon in phases.PHASES, key
        assert key == " ".join(key.lower().replace("_", " ").replace("-", " ").split()), key
        for variant in (key.upper(), key.title().replace(" ", "_"), key.replace(" ", "-")):
            assert phases.canonical_phase(variant) == canon, variant


def test_unknown_labels_reported_once_per_recording():
    rec = ps.Recording.from_array(np.random.default_rng(0).normal(0, 20, (1, 20000)), 1000.0, ["L_LT"],
                                  meta={"source": "lab.edf"},
                                  phases=pd.DataFrame({"onset": [0, 3, 6, 9, 12, 15], "duration": [3] * 6,
                                                       "phase": ["STD", "Wobble", "FLX", "hold", "Wobble", "FF"]}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = phases.from_annotations(rec)
        ps.features.compute(phases.set_phases(rec, out), features=["rms"])
    msgs = [str(w.message) for w in caught if "vocabulary" in str(w.message)]
    assert len(msgs) == 1 and "lab.edf" in msgs[0] and "'Wobble'" in msgs[0] and "'hold'" in msgs[0]
    assert out["phase"].tolist() == ["standing", "Wobble", "flexion", "hold", "Wobble", "full_flexion"]


def test_lab_synonyms_argument_maps_a_house_label():
    df = pd.DataFrame({"onset": [0, 3, 6, 9], "duration": [3] * 4, "phase": ["T0", "T1", "T2", "T3"]})
    out = phases.validate(df, synonyms={"T0": "standing", "T1": "flexion", "T2": "full_flexion", "T3": "extension"})
    assert out["phase"].tolist() == ["standing", "flexion", "full_flexion", "extension"]
    assert out["cycle"].tolist() == [1, 1, 1, 1]


# ----------------------------------------------------------------------------- angle cross-check
FS = 200.0


def hand_angle(fs=FS, n_cycles=3, rest=4.0, ramp=2.5, hold=3.0, top=75.0):
    """Cosine ramps to ``top`` deg and ``hold`` s holds; returns the angle and the true hold intervals (s)."""
    parts, holds, t0 = [np.zeros(int(rest * fs))], [], rest
    x = np.arange(int(ramp * fs)) / (ramp * fs)
    up = top / 2 * (1 - np.cos(np.pi * x))
    for _ in range(n_cycles):
        parts += [up, np.full(int(hold * fs), top), up[::-1], np.zeros(int(rest * fs))]
        holds.append((t0 + ramp, t0 + ramp + hold))
        t0 += 2 * ramp + hold + rest
    return np.concatenate(parts), holds


def ff_table(holds, shift=0.0):
    return pd.DataFrame({"onset": [a + shift for a, _ in holds], "duration": [b - a for a, b in holds],
                         "phase": "full_flexion", "cycle": pd.array([1, 2, 3][:len(holds)], dtype="Int64")})


def checked(*a, **k):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = phases.check_with_angle(*a, **k)
    return out, [str(w.message) for w in caught if issubclass(w.category, ParaspinalWarning)]


def test_angle_check_agrees_with_true_holds():
    angle, holds = hand_angle()
    res, msgs = checked(ff_table(holds), angle, FS, file="a.edf")
    assert res["status"] == "agree" and res["n_annotated"] == res["n_angle"] == 3
    assert res["max_abs_diff_s"] < 0.25 and not msgs


def test_angle_check_warns_with_both_sources_and_times():
    angle, holds = hand_angle()
    res, msgs = checked(ff_table(holds, shift=1.5), angle, FS, file="a.edf", channel="INCL")
    assert res["status"] == "disagree" and len(res["disagreements"]) == 3
    assert len(msgs) == 1 and msgs[0].startswith("a.edf: annotations and INCL disagree")
    assert "annotated full_flexion 8.00-11.00 s, INCL 6.5" in msgs[0]
    # a tolerance above the shift accepts it
    res, msgs = checked(ff_table(holds, shift=1.5), angle, FS, tolerance=2.0)
    assert res["status"] == "agree" and not msgs


def test_angle_check_missing_and_extra_full_flexion():
    angle, holds = hand_angle()
    res, msgs = checked(ff_table(holds[:2]), angle, FS)
    assert res["status"] == "disagree" and "that the annotations lack" in res["disagreements"][0]
    assert "full flexion at 30.5" in res["disagreements"][0]  # the third hold, 30.5-33.5 s
    res, msgs = checked(ff_table(holds), np.zeros_like(angle), FS)
    assert res["status"] == "disagree" and len(msgs) == 1 and "shows no full flexion" in msgs[0]


def test_angle_check_does_not_depend_on_the_rate():
    angle, holds = hand_angle(fs=2000.0)
    fast, _ = checked(ff_table(holds), angle, 2000.0)
    slow, _ = checked(ff_table(holds), angle[::20], 100.0)
    assert fast["status"] == slow["status"] == "agree"
    assert abs(fast["max_abs_diff_s"] - slow["max_abs_diff_s"]) < 0.05


def test_from_annotations_checks_a_trunk_angle_channel_in_degrees_only():
    angle, holds = hand_angle()
    emg = np.zeros((1, angle.size))
    ann = ff_table(holds, shift=2.0)
    rec = ps.Recording.from_array(np.vstack([emg, angle]), FS, ["L_LT", "TRUNK_ANGLE"], units=["uV", "deg"],
                                  phases=ann, meta={"source": "x.edf"})
    with pytest.warns(ParaspinalWarning, match="annotations and TRUNK_ANGLE disagree"):
        out = phases.from_annotations(rec)
    assert out.attrs["phase_check"]["angle"]["status"] == "disagree"
    assert phases.set_phases(rec, out).meta["phase_check"]["angle"]["channel"] == "TRUNK_ANGLE"
    volts = ps.Recording.from_array(np.vstack([emg, angle]), FS, ["L_LT", "TRUNK_ANGLE"], units=["uV", "V"],
                                    phases=ann)
    with pytest.warns(ParaspinalWarning, match="not cross-checked with TRUNK_ANGLE"):
        out = phases.from_annotations(volts)
    assert out.attrs["phase_check"]["angle"]["status"].startswith("skipped")
    out = phases.from_annotations(rec, angle_check=False)
    assert "angle" not in out.attrs.get("phase_check", {})


def test_docs_list_every_spelling():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "features.md").read_text(encoding="utf-8")
    section = page[page.index("### Label spellings"):page.index("## The table")]
    rows = [ln for ln in section.splitlines() if ln.startswith("| `")]
    listed = {w.split(" (")[0].strip() for ln in rows for w in ln.split("|")[2].replace(";", ",").split(",")}
    assert listed == set(phases.SYNONYMS), (set(phases.SYNONYMS) ^ listed)
