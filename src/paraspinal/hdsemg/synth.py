"""Synthetic electrode-grid sEMG with a known amplitude map and centroid track.

Model (per electrode e at position (x_e, y_e), time t in s, amplitudes in µV)::

    x_e(t) = a_e(t) s_e(t) + n_e(t)
    a_e(t) = floor + peak g(t) exp(-(x_e - cx(t))^2 / (2 sx^2) - (y_e - cy(t))^2 / (2 sy^2))
    (cx, cy)(t) = centre + shift * t / duration          (activity moving with fatigue)
    g(t) = 1 + gain * t / duration                       (amplitude rising with fatigue)

``s_e`` is unit-variance Gaussian noise with a Shwedyk spectrum (f_l = 40, f_h = 80 Hz,
paraspinal-like; optionally compressed with fatigue) and spatially correlated between
electrodes, ``corr(s_e, s_f) = exp(-d_ef / correlation_mm)`` (volume conduction; an
exponential kernel keeps the correlation matrix positive definite); ``n_e`` is independent
white amplifier noise of ``noise_uV`` RMS. ``spread=None`` gives a uniform map.

Ground truth. The expected RMS of electrode e over a window W is
``sqrt(mean_{t in W} a_e(t)^2 + noise_uV^2)`` (signal and noise independent, unit-variance
``s_e``): the *true map*. The true centroid of a window is the centroid that the method
(threshold x max, RMS-weighted) gives on that true map; it is computed here with its own
few lines, independently of the maps module. The blob centre ``(cx, cy)`` is
reported too: it equals the true centroid only for a blob far from the grid's edges.

Bad electrodes on request: ``dead`` (signal replaced by 0.05 µV noise), ``saturated``
(clipped at 40 % of the electrode's peak amplitude), ``noisy`` (plus white noise of 5 times
its RMS), ``line`` (plus a 50 Hz sinusoid of 3 times its RMS).

References
----------
Shwedyk E, Balasubramanian R, Scott RN (1977) IEEE Trans Biomed Eng 24:417-424 (spectrum);
Farina D et al. (2008) J Electromyogr Kinesiol 18:16-25 (spatial redistribution with
fatigue); Sanderson A et al. (2019) J Anat 234:532-542 (13 x 5 grids over the lumbar
erector spinae during an endurance task).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..channels import parse_channel_name
from ..errors import ParameterError
from ..recording import Recording
from ..synth import shaped_noise
from ..grids import grid_model, model_layout, model_positions, set_layout

__all__ = ["GridTruth", "SyntheticGrid", "simulate_grid", "BAD_KINDS"]

#: Kinds of bad electrode the simulator can make.
BAD_KINDS: tuple[str, ...] = ("dead", "saturated", "noisy", "line")


@dataclass(frozen=True)
class GridTruth:
    """Ground truth of one synthetic grid.

    Attributes
    ----------
    times : ndarray, shape (n_windows,)
        Window centres (s).
    true_map : ndarray, shape (n_windows, n_rows, n_cols)
        Expected RMS of each electrode in each window (µV; NaN at cells without electrode).
    whole_map : ndarray, shape (n_rows, n_cols)
        Expected RMS over the whole recording (µV).
    centroid_x, centroid_y : ndarray, shape (n_windows,)
        The method's centroid on ``true_map`` (threshold x max), mm.
    whole_centroid : (float, float)
        The method's centroid on ``whole_map``, mm.
    centre_x, centre_y : ndarray, shape (n_windows,)
        The activity blob's centre at each window centre, mm.
    bad : pandas.DataFrame
        ``channel, kind`` of the electrodes made bad.
    """

    times: np.ndarray
    true_map: np.ndarray
    whole_map: np.ndarray
    centroid_x: np.ndarray
    centroid_y: np.ndarray
    whole_centroid: tuple[float, float]
    centre_x: np.ndarray
    centre_y: np.ndarray
    bad: pd.DataFrame


@dataclass(frozen=True)
class SyntheticGrid:
    """A synthetic grid recording and its truth per grid."""

    recording: Recording
    truth: dict[str, GridTruth]
    params: dict[str, Any] = field(default_factory=dict)


def _truth_centroid(maps: np.ndarray, x: np.ndarray, y: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
    """Thresholded RMS-weighted centroid, written apart from hdsemg.maps (independent oracle)."""
    cx, cy = [], []
    for m in maps.reshape(-1, maps.shape[-2] * maps.shape[-1]):
        keep = np.isfinite(m)
        vals, xs, ys = m[keep], x.ravel()[keep], y.ravel()[keep]
        sel = vals >= threshold * vals.max()
        cx.append(float(np.sum(vals[sel] * xs[sel]) / np.sum(vals[sel])))
        cy.append(float(np.sum(vals[sel] * ys[sel]) / np.sum(vals[sel])))
    return np.array(cx), np.array(cy)


def _amplitude(t: np.ndarray, ex: np.ndarray, ey: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """a_e(t) in µV, shape (n_electrodes, t.size)."""
    u = t / p["duration"]
    g = 1.0 + p["gain"] * u
    if p["spread"] is None:
        shape = np.ones((ex.size, t.size))
    else:
        cx = p["centre"][0] + p["shift"][0] * u
        cy = p["centre"][1] + p["shift"][1] * u
        sx, sy = p["spread"]
        shape = np.exp(-((ex[:, None] - cx) ** 2) / (2 * sx ** 2) - ((ey[:, None] - cy) ** 2) / (2 * sy ** 2))
    return p["floor"] + p["peak"] * g * shape


def _one_grid(name: str, pos: pd.DataFrame, n: int, sfreq: float, p: dict[str, Any], rng: np.random.Generator,
              bad: Mapping[str, Sequence[int]]) -> tuple[np.ndarray, dict[str, Any]]:
    ex, ey = pos["x_mm"].to_numpy(float), pos["y_mm"].to_numpy(float)
    k = ex.size
    d = np.hypot(ex[:, None] - ex[None, :], ey[:, None] - ey[None, :])
    corr = np.exp(-d / p["correlation_mm"]) if p["correlation_mm"] > 0 else np.eye(k)
    chol = np.linalg.cholesky(corr)
    comp = None
    if p["compression"]:
        comp = lambda tt: 1.0 - p["compression"] * min(tt, p["duration"]) / p["duration"]  # noqa: E731
    src = shaped_noise(n, sfreq, n_channels=k, f_l=p["f_l"], f_h=p["f_h"], compression=comp,
                       block=8192 if comp else 65536, seed=rng)
    out = np.empty((k, n))
    block = 65536
    t_all = np.arange(n) / sfreq
    for a in range(0, n, block):
        b = min(n, a + block)
        amp = _amplitude(t_all[a:b], ex, ey, p)
        out[:, a:b] = amp * (chol @ src[:, a:b]) + p["noise"] * rng.standard_normal((k, b - a))
    del src
    rows = []
    for kind, electrodes in bad.items():
        for e in electrodes:
            i = int(e) - 1
            if not 0 <= i < k:
                raise ParameterError(f"bad electrode {e} is not on the grid (1..{k})")
            rms = float(np.sqrt(np.mean(out[i] ** 2)))
            if kind == "dead":
                out[i] = 0.05 * rng.standard_normal(n)
            elif kind == "saturated":
                lim = 0.4 * float(np.max(_amplitude(t_all[::256], ex[i:i + 1], ey[i:i + 1], p)))
                np.clip(out[i], -lim, lim, out=out[i])
            elif kind == "noisy":
                out[i] += 5.0 * rms * rng.standard_normal(n)
            elif kind == "line":
                out[i] += 3.0 * rms * np.sqrt(2) * np.sin(2 * np.pi * 50.0 * t_all + rng.uniform(0, 2 * np.pi))
            else:
                raise ParameterError(f"unknown bad-electrode kind {kind!r}", hint=f"use one of {list(BAD_KINDS)}")
            rows.append({"channel": f"{name}_{e:02d}", "kind": kind})
    return out, {"ex": ex, "ey": ey, "bad": pd.DataFrame(rows, columns=["channel", "kind"])}


def _mean_squares(ex: np.ndarray, ey: np.ndarray, p: dict[str, Any], n: int, sfreq: float, w: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a_e(t)^2 per window of w samples and over all n samples (computed in chunks)."""
    n_win = n // w
    out = np.empty((ex.size, n_win))
    total = np.zeros(ex.size)
    chunk = max(1, 65536 // w)
    for i in range(0, n_win, chunk):
        j = min(n_win, i + chunk)
        a2 = _amplitude(np.arange(i * w, j * w) / sfreq, ex, ey, p) ** 2
        out[:, i:j] = a2.reshape(ex.size, j - i, w).mean(axis=2)
        total += a2.sum(axis=1)
    if n_win * w < n:
        total += (_amplitude(np.arange(n_win * w, n) / sfreq, ex, ey, p) ** 2).sum(axis=1)
    return out, total / n


def _grid_truth(pos: pd.DataFrame, shape: tuple[int, int], n: int, sfreq: float, p: dict[str, Any],
                window_s: float, threshold: float, bad: pd.DataFrame) -> GridTruth:
    ex, ey = pos["x_mm"].to_numpy(float), pos["y_mm"].to_numpy(float)
    w = int(round(window_s * sfreq))
    n_win = n // w
    win_ms, whole_ms = _mean_squares(ex, ey, p, n, sfreq, w)
    win_ms += p["noise"] ** 2
    whole_ms += p["noise"] ** 2
    r, c = pos["row"].to_numpy(int), pos["col"].to_numpy(int)
    lattice = np.full((n_win,) + shape, np.nan)
    lattice[:, r, c] = np.sqrt(win_ms).T
    whole = np.full(shape, np.nan)
    whole[r, c] = np.sqrt(whole_ms)
    xg = np.full(shape, np.nan)
    yg = np.full(shape, np.nan)
    xg[r, c], yg[r, c] = ex, ey
    cx, cy = _truth_centroid(lattice, xg, yg, threshold)
    wx, wy = _truth_centroid(whole[None], xg, yg, threshold)
    times = (np.arange(n_win) * w + w / 2) / sfreq
    u = times / p["duration"]
    centre = p["centre"] if p["spread"] is not None else (np.nan, np.nan)
    return GridTruth(times, lattice, whole, cx, cy, (float(wx[0]), float(wy[0])),
                     centre[0] + p["shift"][0] * u, centre[1] + p["shift"][1] * u, bad)


def simulate_grid(
    duration: float = 60.0,
    sfreq: float = 2048.0,
    *,
    grids: Sequence[str] = ("L_ES",),
    model: str = "GR08MM1305",
    centre: tuple[float, float] = (16.0, 40.0),
    spread: tuple[float, float] | None = (10.0, 16.0),
    shift: tuple[float, float] = (0.0, 16.0),
    peak_uV: float = 80.0,
    floor_uV: float = 5.0,
    gain: float = 0.0,
    noise_uV: float = 1.0,
    correlation_mm: float = 6.0,
    f_l: float = 40.0,
    f_h: float = 80.0,
    compression: float = 0.0,
    bad: Mapping[str, Sequence[int]] | None = None,
    phase: str = "sorensen_hold",
    window_s: float = 1.0,
    threshold: float = 0.7,
    meta: Mapping[str, Any] | None = None,
    seed: int | np.random.Generator = 0,
) -> SyntheticGrid:
    """A synthetic monopolar grid recording with a known amplitude map and centroid track.

    Parameters
    ----------
    duration : float
        Length in s (one phase ``phase`` over the whole recording).
    sfreq : float
        Hz.
    grids : sequence of str
        Grid names (e.g. ``("L_ES", "R_ES")``); each gets its own noise, the same map.
    model : str
        Grid model (positions and numbering; default the 13 x 5, 8 mm ``GR08MM1305``).
    centre : (float, float)
        Blob centre at t = 0, ``(x, y)`` in mm in the grid's frame.
    spread : (float, float) or None
        Gaussian SDs ``(sx, sy)`` in mm; None gives a uniform map.
    shift : (float, float)
        Displacement of the blob centre over the recording, mm (positive y = cranial when
        row 0 is caudal).
    peak_uV, floor_uV : float
        Blob amplitude and the uniform activity under it (µV RMS of the signal).
    gain : float
        Relative rise of the blob amplitude over the recording (0.3 = +30 %).
    noise_uV : float
        White amplifier noise, µV RMS, independent per electrode.
    correlation_mm : float
        Length of the exponential spatial correlation of the EMG sources (0 = independent).
    f_l, f_h : float
        Shwedyk corner frequencies, Hz.
    compression : float
        Spectral compression over the recording (0.2: corners fall by 20 %).
    bad : mapping, optional
        ``{"dead": [7], "saturated": [30], "noisy": [45], "line": [12]}``: electrode
        numbers (1-based) made bad in every grid.
    phase : str
        The phase label of the recording.
    window_s, threshold : float
        Window and centroid threshold of the truth track.
    meta : mapping, optional
        Metadata (subject, group, ...).
    seed : int or numpy.random.Generator

    Returns
    -------
    SyntheticGrid
        ``recording`` (EMG in volts, grid columns, ``meta["grids"]``, one phase) and
        ``truth[grid]`` (:class:`GridTruth`).
    """
    if duration <= 0 or sfreq <= 0:
        raise ParameterError(f"duration={duration} s and sfreq={sfreq} Hz must be positive")
    if not grids or len(set(grids)) != len(grids):
        raise ParameterError(f"grids={list(grids)} must be distinct names")
    m = grid_model(model)
    pos = model_positions(m)
    n = int(round(duration * sfreq))
    p = {"duration": duration, "centre": tuple(map(float, centre)), "shift": tuple(map(float, shift)),
         "spread": None if spread is None else tuple(map(float, spread)), "peak": float(peak_uV),
         "floor": float(floor_uV), "gain": float(gain), "noise": float(noise_uV),
         "correlation_mm": float(correlation_mm), "f_l": float(f_l), "f_h": float(f_h),
         "compression": float(compression)}
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    blocks, names, truth, layouts = [], [], {}, []
    for g in grids:
        data, info = _one_grid(g, pos, n, sfreq, p, rng, dict(bad or {}))
        blocks.append(data)
        chans = [f"{g}_{k:02d}" for k in range(1, m.n_electrodes + 1)]
        names += chans
        layouts.append(model_layout(m, chans, grid=g))
        truth[g] = _grid_truth(pos, (m.n_rows, m.n_cols), n, sfreq, p, window_s, threshold, info["bad"])
    data = np.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]
    phases = pd.DataFrame({"onset": [0.0], "duration": [duration], "phase": [phase]})
    rec = Recording.from_array(data, sfreq, names, units="uV", ch_types=["emg"] * len(names), rename=False,
                               meta={"source": "paraspinal.hdsemg.simulate_grid", **dict(meta or {})},
                               phases=phases)
    rec = set_layout(rec, pd.concat(layouts, ignore_index=True))
    rec = _name_muscles(rec, grids)
    rec.meta["grids"] = {g: {"model": m.name, "ied_mm": m.ied_mm, "n_rows": m.n_rows, "n_cols": m.n_cols,
                             "label": g, "rotation": 0, "flip_x": False, "montage": "monopolar"} for g in grids}
    return SyntheticGrid(rec, truth, {**p, "model": m.name, "window_s": window_s, "threshold": threshold})


def _name_muscles(rec: Recording, grids: Sequence[str]) -> Recording:
    table = rec.channels.copy()
    for g in grids:
        info = parse_channel_name(g)
        sel = table["grid"] == g
        table.loc[sel, "muscle"] = info.muscle
        table.loc[sel, "side"] = info.side
        table.loc[sel, "level"] = info.level
    return Recording(rec.raw, table, rec.meta)
