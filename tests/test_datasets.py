"""ps.datasets.sample_data: the sample study from a checkout, or made once into a folder."""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import pytest

import paraspinal as ps
from paraspinal.errors import ParameterError

REPO = Path(__file__).resolve().parents[1]


def test_checkout_sample_data_is_returned():
    assert ps.datasets.sample_data() == REPO / "sample_data"


def test_refuses_a_foreign_non_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="does not hold the complete sample study"):
        ps.datasets.sample_data(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # nothing written


def test_made_study_equals_the_bundled_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PARASPINAL_DATA", str(tmp_path / "cache"))
    assert ps.datasets.cache_dir() == tmp_path / "cache"
    made = ps.datasets.sample_data(tmp_path / "sample", verbose=False)
    edfs = sorted(p.relative_to(made) for p in made.rglob("*_emg.edf"))
    assert len(edfs) == 24
    assert edfs == sorted(p.relative_to(REPO / "sample_data") for p in (REPO / "sample_data").rglob("*_emg.edf"))
    recorded = json.loads((REPO / "sample_data/derivatives/groundtruth/generated_with.json").read_text())
    if any(version(k) != v for k, v in recorded.items() if k != "paraspinal"):
        pytest.skip("installed package versions differ from those that made sample_data/")
    for rel in edfs[:4]:
        a = hashlib.sha256((made / rel).read_bytes()).hexdigest()
        b = hashlib.sha256((REPO / "sample_data" / rel).read_bytes()).hexdigest()
        assert a == b, rel
    # a second call finds it and does not rewrite it
    mtime = (made / edfs[0]).stat().st_mtime_ns
    assert ps.datasets.sample_data(tmp_path / "sample") == made
    assert (made / edfs[0]).stat().st_mtime_ns == mtime
