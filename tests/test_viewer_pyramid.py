"""Decimation: the drawn min/max envelope equals the raw samples' min/max in every pixel bin."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest


from paraspinal.viewer._demo import demo_recording
from paraspinal.viewer.pyramid import MinMaxPyramid


def _oracle(raw: np.ndarray, x: np.ndarray, y: np.ndarray, sfreq: float) -> None:
    """Group drawn points by bin start (x), compare with numpy min/max of the raw samples."""
    starts = np.unique(x)
    assert len(starts) >= 2
    width = int(round((starts[1] - starts[0]) * sfreq))
    edges = np.round(starts * sfreq).astype(int)
    for s in edges:
        pts = y[np.round(x * sfreq).astype(int) == s]
        seg = raw[s:s + width]
        assert pts.min() == seg.min()
        assert pts.max() == seg.max()


@pytest.mark.parametrize("start,stop,pixels", [(0, 100_000, 1000), (12_345, 40_001, 777), (0, 3_000, 2000),
                                               (199_000, 200_000, 300), (5, 250_000, 1500)])
def test_decimate_matches_raw_min_max(start, stop, pixels):
    rng = np.random.default_rng(3)
    data = rng.standard_normal((3, 200_003)).astype(np.float32)
    pyr = MinMaxPyramid(data, 1000.0)
    dec = pyr.decimate(start, stop, pixels, channels=slice(0, 3))
    assert dec.x.dtype == np.float64
    if dec.bin_samples == 1:
        np.testing.assert_array_equal(dec.y, data[:, start:stop])
        return
    # about two points per pixel (2 to 2.5)
    n_bins = len(dec.x) // 2
    assert n_bins <= 1.25 * pixels + 2
    assert dec.bin_samples <= (min(stop, 200_003) - start) / pixels
    # first bin starts at or before `start`, last bin covers `stop`
    assert dec.first_sample <= start and dec.x[-1] * 1000 + dec.bin_samples >= min(stop, 200_003)
    for ch in range(3):
        _oracle(data[ch], dec.x, dec.y[ch], 1000.0)


def test_levels_are_block_min_max():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 50_001)).astype(np.float32)
    pyr = MinMaxPyramid(data, 500.0, factor=4, min_blocks=4)
    assert len(pyr.levels) >= 5
    for k, (lo, hi) in enumerate(pyr.levels, start=1):
        b = 4 ** k
        n_full = data.shape[1] // b
        ref = data[:, : n_full * b].reshape(2, n_full, b)
        np.testing.assert_array_equal(lo[:, :n_full], ref.min(axis=2))
        np.testing.assert_array_equal(hi[:, :n_full], ref.max(axis=2))
        if data.shape[1] % b:  # the short last block
            np.testing.assert_array_equal(lo[:, -1], data[:, n_full * b:].min(axis=1))


def test_drawn_curves_follow_the_raw_data(qtbot):
    """The points the browser hands to each curve pass the same oracle (curves hold data units)."""
    from paraspinal.viewer.app import BrowserWindow

    rec = demo_recording(seconds=120.0)
    win = BrowserWindow(rec, qc=False, window=30.0, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.go_to(41.3)
    raw = win.signals().data
    dec = win.last_decimation
    assert dec.bin_samples > 1
    # about 2 points per pixel of the plot
    assert len(dec.x) <= 2.5 * win.vb.width() + 4  # about 2 points per pixel (2 to 2.5)
    for r, ch in enumerate(win.visible_channels()):
        x, y = win.traces.curves[r].getData()
        _oracle(raw[ch], x, y, rec.sfreq)
