"""Decimation: the drawn min/max envelope equals the raw samples' min/max in every pixel bin."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest


from paraspinal.viewer._demo import demo_recording
from paraspinal.viewer.pyramid import MinMaxPyramid


def _oracle(raw: np.ndarray, x: np.ndarray, y: np.ndarray, sfreq: float, rtol: float = 0.0) -> None:
    """Group drawn points by bin start (x), compare with numpy min/max of the raw samples."""
    starts = np.unique(x)
    assert len(starts) >= 2
    width = int(round((starts[1] - starts[0]) * sfreq))
    edges = np.round(starts * sfreq).astype(int)
    keys = np.round(x * sfreq).astype(int)
    for s in edges:
        pts = y[keys == s]
        seg = raw[s:s + width]
        if rtol:
            np.testing.assert_allclose([pts.min(), pts.max()], [seg.min(), seg.max()], rtol=rtol)
        else:
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


def _assert_block_min_max(levels, ref, factor):
    """Level k holds the min and max of blocks of factor**k samples of ``ref`` (the last block short)."""
    for k, (lo, hi) in enumerate(levels, start=1):
        b = factor ** k
        n_full = ref.shape[1] // b
        blocks = ref[:, : n_full * b].reshape(ref.shape[0], n_full, b)
        np.testing.assert_array_equal(lo[:, :n_full], blocks.min(axis=2))
        np.testing.assert_array_equal(hi[:, :n_full], blocks.max(axis=2))
        if ref.shape[1] % b:  # the short last block
            np.testing.assert_array_equal(lo[:, -1], ref[:, n_full * b:].min(axis=1))
            np.testing.assert_array_equal(hi[:, -1], ref[:, n_full * b:].max(axis=1))


def test_levels_are_block_min_max():
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 50_001)).astype(np.float32)
    pyr = MinMaxPyramid(data, 500.0, factor=4, min_blocks=4)
    assert len(pyr.levels) >= 5
    _assert_block_min_max(pyr.levels, data, factor=4)


def test_levels_are_contiguous_float32_and_scaled_exactly():
    """Levels are C-contiguous float32 of data x scale; a float64 source is not copied."""
    rng = np.random.default_rng(6)
    volts = rng.standard_normal((3, 40_003)) * 1e-5  # float64, volts
    scale = np.array([1e6, 1e6, 1.0])
    pyr = MinMaxPyramid(volts, 1000.0, scale=scale, min_blocks=8)
    assert pyr.data is volts  # level 0 is the signal itself
    ref32 = (volts * scale[:, None]).astype(np.float32)  # the oracle: numpy on the scaled signal
    assert len(pyr.levels) >= 3
    for lo, hi in pyr.levels:
        assert lo.dtype == hi.dtype == np.float32
        assert lo.flags["C_CONTIGUOUS"] and hi.flags["C_CONTIGUOUS"]
    _assert_block_min_max(pyr.levels, ref32, factor=4)
    # 2/3 float32 values per sample: 1/3 of the signal's float64 size
    assert pyr.nbytes <= 0.34 * volts.nbytes
    # decimating from level 0 (the float64 source) and from a level give the oracle's extremes
    for start, stop, px in ((1_234, 9_000, 700), (0, 40_003, 900), (30_000, 40_003, 200)):
        dec = pyr.decimate(start, stop, px)
        assert dec.lo.dtype == np.float32 and dec.bin_samples > 1
        for ch in range(3):
            _oracle(ref32[ch], dec.x, dec.y[ch], 1000.0)


def test_reused_buffers_and_raw_samples():
    rng = np.random.default_rng(7)
    data = rng.standard_normal((2, 10_000))
    pyr = MinMaxPyramid(data, 500.0, scale=[2.0, 3.0])
    a = pyr.decimate(100, 5_000, 300, reuse=True)
    lo_a = a.lo.copy()
    b = pyr.decimate(100, 5_000, 300, reuse=True)
    assert b.lo is a.lo or np.shares_memory(b.lo, a.lo)  # the same buffer, refilled
    np.testing.assert_array_equal(b.lo, lo_a)
    c = pyr.decimate(100, 5_000, 300)  # without reuse: a new array
    assert not np.shares_memory(c.lo, b.lo)
    raw = pyr.decimate(200, 260, 1000)  # fewer than 2 samples per pixel: the samples
    assert raw.bin_samples == 1
    np.testing.assert_array_equal(raw.y, (data[:, 200:260] * np.array([[2.0], [3.0]])).astype(np.float32))
    np.testing.assert_allclose(raw.x, np.arange(200, 260) / 500.0)
    with pytest.raises(ValueError):
        MinMaxPyramid(data, 500.0, scale=[1.0, 0.0])


def test_nan_makes_its_bin_nan():
    data = np.arange(20_000, dtype=float).reshape(2, 10_000)
    data[1, 5_003] = np.nan
    pyr = MinMaxPyramid(data, 100.0, min_blocks=4)
    dec = pyr.decimate(0, 10_000, 500)
    bad = np.flatnonzero(np.isnan(dec.lo[1]))
    assert len(bad) == 1
    first = dec.first_sample + bad[0] * dec.bin_samples
    assert first <= 5_003 < first + dec.bin_samples
    assert np.isfinite(dec.lo[0]).all()


def test_drawn_curves_follow_the_raw_data(qtbot):
    """The points each trace draws pass the oracle against the recording's own samples in µV
    (plain numpy min/max of ``rec.get_data(unit="uV")``, independent of the viewer)."""
    from paraspinal.viewer.app import BrowserWindow

    rec = demo_recording(seconds=120.0)
    win = BrowserWindow(rec, qc=False, window=30.0, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    raw_uv = rec.get_data(unit="uV")
    for where in (41.3, 0.0, 90.0, 17.77):
        win.go_to(where)
        dec = win.last_decimation
        assert dec.bin_samples > 1
        assert len(dec.x) <= 2.5 * win.vb.width() + 4  # about 2 points per pixel (2 to 2.5)
        for r, ch in enumerate(win.visible_channels()):
            x, y = win.traces.curves[r].getData()
            assert x.dtype == np.float64
            # V -> µV by the viewer (x 1e6) and by get_data (/ 1e-6) may differ in the last bit
            _oracle(raw_uv[ch].astype(np.float32), x, y, rec.sfreq, rtol=1e-6)


def test_zoomed_in_traces_are_the_samples(qtbot):
    from paraspinal.viewer.app import BrowserWindow

    rec = demo_recording(seconds=30.0)
    win = BrowserWindow(rec, qc=False, window=0.5, size=(900, 600))
    qtbot.addWidget(win)
    win.show()
    win.go_to(3.0)
    assert win.last_decimation.bin_samples == 1
    raw_uv = rec.get_data(unit="uV")
    s0 = int(np.floor(3.0 * rec.sfreq))
    x, y = win.traces.curves[1].getData()
    np.testing.assert_allclose(x, np.arange(s0, s0 + len(x)) / rec.sfreq)
    np.testing.assert_allclose(y, raw_uv[1, s0:s0 + len(x)], rtol=1e-6)


def test_trace_item_draws_gaps_at_nan(qtbot):
    """A NaN bin is left out of the drawn polyline (drawn through a path with gaps)."""
    from pyqtgraph.Qt import QtGui

    from paraspinal.viewer.traces import TraceItem

    item = TraceItem()
    t = np.arange(6.0)
    lo = np.array([0, 1, np.nan, 1, 0, 1], dtype=np.float32)
    item.set_envelope(t, lo, lo + 1, first_bin=0, bin_width=1.0)
    rect = item.boundingRect()
    assert rect.top() <= 0 and rect.bottom() >= 2 and rect.right() >= 6
    img = QtGui.QImage(60, 40, QtGui.QImage.Format.Format_RGB32)
    img.fill(0xFFFFFFFF)
    p = QtGui.QPainter(img)
    p.setTransform(QtGui.QTransform(10, 0, 0, -10, 0, 30))
    item.paint(p)
    p.end()
    col = lambda x: {img.pixelColor(x, y).name() for y in range(40)}  # noqa: E731
    assert col(5) != {"#ffffff"}  # bin 0's stroke is drawn
    assert col(25) == {"#ffffff"}  # nothing between bins 2 and 3: the NaN bin is a gap
