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


def _drag(qtbot, win, points, modifier=Qt.KeyboardModifier.NoModifier):
    """A real left-button drag through view points ``(t, y)``: hover, press, moves, release."""
    vp = win.graphics.viewport()

    def at(t, y):
        return win.graphics.mapFromScene(win.vb.mapViewToScene(QtCore.QPointF(t, y)))

    pos = [at(*pt) for pt in points]  # screen positions fixed before the view moves (a pan)
    qtbot.mouseMove(vp, pos[0] + QtCore.QPoint(0, 3))  # hover there: the item under the
    qtbot.wait(20)                                       # mouse when it is pressed gets the drag
    qtbot.mouseMove(vp, pos[0])
    qtbot.wait(20)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, modifier, pos[0])
    for pt in pos[1:]:
        qtbot.wait(15)  # pyqtgraph drops mouse moves closer than 10 ms apart
        qtbot.mouseMove(vp, pt)
    qtbot.wait(15)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, pos[-1])


def test_mouse_drags_resize_and_move_a_phase_and_shift_drag_creates_one(qtbot):
    win = BrowserWindow(demo_recording(), qc=False, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    uid = win.phase_model.ids_in_order()[1]  # flexion 3-6 s
    mid_y = -1.0
    # drag its end edge from 6 s to 7 s: the phase is now 3-7 s, and selected
    _drag(qtbot, win, [(6.0, mid_y), (6.3, mid_y), (6.7, mid_y), (7.0, mid_y)])
    row = win.phase_model.get(uid)
    assert row["onset"] == pytest.approx(3.0, abs=1e-9)
    assert row["onset"] + row["duration"] == pytest.approx(7.0, abs=0.05)
    assert win.selected_phase == uid
    # drag its label strip (top of the view) by +0.5 s: moved, same length
    top = win.vb.viewRange()[1][1] - 0.02
    _drag(qtbot, win, [(4.5, top), (4.7, top), (5.0, top)])
    row = win.phase_model.get(uid)
    assert row["onset"] == pytest.approx(3.5, abs=0.05)
    assert row["duration"] == pytest.approx(4.0, abs=0.05)
    # each drag is one edit: undo twice restores 3-6 s
    win.undo()
    win.undo()
    assert (win.phase_model.get(uid)["onset"], win.phase_model.get(uid)["duration"]) == (3.0, 3.0)
    # a drag inside an unselected phase, away from edges and label, pans the view
    win.select_phase_id(None)
    win.zoom_time(0.5)  # 0-5 s shown, so there is room to pan
    before = (len(win.phases()), win.phase_model.to_frame())
    _drag(qtbot, win, [(4.0, mid_y), (3.5, mid_y), (3.0, mid_y)])
    assert win.t0 == pytest.approx(1.0, abs=0.1)
    pd.testing.assert_frame_equal(win.phase_model.to_frame(), before[1])
    # Shift+drag with the real mouse on the plot draws a new phase
    win.go_to(0.0)
    n0 = len(win.phases())
    _drag(qtbot, win, [(2.2, mid_y), (2.4, mid_y), (2.8, mid_y), (3.2, mid_y), (3.6, mid_y)],
          Qt.KeyboardModifier.ShiftModifier)
    assert len(win.phases()) == n0 + 1
    new = win.phase_model.get(win.selected_phase)
    assert new["onset"] == pytest.approx(2.2, abs=0.1) and new["onset"] + new["duration"] == pytest.approx(3.6, abs=0.1)


def test_clicks_select_phase_by_label_and_channel_elsewhere(qtbot):
    win = BrowserWindow(demo_recording(), qc=False, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    vp = win.graphics.viewport()

    def click(t, y):
        pos = win.graphics.mapFromScene(win.vb.mapViewToScene(QtCore.QPointF(t, y)))
        qtbot.mouseMove(vp, pos + QtCore.QPoint(0, 3))
        qtbot.wait(20)
        qtbot.mouseMove(vp, pos)
        qtbot.wait(20)
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=pos)

    flexion = win.phase_model.ids_in_order()[1]  # 3-6 s
    click(4.5, win.vb.viewRange()[1][1] - 0.02)  # its label strip
    assert win.selected_phase == flexion
    click(4.5, -2.0)  # inside the phase, on the third trace: a channel, and no phase
    assert win.selected_channel == 2 and win.selected_phase is None


def test_phase_layer_shows_exactly_the_phases_in_view(qtbot):
    """After each page turn the one phase item draws the phases overlapping the view (plus a
    tenth of it on each side), computed here from the phase table with plain comparisons."""
    rng = np.random.default_rng(5)
    rec = demo_recording(seconds=600.0, sfreq=200.0, n_channels=3)
    onsets = np.sort(rng.uniform(0, 590, 300))
    table = pd.DataFrame({"onset": onsets, "duration": rng.uniform(0.2, 8.0, 300),
                          "phase": rng.choice(list(ps.phases.PHASES), 300), "cycle": None})
    rec = rec.with_phases(table)
    win = BrowserWindow(rec, qc=False, window=10.0, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    frame = win.phase_model.to_frame()
    ids = np.array(win.phase_model.ids_in_order())
    on = frame["onset"].to_numpy()
    end = on + frame["duration"].to_numpy()
    for step in [1.0] * 12 + [-0.25] * 5 + [3.0] * 4:
        win.page(step)
        t0, t1 = win.vb.viewRange()[0]
        m = 0.1 * (t1 - t0)
        want = set(ids[(on <= t1 + m) & (end >= t0 - m)].tolist())
        assert set(win.phase_layer.shown) == want
        assert len(win.phase_layer.shown) == len(want)
    # an edit shows at once
    uid = win.phase_layer.shown[0]
    win.phase_model.set_bounds(uid, win.t0 + 1.0, 0.5)
    assert win.phase_layer.bounds_of(uid) == pytest.approx((win.t0 + 1.0, win.t0 + 1.5))


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
