"""The synthetic study writer and the bundled sample study."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import synth
from paraspinal.errors import WriteError

REPO = Path(__file__).resolve().parent.parent
SMALL = dict(n_controls=1, n_patients=2, seed=7, sfreq=500.0, channels=("L_LT", "R_MF", "L_RA"))


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_writes_the_same_bytes(tmp_path):
    a = synth.write_study(tmp_path / "a", **SMALL)
    b = synth.write_study(tmp_path / "b", **SMALL)
    ha, hb = _hashes(a), _hashes(b)
    assert len(ha) > 20
    assert ha == hb
    c = synth.write_study(tmp_path / "c", **{**SMALL, "seed": 8})
    assert _hashes(c)["sub-01/emg/sub-01_task-frt_emg.edf"] != ha["sub-01/emg/sub-01_task-frt_emg.edf"]


def test_study_layout_groups_and_ground_truth(tmp_path):
    root = synth.write_study(tmp_path / "study", powerline=60.0, **SMALL)
    parts = pd.read_csv(root / "participants.tsv", sep="\t")
    assert list(parts["participant_id"]) == ["sub-01", "sub-02", "sub-03"]
    assert list(parts["group"]) == ["control", "patient", "patient"]
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "raw" and "paraspinal.synth" in desc["GeneratedBy"][0]["Name"]
    assert "SYNTHETIC" in (root / "README.md").read_text()
    gdesc = json.loads((root / "derivatives/groundtruth/dataset_description.json").read_text())
    assert gdesc["DatasetType"] == "derivative"
    for sub in ("01", "02", "03"):
        for task in ("frt", "static"):
            edf = root / f"sub-{sub}/emg/sub-{sub}_task-{task}_emg.edf"
            side = json.loads(edf.with_suffix(".json").read_text())
            assert side["PowerLineFrequency"] == 60.0
            gt = json.loads((root / f"derivatives/groundtruth/sub-{sub}/emg/sub-{sub}_task-{task}_groundtruth.json")
                            .read_text())
            assert gt["meta"]["subject"] == sub and gt["meta"]["task"] == task
            assert gt["meta"]["group"] == ("control" if sub == "01" else "patient")
            rec = ps.read(edf)
            ph = rec.phases
            ann = [p for p in gt["phases"] if p["annotated"]]
            assert list(ph["phase"]) == [p["phase"] for p in ann]
            assert np.allclose(ph["onset"], [p["onset"] for p in ann], atol=1e-6)
            assert np.allclose(ph["duration"], [p["duration"] for p in ann], atol=1e-6)
            assert rec.n_samples == gt["meta"]["n_samples"]
            # the trunk angle survives EDF (16-bit, channel-wise range) to within its resolution
            ang = rec.raw.get_data(picks=["TRUNK_ANGLE"])[0]
            top = max(p["angle_end"] for p in gt["phases"])
            assert ang.max() == pytest.approx(top, abs=top / 2**15 + 1e-6)
    subjects = pd.read_csv(root / "derivatives/groundtruth/subjects.tsv", sep="\t")
    assert (subjects.loc[subjects.group == "control", list(synth.GUARDING_SIGNS)] == 0).all().all()
    assert (subjects.loc[subjects.group == "patient", list(synth.GUARDING_SIGNS)].sum(axis=1) > 0).all()


def test_write_study_refuses_foreign_folders(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(WriteError):
        synth.write_study(foreign, overwrite=True, **SMALL)
    assert (foreign / "notes.txt").read_text() == "keep me"
    root = synth.write_study(tmp_path / "s", **SMALL)
    with pytest.raises(WriteError):
        synth.write_study(root, **SMALL)
    synth.write_study(root, overwrite=True, **SMALL)


def _load_script():
    spec = importlib.util.spec_from_file_location("make_sample_data", REPO / "scripts" / "make_sample_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sample_data_is_regenerated_bit_for_bit(tmp_path):
    committed = REPO / "sample_data"
    if not committed.is_dir():
        pytest.fail("sample_data/ is missing: run python scripts/make_sample_data.py")
    script = _load_script()
    recorded = json.loads((committed / "derivatives/groundtruth/generated_with.json").read_text())
    installed = script.installed_versions()
    if recorded != installed:
        changed = {k: (recorded.get(k), v) for k, v in installed.items() if recorded.get(k) != v}
        pytest.skip(f"sample_data/ was made with other package versions {changed} (recorded, installed): "
                    "the bytes may differ; regenerate with python scripts/make_sample_data.py")
    out = script.main([str(tmp_path / "sample")])
    assert _hashes(out) == _hashes(committed)
    size = sum(p.stat().st_size for p in committed.rglob("*") if p.is_file())
    assert size < 15e6
