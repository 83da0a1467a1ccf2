"""Map panel: the RMS map of the shown span on each electrode grid, its centroid, the controls' centroid.

One plot per grid (:func:`paraspinal.hdsemg.grids`), drawn on the grid's geometry in mm
(``x`` across, ``y`` along the grid; row 0 at the bottom, so cranial is up on the back): a
heat map of each electrode's RMS over the span the browser shows (µV, 20-450 Hz: the span is
band-passed with one second of context on each side, whatever the browser's signal mode, so
that a monopolar offset or drift does not fill the map), its centroid (``+``: electrodes at or
above 70 % of the maximum, :meth:`paraspinal.hdsemg.GridMaps.centroid`), bad electrodes
(recorded in ``rec.meta`` on reading) interpolated and crossed, and — when a normative
reference or a processed study is given — the controls' mean centroid for the phase under the
view's centre (``o``), from the ``hd_centroid_x``/``hd_centroid_y`` rows of the reference
(:func:`controls_centroids`).

The panel follows the view: :meth:`GridMapPanel.show_view` takes the browser's
:class:`~paraspinal.viewer.app.ViewState` (``win.sigViewChanged``); the window adds it with
:meth:`~paraspinal.viewer.app.BrowserWindow.show_map`.

A research display, not a diagnosis.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from .. import hdsemg as hd
from ..errors import ParameterError, ReadError
from ..recording import Recording

__all__ = ["GridMapPanel", "controls_centroids", "span_maps", "CENTROID_FEATURES"]

#: The reference features of the controls' centroid.
CENTROID_FEATURES = ("hd_centroid_x", "hd_centroid_y")
_CONTEXT_S = 1.0
_BAND = (20.0, 450.0)


def controls_centroids(reference: Any = None, study: str | os.PathLike | None = None, *,
                       group: str = "control") -> pd.DataFrame:
    """The controls' mean centroid per task, phase and grid.

    Parameters
    ----------
    reference : NormativeReference, optional
        Its ``stats`` rows of :data:`CENTROID_FEATURES`.
    study : path-like, optional
        A processed study folder (``paraspinal study run ... -o OUT``), used without a
        reference: its ``OUT/features.parquet`` rows of ``group``, made subject-level
        (:func:`paraspinal.norms.build_reference`, no envelopes).
    group : str
        The controls' label.

    Returns
    -------
    pandas.DataFrame
        ``task, phase, channel, x_mm, y_mm, n`` (``channel`` = grid name; ``n`` control
        subjects); empty when neither is given or they hold no centroid.
    """
    cols = ["task", "phase", "channel", "x_mm", "y_mm", "n"]
    if reference is None and study is not None:
        from .. import norms

        feats = Path(study) / "features.parquet"
        if not feats.is_file():
            raise ReadError("no features.parquet in the study output folder", file=study,
                            hint="run `paraspinal study run STUDY -o OUT` first")
        table = pd.read_parquet(feats, filters=[("feature", "in", list(CENTROID_FEATURES))])
        if not len(table) or not (table["group"] == group).any():
            return pd.DataFrame(columns=cols)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = norms.build_reference(table, group=group)
    if reference is None:
        return pd.DataFrame(columns=cols)
    st = reference.stats
    st = st[st["feature"].isin(CENTROID_FEATURES)]
    if not len(st):
        return pd.DataFrame(columns=cols)
    wide = st.pivot_table(index=["task", "phase", "channel"], columns="feature", values="mean", aggfunc="first")
    n = st.pivot_table(index=["task", "phase", "channel"], columns="feature", values="n", aggfunc="first")
    out = pd.DataFrame({"x_mm": wide.get("hd_centroid_x"), "y_mm": wide.get("hd_centroid_y"),
                        "n": n.min(axis=1)}).reset_index()
    return out[cols].dropna(subset=["x_mm", "y_mm"]).reset_index(drop=True)


def span_maps(rec: Recording, tmin: float, tmax: float, *, context_s: float = _CONTEXT_S,
              band: tuple[float, float] = _BAND) -> dict[str, hd.GridMaps]:
    """The RMS map of every grid over ``[tmin, tmax)``, band-passed with context around the span.

    Parameters
    ----------
    rec : Recording
        A grid recording (as read; not modified).
    tmin, tmax : float
        Span in s from the first sample.
    context_s : float
        Seconds of signal on each side that the band-pass sees (its edge transients stay
        outside the span).
    band : (float, float)
        Band-pass (Hz), 4th-order zero-phase Butterworth
        (:func:`paraspinal.preprocessing.bandpass`); the upper edge is lowered below Nyquist
        for slow recordings.

    Returns
    -------
    dict
        grid name -> :class:`~paraspinal.hdsemg.GridMaps` (one window), bad electrodes
        recorded in ``rec.meta`` interpolated.
    """
    from ..preprocessing import bandpass

    if not tmax > tmin:
        raise ParameterError(f"empty span {tmin}-{tmax} s")
    a = max(0.0, tmin - context_s)
    b = min(rec.duration, tmax + context_s)
    names = [n for g in hd.grids(rec) for n in hd.geometry(rec, g).channels]
    part = rec.pick(names).crop(a, b)
    high = min(band[1], 0.45 * rec.sfreq)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part = bandpass(part, low=band[0], high=high)
    t0 = tmin - a
    t1 = min(tmax, rec.duration) - a
    return {g: hd.rms_map(part, g, tmin=t0, tmax=t1) for g in hd.grids(part)}


def _phase_at(phases: pd.DataFrame | None, t: float) -> str | None:
    if phases is None or not len(phases):
        return None
    on = phases["onset"].to_numpy(float)
    du = phases["duration"].to_numpy(float)
    hit = np.flatnonzero((on <= t) & (t < on + du))
    return None if not len(hit) else str(phases["phase"].iat[int(hit[-1])])


class GridMapPanel(QtWidgets.QWidget):
    """The map panel (one plot per grid); see the module notes.

    Parameters
    ----------
    rec : Recording
        A grid recording (as read).
    controls : pandas.DataFrame, optional
        :func:`controls_centroids`.
    phases : callable, optional
        Returns the current phase table (``onset, duration, phase``); default ``rec.phases``.
    """

    def __init__(self, rec: Recording, *, controls: pd.DataFrame | None = None,
                 phases: Callable[[], pd.DataFrame] | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        if not hd.is_grid_recording(rec):
            raise ParameterError("the recording has no electrode grid: no map to show", file=rec.meta.get("source"))
        self.rec = rec
        self.controls = controls if controls is not None else pd.DataFrame(
            columns=["task", "phase", "channel", "x_mm", "y_mm", "n"])
        self._phases = phases or (lambda: rec.phases)
        self.maps: dict[str, hd.GridMaps] = {}
        self.centroids: dict[str, tuple[float, float]] = {}
        self.control_points: dict[str, tuple[float, float]] = {}
        self.phase: str | None = None
        self.span: tuple[float, float] | None = None
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        lay.addWidget(self.graphics)
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self._plots: dict[str, dict[str, Any]] = {}
        cmap = pg.colormap.get("viridis")
        for col, g in enumerate(hd.grids(rec)):
            self._plots[g] = self._make_plot(g, col, cmap)
        # one colour scale for every grid, so that the sides compare
        self.bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=cmap, label="RMS (µV)", interactive=False, width=12)
        self.bar.setImageItem([items["image"] for items in self._plots.values()])
        self.graphics.addItem(self.bar, row=0, col=len(self._plots))
        self.setMinimumWidth(150 * len(self._plots) + 80)

    def _make_plot(self, grid: str, col: int, cmap: Any) -> dict[str, Any]:
        geom = hd.geometry(self.rec, grid)
        plot = self.graphics.addPlot(row=0, col=col, title=grid)
        plot.setAspectLocked(True)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        plot.setLabel("bottom", "x (mm)")
        plot.setLabel("left", "y (mm)")
        img = pg.ImageItem(axisOrder="row-major")
        img.setColorMap(cmap)
        xs, ys = geom.x_mm[geom.valid], geom.y_mm[geom.valid]
        n_rows, n_cols = geom.shape
        dx = (xs.max() - xs.min()) / (n_cols - 1) if n_cols > 1 else 8.0
        dy = (ys.max() - ys.min()) / (n_rows - 1) if n_rows > 1 else 8.0
        x0 = float(np.nanmin(geom.x_mm[:, 0])) if np.isfinite(geom.x_mm[:, 0]).any() else xs.min()
        y0 = float(np.nanmin(geom.y_mm[0])) if np.isfinite(geom.y_mm[0]).any() else ys.min()
        rect = QtCore.QRectF(x0 - dx / 2, y0 - dy / 2, n_cols * dx, n_rows * dy)
        img.setImage(np.zeros(geom.shape), levels=(0.0, 1.0))
        img.setRect(rect)
        plot.addItem(img)
        plot.setRange(rect, padding=0.02)
        bad = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen("w", width=1.5), brush=None)
        own = pg.ScatterPlotItem(symbol="+", size=18, pen=pg.mkPen("w", width=3), brush=None)
        ref = pg.ScatterPlotItem(symbol="o", size=14, pen=pg.mkPen((230, 60, 40), width=2.5), brush=None)
        for item in (bad, own, ref):
            plot.addItem(item)
        return {"plot": plot, "image": img, "rect": rect, "bad": bad, "own": own, "ref": ref, "geometry": geom}

    def show_view(self, state: Any) -> None:
        """Draw the maps of the span of a :class:`~paraspinal.viewer.app.ViewState` (``t0``, ``t1``)."""
        self.show_span(float(state.t0), float(state.t1))

    def show_span(self, t0: float, t1: float) -> None:
        """Draw the maps of ``[t0, t1)`` (s)."""
        t1 = min(t1, self.rec.duration)
        if t1 - t0 < 2.0 / self.rec.sfreq:
            return
        self.maps = span_maps(self.rec, t0, t1)
        self.span = (t0, t1)
        self.phase = _phase_at(self._phases(), 0.5 * (t0 + t1))
        task = self.rec.meta.get("task")
        self.centroids, self.control_points = {}, {}
        finite = [m.values[0][np.isfinite(m.values[0])] for m in self.maps.values()]
        top = max((float(v.max()) for v in finite if v.size), default=1.0) or 1.0
        self.bar.setLevels((0.0, top))
        for g, items in self._plots.items():
            m = self.maps[g]
            values = m.values[0]
            items["image"].setImage(values, levels=(0.0, top), autoLevels=False)
            items["image"].setRect(items["rect"])
            cx, cy = (float(v[0]) for v in m.centroid())
            self.centroids[g] = (cx, cy)
            items["own"].setData([cx], [cy]) if np.isfinite(cx) else items["own"].setData([], [])
            geom = items["geometry"]
            hit = np.argwhere(m.interpolated)
            items["bad"].setData(geom.x_mm[hit[:, 0], hit[:, 1]], geom.y_mm[hit[:, 0], hit[:, 1]])
            ctrl = self._control_point(g, task)
            if ctrl is not None:
                self.control_points[g] = ctrl
                items["ref"].setData([ctrl[0]], [ctrl[1]])
            else:
                items["ref"].setData([], [])
            items["plot"].setTitle(f"{g} ({cx:.1f}, {cy:.1f}) mm" if np.isfinite(cx) else g, size="9pt")
        self.caption.setText(self._caption(t0, t1))

    def _control_point(self, grid: str, task: Any) -> tuple[float, float] | None:
        c = self.controls
        if self.phase is None or not len(c):
            return None
        sel = c[(c["channel"] == grid) & (c["phase"] == self.phase)]
        if task is not None and (sel["task"] == str(task)).any():
            sel = sel[sel["task"] == str(task)]
        if not len(sel):
            return None
        return float(sel["x_mm"].iat[0]), float(sel["y_mm"].iat[0])

    def _caption(self, t0: float, t1: float) -> str:
        text = f"RMS {t0:.1f}-{t1:.1f} s, {_BAND[0]:g}-{_BAND[1]:g} Hz; + centroid (>= 70 % of the maximum)"
        bad = sum(int(m.interpolated.sum()) for m in self.maps.values())
        if bad:
            text += f"; x {bad} bad electrode(s), interpolated"
        if self.control_points:
            n = self.controls["n"].max() if len(self.controls) else 0
            text += f"; o controls' mean centroid in {self.phase} (n = {int(n)})"
        elif len(self.controls):
            text += f"; no controls' centroid for phase {self.phase!r}" if self.phase else "; no phase here"
        return text
