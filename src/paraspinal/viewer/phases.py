"""Phase editing: the phase table with an undo stack, and the shaded regions that edit it.

:class:`PhaseModel` is the truth: a list of phases (``onset, duration, phase, cycle``, each
with a stable id) plus undo and redo stacks of earlier states. Every edit (add, delete,
label, move, resize) pushes the state before it, so :meth:`PhaseModel.undo` walks back one
edit at a time. It needs no Qt.

:class:`PhaseLayer` is one graphic item that draws the phases overlapping the visible time
range (shaded by the label's colour, with the label at the top left) and edits them with the
mouse; an hour of flexion-relaxation cycles has hundreds of phases, but paging only changes
which few of them are painted. Dragging a phase or its edge writes the new bounds into the
model when the mouse is released.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui

from ..phases import PHASES

__all__ = ["PHASE_COLORS", "phase_color", "PhaseModel", "PhaseLayer"]

#: Shading colour per phase of the vocabulary (static: cool; movement: warm; calibration: grey).
PHASE_COLORS: dict[str, str] = {
    "standing": "#4c9be8", "sitting": "#5fb6b0", "prone": "#7f8fd6", "full_flexion": "#2e8b57",
    "sorensen_hold": "#3a6ea5", "rest": "#9fb4c7",
    "flexion": "#f39c34", "extension": "#e4572e", "lifting": "#d4a017", "lowering": "#c0567a",
    "walking": "#b5651d",
    "mvc": "#8e8e8e", "rvc": "#b0b0b0",
}


def phase_color(phase: str, alpha: int = 255) -> QtGui.QColor:
    """The colour of a phase label (grey for a label outside the vocabulary)."""
    col = QtGui.QColor(PHASE_COLORS.get(str(phase), "#9e9e9e"))
    col.setAlpha(alpha)
    return col


class PhaseModel:
    """The phases being edited, with undo/redo.

    Parameters
    ----------
    phases : pandas.DataFrame, optional
        ``onset, duration, phase`` (seconds) and optionally ``cycle``.
    duration : float, optional
        Recording length in seconds; phases are clipped to ``[0, duration]``.

    Attributes
    ----------
    dirty : bool
        True when there are edits not yet saved.
    """

    def __init__(self, phases: pd.DataFrame | None = None, duration: float | None = None):
        self.duration = None if duration is None else float(duration)
        self._next = 0
        self.rows: list[dict[str, Any]] = []
        if phases is not None and len(phases):
            cyc = phases["cycle"] if "cycle" in phases else [None] * len(phases)
            for on, du, ph, c in zip(phases["onset"], phases["duration"], phases["phase"], cyc):
                self.rows.append(self._row(float(on), float(du), str(ph), None if pd.isna(c) else int(c)))
        self._undo: list[list[dict[str, Any]]] = []
        self._redo: list[list[dict[str, Any]]] = []
        self.dirty = False
        self.listeners: list[Callable[[], None]] = []
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ internals
    def _row(self, onset: float, duration: float, phase: str, cycle: int | None) -> dict[str, Any]:
        self._next += 1
        return {"id": self._next, "onset": onset, "duration": duration, "phase": phase, "cycle": cycle}

    def _push(self) -> None:
        self._undo.append(copy.deepcopy(self.rows))
        self._redo.clear()

    def _changed(self) -> None:
        self.dirty = True
        self._arrays = None
        for fn in list(self.listeners):
            fn()

    def _clip(self, onset: float, duration: float) -> tuple[float, float]:
        start, stop = float(onset), float(onset) + max(float(duration), 0.0)
        if self.duration is not None:
            start = min(max(start, 0.0), self.duration)
            stop = min(max(stop, start), self.duration)
        return start, stop - start

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.rows)

    def get(self, uid: int) -> dict[str, Any] | None:
        """The phase with id ``uid`` (a dict), or None."""
        for row in self.rows:
            if row["id"] == uid:
                return row
        return None

    def ids_in_order(self) -> list[int]:
        """Phase ids sorted by onset."""
        return [r["id"] for r in sorted(self.rows, key=lambda r: (r["onset"], r["id"]))]

    def overlapping(self, t0: float, t1: float) -> list[dict[str, Any]]:
        """Phases that overlap ``[t0, t1]`` (vectorised over all phases)."""
        if self._arrays is None:
            on = np.array([r["onset"] for r in self.rows], dtype=float)
            end = on + np.array([r["duration"] for r in self.rows], dtype=float)
            self._arrays = (on, end)
        on, end = self._arrays
        hit = np.flatnonzero((on <= t1) & (end >= t0))
        return [self.rows[i] for i in hit]

    def to_frame(self) -> pd.DataFrame:
        """The phases as a table ``onset, duration, phase, cycle``, sorted by onset."""
        rows = sorted(self.rows, key=lambda r: (r["onset"], r["id"]))
        return pd.DataFrame({
            "onset": np.array([r["onset"] for r in rows], dtype=float),
            "duration": np.array([r["duration"] for r in rows], dtype=float),
            "phase": [r["phase"] for r in rows],
            "cycle": pd.array([r["cycle"] for r in rows], dtype="Int64"),
        })

    @property
    def can_undo(self) -> bool:
        """True when there is an edit to undo."""
        return bool(self._undo)

    # ------------------------------------------------------------------ edits
    def add(self, onset: float, duration: float, phase: str = "standing", cycle: int | None = None) -> int:
        """Add a phase; its cycle defaults to that of the phase holding its midpoint. Returns its id."""
        onset, duration = self._clip(onset, duration)
        if cycle is None:
            mid = onset + duration / 2
            holder = [r for r in self.overlapping(mid, mid) if r["cycle"] is not None]
            cycle = holder[0]["cycle"] if holder else None
        self._push()
        row = self._row(onset, duration, str(phase), cycle)
        self.rows.append(row)
        self._changed()
        return row["id"]

    def delete(self, uid: int) -> None:
        """Delete a phase."""
        if self.get(uid) is None:
            return
        self._push()
        self.rows = [r for r in self.rows if r["id"] != uid]
        self._changed()

    def set_label(self, uid: int, phase: str) -> None:
        """Relabel a phase."""
        row = self.get(uid)
        if row is None or row["phase"] == phase:
            return
        self._push()
        self.get(uid)["phase"] = str(phase)
        self._changed()

    def set_bounds(self, uid: int, onset: float, duration: float) -> None:
        """Move or resize a phase (no-op when unchanged)."""
        row = self.get(uid)
        if row is None:
            return
        onset, duration = self._clip(onset, duration)
        if abs(row["onset"] - onset) < 1e-9 and abs(row["duration"] - duration) < 1e-9:
            return
        self._push()
        row = self.get(uid)
        row["onset"], row["duration"] = onset, duration
        self._changed()

    def undo(self) -> bool:
        """Undo the last edit; False when there is none."""
        if not self._undo:
            return False
        self._redo.append(copy.deepcopy(self.rows))
        self.rows = self._undo.pop()
        self._changed()
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; False when there is none."""
        if not self._redo:
            return False
        self._undo.append(copy.deepcopy(self.rows))
        self.rows = self._redo.pop()
        self._changed()
        return True


class PhaseLayer(pg.GraphicsObject):
    """All phases in view, drawn as one graphic item that also edits them with the mouse.

    An hour of flexion-relaxation cycles has hundreds of phases; only those overlapping the
    visible range (plus a tenth of it on each side) are drawn, in one ``paint`` call: a shaded
    band per phase (its label's colour), its two edges and its label at the top left. Paging
    only changes the range (:meth:`sync`); no item is created, moved or deleted.

    Mouse (left button):

    * an edge (within 4 pixels): drag to move it (resize the phase); a click selects the phase;
    * the label strip at the top of a phase: drag to move the phase; a click selects it;
    * inside the selected phase: drag to move it;
    * anywhere else the view pans, and a click selects a channel (the ViewBox handles it).

    A drag shows the new bounds as it goes and writes them into the model once, on release.

    Parameters
    ----------
    plot : pyqtgraph.PlotItem
        The trace plot.
    model : PhaseModel
    duration : float
        Recording length in seconds (phases are kept inside ``[0, duration]``).
    on_select : callable
        Called with a phase id when a phase is clicked or dragged.

    Attributes
    ----------
    selected : int or None
        Id of the selected phase (drawn darker, with thick edges).
    shown : list of int
        Ids of the phases drawn, by onset.
    """

    EDGE_PX = 4.0

    def __init__(self, plot: pg.PlotItem, model: PhaseModel, duration: float, on_select: Callable[[int], None]):
        super().__init__()
        self.model = model
        self.duration = float(duration)
        self.on_select = on_select
        self.selected: int | None = None
        self.shown: list[int] = []
        self._rows: list[dict[str, Any]] = []
        self._range = (0.0, 0.0)
        self._y = (-1.0, 1.0)
        self._rect = QtCore.QRectF()
        self._hover: tuple[int, str] | None = None
        self._drag: tuple[int, str, float, float, float] | None = None
        self._preview: tuple[int, float, float] | None = None
        self._text: dict[str, QtGui.QStaticText] = {}
        self._brushes: dict[tuple[str, int], QtGui.QBrush] = {}
        self._pens: dict[tuple[str, int], QtGui.QPen] = {}
        self.setZValue(-10)
        self.setAcceptHoverEvents(True)
        plot.addItem(self, ignoreBounds=True)

    # ------------------------------------------------------------------ view
    def set_y(self, y0: float, y1: float) -> None:
        """The vertical extent to shade (the view's y range)."""
        self._y = (float(min(y0, y1)), float(max(y0, y1)))
        self.sync()

    def sync(self, t0: float | None = None, t1: float | None = None) -> None:
        """Show exactly the phases that overlap ``[t0, t1]`` plus a margin (default: the last range)."""
        if t0 is None or t1 is None:
            t0, t1 = self._range
        self._range = (float(t0), float(t1))
        margin = 0.1 * (t1 - t0)
        lo, hi = t0 - margin, t1 + margin
        self._rows = sorted(self.model.overlapping(lo, hi), key=lambda r: (r["onset"], r["id"]))
        self.shown = [r["id"] for r in self._rows]
        y0, y1 = self._y
        rect = QtCore.QRectF(lo, y0, max(hi - lo, 1e-9), y1 - y0)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.update()

    def bounds_of(self, uid: int) -> tuple[float, float] | None:
        """Drawn ``(start, stop)`` of a shown phase (with a drag in progress: the dragged bounds)."""
        for r in self._rows:
            if r["id"] == uid:
                return self._bounds(r)
        return None

    def _bounds(self, r: dict[str, Any]) -> tuple[float, float]:
        if self._preview is not None and self._preview[0] == r["id"]:
            return self._preview[1], self._preview[2]
        return r["onset"], r["onset"] + r["duration"]

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt naming
        return self._rect

    # ------------------------------------------------------------------ drawing
    def _brush(self, phase: str, alpha: int) -> QtGui.QBrush:
        # the shading lies on the white plot background and under everything else, so it is
        # drawn opaque, already mixed with white: the same colour as the translucent shade,
        # without blending every pixel of the view on every page
        key = (phase, alpha)
        if key not in self._brushes:
            c = phase_color(phase)
            a = alpha / 255.0
            mix = [round(255 * (1 - a) + v * a) for v in (c.red(), c.green(), c.blue())]
            self._brushes[key] = QtGui.QBrush(QtGui.QColor(*mix))
        return self._brushes[key]

    def _pen(self, phase: str, width: int) -> QtGui.QPen:
        key = (phase, width)
        if key not in self._pens:
            pen = QtGui.QPen(phase_color(phase), width)
            pen.setCosmetic(True)
            self._pens[key] = pen
        return self._pens[key]

    def _static(self, text: str) -> QtGui.QStaticText:
        if text not in self._text:
            st = QtGui.QStaticText(text)
            st.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            self._text[text] = st
        return self._text[text]

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if not self._rows:
            return
        y0, y1 = self._y
        tr = p.transform()
        labels = []
        for r in sorted(self._rows, key=lambda r: -r["duration"]):  # nested (shorter) phases on top
            a, b = self._bounds(r)
            sel = r["id"] == self.selected
            hover = self._hover[1] if self._hover is not None and self._hover[0] == r["id"] else None
            alpha = (110 if sel else 55) + (40 if hover in ("label", "body") else 0)
            p.fillRect(QtCore.QRectF(a, y0, b - a, y1 - y0), self._brush(r["phase"], alpha))
            for edge, x in (("start", a), ("stop", b)):
                p.setPen(self._pen(r["phase"], 3 if sel or hover == edge else 1))
                p.drawLine(QtCore.QPointF(x, y0), QtCore.QPointF(x, y1))
            labels.append((tr.map(QtCore.QPointF(a, y1)), tr.map(QtCore.QPointF(b, y0)), r))
        view_left = tr.map(QtCore.QPointF(self._range[0], y1)).x()
        p.resetTransform()  # labels in device pixels
        for top_left, bottom_right, r in labels:
            text = r["phase"] if r["cycle"] is None else f"{r['phase']} ({r['cycle']})"
            box = QtCore.QRectF(top_left, bottom_right).normalized()
            if box.width() < 12.0:  # no room for a letter (a zoomed-out hour): no label
                continue
            p.setClipRect(box)
            p.setPen(phase_color(r["phase"]).darker(160))
            left = max(box.left(), view_left)  # a phase begun before the view keeps its label in sight
            p.drawStaticText(QtCore.QPointF(left + 3.0, box.top() + 2.0), self._static(text))
        p.setClipping(False)
        p.setTransform(tr)

    # ------------------------------------------------------------------ mouse
    def hit(self, x: float, y: float) -> tuple[int, str] | None:
        """The phase part under a point in view coordinates: ``(id, "start" | "stop" | "label" | "body")``.

        Edges win over bodies; among overlapping bodies, the shortest phase (the innermost of
        nested ones) wins.
        """
        px = self.pixelWidth() or 0.0
        py = self.pixelHeight() or 0.0
        tol = self.EDGE_PX * px
        best = None
        for r in self._rows:
            a, b = self._bounds(r)
            for edge, e in (("start", a), ("stop", b)):
                if abs(x - e) <= tol and (best is None or best[0] != "edge" or abs(x - e) < best[2]):
                    best = ("edge", (r["id"], edge), abs(x - e))
        if best is not None:
            return best[1]
        inside = [r for r in self._rows if self._bounds(r)[0] <= x <= self._bounds(r)[1]]
        if not inside:
            return None
        r = min(inside, key=lambda r: r["duration"])
        in_label = y >= self._y[1] - 18.0 * py
        return r["id"], "label" if in_label else "body"

    def _grabs(self, part: tuple[int, str] | None) -> bool:
        return part is not None and (part[1] != "body" or part[0] == self.selected)

    def hoverEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph naming
        part = None
        if not ev.isExit():
            pos = ev.pos()
            part = self.hit(pos.x(), pos.y())
            if self._grabs(part):
                ev.acceptDrags(QtCore.Qt.MouseButton.LeftButton)
                if part[1] != "body":
                    ev.acceptClicks(QtCore.Qt.MouseButton.LeftButton)
            else:
                part = None
        if part != self._hover:
            self._hover = part
            shape = (QtCore.Qt.CursorShape.SizeHorCursor if part and part[1] in ("start", "stop")
                     else QtCore.Qt.CursorShape.SizeAllCursor if part else None)
            if shape is None:
                self.unsetCursor()
            else:
                self.setCursor(shape)
            self.update()

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph naming
        part = self.hit(ev.pos().x(), ev.pos().y()) if ev.button() == QtCore.Qt.MouseButton.LeftButton else None
        if part is None or part[1] == "body":
            ev.ignore()
            return
        ev.accept()
        self.on_select(part[0])

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph naming
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier:
            ev.ignore()
            return
        if ev.isStart():
            down = ev.buttonDownPos()
            part = self.hit(down.x(), down.y())
            if not self._grabs(part):
                ev.ignore()
                return
            a, b = self.bounds_of(part[0])
            self._drag = (part[0], part[1], a, b, float(down.x()))
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        uid, part, a, b, x0 = self._drag
        lo, hi = self._dragged(part, a, b, float(ev.pos().x()) - x0)
        self._preview = (uid, lo, hi)
        self.update()
        if ev.isFinish():
            self._drag = self._preview = None
            self.selected = uid
            self.model.set_bounds(uid, lo, hi - lo)
            self.on_select(uid)

    def _dragged(self, part: str, a: float, b: float, dx: float) -> tuple[float, float]:
        min_len = 2.0 * (self.pixelWidth() or 0.0)
        if part == "start":
            return min(max(a + dx, 0.0), b - min_len), b
        if part == "stop":
            return a, max(min(b + dx, self.duration), a + min_len)
        dx = min(max(dx, -a), self.duration - b)
        return a + dx, b + dx
