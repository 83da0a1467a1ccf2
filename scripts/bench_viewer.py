"""Benchmark of the viewer: time to the first window and per-page time on a long recording.

Runs offscreen (``QT_QPA_PLATFORM=offscreen`` is set when no platform is given)::

    python scripts/bench_viewer.py                        # 16 channels x 60 min x 2 kHz
    python scripts/bench_viewer.py --minutes 5 --pages 100  # a quick run

The synthetic recording is plain NumPy noise with bursts (so the pyramid sees realistic
spread) and a flexion-relaxation phase table (4 phases per 15 s, i.e. hundreds of phases).
Timed:

* **first window**: from the Recording being in memory to the first painted window
  (float32 copy, min/max pyramid, widgets, first redraw and paint); QC is off (it runs in
  a background thread in normal use, after the first paint);
* **page**: each Shift+→ (a full 10-s page) from the key event to the end of the paint
  (key handler, decimation, ``setData``, then ``processEvents``, which paints the new
  frame; paints are counted and reported to show each page was painted once).

Targets: first window <= 2 s; page median <= 33 ms and p95 <= 50 ms. Results go to a
table on stdout and JSON (``--out``, default ``bench_results/bench_viewer.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def make_recording(n_channels: int, minutes: float, sfreq: float, seed: int = 0):
    """A long synthetic Recording (noise with slow bursts) and its phase table."""
    from paraspinal import Recording

    n = int(minutes * 60 * sfreq)
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n_channels, n), dtype=np.float32)
    # slow amplitude modulation (bursts every few seconds), vectorised
    t = np.arange(n, dtype=np.float32) / np.float32(sfreq)
    gain = (5.0 + 20.0 * (np.sin(2 * np.pi * t / 15.0) > 0.3)).astype(np.float32)
    data *= gain
    names = [f"{side}_{m}" for m in ("LT", "MF", "IL", "RA", "EO", "GM", "LD", "TR") for side in ("L", "R")]
    names = (names + [f"EMG{i}" for i in range(n_channels)])[:n_channels]
    cycle = 15.0
    starts = np.arange(0.0, minutes * 60 - cycle, cycle)
    rows = []
    for c, s in enumerate(starts, start=1):
        for k, (ph, d) in enumerate((("standing", 3.0), ("flexion", 4.0), ("full_flexion", 4.0), ("extension", 4.0))):
            rows.append((s + sum((3.0, 4.0, 4.0, 4.0)[:k]), d, ph, c))
    phases = pd.DataFrame(rows, columns=["onset", "duration", "phase", "cycle"])
    rec = Recording.from_array(data, sfreq, names, units="uV", phases=phases)
    return rec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sfreq", type=float, default=2000.0)
    parser.add_argument("--window", type=float, default=10.0, help="seconds per page")
    parser.add_argument("--pages", type=int, default=200, help="page steps to time")
    parser.add_argument("--size", default="1400x860", help="window size WxH")
    parser.add_argument("--out", default="bench_results/bench_viewer.json")
    args = parser.parse_args(argv)

    from pyqtgraph.Qt import QtCore, QtWidgets
    from PySide6.QtTest import QTest

    from paraspinal.viewer.app import BrowserWindow, app

    import pyqtgraph.widgets.GraphicsView as _gv

    paints = [0]
    _paint = _gv.GraphicsView.paintEvent

    def counting_paint(self, ev):  # count paints, to be sure each timed page was painted
        paints[0] += 1
        return _paint(self, ev)

    _gv.GraphicsView.paintEvent = counting_paint
    qapp = app()
    t = time.perf_counter()
    rec = make_recording(args.channels, args.minutes, args.sfreq)
    t_make = time.perf_counter() - t
    w, h = (int(v) for v in args.size.lower().split("x"))

    t0 = time.perf_counter()
    win = BrowserWindow(rec, qc=False, window=args.window, n_channels=args.channels, size=(w, h))
    win.show()
    qapp.processEvents()
    t_first = time.perf_counter() - t0
    sig = win.signals()

    times = []
    paints[0] = 0
    shift = QtCore.Qt.KeyboardModifier.ShiftModifier
    for i in range(args.pages):
        t = time.perf_counter()
        QTest.keyClick(win, QtCore.Qt.Key.Key_Right, shift)
        qapp.processEvents()  # handles the update request: one synchronous paint of the new page
        times.append(time.perf_counter() - t)
        if win.t0 + win.win >= win.duration - 1e-9:  # wrap around at the end
            win.go_to("start")
    ms = np.array(times) * 1000
    res = {
        "channels": args.channels, "minutes": args.minutes, "sfreq": args.sfreq, "samples": rec.n_samples,
        "window_s": args.window, "window_size": [w, h], "pages": args.pages, "phases": len(rec.phases),
        "make_recording_s": round(t_make, 3),
        "first_window_s": round(t_first, 3),
        "page_ms": {"median": round(float(np.median(ms)), 2), "p95": round(float(np.percentile(ms, 95)), 2),
                    "max": round(float(ms.max()), 2), "mean": round(float(ms.mean()), 2)},
        "paints_per_page": round(paints[0] / max(args.pages, 1), 2),
        "points_per_frame": int(win.frame_points), "bin_samples": int(win.last_decimation.bin_samples),
        "plot_width_px": int(win.vb.width()),
        "pyramid_mb": round(sig.pyramid.nbytes / 1e6, 1), "data_mb": round(sig.data.nbytes / 1e6, 1),
        "targets": {"first_window_s": 2.0, "page_median_ms": 33.0, "page_p95_ms": 50.0},
        "platform": {"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count(),
                     "qpa": os.environ.get("QT_QPA_PLATFORM")},
    }
    res["pass"] = bool(t_first <= 2.0 and res["page_ms"]["median"] <= 33.0 and res["page_ms"]["p95"] <= 50.0)
    print(f"viewer benchmark: {args.channels} ch x {args.minutes:g} min x {args.sfreq:g} Hz "
          f"({rec.n_samples:,} samples/ch, {len(rec.phases)} phases), window {w}x{h}, {args.window:g}-s pages")
    print(f"{'measure':<34}{'value':>12}{'target':>10}")
    print(f"{'first window (pyramid + paint)':<34}{t_first:>10.2f} s{'<= 2 s':>10}")
    print(f"{'page median':<34}{res['page_ms']['median']:>9.1f} ms{'<= 33 ms':>10}")
    print(f"{'page p95':<34}{res['page_ms']['p95']:>9.1f} ms{'<= 50 ms':>10}")
    print(f"{'page max':<34}{res['page_ms']['max']:>9.1f} ms{'':>10}")
    print(f"{'paints per page':<34}{res['paints_per_page']:>12}")
    print(f"{'points per frame (all channels)':<34}{win.frame_points:>12,}")
    print(f"{'pyramid memory':<34}{res['pyramid_mb']:>9.0f} MB")
    print("PASS" if res["pass"] else "FAIL")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
