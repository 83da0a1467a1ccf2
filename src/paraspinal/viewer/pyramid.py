"""Min/max decimation pyramid: draw an hour of many channels at about 2 points per pixel.

The pyramid is built once, for all channels at once. Level ``k`` (``k >= 1``) holds, for
every block of ``block(k) = factor**k`` consecutive samples, the minimum and the maximum of
each channel; level ``k + 1`` is made from level ``k`` by the same reduction, so the whole
pyramid costs about ``2 / (factor - 1)`` times the data and one pass over it.

To show samples ``[start, stop)`` on ``n_pixels`` pixels, :meth:`MinMaxPyramid.decimate`
picks the coarsest level whose block is at most a quarter of a pixel, groups whole blocks of it
into bins of ``k * block`` samples (bins start at multiples of the bin length counted from
sample 0, so the drawn picture does not shimmer while paging) and returns, per bin, the
minimum and the maximum. Each bin is drawn as two points at the bin's start time, so the
drawn envelope of every bin is exactly the min/max of the raw samples in it. When a bin
would hold fewer than two samples the raw samples are returned instead.

A NaN sample makes its bin NaN (drawn as a gap), so missing data stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import os

import numpy as np

__all__ = ["MinMaxPyramid", "Decimated"]


@dataclass
class Decimated:
    """Points to draw for a time range.

    Attributes
    ----------
    x : ndarray, shape (n_points,)
        Times in seconds (float64).
    y : ndarray, shape (n_channels, n_points)
        Values (the data's dtype).
    bin_samples : int
        Samples per bin (1 = raw samples, no decimation).
    first_sample : int
        Index of the first sample of the first bin.
    """

    x: np.ndarray
    y: np.ndarray
    bin_samples: int
    first_sample: int


def _reduce(lo: np.ndarray, hi: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max over blocks of ``factor`` columns, all rows at once (the last block may be short).

    ``numpy.minimum`` over the ``factor`` strided columns of a block is several times faster
    than ``min(axis=-1)`` over a short last axis.
    """
    n_ch, n = lo.shape
    full = n // factor
    out_n = full + (1 if n % factor else 0)
    new_lo = np.empty((n_ch, out_n), dtype=lo.dtype)
    new_hi = np.empty((n_ch, out_n), dtype=hi.dtype)
    if full:
        vlo = lo[:, : full * factor].reshape(n_ch, full, factor)
        vhi = hi[:, : full * factor].reshape(n_ch, full, factor)
        out_lo, out_hi = new_lo[:, :full], new_hi[:, :full]
        np.minimum(vlo[:, :, 0], vlo[:, :, 1], out=out_lo)
        np.maximum(vhi[:, :, 0], vhi[:, :, 1], out=out_hi)
        for j in range(2, factor):  # loop over the block's columns, not over samples
            np.minimum(out_lo, vlo[:, :, j], out=out_lo)
            np.maximum(out_hi, vhi[:, :, j], out=out_hi)
    if n % factor:
        new_lo[:, full] = lo[:, full * factor:].min(axis=1)
        new_hi[:, full] = hi[:, full * factor:].max(axis=1)
    return new_lo, new_hi


def _reduce_threaded(lo: np.ndarray, hi: np.ndarray, factor: int, n_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_reduce` on groups of rows in threads (NumPy releases the GIL in ufunc loops)."""
    n_ch = lo.shape[0]
    if n_threads <= 1 or n_ch < 2 or lo.size < 4_000_000:
        return _reduce(lo, hi, factor)
    from concurrent.futures import ThreadPoolExecutor

    edges = np.linspace(0, n_ch, min(n_threads, n_ch) + 1).astype(int)
    with ThreadPoolExecutor(len(edges) - 1) as pool:
        parts = list(pool.map(lambda ab: _reduce(lo[ab[0]:ab[1]], hi[ab[0]:ab[1]], factor),
                              zip(edges[:-1], edges[1:])))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class MinMaxPyramid:
    """Min/max pyramid of a ``(n_channels, n_samples)`` array.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        The signals (kept by reference, not copied; float32 halves the memory).
    sfreq : float
        Sampling rate in Hz.
    factor : int
        Block growth per level (default 4).
    min_blocks : int
        Stop adding levels when a level has fewer blocks than this.
    n_threads : int, optional
        Threads for the build (default: the number of CPUs, at most 4).

    Attributes
    ----------
    levels : list of (ndarray, ndarray)
        ``levels[k - 1] = (mins, maxs)`` of level ``k``, blocks of ``factor**k`` samples.
    """

    def __init__(self, data: np.ndarray, sfreq: float, *, factor: int = 4, min_blocks: int = 512,
                 n_threads: int | None = None):
        data = np.asarray(data)
        if data.ndim != 2:
            raise ValueError(f"data must be 2-D (n_channels, n_samples), got shape {data.shape}")
        if factor < 2:
            raise ValueError("factor must be >= 2")
        self.data = data
        self.sfreq = float(sfreq)
        self.factor = int(factor)
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []
        if n_threads is None:
            n_threads = min(os.cpu_count() or 1, 4)
        lo = hi = data
        while lo.shape[1] > max(min_blocks, 1) * self.factor:
            lo, hi = _reduce_threaded(lo, hi, self.factor, n_threads)
            self.levels.append((lo, hi))

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return int(self.data.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return int(self.data.shape[1])

    def block(self, level: int) -> int:
        """Samples per block of ``level`` (level 0 = raw samples)."""
        return self.factor ** int(level)

    @property
    def nbytes(self) -> int:
        """Memory held by the pyramid levels (not the data) in bytes."""
        return int(sum(lo.nbytes + hi.nbytes for lo, hi in self.levels))

    def overview(self, n_bins: int = 2000) -> Decimated:
        """Min/max of the whole recording in about ``n_bins`` bins (for an overview bar)."""
        return self.decimate(0, self.n_samples, n_bins)

    def decimate(self, start: int, stop: int, n_pixels: int, channels: np.ndarray | slice | None = None
                 ) -> Decimated:
        """Points to draw samples ``[start, stop)`` on ``n_pixels`` pixels.

        Parameters
        ----------
        start, stop : int
            Sample range (clipped to the recording).
        n_pixels : int
            Width in pixels; bins are at most ``(stop - start) / n_pixels`` samples long.
        channels : index array or slice, optional
            Rows to return (default all).

        Returns
        -------
        Decimated
            Two points per bin (min then max, both at the bin's start time), or the raw
            samples when the range has fewer than two samples per pixel.
        """
        n = self.n_samples
        start = int(np.clip(start, 0, n))
        stop = int(np.clip(stop, start, n))
        rows = slice(None) if channels is None else channels
        span = stop - start
        spp = span / max(int(n_pixels), 1)
        if span == 0:
            return Decimated(np.zeros(0), self.data[rows, 0:0], 1, start)
        if spp < 2.0:
            y = self.data[rows, start:stop]
            x = np.arange(start, stop, dtype=np.float64) / self.sfreq
            return Decimated(x, y, 1, start)
        # coarsest level whose block is at most a quarter pixel: then whole blocks make bins of
        # 0.8-1 pixel, i.e. 2 to 2.5 points per pixel
        level = min(int(np.floor(np.log(spp / 4.0) / np.log(self.factor))) if spp >= 4 else 0, len(self.levels))
        level = max(level, 0)
        block = self.block(level)
        k = max(int(spp // block), 1)
        bin_samples = k * block
        first = (start // bin_samples) * bin_samples
        last = -(-stop // bin_samples) * bin_samples  # ceil to a bin edge
        if level == 0:
            lo = hi = self.data
        else:
            lo, hi = self.levels[level - 1]
        b0, b1 = first // block, min(last // block, lo.shape[1])
        # slice in time first, then pick rows: indexing rows of a whole level would copy it
        seg_lo, seg_hi = lo[:, b0:b1][rows], hi[:, b0:b1][rows]
        n_blocks = seg_lo.shape[1]
        n_bins = -(-n_blocks // k)
        pad = n_bins * k - n_blocks
        if pad:  # last bin is short (end of the recording): repeat its last block
            seg_lo = np.concatenate([seg_lo, np.repeat(seg_lo[:, -1:], pad, axis=1)], axis=1)
            seg_hi = np.concatenate([seg_hi, np.repeat(seg_hi[:, -1:], pad, axis=1)], axis=1)
        n_ch = seg_lo.shape[0]
        if k > 1:
            bin_lo = seg_lo.reshape(n_ch, n_bins, k).min(axis=2)
            bin_hi = seg_hi.reshape(n_ch, n_bins, k).max(axis=2)
        else:
            bin_lo, bin_hi = seg_lo, seg_hi
        y = np.empty((n_ch, 2 * n_bins), dtype=bin_lo.dtype)
        y[:, 0::2] = bin_lo
        y[:, 1::2] = bin_hi
        t = (first + bin_samples * np.arange(n_bins, dtype=np.float64)) / self.sfreq
        x = np.repeat(t, 2)
        return Decimated(x, y, bin_samples, first)
