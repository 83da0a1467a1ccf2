"""Amplitude maps of electrode grids and their spatial features (pure NumPy, vectorised).

The **RMS map** of a grid over a time span is the root mean square of each electrode's
signal (µV), placed on the grid's lattice, NaN where the lattice has no electrode (the
missing corner of a 13 x 5 grid) or where a bad electrode could not be interpolated.

Spatial features of a map ``m_i`` (electrodes i = 1..N with finite values):

* **centroid** ``(x_c, y_c)`` in mm: the RMS-weighted mean position of the electrodes whose
  RMS is at least ``threshold`` (default 0.7) times the map's maximum,
  ``x_c = sum_{i in S} m_i x_i / sum_{i in S} m_i`` with ``S = {i : m_i >= 0.7 max m}``;
* **modified entropy** ``H = -sum_i p_i log2 p_i`` with ``p_i = m_i^2 / sum_j m_j^2``
  (bits; ``log2 N`` for a uniform map, 0 when one electrode holds all the power);
* **coefficient of variation** ``CV = SD(m) / mean(m)`` over the electrodes (population SD,
  ``ddof=0``; 0 for a uniform map), a measure of spatial heterogeneity;
* **centroid shift** over a sustained task: the centroid of successive non-overlapping
  windows (default 1 s); ``*_shift`` = last window minus first window (mm), ``*_slope`` the
  least-squares slope of the centroid against time (mm/s). With rows along the spine and
  row 0 caudal, a positive ``y`` shift is a cranial shift. ``hd_centroid_displacement`` is
  the length of the fitted track, ``hypot(slope_x, slope_y) * (t_last - t_first)`` (mm): how
  far the activity moved over the phase whatever the direction, from every window (the
  difference of two single windows is noisier), the measure of "redistribution" whose
  direction (cranial or caudal) differs between people.

References
----------
Farina D, Leclerc F, Arendt-Nielsen L, Buttelli O, Madeleine P (2008). The change in spatial
distribution of upper trapezius muscle activity is correlated to contraction duration.
J Electromyogr Kinesiol 18:16-25 (modified entropy, centroid, over a sustained task).
Falla D, Gizzi L, Tschapek M, Erlenwein J, Petzke F (2014). Reduced task-induced variations
in the distribution of activity across back muscle regions in individuals with low back
pain. Pain 155:944-953.
Sanderson A, Martinez-Valdes E, Heneghan NR, Murillo C, Rushton A, Falla D (2019). Variation
in the spatial distribution of erector spinae activity during a lumbar endurance task in
people with low back pain. J Anat 234:532-542 (13 x 5 grids, Ito test, centroid more
cranial in LBP).
Arvanitidis M, Bikinis N, Petrakis S, Gkioka A, Tsimpolis D, Falla D, Martinez-Valdes E
(2021). Spatial distribution of lumbar erector spinae muscle activity in individuals with
and without chronic low back pain during a dynamic isokinetic fatiguing task. Clin Biomech
81:105214. The 70 % threshold for the centroid is the one used by this group of studies
(see docs/hdsemg.md for what was and was not verified).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import phases as _ph
from ..errors import ParameterError, ParaspinalWarning
from ..recording import Recording
from .bad import interpolation_weights, propagate_bad, resolve_bad
from ..grids import Geometry, geometry, grids

__all__ = [
    "FEATURE_COLUMNS",
    "MAP_FEATURES",
    "GridMaps",
    "window_rms",
    "to_lattice",
    "centroid_array",
    "entropy_array",
    "cv_array",
    "trend_array",
    "rms_maps",
    "rms_map",
    "map_series",
    "map_features",
]

#: Columns of the tidy feature table; the same as ``paraspinal.features.COLUMNS`` (a test
#: checks it), defined here so that the feature registry can import this module.
FEATURE_COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run", "channel", "muscle", "side",
                                    "phase", "cycle", "feature", "value", "unit", "quality")

#: Features of :func:`map_features`: name -> (unit, definition). ``U`` is the map's unit (uV).
MAP_FEATURES: dict[str, tuple[str, str]] = {
    "hd_rms_mean": ("U", "mean of the RMS map over its electrodes"),
    "hd_centroid_x": ("mm", "x of the RMS-weighted centroid of electrodes >= threshold * max"),
    "hd_centroid_y": ("mm", "y (cranio-caudal) of the RMS-weighted centroid of electrodes >= threshold * max"),
    "hd_entropy": ("bit", "modified entropy -sum p log2 p, p = RMS^2 / sum RMS^2 (Farina et al. 2008)"),
    "hd_cv": ("1", "coefficient of variation of the map, SD / mean (ddof=0)"),
    "hd_centroid_x_shift": ("mm", "centroid x of the last window minus that of the first"),
    "hd_centroid_y_shift": ("mm", "centroid y of the last window minus that of the first (positive = cranial)"),
    "hd_centroid_x_slope": ("mm/s", "least-squares slope of the window centroids' x against time"),
    "hd_centroid_y_slope": ("mm/s", "least-squares slope of the window centroids' y against time"),
    "hd_centroid_displacement": ("mm", "length of the least-squares centroid track over the phase, "
                                       "hypot(x_slope, y_slope) * (last - first window time)"),
}


# ----------------------------------------------------------------------------- array core
def window_rms(data: np.ndarray, sfreq: float, window_s: float, *, start: int = 0, stop: int | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """RMS of consecutive non-overlapping windows.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
    sfreq : float
        Hz.
    window_s : float
        Window length in s; a remainder shorter than one window at the end is left out.
    start, stop : int
        Sample bounds ``[start, stop)``.

    Returns
    -------
    rms : ndarray, shape (n_channels, n_windows)
        In the unit of ``data``.
    centres : ndarray, shape (n_windows,)
        Window centres in s from the first sample of ``data``.
    """
    w = int(round(window_s * sfreq))
    if w < 1:
        raise ParameterError(f"window_s={window_s} s is shorter than one sample at {sfreq} Hz")
    stop = data.shape[1] if stop is None else stop
    n = max(0, (stop - start) // w)
    seg = data[:, start:start + n * w].reshape(data.shape[0], n, w)
    rms = np.sqrt(np.einsum("cnw,cnw->cn", seg, seg) / w)
    centres = (start + w * np.arange(n) + w / 2) / sfreq
    return rms, centres


def to_lattice(values: np.ndarray, geom: Geometry) -> np.ndarray:
    """Place per-channel values on the grid's lattice.

    Parameters
    ----------
    values : ndarray, shape (n_grid_channels, ...)
        One value (or one row of values) per channel of ``geom.channels`` (row-major lattice
        order).
    geom : Geometry

    Returns
    -------
    ndarray, shape (..., n_rows, n_cols)
        NaN at cells without a channel.
    """
    values = np.asarray(values, dtype=float)
    rest = values.shape[1:]
    out = np.full(rest + geom.shape, np.nan)
    r, c = np.nonzero(geom.valid)
    out[..., r, c] = np.moveaxis(values, 0, -1)
    return out


def centroid_array(maps: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, threshold: float = 0.7
                   ) -> tuple[np.ndarray, np.ndarray]:
    """RMS-weighted centroid of the electrodes at or above ``threshold`` times the maximum.

    Parameters
    ----------
    maps : ndarray, shape (..., n_rows, n_cols)
        Non-negative maps; NaN cells are ignored.
    x_mm, y_mm : ndarray, shape (n_rows, n_cols)
        Cell positions in mm.
    threshold : float
        Fraction of each map's maximum (0 uses every electrode).

    Returns
    -------
    x, y : ndarray, shape (...)
        mm; NaN for a map without a positive finite value.

    References
    ----------
    Farina D et al. (2008) J Electromyogr Kinesiol 18:16-25; the 70 % threshold as used
    for the lumbar erector spinae (Falla et al. 2014; Sanderson et al. 2019).
    """
    if not 0 <= threshold <= 1:
        raise ParameterError(f"threshold={threshold}", hint="a fraction of the map's maximum, 0..1")
    m = np.asarray(maps, dtype=float)
    flat = m.reshape(m.shape[:-2] + (-1,))
    finite = np.isfinite(flat)
    vals = np.where(finite, flat, -np.inf)
    peak = vals.max(axis=-1, keepdims=True)
    w = np.where(finite & (vals >= threshold * peak), flat, 0.0)
    total = w.sum(axis=-1)
    xs = np.nan_to_num(np.ravel(np.asarray(x_mm, dtype=float)))  # cells without a channel carry weight 0
    ys = np.nan_to_num(np.ravel(np.asarray(y_mm, dtype=float)))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = (w * xs).sum(axis=-1) / total
        y = (w * ys).sum(axis=-1) / total
    bad = ~(total > 0)
    return np.where(bad, np.nan, x), np.where(bad, np.nan, y)


def entropy_array(maps: np.ndarray) -> np.ndarray:
    """Modified entropy of maps (bits): ``-sum p log2 p``, ``p_i = m_i^2 / sum m^2``.

    Parameters
    ----------
    maps : ndarray, shape (..., n_rows, n_cols)
        NaN cells are left out.

    Returns
    -------
    ndarray, shape (...)
        ``log2 N`` for a uniform map of N electrodes; NaN for an all-zero map.

    References
    ----------
    Farina D et al. (2008) J Electromyogr Kinesiol 18:16-25.
    """
    m = np.asarray(maps, dtype=float)
    flat = m.reshape(m.shape[:-2] + (-1,))
    power = np.where(np.isfinite(flat), flat * flat, 0.0)
    total = power.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = power / total
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    h = -terms.sum(axis=-1)
    return np.where(total[..., 0] > 0, h, np.nan)


def cv_array(maps: np.ndarray) -> np.ndarray:
    """Coefficient of variation of maps, ``SD / mean`` over the finite cells (``ddof=0``)."""
    m = np.asarray(maps, dtype=float)
    flat = m.reshape(m.shape[:-2] + (-1,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN maps give NaN
        mean = np.nanmean(flat, axis=-1)
        sd = np.nanstd(flat, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sd / mean


def trend_array(t: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last-minus-first difference and least-squares slope of series against time.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Times in s.
    values : ndarray, shape (..., n)
        NaN entries are left out (first/last = first/last finite value).

    Returns
    -------
    shift, slope : ndarray, shape (...)
        In the unit of ``values`` and per second; NaN with fewer than 2 finite values.
    """
    v = np.asarray(values, dtype=float)
    t = np.broadcast_to(np.asarray(t, dtype=float), v.shape)
    ok = np.isfinite(v)
    n = ok.sum(axis=-1)
    first = np.argmax(ok, axis=-1)
    last = v.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    take = lambda idx: np.take_along_axis(v, idx[..., None], axis=-1)[..., 0]  # noqa: E731
    shift = take(last) - take(first)
    tm = np.where(ok, t, 0).sum(axis=-1) / np.maximum(n, 1)
    vm = np.where(ok, v, 0).sum(axis=-1) / np.maximum(n, 1)
    dt = np.where(ok, t - tm[..., None], 0.0)
    dv = np.where(ok, v - vm[..., None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (dt * dv).sum(axis=-1) / (dt * dt).sum(axis=-1)
    few = n < 2
    return np.where(few, np.nan, shift), np.where(few, np.nan, slope)


# ----------------------------------------------------------------------------- Recordings
@dataclass(frozen=True)
class GridMaps:
    """RMS maps of one grid over time windows.

    Attributes
    ----------
    grid : str
    values : ndarray, shape (n_windows, n_rows, n_cols)
        RMS in ``unit``; NaN at cells without a (usable) electrode.
    times : ndarray, shape (n_windows,)
        Window centres in s from the first sample.
    geometry : Geometry
    interpolated : ndarray of bool, shape (n_rows, n_cols)
        Cells whose values were interpolated from neighbours (bad electrodes).
    unit : str
    """

    grid: str
    values: np.ndarray
    times: np.ndarray
    geometry: Geometry
    interpolated: np.ndarray
    unit: str

    def centroid(self, threshold: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
        """Centroid of each window's map (mm); see :func:`centroid_array`."""
        return centroid_array(self.values, self.geometry.x_mm, self.geometry.y_mm, threshold)

    def entropy(self) -> np.ndarray:
        """Modified entropy of each window's map (bits); see :func:`entropy_array`."""
        return entropy_array(self.values)

    def cv(self) -> np.ndarray:
        """Coefficient of variation of each window's map; see :func:`cv_array`."""
        return cv_array(self.values)


def _grid_data(rec: Recording, geom: Geometry) -> tuple[np.ndarray, str]:
    names = geom.channels
    units = set(rec.channels.set_index("name").loc[names, "unit"])
    if len(units) != 1:
        raise ParameterError(f"grid {geom.grid!r} mixes channel units {sorted(units)}", file=rec.meta.get("source"))
    unit = units.pop()
    return rec.get_data(names, unit="uV"), ("uV" if unit == "V" else unit)


def _interpolate(values: np.ndarray, geom: Geometry, bad_set: set[str], power: float) -> tuple[np.ndarray, np.ndarray]:
    """Replace bad cells by inverse-distance weights of their valid 8-neighbours."""
    bad_cells = np.array([[n is not None and n in bad_set for n in row] for row in geom.names], dtype=bool)
    if not bad_cells.any():
        return values, bad_cells
    weights, rows = interpolation_weights(geom, bad_cells, power=power)
    flat = values.reshape(values.shape[:-2] + (-1,))
    good = np.where(np.isfinite(flat), flat, 0.0)
    filled = good @ weights.T  # (..., n_bad)
    out = flat.copy()
    out[..., rows] = filled
    lost = ~(weights.sum(axis=1) > 0)
    out[..., rows[lost]] = np.nan
    if lost.any():
        names = [geom.names.ravel()[i] for i in rows[lost]]
        warnings.warn(f"grid {geom.grid!r}: bad electrodes {names} have no valid neighbour; left out of the map",
                      ParaspinalWarning, stacklevel=4)
    interp = np.zeros(geom.shape, bool)
    interp.ravel()[rows[~lost]] = True
    return out.reshape(values.shape), interp


def rms_maps(rec: Recording, grid: str | None = None, *, window_s: float | None = 1.0, tmin: float = 0.0,
             tmax: float | None = None, bad: Iterable[str] | pd.DataFrame | None = None, interpolate: bool = True,
             power: float = 2.0) -> GridMaps:
    """RMS maps of a grid over consecutive windows (or one window over the whole span).

    Parameters
    ----------
    rec : Recording
        A grid recording (conditioned, e.g. band-passed, for amplitude maps).
    grid : str, optional
        Grid name (may be omitted with one grid).
    window_s : float or None
        Window length in s; None gives one map over ``[tmin, tmax)``.
    tmin, tmax : float
        Span in s from the first sample (default: the whole recording).
    bad : list of str or DataFrame, optional
        Bad electrodes (names, or the table of :func:`paraspinal.hdsemg.detect_bad`), by
        monopolar names even for a differential montage (a derived channel is bad when one
        of its electrodes is). None (default): those recorded in ``rec.meta`` by
        :func:`paraspinal.hdsemg.mark_bad` (the readers of grid files record them), none
        when nothing was recorded; ``[]`` uses none.
    interpolate : bool
        Replace bad electrodes by the inverse-distance-weighted mean of their valid
        8-neighbours (default); False leaves them NaN.
    power : float
        Inverse-distance exponent (2: weights ``1/d^2``).

    Returns
    -------
    GridMaps
        Values in µV (or the channels' unit when normalised).
    """
    geom = geometry(rec, grid)
    data, unit = _grid_data(rec, geom)
    start = int(round(tmin * rec.sfreq))
    stop = rec.n_samples if tmax is None else min(rec.n_samples, int(round(tmax * rec.sfreq)))
    if stop <= start:
        raise ParameterError(f"empty span tmin={tmin}, tmax={tmax}", file=rec.meta.get("source"))
    if window_s is None:
        window_s = (stop - start) / rec.sfreq
    rms, centres = window_rms(data, rec.sfreq, window_s, start=start, stop=stop)
    values = to_lattice(rms, geom)
    bad_set = propagate_bad(rec, resolve_bad(rec, bad), geom.grid)
    interp = np.zeros(geom.shape, bool)
    if bad_set:
        if interpolate:
            values, interp = _interpolate(values, geom, bad_set, power)
        else:
            mask = np.array([[n in bad_set for n in row] for row in geom.names], dtype=bool)
            values[..., mask] = np.nan
    return GridMaps(geom.grid, values, centres, geom, interp, unit)


def rms_map(rec: Recording, grid: str | None = None, *, tmin: float = 0.0, tmax: float | None = None,
            bad: Iterable[str] | pd.DataFrame | None = None, interpolate: bool = True) -> GridMaps:
    """One RMS map over ``[tmin, tmax)``; :func:`rms_maps` with ``window_s=None``."""
    return rms_maps(rec, grid, window_s=None, tmin=tmin, tmax=tmax, bad=bad, interpolate=interpolate)


# ----------------------------------------------------------------------------- phases
def _groups(rec: Recording, phases: pd.DataFrame | None) -> list[tuple[str, object, list[tuple[int, int]]]]:
    """(phase, cycle, [(start, stop), ...]) groups; one ``all`` group without phases."""
    table = rec.phases if phases is None else phases
    if table is None or len(table) == 0:
        return [("all", pd.NA, [(0, rec.n_samples)])]
    table = _ph.validate(table, on_unknown="keep", file=rec.meta.get("source"))
    seg = _ph.segments(table, rec.sfreq, rec.n_samples)
    groups: dict[tuple[str, object], list[tuple[int, int]]] = {}
    pooled: dict[str, list[tuple[int, int]]] = {}
    for (a, b), p, c in zip(seg, table["phase"], table["cycle"]):
        if b <= a:
            continue
        key = (str(p), pd.NA if pd.isna(c) else int(c))
        groups.setdefault(key, []).append((int(a), int(b)))
        if not pd.isna(c):
            pooled.setdefault(str(p), []).append((int(a), int(b)))
    out = [(p, c, s) for (p, c), s in groups.items()]
    out += [(p, pd.NA, s) for p, s in pooled.items() if (p, pd.NA) not in groups]
    order = {p: i for i, (p, _, _) in enumerate(out)}
    return sorted(out, key=lambda g: (order[g[0]], pd.isna(g[1]), 0 if pd.isna(g[1]) else g[1]))


def _group_maps(data: np.ndarray, sfreq: float, segments: list[tuple[int, int]], window_s: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled RMS over all segments, and window RMS with times (s), in one pass over the samples.

    The windows are those of :func:`window_rms` (consecutive from each segment's start); the
    pooled sum of squares is the windows' sums plus each segment's remainder.
    """
    w = int(round(window_s * sfreq))
    if w < 1:
        raise ParameterError(f"window_s={window_s} s is shorter than one sample at {sfreq} Hz")
    n_ch = data.shape[0]
    sumsq = np.zeros(n_ch)
    n = 0
    win, times = [], []
    for a, b in segments:
        k = (b - a) // w
        seg = data[:, a:a + k * w].reshape(n_ch, k, w)
        ss = np.einsum("cnw,cnw->cn", seg, seg)
        tail = data[:, a + k * w:b]
        sumsq += ss.sum(axis=1) + np.einsum("ct,ct->c", tail, tail)
        n += b - a
        win.append(np.sqrt(ss / w))
        times.append((a + w * np.arange(k) + w / 2) / sfreq)
    return np.sqrt(sumsq / n), np.concatenate(win, axis=1), np.concatenate(times)


def _summaries(maps: np.ndarray, geom: Geometry, threshold: float) -> dict[str, np.ndarray]:
    cx, cy = centroid_array(maps, geom.x_mm, geom.y_mm, threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(maps.reshape(maps.shape[:-2] + (-1,)), axis=-1)
    return {"hd_rms_mean": mean, "hd_centroid_x": cx, "hd_centroid_y": cy, "hd_entropy": entropy_array(maps),
            "hd_cv": cv_array(maps)}


def _grid_groups(rec: Recording, groups, which, window_s, threshold, bad, interpolate):
    """Yield (grid, geometry, unit, phase, cycle, pooled summaries, window times, window summaries)."""
    chosen = grids(rec) if which is None else ([which] if isinstance(which, str) else list(which))
    if not chosen:
        geometry(rec)  # raises: no grid
    bad_list = resolve_bad(rec, bad)
    for g in chosen:
        geom = geometry(rec, g)
        data, unit = _grid_data(rec, geom)
        bad_set = propagate_bad(rec, bad_list, g)
        for phase, cycle, segs in groups:
            pooled, win, times = _group_maps(data, rec.sfreq, segs, window_s)
            values = to_lattice(np.concatenate([pooled[:, None], win], axis=1), geom)
            if bad_set and interpolate:
                values, _ = _interpolate(values, geom, bad_set, 2.0)
            elif bad_set:
                mask = np.array([[n in bad_set for n in row] for row in geom.names], dtype=bool)
                values[..., mask] = np.nan
            summ = _summaries(values, geom, threshold)
            yield (g, geom, unit, phase, cycle, {k: v[0] for k, v in summ.items()}, times,
                   {k: v[1:] for k, v in summ.items()})


def map_series(rec: Recording, phases: pd.DataFrame | None = None, *, grids: str | Iterable[str] | None = None,
               window_s: float = 1.0, threshold: float = 0.7, bad: Iterable[str] | pd.DataFrame | None = None,
               interpolate: bool = True) -> pd.DataFrame:
    """Map features of every time window, per grid and phase.

    Parameters
    ----------
    rec : Recording
        A conditioned grid recording.
    phases : pandas.DataFrame, optional
        Phase table (default: the recording's phases; none gives one ``all`` phase).
    grids : str or list of str, optional
        Grids (default all).
    window_s : float
        Window length in s (non-overlapping windows from each phase segment's start).
    threshold : float
        Centroid threshold, fraction of the map's maximum.
    bad, interpolate
        See :func:`rms_maps`.

    Returns
    -------
    pandas.DataFrame
        ``grid, phase, cycle, t, hd_rms_mean, hd_centroid_x, hd_centroid_y, hd_entropy,
        hd_cv`` (t in s from the first sample at the window centre; µV, mm, bit, 1).
    """
    parts = []
    for g, _, _, phase, cycle, _, times, win in _grid_groups(rec, _groups(rec, phases), grids, window_s, threshold,
                                                             bad, interpolate):
        df = pd.DataFrame({"grid": g, "phase": phase, "cycle": cycle, "t": times, **win})
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out["cycle"] = pd.array(out["cycle"], dtype="Int64")
    return out


def map_features(rec: Recording, phases: pd.DataFrame | None = None, *, grids: str | Iterable[str] | None = None,
                 window_s: float = 1.0, threshold: float = 0.7, bad: Iterable[str] | pd.DataFrame | None = None,
                 interpolate: bool = True, min_windows: int = 2,
                 groups: Sequence[tuple[str, object, Sequence[tuple[int, int]]]] | None = None) -> pd.DataFrame:
    """Tidy rows of the map features, per grid and phase (:data:`MAP_FEATURES`).

    For each grid and each (phase, cycle) group of the phase table, the RMS map pooled over
    the group's samples gives ``hd_rms_mean``, ``hd_centroid_x/y``, ``hd_entropy`` and
    ``hd_cv``; the centroids of its consecutive windows give the ``*_shift`` (last minus
    first window), ``*_slope`` (least squares, mm/s) and ``hd_centroid_displacement`` (mm)
    features. When a phase has cycle numbers, one more group with a missing cycle pools all
    its segments (its centroid track runs over the repetitions); a recording without phases
    is one ``all`` phase.

    Parameters
    ----------
    rec : Recording
        A conditioned grid recording (any montage).
    phases : pandas.DataFrame, optional
        Phase table (default: the recording's own).
    grids : str or list of str, optional
        Grids (default all).
    window_s : float
        Window for the centroid track, s.
    threshold : float
        Centroid threshold (fraction of the map's maximum; 0.7 as in Falla et al. 2014).
    bad, interpolate
        Bad electrodes and whether to interpolate them (see :func:`rms_maps`).
    min_windows : int
        Fewest windows for the shift and slope features; shorter groups give no shift rows,
        with a :class:`ParaspinalWarning` naming them.
    groups : sequence of (phase, cycle, [(start, stop), ...]), optional
        The (phase, cycle) groups as sample bounds ``[start, stop)``, instead of ``phases``
        (e.g. the groups of the feature table, :mod:`paraspinal.features`); ``cycle`` None
        or NA for a phase without cycle numbers or a pooled group.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FEATURE_COLUMNS`; ``channel`` is the grid name, ``muscle``/``side``
        those of the grid's channels. Non-finite values are left out
        (``attrs["dropped"]`` counts them); ``attrs["parameters"]`` records the parameters.

    References
    ----------
    Farina D et al. (2008) J Electromyogr Kinesiol 18:16-25; Falla D et al. (2014) Pain
    155:944-953; Sanderson A et al. (2019) J Anat 234:532-542.
    """
    rows, dropped, short = [], 0, []
    meta = {k: rec.meta.get(k) for k in ("subject", "group", "session", "task", "run")}
    groups = _groups(rec, phases) if groups is None else [
        (str(p), pd.NA if c is None or pd.isna(c) else int(c), [(int(a), int(b)) for a, b in segs if b > a])
        for p, c, segs in groups]
    groups = [gr for gr in groups if gr[2]]
    for g, geom, unit, phase, cycle, pooled, times, win in _grid_groups(rec, groups, grids, window_s, threshold,
                                                                        bad, interpolate):
        first = rec.channels.iloc[int(geom.index[geom.valid][0])]
        values = dict(pooled)
        if times.size >= max(2, min_windows):
            values.update(_track(times, win))
        else:
            short.append(f"{g}/{phase}" + ("" if pd.isna(cycle) else f"/cycle {cycle}"))
        for name in MAP_FEATURES:
            if name not in values:
                continue
            v = float(values[name])
            if not np.isfinite(v):
                dropped += 1
                continue
            u = MAP_FEATURES[name][0].replace("U", unit)
            rows.append({**meta, "channel": g, "muscle": first["muscle"], "side": first["side"], "phase": phase,
                         "cycle": cycle, "feature": name, "value": v, "unit": u})
    if short:
        warnings.warn(f"{rec.meta.get('source') or 'recording'}: no centroid shift for {short}: fewer than "
                      f"{max(2, min_windows)} windows of {window_s} s", ParaspinalWarning, stacklevel=2)
    out = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))
    out["cycle"] = pd.array(out["cycle"], dtype="Int64")
    out["quality"] = pd.Series([None] * len(out), index=out.index, dtype=object)  # no quality check on maps
    out.attrs["dropped"] = dropped
    out.attrs["parameters"] = {"window_s": window_s, "threshold": threshold, "interpolate": interpolate,
                               "min_windows": min_windows, "bad": sorted(resolve_bad(rec, bad))}
    return out


def _track(times: np.ndarray, win: dict[str, np.ndarray]) -> dict[str, float]:
    """Shift, slope and displacement of the window centroids (mm, mm/s, mm)."""
    out = {}
    for axis in ("x", "y"):
        shift, slope = trend_array(times, win[f"hd_centroid_{axis}"])
        out[f"hd_centroid_{axis}_shift"] = shift
        out[f"hd_centroid_{axis}_slope"] = slope
    both = np.isfinite(win["hd_centroid_x"]) & np.isfinite(win["hd_centroid_y"])
    span = float(np.ptp(times[both])) if both.sum() >= 2 else np.nan
    out["hd_centroid_displacement"] = float(np.hypot(out["hd_centroid_x_slope"], out["hd_centroid_y_slope"]) * span)
    return out
