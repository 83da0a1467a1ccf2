"""The paraspinal command."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import paraspinal as ps
from paraspinal.cli import main


def _edf(tmp_path, rng):
    t = np.arange(20000) / 2000
    data = np.vstack([rng.standard_normal(20000) * 10,
                      rng.standard_normal(20000) * 10 + 40 * np.sin(2 * np.pi * 60 * t),
                      np.zeros(20000) + 5.0])
    with pytest.warns(ps.ParaspinalWarning, match="EMG3"):
        rec = ps.Recording.from_array(data, 2000, ["L_MF_L5", "R_MF_L5", "EMG3"], units="uV")
    rec = rec.with_phases(pd.DataFrame({"onset": [0.0], "duration": [5.0], "phase": ["standing"]}))
    path = tmp_path / "r.edf"
    rec.save(path)
    return path


def test_version():
    out = CliRunner().invoke(main, ["--version"])
    assert out.exit_code == 0 and ps.__version__ in out.output


def test_info_text_and_quality(tmp_path, rng):
    path = _edf(tmp_path, rng)
    out = CliRunner().invoke(main, ["info", str(path)])
    assert out.exit_code == 0, out.output
    assert "European Data Format" in out.output
    assert "2000 Hz" in out.output and "10.000 s" in out.output
    lines = {ln.split()[0]: ln for ln in out.output.splitlines() if ln.startswith("  ") and "name" not in ln}
    assert lines["L_MF_L5"].split()[2:4] == ["MF", "L"] and lines["L_MF_L5"].endswith("ok")
    assert lines["R_MF_L5"].endswith("mains 60 Hz")
    assert lines["EMG3"].endswith("flat")
    assert "standing x1" in out.output
    assert "without a recognised muscle" in out.output  # the warning is shown as a note


def test_info_json(tmp_path, rng):
    path = _edf(tmp_path, rng)
    out = CliRunner().invoke(main, ["info", str(path), "--json"])
    doc = json.loads(out.output)
    assert doc["sfreq"] == 2000.0 and doc["n_samples"] == 20000
    assert [c["name"] for c in doc["channels"]] == ["L_MF_L5", "R_MF_L5", "EMG3"]
    assert doc["channels"][2]["quality"]["flag"] == "flat"


def test_info_error_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "x.edf"
    bad.write_text("hello")
    out = CliRunner().invoke(main, ["info", str(bad)])
    assert out.exit_code == 2
    assert out.output.startswith("error: ") and "x.edf" in out.output
    assert "Traceback" not in out.output


def test_synth_study_command(tmp_path):
    out = tmp_path / "study"
    res = CliRunner().invoke(main, ["synth", "study", str(out), "--controls", "1", "--patients", "1",
                                    "--seed", "3", "--powerline", "60", "--sfreq", "500"])
    assert res.exit_code == 0, res.output
    edfs = sorted(out.rglob("*_emg.edf"))
    assert len(edfs) == 4  # 2 subjects x 2 tasks
    rec = ps.read(edfs[0])
    assert rec.sfreq == 500.0 and rec.meta["group"] in ("control", "patient")
    again = CliRunner().invoke(main, ["synth", "study", str(out), "--controls", "1", "--patients", "1"])
    assert again.exit_code == 2 and "error:" in again.output  # refuses to overwrite without --overwrite
    none = CliRunner().invoke(main, ["synth", "study", str(tmp_path / "x"), "--controls", "0", "--patients", "0"])
    assert none.exit_code == 2
