"""Trace browser: keys, mouse, help, scaling, export and a soak of many pans."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from pyqtgraph.Qt import QtCore, QtGui

from paraspinal.viewer._demo import demo_recording
from paraspinal.viewer import keys as vkeys
from paraspinal.viewer.app import MODES, BrowserWindow
from paraspinal.viewer.dialogs import help_text

Qt = QtCore.Qt


@pytest.fixture
def win(qtbot):
    w = BrowserWindow(demo_recording(), qc=True, window=10.0, size=(1000, 700))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_paging_moves_by_the_right_amount(win, qtbot):
    assert (win.t0, win.win) == (0.0, 10.0)
    qtbot.keyClick(win, Qt.Key.Key_Right)
    assert win.t0 == pytest.approx(2.5)
    qtbot.keyClick(win, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert win.t0 == pytest.approx(12.5)
    qtbot.keyClick(win, Qt.Key.Key_Left)
    assert win.t0 == pytest.approx(10.0)
    qtbot.keyClick(win, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert win.t0 == pytest.approx(0.0)
    qtbot.keyClick(win, Qt.Key.Key_Left)  # clamped at the start
    assert win.t0 == 0.0
    # the view follows
    lo, hi = win.vb.viewRange()[0]
    assert (lo, hi) == pytest.approx((0.0, 10.0))
    qtbot.keyClick(win, Qt.Key.Key_BracketRight)
    assert win.t0 + win.win == pytest.approx(win.duration)
    # keys sent to the plot widget reach the window too
    qtbot.keyClick(win.graphics, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert win.t0 + win.win == pytest.approx(win.duration - 10.0)


def test_window_length_and_channels(win, qtbot):
    qtbot.keyClick(win, Qt.Key.Key_Home)
    assert win.win == pytest.approx(5.0)
    qtbot.keyClick(win, Qt.Key.Key_End)
    qtbot.keyClick(win, Qt.Key.Key_End)
    assert win.win == pytest.approx(20.0)
    n = len(win.names)
    assert win.visible_channels() == list(range(n))
    qtbot.keyClick(win, Qt.Key.Key_PageDown)
    qtbot.keyClick(win, Qt.Key.Key_PageDown)
    assert win.n_rows == n - 2
    qtbot.keyClick(win, Qt.Key.Key_Down)
    assert win.visible_channels()[0] == 1
    qtbot.keyClick(win, Qt.Key.Key_Up)
    assert win.visible_channels()[0] == 0


def test_plus_minus_change_the_scale(win, qtbot):
    before = win.units_per_row().copy()
    bar = win.scalebar.value
    qtbot.keyClick(win, Qt.Key.Key_Plus)
    np.testing.assert_allclose(win.units_per_row(), before / 1.25)
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    qtbot.keyClick(win, Qt.Key.Key_Minus)
    np.testing.assert_allclose(win.units_per_row(), before / 1.25 / 0.8 / 0.8)
    assert win.scalebar.unit == "µV" and win.scalebar.value > 0
    assert win.scalebar.value >= bar  # smaller traces: a longer (or equal) bar in µV
    # the curve transform follows (one row per units_per_row)
    upr = win.units_per_row()[0]
    assert win.traces.curves[0].transform().m22() == pytest.approx(1.0 / upr)
    # per-channel scaling of the selected channel only
    qtbot.keyClick(win, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    ch = win.selected_channel
    ref = win.units_per_row().copy()
    qtbot.keyClick(win, Qt.Key.Key_Asterisk)
    after = win.units_per_row()
    assert after[ch] == pytest.approx(ref[ch] / 1.25)
    assert np.delete(after, ch) == pytest.approx(np.delete(ref, ch))
    qtbot.keyClick(win, Qt.Key.Key_A)
    np.testing.assert_allclose(win.units_per_row(), before)


def test_help_lists_every_bound_key(win, qtbot):
    qtbot.keyClick(win, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    dlg = win.help_dialog
    qtbot.addWidget(dlg)
    text = dlg.text()
    for b in vkeys.BINDINGS:
        assert b.text in text, b.text
        assert b.description in text
        assert hasattr(win, b.method), b.method
    # and each binding is reached by its key
    assert help_text().count("\n") >= len(vkeys.BINDINGS)
    # every phase of the vocabulary has a number key
    from paraspinal.phases import PHASES

    assert {p for *_, p in vkeys.PHASE_KEYS} == set(PHASES)
    dlg.close()


def test_every_binding_runs(win, qtbot, monkeypatch):
    """Press every key once: none raises (status bar shows errors) and the window survives."""
    from pyqtgraph.Qt import QtWidgets

    monkeypatch.setattr(QtWidgets.QDialog, "exec", lambda self: 0)
    monkeypatch.setattr(win, "close", lambda: None)
    mods = {"Shift": Qt.KeyboardModifier.ShiftModifier, "Ctrl": Qt.KeyboardModifier.ControlModifier,
            "Alt": Qt.KeyboardModifier.AltModifier}
    win.sidecar = None
    monkeypatch.setattr(win, "save_phases", lambda *a: None)
    for b in vkeys.BINDINGS:
        if b.method in ("toggle_guarding",):
            continue
        m = Qt.KeyboardModifier.NoModifier
        for name in b.modifiers:
            m |= mods[name]
        key = getattr(Qt.Key, f"Key_{b.key}")
        ev = QtGui.QKeyEvent(QtCore.QEvent.Type.KeyPress, key, m)
        assert win.handle_key(ev), b.text
    assert win.isVisible()


def test_modes_time_format_and_qc_labels(win, qtbot):
    labels = [win.channel_label(i) for i in range(len(win.names))]
    assert labels[0].startswith("L LT")
    assert win.qc_table is not None and set(win.qc_table["qc"]) <= {"pass", "warn", "fail"}
    for mode in MODES[1:]:
        qtbot.keyClick(win, Qt.Key.Key_V)
        assert win.mode == mode
        assert win.mode_box.currentText() == mode
    qtbot.keyClick(win, Qt.Key.Key_V)
    assert win.mode == "raw"
    qtbot.keyClick(win, Qt.Key.Key_T)
    assert win.time_axis.fmt == "min:s"
    assert win.time_axis.tickStrings([65.0, 130.5], 1, 0.5) == ["1:05.0", "2:10.5"]
    assert win.time_axis.autoSIPrefix is False
    assert win.time_axis.labelText == "time (min:s)"
    assert not win.overview.plot.getAxis("bottom").label.isVisible()  # the overview keeps no axis title
    dlg = win.show_channel_info()
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == len(win.names)


def test_mouse_click_selects_a_channel_and_overview_jumps(win, qtbot):
    vb = win.vb
    target = vb.mapViewToScene(QtCore.QPointF(win.t0 + 5.0, -2.0))
    pos = win.graphics.mapFromScene(target)
    qtbot.mouseClick(win.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert win.selected_channel == 2
    ov = win.overview.vb
    pos = win.graphics.mapFromScene(ov.mapViewToScene(QtCore.QPointF(40.0, 0.5)))
    qtbot.mouseClick(win.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert win.t0 + win.win / 2 == pytest.approx(40.0, abs=0.5)
    # dragging the window region in the overview moves the view
    win.overview.window.setRegion((20.0, 30.0))
    assert win.t0 == pytest.approx(20.0)


def test_export_png_and_svg(win, tmp_path):
    png = win.export_view(tmp_path / "view.png", width=1600)
    img = QtGui.QImage(str(png))
    assert img.width() == 1600
    ratio = win.graphics.ci.boundingRect().height() / win.graphics.ci.boundingRect().width()
    assert abs(img.height() - round(1600 * ratio)) <= 2
    svg = win.export_view(tmp_path / "view.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    with pytest.raises(Exception):
        win.export_view(tmp_path / "view.jpg")


def test_soak_5000_pans(qtbot):
    rec = demo_recording(seconds=30.0, sfreq=500.0, n_channels=4)
    w = BrowserWindow(rec, qc=False, window=2.0, size=(600, 400))
    qtbot.addWidget(w)
    w.show()
    rng = np.random.default_rng(0)
    steps = rng.choice([-1.0, -0.25, 0.25, 1.0], size=5000)
    zooms = rng.random(5000) < 0.02
    for i, (s, z) in enumerate(zip(steps, zooms)):
        w.page(float(s))
        if z:
            w.zoom_time(0.5 if rng.random() < 0.5 else 2.0)
        if i % 250 == 0:
            qtbot.wait(0)
        assert 0.0 <= w.t0 <= w.duration - w.win + 1e-9
    assert w.isVisible()


def test_view_changed_is_sent_once_per_settled_change(win, qtbot):
    """Five quick page turns send one ViewState (the last view), not five."""
    from pyqtgraph.Qt import QtWidgets

    from paraspinal.viewer.app import ViewState

    got = []
    win.sigViewChanged.connect(got.append)
    qtbot.wait(win.view_settle_ms + 100)  # the first window's own notice
    got.clear()
    for _ in range(5):
        win.page(0.25)
    assert got == []  # nothing while the view is still moving
    qtbot.waitUntil(lambda: len(got) == 1, timeout=3000)
    qtbot.wait(win.view_settle_ms + 100)
    assert len(got) == 1
    state = got[0]
    assert isinstance(state, ViewState) and state == win.view_state()
    assert (state.t0, state.t1) == pytest.approx((12.5, 22.5))  # 5 quarter pages of 10 s
    assert (state.start, state.stop) == (12_500, 22_500)
    assert state.names == tuple(win.names[i] for i in win.visible_channels()) and state.mode == "raw"
    # the same view again sends nothing; a channel scroll does
    win.redraw()
    qtbot.wait(win.view_settle_ms + 100)
    assert len(got) == 1
    qtbot.keyClick(win, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=3000)
    assert len(got[1].channels) == len(state.channels) - 1
    # a panel in a dock, fed by the signal
    label = QtWidgets.QLabel()
    dock = win.add_dock(label, "map", area="right")
    assert dock.widget() is label and win.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
    win.sigViewChanged.connect(lambda s: label.setText(f"{s.t0:.2f}-{s.t1:.2f}"))
    win.go_to(30.0)
    qtbot.waitUntil(lambda: label.text() == "30.00-40.00", timeout=3000)
    with pytest.raises(Exception):
        win.add_dock(QtWidgets.QLabel(), "x", area="middle")


def test_scale_bar_stays_put_while_paging(win, qtbot):
    """The bar lives in the view's pixels: paging leaves it, a new scale changes its value."""
    lo, hi = win.scalebar.endpoints()
    assert hi - lo == pytest.approx(win.scalebar.value / win.units_per_row()[0])
    pos = win.scalebar.mapToScene(0, 0)
    value = win.scalebar.value
    win.page(1.0)
    assert win.scalebar.mapToScene(0, 0) == pos and win.scalebar.value == value
    qtbot.keyClick(win, Qt.Key.Key_S)
    assert not win.scalebar.isVisible()
    qtbot.keyClick(win, Qt.Key.Key_S)
    assert win.scalebar.isVisible() and win.scalebar.label() == f"{value:g} µV"
