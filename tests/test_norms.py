"""Normative reference, scoring, guarding profiles, envelope bands and literature sets."""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from paraspinal import Recording, norms, synth
from paraspinal.errors import ParameterError, ReadError


def _row(subject, group, feature, value, *, phase="full_flexion", cycle=None, channel="L_MF", muscle="MF", side="L",
         task="frt", run=None, session=None, unit="uV"):
    return dict(subject=subject, group=group, session=session, task=task, run=run, channel=channel, muscle=muscle,
                side=side, phase=phase, cycle=cycle, feature=feature, value=float(value), unit=unit)


def _frame(rows):
    df = pd.DataFrame(rows)
    df["cycle"] = pd.array(df["cycle"], dtype="Int64")
    return df


@pytest.fixture
def toy(rng):
    """8 controls, 4 patients, features of two channels, cycles and a pooled row each."""
    rows = []
    for i in range(12):
        group = "control" if i < 8 else "patient"
        s = f"{i:02d}"
        for ch, mu, sd in (("L_MF", "MF", "L"), ("R_MF", "MF", "R")):
            base = rng.normal(5, 1) * (2.5 if group == "patient" else 1.0)
            cyc = base * (1 + rng.normal(0, 0.1, 3))
            for c, v in enumerate(cyc, 1):
                rows.append(_row(s, group, "rms", v, cycle=c, channel=ch, muscle=mu, side=sd))
            rows.append(_row(s, group, "rms", cyc.mean() * 1.01, channel=ch, muscle=mu, side=sd))
            rows.append(_row(s, group, "err", rng.normal(15, 3) / (5 if group == "patient" else 1), channel=ch,
                             muscle=mu, side=sd, unit="1"))
            rows.append(_row(s, group, "frp_present", 1.0 if group == "control" else 0.0, channel=ch, muscle=mu,
                             side=sd, unit="1"))
    return _frame(rows)


# ----------------------------------------------------------------------------- subject level
def test_subject_level_rules():
    rows = [
        # recording 1: pooled row present -> used (not the cycle mean)
        _row("01", "control", "rms", 1.0, cycle=1, run="1"), _row("01", "control", "rms", 3.0, cycle=2, run="1"),
        _row("01", "control", "rms", 10.0, run="1"),
        # recording 2 (another run): no pooled row -> mean of cycles = 4
        _row("01", "control", "rms", 2.0, cycle=1, run="2"), _row("01", "control", "rms", 6.0, cycle=2, run="2"),
        # a whole-recording feature without cycles
        _row("01", "control", "sdr", 0.2, phase="all", unit="1"),
    ]
    sub = norms.subject_level(_frame(rows)).set_index("feature")
    assert sub.loc["rms", "value"] == pytest.approx((10.0 + 4.0) / 2)  # runs averaged
    assert sub.loc["rms", "n_values"] == 2
    assert sub.loc["sdr", "value"] == pytest.approx(0.2)
    # derived between-cycle CV of the phase RMS, per recording then averaged over runs
    cv1 = np.std([1.0, 3.0], ddof=1) / 2.0
    cv2 = np.std([2.0, 6.0], ddof=1) / 4.0
    assert sub.loc["rms_cycle_cv", "value"] == pytest.approx((cv1 + cv2) / 2)
    assert sub.loc["rms_cycle_cv", "unit"] == "1"


def test_subject_level_errors():
    rows = [_row("01", "control", "rms", 1.0), _row("01", "patient", "rms", 2.0, run="2")]
    with pytest.raises(ParameterError, match="more than one group"):
        norms.subject_level(_frame(rows))
    rows = [_row("01", "control", "rms", 1.0), _row("02", "control", "rms", 2.0, unit="%MVC")]
    with pytest.raises(ParameterError, match="different units"):
        norms.subject_level(_frame(rows))
    with pytest.raises(ParameterError, match="lacks the column"):
        norms.subject_level(pd.DataFrame({"subject": ["a"]}))


# ----------------------------------------------------------------------------- reference
def test_build_reference_stats_equal_numpy(toy):
    ref = norms.build_reference(toy)
    assert ref.n_subjects == 8
    sub = norms.subject_level(toy)
    ctrl = sub[sub.group == "control"]
    for (ch, feat), g in ctrl.groupby(["channel", "feature"]):
        row = ref.stats[(ref.stats.channel == ch) & (ref.stats.feature == feat)].iloc[0]
        v = g["value"].to_numpy()
        assert row["n"] == 8
        assert row["mean"] == pytest.approx(v.mean()) and row["sd"] == pytest.approx(v.std(ddof=1))
        assert row["median"] == pytest.approx(np.median(v))
        for p in (5, 25, 75, 95):
            assert row[f"p{p}"] == pytest.approx(np.percentile(v, p))
        assert (row["min"], row["max"]) == pytest.approx((v.min(), v.max()))
    with pytest.raises(ParameterError, match="no subject of group"):
        norms.build_reference(toy, group="healthy")


def test_reference_save_load_roundtrip_deterministic(toy, tmp_path):
    ref = norms.build_reference(toy, source="toy table")
    a, b = ref.save(tmp_path / "a"), norms.build_reference(toy, source="toy table").save(tmp_path / "b")
    names = sorted(p.name for p in a.iterdir())
    assert names == ["reference.json", "stats.csv", "stats.parquet", "values.parquet"]
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    prov = json.loads((a / "reference.json").read_text())
    assert prov["n_subjects"] == 8 and prov["source"] == "toy table" and prov["group"] == "control"
    assert prov["paraspinal_version"] and "date" not in json.dumps(prov).lower()
    back = norms.load_reference(a)
    pd.testing.assert_frame_equal(back.stats, ref.stats, check_dtype=False)
    pd.testing.assert_frame_equal(back.values, ref.values, check_dtype=False)
    s1 = norms.score(toy, ref)
    s2 = norms.score(toy, back)
    pd.testing.assert_frame_equal(s1, s2, check_dtype=False)


def test_load_reference_errors(toy, tmp_path):
    with pytest.raises(ReadError, match="no reference.json"):
        norms.load_reference(tmp_path)
    folder = norms.build_reference(toy).save(tmp_path / "r")
    vals = pd.read_parquet(folder / "values.parquet")
    vals.loc[0, "value"] += 1.0
    vals.to_parquet(folder / "values.parquet", index=False)
    with pytest.raises(ReadError, match="checksum"):
        norms.load_reference(folder)
    (folder / "reference.json").write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(ReadError, match="not a paraspinal normative reference"):
        norms.load_reference(folder)


def test_build_from_study(toy, tmp_path):
    with pytest.raises(ReadError, match="features.parquet"):
        norms.build_from_study(tmp_path)
    toy.to_parquet(tmp_path / "features.parquet", index=False)
    ref = norms.build_from_study(tmp_path)
    assert (tmp_path / "norms" / "reference.json").exists()
    sha = hashlib.sha256((tmp_path / "features.parquet").read_bytes()).hexdigest()
    assert ref.provenance["source"] == f"features.parquet sha256:{sha}"
    assert norms.load_reference(tmp_path / "norms").n_subjects == 8


# ----------------------------------------------------------------------------- scoring
def test_score_formulas(toy):
    ref = norms.build_reference(toy)
    sc = norms.score(toy, ref, subject="09")
    assert set(sc.subject) == {"09"}
    row = sc[(sc.feature == "err") & (sc.channel == "L_MF")].iloc[0]
    vals = ref.values[(ref.values.feature == "err") & (ref.values.channel == "L_MF")]["value"].to_numpy()
    assert row["z"] == pytest.approx((row["value"] - vals.mean()) / vals.std(ddof=1))
    expected_pct = 100 * ((vals < row["value"]).sum() + 0.5 * (vals == row["value"]).sum()) / vals.size
    assert row["percentile"] == pytest.approx(expected_pct)
    from scipy.stats import norm
    assert row["percentile_normal"] == pytest.approx(100 * norm.cdf(row["z"]))
    fp = sc[sc.feature == "frp_present"].iloc[0]
    assert np.isnan(fp["z"]) and "SD is zero" in fp["note"]
    assert "not a diagnosis" in sc.attrs["disclaimer"]


def test_score_unit_mismatch_and_unknown_key(toy):
    ref = norms.build_reference(toy)
    new = toy[toy.subject == "10"].copy()
    new.loc[new.feature == "err", "unit"] = "%"
    extra = _frame([_row("10", "patient", "mdf", 60.0, unit="Hz")])
    sc = norms.score(pd.concat([new, extra]), ref)
    assert sc[sc.feature == "err"]["note"].str.contains("unit differs").all()
    assert sc[sc.feature == "err"]["z"].isna().all()
    assert sc[sc.feature == "mdf"]["note"].iloc[0] == "key not in the reference"


def test_score_independent_of_order_and_other_subjects(toy):
    ref = norms.build_reference(toy)
    one = norms.score(toy, ref, subject="09")
    shuffled = toy.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(norms.score(shuffled, ref, subject="09"), one)
    alone = toy[toy.subject == "09"]
    pd.testing.assert_frame_equal(norms.score(alone, ref), one)
    others = toy[toy.subject != "10"]  # remove another patient
    pd.testing.assert_frame_equal(norms.score(others, ref, subject="09"), one)
    extra = toy[toy.subject == "11"].assign(subject="99")  # add another patient
    pd.testing.assert_frame_equal(norms.score(pd.concat([extra, shuffled]), ref, subject="09"), one)
    both = norms.score(toy, ref)
    pd.testing.assert_frame_equal(both[both.subject == "09"].reset_index(drop=True), one)


# ----------------------------------------------------------------------------- guarding profile
def _scores(rows):
    base = dict(group="patient", session=None, task="frt", run=None, unit="uV", ref_n=10, ref_mean=0.0, ref_sd=1.0,
                ref_median=0.0, ref_min=-2.0, ref_max=2.0, percentile=np.nan, percentile_normal=np.nan, note="")
    out = []
    for r in rows:
        d = {**base, **r}
        d.setdefault("value", d["z"])
        out.append(d)
    return pd.DataFrame(out)


def test_guarding_profile_flags_and_reasons():
    sc = _scores([
        dict(subject="p", feature="rms", phase="full_flexion", muscle="MF", side="L", channel="L_MF", z=3.1),
        dict(subject="p", feature="rms", phase="full_flexion", muscle="MF", side="R", channel="R_MF", z=2.5),
        dict(subject="p", feature="err", phase="full_flexion", muscle="MF", side="L", channel="L_MF", z=-2.0),
        dict(subject="p", feature="rms", phase="standing", muscle="MF", side="L", channel="L_MF", z=0.5),
        dict(subject="p", feature="antagonist_ratio", phase="extension", muscle="MF|RA", side="L",
             channel="L_MF|L_RA", z=-1.0),
        dict(subject="p", feature="spasm_burst_rate", phase="all", muscle="MF", side="L", channel="L_MF", z=np.nan,
             value=3.0, ref_sd=0.0, ref_min=0.0, ref_max=0.0),
    ])
    gp = norms.guarding_profile(sc).set_index("sign")
    frp = gp.loc["absent_frp"]
    assert frp["flag"] and frp["strength"] == pytest.approx((3.1 + 2.5 + 2.0) / 3)
    assert frp["channel"] == "L_MF" and frp["z"] == pytest.approx(3.1)
    assert "full-flexion RMS 3.1 SD above controls (L_MF, full flexion, task frt)" in frp["reason"]
    assert not gp.loc["static_amplitude", "flag"] and gp.loc["static_amplitude", "strength"] == pytest.approx(0.5)
    assert not gp.loc["coactivation", "flag"] and gp.loc["coactivation", "strength"] == pytest.approx(-1.0)
    assert gp.loc["spasm", "flag"] and np.isnan(gp.loc["spasm", "strength"]) and "above every" in gp.loc["spasm", "reason"]
    assert not gp.loc["reduced_rom", "assessable"] and "not assessable" in gp.loc["reduced_rom", "reason"]
    assert gp["interpretation"].str.contains("not a diagnosis").all()
    assert "not a diagnosis" in gp.attrs["disclaimer"]
    # thresholds and aggregation are parameters
    strict = norms.guarding_profile(sc, threshold=3.0).set_index("sign")
    assert not strict.loc["absent_frp", "flag"]
    mx = norms.guarding_profile(sc, aggregate="max", threshold=3.0).set_index("sign")
    assert mx.loc["absent_frp", "flag"]
    assert "asymmetry" not in set(norms.guarding_profile(sc, include_optional=False)["sign"])
    det = norms.guarding_profile(sc, detail=True)
    assert set(det.sign) >= {"absent_frp", "spasm"} and "d" in det.columns
    with pytest.raises(ParameterError):
        norms.guarding_profile(sc, aggregate="sum")
    with pytest.raises(ParameterError):
        norms.guarding_profile(sc, signs=["nonsense"])


def test_guarding_reason_says_why_nothing_could_be_scored():
    """A sign whose values are not in the reference is not assessable, and says so; equal
    controls with the subject inside their value keep their own reason."""
    sc = _scores([
        dict(subject="p", feature="trunk_flexion_max", phase="full_flexion", muscle=None, side=None,
             channel="TRUNK_ANGLE", z=np.nan, value=60.0, ref_n=np.nan, ref_sd=np.nan, ref_min=np.nan,
             ref_max=np.nan, note="key not in the reference"),
        dict(subject="p", feature="spasm_burst_rate", phase="all", muscle="MF", side="L", channel="L_MF", z=np.nan,
             value=0.0, ref_sd=0.0, ref_min=0.0, ref_max=0.0,
             note="reference SD is zero (all controls equal): z undefined"),
    ])
    gp = norms.guarding_profile(sc).set_index("sign")
    rom = gp.loc["reduced_rom"]
    assert not rom["assessable"] and not rom["flag"]
    assert rom["reason"] == "not assessable: key not in the reference"
    spasm = gp.loc["spasm"]
    assert spasm["assessable"] and not spasm["flag"] and "all equal" in spasm["reason"]


# ----------------------------------------------------------------------------- envelope band
def _sine_recording(subject: str, amp: float) -> Recording:
    fs = 500.0
    t = np.arange(int(20 * fs)) / fs
    data = np.vstack([amp * np.sin(2 * np.pi * 80 * t), 2 * amp * np.sin(2 * np.pi * 80 * t)])
    phases = pd.DataFrame({"onset": [0.0, 5.0, 10.0, 15.0], "duration": [5.0] * 4,
                           "phase": ["standing", "full_flexion", "standing", "full_flexion"],
                           "cycle": pd.array([1, 1, 2, 2], dtype="Int64")})
    return Recording.from_array(data, fs, ["L_MF", "R_MF"], units="uV",
                                meta={"subject": subject, "group": "control", "task": "frt"}, phases=phases)


def test_envelope_band_known_amplitude():
    recs = [_sine_recording("01", 10.0), _sine_recording("02", 20.0), _sine_recording("02", 20.0)]
    band = norms.envelope_band(recs, n_points=101)
    assert list(band.columns) == ["task", "phase", "channel", "muscle", "side", "unit", "pct", "n", "mean", "sd"]
    assert band.groupby(["phase", "channel"]).size().eq(101).all()
    assert (band["n"] == 2).all()  # the second subject's two recordings count once
    mid = band[(band.pct >= 10) & (band.pct <= 90)]
    lmf = mid[mid.channel == "L_MF"]
    # RMS of A sin = A / sqrt(2): subjects 10/sqrt2 and 20/sqrt2 -> mean 15/sqrt2, SD 10/sqrt2 * sqrt(1/2)
    np.testing.assert_allclose(lmf["mean"], 15 / np.sqrt(2), rtol=0.01)
    np.testing.assert_allclose(lmf["sd"], np.std([10, 20], ddof=1) / np.sqrt(2), rtol=0.02)
    np.testing.assert_allclose(mid[mid.channel == "R_MF"]["mean"], 30 / np.sqrt(2), rtol=0.01)
    ref = norms.build_reference(
        _frame([_row("01", "control", "rms", 1.0), _row("02", "control", "rms", 2.0)]), envelopes=band)
    assert len(ref.band("frt", "full_flexion", "L_MF")) == 101
    curves = norms.envelope_curves(recs[0], phases=["standing"])
    assert set(curves.phase) == {"standing"} and (curves.n_instances == 2).all()


def test_envelope_curve_without_subject_warns():
    rec = _sine_recording("01", 5.0)
    rec.meta.pop("subject")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        norms.envelope_curves(rec)
    assert any("no subject id" in str(x.message) for x in w)


def test_kinematic_features_match_truth():
    sim = synth.simulate("frt", synth.patient_profile(), sfreq=500, seed=2, channels=("L_LT", "R_LT"),
                         meta={"subject": "01", "group": "patient", "task": "frt"}, ecg=False, powerline=None)
    k = norms.kinematic_features(sim.recording)
    pooled = k[k.cycle.isna()]
    assert len(pooled) == 1 and pooled["unit"].iloc[0] == "deg"
    assert pooled["value"].iloc[0] == pytest.approx(sim.truth.meta.get("effective_max_angle",
                                                    synth.patient_profile().effective_angle()), rel=0.15)
    none = norms.kinematic_features(sim.recording.pick(["L_LT", "R_LT"]))
    assert none.empty


# ----------------------------------------------------------------------------- literature
def test_literature_sets():
    names = norms.list_reference_sets()
    assert {"fer_cnslbp", "gouteron2022", "sitting_frr_spine2010", "bmc_cam2017"} <= set(names)
    fer = norms.get_reference_set("fer_cnslbp")
    e = fer.entries[0]
    assert e["feature"] == "fer" and e["direction"] == "higher_abnormal" and e["cutoff"] == 0.692
    assert (e["sensitivity"], e["specificity"]) == (76.15, 98.46)
    assert (e["control"]["mean"], e["control"]["sd"], e["patient"]["mean"], e["patient"]["sd"]) == (0.47, 0.14, 0.90, 0.26)
    g = {x["quantity"]: x for x in norms.get_reference_set("gouteron2022").entries}
    assert g["FRR, pooled mean in NSCLBP"]["patient"] == {"mean": 2.96, "ci": [2.02, 3.90]}
    assert g["ERR, pooled mean in NSCLBP"]["patient"] == {"mean": 4.07, "ci": [2.08, 6.07]}
    sit = norms.get_reference_set("sitting_frr_spine2010").table()
    assert sit[["control_mean", "control_sd", "patient_mean", "patient_sd"]].values.tolist() == [
        [6.83, 3.79, 3.04, 2.36], [3.45, 2.2, 2.02, 1.49]]
    bmc = norms.get_reference_set("bmc_cam2017").table().set_index("quantity")
    assert (bmc.loc["flexion FRR", "patient_mean"], bmc.loc["extension FRR", "patient_sd"]) == (4.7, 9.5)
    allt = norms.reference_sets_table()
    assert allt["label"].isin(["[V]", "[M]"]).all()
    assert allt["direction"].isin(["higher_abnormal", "lower_abnormal", None]).all()
    from paraspinal.features import FEATURES
    mapped = set(allt["feature"].dropna())
    assert mapped <= set(FEATURES) | {"trunk_flexion_max"}
    with pytest.raises(ParameterError, match="unknown reference set"):
        norms.get_reference_set("nope")


def test_apply_cutoffs():
    rows = [_row("c1", "control", "fer", 0.5, unit="1"), _row("p1", "patient", "fer", 0.692, unit="1"),
            _row("p2", "patient", "fer", 0.9, unit="1")]
    out = norms.apply_cutoffs(_frame(rows), "fer_cnslbp").set_index("subject")
    assert out["beyond_cutoff"].to_dict() == {"c1": False, "p1": True, "p2": True}
    assert "protocol" in out.attrs["caveat"]
    with pytest.raises(ParameterError, match="no cut-off"):
        norms.apply_cutoffs(_frame(rows), "gouteron2022")
