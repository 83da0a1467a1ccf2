"""Graphic items of the trace browser: axes, the stacked channel curves, the scale bar.

Channel ``r`` of the page sits on the row ``y = -r``. Each curve holds the channel's values
in its own unit (µV, or deg for a trunk angle) and an item transform maps them to its row::

    y_row = -r + offset + (value - baseline) / units_per_row

so scaling changes only transforms, and ``curve.getData()`` returns data values (the
decimation test reads them back directly).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

__all__ = ["TimeAxis", "ChannelAxis", "TraceLayer", "ScaleBar", "nice_number", "format_time", "QC_COLORS"]

#: Label colour per QC verdict.
QC_COLORS: dict[str, str] = {"pass": "#222222", "warn": "#c77800", "fail": "#c62828", "": "#222222"}
#: Marker appended to a channel label per QC verdict.
QC_MARKS: dict[str, str] = {"pass": "", "warn": " ⚠", "fail": " ✖", "": ""}
#: Trace colour per channel type.
TRACE_COLORS: dict[str, str] = {"emg": "#1f3a93", "ecg": "#8e44ad", "misc": "#2e7d32"}


def nice_number(x: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``x`` (``x > 0``)."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    exp = math.floor(math.log10(x))
    base = 10.0 ** exp
    for m in (5.0, 2.0, 1.0):
        if m * base <= x * (1 + 1e-9):
            return m * base
    return base


def format_time(t: float, fmt: str = "s", spacing: float = 1.0) -> str:
    """A time in seconds as ``"12.5"`` (``fmt="s"``) or ``"1:02.5"`` (``fmt="min:s"``)."""
    decimals = 0 if spacing >= 1 else min(3, int(math.ceil(-math.log10(spacing))))
    if fmt == "min:s":
        sign = "-" if t < 0 else ""
        t = abs(t)
        minutes = int(t // 60)
        sec = t - 60 * minutes
        if round(sec, decimals) >= 60:
            minutes, sec = minutes + 1, 0.0
        width = 2 + (decimals + 1 if decimals else 0)
        return f"{sign}{minutes}:{sec:0{width}.{decimals}f}"
    return f"{t:.{decimals}f}"


class TimeAxis(pg.AxisItem):
    """Bottom axis in seconds or ``min:s`` (no SI prefix, so an hour does not read in 'ks')."""

    def __init__(self, *args, **kwargs):
        super().__init__("bottom", *args, **kwargs)
        self.enableAutoSIPrefix(False)
        self.fmt = "s"
        self.setLabel("time (s)")

    def set_format(self, fmt: str) -> None:
        """``"s"`` or ``"min:s"``."""
        self.fmt = fmt
        self.setLabel("time (s)" if fmt == "s" else "time (min:s)")
        self.picture = None
        self.update()

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 - Qt naming
        if self.fmt != "min:s" or maxVal - minVal < 120:
            return super().tickSpacing(minVal, maxVal, size)
        # whole minutes or multiples of 10 s read better than 50 s or 200 s in min:s
        target = (maxVal - minVal) / max(size / 80.0, 1.0)  # seconds per ~80 pixels
        steps = (10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
        major = next((s for s in steps if s >= target), 3600.0)
        return [(major, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - Qt naming
        return [format_time(v, self.fmt, spacing) for v in values]


class ChannelAxis(pg.AxisItem):
    """Left axis with one coloured label per channel row."""

    def __init__(self, *args, **kwargs):
        super().__init__("left", *args, **kwargs)
        self.colors: dict[str, str] = {}
        self.highlight: str | None = None
        self.setWidth(112)

    def set_rows(self, labels: list[str], colors: list[str], highlight: int | None = None) -> None:
        """Labels of rows ``0, 1, ...`` (drawn at ``y = 0, -1, ...``) and their colours."""
        self.colors = dict(zip(labels, colors))
        self.highlight = labels[highlight] if highlight is not None and 0 <= highlight < len(labels) else None
        self.setTicks([[(-float(i), lab) for i, lab in enumerate(labels)], []])

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802 - Qt naming
        super().drawPicture(p, axisSpec, tickSpecs, [])
        font = QtGui.QFont(p.font())
        for rect, flags, text in textSpecs:
            font.setBold(text == self.highlight)
            p.setFont(font)
            p.setPen(pg.mkPen(self.colors.get(text, "#222222")))
            p.drawText(rect, int(flags), text)


class TraceLayer:
    """A pool of curves, one per visible channel row, on a PlotItem.

    Parameters
    ----------
    plot : pyqtgraph.PlotItem
        Where the curves live.
    """

    def __init__(self, plot: pg.PlotItem):
        self.plot = plot
        self.curves: list[pg.PlotCurveItem] = []
        self.channel_of: list[int] = []

    def _ensure(self, n: int) -> None:
        while len(self.curves) < n:
            curve = pg.PlotCurveItem(pen=pg.mkPen("#1f3a93", width=1), antialias=False, skipFiniteCheck=True)
            curve.setZValue(10)
            self.plot.addItem(curve)
            self.curves.append(curve)

    def show(self, x: np.ndarray, y: np.ndarray, channels: list[int], offsets: np.ndarray, baselines: np.ndarray,
             units_per_row: np.ndarray, colors: list[str]) -> None:
        """Draw rows ``0..len(channels)-1``.

        Parameters
        ----------
        x : ndarray, shape (n_points,)
            Times (float64).
        y : ndarray, shape (n_rows, n_points)
            Values per row.
        channels : list of int
            Channel index of each row (kept in :attr:`channel_of`).
        offsets, baselines, units_per_row : ndarray, shape (n_rows,)
            Row transform parameters (see the module docstring).
        colors : list of str
            Pen colour per row.
        """
        n = len(channels)
        self._ensure(n)
        self.channel_of = list(channels)
        for r in range(n):
            curve = self.curves[r]
            upr = float(units_per_row[r]) if units_per_row[r] > 0 else 1.0
            tr = QtGui.QTransform(1.0, 0.0, 0.0, 1.0 / upr, 0.0, -r + float(offsets[r]) - float(baselines[r]) / upr)
            curve.setTransform(tr)
            if curve.opts["pen"].color().name() != QtGui.QColor(colors[r]).name():
                curve.setPen(pg.mkPen(colors[r], width=1))
            curve.setData(x, y[r], skipFiniteCheck=True)
            if not curve.isVisible():
                curve.show()
        for curve in self.curves[n:]:
            if curve.isVisible():
                curve.hide()
                curve.setData([], [])

    def set_transforms(self, offsets: np.ndarray, baselines: np.ndarray, units_per_row: np.ndarray) -> None:
        """Change only the row transforms (scaling without new data)."""
        for r in range(len(self.channel_of)):
            upr = float(units_per_row[r]) if units_per_row[r] > 0 else 1.0
            self.curves[r].setTransform(QtGui.QTransform(1.0, 0.0, 0.0, 1.0 / upr, 0.0,
                                                         -r + float(offsets[r]) - float(baselines[r]) / upr))


class ScaleBar:
    """A vertical bar with its length in the data unit (e.g. ``100 µV``), on one row.

    Parameters
    ----------
    plot : pyqtgraph.PlotItem
        The trace plot.
    """

    def __init__(self, plot: pg.PlotItem):
        self.bar = pg.PlotCurveItem(pen=pg.mkPen("#c62828", width=3))
        self.bar.setZValue(20)
        self.text = pg.TextItem("", color="#c62828", anchor=(1.0, 0.5), fill=pg.mkBrush(255, 255, 255, 210))
        self.text.setZValue(20)
        plot.addItem(self.bar)
        plot.addItem(self.text)
        self.value = 0.0
        self.unit = ""

    def set_visible(self, on: bool) -> None:
        """Show or hide."""
        self.bar.setVisible(on)
        self.text.setVisible(on)

    def place(self, x: float, row: int, units_per_row: float, unit: str) -> None:
        """Draw the bar at time ``x`` on ``row``, half a row long rounded to a nice value."""
        value = nice_number(0.5 * units_per_row)
        self.value, self.unit = value, unit
        half = 0.5 * value / units_per_row
        self.bar.setData(np.array([x, x], dtype=np.float64), np.array([-row - half, -row + half]))
        label = f"{value:g} {unit}"
        self.text.setText(label)
        self.text.setPos(x, -row)


def view_rect(plot: pg.PlotItem) -> QtCore.QRectF:
    """The data rectangle the plot shows."""
    return plot.getViewBox().viewRect()
