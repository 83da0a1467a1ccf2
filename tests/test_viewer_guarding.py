"""Guarding panel on the sample study: a patient over the controls' band, FRP markers, profile."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyqtgraph.Qt import QtGui

import paraspinal as ps
from paraspinal import norms
from paraspinal.viewer import view
from paraspinal.viewer.guarding import GuardingPanel, compute_guarding, study_recording, study_reference

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def reference():
    """Controls' reference of the sample study (frt), with the envelope band; built once."""
    controls = [SAMPLE / f"sub-{i:02d}" / "emg" / f"sub-{i:02d}_task-frt_emg.edf" for i in range(1, 7)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feats = []
        for p in controls:
            f, proc = ps.analyze(p, return_recording=True)
            feats += [f, norms.kinematic_features(proc)]
        features = pd.concat(feats, ignore_index=True)
        band = norms.envelope_band(controls)
        return norms.build_reference(features, group="control", envelopes=band)


@pytest.fixture(scope="module")
def patient_data(reference):
    rec = ps.read(SAMPLE / "sub-07" / "emg" / "sub-07_task-frt_emg.edf")
    return rec, compute_guarding(rec, reference)


def test_guarding_data(patient_data, reference):
    rec, data = patient_data
    assert data.subject == "07" and data.task == "frt" and data.n_controls == 6
    # every EMG channel and phase of the patient has a band to draw it on
    assert set(data.curves["channel"]) == set(rec.emg_names)
    for (ph, ch), cur in data.curves.groupby(["phase", "channel"]):
        band = reference.band("frt", ph, ch)
        assert len(band) == len(cur) == 101
    # FRP markers sit inside the flexion / extension phases with an angle
    assert len(data.frp)
    ok = data.frp.dropna(subset=["off_pct"])
    assert ok["off_phase"].isin(["flexion", "full_flexion"]).all()
    assert ((ok["off_pct"] >= 0) & (ok["off_pct"] <= 100)).all()
    assert np.isfinite(ok["off_angle"]).all()
    # z-score profile: one row per sign, the FRP sign assessable
    prof = data.profile
    assert prof is not None and "absent_frp" in set(prof["sign"])
    assert bool(prof.set_index("sign").loc["absent_frp", "assessable"])


def test_guarding_panel_draws_band_patient_and_profile(qtbot, patient_data, tmp_path):
    _, data = patient_data
    panel = GuardingPanel(data)
    qtbot.addWidget(panel)
    panel.resize(1400, 900)
    panel.show()
    phases = list(dict.fromkeys(data.band["phase"]))
    channels = list(dict.fromkeys(data.curves["channel"]))
    assert set(panel.plots) == {(p, c) for p in phases for c in channels}
    import pyqtgraph as pg

    cell = panel.plots[("full_flexion", "L_LT")]
    kinds = [type(i).__name__ for i in cell.items]
    assert "FillBetweenItem" in kinds  # the controls' band
    assert kinds.count("PlotDataItem") >= 2  # controls' mean and the patient
    bars = [i for i in panel.profile_plot.items if isinstance(i, pg.BarGraphItem)]
    assert len(bars) == 1 and len(bars[0].opts["height"]) == len(data.profile)
    out = panel.graphics
    from paraspinal.viewer.export import export_image

    png = export_image(out, tmp_path / "g.png", width=1200)
    assert QtGui.QImage(str(png)).width() == 1200


def test_profile_marks_a_sign_flagged_without_z(qtbot, patient_data):
    """A sign flagged because the value lies beyond every (equal) control has no z: no bar, so a
    marker at the threshold and a '(> all)' tick say it was flagged."""
    import dataclasses

    import pyqtgraph as pg

    _, data = patient_data
    prof = data.profile.copy()
    i = int(np.flatnonzero(prof["sign"].to_numpy() == "spasm")[0])
    prof.loc[i, ["flag", "assessable", "strength"]] = [True, True, np.nan]
    panel = GuardingPanel(dataclasses.replace(data, profile=prof))
    qtbot.addWidget(panel)
    marks = [it for it in panel.profile_plot.items if isinstance(it, pg.ScatterPlotItem)]
    assert len(marks) == 1
    xs, ys = marks[0].getData()
    assert list(xs) == [float(i)] and ys[0] == pytest.approx(float(prof["threshold"].iat[0]))
    ticks = dict(panel.profile_plot.getAxis("bottom")._tickLevels[0])
    assert ticks[float(i)].endswith("(> all)")


def test_window_with_reference_and_study_helpers(qtbot, reference, tmp_path):
    path = SAMPLE / "sub-08" / "emg" / "sub-08_task-frt_emg.edf"
    win = view(path, reference=reference, block=False, qc=False)
    qtbot.addWidget(win)
    assert win.guarding_panel is not None and win.guarding_panel.data.subject == "08"
    # editing phases and reopening recomputes the panel with the edited phases
    first = win.phase_model.ids_in_order()[0]
    win.phase_model.delete(first)
    panel = win.show_guarding()
    assert panel.data is not None
    png = win.export_view(tmp_path / "guard.png", width=900, what="guarding")
    assert QtGui.QImage(str(png)).width() == 900
    # a study folder: provenance locates the recordings; the reference is built in memory
    out = tmp_path / "out"
    out.mkdir()
    prov = {"study": {"root": str(SAMPLE)}, "recordings": [
        {"path": f"sub-{i:02d}/emg/sub-{i:02d}_task-frt_emg.edf", "subject": f"{i:02d}",
         "group": "control" if i <= 6 else "patient", "task": "frt", "status": "ok"} for i in (1, 2, 3, 7)]}
    (out / "provenance.json").write_text(json.dumps(prov))
    assert study_recording(out, "07") == SAMPLE / "sub-07" / "emg" / "sub-07_task-frt_emg.edf"
    assert study_recording(out, "sub-07", task="frt").name == "sub-07_task-frt_emg.edf"
    with pytest.raises(ps.ParaspinalError):
        study_recording(out, "42")
    reference.save(out / "norms")
    ref = study_reference(out)
    assert ref.envelopes is not None and ref.n_subjects == 6


def test_frp_markers_of_a_control(reference):
    rec = ps.read(SAMPLE / "sub-02" / "emg" / "sub-02_task-frt_emg.edf")
    data = compute_guarding(rec, reference)
    ok = data.frp.dropna(subset=["off_pct", "on_pct"])
    assert len(ok)  # a control relaxes: EMG-off and EMG-on found
    assert ok["off_phase"].isin(["flexion", "full_flexion"]).all()
    assert ok["on_phase"].isin(["full_flexion", "extension"]).all()
    assert ((ok[["off_pct", "on_pct"]] >= 0) & (ok[["off_pct", "on_pct"]] <= 100)).all().all()
    assert np.isfinite(ok["off_angle"]).all() and np.isfinite(ok["on_angle"]).all()
