"""Bad input is never silently wrong and never blows up (issue 20): study runs.

Groups from participants.tsv and manifests, disk full, subject folders without EMG, workers
that must die with their parent. The reading cases are in ``test_bad_input.py``.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from study_helpers import make_study

import paraspinal as ps
from paraspinal.errors import ParaspinalWarning, ReadError
from paraspinal.study import discover, run_study


@pytest.fixture(scope="module")
def base_study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("study") / "bids")


@pytest.fixture
def study(base_study, tmp_path) -> Path:
    """A fresh copy of the small study (2 controls, 2 patients) that the test may change."""
    return Path(shutil.copytree(base_study, tmp_path / "bids"))


def _participants(study: Path) -> pd.DataFrame:
    return pd.read_csv(study / "participants.tsv", sep="\t", dtype=str, keep_default_na=False)


def _write_participants(study: Path, table: pd.DataFrame) -> None:
    table.to_csv(study / "participants.tsv", sep="\t", index=False, lineterminator="\n")


def _run(study: Path, out: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run_study(study, out, jobs=1, report=False, progress=False)
    return res, [str(w.message) for w in caught if issubclass(w.category, ParaspinalWarning)]


# ----------------------------------------------------------------------------- 4. groups
def test_duplicate_participant_is_an_error_for_that_subject_only(study, tmp_path):
    table = _participants(study)
    assert table.loc[table["participant_id"] == "sub-03", "group"].item() == "patient"
    twin = table[table["participant_id"] == "sub-03"].assign(group="control")
    _write_participants(study, pd.concat([table, twin], ignore_index=True))  # a patient listed again as control
    edf = sorted(study.glob("sub-03/emg/*_emg.edf"))[0]
    with pytest.raises(ReadError, match=r"lists sub-03 2 times \(lines \[4, 6\]\)"):
        ps.read(edf)
    res, _ = _run(study, tmp_path / "out")
    assert res.n_failed == 1 and res.n_ok == 3
    err = pd.read_csv(tmp_path / "out" / "errors.csv", dtype=str)
    assert err["subject"].tolist() == ["03"] and "lists sub-03 2 times" in err["reason"].item()
    feats = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert "03" not in set(feats["subject"])
    assert set(feats.loc[feats["group"] == "control", "subject"]) == {"01", "02"}


def test_subject_missing_from_participants_is_a_warning_and_a_report_note(study, tmp_path):
    table = _participants(study)
    _write_participants(study, table[table["participant_id"] != "sub-02"])
    with pytest.warns(ParaspinalWarning, match="sub-02 has no row"):
        st = discover(study)
    assert any("sub-02 has no row" in n for n in st.notes)
    res, _ = _run(st, tmp_path / "out")
    assert res.n_failed == 0
    import json

    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert any("sub-02 has no row" in n for n in prov["study"]["notes"])  # shown on the report's front page
    rec02 = next(r for r in prov["recordings"] if r["subject"] == "02")
    assert any("sub-02 has no row" in w for w in rec02["warnings"])  # reading the recording says it too
    feats = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert feats.loc[feats["subject"] == "02", "group"].isna().all()


def test_group_labels_are_normalised_where_unambiguous(study, tmp_path):
    table = _participants(study)
    table["group"] = table["group"].map({"control": "CONTROL ", "patient": " Patient"})
    _write_participants(study, table)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = discover(study)
    said = [str(w.message) for w in caught]
    assert sum("group 'CONTROL ' read as 'control'" in m for m in said) == 2
    assert sum("group ' Patient' read as 'patient'" in m for m in said) == 2
    assert [t.meta["group"] for t in st.recordings] == ["control", "control", "patient", "patient"]
    res, _ = _run(st, tmp_path / "out")
    assert res.n_failed == 0
    assert (tmp_path / "out" / "group_stats.parquet").is_file()  # the comparison is made
    feats = pd.read_parquet(tmp_path / "out" / "features.parquet")
    assert set(feats["group"]) == {"control", "patient"}


def test_unknown_group_labels_are_kept_with_a_warning(study):
    table = _participants(study)
    table.loc[table["participant_id"] == "sub-01", "group"] = "ctrl"
    _write_participants(study, table)
    with pytest.warns(ParaspinalWarning, match="group 'ctrl' is not one of"):
        st = discover(study)
    assert st.recordings[0].meta["group"] == "ctrl"  # never guessed


def test_manifest_subject_with_two_groups_fails_its_recordings(study, tmp_path):
    files = sorted(study.glob("sub-*/emg/*_emg.edf"))
    rows = [{"path": str(f), "subject": "A" if i < 2 else f"B{i}", "group": ["control", "patient"][i % 2],
             "task": "frt", "run": str(i)} for i, f in enumerate(files)]
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    st = discover(manifest)
    problems = [t.problem for t in st.recordings]
    assert sum(p is not None and "different groups" in p for p in problems) == 2
    assert sum(p is None for p in problems) == 2


def test_manifest_group_labels_are_normalised(study, tmp_path):
    f = sorted(study.glob("sub-*/emg/*_emg.edf"))[0]
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame([{"path": str(f), "subject": "01", "group": "CONTROL"}]).to_csv(manifest, index=False)
    with pytest.warns(ParaspinalWarning, match="read as 'control'"):
        st = discover(manifest)
    assert st.recordings[0].meta["group"] == "control"


# ----------------------------------------------------------------------------- 6. disk full
def _no_space(pyarrow_style: bool):
    import errno

    def write(*args, **kwargs):
        if pyarrow_style:  # pyarrow's own error: no errno, the C library's message in the text
            raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
        raise OSError(errno.ENOSPC, "No space left on device")
    return write


def _leftovers(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                  if ".tmp" in p.name or (p.parent.name == "tmp" and p.parent.parent.name == "cache"))


@pytest.mark.parametrize("where", ["outputs", "cache"])
@pytest.mark.parametrize("pyarrow_style", [False, True])
def test_disk_full_is_a_write_error_naming_the_folder_and_the_space(study, tmp_path, monkeypatch, where,
                                                                   pyarrow_style):
    from paraspinal.errors import WriteError

    out = tmp_path / "out"
    target = "paraspinal.study.outputs.write_parquet" if where == "outputs" else "paraspinal.study.cache.write_parquet"
    monkeypatch.setattr(target, _no_space(pyarrow_style))
    with pytest.raises(WriteError) as info:
        _run(study, out)
    msg = str(info.value)
    assert str(out) in msg and "disk is full" in msg and "MB more" in msg and "MB are free" in msg
    assert _leftovers(out) == []  # nothing partial
    assert not (out / "qc.parquet").exists() and not (out / "provenance.json").exists()


def test_disk_full_cli_exit_status_2_without_traceback(study, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from paraspinal.cli import main

    monkeypatch.setattr("paraspinal.study.outputs.write_parquet", _no_space(False))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["study", "run", str(study), "-o", str(out), "-j", "1", "-q", "--no-report"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "disk is full" in res.output and str(out) in res.output


# ----------------------------------------------------------------------------- 9. discovery
def test_subject_folder_without_emg_is_a_note_not_silence(study):
    (study / "sub-05" / "anat").mkdir(parents=True)  # a participant with no EMG recorded
    other = study / "sub-01" / "emg" / "sub-01_task-extra_emg.csv"  # a format BIDS discovery does not read
    other.write_text("time,L_MF\n0,1\n")
    (study / "sub-02" / "emg" / "sub-02_task-loop_emg.edf").symlink_to("sub-02_task-loop_emg.edf")  # a link loop
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = discover(study)
    said = [str(w.message) for w in caught if issubclass(w.category, ParaspinalWarning)]
    assert any("sub-05: no EMG recording" in m for m in said)
    assert any("sub-01_task-extra_emg.csv: is not EDF or BDF" in m for m in said)
    assert any("sub-02_task-loop_emg.edf: is not a regular file" in m for m in said)
    assert len(st.recordings) == 4 and all(n in st.notes for n in said)


# ----------------------------------------------------------------------------- 10. workers die with the parent
_ORPHANS = """
import multiprocessing as mp, sys, time
from concurrent.futures import ProcessPoolExecutor
from paraspinal._workers import init_worker

def task(i):
    time.sleep(120)  # a long recording

if __name__ == "__main__":
    ex = ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn"), initializer=init_worker)
    futs = [ex.submit(task, i) for i in range(2)]
    while len(ex._processes) < 2 or not all(p.is_alive() for p in ex._processes.values()):
        time.sleep(0.1)
    time.sleep(2)  # the initializers have run
    print(" ".join(str(p) for p in ex._processes), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_pool_workers_die_with_a_killed_parent(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "orphans.py"
    script.write_text(_ORPHANS)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        parent.kill()  # kill -9: no clean-up of any kind in the parent
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), f"orphaned workers {workers} still running"
    finally:
        parent.kill()
        for p in workers:  # the test's own processes, if they outlived it
            if _alive(p):
                os.kill(p, signal.SIGKILL)
