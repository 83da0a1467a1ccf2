"""Cycles from the files labs write: EDF+ annotations only, an mne-bids dataset, a BIDS study run.

The signals come from a small generator written for these tests alone (not ``synth.py``):
sums of sinusoids (30-250 Hz, random phases) whose amplitude follows the phases, with a
silent full flexion for a "control" and none for a "patient", and a cosine-ramp trunk
angle. The files are written by edfio and mne-bids, the events by hand in BIDS form
(``onset, duration, trial_type``; no ``cycle`` column).
"""

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import ParaspinalWarning

EXTENSORS = ("L_LT", "R_LT", "L_MF", "R_MF")
FRP = ["frr", "err", "fer", "frp_present"]
AMP_UV = {"standing": 6.0, "flexion": 35.0, "extension": 50.0, "sitting": 5.0}


def burst_signals(schedule, fs=1000.0, ff_uv=1.0, seed=0, ramp_deg=80.0):
    """EMG (uV) of the extensors plus one rectus abdominis, and a trunk angle (deg), for a phase schedule.

    ``schedule``: ``(phase, duration_s)`` in vocabulary names. Full flexion has amplitude
    ``ff_uv`` (1 uV: silent; 30 uV: no flexion-relaxation).
    """
    rng = np.random.default_rng(seed)
    n_seg = [int(round(d * fs)) for _, d in schedule]
    amp = np.concatenate([np.full(k, ff_uv if p == "full_flexion" else AMP_UV[p]) for (p, _), k in
                          zip(schedule, n_seg)])
    w = int(0.05 * fs)
    amp = np.convolve(np.pad(amp, (w // 2, w - 1 - w // 2), mode="edge"), np.ones(w) / w, mode="valid")
    t = np.arange(amp.size) / fs
    rows = []
    for _ in EXTENSORS + ("R_RA",):
        f = rng.uniform(30, 250, 24)
        ph = rng.uniform(0, 2 * np.pi, 24)
        carrier = np.sin(2 * np.pi * f[:, None] * t[None, :] + ph[:, None]).sum(axis=0)
        rows.append(carrier / carrier.std())
    emg = np.array(rows)
    emg[:4] *= amp
    emg[4] *= 4.0
    emg += rng.normal(0, 0.3, emg.shape)
    parts = []
    for (p, _), k in zip(schedule, n_seg):
        x = np.arange(k) / k
        parts.append({"flexion": ramp_deg / 2 * (1 - np.cos(np.pi * x)), "full_flexion": np.full(k, ramp_deg),
                      "extension": ramp_deg / 2 * (1 + np.cos(np.pi * x))}.get(p, np.zeros(k)))
    return emg, np.concatenate(parts)


def events(schedule, labels=None):
    """The BIDS events of a schedule, ``labels`` replacing the phase names as a lab would spell them."""
    on = np.concatenate([[0.0], np.cumsum([d for _, d in schedule])[:-1]])
    return pd.DataFrame({"onset": on, "duration": [float(d) for _, d in schedule],
                         "trial_type": labels or [p for p, _ in schedule]})


def write_edf(path, emg, angle, fs, annotations=()):
    from edfio import Edf, EdfAnnotation, EdfSignal

    sig = [EdfSignal(x, fs, label=name, physical_dimension="uV") for name, x in zip(EXTENSORS + ("R_RA",), emg)]
    sig.append(EdfSignal(angle, fs, label="TRUNK_ANGLE", physical_dimension="deg"))
    Edf(sig, annotations=[EdfAnnotation(float(o), float(d), str(t)) for o, d, t in annotations]).write(path)


CYCLE = [("standing", 3), ("flexion", 3), ("full_flexion", 3), ("extension", 3), ("standing", 3)]


def quiet(fn, *a, **k):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*a, **k)
    return out, [str(w.message) for w in caught if issubclass(w.category, ParaspinalWarning)]


def frp_rows(df):
    return df[df["feature"].isin(FRP)]


def test_edf_plus_annotations_only(tmp_path):
    # cycle 1 standard, cycle 2 without any standing, cycle 3 with two flexion segments, then a
    # trailing incomplete cycle; labels as a lab would type them
    sched = ([("standing", 3), ("flexion", 3), ("full_flexion", 3), ("extension", 3)]
             + [("flexion", 3), ("full_flexion", 3), ("extension", 3)]
             + [("standing", 3), ("flexion", 1.5), ("flexion", 1.5), ("full_flexion", 3), ("extension", 3)]
             + [("standing", 3), ("standing", 3), ("flexion", 3), ("full_flexion", 3)])
    labels = ["Standing", "FLEXION", "Full Flexion", "re-extension",
              "flex", "FF", "Extension",
              "STD", "Flexion", "flexion", "full_flexion", "EXT",
              "Quiet standing", "upright", "Forward bending", "MVF"]
    fs = 1000.0
    emg, angle = burst_signals(sched, fs)
    path = tmp_path / "frt_annotations.edf"
    ev = events(sched, labels)
    write_edf(path, emg, angle, fs, zip(ev.onset, ev.duration, ev.trial_type))
    rec = ps.read(path)
    assert rec.phases["phase"].tolist() == labels and rec.phases["cycle"].isna().all()
    (df, proc), msgs = quiet(ps.analyze, path, return_recording=True)
    # the standing after the last extension closes cycle 3; the one before the trailing bend opens it
    assert proc.phases["cycle"].tolist()[:13] == [1] * 4 + [2] * 3 + [3] * 6
    assert proc.phases["cycle"].iloc[13:].isna().all()
    trailing = [m for m in msgs if "trailing incomplete" in m]
    assert len(trailing) == 1 and "frt_annotations.edf" in trailing[0] and "39.000-45.000 s" in trailing[0]
    assert not any("not in the phase vocabulary" in m for m in msgs)
    assert proc.meta["phase_source"] == "annotations+cycles-inferred"
    assert proc.meta["phase_check"]["angle"]["status"] == "agree", proc.meta["phase_check"]
    rows = frp_rows(df)
    assert set(rows["channel"]) == set(EXTENSORS)
    for ch in EXTENSORS:
        got = rows[rows["channel"] == ch]
        assert sorted(got["cycle"].dropna().astype(int).unique()) == [1, 2, 3]
        assert set(got["feature"]) == set(FRP) and len(got) == 4 * 4
        assert (got.loc[got["feature"] == "frp_present", "value"] == 1).all()
        assert (got.loc[got["feature"] == "frr", "value"] > 5).all()
    assert ps.phases.frp_cycle_problems(proc.phases) == [
        "2 flexion/full_flexion/extension row(s) outside any numbered cycle (the first flexion at 39.000 s)"]


def test_mne_bids_writer_emg_events_without_cycle(tmp_path):
    """mne-bids (>= 0.17) writes BIDS-EMG itself; its events.tsv has onset, duration, trial_type, value, sample."""
    import mne
    from mne_bids import BIDSPath, write_raw_bids

    fs = 1000.0
    sched = CYCLE * 3
    emg, _ = burst_signals(sched, fs, seed=3)
    raw = mne.io.RawArray(emg * 1e-6, mne.create_info(list(EXTENSORS) + ["R_RA"], fs, "emg"), verbose=False)
    ev = events(sched, ["Standing", "Flexion", "Full flexion", "Extension", "Standing"] * 3)
    raw.set_annotations(mne.Annotations(ev.onset, ev.duration, ev.trial_type))
    bids_path = BIDSPath(subject="01", task="frt", datatype="emg", suffix="emg", extension=".edf", root=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_raw_bids(raw, bids_path, format="EDF", allow_preload=True, emg_placement="ChannelSpecific",
                       verbose="error")
    tsv = pd.read_csv(bids_path.copy().update(suffix="events", extension=".tsv").fpath, sep="\t")
    assert "cycle" not in tsv.columns and {"onset", "duration", "trial_type"} <= set(tsv.columns)
    (df, proc), msgs = quiet(ps.analyze, bids_path.fpath, return_recording=True)
    assert proc.phases["cycle"].tolist() == [1] * 5 + [2] * 5 + [3] * 5
    assert not any("cycle" in m for m in msgs), msgs
    rows = frp_rows(df)
    assert set(rows["channel"]) == set(EXTENSORS) and len(rows) == len(EXTENSORS) * 4 * 4


def write_study(root, subjects, fs=1000.0):
    """A BIDS-EMG folder written by hand: edfio EDF files, channels/events/participants TSVs."""
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "burst test", "BIDSVersion": "1.10.0"}))
    pd.DataFrame({"participant_id": [f"sub-{s}" for s in subjects], "group": list(subjects.values())}).to_csv(
        root / "participants.tsv", sep="\t", index=False)
    sched = CYCLE * 3
    for k, (sub, group) in enumerate(subjects.items()):
        d = root / f"sub-{sub}" / "emg"
        d.mkdir(parents=True)
        emg, angle = burst_signals(sched, fs, ff_uv=1.0 if group == "control" else 30.0, seed=10 + k)
        stem = d / f"sub-{sub}_task-frt"
        write_edf(f"{stem}_emg.edf", emg, angle, fs)
        names = list(EXTENSORS) + ["R_RA", "TRUNK_ANGLE"]
        pd.DataFrame({"name": names, "type": ["EMG"] * 5 + ["MISC"], "units": ["uV"] * 5 + ["deg"]}).to_csv(
            f"{stem}_channels.tsv", sep="\t", index=False)
        events(sched, ["standing", "flexion", "Full flexion", "extension", "standing"] * 3).to_csv(
            f"{stem}_events.tsv", sep="\t", index=False)
    return root


def test_study_run_on_events_without_cycle_column(tmp_path):
    study = write_study(tmp_path / "study", {"01": "control", "02": "patient", "03": "control"})
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "paraspinal.cli", "study", "run", str(study), "-o", str(out),
                          "-j", "1", "--no-report", "--quiet"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    feats = pd.read_parquet(out / "features.parquet")
    rows = frp_rows(feats)
    pooled = rows[rows["cycle"].isna()]
    # every extensor channel of every recording has its four flexion-relaxation values
    assert len(pooled) == 3 * len(EXTENSORS) * len(FRP)
    assert set(pooled.groupby(["subject", "channel"]).groups) == {(s, c) for s in ("01", "02", "03")
                                                                    for c in EXTENSORS}
    assert sorted(rows["cycle"].dropna().astype(int).unique()) == [1, 2, 3]
    present = pooled[pooled["feature"] == "frp_present"].set_index(["subject", "channel"])["value"]
    assert (present.loc["01"] == 1).all() and (present.loc["03"] == 1).all() and (present.loc["02"] == 0).all()
    assert rows[rows["channel"] == "R_RA"].empty
    prov = json.loads((out / "provenance.json").read_text())
    for r in prov["recordings"]:
        assert r["phase_source"] == "annotations+cycles-inferred"
        assert not any("disagree" in w or "cycle" in w for w in r.get("warnings", [])), r["warnings"]


@pytest.mark.parametrize("shift", [0.0, 2.0])
def test_study_recording_angle_cross_check(tmp_path, shift):
    """The annotations of a study recording are checked against its TRUNK_ANGLE (1 s tolerance)."""
    study = write_study(tmp_path / "study", {"01": "control"})
    ev_path = study / "sub-01" / "emg" / "sub-01_task-frt_events.tsv"
    ev = pd.read_csv(ev_path, sep="\t")
    ff = ev["trial_type"] == "Full flexion"
    ev.loc[ff, "onset"] += shift  # the lab's full flexion starts late (and the extension row overlaps it)
    ev.to_csv(ev_path, sep="\t", index=False)
    (df, proc), msgs = quiet(ps.analyze, study / "sub-01" / "emg" / "sub-01_task-frt_emg.edf",
                             return_recording=True)
    check = proc.meta["phase_check"]["angle"]
    if shift == 0:
        assert check["status"] == "agree" and check["max_abs_diff_s"] < 0.3
        assert not any("disagree" in m for m in msgs)
    else:
        assert check["status"] == "disagree" and len(check["disagreements"]) == 3
        warn = [m for m in msgs if "disagree" in m]
        assert len(warn) == 1 and "annotations and TRUNK_ANGLE" in warn[0] and "sub-01_task-frt_emg.edf" in warn[0]
        assert "annotated full_flexion 8.00-11.00 s, TRUNK_ANGLE 6.0" in warn[0]
