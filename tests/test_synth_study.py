"""The synthetic study writer and the bundled sample study."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import synth
from paraspinal.errors import WriteError

from artefacts import tree_differences

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
    assert tree_differences(out, committed) == []
    size = sum(p.stat().st_size for p in committed.rglob("*") if p.is_file())
    assert size < 15e6


def _edf_sample_offset(path: Path) -> int:
    """Byte offset of a sample in the middle of the first data record of an EDF file."""
    head = path.read_bytes()[:256]
    return int(head[184:192]) + 2 * 1000


def test_the_comparison_fails_on_one_changed_sample_or_value(tmp_path):
    committed = REPO / "sample_data"
    copy = tmp_path / "copy"
    shutil.copytree(committed, copy)
    assert tree_differences(copy, committed) == []
    # one 16-bit sample of one EDF, one step of its resolution
    edf = copy / "sub-03/emg/sub-03_task-frt_emg.edf"
    data = bytearray(edf.read_bytes())
    i = _edf_sample_offset(edf)
    value = int.from_bytes(data[i:i + 2], "little", signed=True)
    data[i:i + 2] = (value + (1 if value < 32767 else -1)).to_bytes(2, "little", signed=True)
    edf.write_bytes(bytes(data))
    assert tree_differences(copy, committed) == ["sub-03/emg/sub-03_task-frt_emg.edf: bytes differ"]
    shutil.copy2(committed / "sub-03/emg/sub-03_task-frt_emg.edf", edf)
    # a ground-truth float: a last-bit change passes, a change in the 8th digit does not
    gt = copy / "derivatives/groundtruth/sub-03/emg/sub-03_task-frt_groundtruth.json"
    doc = json.loads(gt.read_text())
    key, value = _first_float(doc)
    _set(doc, key, float(np.nextafter(value, np.inf)))
    gt.write_text(json.dumps(doc, indent=1))
    assert tree_differences(copy, committed) == []
    _set(doc, key, value * (1 + 1e-7))
    gt.write_text(json.dumps(doc, indent=1))
    diff = tree_differences(copy, committed)
    assert len(diff) == 1 and diff[0].startswith("derivatives/groundtruth/sub-03/emg/sub-03_task-frt_groundtruth.json")


def _first_float(doc, path=()):
    """Path and value of the first non-integral float in a JSON document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        if isinstance(v, float) and v != int(v):
            return path + (k,), v
        found = _first_float(v, path + (k,))
        if found:
            return found
    return None


def _set(doc, path, value):
    for k in path[:-1]:
        doc = doc[k]
    doc[path[-1]] = value
