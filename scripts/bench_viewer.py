"""Benchmark of the viewer: paging against a bare pyqtgraph anchor, scrolling, zoom, a 4-hour recording.

Runs offscreen (``QT_QPA_PLATFORM=offscreen`` is set when no platform is given)::

    python scripts/bench_viewer.py                       # 16 channels x 60 min x 2 kHz, 956 phases
    python scripts/bench_viewer.py --runs 3              # the paging measurement three times
    python scripts/bench_viewer.py --minutes 5 --pages 60 --long-minutes 0   # a quick run
    python scripts/bench_viewer.py --profile             # where one page turn's time goes

The synthetic recording is plain NumPy noise with bursts (so the pyramid sees realistic
spread) and a flexion-relaxation phase table (4 phases per 15 s: 956 phases in an hour).
Measured, in one invocation:

(a) **paraspinal viewer**: the first window (from the Recording in memory to the first painted
    window: pyramid, widgets, first redraw and paint; QC off, in normal use it runs in a
    background thread after the first paint) and paging: each Shift+-> (a full 10-s page) from
    the key event to the end of the paint (``processEvents`` paints the new frame; paints are
    counted to show each page was painted once). Median, p95, and the main thread's CPU time
    per page (less sensitive to other load on the machine than wall time).
(b) **bare pyqtgraph anchor**, in the same run, on the same data (the µV values the viewer
    shows) and the same sequence of pages: what a user would write without the viewer, one
    ``PlotWidget`` per channel in a column, ``plot(x, y)`` with float64 times, then
    ``setDownsampling(auto=True, mode="peak")`` and ``setClipToView(True)`` (after the curve is
    added, as pyqtgraph 0.14 needs), x axes linked, each y range fixed (no auto-range, like the
    viewer), a page = ``setXRange`` on the first plot. The ratio viewer / anchor of the medians.
    ``--runs N`` repeats (a) and (b), alternately, N times and reports each run.
(c) **continuous scrolling**: the -> key held (a quarter page per key event, as fast as the
    window takes them) for ``--scroll-seconds`` (10): frames painted per second; the anchor the same.
(d) **zoom out to the whole recording** from a 10-s window (what End pressed until the whole
    recording shows does in one step): time to the painted frame; the anchor the same.
(e) **a long recording** (``--long-minutes``, default 240: 16 channels x 4 h x 2 kHz, float64
    volts shared with MNE, not copied), in a child process of its own: first window time, peak
    memory (resident-set high-water mark, reset before the window is made, minus the size
    before) and pyramid memory, both against the signal's float64 size.

``--profile`` instead profiles page turns: a timestamp breakdown (key handling, decimation =
slicing the pyramid, handing the points to the trace items, the rest of the redraw, the paint
and, inside it, each kind of item) and the top functions of ``cProfile``. It wraps names that
exist in both the current viewer and earlier ones, so the same command measures a checkout
from before a change (``PYTHONPATH=old/src python scripts/bench_viewer.py --profile``).

The machine's 1-minute load average is printed beside each figure: the paging times are wall
times, which other processes on the same cores lengthen. Targets (issue 16): page median
<= 33 ms and p95 <= 50 ms on every run, <= 0.5x the anchor; first window <= 2 s (60 min) and
<= 6 s (4 h); pyramid memory <= 0.5x the signal's float64 size. Table to stdout, JSON to
``--out`` (default ``bench_results/bench_viewer.json``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

TARGETS = {"first_window_s": 2.0, "page_median_ms": 33.0, "page_p95_ms": 50.0, "ratio_to_anchor": 0.5,
           "long_first_window_s": 6.0, "pyramid_over_float64": 0.5}
NAMES = [f"{side}_{m}" for m in ("LT", "MF", "IL", "RA", "EO", "GM", "LD", "QL") for side in ("L", "R")]


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def make_recording(n_channels: int, minutes: float, sfreq: float, seed: int = 0, volts64: bool = False):
    """A long synthetic Recording (noise with slow bursts) with a flexion-relaxation phase table.

    ``volts64=True`` makes the data float64 volts from the start, which the Recording shares
    instead of copying (the long recording: 3.7 GB at 4 h).
    """
    from paraspinal import Recording

    n = int(minutes * 60 * sfreq)
    rng = np.random.default_rng(seed)
    dtype = np.float64 if volts64 else np.float32
    data = rng.standard_normal((n_channels, n), dtype=dtype)
    step = 1 << 20
    for a in range(0, n, step):  # slow amplitude modulation (bursts every 15 s), in chunks
        t = np.arange(a, min(a + step, n), dtype=np.float64) / sfreq
        gain = 5.0 + 20.0 * (np.sin(2 * np.pi * t / 15.0) > 0.3)
        data[:, a:a + len(t)] *= (gain * (1e-6 if volts64 else 1.0)).astype(dtype)
    names = (NAMES + [f"EMG{i}" for i in range(n_channels)])[:n_channels]
    cycle = 15.0
    starts = np.arange(0.0, minutes * 60 - cycle, cycle)
    parts = (("standing", 3.0), ("flexion", 4.0), ("full_flexion", 4.0), ("extension", 4.0))
    rows = []
    for c, s in enumerate(starts, start=1):
        onset = s
        for ph, d in parts:
            rows.append((onset, d, ph, c))
            onset += d
    phases = pd.DataFrame(rows, columns=["onset", "duration", "phase", "cycle"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Recording.from_array(data, sfreq, names, units="V" if volts64 else "uV", phases=phases)


# ---------------------------------------------------------------------- memory (Linux)
def reset_peak() -> None:
    """Reset the kernel's resident-set high-water mark of this process."""
    Path("/proc/self/clear_refs").write_text("5")


def open_window(qapp, window_class, rec, args):
    """Open the viewer on ``rec`` and paint it once: (window, seconds to the first paint, peak RSS increase MB)."""
    w, h = (int(v) for v in args.size.lower().split("x"))
    reset_peak()
    before = status_mb("VmRSS")
    t = time.perf_counter()
    win = window_class(rec, qc=False, window=args.window, n_channels=args.channels, size=(w, h))
    win.show()
    qapp.processEvents()
    first = time.perf_counter() - t
    return win, first, status_mb("VmHWM") - before


def status_mb(key: str) -> float:
    """``VmRSS`` or ``VmHWM`` of this process in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


# ---------------------------------------------------------------------- paints
class PaintCounter:
    """Counts the paints of one pyqtgraph GraphicsView (:attr:`view`: the viewer's traces)."""

    def __init__(self):
        import pyqtgraph.widgets.GraphicsView as gv

        self.n = 0
        self.view = None
        original = gv.GraphicsView.paintEvent

        def counting(view, ev):
            if view is self.view:
                self.n += 1
            return original(view, ev)

        gv.GraphicsView.paintEvent = counting


def stats(ms: np.ndarray) -> dict:
    return {"median": round(float(np.median(ms)), 2), "p95": round(float(np.percentile(ms, 95)), 2),
            "max": round(float(ms.max()), 2), "mean": round(float(ms.mean()), 2)}


# ---------------------------------------------------------------------- the viewer
def page_viewer(win, qapp, pages: int, paints: PaintCounter) -> tuple[np.ndarray, np.ndarray, list, float]:
    """Shift+-> ``pages`` times; wall and main-thread CPU ms per page, the window starts, paints/page."""
    from pyqtgraph.Qt import QtCore
    from PySide6.QtTest import QTest

    shift = QtCore.Qt.KeyboardModifier.ShiftModifier
    win.go_to("start")
    qapp.processEvents()
    wall, cpu, starts = [], [], []
    paints.n = 0
    for _ in range(pages):
        w, c = time.perf_counter(), time.thread_time()
        QTest.keyClick(win, QtCore.Qt.Key.Key_Right, shift)
        qapp.processEvents()  # handles the update request: one synchronous paint of the new page
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)
        starts.append(win.t0)
        if win.t0 + win.win >= win.duration - 1e-9:  # wrap around at the end
            win.go_to("start")
            qapp.processEvents()
    return np.array(wall) * 1e3, np.array(cpu) * 1e3, starts, paints.n / max(pages, 1)


def scroll_viewer(win, qapp, seconds: float, paints: PaintCounter) -> dict:
    """-> held: quarter pages as fast as they are taken, for ``seconds``."""
    from pyqtgraph.Qt import QtCore
    from PySide6.QtTest import QTest

    win.go_to("start")
    qapp.processEvents()
    paints.n, frames = 0, 0
    t_end = time.perf_counter() + seconds
    t0 = time.perf_counter()
    while time.perf_counter() < t_end:
        QTest.keyClick(win, QtCore.Qt.Key.Key_Right)
        qapp.processEvents()
        frames += 1
        if win.t0 + win.win >= win.duration - 1e-9:
            win.go_to("start")
    elapsed = time.perf_counter() - t0
    return {"fps": round(frames / elapsed, 1), "frames": frames, "paints_per_frame": round(paints.n / frames, 2)}


def zoom_viewer(win, qapp, repeats: int = 3) -> list[float]:
    """From a 10-s window at the start to the whole recording, painted; seconds per zoom."""
    out = []
    for _ in range(repeats):
        win.go_to("start")
        win.win = 10.0
        win.redraw()
        qapp.processEvents()
        t = time.perf_counter()
        win.zoom_time(win.duration / win.win)
        qapp.processEvents()
        out.append(time.perf_counter() - t)
    win.win = 10.0
    win.go_to("start")
    qapp.processEvents()
    return out


# ---------------------------------------------------------------------- the anchor
class Anchor:
    """One pyqtgraph PlotWidget per channel, pyqtgraph's own peak downsampling and clip-to-view."""

    def __init__(self, data_uv: np.ndarray, sfreq: float, size: tuple[int, int]):
        import pyqtgraph as pg
        from pyqtgraph.Qt import QtWidgets

        t = time.perf_counter()
        self.duration = data_uv.shape[1] / sfreq
        x = np.arange(data_uv.shape[1], dtype=np.float64) / sfreq  # float64 times (pyqtgraph 0.14)
        self.widget = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(self.widget)
        lay.setSpacing(0)
        lay.setContentsMargins(0, 0, 0, 0)
        self.plots = []
        sub = data_uv[:, :: max(data_uv.shape[1] // 200_000, 1)]
        for i, y in enumerate(data_uv):
            pw = pg.PlotWidget()
            pw.plot(x, y, pen=pg.mkPen("#1f3a93", width=1))
            pw.setDownsampling(auto=True, mode="peak")
            pw.setClipToView(True)  # after the curve is added
            lo, hi = np.percentile(sub[i], [0.1, 99.9])
            pw.enableAutoRange(y=False)
            pw.setYRange(float(lo), float(hi), padding=0.05)
            pw.getAxis("bottom").enableAutoSIPrefix(False)
            if self.plots:
                pw.setXLink(self.plots[0])
            lay.addWidget(pw)
            self.plots.append(pw)
        self.plots[0].setXRange(0.0, 10.0, padding=0.0)
        self.widget.resize(*size)
        self.widget.show()
        pg.mkQApp().processEvents()
        self.first_window_s = time.perf_counter() - t

    def go(self, qapp, t0: float, t1: float) -> float:
        t = time.perf_counter()
        self.plots[0].setXRange(t0, t1, padding=0.0)
        qapp.processEvents()
        return time.perf_counter() - t

    def page(self, qapp, starts: list[float], window: float) -> tuple[np.ndarray, np.ndarray]:
        self.go(qapp, 0.0, window)
        wall, cpu = [], []
        for t0 in starts:
            c = time.thread_time()
            wall.append(self.go(qapp, t0, t0 + window))
            cpu.append(time.thread_time() - c)
        return np.array(wall) * 1e3, np.array(cpu) * 1e3

    def scroll(self, qapp, seconds: float, window: float) -> dict:
        t0, frames = 0.0, 0
        self.go(qapp, 0.0, window)
        start = time.perf_counter()
        while time.perf_counter() < start + seconds:
            t0 = t0 + window / 4 if t0 + window / 4 + window <= self.duration else 0.0
            self.go(qapp, t0, t0 + window)
            frames += 1
        return {"fps": round(frames / (time.perf_counter() - start), 1), "frames": frames}

    def zoom(self, qapp, window: float, repeats: int = 3) -> list[float]:
        out = []
        for _ in range(repeats):
            self.go(qapp, 0.0, window)
            out.append(self.go(qapp, 0.0, self.duration))
        self.go(qapp, 0.0, window)
        return out


# ---------------------------------------------------------------------- long recording (child)
def long_recording(args) -> dict:
    """Part (e), in this (child) process: first window and memory of a long recording."""
    from paraspinal.viewer.app import BrowserWindow, app

    qapp = app()
    t = time.perf_counter()
    rec = make_recording(args.channels, args.long_minutes, args.sfreq, seed=1, volts64=True)
    t_make = time.perf_counter() - t
    signal_mb = rec.n_samples * len(rec.ch_names) * 8 / 1e6
    load_before = load()
    win, first, peak = open_window(qapp, BrowserWindow, rec, args)
    pyr_mb = win.signals().pyramid.nbytes / 1e6
    shared = getattr(win.signals(), "source", None) is rec.raw._data  # the signal was not copied
    res = {"minutes": args.long_minutes, "channels": args.channels, "samples": rec.n_samples,
           "phases": len(rec.phases), "make_recording_s": round(t_make, 2), "first_window_s": round(first, 3),
           "load_before": load_before, "signal_float64_mb": round(signal_mb, 1),
           "peak_rss_increase_mb": round(peak, 1), "peak_over_float64": round(peak / signal_mb, 3),
           "pyramid_mb": round(pyr_mb, 1), "pyramid_over_float64": round(pyr_mb / signal_mb, 3),
           "signal_shared": shared}
    win.close()
    return res


def run_long_child(args) -> dict | None:
    if args.long_minutes <= 0:
        return None
    cmd = [sys.executable, os.path.abspath(__file__), "--_long", "--long-minutes", str(args.long_minutes),
           "--channels", str(args.channels), "--sfreq", str(args.sfreq), "--window", str(args.window),
           "--size", args.size]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- profile
def profile(args) -> dict:
    """Timestamp breakdown and cProfile of page turns (see the module docstring)."""
    import pyqtgraph as pg
    import pyqtgraph.widgets.GraphicsView as gv
    from pyqtgraph.Qt import QtCore
    from PySide6.QtTest import QTest

    from paraspinal.viewer import app as vapp
    from paraspinal.viewer import phases as vphases
    from paraspinal.viewer import pyramid as vpyr
    from paraspinal.viewer import traces as vtraces

    acc: dict[str, float] = defaultdict(float)
    on = [False]

    def wrap(cls, name, key):
        original = getattr(cls, name)

        def timed(self, *a, **k):
            if not on[0]:
                return original(self, *a, **k)
            t = time.perf_counter()
            try:
                return original(self, *a, **k)
            finally:
                acc[key] += time.perf_counter() - t

        setattr(cls, name, timed)

    # wrapped before any item exists (Qt keeps calling the method it found first)
    wrap(vpyr.MinMaxPyramid, "decimate", "decimate (slice the pyramid)")
    wrap(vtraces.TraceLayer, "show", "trace items: set data")
    wrap(vapp.BrowserWindow, "redraw", "redraw")
    wrap(gv.GraphicsView, "paintEvent", "paint")
    painted = {"traces": [getattr(vtraces, "TraceItem", None), pg.PlotCurveItem],
               "axes": [pg.AxisItem], "phases": [getattr(vphases, "PhaseLayer", None), pg.LinearRegionItem,
                                                  pg.InfiniteLine, pg.TextItem],
               "overview strip": [pg.BarGraphItem], "scale bar": [getattr(vtraces, "ScaleBar", None)]}
    for group, classes in painted.items():
        for cls in classes:
            if cls is not None and "paint" in cls.__dict__:
                wrap(cls, "paint", f"paint: {group}")
    qapp = vapp.app()
    rec = make_recording(args.channels, args.minutes, args.sfreq)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win = vapp.BrowserWindow(rec, qc=False, window=args.window, n_channels=args.channels, size=(w, h))
    win.show()
    qapp.processEvents()
    shift = QtCore.Qt.KeyboardModifier.ShiftModifier

    def turn():
        t = time.perf_counter()
        QTest.keyClick(win, QtCore.Qt.Key.Key_Right, shift)
        t_key = time.perf_counter() - t
        qapp.processEvents()
        if win.t0 + win.win >= win.duration - 1e-9:
            win.go_to("start")
        return t_key, time.perf_counter() - t

    for _ in range(10):
        turn()
    on[0] = True
    keys, totals = [], []
    for _ in range(args.pages):
        k, tot = turn()
        keys.append(k)
        totals.append(tot)
    on[0] = False
    n = args.pages
    per = {k: v / n * 1e3 for k, v in acc.items()}
    total = float(np.mean(totals)) * 1e3
    key_ms = float(np.mean(keys)) * 1e3
    breakdown = {
        "page (key event to painted frame)": total,
        "key handling (keyClick)": key_ms,
        "  decimate (slice the pyramid)": per.get("decimate (slice the pyramid)", 0.0),
        "  trace items: set data": per.get("trace items: set data", 0.0),
        "  rest of the redraw (ranges, phases, labels, overview, status)":
            per.get("redraw", 0.0) - per.get("decimate (slice the pyramid)", 0.0) - per.get("trace items: set data", 0.0),
        "  key dispatch outside the redraw": key_ms - per.get("redraw", 0.0),
        "paint (GraphicsView.paintEvent)": per.get("paint", 0.0),
    }
    items = 0.0
    for group in painted:
        v = per.get(f"paint: {group}", 0.0)
        items += v
        breakdown[f"  paint: {group}"] = v
    breakdown["  paint: scene, view and the rest"] = per.get("paint", 0.0) - items
    breakdown["event loop and other (status bar, ...)"] = total - key_ms - per.get("paint", 0.0)
    breakdown = {k: round(v, 2) for k, v in breakdown.items()}
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.pages):
        turn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
    win.close()
    return {"pages": n, "load": load(), "breakdown_ms": breakdown, "cprofile_top": buf.getvalue()}


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sfreq", type=float, default=2000.0)
    parser.add_argument("--window", type=float, default=10.0, help="seconds per page")
    parser.add_argument("--pages", type=int, default=200, help="page steps to time per run")
    parser.add_argument("--runs", type=int, default=1, help="repeat the paging measurement (a, b)")
    parser.add_argument("--scroll-seconds", type=float, default=10.0)
    parser.add_argument("--long-minutes", type=float, default=240.0, help="0: skip the long recording")
    parser.add_argument("--no-anchor", action="store_true", help="skip the pyqtgraph anchor")
    parser.add_argument("--size", default="1400x860", help="window size WxH")
    parser.add_argument("--profile", action="store_true", help="profile page turns instead")
    parser.add_argument("--out", default="bench_results/bench_viewer.json")
    parser.add_argument("--_long", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._long:
        print(json.dumps(long_recording(args)))
        return 0
    plat = {"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count(),
            "qpa": os.environ.get("QT_QPA_PLATFORM")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.profile:
        res = profile(args)
        res["platform"] = plat
        print(f"one page turn, mean of {res['pages']} ({args.channels} ch x {args.minutes:g} min x "
              f"{args.sfreq:g} Hz, {args.size}, load {res['load']})")
        for k, v in res["breakdown_ms"].items():
            print(f"{k:<66}{v:>8.2f} ms")
        print(res["cprofile_top"])
        out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        return 0

    from paraspinal.viewer.app import BrowserWindow, app

    paints = PaintCounter()
    qapp = app()
    t = time.perf_counter()
    rec = make_recording(args.channels, args.minutes, args.sfreq)
    t_make = time.perf_counter() - t
    w, h = (int(v) for v in args.size.lower().split("x"))
    signal_mb = rec.n_samples * len(rec.ch_names) * 8 / 1e6

    load_first = load()
    win, t_first, peak_mb = open_window(qapp, BrowserWindow, rec, args)
    paints.view = win.graphics
    pyr = win.signals().pyramid
    pyr_mb = pyr.nbytes / 1e6

    anchor = None
    if not args.no_anchor:
        data_uv = rec.get_data(unit="uV").astype(np.float32)  # the values the viewer shows
        anchor = Anchor(data_uv, rec.sfreq, (w, h))

    runs = []
    for i in range(args.runs):
        ld = load()
        wall, cpu, starts, ppp = page_viewer(win, qapp, args.pages, paints)
        run = {"run": i + 1, "load_before": ld, "page_ms": stats(wall), "cpu_ms_median": round(float(np.median(cpu)), 2),
               "paints_per_page": round(ppp, 2)}
        if anchor is not None:
            ld = load()
            a_wall, a_cpu = anchor.page(qapp, starts, args.window)
            run["anchor"] = {"load_before": ld, "page_ms": stats(a_wall),
                             "cpu_ms_median": round(float(np.median(a_cpu)), 2)}
            run["ratio_to_anchor"] = round(run["page_ms"]["median"] / run["anchor"]["page_ms"]["median"], 3)
        run["pass"] = bool(run["page_ms"]["median"] <= TARGETS["page_median_ms"]
                           and run["page_ms"]["p95"] <= TARGETS["page_p95_ms"]
                           and run.get("ratio_to_anchor", 0.0) <= TARGETS["ratio_to_anchor"])
        runs.append(run)

    ld = load()
    scroll = {"load_before": ld, "viewer": scroll_viewer(win, qapp, args.scroll_seconds, paints)}
    if anchor is not None:
        scroll["anchor"] = anchor.scroll(qapp, args.scroll_seconds, args.window)
    ld = load()
    zoom = {"load_before": ld, "viewer_s": [round(v, 3) for v in zoom_viewer(win, qapp)]}
    if anchor is not None:
        zoom["anchor_s"] = [round(v, 3) for v in anchor.zoom(qapp, args.window)]
    dec = win.last_decimation
    points = int(win.frame_points)
    win.close()
    if anchor is not None:
        anchor.widget.close()
        del anchor
    long = run_long_child(args)

    res = {
        "channels": args.channels, "minutes": args.minutes, "sfreq": args.sfreq, "samples": rec.n_samples,
        "window_s": args.window, "window_size": [w, h], "pages": args.pages, "phases": len(rec.phases),
        "make_recording_s": round(t_make, 3),
        "first_window": {"s": round(t_first, 3), "load_before": load_first},
        "memory": {"signal_float64_mb": round(signal_mb, 1), "peak_rss_increase_mb": round(peak_mb, 1),
                   "peak_over_float64": round(peak_mb / signal_mb, 3), "pyramid_mb": round(pyr_mb, 1),
                   "pyramid_over_float64": round(pyr_mb / signal_mb, 3)},
        "runs": runs, "scroll": scroll, "zoom_whole": zoom, "long": long,
        "points_per_frame": points, "bin_samples": int(dec.bin_samples) if dec is not None else None,
        "plot_width_px": w, "targets": TARGETS, "platform": plat,
    }
    res["pass"] = bool(t_first <= TARGETS["first_window_s"] and all(r["pass"] for r in runs)
                       and res["memory"]["pyramid_over_float64"] <= TARGETS["pyramid_over_float64"]
                       and (long is None or (long["first_window_s"] <= TARGETS["long_first_window_s"]
                                             and long["pyramid_over_float64"] <= TARGETS["pyramid_over_float64"])))
    print_table(res, args)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


def print_table(res: dict, args) -> None:
    print(f"viewer benchmark: {args.channels} ch x {args.minutes:g} min x {args.sfreq:g} Hz "
          f"({res['samples']:,} samples/ch, {res['phases']} phases), window {args.size}, "
          f"{args.window:g}-s pages, {args.pages} pages per run, offscreen")
    row = "{:<44}{:>14}{:>14}{:>10}{:>8}"
    print(row.format("measure", "paraspinal", "pyqtgraph", "ratio", "load"))
    fw = res["first_window"]
    print(row.format("first window (pyramid + paint)", f"{fw['s']:.2f} s", "", "", fw["load_before"]))
    for r in res["runs"]:
        a = r.get("anchor")
        for key, label in (("median", "page median"), ("p95", "page p95")):
            print(row.format(f"run {r['run']}: {label}", f"{r['page_ms'][key]:.1f} ms",
                             f"{a['page_ms'][key]:.1f} ms" if a else "",
                             f"{r['page_ms'][key] / a['page_ms'][key]:.3f}" if a else "",
                             r["load_before"] if key == "median" else ""))
        print(row.format(f"run {r['run']}: CPU per page (median)", f"{r['cpu_ms_median']:.1f} ms",
                         f"{a['cpu_ms_median']:.1f} ms" if a else "", "", ""))
    sc = res["scroll"]
    print(row.format(f"scrolling (-> held {args.scroll_seconds:g} s)", f"{sc['viewer']['fps']:.1f} fps",
                     f"{sc['anchor']['fps']:.1f} fps" if "anchor" in sc else "", "", sc["load_before"]))
    z = res["zoom_whole"]
    zv = float(np.median(z["viewer_s"]))
    za = float(np.median(z["anchor_s"])) if "anchor_s" in z else None
    print(row.format("zoom out to the whole recording", f"{zv * 1e3:.0f} ms", f"{za * 1e3:.0f} ms" if za else "",
                     f"{zv / za:.3f}" if za else "", z["load_before"]))
    m = res["memory"]
    print(row.format("peak memory of the window / float64 signal", f"{m['peak_over_float64']:.2f}x", "", "", ""))
    print(row.format("pyramid memory / float64 signal", f"{m['pyramid_over_float64']:.2f}x", "", "", ""))
    lg = res["long"]
    if lg:
        print(row.format(f"{lg['minutes']:g}-min recording: first window", f"{lg['first_window_s']:.2f} s", "", "",
                         lg["load_before"]))
        print(row.format(f"{lg['minutes']:g}-min: peak memory / float64 signal", f"{lg['peak_over_float64']:.2f}x",
                         "", "", ""))
        print(row.format(f"{lg['minutes']:g}-min: pyramid memory / float64 signal",
                         f"{lg['pyramid_over_float64']:.2f}x", "", "", ""))
    print(f"points per frame (all channels): {res['points_per_frame']:,}; paints per page: "
          f"{', '.join(str(r['paints_per_page']) for r in res['runs'])}")
    print("targets: page median <= 33 ms and p95 <= 50 ms on every run, <= 0.5x pyqtgraph; first window "
          "<= 2 s (60 min), <= 6 s (4 h); pyramid <= 0.5x the float64 signal")
    print("PASS" if res["pass"] else "FAIL")


if __name__ == "__main__":
    sys.exit(main())
