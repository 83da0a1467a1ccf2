"""Bad electrodes of a grid: dead, saturated and noisy channels, and their interpolation.

Each electrode is judged against its grid (a whole-grid problem, such as mains hum on
every channel, is not an electrode problem and flags nothing):

* **dead**: a flat signal (peak-to-peak 0) or a band RMS (20-450 Hz) below ``dead_ratio``
  (0.1) times the grid's median band RMS (lost contact, broken lead);
* **saturated**: the amplifier clipped: at least ``clip_fraction`` (0.1 %) of the samples
  sit exactly on the channel's largest or smallest value. Run the detector on the
  recording as read, before filtering, which removes the plateaus;
* **noisy**: band RMS far above that of its 8 neighbours: ``RMS / median(neighbours) >=
  noisy_ratio`` (2). The robust z-score of that log ratio over the grid (``z_local``,
  z = 0.6745 (d - median d) / MAD, Iglewicz & Hoaglin 1993) is reported, not used: the
  natural spatial structure of a map (a focal blob, the grid's edges) inflates the MAD,
  so a 3.8-fold noisy electrode at the peak of a focal map scores only z = 3, while a
  good corner electrode of the real test recording scores z = 3.1 at a ratio of 1.15.
  A map whose activity blob is narrower than about one inter-electrode distance (Gaussian
  SD < IED) can exceed the ratio at its peak: raise ``noisy_ratio`` for such maps;
* **line noise**: the share of band power within +-1 Hz of the mains frequency and its
  harmonics at least ``noisy_ratio`` times the grid's median share *and* its robust z
  ``>= z``.

The band power comes from one Welch PSD per channel (1-s Hann segments), so DC offsets and
drifts of monopolar signals do not count. Bad electrodes are interpolated for maps from the
valid electrodes among their 8 neighbours, weighted by inverse squared distance
(:func:`interpolation_weights`, used by :func:`paraspinal.hdsemg.rms_maps`).

References
----------
Iglewicz B, Hoaglin DC (1993). How to Detect and Handle Outliers. ASQC (modified z-score).
Merletti R, Muceli S (2019). J Electromyogr Kinesiol 49:102363 (bad-contact artefacts of
grids). Shepard D (1968). A two-dimensional interpolation function for irregularly-spaced
data. Proc ACM National Conference, 517-524 (inverse-distance weighting).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.fft as _fft
from scipy import signal as _sig

from ..errors import ChannelError, ParameterError, ParaspinalWarning
from ..recording import Recording
from ..grids import Geometry, geometry, grids, is_grid_recording

__all__ = ["BAD_COLUMNS", "detect_bad", "bad_names", "propagate_bad", "interpolation_weights", "robust_z",
           "mark_bad", "recorded_bad", "bad_check", "resolve_bad", "check_on_read"]

#: Columns of the table returned by :func:`detect_bad`.
BAD_COLUMNS: tuple[str, ...] = ("channel", "grid", "row", "col", "rms_uV", "neighbour_ratio", "z_local",
                                "line_share", "z_line", "clipped_fraction", "bad", "reason")

_SHIFTS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def robust_z(values: np.ndarray) -> np.ndarray:
    """Modified z-score ``0.6745 (v - median) / MAD`` over the finite values (Iglewicz & Hoaglin 1993).

    A zero MAD (more than half the values equal) falls back to the mean absolute deviation
    scaled to the SD of a normal distribution (x 1.2533); all values equal gives zeros.
    """
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return np.full(v.shape, np.nan)
    med = np.median(v[ok])
    dev = np.abs(v - med)
    mad = np.median(dev[ok])
    if mad > 0:
        return 0.6745 * (v - med) / mad
    mean_dev = dev[ok].mean()
    if mean_dev > 0:
        return (v - med) / (1.2533 * mean_dev)
    return np.where(ok, 0.0, np.nan)


def _neighbour_median(values: np.ndarray) -> np.ndarray:
    """Median of the finite 8-neighbours of each lattice cell (NaN when none)."""
    padded = np.pad(values, 1, constant_values=np.nan)
    r, c = values.shape
    stack = np.stack([padded[1 + dr:1 + dr + r, 1 + dc:1 + dc + c] for dr, dc in _SHIFTS])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells without a finite neighbour give NaN
        return np.nanmedian(stack, axis=0)


def _psd(data: np.ndarray, sfreq: float, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD with 1-s Hann segments, 50 % overlap, mean removed per segment.

    The estimate of ``scipy.signal.welch(..., window="hann", detrend="constant")`` (one-sided
    density, mean of the segments), ``block`` channels at a time: each channel's overall
    mean removed, then one float32 real FFT of all the block's windowed segments, the segment
    means removed in the spectrum (``FFT((x - m) w) = FFT(x w) - m FFT(w)``), the powers
    averaged in float64. Within 1e-6 relative of scipy's float64 result in the EMG band (the
    ratios it feeds need far less) at a third of the time on 128 channels of 5 minutes.
    """
    nper = int(min(data.shape[1], round(sfreq)))
    step = nper - nper // 2
    win = _sig.get_window("hann", nper)
    w_fft = np.fft.rfft(win).astype(np.complex64)
    win32 = win.astype(np.float32)
    scale = 1.0 / (sfreq * float(np.sum(win * win)))
    freqs = np.fft.rfftfreq(nper, 1.0 / sfreq)
    n_seg = (data.shape[1] - nper) // step + 1
    out = np.empty((data.shape[0], freqs.size))
    for c0 in range(0, data.shape[0], block):
        x = data[c0:c0 + block]
        x = (x - x.mean(axis=1, keepdims=True)).astype(np.float32)  # no large offset in float32
        seg = np.lib.stride_tricks.sliding_window_view(x, nper, axis=1)[:, ::step][:, :n_seg]
        spec = _fft.rfft(seg * win32, axis=-1)
        spec -= seg.mean(axis=-1)[..., None] * w_fft
        out[c0:c0 + block] = (np.abs(spec) ** 2).mean(axis=1, dtype=np.float64) * scale
    out[:, 1:-1 if nper % 2 == 0 else None] *= 2.0  # one-sided: all bins but DC (and Nyquist) twice
    return freqs, out


def _band_power(f: np.ndarray, p: np.ndarray, band: tuple[float, float], line: float | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Band power (uV^2) without the mains bins, and the mains share of the band power."""
    df = f[1] - f[0]
    in_band = (f >= band[0]) & (f <= band[1])
    near = np.zeros(f.shape, bool)
    if line is not None:
        for h in np.arange(line, band[1] + 1e-9, line):
            near |= np.abs(f - h) <= 1.0 + 1e-9
    total = p[:, in_band].sum(axis=1) * df
    mains = p[:, in_band & near].sum(axis=1) * df
    with np.errstate(invalid="ignore", divide="ignore"):
        share = mains / total
    return total - mains, share


def _line_frequency(f: np.ndarray, p: np.ndarray, band: tuple[float, float], line) -> float | None:
    if line is None:
        return None
    if line != "auto":
        return float(line)
    # the frequency whose +-1 Hz bins stand out most above the bins 2-5 Hz away, on any electrode
    score = {}
    for f0 in (50.0, 60.0):
        peak = p[:, np.abs(f - f0) <= 1.0 + 1e-9].mean(axis=1)
        base = p[:, (np.abs(f - f0) >= 2.0 - 1e-9) & (np.abs(f - f0) <= 5.0 + 1e-9)].mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            score[f0] = float(np.nanmax(peak / base))
    return max(score, key=score.get)


def detect_bad(rec: Recording, grid: str | Iterable[str] | None = None, *, dead_ratio: float = 0.1,
               clip_fraction: float = 0.001, noisy_ratio: float = 2.0, z: float = 3.5,
               line_freq: float | str | None = "auto", band: tuple[float, float] = (20.0, 450.0)) -> pd.DataFrame:
    """Flag dead, saturated, noisy and mains-contaminated electrodes of grids.

    Parameters
    ----------
    rec : Recording
        A grid recording, preferably as read (saturation is detected on unfiltered values).
    grid : str or list of str, optional
        Grids to check (default all).
    dead_ratio : float
        Dead below this fraction of the grid's median band RMS.
    clip_fraction : float
        Saturated when at least this fraction of samples equal the channel's max or min.
    noisy_ratio : float
        Noisy when at least this many times its neighbours' RMS; mains-contaminated only
        when its mains share is at least this many times the grid's median share.
    z : float
        Robust z-score threshold of the mains share (3.5, Iglewicz & Hoaglin 1993).
    line_freq : float, "auto" or None
        Mains frequency in Hz; ``"auto"`` takes 50 or 60 Hz, whichever stands out more
        above its neighbouring frequencies on any electrode; None skips the mains check.
    band : (float, float)
        Band (Hz) for the RMS and the mains share.

    Returns
    -------
    pandas.DataFrame
        One row per grid electrode, columns :data:`BAD_COLUMNS`: ``rms_uV`` (band RMS),
        ``neighbour_ratio`` (RMS / median of the 8 neighbours), ``z_local`` and ``z_line``
        (robust z-scores), ``line_share``, ``clipped_fraction``, ``bad`` and ``reason``
        (``"dead"``, ``"saturated"``, ``"noisy"``, ``"line noise"``, joined by ``"; "``,
        empty when good). ``attrs["line_freq"]`` is the mains frequency used and
        ``attrs["summary"]`` says how many electrodes were flagged per grid.

    References
    ----------
    Iglewicz B, Hoaglin DC (1993); Merletti R, Muceli S (2019) J Electromyogr Kinesiol
    49:102363.
    """
    if not 0 < dead_ratio < 1 or not 0 < clip_fraction < 1 or noisy_ratio <= 1 or z <= 0:
        raise ParameterError("need 0 < dead_ratio < 1, 0 < clip_fraction < 1, noisy_ratio > 1 and z > 0")
    chosen = grids(rec) if grid is None else ([grid] if isinstance(grid, str) else list(grid))
    if not chosen:
        geometry(rec)  # raises: no grid
    parts, summary, used_line = [], {}, None
    for g in chosen:
        geom = geometry(rec, g)
        data = rec.get_data(geom.channels, unit="uV")
        f, p = _psd(data, rec.sfreq)
        used_line = _line_frequency(f, p, band, line_freq) if used_line is None else used_line
        part = _judge(data, (f, p), geom, band, used_line, dead_ratio, clip_fraction, noisy_ratio, z)
        parts.append(part)
        summary[g] = f"{int(part['bad'].sum())} of {len(part)} electrodes flagged"
    out = pd.concat(parts, ignore_index=True)
    out.attrs["line_freq"] = used_line
    out.attrs["summary"] = summary
    return out


def _judge(data, psd, geom: Geometry, band, line, dead_ratio, clip_fraction, noisy_ratio, z) -> pd.DataFrame:
    n = data.shape[1]
    power, share = _band_power(psd[0], psd[1], band, line)
    rms = np.sqrt(np.maximum(power, 0.0))
    top, bottom = data.max(axis=1), data.min(axis=1)
    flat = top == bottom
    clipped = np.maximum(np.count_nonzero(data == top[:, None], axis=1),
                         np.count_nonzero(data == bottom[:, None], axis=1)) / n
    dead = flat | (rms < dead_ratio * np.median(rms))
    saturated = ~dead & (clipped >= clip_fraction)
    r, c = np.nonzero(geom.valid)  # geom.channels order
    lattice = np.full(geom.shape, np.nan)
    lattice[r, c] = np.where(dead, np.nan, np.log(np.where(rms > 0, rms, np.nan)))
    local = lattice[r, c] - _neighbour_median(lattice)[r, c]
    z_local = robust_z(local)
    noisy = ~dead & (local >= np.log(noisy_ratio))
    log_share = np.log(np.where(share > 0, share, np.nan))
    z_line = robust_z(np.where(dead, np.nan, log_share)) if line is not None else np.full(rms.shape, np.nan)
    line_bad = (~dead & (log_share - np.nanmedian(log_share[~dead]) >= np.log(noisy_ratio)) & (z_line >= z)
                if line is not None else np.zeros(rms.shape, bool))
    reasons = [
        "; ".join(lab for lab, flag in (("dead", d), ("saturated", s), ("noisy", q), ("line noise", ln)) if flag)
        for d, s, q, ln in zip(dead, saturated, noisy, line_bad)
    ]
    return pd.DataFrame({
        "channel": geom.channels, "grid": geom.grid, "row": r, "col": c, "rms_uV": rms,
        "neighbour_ratio": np.exp(local), "z_local": z_local, "line_share": share, "z_line": z_line,
        "clipped_fraction": clipped, "bad": [bool(x) for x in reasons], "reason": reasons,
    })


def bad_names(bad: Iterable[str] | pd.DataFrame | None) -> set[str]:
    """Names of bad electrodes from a list of names or a :func:`detect_bad` table."""
    if bad is None:
        return set()
    if isinstance(bad, pd.DataFrame):
        if "channel" not in bad.columns:
            raise ParameterError("a bad-electrode table needs a 'channel' column", hint="use detect_bad's table")
        flags = bad["bad"].astype(bool) if "bad" in bad.columns else pd.Series(True, index=bad.index)
        return set(bad.loc[flags, "channel"].astype(str))
    if isinstance(bad, str):
        return {bad}
    return {str(b) for b in bad}


_TERM = re.compile(r"\s+[+-]\s+")
_WEIGHT = re.compile(r"^\d+(?:\.\d*)?\*")


def propagate_bad(rec: Recording, names: set[str], grid: str) -> set[str]:
    """Channels of ``grid`` that are bad or combine a bad electrode (differential montages).

    A derived channel's ``source_name`` holds its formula (``"A - B"``, ``"A - 2*B + C"``,
    written by the montage functions); it is bad when one of its terms is.
    """
    if not names:
        return set()
    t = rec.channels
    sel = t[(t["grid"] == grid).to_numpy(bool)]
    out = set()
    for name, src in zip(sel["name"], sel["source_name"]):
        terms = {_WEIGHT.sub("", p.strip()) for p in _TERM.split(str(src))} if src is not None else set()
        if name in names or terms & names:
            out.add(str(name))
    return out


def interpolation_weights(geom: Geometry, bad_cells: np.ndarray, *, power: float = 2.0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-distance weights that fill bad cells from their valid 8-neighbours.

    Parameters
    ----------
    geom : Geometry
    bad_cells : ndarray of bool, shape (n_rows, n_cols)
    power : float
        Weights ``1 / d^power`` with d the distance in mm (Shepard 1968).

    Returns
    -------
    weights : ndarray, shape (n_bad, n_rows * n_cols)
        Each row sums to 1 over the valid neighbours of one bad cell (0 when it has none).
    rows : ndarray of int, shape (n_bad,)
        Flat (row-major) indices of the bad cells.
    """
    shape = geom.shape
    good = geom.valid & ~bad_cells
    rows = np.flatnonzero(bad_cells & geom.valid)
    weights = np.zeros((rows.size, shape[0] * shape[1]))
    for k, flat in enumerate(rows):
        r0, c0 = divmod(int(flat), shape[1])
        for dr, dc in _SHIFTS:
            r, c = r0 + dr, c0 + dc
            if 0 <= r < shape[0] and 0 <= c < shape[1] and good[r, c]:
                d = np.hypot(geom.x_mm[r, c] - geom.x_mm[r0, c0], geom.y_mm[r, c] - geom.y_mm[r0, c0])
                weights[k, r * shape[1] + c] = 1.0 / max(d, 1e-9) ** power
    total = weights.sum(axis=1, keepdims=True)
    np.divide(weights, total, out=weights, where=total > 0)
    return weights, rows


# ----------------------------------------------------------------------------- bad electrodes in meta
def mark_bad(rec: Recording, bad: Iterable[str] | pd.DataFrame | None = None, *,
             grid: str | Iterable[str] | None = None, checked_on: str | None = None, **options) -> Recording:
    """Return a Recording whose metadata records the bad electrodes of its grids.

    The maps, the feature family and the viewer use the recorded electrodes when they are
    given no ``bad=``: record them once, on the signals as read (saturation is visible only
    before filtering), and every later step of the chain uses them. The readers that attach
    grids (OTBiolab+ exports, BIDS ``electrodes.tsv``) do it when they read.

    Parameters
    ----------
    rec : Recording
        A grid recording (not modified), preferably as read.
    bad : list of str or DataFrame, optional
        The bad electrodes (names, or a :func:`detect_bad` table); default: run
        :func:`detect_bad` on ``rec`` with ``options``.
    grid : str or list of str, optional
        Grids to record (default all).
    checked_on : str, optional
        What the check saw, kept in the metadata (default ``"signals as given"`` when
        detected here, ``"given"`` for a list or table passed in).
    **options
        Passed to :func:`detect_bad`.

    Returns
    -------
    Recording
        ``meta["grids"][grid]["bad"]`` maps each bad electrode to its reason (``"dead"``,
        ``"saturated; noisy"``, ... or ``"given"``), ``meta["grids"][grid]["bad_check"]``
        says what was checked: ``on``, ``line_freq`` (Hz or None), ``n_electrodes``,
        ``n_bad``.
    """
    chosen = grids(rec) if grid is None else ([grid] if isinstance(grid, str) else list(grid))
    if not chosen:
        geometry(rec)  # raises: no grid
    if bad is None:
        table = detect_bad(rec, chosen, **options)
        reasons = dict(zip(table.loc[table["bad"], "channel"], table.loc[table["bad"], "reason"]))
        line = table.attrs.get("line_freq")
        on = checked_on or "signals as given"
    else:
        if options:
            raise ParameterError(f"detection options {sorted(options)} with bad= given", hint="give one or the other")
        if isinstance(bad, pd.DataFrame) and "reason" in bad.columns:
            flags = bad["bad"].astype(bool) if "bad" in bad.columns else pd.Series(True, index=bad.index)
            reasons = {str(c): (str(r) or "given") for c, r in zip(bad.loc[flags, "channel"], bad.loc[flags, "reason"])}
        else:
            reasons = {n: "given" for n in sorted(bad_names(bad))}
        line = None
        on = checked_on or "given"
    meta = copy.deepcopy(rec.meta)
    info = meta.setdefault("grids", {})
    for g in chosen:
        names = geometry(rec, g).channels
        own = {n: reasons[n] for n in names if n in reasons}
        entry = info.setdefault(g, {})
        entry["bad"] = own
        entry["bad_check"] = {"on": on, "line_freq": line, "n_electrodes": len(names), "n_bad": len(own)}
    unknown = sorted(set(reasons) - {n for g in chosen for n in geometry(rec, g).channels})
    if unknown:
        raise ChannelError(f"bad electrodes {unknown} are not electrodes of the grids {chosen}",
                           file=rec.meta.get("source"), hint="give names of grid channels")
    return Recording(rec.raw, rec.channels, meta)


def recorded_bad(rec: Recording, grid: str | None = None) -> dict[str, str]:
    """The bad electrodes recorded in ``rec.meta`` (:func:`mark_bad`): name -> reason.

    Parameters
    ----------
    rec : Recording
    grid : str, optional
        One grid (default all).

    Returns
    -------
    dict
        Empty when none were recorded (or none is bad).
    """
    info = rec.meta.get("grids") or {}
    out: dict[str, str] = {}
    for g, entry in info.items():
        if grid is None or g == grid:
            out.update({str(k): str(v) for k, v in (entry.get("bad") or {}).items()})
    return out


def bad_check(rec: Recording, grid: str) -> dict | None:
    """What :func:`mark_bad` recorded about the check of one grid (``on``, ...), or None."""
    entry = (rec.meta.get("grids") or {}).get(grid) or {}
    return entry.get("bad_check")


def resolve_bad(rec: Recording, bad: Iterable[str] | pd.DataFrame | None) -> set[str]:
    """The bad electrodes a map function uses: those given, else those recorded in ``rec.meta``."""
    return set(recorded_bad(rec)) if bad is None else bad_names(bad)


def check_on_read(rec: Recording) -> Recording:
    """The readers' check of a grid recording: :func:`mark_bad` on the signals as read.

    Registered with ``paraspinal.grids.register_read_check`` when ``paraspinal.hdsemg``
    is imported (``io`` sits below ``hdsemg`` and cannot import it). A grid the detector
    cannot judge (e.g. fewer than three electrodes) is read without the check, with a
    :class:`~paraspinal.errors.ParaspinalWarning`.
    """
    if not is_grid_recording(rec):
        return rec
    try:
        return mark_bad(rec, checked_on="signals as read")
    except (ParameterError, ChannelError, ValueError) as err:
        warnings.warn(f"{rec.meta.get('source') or 'recording'}: bad electrodes not checked on reading: {err}",
                      ParaspinalWarning, stacklevel=3)
        return rec
