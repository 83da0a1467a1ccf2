"""Bad input is never silently wrong and never blows up (issue 20): reading and options.

Each test is one case of the adversarial run: the input, and what paraspinal must give for it
(a ``paraspinal.errors`` exception naming the file, or a ParaspinalWarning and a result that
says what was done). The study-level cases are in ``test_study_bad_input.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import paraspinal as ps
from paraspinal.cli import main
from paraspinal.errors import ParaspinalError, ParaspinalWarning

SUFFIXES = sorted({s for f in ps.io.FORMATS for s in f.suffixes} | {".dat", ".bin", ""})


# ----------------------------------------------------------------------------- 7. a BOM alone
@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xbb", b"\xef\xbb\xbf\n", b"\xff\xfe"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_bom_only_file_is_a_project_error_for_every_suffix(tmp_path, content, suffix):
    p = tmp_path / f"rec{suffix}"
    p.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        with pytest.raises(ParaspinalError) as info:
            ps.read(p)
    assert p.name in str(info.value)


def test_bom_only_file_info_shows_no_traceback(tmp_path):
    p = tmp_path / "rec.csv"
    p.write_bytes(b"\xef\xbb\xbf")
    res = CliRunner().invoke(main, ["info", str(p)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "rec.csv" in res.output


# ----------------------------------------------------------------------------- 1. a sidecar is never the recording
def _text_recording(path, seconds=2.0, sfreq=1000):
    t = np.arange(int(seconds * sfreq)) / sfreq
    np.savetxt(path, np.c_[t, 1e-4 * np.sin(2 * np.pi * 80 * t)], delimiter="\t", header="time\tL_MF", comments="")
    return path


def test_sidecar_path_of_a_recording_named_like_a_sidecar_is_not_the_recording(tmp_path):
    from paraspinal.viewer.sidecar import read_with_phases, sidecar_path, write_phases

    rec_path = _text_recording(tmp_path / "sub-01_task-frt_events.tsv")
    before = rec_path.read_bytes()
    side = sidecar_path(rec_path)
    assert side != rec_path and side.name == "sub-01_task-frt_events.tsv.events.tsv"
    phases = ps.phases.from_protocol([("standing", 1.0), ("flexion", 0.5)], cycles=False)
    write_phases(phases, side, 1000)
    assert rec_path.read_bytes() == before  # the recording is untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        rec = read_with_phases(rec_path)
    assert rec.n_samples == 2000 and list(rec.phases["phase"]) == ["standing", "flexion"]


def test_write_phases_never_replaces_a_recording(tmp_path):
    from paraspinal.errors import WriteError
    from paraspinal.viewer.sidecar import write_phases

    rec_path = _text_recording(tmp_path / "trial.tsv")
    before = rec_path.read_bytes()
    phases = ps.phases.from_protocol([("standing", 1.0)], cycles=False)
    with pytest.raises(WriteError, match="not a phase sidecar"):
        write_phases(phases, rec_path, 1000)
    link = tmp_path / "trial.tsv.events.tsv"
    link.symlink_to(rec_path)  # a sidecar name that points at the recording
    with pytest.raises(WriteError):
        write_phases(phases, link, 1000)
    assert rec_path.read_bytes() == before
    # an existing phase table is replaced as before
    side = tmp_path / "other.csv.events.tsv"
    write_phases(phases, side, 1000)
    write_phases(ps.phases.from_protocol([("sitting", 1.0)], cycles=False), side, 1000)
    assert "sitting" in side.read_text()


def test_apply_phases_refuses_the_recording_as_its_own_sidecar(tmp_path):
    from paraspinal.viewer.sidecar import apply_phases

    rec_path = _text_recording(tmp_path / "sub-01_task-frt_events.tsv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        rec = ps.read(rec_path)
    assert apply_phases(rec) is rec  # no sidecar beside it: nothing applied, the recording not parsed as events
    assert apply_phases(rec, rec_path) is rec


def test_bids_sidecar_of_an_edf_named_like_its_sidecar_is_not_read_as_one(tmp_path):
    """An EDF whose name is its own events sidecar's (``..._events.tsv``) is read without it."""
    rec = ps.Recording.from_array(np.random.default_rng(1).normal(0, 50, (1, 2000)), 1000, ["L_MF"])
    edf = tmp_path / "a.edf"
    rec.save(edf)
    odd = tmp_path / "sub-01_task-frt_events.tsv"
    odd.write_bytes(edf.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        back = ps.read(odd)
    assert back.n_samples == 2000 and len(back.phases) == 0
