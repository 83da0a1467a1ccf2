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

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..channels import parse_channel_name
from ..errors import ParameterError, WriteError
from ..recording import Recording
from ..synth import shaped_noise
from ..grids import grid_model, model_layout, model_positions, set_layout

__all__ = ["GridTruth", "SyntheticGrid", "simulate_grid", "BAD_KINDS", "write_grid_study", "GRID_STUDY_GROUPS"]

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


#: The groups of :func:`write_grid_study`: how far (mm, uniform range) the activity blob moves
#: cranially over the hold, its cranio-caudal centre (mm), and its spread (SDs x, y, mm).
GRID_STUDY_GROUPS: dict[str, dict[str, tuple[float, float]]] = {
    "control": {"shift_mm": (12.0, 20.0), "centre_y_mm": (28.0, 40.0), "spread_mm": (15.0, 20.0)},
    "patient": {"shift_mm": (0.0, 4.0), "centre_y_mm": (36.0, 48.0), "spread_mm": (12.0, 16.0)},
}
_GRID_STUDY = "paraspinal.hdsemg.write_grid_study"


def _is_grid_study(root: Path) -> bool:
    desc = root / "derivatives" / "groundtruth" / "dataset_description.json"
    try:
        info = json.loads(desc.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(g.get("Name") == _GRID_STUDY for g in info.get("GeneratedBy", []))


def write_grid_study(out: str | os.PathLike, *, n_controls: int = 6, n_patients: int = 6, duration: float = 60.0,
                     sfreq: float = 2048.0, grids: Sequence[str] = ("L_ES", "R_ES"), model: str = "GR08MM1305",
                     groups: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
                     peak_cv: float = 0.3, seed: int = 0, overwrite: bool = False) -> Path:
    """Write a BIDS-EMG study of synthetic HD-sEMG Sorensen holds: patients redistribute less.

    Each subject holds a Biering-Sorensen posture for ``duration`` s (one ``sorensen_hold``
    phase) with one grid per side over the lumbar erector spinae (:func:`simulate_grid`).
    The activity blob moves cranially over the hold by ``shift_mm`` and is centred at
    ``centre_y_mm`` with spreads ``spread_mm``, each drawn uniformly from the group's range
    (:data:`GRID_STUDY_GROUPS`): controls redistribute 12-20 mm on a broad map, patients
    0-4 mm on a more focal, more cranial map — the directions reported for chronic low-back
    pain (Sanderson et al. 2019; Arvanitidis et al. 2021). The blob's peak amplitude varies
    between subjects (log-normal, ``peak_cv``). The recordings are written with
    ``paraspinal.io.bids.write_bids``, so each has its ``electrodes.tsv`` and
    ``coordsystem.json``; the drawn values are in ``derivatives/groundtruth/subjects.tsv``.

    Parameters
    ----------
    out : path-like
        Study root (created). A non-empty folder is replaced only with ``overwrite=True``
        and only if this function wrote it.
    n_controls, n_patients : int
        Group sizes (subjects ``01 ...`` are the controls, then the patients).
    duration, sfreq : float
        Length of each hold (s) and sampling rate (Hz).
    grids : sequence of str
        Grid names, e.g. ``("L_ES", "R_ES")``.
    model : str
        Grid model.
    groups : mapping, optional
        Replaces entries of :data:`GRID_STUDY_GROUPS` (``{"patient": {"shift_mm": (2, 6)}}``).
    peak_cv : float
        Between-subject CV of the peak amplitude (around 80 µV).
    seed : int
        Master seed: the same seed writes the same study.
    overwrite : bool

    Returns
    -------
    pathlib.Path
        The study root.
    """
    from ..io.bids import write_bids

    root = Path(out)
    if n_controls < 1 or n_patients < 1:
        raise ParameterError(f"need controls and patients, got {n_controls} and {n_patients}")
    spec = {g: {**GRID_STUDY_GROUPS[g], **dict((groups or {}).get(g, {}))} for g in GRID_STUDY_GROUPS}
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise WriteError("the folder exists and is not empty", file=root, hint="pass overwrite=True or choose another")
        if not _is_grid_study(root):
            raise WriteError("the folder is not a study written by write_grid_study; it was left alone", file=root,
                             hint="choose an empty or new folder")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    n = n_controls + n_patients
    width = max(2, len(str(n)))
    rows = []
    for i, sub_seed in enumerate(np.random.SeedSequence(seed).spawn(n)):
        label = f"{i + 1:0{width}d}"
        group = "control" if i < n_controls else "patient"
        rng = np.random.default_rng(sub_seed)
        g = spec[group]
        shift = float(rng.uniform(*g["shift_mm"]))
        centre_y = float(rng.uniform(*g["centre_y_mm"]))
        sy = float(rng.uniform(*g["spread_mm"]))
        peak = float(80.0 * np.exp(peak_cv * rng.standard_normal() - peak_cv ** 2 / 2))
        sim = simulate_grid(duration, sfreq, grids=grids, model=model, centre=(16.0, centre_y),
                            spread=(0.8 * sy, sy), shift=(0.0, shift), peak_uV=peak, seed=rng,
                            meta={"subject": label, "group": group, "task": "sorensen"})
        write_bids(sim.recording, root, subject=label, task="sorensen", group=group, overwrite=True)
        rows.append({"participant_id": f"sub-{label}", "group": group, "shift_mm": round(shift, 6),
                     "centre_y_mm": round(centre_y, 6), "spread_y_mm": round(sy, 6), "peak_uV": round(peak, 6)})
    gt = root / "derivatives" / "groundtruth"
    gt.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(gt / "subjects.tsv", sep="\t", index=False, lineterminator="\n")
    gen = {"Name": _GRID_STUDY, "Version": __version__,
           "Description": f"write_grid_study(n_controls={n_controls}, n_patients={n_patients}, duration={duration:g}, "
                          f"sfreq={sfreq:g}, grids={list(grids)}, model={model!r}, seed={seed})"}
    (gt / "dataset_description.json").write_text(json.dumps(
        {"Name": "synthetic HD-sEMG study (ground truth)", "BIDSVersion": "1.10.0", "DatasetType": "derivative",
         "GeneratedBy": [gen], "SourceDatasets": [{"URL": "../../"}]}, indent=4) + "\n", encoding="utf-8")
    desc_file = root / "dataset_description.json"
    desc = json.loads(desc_file.read_text(encoding="utf-8"))
    desc.update(Name="synthetic HD-sEMG Biering-Sorensen study", BIDSVersion="1.10.0", License="CC0",
                Authors=["paraspinal developers"], GeneratedBy=[gen])
    desc_file.write_text(json.dumps(desc, indent=4) + "\n", encoding="utf-8")
    (root / "README.md").write_text(
        "# Synthetic HD-sEMG study\n\nSYNTHETIC DATA made by `paraspinal.hdsemg.write_grid_study`: "
        f"{n_controls} controls and {n_patients} patients hold a Biering-Sorensen posture for {duration:g} s with "
        f"{len(grids)} {model} grid(s) over the lumbar erector spinae; the patients' activity redistributes less "
        "(smaller cranial shift of the RMS map's centroid). Ground truth in `derivatives/groundtruth/`. Not real "
        "people; not for clinical conclusions.\n", encoding="utf-8")
    if (root / "README").exists():
        (root / "README").unlink()
    return root
