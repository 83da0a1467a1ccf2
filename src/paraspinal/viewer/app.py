"""The browser's main window: stacked traces, overview bar, phases, keys, guarding and map docks.

Drawing (see ``docs/viewer.md``): the signals of the shown mode (raw, conditioned,
envelope) stay in the recording's own array; a :class:`~paraspinal.viewer.pyramid.MinMaxPyramid`
on it holds float32 minima and maxima (µV for EMG and ECG, their own unit otherwise). Every
redraw asks the pyramid for the visible time range at about two points per pixel, for all
visible channels at once, into buffers it reuses, and refills each trace item in place;
scaling changes only the items' transforms. Docks that follow the view listen to
:attr:`BrowserWindow.sigViewChanged` (see the class notes).
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from ..errors import ParameterError
from ..grids import is_grid_recording
from ..recording import Recording
from . import keys as _keys
from .dialogs import ChannelInfoDialog, ExportDialog, HelpDialog
from .export import export_image
from .overview import OverviewBar
from .phases import PhaseLayer, PhaseModel, phase_color
from .pyramid import MinMaxPyramid
from .sidecar import sidecar_path, write_phases
from .traces import QC_COLORS, QC_MARKS, TRACE_COLORS, ChannelAxis, ScaleBar, TimeAxis, TraceLayer

__all__ = ["BrowserWindow", "ViewState", "MODES", "app"]

#: Signal modes, in the order ``v`` cycles through them.
MODES: tuple[str, ...] = ("raw", "conditioned", "envelope")

_MOD_NAMES = (("Shift", QtCore.Qt.KeyboardModifier.ShiftModifier),
              ("Ctrl", QtCore.Qt.KeyboardModifier.ControlModifier),
              ("Alt", QtCore.Qt.KeyboardModifier.AltModifier))


def app() -> QtWidgets.QApplication:
    """The running QApplication (made if needed), with white plots and black axes."""
    pg.setConfigOptions(background="w", foreground="k", antialias=False)
    return pg.mkQApp("paraspinal viewer")


class _Signals:
    """One mode's display data: the signal (by reference), its units, pyramid and automatic scales.

    The signal is not copied: the pyramid reads the recording's own float64 array for raw
    samples and holds only its float32 min/max levels (1/3 of the signal's float64 size).
    Values come out in µV for EMG and ECG (``scale`` 1e6 on volts) and in their own unit otherwise.
    """

    def __init__(self, rec: Recording, mode: str):
        table = rec.channels
        electrical = (table["unit"].astype(str) == "V").to_numpy()
        src = getattr(rec.raw, "_data", None)  # MNE's preloaded array, shared (never written)
        if not isinstance(src, np.ndarray) or src.shape != (len(table), rec.n_samples):
            src = rec.get_data(unit=None)
        self.scale = np.where(electrical, 1e6, 1.0)
        self.units = ["µV" if e else str(u) for e, u in zip(electrical, table["unit"])]
        self.mode = mode
        self.pyramid = MinMaxPyramid(src, rec.sfreq, scale=self.scale)
        self.types = table["type"].astype(str).tolist()
        self.auto_upr, self.fixed_base = self._auto_scales(rec.sfreq)

    @property
    def source(self) -> np.ndarray:
        """The signal the pyramid was built on (the recording's array, volts for EMG and ECG)."""
        return self.pyramid.data

    def _auto_scales(self, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.pyramid.blocks(int(0.25 * sfreq))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanmedian(hi - lo, axis=1).astype(float)
            top = np.nanpercentile(hi, 95, axis=1).astype(float)
            full_lo = np.nanmin(lo, axis=1).astype(float)
            full_hi = np.nanmax(hi, axis=1).astype(float)
        types = np.array(self.types)
        upr = np.ones(len(types))
        base = np.full(len(types), np.nan)
        emg = types == "emg"
        if self.mode == "envelope":
            typical = np.nanmedian(top[emg]) if emg.any() else 1.0
            upr[emg] = typical / 0.8
            base[emg] = 0.0
        elif emg.any():
            upr[emg] = np.nanmedian(spread[emg]) / 0.4
        ecg = types == "ecg"
        upr[ecg] = (full_hi[ecg] - full_lo[ecg]) / 1.2
        misc = ~(emg | ecg)
        upr[misc] = (full_hi[misc] - full_lo[misc]) / 0.85
        base[misc] = 0.5 * (full_hi[misc] + full_lo[misc])
        upr[~(np.isfinite(upr) & (upr > 0))] = 1.0
        return upr, base


@dataclass(frozen=True)
class ViewState:
    """What the window shows, as sent by :attr:`BrowserWindow.sigViewChanged`.

    Attributes
    ----------
    t0, t1 : float
        Shown time range in seconds from the first sample.
    start, stop : int
        The same range in samples, ``[start, stop)``.
    channels : tuple of int
        Indices of the channels on the page, top to bottom.
    names : tuple of str
        Their names.
    mode : str
        ``"raw"``, ``"conditioned"`` or ``"envelope"``.
    """

    t0: float
    t1: float
    start: int
    stop: int
    channels: tuple[int, ...]
    names: tuple[str, ...]
    mode: str


class _TraceViewBox(pg.ViewBox):
    """Pans and zooms in time only; Shift+drag draws a phase; a click selects a channel."""

    def __init__(self):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)
        self.on_shift_drag = None
        self.on_click = None

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 - Qt naming
        if (ev.button() == QtCore.Qt.MouseButton.LeftButton
                and ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier and self.on_shift_drag):
            ev.accept()
            x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()
            x1 = self.mapSceneToView(ev.scenePos()).x()
            self.on_shift_drag(float(x0), float(x1), ev.isFinish())
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):  # noqa: N802 - Qt naming
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and self.on_click:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.on_click(float(p.x()), float(p.y()))
            return
        super().mouseClickEvent(ev)


class BrowserWindow(QtWidgets.QMainWindow):
    """Browse a recording, edit its phases, see guarding against controls.

    Parameters
    ----------
    rec : Recording
        The (raw) recording. Its phases are the starting phases.
    sidecar : path-like, optional
        Where phases are saved (default :func:`~paraspinal.viewer.sidecar.sidecar_path` of
        ``rec.meta["source"]``).
    reference : NormativeReference, optional
        Controls for the guarding panel.
    study : path-like, optional
        Processed study folder; its reference is loaded when the guarding panel first opens.
    qc : bool or pandas.DataFrame
        Per-channel quality: computed (True; in a background thread for long recordings),
        given, or none (False).
    window : float
        Seconds shown (default 10).
    n_channels : int, optional
        Channel rows per page (default all, at most 20).
    mode : {"raw", "conditioned", "envelope"}
        Starting signal.
    time_format : {"s", "min:s"}
        Time axis labels.
    pipeline : optional
        Conditioning for the ``conditioned`` and ``envelope`` modes (None = default pipeline).
    size : (int, int)
        Window size in pixels.

    Notes
    -----
    **Docks that follow the view.** A panel that shows something about the current view (an
    HD-sEMG RMS map of the shown range, say) is a Qt widget in a dock that listens to
    :attr:`sigViewChanged`::

        panel = MyMapPanel(win.rec)                  # any QWidget
        win.add_dock(panel, "map", area="right")
        win.sigViewChanged.connect(panel.show_view)  # called with a ViewState
        panel.show_view(win.view_state())            # the view at the time of connecting

    :attr:`sigViewChanged` is emitted once per *settled* view change: after paging, zooming,
    scrolling channels or changing the signal mode, once no further change came for
    :attr:`view_settle_ms` milliseconds (default 150) — not once per frame while a key is held
    or the mouse drags — and only when the view differs from the one last sent. The
    :class:`ViewState` says the time range (seconds and samples), the channels on the page and
    the signal mode; the data are ``win.rec`` (or ``win.processed()`` for the conditioned and
    envelope modes).
    """

    #: Emitted with a :class:`ViewState` once per settled view change (see the class notes).
    sigViewChanged = QtCore.Signal(object)

    def __init__(self, rec: Recording, *, sidecar: str | os.PathLike | None = None, reference: Any = None,
                 study: str | os.PathLike | None = None, qc: bool | pd.DataFrame = True, window: float = 10.0,
                 n_channels: int | None = None, mode: str = "raw", time_format: str = "s", pipeline: Any = None,
                 size: tuple[int, int] = (1400, 860)):
        app()
        super().__init__()
        if mode not in MODES:
            raise ParameterError(f"mode={mode!r}", hint=f"use one of {MODES}")
        self.rec = rec
        self.sfreq = rec.sfreq
        self.n_samples = rec.n_samples
        self.duration = rec.n_samples / rec.sfreq
        self.names = rec.ch_names
        self.table = rec.channels.copy()
        self.pipeline = pipeline
        self._reference = reference
        self._study = None if study is None else Path(study)
        src = rec.meta.get("source")
        self.source = None if src is None else Path(src)
        self.sidecar = Path(sidecar) if sidecar is not None else (sidecar_path(self.source) if self.source else None)
        self.ask_on_close = False
        self.qc_table: pd.DataFrame | None = None
        self._qc_thread: threading.Thread | None = None
        self._qc_result: list[Any] = []
        self._signals: dict[str, _Signals] = {}
        self._processed: Recording | None = None
        self.mode = mode
        self.t0 = 0.0
        self.win = float(min(window, self.duration))
        self.first_row = 0
        self.n_rows = int(min(n_channels or min(len(self.names), 20), len(self.names)))
        self.amp_all = 1.0
        self.amp_ch = np.ones(len(self.names))
        self.selected_channel: int | None = None
        self.scalebar_on = True
        self.current_label = "standing"
        self.guarding_panel = None
        self._guarding_version = -1
        self.map_panel = None
        self._phase_version = 0
        self._quiet = False
        self._draft: pg.LinearRegionItem | None = None
        self.last_decimation = None
        self.frame_points = 0
        self._xy_range: tuple[float, float, int] | None = None
        self._mid = np.empty(0, dtype=np.float32)
        self._last_state: ViewState | None = None
        self.view_settle_ms = 150
        self._settle = QtCore.QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self._emit_view)

        self._build_ui(time_format)
        self.phase_model = PhaseModel(rec.phases, duration=self.duration)
        self.phase_model.listeners.append(self._phases_changed)
        self.phase_layer = PhaseLayer(self.plot, self.phase_model, self.duration, self.select_phase_id)
        self.resize(*size)
        self.set_mode(mode, redraw=False)
        self.overview.set_phases(self.phase_model.to_frame())
        self._init_qc(qc)
        self.redraw()
        self._update_title()

    # ------------------------------------------------------------------ UI
    def _build_ui(self, time_format: str) -> None:
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(2, 2, 2, 2)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        # every page moves every trace item: keeping a BSP index of the items, and working out
        # the minimal region to repaint, costs more than it saves
        self.graphics.scene().setItemIndexMethod(QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)
        self.graphics.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.graphics.installEventFilter(self)
        self.time_axis = TimeAxis()
        self.time_axis.set_format(time_format)
        self.channel_axis = ChannelAxis()
        # the channel labels change only when the rows do: paint them from a cached pixmap
        self.channel_axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.vb = _TraceViewBox()
        self.vb.on_shift_drag = self._shift_drag
        self.vb.on_click = self._plot_clicked
        self.plot = self.graphics.addPlot(row=0, col=0, viewBox=self.vb,
                                          axisItems={"bottom": self.time_axis, "left": self.channel_axis})
        self.plot.hideButtons()
        for hidden in ("top", "right"):  # hidden, but linked: each x change would re-layout their SI label
            self.plot.getAxis(hidden).enableAutoSIPrefix(False)
        self.vb.setLimits(xMin=0.0, xMax=self.duration, minXRange=10.0 / self.sfreq, maxXRange=self.duration)
        self.vb.disableAutoRange()
        self.traces = TraceLayer(self.vb, self.sfreq)
        self.scalebar = ScaleBar(self.vb)
        self.graphics.nextRow()
        self.overview = OverviewBar(self.graphics.ci, self.duration, self._overview_moved)
        self.graphics.ci.layout.setRowStretchFactor(0, 10)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        lay.addWidget(self.graphics)
        self.setCentralWidget(central)
        self.vb.sigXRangeChanged.connect(self._range_changed)
        self.vb.sigResized.connect(self._resized)

        bar = self.addToolBar("view")
        bar.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.mode_box = QtWidgets.QComboBox()
        self.mode_box.addItems(list(MODES))
        self.mode_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.mode_box.currentTextChanged.connect(lambda m: m != self.mode and self.set_mode(m))
        bar.addWidget(QtWidgets.QLabel(" signal "))
        bar.addWidget(self.mode_box)
        for text, slot in (("min:s", self.toggle_time_format), ("guarding", self.toggle_guarding),
                           ("save phases", self.save_phases), ("export", self.export_dialog),
                           ("keys (?)", self.show_help)):
            action = bar.addAction(text)
            action.triggered.connect(lambda _=False, s=slot: s())
        if is_grid_recording(self.rec):  # the HD-sEMG map panel (viewer.gridmap)
            bar.addAction("map").triggered.connect(lambda _=False: self.toggle_map())
        self.status = self.statusBar()
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)

    def export_item(self) -> Any:
        """The graphics item :func:`~paraspinal.viewer.export.export_image` exports (traces + overview)."""
        return self.graphics.ci

    # ------------------------------------------------------------------ data modes
    def signals(self, mode: str | None = None) -> _Signals:
        """The display data of a mode (computed on first use)."""
        mode = mode or self.mode
        if mode not in self._signals:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                if mode == "raw":
                    rec = self.rec
                else:
                    from ..preprocessing import envelope

                    rec = self.processed()
                    if mode == "envelope":
                        rec = envelope(rec, "rms", window_ms=250.0)
                self._signals[mode] = _Signals(rec, mode)
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
        return self._signals[mode]

    def processed(self) -> Recording:
        """The recording conditioned by the pipeline (computed once)."""
        if self._processed is None:
            from ..pipeline import preprocess

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._processed = preprocess(self.rec, self.pipeline)
        return self._processed

    def set_mode(self, mode: str, *, redraw: bool = True) -> None:
        """Show ``"raw"``, ``"conditioned"`` or ``"envelope"`` signals."""
        if mode not in MODES:
            raise ParameterError(f"mode={mode!r}", hint=f"use one of {MODES}")
        sig = self.signals(mode)
        self.mode = mode
        if self.mode_box.currentText() != mode:
            self.mode_box.blockSignals(True)
            self.mode_box.setCurrentText(mode)
            self.mode_box.blockSignals(False)
        emg = [i for i, t in enumerate(sig.types) if t == "emg"]
        self.overview.set_activity(sig.pyramid, emg)
        if redraw:
            self.redraw()

    def cycle_mode(self) -> None:
        """Raw → conditioned → envelope → raw."""
        self.set_mode(MODES[(MODES.index(self.mode) + 1) % len(MODES)])

    # ------------------------------------------------------------------ QC
    def _init_qc(self, qc: bool | pd.DataFrame) -> None:
        if isinstance(qc, pd.DataFrame):
            self.qc_table = qc
            return
        if not qc:
            return
        if self.n_samples * len(self.names) <= 20_000_000:
            self.qc_table = self._compute_qc()
            return

        def work():
            try:
                self._qc_result.append(self._compute_qc())
            except Exception as err:  # shown in the status bar
                self._qc_result.append(err)

        self._qc_thread = threading.Thread(target=work, daemon=True)
        self._qc_thread.start()
        self._qc_timer = QtCore.QTimer(self)
        self._qc_timer.timeout.connect(self._poll_qc)
        self._qc_timer.start(250)

    def _compute_qc(self) -> pd.DataFrame:
        from ..preprocessing import qc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return qc(self.rec)

    def _poll_qc(self) -> None:
        if not self._qc_result:
            return
        self._qc_timer.stop()
        res = self._qc_result.pop()
        if isinstance(res, Exception):
            self.status.showMessage(f"quality check failed: {res}", 8000)
            return
        self.qc_table = res
        self.redraw()

    def qc_of(self, name: str) -> tuple[str, str]:
        """QC verdict and reason of a channel (``("", "")`` when unknown)."""
        if self.qc_table is None or "channel" not in self.qc_table:
            return "", ""
        row = self.qc_table[self.qc_table["channel"] == name]
        if not len(row):
            return "", ""
        return str(row["qc"].iat[0]), str(row["reason"].iat[0])

    def channel_label(self, i: int) -> str:
        """Axis label of channel ``i``: side, muscle (and level) or the name, plus a QC mark."""
        key = (i, self.qc_table is None)
        cache = self.__dict__.setdefault("_label_cache", {})
        if key not in cache:
            cache[key] = self._make_label(i)
        return cache[key]

    def _make_label(self, i: int) -> str:
        row = self.table.iloc[i]
        m, s, lv = row["muscle"], row["side"], row["level"]
        if isinstance(row.get("grid"), str):  # a grid electrode: its name (they share muscle and side)
            text = str(row["name"])
        elif isinstance(m, str) and isinstance(s, str):
            text = f"{s} {m}" + (f" {lv}" if isinstance(lv, str) else "")
        else:
            text = str(row["name"])
        return text + QC_MARKS.get(self.qc_of(str(row["name"]))[0], "")

    # ------------------------------------------------------------------ drawing
    def visible_channels(self) -> list[int]:
        """Indices of the channels on the page, top to bottom."""
        return list(range(self.first_row, min(self.first_row + self.n_rows, len(self.names))))

    def units_per_row(self) -> np.ndarray:
        """Data units (µV, deg...) spanned by one row, per channel, at the current scales."""
        sig = self.signals()
        return sig.auto_upr / (self.amp_all * self.amp_ch)

    def _pixels(self) -> int:
        return max(int(self.vb.width()), 200)

    def redraw(self) -> None:
        """Decimate the visible range from the pyramid and draw it (the per-frame work).

        Only what changed is touched: the traces' points (refilled in place), the x range,
        the phases in view and the overview's window; the y range, the channel labels and the
        scale bar only when the rows or scales changed.
        """
        sig = self.signals()
        self.win = float(min(max(self.win, 10.0 / self.sfreq), self.duration))
        self.t0 = float(min(max(self.t0, 0.0), self.duration - self.win))
        t1 = self.t0 + self.win
        rows = self.visible_channels()
        s0 = int(np.floor(self.t0 * self.sfreq))
        s1 = int(np.ceil(t1 * self.sfreq)) + 1
        sel = slice(rows[0], rows[-1] + 1)  # the page's channels are consecutive
        dec = sig.pyramid.decimate(s0, s1, self._pixels(), channels=sel, reuse=True)
        self.last_decimation = dec
        self.frame_points = int(dec.n_bins * (2 if dec.bin_samples > 1 else 1) * len(rows))
        upr = self.units_per_row()[rows]
        base = self._baselines(sig, dec, rows)
        offsets = np.where((np.array(sig.types)[rows] == "emg") & (sig.mode == "envelope"), -0.4, 0.0)
        colors = [TRACE_COLORS.get(sig.types[i], "#333333") for i in rows]
        if self.selected_channel in rows:
            colors[rows.index(self.selected_channel)] = "#000000"
        self.traces.show(dec, rows, offsets, base, upr, colors)
        self._row_params = (offsets, base, upr)
        self._set_view_range(self.t0, t1, len(rows))
        self._update_labels(rows)
        self._place_scalebar(rows, upr)
        self.phase_layer.sync(self.t0, t1)
        self.overview.show_window(self.t0, t1)
        self._update_status()
        # apply the new view transform now, so that items react before the next paint rather
        # than during it (which would cost a second paint per frame)
        self.vb.prepareForPaint()
        self._settle.start(self.view_settle_ms)

    def _set_view_range(self, t0: float, t1: float, n_rows: int) -> None:
        """Set the ViewBox range; the y range (and the phases' height) only when the rows changed."""
        self._quiet = True
        try:
            if self._xy_range is None or self._xy_range[2] != n_rows:
                y0, y1 = -(n_rows - 1) - 0.6, 0.6
                self.vb.setRange(xRange=(t0, t1), yRange=(y0, y1), padding=0.0)
                self.phase_layer.set_y(y0, y1)
            elif self._xy_range[:2] != (t0, t1):
                self.vb.setXRange(t0, t1, padding=0.0)
            self._xy_range = (t0, t1, n_rows)
        finally:
            self._quiet = False

    def view_state(self) -> ViewState:
        """The current view (what :attr:`sigViewChanged` sends)."""
        rows = self.visible_channels()
        t1 = self.t0 + self.win
        return ViewState(t0=self.t0, t1=t1, start=int(np.floor(self.t0 * self.sfreq)),
                         stop=int(min(np.ceil(t1 * self.sfreq), self.n_samples)), channels=tuple(rows),
                         names=tuple(self.names[i] for i in rows), mode=self.mode)

    def _emit_view(self) -> None:
        state = self.view_state()
        if state != self._last_state:
            self._last_state = state
            self.sigViewChanged.emit(state)

    def add_dock(self, widget: QtWidgets.QWidget, title: str, *, area: str = "bottom") -> QtWidgets.QDockWidget:
        """Put ``widget`` in a dock of the window and return the dock.

        Parameters
        ----------
        widget : QWidget
            The panel.
        title : str
            Dock title (also its object name, so Qt can save the layout).
        area : {"bottom", "right", "left", "top"}
            Where the dock goes.

        Returns
        -------
        QDockWidget

        Notes
        -----
        A dock that follows the view connects to :attr:`sigViewChanged` (see the class notes).
        """
        areas = {"bottom": QtCore.Qt.DockWidgetArea.BottomDockWidgetArea,
                 "right": QtCore.Qt.DockWidgetArea.RightDockWidgetArea,
                 "left": QtCore.Qt.DockWidgetArea.LeftDockWidgetArea,
                 "top": QtCore.Qt.DockWidgetArea.TopDockWidgetArea}
        if area not in areas:
            raise ParameterError(f"area={area!r}", hint=f"use one of {tuple(areas)}")
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(areas[area], dock)
        return dock

    def _baselines(self, sig: _Signals, dec: Any, rows: list[int]) -> np.ndarray:
        """Per row the median of the mid-points of every 4th bin (raw samples: of every 4th sample)
        in view: a display offset, as good from a quarter of the bins and 4 times cheaper."""
        lo, hi = dec.lo[:, ::4], dec.hi[:, ::4]
        shape = lo.shape
        if self._mid.size < lo.size:
            self._mid = np.empty(lo.size, dtype=np.float32)
        mid = self._mid[:lo.size].reshape(shape)  # reused: no allocation per page
        np.add(lo, hi, out=mid)
        mid *= 0.5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            base = np.median(mid, axis=1, overwrite_input=True).astype(float) if shape[1] else np.zeros(len(rows))
        fixed = sig.fixed_base[rows]
        return np.where(np.isfinite(fixed), fixed, np.nan_to_num(base))

    def _update_labels(self, rows: list[int]) -> None:
        labels = [self.channel_label(i) for i in rows]
        cache = self.__dict__.setdefault("_color_cache", {})
        for i in rows:
            if (i, self.qc_table is None) not in cache:
                cache[(i, self.qc_table is None)] = QC_COLORS.get(self.qc_of(self.names[i])[0], "#222222")
        colors = [cache[(i, self.qc_table is None)] for i in rows]
        hl = rows.index(self.selected_channel) if self.selected_channel in rows else None
        state = (tuple(labels), tuple(colors), hl)
        if state != getattr(self, "_label_state", None):  # re-laying out the axis costs a few ms
            self._label_state = state
            self.channel_axis.set_rows(labels, colors, hl)

    def _place_scalebar(self, rows: list[int], upr: np.ndarray) -> None:
        sig = self.signals()
        emg_rows = [r for r, i in enumerate(rows) if sig.types[i] == "emg"]
        on = self.scalebar_on and bool(emg_rows)
        self.scalebar.set_visible(on)
        if on:
            r = emg_rows[0]
            self.scalebar.place(r, float(upr[r]), sig.units[rows[r]])

    def _update_status(self) -> None:
        rows = self.visible_channels()
        fmt = self.time_axis.fmt
        from .traces import format_time

        parts = [f"{format_time(self.t0, fmt, 0.01)}–{format_time(self.t0 + self.win, fmt, 0.01)} "
                 f"({'s' if fmt == 's' else 'min:s'}) of {format_time(self.duration, fmt, 0.01)}",
                 f"window {self.win:g} s", f"channels {rows[0] + 1}–{rows[-1] + 1} of {len(self.names)}", self.mode]
        if self.selected_channel is not None:
            q, why = self.qc_of(self.names[self.selected_channel])
            parts.append(f"{self.names[self.selected_channel]}" + (f" QC {q}: {why}" if q else ""))
        sel = self.phase_model.get(self.phase_layer.selected) if self.phase_layer.selected else None
        if sel is not None:
            parts.append(f"phase {sel['phase']} {sel['onset']:.2f}–{sel['onset'] + sel['duration']:.2f} s")
        parts.append(f"label keys → '{self.current_label}'")
        self.status.showMessage(" | ".join(parts))

    def _update_title(self) -> None:
        name = self.source.name if self.source else "recording"
        self.setWindowTitle(f"paraspinal · {name}{' *' if self.phase_model.dirty else ''}")

    # ------------------------------------------------------------------ view callbacks
    def _range_changed(self, _vb: Any, rng: Any) -> None:
        if self._quiet:
            return
        lo, hi = float(rng[0]), float(rng[1])
        self.t0, self.win = lo, hi - lo
        self.redraw()

    def _resized(self, *_: Any) -> None:
        if hasattr(self, "phase_layer") and self.last_decimation is not None:
            self.redraw()

    def _overview_moved(self, t0: float, t1: float | None) -> None:
        if t1 is None:
            self.t0 = t0 - self.win / 2
        else:
            self.t0, self.win = t0, max(t1 - t0, 10.0 / self.sfreq)
        self.redraw()

    def _plot_clicked(self, x: float, y: float) -> None:
        rows = self.visible_channels()
        r = int(round(-y))
        if 0 <= r < len(rows):
            self.selected_channel = rows[r]
        self.phase_layer.selected = None
        self.redraw()

    # ------------------------------------------------------------------ keys
    def eventFilter(self, obj: Any, ev: Any) -> bool:  # noqa: N802 - Qt naming
        if ev.type() == QtCore.QEvent.Type.KeyPress and self.handle_key(ev):
            return True
        return super().eventFilter(obj, ev)

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:  # noqa: N802 - Qt naming
        if not self.handle_key(ev):
            super().keyPressEvent(ev)

    def handle_key(self, ev: QtGui.QKeyEvent) -> bool:
        """Run the binding of a key event; True when the key is bound."""
        try:
            name = QtCore.Qt.Key(ev.key()).name
        except ValueError:
            return False
        name = name[4:] if name.startswith("Key_") else name
        mods = {n for n, flag in _MOD_NAMES if ev.modifiers() & flag}
        binding = _keys.lookup(name, mods)
        if binding is None:
            return False
        try:
            getattr(self, binding.method)(*binding.args)
        except Exception as err:  # keep the window alive; say what went wrong
            self.status.showMessage(f"{binding.text}: {err}", 8000)
        return True

    # ------------------------------------------------------------------ navigation
    def page(self, fraction: float) -> None:
        """Move the window by ``fraction`` of its length (negative: back)."""
        self.t0 += fraction * self.win
        self.redraw()

    def go_to(self, where: str | float) -> None:
        """Go to ``"start"``, ``"end"`` or a time in seconds (window start)."""
        self.t0 = 0.0 if where == "start" else self.duration if where == "end" else float(where)
        self.redraw()

    def zoom_time(self, factor: float) -> None:
        """Multiply the window length by ``factor`` (start kept)."""
        self.win *= factor
        self.redraw()

    def scroll_channels(self, step: int | float) -> None:
        """Scroll by ``step`` channels (int) or pages of channels (float)."""
        n = int(round(step * self.n_rows)) if isinstance(step, float) else int(step)
        self.first_row = int(np.clip(self.first_row + n, 0, max(len(self.names) - self.n_rows, 0)))
        self.redraw()

    def change_n_channels(self, delta: int) -> None:
        """Show ``delta`` more (or fewer) channel rows."""
        self.n_rows = int(np.clip(self.n_rows + delta, 1, len(self.names)))
        self.first_row = int(np.clip(self.first_row, 0, max(len(self.names) - self.n_rows, 0)))
        self.redraw()

    # ------------------------------------------------------------------ scaling
    def scale_all(self, factor: float) -> None:
        """Make every trace ``factor`` times taller."""
        self.amp_all *= factor
        self._rescale()

    def scale_channel(self, factor: float, channel: int | None = None) -> None:
        """Make one channel's trace (default: the selected one) ``factor`` times taller."""
        ch = self.selected_channel if channel is None else channel
        if ch is None:
            self.status.showMessage("select a channel first (click its trace or Ctrl+↑/↓)", 5000)
            return
        self.amp_ch[ch] *= factor
        self._rescale()

    def select_channel(self, step: int) -> None:
        """Select the channel ``step`` rows below (negative: above) the selected one."""
        cur = self.first_row if self.selected_channel is None else self.selected_channel + step
        self.selected_channel = int(np.clip(cur, 0, len(self.names) - 1))
        if self.selected_channel < self.first_row:
            self.first_row = self.selected_channel
        elif self.selected_channel >= self.first_row + self.n_rows:
            self.first_row = self.selected_channel - self.n_rows + 1
        self.redraw()

    def reset_scales(self) -> None:
        """Back to the automatic scales."""
        self.amp_all = 1.0
        self.amp_ch[:] = 1.0
        self._rescale()

    def _rescale(self) -> None:
        rows = self.visible_channels()
        offsets, base, _ = self._row_params
        upr = self.units_per_row()[rows]
        self.traces.set_transforms(offsets, base, upr)
        self._row_params = (offsets, base, upr)
        self._place_scalebar(rows, upr)

    def toggle_scalebar(self) -> None:
        """Show or hide the scale bar."""
        self.scalebar_on = not self.scalebar_on
        self._place_scalebar(self.visible_channels(), self._row_params[2])

    # ------------------------------------------------------------------ display
    def toggle_time_format(self) -> None:
        """Seconds ↔ min:s."""
        self.time_axis.set_format("min:s" if self.time_axis.fmt == "s" else "s")
        self.overview.plot.getAxis("bottom").set_format(self.time_axis.fmt)
        self._update_status()

    def toggle_overview(self) -> None:
        """Show or hide the overview bar."""
        self.overview.plot.setVisible(not self.overview.plot.isVisible())

    def show_channel_info(self) -> ChannelInfoDialog:
        """Open the channel table with QC verdicts and reasons."""
        table = self.table.copy()
        table["qc"] = [self.qc_of(n)[0] for n in self.names]
        table["reason"] = [self.qc_of(n)[1] for n in self.names]
        dlg = ChannelInfoDialog(table, self)
        dlg.show()
        self._info_dialog = dlg
        return dlg

    def show_help(self) -> HelpDialog:
        """Open the key help."""
        dlg = HelpDialog(self)
        dlg.show()
        self.help_dialog = dlg
        return dlg

    # ------------------------------------------------------------------ phases
    def _phases_changed(self) -> None:
        self._phase_version += 1
        self.phase_layer.sync()
        self.overview.set_phases(self.phase_model.to_frame())
        self._update_title()
        self._update_status()

    @property
    def selected_phase(self) -> int | None:
        """Id of the selected phase (or None)."""
        return self.phase_layer.selected

    def select_phase_id(self, uid: int | None) -> None:
        """Select a phase by id (None: deselect)."""
        self.phase_layer.selected = uid
        self.phase_layer.sync()
        self._update_status()

    def select_phase(self, step: int) -> None:
        """Select the next (1) or previous (-1) phase and bring it into view; 0 deselects."""
        if step == 0:
            self.select_phase_id(None)
            return
        order = self.phase_model.ids_in_order()
        if not order:
            return
        if self.selected_phase in order:
            i = order.index(self.selected_phase) + step
        else:
            onsets = np.array([self.phase_model.get(u)["onset"] for u in order])
            i = int(np.searchsorted(onsets, self.t0)) if step > 0 else int(np.searchsorted(onsets, self.t0)) - 1
        uid = order[int(np.clip(i, 0, len(order) - 1))]
        row = self.phase_model.get(uid)
        if row["onset"] + row["duration"] < self.t0 or row["onset"] > self.t0 + self.win:
            self.t0 = row["onset"] + row["duration"] / 2 - self.win / 2
        self.phase_layer.selected = uid
        self.redraw()

    def new_phase(self, onset: float | None = None, duration: float | None = None, label: str | None = None) -> int:
        """Add a phase (default: a fifth of the window, centred) and select it; returns its id."""
        if duration is None:
            duration = self.win / 5
        if onset is None:
            onset = self.t0 + self.win / 2 - duration / 2
        uid = self.phase_model.add(onset, duration, label or self.current_label)
        self.select_phase_id(uid)
        return uid

    def delete_phase(self) -> None:
        """Delete the selected phase."""
        if self.selected_phase is None:
            self.status.showMessage("no phase selected (click one, or Tab)", 5000)
            return
        uid, self.phase_layer.selected = self.selected_phase, None
        self.phase_model.delete(uid)

    def label_phase(self, phase: str) -> None:
        """Label the selected phase (and make ``phase`` the label of new phases)."""
        self.current_label = phase
        if self.selected_phase is None:
            self._update_status()
            return
        self.phase_model.set_label(self.selected_phase, phase)

    def nudge_phase(self, move: float, grow: float) -> None:
        """Move the selected phase by ``move`` windows and lengthen it by ``grow`` windows."""
        row = self.phase_model.get(self.selected_phase) if self.selected_phase else None
        if row is None:
            return
        self.phase_model.set_bounds(row["id"], row["onset"] + move * self.win,
                                    max(row["duration"] + grow * self.win, 1.0 / self.sfreq))

    def undo(self) -> None:
        """Undo the last phase edit."""
        if not self.phase_model.undo():
            self.status.showMessage("nothing to undo", 3000)
        if self.selected_phase is not None and self.phase_model.get(self.selected_phase) is None:
            self.select_phase_id(None)

    def redo(self) -> None:
        """Redo the last undone phase edit."""
        self.phase_model.redo()

    def _shift_drag(self, x0: float, x1: float, finished: bool) -> None:
        lo, hi = sorted((min(max(x0, 0.0), self.duration), min(max(x1, 0.0), self.duration)))
        if self._draft is None:
            self._draft = pg.LinearRegionItem(values=(lo, hi), movable=False,
                                              brush=pg.mkBrush(phase_color(self.current_label, 60)))
            self.plot.addItem(self._draft, ignoreBounds=True)
        self._draft.setRegion((lo, hi))
        if finished:
            self.plot.removeItem(self._draft)
            self._draft = None
            if hi - lo >= 1.0 / self.sfreq:
                self.new_phase(lo, hi - lo)

    def phases(self) -> pd.DataFrame:
        """The edited phases: ``onset, duration, phase, cycle``."""
        return self.phase_model.to_frame()

    def save_phases(self, path: str | os.PathLike | None = None) -> Path:
        """Write the phases to the sidecar ``events.tsv`` (never into the recording).

        Parameters
        ----------
        path : path-like, optional
            Where (default :attr:`sidecar`). With neither, an interactive window asks.

        Returns
        -------
        pathlib.Path
        """
        target = Path(path) if path is not None else self.sidecar
        if target is None:
            name, _ = QtWidgets.QFileDialog.getSaveFileName(self, "save phases", "phases.events.tsv",
                                                            "events table (*.tsv)")
            if not name:
                raise ParameterError("no sidecar path: the recording has no source file",
                                     hint="pass sidecar= to the viewer or a path to save_phases")
            target = Path(name)
        if self.source is not None and target.resolve() == self.source.resolve():
            raise ParameterError("refusing to write phases into the recording file", file=target)
        write_phases(self.phase_model.to_frame(), target, self.sfreq)
        self.sidecar = target
        self.phase_model.dirty = False
        self._update_title()
        self.status.showMessage(f"phases saved to {target}", 5000)
        return target

    # ------------------------------------------------------------------ guarding
    @property
    def reference(self) -> Any:
        """The normative reference (loaded from the study on first use), or None."""
        if self._reference is None and self._study is not None:
            from .guarding import study_reference

            self._reference = study_reference(self._study)
        return self._reference

    def show_guarding(self, show: bool = True) -> Any:
        """Show (computing if phases changed) or hide the guarding panel; returns it."""
        from .guarding import GuardingPanel, compute_guarding

        if not show:
            if self.guarding_panel is not None:
                self._guarding_dock.hide()
            return self.guarding_panel
        if self.reference is None:
            raise ParameterError("no normative reference for the guarding panel",
                                 hint="open with study=OUT or reference=norms.load_reference(...)")
        if self.guarding_panel is None or self._guarding_version != self._phase_version:
            QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
            try:
                data = compute_guarding(self.rec, self.reference, phases=self.phase_model.to_frame(),
                                        pipeline=self.pipeline)
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
            if self.guarding_panel is None:
                self.guarding_panel = GuardingPanel(data)
                self._guarding_dock = self.add_dock(self.guarding_panel, "guarding", area="bottom")
                # the panel's grid of envelope bands needs room: about 60 % of the window's height
                self.resizeDocks([self._guarding_dock], [max(360, int(0.6 * self.height()))],
                                 QtCore.Qt.Orientation.Vertical)
            else:
                self.guarding_panel.set_data(data)
            self._guarding_version = self._phase_version
        self._guarding_dock.show()
        return self.guarding_panel

    def toggle_guarding(self) -> None:
        """Show or hide the guarding panel."""
        visible = self.guarding_panel is not None and self._guarding_dock.isVisible()
        self.show_guarding(not visible)

    # ------------------------------------------------------------------ HD-sEMG map
    def show_map(self, show: bool = True) -> Any:
        """Show (made on first use) or hide the map panel of a grid recording; returns it.

        The panel (:class:`~paraspinal.viewer.gridmap.GridMapPanel`) follows
        :attr:`sigViewChanged`; with a reference or study it marks the controls' centroid.
        """
        from .gridmap import GridMapPanel, controls_centroids

        if not show:
            if self.map_panel is not None:
                self._map_dock.hide()
            return self.map_panel
        if self.map_panel is None:
            controls = controls_centroids(self._reference, self._study)
            self.map_panel = GridMapPanel(self.rec, controls=controls, phases=self.phase_model.to_frame)
            self._map_dock = self.add_dock(self.map_panel, "map", area="right")
            self.resizeDocks([self._map_dock], [max(self.map_panel.minimumWidth(), int(0.42 * self.width()))],
                             QtCore.Qt.Orientation.Horizontal)
            self.sigViewChanged.connect(self.map_panel.show_view)
            self.map_panel.show_view(self.view_state())
        self._map_dock.show()
        return self.map_panel

    def toggle_map(self) -> None:
        """Show or hide the map panel."""
        self.show_map(not (self.map_panel is not None and self._map_dock.isVisible()))

    # ------------------------------------------------------------------ export and close
    def export_view(self, path: str | os.PathLike, *, width: int | None = None, what: str = "traces") -> Path:
        """Export the traces (with the overview) or the guarding panel as PNG or SVG.

        Parameters
        ----------
        path : path-like
            ``.png`` or ``.svg``.
        width : int, optional
            PNG width in pixels (height keeps the aspect ratio).
        what : {"traces", "guarding"}
        """
        target = self if what == "traces" else self.show_guarding()
        if what == "guarding":
            target = target.graphics
        return export_image(target, path, width=width)

    def export_dialog(self) -> None:
        """Ask for a file and a width, then export."""
        base = self.source.with_suffix("").name if self.source else "view"
        dlg = ExportDialog(self, path=f"{base}.png", guarding=self.guarding_panel is not None)
        if dlg.exec():
            what = "traces" if dlg.what.currentText() == "traces" else "guarding"
            out = self.export_view(dlg.path.text(), width=dlg.width.value(), what=what)
            self.status.showMessage(f"exported {out}", 5000)

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt naming
        if self.ask_on_close and self.phase_model.dirty:
            answer = QtWidgets.QMessageBox.question(
                self, "unsaved phases", "Save the edited phases to the sidecar before closing?",
                QtWidgets.QMessageBox.StandardButton.Save | QtWidgets.QMessageBox.StandardButton.Discard
                | QtWidgets.QMessageBox.StandardButton.Cancel)
            if answer == QtWidgets.QMessageBox.StandardButton.Cancel:
                ev.ignore()
                return
            if answer == QtWidgets.QMessageBox.StandardButton.Save:
                self.save_phases()
        super().closeEvent(ev)
