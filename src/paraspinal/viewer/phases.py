"""Phase editing: the phase table with an undo stack, and the shaded regions that edit it.

:class:`PhaseModel` is the truth: a list of phases (``onset, duration, phase, cycle``, each
with a stable id) plus undo and redo stacks of earlier states. Every edit (add, delete,
label, move, resize) pushes the state before it, so :meth:`PhaseModel.undo` walks back one
edit at a time. It needs no Qt.

:class:`PhaseLayer` draws the phases that overlap the visible time range as
:class:`PhaseRegion` items (``pyqtgraph.LinearRegionItem`` shaded by the label's colour,
with the label on the left edge); an hour of flexion-relaxation cycles has hundreds of
phases, but only the few on screen exist as graphic items. Dragging a region or its edge
writes the new bounds into the model when the mouse is released.
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

__all__ = ["PHASE_COLORS", "phase_color", "PhaseModel", "PhaseRegion", "PhaseLayer"]

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


class PhaseRegion(pg.LinearRegionItem):
    """A shaded, draggable phase (reused for other phases as the view moves).

    Parameters
    ----------
    bounds : (float, float)
        Where it may be dragged.
    """

    sigSelected = QtCore.Signal(object)

    def __init__(self, bounds: tuple[float, float] | None = None):
        super().__init__(values=(0.0, 1.0), bounds=bounds, swapMode="sort")
        self.uid: int | None = None
        self.phase = ""
        self.setZValue(-10)
        self.label = pg.InfLineLabel(self.lines[0], text="", position=0.985, anchor=(0, 0))
        self._style: tuple | None = None

    def assign(self, uid: int, onset: float, stop: float, phase: str, cycle: int | None, selected: bool) -> None:
        """Show phase ``uid`` (without emitting change signals)."""
        self.uid = uid
        self.phase = phase
        self.blockSignals(True)
        try:
            self.setRegion((onset, stop))
        finally:
            self.blockSignals(False)
        style = (phase, cycle, selected)
        if style != self._style:
            self._style = style
            alpha = 110 if selected else 55
            self.setBrush(pg.mkBrush(phase_color(phase, alpha)))
            self.setHoverBrush(pg.mkBrush(phase_color(phase, alpha + 40)))
            for line in self.lines:
                line.setPen(pg.mkPen(phase_color(phase), width=3 if selected else 1))
                line.setHoverPen(pg.mkPen(phase_color(phase), width=3))
            self.label.setText(phase if cycle is None else f"{phase} ({cycle})")
            self.label.setColor(phase_color(phase).darker(160))
            self.update()

    def mouseClickEvent(self, ev):  # noqa: N802 - Qt naming
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self.sigSelected.emit(self.uid)
            return
        super().mouseClickEvent(ev)


class PhaseLayer:
    """Keeps region items for the phases in view and writes mouse edits to the model.

    A small pool of :class:`PhaseRegion` items is reused: paging re-assigns them to the
    phases now in view instead of creating and deleting graphic items.

    Parameters
    ----------
    plot : pyqtgraph.PlotItem
        The trace plot.
    model : PhaseModel
    duration : float
        Recording length (drag bounds).
    on_select : callable
        Called with a phase id when a region is clicked.
    """

    def __init__(self, plot: pg.PlotItem, model: PhaseModel, duration: float, on_select: Callable[[int], None]):
        self.plot = plot
        self.model = model
        self.duration = float(duration)
        self.on_select = on_select
        self.pool: list[PhaseRegion] = []
        self.items: dict[int, PhaseRegion] = {}
        self.selected: int | None = None
        self._shown: dict[int, tuple] = {}
        self._range = (0.0, 0.0)

    def _take(self, n: int) -> None:
        while len(self.pool) < n:
            item = PhaseRegion(bounds=(0.0, self.duration))
            item.sigRegionChangeFinished.connect(self._finished)
            item.sigSelected.connect(self.on_select)
            self.plot.addItem(item, ignoreBounds=True)
            self.pool.append(item)

    def sync(self, t0: float | None = None, t1: float | None = None) -> None:
        """Show exactly the phases that overlap ``[t0, t1]`` (default: the last range)."""
        if t0 is None or t1 is None:
            t0, t1 = self._range
        self._range = (t0, t1)
        margin = 0.1 * (t1 - t0)
        rows = self.model.overlapping(t0 - margin, t1 + margin)
        self._take(len(rows))
        self.items = {}
        for item, row in zip(self.pool, rows):
            state = (row["onset"], row["duration"], row["phase"], row["cycle"], row["id"] == self.selected)
            if item.uid != row["id"] or self._shown.get(id(item)) != state:
                item.assign(row["id"], row["onset"], row["onset"] + row["duration"], row["phase"], row["cycle"],
                            row["id"] == self.selected)
                self._shown[id(item)] = state
            if not item.isVisible():
                item.show()
            self.items[row["id"]] = item
        for item in self.pool[len(rows):]:
            if item.isVisible():
                item.hide()
                item.uid = None

    def _finished(self, item: PhaseRegion) -> None:
        if item.uid is None:
            return
        lo, hi = item.getRegion()
        uid = item.uid
        # the model update re-assigns the items: do it after the item's own mouse handler returns
        QtCore.QTimer.singleShot(0, lambda: self._commit(uid, float(lo), float(hi)))

    def _commit(self, uid: int, lo: float, hi: float) -> None:
        self.selected = uid
        self.model.set_bounds(uid, lo, hi - lo)
        self.on_select(uid)
