"""Phase editing (create, label, move, resize, delete, undo) and the events.tsv sidecar."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hashlib
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyqtgraph.Qt import QtCore

from paraspinal.viewer._demo import demo_recording
import paraspinal as ps
from paraspinal.viewer import load_phases, read_with_phases, sidecar_path, view
from paraspinal.viewer.app import BrowserWindow
from paraspinal.viewer.phases import PhaseModel
from paraspinal.viewer.sidecar import EVENTS_COLUMNS

Qt = QtCore.Qt
ROOT = Path(__file__).resolve().parents[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def bids_copy(tmp_path):
    """sub-07's frt recording with its sidecars, in a BIDS tree of its own."""
    src = ROOT / "sample_data"
    for name in ("dataset_description.json", "participants.tsv", "participants.json"):
        shutil.copy(src / name, tmp_path / name)
    emg = tmp_path / "sub-07" / "emg"
    emg.mkdir(parents=True)
    for f in (src / "sub-07" / "emg").glob("sub-07_task-frt_*"):
        shutil.copy(f, emg / f.name)
    return emg / "sub-07_task-frt_emg.edf"


def test_model_edit_and_undo():
    m = PhaseModel(pd.DataFrame({"onset": [0.0, 5.0], "duration": [2.0, 2.0], "phase": ["standing", "flexion"],
                                 "cycle": [1, 1]}), duration=20.0)
    first = m.to_frame()
    uid = m.add(5.5, 1.0, "extension")
    assert m.get(uid)["cycle"] == 1  # inherits the cycle of the phase holding its midpoint
    m.set_label(uid, "full_flexion")
    m.set_bounds(uid, 8.0, 3.0)
    m.set_bounds(uid, 19.0, 5.0)  # clipped to the recording
    assert m.get(uid)["onset"] + m.get(uid)["duration"] == 20.0
    m.delete(uid)
    assert len(m) == 2
    for _ in range(5):
        assert m.undo()
    assert not m.undo()
    pd.testing.assert_frame_equal(m.to_frame(), first)
    assert m.redo() and len(m) == 3


def test_keys_create_label_move_delete_undo(qtbot, tmp_path):
    src = tmp_path / "rec.fif"
    rec = demo_recording()
    rec.save(src)
    win = BrowserWindow(ps.read(src), qc=False, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    n0 = len(win.phases())
    qtbot.keyClick(win, Qt.Key.Key_N)  # new phase in the middle of the window: 4-6 s
    assert len(win.phases()) == n0 + 1
    uid = win.selected_phase
    assert win.phase_model.get(uid)["onset"] == pytest.approx(4.0)
    qtbot.keyClick(win, Qt.Key.Key_8)  # 8 -> PHASES[7] = extension
    assert win.phase_model.get(uid)["phase"] == ps.phases.PHASES[7]
    qtbot.keyClick(win, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)  # move by 0.5 s
    assert win.phase_model.get(uid)["onset"] == pytest.approx(4.5)
    qtbot.keyClick(win, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.phase_model.get(uid)["duration"] == pytest.approx(2.5)
    qtbot.keyClick(win, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)  # Alt+1 -> 11th phase
    assert win.phase_model.get(uid)["phase"] == ps.phases.PHASES[10]
    qtbot.keyClick(win, Qt.Key.Key_Delete)
    assert len(win.phases()) == n0
    for _ in range(6):  # add, label, move, resize, label, delete
        qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(win.phases()) == n0
    pd.testing.assert_frame_equal(win.phases(), ps.read(src).phases)
    assert win.windowTitle().endswith("*")


def test_mouse_drag_moves_a_region_and_shift_drag_creates_one(qtbot):
    win = BrowserWindow(demo_recording(), qc=False, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    uid = win.phase_model.ids_in_order()[1]  # flexion 3-6 s
    item = win.phase_layer.items[uid]
    # what a finished mouse drag of the region does: new region, then sigRegionChangeFinished
    item.setRegion((3.5, 7.0))
    qtbot.waitUntil(lambda: win.phase_model.get(uid)["onset"] == pytest.approx(3.5), timeout=2000)
    assert win.phase_model.get(uid)["duration"] == pytest.approx(3.5)
    assert win.selected_phase == uid
    # Shift+drag with the real mouse on the plot
    vp = win.graphics.viewport()

    def at(t):
        return win.graphics.mapFromScene(win.vb.mapViewToScene(QtCore.QPointF(t, -1.0)))

    n0 = len(win.phases())
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, shift, at(7.2))
    for t in (7.4, 7.8, 8.2, 8.6):
        qtbot.mouseMove(vp, at(t))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, shift, at(8.6))
    assert len(win.phases()) == n0 + 1
    new = win.phase_model.get(win.selected_phase)
    assert new["onset"] == pytest.approx(7.2, abs=0.1) and new["onset"] + new["duration"] == pytest.approx(8.6, abs=0.1)


def test_bids_sidecar_round_trip(qtbot, bids_copy):
    edf_hash = _sha(bids_copy)
    win = view(bids_copy, block=False, qc=False)
    qtbot.addWidget(win)
    assert win.sidecar == bids_copy.with_name("sub-07_task-frt_events.tsv")
    before = win.phases()
    first = win.phase_model.ids_in_order()[0]
    win.select_phase_id(first)
    win.label_phase("rest")
    win.new_phase(30.0, 1.5, "walking")
    out = win.save_phases()
    assert out == win.sidecar and not win.phase_model.dirty
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert tuple(table.columns) == EVENTS_COLUMNS
    assert table["trial_type"].iloc[0] == "rest"
    assert (table["sample"].astype(int) == np.round(table["onset"].astype(float) * 1000).astype(int)).all()
    assert "n/a" in set(table["cycle"]) or table["cycle"].str.isdigit().all()
    assert _sha(bids_copy) == edf_hash  # the recording is never written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = ps.read(bids_copy).phases
    assert len(again) == len(before) + 1
    assert again["phase"].iloc[0] == "rest"
    assert ((again["phase"] == "walking") & (again["onset"] == 30.0) & (again["duration"] == 1.5)).sum() == 1
    def canon(df):  # ties at one onset may come back in another order
        return df.sort_values(["onset", "duration", "phase"], kind="mergesort").reset_index(drop=True)

    pd.testing.assert_frame_equal(canon(again), canon(win.phases()), check_exact=False, atol=1e-6)
    with pytest.raises(Exception):
        win.save_phases(bids_copy)  # never into the recording


def test_non_bids_sidecar_and_analysis_use_edited_phases(qtbot, tmp_path):
    path = tmp_path / "trial3.fif"
    demo_recording().save(path)
    digest = _sha(path)
    win = view(path, block=False, qc=False)
    qtbot.addWidget(win)
    assert win.sidecar == sidecar_path(path) == tmp_path / "trial3.fif.events.tsv"
    win.phase_model.set_label(win.phase_model.ids_in_order()[-1], "sitting")
    win.save_phases()
    assert _sha(path) == digest
    loaded = load_phases(path)
    assert list(loaded["phase"]) == ["standing", "flexion", "full_flexion", "extension", "sitting"]
    rec = read_with_phases(path)
    assert list(rec.phases["phase"]) == list(loaded["phase"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats = ps.analyze(rec)
    assert "sitting" in set(feats["phase"])
