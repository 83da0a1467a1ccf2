"""The viewer's map panel (paraspinal.viewer.gridmap): the RMS map of the shown span per grid, its
centroid against the synthetic truth, the controls' centroid, and following the browser's view."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import warnings

import numpy as np
import pandas as pd
import pytest
from pyqtgraph.Qt import QtCore, QtWidgets

from paraspinal import features, hdsemg as hd, norms, synth
from paraspinal.errors import ParameterError
from paraspinal.viewer import view
from paraspinal.viewer.gridmap import GridMapPanel, controls_centroids, span_maps

Qt = QtCore.Qt


@pytest.fixture(scope="module")
def sim():
    """Two grids, 40 s, activity moving 16 mm cranially; one dead electrode per grid, recorded."""
    s = hd.simulate_grid(40.0, 1024.0, grids=("L_ES", "R_ES"), shift=(0.0, 16.0), seed=11, window_s=10.0,
                         bad={"dead": [13]}, meta={"subject": "p1", "group": "patient", "task": "sorensen"})
    return s, hd.mark_bad(s.recording)


def test_span_maps_meet_the_truth(sim):
    s, rec = sim
    truth = s.truth["L_ES"]
    for k, t0 in enumerate((0.0, 10.0, 20.0, 30.0)):  # the truth's 10-s windows
        maps = span_maps(rec, t0, t0 + 10.0)
        assert set(maps) == {"L_ES", "R_ES"}
        m = maps["L_ES"]
        # the centroid of every electrode (threshold 0): the 70 % one jumps by design when an
        # electrode crosses the threshold, which the truth's map and a noisy map do at different times
        tx, ty = hd.centroid_array(truth.true_map[k], m.geometry.x_mm, m.geometry.y_mm, 0.0)
        cx, cy = m.centroid(0.0)
        assert cx[0] == pytest.approx(tx, abs=0.5) and cy[0] == pytest.approx(ty, abs=0.5)
        est, true = m.values[0], truth.true_map[k]
        ok = np.isfinite(true) & ~m.interpolated
        assert np.nanmedian(np.abs(est[ok] / true[ok] - 1)) < 0.06  # band-passed map vs expected RMS
    assert m.interpolated.sum() == 1  # the dead electrode, filled from its neighbours
    with pytest.raises(ParameterError):
        span_maps(rec, 5.0, 5.0)


def test_panel_follows_the_view(sim, qtbot):
    _, rec = sim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        win = view(rec, block=False, qc=False, window=10.0, n_channels=8)
    qtbot.addWidget(win)
    panel = win.map_panel
    assert isinstance(panel, GridMapPanel) and win._map_dock.isVisible()
    assert panel.span == (0.0, 10.0) and panel.phase == "sorensen_hold"
    first = panel.centroids["L_ES"][1]
    with qtbot.waitSignal(win.sigViewChanged, timeout=3000):
        win.go_to(30.0)
    assert panel.span == (30.0, 40.0)
    assert panel.centroids["L_ES"][1] - first > 8  # the activity moved cranially over the hold
    geom = hd.geometry(rec, "L_ES")
    x, y = panel._plots["L_ES"]["bad"].getData()
    cell = np.argwhere(geom.names == "L_ES_13")[0]
    assert (x[0], y[0]) == (geom.x_mm[tuple(cell)], geom.y_mm[tuple(cell)])
    assert "bad electrode" in panel.caption.text() and not panel.control_points
    actions = [a.text() for bar in win.findChildren(QtWidgets.QToolBar) for a in bar.actions()]
    assert "map" in actions
    win.toggle_map()
    assert not win._map_dock.isVisible()
    win.close()


def _cohort_reference():
    rows = []
    for i, shift in enumerate((10.0, 14.0, 18.0)):
        s = hd.simulate_grid(12.0, 1024.0, grids=("L_ES", "R_ES"), shift=(0.0, shift), seed=20 + i,
                             centre=(16.0, 30.0 + 4 * i), meta={"subject": f"c{i}", "group": "control",
                                                               "task": "sorensen"})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows.append(features.compute(s.recording, features=["hdsemg"]))
    return pd.concat(rows, ignore_index=True)


def test_controls_centroid_from_a_reference_and_from_a_study(sim, tmp_path, qtbot):
    _, rec = sim
    table = _cohort_reference()
    ref = norms.build_reference(table)
    c = controls_centroids(ref).set_index(["phase", "channel"])
    mean_y = table[(table.feature == "hd_centroid_y") & (table.channel == "L_ES")]["value"].mean()
    assert c.at[("sorensen_hold", "L_ES"), "y_mm"] == pytest.approx(mean_y, rel=1e-12)
    assert c.at[("sorensen_hold", "L_ES"), "n"] == 3
    # the same from a processed study's feature table (controls only)
    patient = table[table.subject == "c0"].assign(subject="p9", group="patient")
    pd.concat([table, patient]).to_parquet(tmp_path / "features.parquet")
    from_study = controls_centroids(study=tmp_path).set_index(["phase", "channel"])
    assert from_study.at[("sorensen_hold", "L_ES"), "y_mm"] == pytest.approx(mean_y, rel=1e-12)
    assert controls_centroids().empty
    panel = GridMapPanel(rec, controls=controls_centroids(ref))
    qtbot.addWidget(panel)
    panel.show_span(5.0, 15.0)
    assert panel.control_points["L_ES"][1] == pytest.approx(mean_y, rel=1e-12)
    assert panel._plots["R_ES"]["ref"].getData()[0].size == 1
    assert "controls' mean centroid in sorensen_hold (n = 3)" in panel.caption.text()


def test_no_grid_no_map(qtbot):
    rec = synth.simulate("frt", "control", sfreq=1000, seed=1, ecg=False, powerline=None,
                         channels=("L_LT", "R_LT")).recording
    with pytest.raises(ParameterError, match="no electrode grid"):
        GridMapPanel(rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        win = view(rec, block=False, qc=False)
    qtbot.addWidget(win)
    assert win.map_panel is None
    actions = [a.text() for bar in win.findChildren(QtWidgets.QToolBar) for a in bar.actions()]
    assert "guarding" in actions and "map" not in actions
    win.close()
