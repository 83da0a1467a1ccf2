"""Min/max decimation pyramid: draw an hour of many channels at about 2 points per pixel.

The pyramid is built once, for all channels at once. Level ``k`` (``k >= 1``) holds, for
every block of ``block(k) = factor**k`` consecutive samples, the minimum and the maximum of
each channel; level ``k + 1`` is made from level ``k`` by the same reduction, so the whole
pyramid costs ``2 / (factor - 1)`` float32 values per sample (2/3 with the default factor 4,
i.e. 1/3 of the signal's float64 size) and one pass over the data. Level 0 is the signal
itself, kept by reference (never copied): the display never holds a second copy of the data.

Every level is a C-contiguous float32 array of the signal times a per-channel ``scale`` (volts
to µV, say). Rounding to float32 is monotonic, so the float32 minimum of a block is exactly the
minimum of the block's float32 values: nothing is lost against decimating a float32 copy.

To show samples ``[start, stop)`` on ``n_pixels`` pixels, :meth:`MinMaxPyramid.decimate`
picks the coarsest level whose block is at most a quarter of a pixel, groups whole blocks of it
into bins of ``k * block`` samples (bins start at multiples of the bin length counted from
sample 0, so the drawn picture does not shimmer while paging) and returns, per bin, the
minimum and the maximum. The drawn envelope of every bin is therefore exactly the min/max of
the raw samples in it. When a bin would hold fewer than two samples the raw samples are
returned instead.

A NaN sample makes its bin NaN (drawn as a gap), so missing data stays visible.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["MinMaxPyramid", "Decimated", "block_min_max"]

#: Output columns per build task: the task's input (16 channels x 16384 float64) stays in cache.
_CHUNK = 1 << 12


@dataclass
class Decimated:
    """Points to draw for a time range.

    Attributes
    ----------
    t : ndarray, shape (n_bins,)
        Start time of each bin in seconds (float64); with ``bin_samples == 1`` the sample times.
    lo, hi : ndarray, shape (n_channels, n_bins)
        Minimum and maximum of each bin (float32, the pyramid's scaled unit); with
        ``bin_samples == 1`` both are the samples themselves.
    bin_samples : int
        Samples per bin (1 = raw samples, no decimation).
    first_sample : int
        Index of the first sample of the first bin.
    """

    t: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    bin_samples: int
    first_sample: int

    @property
    def n_bins(self) -> int:
        """Number of bins (or samples)."""
        return int(self.t.shape[0])

    @property
    def x(self) -> np.ndarray:
        """Times of the points: each bin's start twice (min, max), or the sample times."""
        return self.t if self.bin_samples == 1 else np.repeat(self.t, 2)

    @property
    def y(self) -> np.ndarray:
        """Values of the points, ``(n_channels, n_points)``: min then max of each bin, or the samples."""
        if self.bin_samples == 1:
            return self.lo
        y = np.empty((self.lo.shape[0], 2 * self.n_bins), dtype=self.lo.dtype)
        y[:, 0::2] = self.lo
        y[:, 1::2] = self.hi
        return y


def block_min_max(lo: np.ndarray, hi: np.ndarray, k: int, out_lo: np.ndarray | None = None,
                  out_hi: np.ndarray | None = None, scratch: _Scratch | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Min of ``lo`` and max of ``hi`` over blocks of ``k`` columns, all rows at once.

    The last block may be short. Both ways used are several times faster than ``min(axis=-1)``
    over a short last axis: ``numpy.minimum`` over the ``k`` strided columns for small ``k``,
    and for larger ``k`` one transposing copy that puts the columns in contiguous runs.

    Parameters
    ----------
    lo, hi : ndarray, shape (n_rows, n)
        Minima and maxima (the same array twice for raw samples).
    k : int
        Columns per block (>= 1).
    out_lo, out_hi : ndarray, shape (n_rows, ceil(n / k)), optional
        Where to write (any float dtype; values are cast).
    scratch : optional
        Reusable buffers for the transposing copy (a pyramid passes its own, so that paging
        allocates no new memory: on virtual machines every page fault of a fresh block costs).

    Returns
    -------
    (ndarray, ndarray)
        Block minima and maxima.
    """
    n_rows, n = lo.shape
    full, rest = divmod(n, k)
    n_out = full + (1 if rest else 0)
    if out_lo is None:
        out_lo = np.empty((n_rows, n_out), dtype=lo.dtype)
    if out_hi is None:
        out_hi = np.empty((n_rows, n_out), dtype=hi.dtype)
    if full:
        vlo = lo[:, : full * k].reshape(n_rows, full, k)
        vhi = hi[:, : full * k].reshape(n_rows, full, k)
        dst_lo, dst_hi = out_lo[:, :full], out_hi[:, :full]
        if k == 1:
            np.copyto(dst_lo, vlo[:, :, 0], casting="unsafe")
            np.copyto(dst_hi, vhi[:, :, 0], casting="unsafe")
        elif k <= 4 and dst_lo.dtype == lo.dtype and dst_hi.dtype == hi.dtype:
            # few columns (the pyramid's build): k strided passes over cache-sized chunks
            np.minimum(vlo[:, :, 0], vlo[:, :, 1], out=dst_lo)
            np.maximum(vhi[:, :, 0], vhi[:, :, 1], out=dst_hi)
            for j in range(2, k):  # a loop over the block's columns, not over samples
                np.minimum(dst_lo, vlo[:, :, j], out=dst_lo)
                np.maximum(dst_hi, vhi[:, :, j], out=dst_hi)
        else:
            # many columns (a frame's bins): one transposing copy puts the k columns of the
            # blocks in k contiguous runs, so the reductions stream through memory
            scratch = scratch or _Scratch()
            tlo = scratch.get("tlo", (n_rows, k, full), lo.dtype)
            np.copyto(tlo, vlo.transpose(0, 2, 1))
            thi = tlo
            if hi is not lo:  # raw samples are passed as the same array twice: one copy
                thi = scratch.get("thi", (n_rows, k, full), hi.dtype)
                np.copyto(thi, vhi.transpose(0, 2, 1))
            for src, dst, fn in ((tlo, dst_lo, np.minimum), (thi, dst_hi, np.maximum)):
                if dst.dtype == src.dtype:
                    fn.reduce(src, axis=1, out=dst)
                else:
                    np.copyto(dst, fn.reduce(src, axis=1), casting="unsafe")
    if rest:
        out_lo[:, full] = lo[:, full * k:].min(axis=1)
        out_hi[:, full] = hi[:, full * k:].max(axis=1)
    return out_lo, out_hi


class _Scratch:
    """Named flat buffers, grown when needed and reused (views of the requested shape)."""

    def __init__(self):
        self._bufs: dict[tuple[str, np.dtype], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        size = int(np.prod(shape))
        buf = self._bufs.get((name, dtype))
        if buf is None or buf.size < size:
            buf = np.empty(max(size, 1), dtype=dtype)
            self._bufs[(name, dtype)] = buf
        return buf[:size].reshape(shape)


def _default_threads() -> int:
    value = os.environ.get("PARASPINAL_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(2, os.cpu_count() or 1))


class MinMaxPyramid:
    """Min/max pyramid of a ``(n_channels, n_samples)`` array.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        The signals (any float dtype; kept by reference, never copied or written).
    sfreq : float
        Sampling rate in Hz.
    scale : array-like, shape (n_channels,), optional
        Positive factor per channel applied to everything the pyramid returns (e.g. 1e6 to
        show volts in µV). Default 1.
    factor : int
        Block growth per level (default 4).
    min_blocks : int
        Stop adding levels when a level has fewer blocks than this.
    n_threads : int, optional
        Threads for the build (default ``$PARASPINAL_NUM_THREADS``, else up to 2).

    Attributes
    ----------
    levels : list of (ndarray, ndarray)
        ``levels[k - 1] = (mins, maxs)`` of level ``k``, blocks of ``factor**k`` samples, each a
        C-contiguous float32 array of shape ``(n_channels, ceil(n_samples / factor**k))``.

    Raises
    ------
    ValueError
        ``data`` is not 2-D, ``factor < 2`` or a scale is not positive and finite.
    """

    def __init__(self, data: np.ndarray, sfreq: float, *, scale: np.ndarray | None = None, factor: int = 4,
                 min_blocks: int = 512, n_threads: int | None = None):
        data = np.asarray(data)
        if data.ndim != 2:
            raise ValueError(f"data must be 2-D (n_channels, n_samples), got shape {data.shape}")
        if factor < 2:
            raise ValueError("factor must be >= 2")
        scale = np.ones(data.shape[0]) if scale is None else np.asarray(scale, dtype=np.float64).reshape(-1)
        if scale.shape != (data.shape[0],) or not (np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError(f"scale must hold one positive finite factor per channel ({data.shape[0]})")
        self.data = data
        self.scale = scale
        self._unit_scale = bool((scale == 1.0).all())
        self.sfreq = float(sfreq)
        self.factor = int(factor)
        self.n_threads = _default_threads() if n_threads is None else max(1, int(n_threads))
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []
        self._scratch = _Scratch()
        lo = hi = data
        while lo.shape[1] > max(min_blocks, 1) * self.factor:
            lo, hi = self._next_level(lo, hi, scaled=bool(self.levels))
            self.levels.append((lo, hi))

    def _next_level(self, lo: np.ndarray, hi: np.ndarray, scaled: bool) -> tuple[np.ndarray, np.ndarray]:
        """The next level (float32), reduced in column chunks, in threads (NumPy releases the GIL)."""
        n_ch, n = lo.shape
        f = self.factor
        n_out = -(-n // f)
        out_lo = np.empty((n_ch, n_out), dtype=np.float32)
        out_hi = np.empty((n_ch, n_out), dtype=np.float32)
        step = _CHUNK * f
        starts = range(0, n, step)

        def one(a: int) -> None:
            b = min(a + step, n)
            dst = slice(a // f, -(-b // f))
            if scaled or (self._unit_scale and lo.dtype == np.float32):
                block_min_max(lo[:, a:b], hi[:, a:b], f, out_lo[:, dst], out_hi[:, dst])
                return
            # level 1 from the source: reduce in its dtype, then scale (exact: rounding is monotonic)
            t_lo, t_hi = block_min_max(lo[:, a:b], hi[:, a:b], f)
            np.multiply(t_lo, self.scale[:, None], out=out_lo[:, dst], casting="unsafe")
            np.multiply(t_hi, self.scale[:, None], out=out_hi[:, dst], casting="unsafe")

        if self.n_threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(min(self.n_threads, len(starts))) as pool:
                list(pool.map(one, starts))
        else:
            for a in starts:
                one(a)
        return out_lo, out_hi

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
        """Memory held by the pyramid levels (not the signal it refers to) in bytes."""
        return int(sum(lo.nbytes + hi.nbytes for lo, hi in self.levels))

    def samples(self, start: int, stop: int, channels: np.ndarray | slice | None = None,
                out: np.ndarray | None = None) -> np.ndarray:
        """Raw samples ``[start, stop)`` of ``channels``, scaled, as float32 (in ``out`` or a new array)."""
        rows = slice(None) if channels is None else channels
        seg = self.data[:, start:stop][rows]
        out = np.empty(seg.shape, dtype=np.float32) if out is None else out
        np.multiply(seg, self.scale[rows][:, None], out=out, casting="unsafe")
        return out

    def blocks(self, samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Min and max over consecutive blocks of about ``samples`` samples (at most that many).

        The finest level whose block is at most ``samples``, or blocks of the raw signal when
        no level fits (short recordings). Used for automatic scales.
        """
        want = max(int(samples), 1)
        level = 0
        while level < len(self.levels) and self.block(level + 1) <= want:
            level += 1
        if level:
            return self.levels[level - 1]
        step = min(want, max(self.n_samples // 8, 1))
        lo, hi = block_min_max(self.data, self.data, step)
        s = self.scale[:, None]
        return (lo * s).astype(np.float32), (hi * s).astype(np.float32)

    def overview(self, n_bins: int = 2000) -> Decimated:
        """Min/max of the whole recording in about ``n_bins`` bins (for an overview bar)."""
        return self.decimate(0, self.n_samples, n_bins)

    def choose(self, start: int, stop: int, n_pixels: int) -> tuple[int, int]:
        """``(level, k)`` for a range: bins are ``k`` blocks of ``level`` (``(0, 1)``: raw samples)."""
        spp = (stop - start) / max(int(n_pixels), 1)
        if spp < 2.0:
            return 0, 1
        # coarsest level whose block is at most a quarter pixel: then whole blocks make bins of
        # 0.75-1 pixel, i.e. 2 to 2.67 points per pixel
        level = int(np.floor(np.log(spp / 4.0) / np.log(self.factor))) if spp >= 4 else 0
        level = int(np.clip(level, 0, len(self.levels)))
        return level, max(int(spp // self.block(level)), 1)

    def decimate(self, start: int, stop: int, n_pixels: int, channels: np.ndarray | slice | None = None,
                 *, reuse: bool = False) -> Decimated:
        """Min/max per bin of samples ``[start, stop)`` for ``n_pixels`` pixels.

        Parameters
        ----------
        start, stop : int
            Sample range (clipped to the recording).
        n_pixels : int
            Width in pixels; bins are at most ``(stop - start) / n_pixels`` samples long.
        channels : index array or slice, optional
            Rows to return (default all).
        reuse : bool
            Write the result into buffers the pyramid keeps and reuses (no memory is allocated
            while paging). The result is then only valid until the next call with ``reuse=True``.

        Returns
        -------
        Decimated
            Per bin its minimum and maximum, or the raw samples when the range has fewer
            than two samples per pixel.
        """
        n = self.n_samples
        start = int(np.clip(start, 0, n))
        stop = int(np.clip(stop, start, n))
        rows = slice(None) if channels is None else channels
        if stop == start:
            empty = self.samples(start, start, rows)
            return Decimated(np.zeros(0), empty, empty, 1, start)
        level, k = self.choose(start, stop, n_pixels)
        if (level, k) == (0, 1):
            n_rows = self.data[:, :0][rows].shape[0]
            out = self._scratch.get("lo", (n_rows, stop - start), np.float32) if reuse else None
            vals = self.samples(start, stop, rows, out=out)
            return Decimated(np.arange(start, stop, dtype=np.float64) / self.sfreq, vals, vals, 1, start)
        block = self.block(level)
        bin_samples = k * block
        first = (start // bin_samples) * bin_samples
        last = -(-stop // bin_samples) * bin_samples  # ceil to a bin edge
        src_lo, src_hi = (self.data, self.data) if level == 0 else self.levels[level - 1]
        b0, b1 = first // block, min(last // block, src_lo.shape[1])
        # slice in time first, then pick rows: indexing rows of a whole level would copy it
        seg_lo = src_lo[:, b0:b1][rows]
        seg_hi = seg_lo if level == 0 else src_hi[:, b0:b1][rows]
        n_rows, n_bins = seg_lo.shape[0], -(-seg_lo.shape[1] // k)
        if reuse:
            lo = self._scratch.get("lo", (n_rows, n_bins), np.float32)
            hi = self._scratch.get("hi", (n_rows, n_bins), np.float32)
            t = self._scratch.get("t", (n_bins,), np.float64)
        else:
            lo, hi = np.empty((n_rows, n_bins), np.float32), np.empty((n_rows, n_bins), np.float32)
            t = np.empty(n_bins)
        if level == 0:
            raw_lo = self._scratch.get("raw_lo", (n_rows, n_bins), seg_lo.dtype)
            raw_hi = self._scratch.get("raw_hi", (n_rows, n_bins), seg_lo.dtype)
            block_min_max(seg_lo, seg_hi, k, raw_lo, raw_hi, self._scratch)
            scale = self.scale[rows][:, None]
            np.multiply(raw_lo, scale, out=lo, casting="unsafe")
            np.multiply(raw_hi, scale, out=hi, casting="unsafe")
        else:
            block_min_max(seg_lo, seg_hi, k, lo, hi, self._scratch)
        np.multiply(np.arange(n_bins, dtype=np.float64), bin_samples, out=t)
        t += first
        t /= self.sfreq
        return Decimated(t, lo, hi, bin_samples, first)
