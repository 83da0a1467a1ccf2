"""Study runs survive SIGKILL, bad files and re-runs: whole outputs, exact resumption, identical tables."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from study_helpers import clone_subjects, make_study

from paraspinal.study import run_study

N_KILL = 14


def _entries(out: Path) -> int:
    return len(list((out / "cache").glob("??/*/info.json")))


def _assert_outputs_whole(out: Path, n_ok: int, n_failed: int = 0) -> None:
    feats = pd.read_parquet(out / "features.parquet")
    csv = pd.read_csv(out / "features.csv", dtype=str, keep_default_na=False)
    assert len(csv) == len(feats) > 0
    assert feats["subject"].nunique() == n_ok
    qc = pd.read_parquet(out / "qc.parquet")
    assert qc["subject"].nunique() == n_ok
    errors = pd.read_csv(out / "errors.csv")
    assert len(errors) == n_failed
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["n_ok"] == n_ok and prov["n_failed"] == n_failed
    assert not list(out.glob(".*.tmp-*")), "a temporary output file was left behind"


@pytest.fixture(scope="module")
def kill_study(tmp_path_factory) -> Path:
    root = make_study(tmp_path_factory.mktemp("kill") / "bids", n_controls=1, n_patients=1, sfreq=2000.0,
                      channels=("L_LT", "R_LT", "L_MF", "R_MF"),
                      task_options={"frt": {"protocol_options": {"n_cycles": 6}}})
    return clone_subjects(root, N_KILL)


def test_sigkill_then_resume(kill_study, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "paraspinal.cli", "study", "run", str(kill_study), "-o", str(out), "-j", "1", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _entries(out) < 3 if out.exists() else True:
            assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "no cache entries appeared"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = _entries(out)
    assert 3 <= done_before < N_KILL, "the run was not killed half-way"
    # nothing half-written is visible: final outputs are absent (written only at the end) or whole
    for name in ("features.parquet", "qc.parquet"):
        if (out / name).exists():
            pd.read_parquet(out / name)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["n_computed"] == N_KILL - done_before
    assert prov["n_cached"] == done_before
    assert sum(r["cached"] for r in prov["recordings"]) == done_before
    _assert_outputs_whole(out, N_KILL)
    assert (out / "report" / "index.html").is_file()
    assert not (out / "cache" / "tmp").exists() or not any((out / "cache" / "tmp").iterdir())
    # and it matches an uninterrupted run
    ref = tmp_path / "ref"
    run_study(kill_study, ref, jobs=1, report=False, progress=False)
    for name in ("features.parquet", "features.csv", "qc.parquet"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


@pytest.fixture(scope="module")
def small_study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("small") / "bids", n_controls=2, n_patients=2)


def test_bad_files_are_reported_and_the_rest_completes(small_study, tmp_path):
    root = tmp_path / "mixed"
    root.mkdir()
    good = sorted(small_study.glob("sub-*/emg/*_emg.edf"))
    rows = []
    for i, f in enumerate(good):
        shutil.copyfile(f, root / f"good{i}.edf")
        rows.append(f"good{i}.edf,G{i},{'control' if i < 2 else 'patient'},frt")
    data = good[0].read_bytes()
    (root / "truncated.edf").write_bytes(data[: len(data) // 2])
    (root / "empty.csv").write_bytes(b"")
    (root / "no_emg.csv").write_text("time,TRUNK_ANGLE,ECG\n" + "".join(
        f"{i / 1000:.3f},{(i % 400) / 10:.1f},{(i % 800 == 0) * 1000.0:.1f}\n" for i in range(5000)))
    rows += ["truncated.edf,T1,patient,frt", "empty.csv,T2,patient,frt", "no_emg.csv,T3,control,frt"]
    (root / "manifest.csv").write_text("path,subject,group,task\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    res = run_study(root, out, jobs=2, report=True, progress=False)
    assert (res.n_ok, res.n_failed, res.exit_code) == (4, 3, 1)
    err = pd.read_csv(out / "errors.csv").set_index("subject")
    assert set(err.index) == {"T1", "T2", "T3"}
    assert "truncated" in err.at["T1", "reason"] and "truncated.edf" in err.at["T1", "reason"]
    assert "empty (0 bytes)" in err.at["T2", "reason"] and "empty.csv" in err.at["T2", "reason"]
    assert "no EMG channel" in err.at["T3", "reason"] and "channel_map" in err.at["T3", "reason"]
    assert err.at["T1", "error"] == "ReadError" and err.at["T3", "error"] == "ChannelError"
    _assert_outputs_whole(out, 4, 3)
    index = (out / "report" / "index.html").read_text()
    assert "truncated.edf" in index and "no EMG channel" in index
    # failures are tried again, successes come from the cache
    res2 = run_study(root, out, jobs=1, report=False, progress=False)
    assert (res2.n_cached, res2.n_computed, res2.n_failed) == (4, 3, 3)


def test_deterministic_tables(small_study, tmp_path):
    outs = {}
    for name, jobs in (("a", 1), ("b", 1), ("c", 2)):
        outs[name] = tmp_path / name
        run_study(small_study, outs[name], jobs=jobs, report=False, progress=False)
    for f in ("features.parquet", "features.csv", "qc.parquet", "errors.csv"):
        ref = (outs["a"] / f).read_bytes()
        assert (outs["b"] / f).read_bytes() == ref, f"{f} differs between two identical runs"
        assert (outs["c"] / f).read_bytes() == ref, f"{f} differs between 1 and 2 jobs"
