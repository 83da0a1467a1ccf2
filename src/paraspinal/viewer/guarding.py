"""Guarding panel: a patient's phase envelopes over the controls' band, FRP markers, z-score profile.

For every EMG channel (muscle and side: one column) and every phase of the task (one row),
the panel draws the controls' time-normalised moving-RMS envelope as mean ± SD over 0-100 %
of the phase (:meth:`paraspinal.norms.NormativeReference.band`) and the patient's curve
(:func:`paraspinal.norms.envelope_curves`) on top. On the flexion, full-flexion and
extension rows it marks where the EMG switched off and on again (flexion-relaxation,
:func:`paraspinal.phases.frp_angles`: 25 % of the cycle's peak flexion envelope, held
0.25 s) with the trunk angle there. The last row is the guarding profile: per sign, the
mean z-score in the guarding direction (:func:`paraspinal.norms.guarding_profile`),
red when flagged (≥ 2 SD by default), grey when not assessable.

The numbers come from :func:`compute_guarding`, which re-runs the analysis with the phases
given (the viewer passes the phases being edited), so the panel follows phase edits.

A research display, not a diagnosis: no validated sEMG criterion of guarding exists.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from ..errors import ParameterError, ReadError
from ..recording import Recording

__all__ = ["GuardingData", "compute_guarding", "GuardingPanel", "study_reference", "study_recording"]

_FRP_PHASES = ("flexion", "full_flexion", "extension")
_SHORT = {"static_amplitude": "static", "absent_frp": "no FRP", "reduced_movement_activity": "mov. act.",
          "coactivation": "co-act.", "low_variability": "variab.", "asymmetry": "asym.", "spasm": "spasm",
          "reduced_rom": "ROM"}


@dataclass
class GuardingData:
    """What the guarding panel draws.

    Attributes
    ----------
    curves : pandas.DataFrame
        The patient's curves (:func:`paraspinal.norms.envelope_curves`).
    band : pandas.DataFrame
        The controls' band of the task (``phase, channel, pct, n, mean, sd``...).
    frp : pandas.DataFrame
        ``channel, cycle, off_time, on_time, off_angle, on_angle, off_phase, off_pct, on_phase, on_pct``.
    profile : pandas.DataFrame or None
        :func:`paraspinal.norms.guarding_profile` of the patient.
    subject, task : str or None
        Who and what.
    n_controls : int
        Control subjects in the reference.
    notes : list of str
        What could not be computed, and why.
    """

    curves: pd.DataFrame
    band: pd.DataFrame
    frp: pd.DataFrame
    profile: pd.DataFrame | None
    subject: str | None = None
    task: str | None = None
    n_controls: int = 0
    notes: list[str] = field(default_factory=list)


def _pct_in_phase(t: float, cycle: int, phases: pd.DataFrame, names: tuple[str, ...]) -> tuple[str | None, float]:
    if not np.isfinite(t):
        return None, np.nan
    sel = phases[(phases["cycle"] == cycle).fillna(False) & phases["phase"].isin(names)]
    on = sel["onset"].to_numpy(float)
    du = sel["duration"].to_numpy(float)
    hit = np.flatnonzero((on <= t) & (t <= on + du) & (du > 0))
    if not len(hit):
        return None, np.nan
    i = hit[0]
    return str(sel["phase"].iat[i]), float(100.0 * (t - on[i]) / du[i])


def _frp_table(proc: Recording) -> pd.DataFrame:
    from ..phases import frp_angles
    from ..preprocessing import envelope

    cols = ["channel", "cycle", "off_time", "on_time", "off_angle", "on_angle", "off_phase", "off_pct", "on_phase",
            "on_pct"]
    ph = proc.phases
    if "TRUNK_ANGLE" not in proc.ch_names or not len(ph) or ph["cycle"].isna().all():
        return pd.DataFrame(columns=cols)
    names = proc.emg_names
    env = envelope(proc, "rms", window_ms=250.0).get_data(names, unit="uV")
    angle = proc.get_data(["TRUNK_ANGLE"], unit=None)[0]
    rows = frp_angles(env, angle, proc.sfreq, ph)
    out = []
    for r in rows:
        off_phase, off_pct = _pct_in_phase(r["off_time"], r["cycle"], ph, ("flexion", "full_flexion"))
        on_phase, on_pct = _pct_in_phase(r["on_time"], r["cycle"], ph, ("full_flexion", "extension"))
        out.append({**r, "channel": names[r["channel"]], "off_phase": off_phase, "off_pct": off_pct,
                    "on_phase": on_phase, "on_pct": on_pct})
    return pd.DataFrame(out, columns=cols)


def compute_guarding(rec: Recording, reference: Any, *, phases: pd.DataFrame | None = None,
                     pipeline: Any = None) -> GuardingData:
    """Compute what the guarding panel shows for one recording.

    Parameters
    ----------
    rec : Recording
        The raw recording (it is conditioned with ``pipeline``).
    reference : NormativeReference
        Controls' reference with an envelope band (``envelopes=`` when built).
    phases : pandas.DataFrame, optional
        Phases to use (default: the recording's, else detected).
    pipeline : optional
        Conditioning (None = the default pipeline).

    Returns
    -------
    GuardingData
    """
    from .. import norms
    from ..features import analyze

    notes: list[str] = []
    if rec.meta.get("subject") is None:
        rec = rec.with_meta(subject="patient")
    use = phases if phases is not None and len(phases) else "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features, proc = analyze(rec, pipeline, phases=use, return_recording=True)
        curves = norms.envelope_curves(proc, pipeline=False)
        try:
            kin = norms.kinematic_features(proc)
            if len(kin):
                features = pd.concat([features, kin], ignore_index=True)
        except Exception as err:  # a recording without a usable angle: ROM not assessable
            notes.append(f"range of motion not computed ({err})")
    task = rec.meta.get("task")
    band = pd.DataFrame(columns=["phase", "channel", "pct", "n", "mean", "sd"])
    if getattr(reference, "envelopes", None) is None:
        notes.append("the reference has no envelope band (build it with envelopes=control recordings)")
    else:
        band = reference.band(task=task) if task is not None and (reference.envelopes["task"] == task).any() \
            else reference.band()
        if task is not None and not (reference.envelopes["task"] == task).any():
            notes.append(f"no control band for task {task!r}: showing all tasks' bands")
    try:
        frp = _frp_table(proc)
    except Exception as err:
        frp = pd.DataFrame(columns=["channel", "cycle", "off_time", "on_time", "off_angle", "on_angle",
                                    "off_phase", "off_pct", "on_phase", "on_pct"])
        notes.append(f"flexion-relaxation markers not computed ({err})")
    profile = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = norms.score(features, reference, subject=str(rec.meta.get("subject")))
            profile = norms.guarding_profile(scores)
    except Exception as err:
        notes.append(f"guarding profile not computed ({err})")
    return GuardingData(curves=curves, band=band, frp=frp, profile=profile,
                        subject=None if rec.meta.get("subject") is None else str(rec.meta.get("subject")),
                        task=task, n_controls=int(getattr(reference, "n_subjects", 0)), notes=notes)


# ----------------------------------------------------------------------------- study folders
def _provenance(out: Path) -> dict[str, Any]:
    prov = out / "provenance.json"
    if not prov.is_file():
        raise ReadError("no provenance.json in the study output folder", file=out,
                        hint="run `paraspinal study run STUDY -o OUT` first, or give the recording's path")
    return json.loads(prov.read_text(encoding="utf-8"))


def study_recording(out: str | os.PathLike, subject: str, task: str | None = None) -> Path:
    """The recording file of a subject in a processed study (``OUT/provenance.json``).

    Parameters
    ----------
    out : path-like
        Study output folder (``paraspinal study run ... -o OUT``).
    subject : str
        Subject id (``07`` or ``sub-07``).
    task : str, optional
        Task; default ``frt`` when the subject has it, else the first one listed.

    Returns
    -------
    pathlib.Path
    """
    out = Path(out)
    prov = _provenance(out)
    root = Path(prov.get("study", {}).get("root", "."))
    sub = str(subject).removeprefix("sub-")
    recs = [r for r in prov.get("recordings", []) if str(r.get("subject")) == sub and r.get("status") == "ok"]
    if task is not None:
        recs = [r for r in recs if r.get("task") == task]
    elif any(r.get("task") == "frt" for r in recs):
        recs = [r for r in recs if r.get("task") == "frt"]
    if not recs:
        raise ParameterError(f"no processed recording of subject {sub!r}" + (f", task {task!r}" if task else "")
                             + f" in {out}", hint="check --subject and --task against OUT/provenance.json")
    path = Path(recs[0]["path"])
    return path if path.is_absolute() else root / path


def study_reference(out: str | os.PathLike, *, group: str = "control") -> Any:
    """The normative reference of a processed study.

    ``OUT/norms/`` (written by :func:`paraspinal.norms.build_from_study`) when it exists and
    holds an envelope band; otherwise it is built in memory (nothing is written) from
    ``OUT/features.parquet`` and the control recordings listed in ``OUT/provenance.json``.

    Parameters
    ----------
    out : path-like
        Study output folder.
    group : str
        Control label.

    Returns
    -------
    NormativeReference
    """
    from .. import norms

    out = Path(out)
    saved = out / "norms"
    if (saved / "reference.json").is_file():
        ref = norms.load_reference(saved)
        if ref.envelopes is not None:
            return ref
    feats = out / "features.parquet"
    if not feats.is_file():
        raise ReadError("no features.parquet in the study output folder", file=out,
                        hint="run `paraspinal study run STUDY -o OUT` first")
    table = pd.read_parquet(feats)
    prov = _provenance(out)
    root = Path(prov.get("study", {}).get("root", "."))
    paths = [root / r["path"] if not Path(r["path"]).is_absolute() else Path(r["path"])
             for r in prov.get("recordings", []) if r.get("group") == group and r.get("status") == "ok"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return norms.build_reference(table, group=group, envelopes=paths or None)


# ----------------------------------------------------------------------------- the widget
def _channel_title(curves: pd.DataFrame, channel: str) -> str:
    row = curves[curves["channel"] == channel].iloc[0]
    m, s = row.get("muscle"), row.get("side")
    return f"{s} {m}" if isinstance(m, str) and isinstance(s, str) else channel


class GuardingPanel(QtWidgets.QWidget):
    """The guarding panel widget.

    Parameters
    ----------
    data : GuardingData, optional
        What to draw (see :meth:`set_data`).
    parent : QWidget, optional
    """

    def __init__(self, data: GuardingData | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        lay.addWidget(self.graphics)
        self.plots: dict[tuple[str, str], pg.PlotItem] = {}
        self.profile_plot: pg.PlotItem | None = None
        self.data: GuardingData | None = None
        if data is not None:
            self.set_data(data)

    def set_data(self, data: GuardingData) -> None:
        """Draw ``data`` (replaces what was shown)."""
        self.data = data
        gl = self.graphics.ci
        gl.clear()
        self.plots.clear()
        curves, band = data.curves, data.band
        channels = list(dict.fromkeys(curves["channel"])) if len(curves) else []
        phases = [p for p in dict.fromkeys(band["phase"]) if (curves["phase"] == p).any()] if len(band) else \
            list(dict.fromkeys(curves["phase"])) if len(curves) else []
        ncol = max(len(channels), 1)
        unit = str(curves["unit"].iat[0]) if len(curves) else ""
        unit = "µV" if unit == "uV" else unit
        who = f"sub-{data.subject}" if data.subject else "recording"
        title = (f"<b>{who}</b>{' · task ' + data.task if data.task else ''} · moving-RMS envelope per phase "
                 f"(0–100 %) over controls' mean ± SD (n = {data.n_controls})")
        gl.addLabel(title, row=0, col=0, colspan=ncol + 1, size="11pt", color="#222")
        gl.addLabel("<span style='color:#3d6fb6'>■</span> controls mean ± SD &nbsp; "
                    "<span style='color:#c62828'>━</span> patient &nbsp; "
                    "<span style='color:#2e7d32'>┃</span> EMG-off &nbsp; <span style='color:#6a1b9a'>┃</span> EMG-on"
                    " (trunk angle)", row=1, col=0, colspan=ncol + 1, size="9pt", color="#444")
        for i, ph in enumerate(phases):
            gl.addLabel(ph.replace("_", " "), row=2 + i, col=0, angle=-90, size="10pt", color="#222")
            for j, ch in enumerate(channels):
                plot = gl.addPlot(row=2 + i, col=1 + j)
                plot.setMenuEnabled(False)
                plot.hideButtons()
                plot.setMouseEnabled(x=False, y=False)
                plot.showGrid(x=False, y=True, alpha=0.2)
                if i == 0:
                    plot.setTitle(_channel_title(curves, ch), size="10pt", color="#222")
                if j == 0:
                    plot.setLabel("left", unit)
                if i == len(phases) - 1:
                    plot.setLabel("bottom", "% of phase")
                self._draw_cell(plot, ph, ch)
                self.plots[(ph, ch)] = plot
        row = 2 + len(phases)
        self.profile_plot = gl.addPlot(row=row, col=1, colspan=ncol)
        gl.layout.setRowStretchFactor(row, 2)
        for i in range(len(phases)):
            gl.layout.setRowStretchFactor(2 + i, 3)
        self._draw_profile(self.profile_plot, data.profile)
        notes = list(data.notes) + ["research measure, not a diagnosis"]
        gl.addLabel(" · ".join(notes), row=row + 1, col=0, colspan=ncol + 1, size="8pt", color="#666")

    def _draw_cell(self, plot: pg.PlotItem, phase: str, channel: str) -> None:
        data = self.data
        band = data.band[(data.band["phase"] == phase) & (data.band["channel"] == channel)]
        if len(band):
            pct = band["pct"].to_numpy(float)
            mean = band["mean"].to_numpy(float)
            sd = np.nan_to_num(band["sd"].to_numpy(float))
            lo = pg.PlotCurveItem(pct, mean - sd, pen=pg.mkPen(None))
            hi = pg.PlotCurveItem(pct, mean + sd, pen=pg.mkPen(None))
            plot.addItem(lo)
            plot.addItem(hi)
            plot.addItem(pg.FillBetweenItem(lo, hi, brush=pg.mkBrush(61, 111, 182, 70)))
            plot.plot(pct, mean, pen=pg.mkPen("#3d6fb6", width=1.5, style=QtCore.Qt.PenStyle.DashLine))
        cur = data.curves[(data.curves["phase"] == phase) & (data.curves["channel"] == channel)]
        if len(cur):
            plot.plot(cur["pct"].to_numpy(float), cur["value"].to_numpy(float), pen=pg.mkPen("#c62828", width=2))
        plot.setXRange(0, 100, padding=0.02)
        if phase not in _FRP_PHASES or not len(data.frp):
            return
        frp = data.frp[data.frp["channel"] == channel]
        texts = []
        for kind, color in (("off", "#2e7d32"), ("on", "#6a1b9a")):
            sel = frp[frp[f"{kind}_phase"] == phase]
            pcts = sel[f"{kind}_pct"].to_numpy(float)
            angles = sel[f"{kind}_angle"].to_numpy(float)
            for p in pcts[np.isfinite(pcts)]:
                plot.addItem(pg.InfiniteLine(pos=float(p), angle=90, pen=pg.mkPen(color, width=1.5)))
            if np.isfinite(angles).any():
                texts.append(f"<span style='color:{color}'>EMG-{kind} {np.nanmean(angles):.0f}°"
                             f" (n={int(np.isfinite(angles).sum())})</span>")
        if phase == "full_flexion" and len(frp) and not np.isfinite(frp["off_pct"].to_numpy(float)).any():
            texts.append("<span style='color:#2e7d32'>no EMG-off (no relaxation)</span>")
        if texts:
            label = pg.TextItem(html="<br>".join(texts), anchor=(0, 0))
            label.setParentItem(plot.getViewBox())
            label.setPos(4, 2)

    def _draw_profile(self, plot: pg.PlotItem, profile: pd.DataFrame | None) -> None:
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.setTitle("guarding profile: mean z in the guarding direction (red = flagged, grey = not assessable, "
                      "▲ = beyond every control, z undefined)",
                      size="10pt", color="#222")
        plot.setLabel("left", "z (SD)")
        if profile is None or not len(profile):
            return
        prof = profile.reset_index(drop=True)
        strength = prof["strength"].to_numpy(float)
        assess = prof["assessable"].to_numpy(bool)
        flag = prof["flag"].to_numpy(bool)
        height = np.where(np.isfinite(strength), strength, 0.0)
        brushes = [pg.mkBrush("#c62828") if f else pg.mkBrush("#5b7fb3") if a else pg.mkBrush("#bdbdbd")
                   for f, a in zip(flag, assess)]
        x = np.arange(len(prof), dtype=float)
        plot.addItem(pg.BarGraphItem(x=x, height=height, width=0.6, brushes=brushes, pen=pg.mkPen("#333")))
        thr = float(prof["threshold"].iat[0]) if "threshold" in prof else 2.0
        plot.addItem(pg.InfiniteLine(pos=thr, angle=0, pen=pg.mkPen("#c62828", style=QtCore.Qt.PenStyle.DashLine),
                                     label=f"flag ≥ {thr:g} SD", labelOpts={"position": 0.93, "color": "#c62828", "anchors": [(1, 1), (1, 1)]}))
        plot.addItem(pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen("#555")))
        # flagged with no z (the controls all equal, the subject beyond every one): a red marker
        beyond = flag & ~np.isfinite(strength)
        if beyond.any():
            plot.addItem(pg.ScatterPlotItem(x=x[beyond], y=np.full(int(beyond.sum()), thr), symbol="t1", size=14,
                                            brush=pg.mkBrush("#c62828"), pen=pg.mkPen("#333")))
        ticks = [(float(i), _SHORT.get(s, s) + ("" if a else " (n/a)") + (" (> all)" if b else ""))
                 for i, (s, a, b) in enumerate(zip(prof["sign"], assess, beyond))]
        plot.getAxis("bottom").setTicks([ticks, []])
        lo = min(-1.0, float(np.nanmin(height)) - 0.5)
        hi = max(thr + 0.8, float(np.nanmax(height)) + 0.5)
        plot.setYRange(lo, hi, padding=0)
        plot.setXRange(-0.6, len(prof) - 0.4, padding=0)
