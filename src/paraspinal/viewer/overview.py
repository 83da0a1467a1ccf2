"""The overview bar: the whole recording at a glance, with the shown window to drag.

It draws the mean EMG activity (min-to-max spread of the coarsest useful pyramid level,
averaged over the EMG channels and scaled to 0-1), the phases as a colour strip below it,
and the shown window as a draggable region. Clicking anywhere centres the window there.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from .phases import phase_color
from .pyramid import MinMaxPyramid
from .traces import TimeAxis

__all__ = ["OverviewBar"]


class _ClickViewBox(pg.ViewBox):
    """A fixed view box that reports left clicks and drags in data coordinates."""

    def __init__(self, on_click: Callable[[float], None]):
        super().__init__(enableMenu=False)
        self.on_click = on_click
        self.setMouseEnabled(x=False, y=False)

    def mouseClickEvent(self, ev):  # noqa: N802 - Qt naming
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self.on_click(float(self.mapSceneToView(ev.scenePos()).x()))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - Qt naming
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self.on_click(float(self.mapSceneToView(ev.scenePos()).x()))
        else:
            ev.ignore()

    def wheelEvent(self, ev, axis=None):  # noqa: N802 - Qt naming
        ev.ignore()


class OverviewBar:
    """Overview plot of a recording.

    Parameters
    ----------
    layout : pyqtgraph.GraphicsLayout
        Where to add the plot (a new row).
    duration : float
        Recording length in seconds.
    on_move : callable
        ``on_move(t0, t1)`` when the user moves the window region or clicks (``t1 - t0`` keeps
        the window length on a click).
    """

    def __init__(self, layout: pg.GraphicsLayout, duration: float, on_move: Callable[[float, float | None], None]):
        self.duration = float(duration)
        self.on_move = on_move
        self.vb = _ClickViewBox(self._clicked)
        self.plot = layout.addPlot(viewBox=self.vb, axisItems={"bottom": TimeAxis()})
        self.plot.setMaximumHeight(70)
        self.plot.hideButtons()
        self.plot.showAxis("left")
        self.plot.getAxis("left").setWidth(112)
        self.plot.getAxis("left").setTicks([[(0.5, "overview")], []])
        self.plot.getAxis("bottom").setLabel(None)
        self.plot.getAxis("bottom").setHeight(22)
        self.vb.setXRange(0, self.duration, padding=0)
        self.vb.setYRange(-0.35, 1.05, padding=0)
        self.activity = pg.PlotCurveItem(pen=pg.mkPen("#555555", width=1), fillLevel=0.0,
                                         brush=pg.mkBrush(120, 120, 120, 80))
        self.plot.addItem(self.activity)
        self.strip = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[], brush=pg.mkBrush(None), pen=pg.mkPen(None))
        self.plot.addItem(self.strip)
        # the activity and the phase strip (hundreds of bars) change only on edits, but the window
        # region moving over them repaints them on every page: keep them as cached pixmaps
        # (its axes never change either)
        for item in (self.activity, self.strip, self.plot.getAxis("left"), self.plot.getAxis("bottom")):
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.window = pg.LinearRegionItem(values=(0, 1), brush=pg.mkBrush(30, 90, 200, 60),
                                          pen=pg.mkPen("#1f3a93", width=2), bounds=(0, self.duration))
        self.window.setZValue(10)
        self.plot.addItem(self.window)
        self._quiet = False
        self.window.sigRegionChanged.connect(self._region_moved)

    def set_activity(self, pyramid: MinMaxPyramid, rows: list[int]) -> None:
        """Draw the mean spread of ``rows`` (e.g. the EMG channels) over the recording."""
        if not rows:
            rows = list(range(pyramid.n_channels))
        dec = pyramid.overview(1500)
        y = dec.y[rows]
        spread = (y[:, 1::2] - y[:, 0::2]).astype(np.float64)
        scale = np.nanpercentile(spread, 99, axis=1, keepdims=True)
        scale[~(scale > 0)] = 1.0
        act = np.nanmean(np.clip(spread / scale, 0, 1), axis=0)
        x = dec.x[0::2]
        self.activity.setData(x, act, skipFiniteCheck=True)

    def set_phases(self, phases: pd.DataFrame) -> None:
        """Draw the phase strip."""
        if not len(phases):
            self.strip.setOpts(x0=[], x1=[], y0=[], y1=[])
            return
        on = phases["onset"].to_numpy(float)
        end = on + phases["duration"].to_numpy(float)
        brushes = [pg.mkBrush(phase_color(p, 200)) for p in phases["phase"]]
        self.strip.setOpts(x0=on, x1=end, y0=np.full(len(on), -0.3), y1=np.full(len(on), -0.05),
                           brushes=brushes, pen=pg.mkPen(None))

    def show_window(self, t0: float, t1: float) -> None:
        """Move the window region without reporting it back."""
        self._quiet = True
        try:
            self.window.setRegion((t0, t1))
        finally:
            self._quiet = False

    def _region_moved(self) -> None:
        if self._quiet:
            return
        lo, hi = self.window.getRegion()
        self.on_move(float(lo), float(hi))

    def _clicked(self, t: float) -> None:
        self.on_move(float(t), None)
