"""paraspinal.study: discovery, manifest, one recording, cache, outputs, CLI."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from study_helpers import chmod_readonly, chmod_writable, make_study, snapshot

from paraspinal import Pipeline
from paraspinal.cli import main as cli
from paraspinal.errors import ChannelError, ParameterError, ReadError, WriteError
from paraspinal.study import (
    ERROR_COLUMNS,
    FEATURE_COLUMNS,
    SORT_COLUMNS,
    atomic_path,
    discover,
    file_sha256,
    process_recording,
    read_manifest,
    recording_key,
    run_study,
)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("study") / "bids")


@pytest.fixture(scope="module")
def done(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "run"
    res = run_study(study, out, jobs=1, report=False, progress=False)
    return out, res


def _files(study: Path) -> list[Path]:
    return sorted(study.glob("sub-*/emg/*_emg.edf"))


# ----------------------------------------------------------------------------- discovery
def test_discover_bids(study):
    st = discover(study)
    assert st.kind == "bids" and len(st.recordings) == 4
    r = st.recordings[0]
    assert r.rel == "sub-01/emg/sub-01_task-frt_emg.edf"
    assert r.meta == {"subject": "01", "group": "control", "session": None, "task": "frt", "run": None}
    assert [x.meta["group"] for x in st.recordings] == ["control", "control", "patient", "patient"]
    names = {Path(c).name for c in r.companions}
    assert names == {"sub-01_task-frt_channels.tsv", "sub-01_task-frt_events.tsv", "sub-01_task-frt_emg.json"}
    assert not any("derivatives" in x.rel for x in st.recordings)


def test_discover_nothing(tmp_path):
    with pytest.raises(ReadError, match="no BIDS-EMG recordings"):
        discover(tmp_path)
    with pytest.raises(ReadError, match="no such study"):
        discover(tmp_path / "missing")


def test_manifest(study, tmp_path):
    files = _files(study)
    man = tmp_path / "manifest.csv"
    pd.DataFrame({
        "path": [str(files[0]), os.path.relpath(files[1], tmp_path), "nothere.edf", str(files[2]), str(files[3])],
        "subject": ["A", "B", "C", "A", "D"],
        "group": ["control", "patient", "", "control", "n/a"],
        "task": ["frt"] * 5,
        "run": ["1", "01", "", "1", ""],
        "channel_map": ["L_LT=L_LT;R_LT=R_LT", "", "", "", ""],
        "reader_options": ['{"rename": true}', "", "", "", "{bad json"],
        "comment": ["free text"] * 5,
    }).to_csv(man, index=False)
    st = discover(tmp_path)
    assert st.kind == "manifest" and st.manifest == man.resolve()
    by = {r.meta["subject"]: r for r in st.recordings if r.problem is None}
    assert set(by) == {"A", "B"}
    assert by["A"].reader_options == {"rename": True, "channel_map": {"L_LT": "L_LT", "R_LT": "R_LT"}}
    assert by["A"].meta["run"] == "1" and by["B"].meta["run"] == "1"
    problems = {r.meta["subject"]: r.problem for r in st.recordings if r.problem}
    assert "no such file" in problems["C"]
    assert "bad reader_options" in problems["D"]
    dup = [r for r in st.recordings if r.problem and "same subject/session/task/run" in r.problem]
    assert len(dup) == 1 and dup[0].meta["subject"] == "A"


def test_manifest_missing_column(tmp_path):
    (tmp_path / "m.csv").write_text("file,subject\na.edf,01\n")
    with pytest.raises(ParameterError, match=r"lacks the column\(s\) \['path'\]"):
        read_manifest(tmp_path / "m.csv")


# ----------------------------------------------------------------------------- one recording
def test_process_recording(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats, qc, info, disp = process_recording(_files(study)[2], display_rate=10.0)
    assert tuple(feats.columns) == FEATURE_COLUMNS
    assert (feats["subject"] == "03").all() and (feats["group"] == "patient").all()
    assert {"err", "frr", "fer", "rms"} <= set(feats["feature"])
    again = feats.sort_values(list(SORT_COLUMNS), kind="mergesort", na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(feats, again)
    assert list(qc.columns[:6]) == ["subject", "group", "session", "task", "run", "channel"]
    assert set(qc["channel"]) == {"L_LT", "R_LT", "L_MF"}
    assert info["phase_source"] == "annotations" and info["sfreq"] == 1000.0
    assert {"read", "qc", "preprocess", "phases", "features", "total"} <= set(info["timings_s"])
    json.dumps(info)
    assert disp["envelope"].shape[0] == 3 and "angle" in disp


def test_process_recording_adds_range_of_motion(study):
    """trunk_flexion_max (deg) per cycle and pooled, against the angle the generator drew."""
    path = _files(study)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats = process_recording(path, display_rate=0).features
    rom = feats[feats.feature == "trunk_flexion_max"]
    assert set(rom["channel"]) == {"TRUNK_ANGLE"} and (rom["unit"] == "deg").all()
    assert rom["cycle"].isna().sum() == 1 and rom["cycle"].notna().sum() == 2  # 2 cycles + pooled
    truth_file = next(study.glob(f"derivatives/groundtruth/**/{path.name.replace('_emg.edf', '_groundtruth.json')}"))
    true_max = json.loads(truth_file.read_text())["profile"]["effective_max_angle"]
    assert rom["value"].to_numpy() == pytest.approx(true_max, abs=1.0)
    pd.testing.assert_frame_equal(feats, feats.sort_values(list(SORT_COLUMNS), kind="mergesort",
                                                           na_position="last").reset_index(drop=True))


def test_process_recording_meta_override(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats, qc, info, _ = process_recording(_files(study)[0], meta={"subject": "X9", "group": None, "run": "2"})
    assert (feats["subject"] == "X9").all() and (feats["group"] == "control").all() and (feats["run"] == "2").all()


def test_process_recording_no_emg(tmp_path):
    f = tmp_path / "angle.csv"
    f.write_text("time,TRUNK_ANGLE\n" + "".join(f"{i / 500:.3f},{i % 40}\n" for i in range(2000)))
    with pytest.raises(ChannelError, match="no EMG channel"):
        process_recording(f)


# ----------------------------------------------------------------------------- keys
def test_key_depends_on_inputs(study, tmp_path):
    st = discover(study)
    t = st.recordings[0]
    k1, h1 = recording_key(t, Pipeline.default())
    assert h1["sub-01_task-frt_emg.edf"] == file_sha256(t.path)
    assert recording_key(t, Pipeline.default())[0] == k1
    assert recording_key(t, Pipeline([("bandpass", {"low": 25.0, "high": 200.0})]))[0] != k1
    assert recording_key(t, Pipeline.default(), {"window_ms": 500})[0] != k1
    assert recording_key(st.recordings[1], Pipeline.default())[0] != k1


# ----------------------------------------------------------------------------- outputs
def test_outputs(done, study):
    out, res = done
    assert res.n_recordings == 4 and res.n_ok == 4 and res.n_failed == 0 and res.exit_code == 0
    feats = pd.read_parquet(out / "features.parquet")
    assert tuple(feats.columns) == FEATURE_COLUMNS
    assert str(feats["cycle"].dtype) == "Int64" and feats["value"].dtype == "float64"
    assert feats["subject"].is_monotonic_increasing
    csv = pd.read_csv(out / "features.csv", dtype={c: str for c in FEATURE_COLUMNS if c != "cycle"})
    assert len(csv) == len(feats)
    # the shortest repr written round-trips exactly (parsed by Python's correctly rounded float())
    assert (csv["value"].map(float).to_numpy() == feats["value"].to_numpy()).all()
    qc = pd.read_parquet(out / "qc.parquet")
    assert len(qc) == 12 and set(qc["subject"]) == {"01", "02", "03", "04"}
    err = pd.read_csv(out / "errors.csv")
    assert list(err.columns) == list(ERROR_COLUMNS) and len(err) == 0
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["pipeline"]["hash"] == Pipeline.default().hash
    assert prov["versions"]["paraspinal"] and prov["versions"]["numpy"] and prov["versions"]["mne"]
    assert prov["started"] <= prov["finished"]
    assert prov["n_computed"] == 4 and prov["n_cached"] == 0
    r = prov["recordings"][0]
    assert r["inputs_sha256"]["sub-01_task-frt_emg.edf"] == file_sha256(study / r["path"])
    assert r["timings_s"]["total"] > 0 and r["status"] == "ok"
    assert not list(out.glob(".*.tmp-*")) and not (out / "cache" / "tmp").exists() or \
        not list((out / "cache" / "tmp").iterdir())


def test_rerun_uses_cache_and_detects_changes(study, tmp_path):
    src = tmp_path / "s"
    shutil.copytree(study, src)
    out = tmp_path / "o"
    r1 = run_study(src, out, jobs=1, report=False, progress=False)
    assert r1.n_computed == 4
    before = (out / "features.parquet").read_bytes()
    r2 = run_study(src, out, jobs=1, report=False, progress=False)
    assert (r2.n_computed, r2.n_cached) == (0, 4)
    assert (out / "features.parquet").read_bytes() == before
    # a changed sidecar re-runs that recording only
    ev = src / "sub-02" / "emg" / "sub-02_task-frt_events.tsv"
    lines = ev.read_text().splitlines()
    ev.write_text("\n".join(lines[:-1]) + "\n")
    r3 = run_study(src, out, jobs=1, report=False, progress=False)
    assert (r3.n_computed, r3.n_cached) == (1, 3)
    # a changed pipeline re-runs everything
    toml = tmp_path / "p.toml"
    toml.write_text('name = "narrow"\n[[steps]]\nname = "bandpass"\nlow = 30.0\nhigh = 200.0\n')
    r4 = run_study(src, out, pipeline=toml, jobs=1, report=False, progress=False)
    assert r4.n_computed == 4
    assert json.loads((out / "provenance.json").read_text())["pipeline"]["name"] == "narrow"
    # a new subject: only it is computed
    r5 = run_study(src, out, pipeline=toml, jobs=1, report=False, progress=False)
    assert r5.n_computed == 0


def test_read_only_study(study, tmp_path):
    src = tmp_path / "ro"
    shutil.copytree(study, src)
    chmod_readonly(src)
    try:
        before = snapshot(src)
        res = run_study(src, tmp_path / "out", jobs=1, report=True, progress=False)
        assert res.n_ok == 4
        assert snapshot(src) == before  # nothing created, changed or touched (root ignores a-w, hence this check)
    finally:
        chmod_writable(src)


def test_output_inside_study_refused(study):
    with pytest.raises(ParameterError, match="inside the study folder"):
        run_study(study, study / "out", progress=False)
    assert not (study / "out").exists()


def test_atomic_path_keeps_old_file(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert p.read_text() == "old" and list(tmp_path.iterdir()) == [p]


def test_second_run_on_same_folder_refused(study, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(WriteError, match="another `paraspinal study run`"):
            run_study(study, out, jobs=1, progress=False)


# ----------------------------------------------------------------------------- CLI
def test_cli_run_and_exit_codes(study, tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["study", "run", str(study), "-o", str(tmp_path / "a"), "-j", "1", "-q", "--no-report"])
    assert res.exit_code == 0, res.output
    # a manifest with a missing file: exit 1, the others processed
    files = _files(study)
    man = tmp_path / "m" / "manifest.csv"
    man.parent.mkdir()
    man.write_text("path,subject,group,task\n" + f"{files[0]},01,control,frt\n" + "gone.edf,02,patient,frt\n")
    res = runner.invoke(cli, ["study", "run", str(man.parent), "-o", str(tmp_path / "b"), "-j", "1", "--no-report"])
    assert res.exit_code == 1, res.output
    assert "1 ok, 1 failed" in res.output
    err = pd.read_csv(tmp_path / "b" / "errors.csv")
    assert err["reason"].str.contains("gone.edf: no such file").all()
    # not a study: exit 2 with one clear line
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(cli, ["study", "run", str(empty), "-o", str(tmp_path / "c")])
    assert res.exit_code == 2 and "no BIDS-EMG recordings" in res.output
    res = runner.invoke(cli, ["study", "run", str(study), "-o", str(tmp_path / "d"), "--jobs", "0"])
    assert res.exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[[steps]]\nname = "bandpas"\n')
    res = runner.invoke(cli, ["study", "run", str(study), "-o", str(tmp_path / "e"), "--pipeline", str(bad)])
    assert res.exit_code == 2 and "unknown pipeline step 'bandpas'" in res.output and "bad.toml" in res.output


def test_cli_report(done):
    out, _ = done
    res = CliRunner().invoke(cli, ["study", "report", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "report" / "index.html").is_file()


def test_no_cache_recomputes_and_rewrites(done, study):
    out, _ = done
    before = (out / "features.parquet").read_bytes()
    m0 = (out / "features.parquet").stat().st_mtime_ns
    res = run_study(study, out, jobs=1, use_cache=False, report=False, progress=False)
    assert (res.n_computed, res.n_cached) == (4, 0)
    assert (out / "features.parquet").stat().st_mtime_ns != m0
    assert (out / "features.parquet").read_bytes() == before
    assert len(list((out / "cache").glob("??/*/info.json"))) == 4


def test_hash_memo(study, tmp_path, monkeypatch):
    import paraspinal.study as S

    src = tmp_path / "s"
    shutil.copytree(study, src)
    out = tmp_path / "o"
    run_study(src, out, jobs=1, report=False, progress=False)
    calls = []
    real = S.file_sha256
    monkeypatch.setattr(S, "file_sha256", lambda p, **kw: calls.append(Path(p).name) or real(p, **kw))
    assert run_study(src, out, jobs=1, report=False, progress=False).n_computed == 0
    assert calls == []  # unchanged files are not read again
    ev = src / "sub-03" / "emg" / "sub-03_task-frt_events.tsv"
    ev.write_text(ev.read_text().replace("\t", "\t", 1) + "")  # same bytes, new mtime: re-read, same key
    assert run_study(src, out, jobs=1, report=False, progress=False).n_computed == 0
    assert calls == [ev.name]
    calls.clear()
    run_study(src, out, jobs=1, report=False, progress=False, rehash=True)
    assert len(calls) == 16
