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
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

__all__ = ["TimeAxis", "ChannelAxis", "TraceItem", "TraceLayer", "ScaleBar", "nice_number", "format_time",
           "QC_COLORS"]

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
        # major and minor ticks only: the third level (a tenth of the major spacing) has no
        # room for labels, yet pyqtgraph formats and measures all of its labels on every page
        self.setStyle(maxTickLevel=1)
        self.fmt = "s"
        self.setLabel("time (s)")

    def set_format(self, fmt: str) -> None:
        """``"s"`` or ``"min:s"``."""
        self.fmt = fmt
        if self.label.isVisible():  # an axis shown without its label (the overview's) stays so
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

    def generateDrawSpecs(self, p):  # noqa: N802 - pyqtgraph naming
        """Ticks and labels of the bottom axis, in the form ``AxisItem.drawPicture`` takes.

        The time axis changes on every page, and pyqtgraph's general version (any
        orientation, grids, three tick levels) costs a millisecond or more of Python per page.
        This one draws what a time axis needs: the axis line, major and minor ticks, the
        major labels and the minor ones when they all fit without overlapping.
        """
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        lo, hi = float(self.range[0]), float(self.range[1])
        width = bounds.width()
        if width <= 0 or not hi > lo:
            return None
        top = bounds.top()
        axis_spec = (self.pen(), QtCore.QPointF(bounds.left() - 1.0, top + 1.0),
                     QtCore.QPointF(bounds.right() + 1.0, top + 1.0))
        scale = width / (hi - lo)
        fm = QtGui.QFontMetricsF(p.font())
        height = fm.height()
        text_top = top + max(0, self.style["tickLength"]) + self.style["tickTextOffset"][1]
        flags = QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.TextFlag.TextDontClip
        gap = fm.horizontalAdvance("  ")
        tick_specs, text_specs, taken = [], [], []
        outer = self.boundingRect()
        for level, (spacing, values) in enumerate(self.tickValues(lo, hi, width)):
            pen = QtGui.QPen(self.tickPen())
            color = QtGui.QColor(pen.color())
            color.setAlpha(int(255 / (level + 1)))
            pen.setColor(color)
            length = self.style["tickLength"] / (level * 0.5 + 1.0)
            xs = [(v - lo) * scale + bounds.left() for v in values]
            shown = [(x, v) for x, v in zip(xs, values) if bounds.left() <= x <= bounds.right()]
            for x, _ in shown:
                tick_specs.append((pen, QtCore.QPointF(x, top), QtCore.QPointF(x, top + length)))
            if level > self.style["maxTextLevel"] or not shown:
                continue
            strings = self.tickStrings([v for _, v in shown], 1.0, spacing)
            rects = []
            for (x, _), text in zip(shown, strings):
                w = fm.horizontalAdvance(text)
                rects.append((QtCore.QRectF(x - w / 2, text_top, w, height), text))
            spans = sorted([(r.left() - gap / 2, r.right() + gap / 2) for r, _ in rects] + taken)
            crowded = any(b0 < a1 for (_, a1), (b0, _) in zip(spans, spans[1:]))
            # pyqtgraph's density rule: stop adding labels once they fill too much of the axis
            n_texts = len(text_specs) + len(rects)
            fill = (sum(r.width() for r, _ in rects) + sum(r.width() for r, _, _ in text_specs)) / width
            dense = any(len(text_specs) >= n and fill >= limit for n, limit in self.style["textFillLimits"])
            if level > 0 and (crowded or dense or n_texts == 0):
                break  # minor labels only when every one of them fits
            for r, text in rects:
                if outer.contains(r):
                    text_specs.append((r, flags, text))
                    taken.append((r.left() - gap / 2, r.right() + gap / 2))
        return axis_spec, tick_specs, text_specs


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


class TraceItem(QtWidgets.QGraphicsItem):
    """One channel's trace: a polyline kept in one ``QPolygonF`` that is refilled in place.

    Paging writes the new points into the same buffer (no path object, no array made per
    frame) and paints them with one ``drawPolyline`` and a 1-pixel cosmetic pen. A decimated
    range is drawn as one vertical stroke per bin, from its minimum to its maximum; consecutive
    strokes alternate direction (up in even bins, down in odd ones, counted from sample 0, so
    the picture does not change while paging), so the segment between two bins joins
    neighbouring extremes. That covers the pixels the usual min-max zig-zag covers (each
    bin's range, and the way to the next) with far fewer pixels stroked twice: Qt's stroker
    paints it 1.2 to 1.5 times faster. Data with NaN is drawn with gaps (through a path,
    only then).

    A plain ``QGraphicsItem`` (not a pyqtgraph ``GraphicsObject``): Qt then never calls back
    into Python on the transform and geometry changes of every page.

    Parameters
    ----------
    color : str
        Pen colour.
    """

    def __init__(self, color: str = "#1f3a93"):
        super().__init__()
        self._poly = QtGui.QPolygonF()
        self._buf = np.zeros((0, 2))  # view of the whole polygon (its length is the capacity)
        self._n = 0
        self._bin_width = 0.0
        self._rect = QtCore.QRectF()
        self._gap_path: QtGui.QPainterPath | None = None
        self._transform_key: tuple | None = None
        self.color = ""
        self._pen = QtGui.QPen()
        self.set_color(color)

    # ------------------------------------------------------------------ data
    def _points(self, n: int) -> np.ndarray:
        """The first ``n`` points of the buffer, to fill; the rest will repeat the last point."""
        cap = len(self._buf)
        if n > cap or n < cap // 2:  # grow, or shrink after a big zoom-in
            cap = max(64, n + n // 16)
            self._poly.resize(cap)
            self._buf = pg.functions.ndarray_from_qpolygonf(self._poly)
        self._n = n
        return self._buf[:n]

    def set_envelope(self, t: np.ndarray, lo: np.ndarray, hi: np.ndarray, first_bin: int = 0,
                     bin_width: float = 0.0, bounds: tuple[float, float] | None = None) -> None:
        """Draw bins starting at times ``t`` with minima ``lo`` and maxima ``hi``.

        Parameters
        ----------
        t, lo, hi : ndarray, shape (n_bins,)
            Bin start times (s), minima and maxima.
        first_bin : int
            Index of the first bin counted from sample 0 (which bins are drawn upwards).
        bin_width : float
            Seconds per bin (for the bounding rectangle).
        bounds : (float, float), optional
            ``(min(lo), max(hi))`` when the caller has them.
        """
        n = len(t)
        xy = self._points(2 * n)
        xy[0::2, 0] = t
        xy[1::2, 0] = t
        up = first_bin % 2  # offset of the first bin drawn upwards (min first)
        dn = 1 - up
        y = xy[:, 1].reshape(n, 2)
        y[up::2, 0] = lo[up::2]
        y[up::2, 1] = hi[up::2]
        y[dn::2, 0] = hi[dn::2]
        y[dn::2, 1] = lo[dn::2]
        self._bin_width = float(bin_width)
        self._finish(lo, hi, bounds)

    def set_samples(self, t: np.ndarray, y: np.ndarray, bounds: tuple[float, float] | None = None) -> None:
        """Draw raw samples ``y`` at times ``t`` (a plain polyline)."""
        xy = self._points(len(t))
        xy[:, 0] = t
        xy[:, 1] = y
        self._bin_width = 0.0
        self._finish(y, y, bounds)

    def clear(self) -> None:
        """Draw nothing."""
        self._points(0)
        self._finish(np.zeros(0), np.zeros(0))

    def _finish(self, lo: np.ndarray, hi: np.ndarray, bounds: tuple[float, float] | None = None) -> None:
        n = self._n
        if 0 < n < len(self._buf):  # the rest repeats the last point: zero-length, nothing drawn
            self._buf[n:] = self._buf[n - 1]
        self._gap_path = None
        if n:
            xy = self._buf[:n]
            y0, y1 = (float(np.min(lo)), float(np.max(hi))) if bounds is None else bounds
            if not (math.isfinite(y0) and math.isfinite(y1)):  # gaps: draw the finite runs only
                self._gap_path = pg.arrayToQPath(xy[:, 0].copy(), xy[:, 1].copy(), connect="finite")
                good_lo, good_hi = lo[np.isfinite(lo)], hi[np.isfinite(hi)]
                y0, y1 = (float(good_lo.min()), float(good_hi.max())) if good_lo.size and good_hi.size else (0.0, 0.0)
            pad = 1e-3 * max(y1 - y0, abs(y0), abs(y1), 1e-9)  # never an empty rectangle
            x0, x1 = float(xy[0, 0]), float(xy[-1, 0]) + self._bin_width
            rect = QtCore.QRectF(x0, y0 - pad, max(x1 - x0, 1e-9), (y1 - y0) + 2 * pad)
        else:
            rect = QtCore.QRectF()
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 - pyqtgraph naming
        """The drawn points ``(x, y)`` (copies), in data units: per bin its start time twice,
        with the bin's minimum and maximum (or the raw samples)."""
        return self._buf[:self._n, 0].copy(), self._buf[:self._n, 1].copy()

    # ------------------------------------------------------------------ look
    def set_color(self, color: str) -> None:
        """Pen colour (1-pixel cosmetic pen)."""
        if color == self.color:
            return
        self.color = color
        self._pen = QtGui.QPen(QtGui.QColor(color), 1)
        self._pen.setCosmetic(True)
        self.update()

    def set_row(self, row: int, offset: float, baseline: float, units_per_row: float) -> None:
        """Place on ``row``: ``y = -row + offset + (value - baseline) / units_per_row``."""
        upr = float(units_per_row) if units_per_row > 0 else 1.0
        key = (row, float(offset), float(baseline), upr)
        if key != self._transform_key:
            self._transform_key = key
            self.setTransform(QtGui.QTransform(1.0, 0.0, 0.0, 1.0 / upr, 0.0,
                                               -row + float(offset) - float(baseline) / upr))

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt naming
        return self._rect

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self._n < 2:
            return
        p.setPen(self._pen)
        if self._gap_path is not None:
            p.drawPath(self._gap_path)
        else:
            p.drawPolyline(self._poly)


class TraceLayer:
    """One :class:`TraceItem` per visible channel row, on a ViewBox (a pool, reused while paging).

    Parameters
    ----------
    vb : pyqtgraph.ViewBox
        Where the traces live.
    sfreq : float
        Sampling rate in Hz (bin widths in seconds).
    """

    def __init__(self, vb: pg.ViewBox, sfreq: float):
        self.vb = vb
        self.sfreq = float(sfreq)
        self.curves: list[TraceItem] = []
        self.channel_of: list[int] = []

    def _ensure(self, n: int) -> None:
        while len(self.curves) < n:
            curve = TraceItem()
            curve.setZValue(10)
            self.vb.addItem(curve, ignoreBounds=True)
            self.curves.append(curve)

    def show(self, dec, channels: list[int], offsets: np.ndarray, baselines: np.ndarray,
             units_per_row: np.ndarray, colors: list[str]) -> None:
        """Draw rows ``0..len(channels)-1`` from a decimation.

        Parameters
        ----------
        dec : paraspinal.viewer.pyramid.Decimated
            Points of the visible range; row ``r`` of ``dec.lo``/``dec.hi`` is channel ``channels[r]``.
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
        first_bin = dec.first_sample // max(dec.bin_samples, 1)
        bin_width = dec.bin_samples / self.sfreq if dec.bin_samples > 1 else 0.0
        if dec.n_bins:  # the extremes of all rows at once (two calls instead of two per row)
            y0, y1 = dec.lo.min(axis=1).tolist(), dec.hi.max(axis=1).tolist()
        for r in range(n):
            curve = self.curves[r]
            curve.set_row(r, offsets[r], baselines[r], units_per_row[r])
            curve.set_color(colors[r])
            if not dec.n_bins:
                curve.clear()
            elif dec.bin_samples > 1:
                curve.set_envelope(dec.t, dec.lo[r], dec.hi[r], first_bin, bin_width, (y0[r], y1[r]))
            else:
                curve.set_samples(dec.t, dec.lo[r], (y0[r], y1[r]))
            if not curve.isVisible():
                curve.show()
        for curve in self.curves[n:]:
            if curve.isVisible():
                curve.hide()
                curve.clear()

    def set_transforms(self, offsets: np.ndarray, baselines: np.ndarray, units_per_row: np.ndarray) -> None:
        """Change only the row transforms (scaling without new data)."""
        for r in range(len(self.channel_of)):
            self.curves[r].set_row(r, offsets[r], baselines[r], units_per_row[r])


class ScaleBar(pg.GraphicsObject):
    """A vertical bar with its length in the data unit (e.g. ``100 µV``), on one row.

    It lives in the ViewBox's pixel coordinates, at its right edge, so paging in time never
    moves or redraws it; it follows the rows (y range) and the window size by itself.

    Parameters
    ----------
    vb : pyqtgraph.ViewBox
        The trace view.
    """

    def __init__(self, vb: pg.ViewBox):
        super().__init__()
        self.vb = vb
        self.value = 0.0
        self.unit = ""
        self.row = 0
        self._half = 0.0  # half the bar in rows
        self._label = ""
        self._pen = QtGui.QPen(QtGui.QColor("#c62828"), 3)
        self._pen.setCosmetic(True)
        self._text_pen = QtGui.QPen(QtGui.QColor("#c62828"))
        self._fill = QtGui.QColor(255, 255, 255, 210)
        self._text_key: tuple | None = None
        self._text_size = (0.0, 0.0)
        self.setZValue(20)
        self.setParentItem(vb)
        vb.sigResized.connect(self._geometry)
        vb.sigYRangeChanged.connect(lambda *_: self.update())

    def _geometry(self, *_) -> None:
        self.prepareGeometryChange()
        self.update()

    def set_visible(self, on: bool) -> None:
        """Show or hide."""
        self.setVisible(on)

    def place(self, row: int, units_per_row: float, unit: str) -> None:
        """Draw the bar on ``row``, half a row long rounded to a nice value of ``unit``."""
        value = nice_number(0.5 * units_per_row)
        half = 0.5 * value / units_per_row
        if (value, unit, row, half) != (self.value, self.unit, self.row, self._half):
            self.value, self.unit, self.row, self._half = value, unit, int(row), half
            self._label = f"{value:g} {unit}"
            self.update()

    def label(self) -> str:
        """The bar's text (``"100 µV"``)."""
        return self._label

    def endpoints(self) -> tuple[float, float]:
        """Bottom and top of the bar in view (row) coordinates."""
        return -self.row - self._half, -self.row + self._half

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt naming
        return self.vb.boundingRect()

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if not self._label:
            return
        tr = self.vb.childGroup.transform()
        y0 = tr.map(QtCore.QPointF(0.0, -self.row + self._half)).y()
        y1 = tr.map(QtCore.QPointF(0.0, -self.row - self._half)).y()
        x = self.vb.width() * 0.985
        p.setPen(self._pen)
        p.drawLine(QtCore.QPointF(x, y0), QtCore.QPointF(x, y1))
        key = (self._label, p.font().key())
        if self._text_key != key:  # measure the text once per label and font
            fm = QtGui.QFontMetricsF(p.font())
            self._text_key, self._text_size = key, (fm.horizontalAdvance(self._label) + 6, fm.height() + 2)
        w, h = self._text_size
        box = QtCore.QRectF(x - 6 - w, 0.5 * (y0 + y1) - h / 2, w, h)
        p.fillRect(box, self._fill)
        p.setPen(self._text_pen)
        p.drawText(box, int(QtCore.Qt.AlignmentFlag.AlignCenter), self._label)


def view_rect(plot: pg.PlotItem) -> QtCore.QRectF:
    """The data rectangle the plot shows."""
    return plot.getViewBox().viewRect()
