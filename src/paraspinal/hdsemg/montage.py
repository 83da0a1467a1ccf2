"""Spatial filters (montages) of electrode grids, as Recording transformations.

* **monopolar**: the signals as recorded against the reference electrode, optionally
  re-referenced to the grid's common average (or median);
* **single differential** (SD) along the columns (between consecutive rows of each
  column, i.e. along the grid's long axis, along the spine when rows run along it) or along
  the rows (between consecutive columns of each row): ``SD[r] = V[r] - V[r+1]``;
* **double differential** (DD): ``DD[r] = V[r] - 2 V[r+1] + V[r+2]``.

The geometry travels with the channels: a derived channel sits at the mean position of the
electrodes it combines (the midpoint of an SD pair, the centre electrode of a DD triple) and
on a lattice one (SD) or two (DD) cells shorter along the filtered direction. A combination
that involves a missing electrode (the empty corner of a 13 x 5 grid) is not formed, so its
cell stays empty. Channels of no grid (force, AUX, bipolar) are kept unchanged.

References
----------
Merletti R, Muceli S (2019). Tutorial. Surface EMG detection in space and time: best
practices. J Electromyogr Kinesiol 49:102363. Reucher H, Rau G, Silny J (1987). Spatial
filtering of noninvasive multielectrode EMG. IEEE Trans Biomed Eng 34:98-105.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence

import mne
import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..preprocessing.filters import provenance
from ..recording import Recording, annotations_copy
from ..grids import Geometry, geometry, grids
from .bad import resolve_bad

__all__ = ["monopolar", "single_differential", "double_differential", "differential_weights", "MONTAGES"]

#: Montage names recorded in ``meta["grids"][grid]["montage"]``.
MONTAGES: tuple[str, ...] = ("monopolar", "monopolar_average", "monopolar_median", "sd_columns", "sd_rows",
                             "dd_columns", "dd_rows")

_KERNELS = {"sd": np.array([1.0, -1.0]), "dd": np.array([1.0, -2.0, 1.0])}


def _selected(rec: Recording, which: str | Iterable[str] | None) -> list[str]:
    names = grids(rec)
    if not names:
        geometry(rec)  # raises the "no electrode grid" error
    if which is None:
        return names
    which = [which] if isinstance(which, str) else list(which)
    for g in which:
        if g not in names:
            raise ParameterError(f"no grid {g!r}", file=rec.meta.get("source"), hint=f"the grids are {names}")
    return which


def _montage_of(rec: Recording, grid: str) -> str:
    return str((rec.meta.get("grids") or {}).get(grid, {}).get("montage", "monopolar"))


def _check_monopolar(rec: Recording, grid: str, what: str) -> None:
    montage = _montage_of(rec, grid)
    if not montage.startswith("monopolar"):
        raise ParameterError(f"grid {grid!r} is already a {montage} montage; {what} needs monopolar signals",
                             file=rec.meta.get("source"), hint="apply montages to the monopolar recording as read")


def differential_weights(geom: Geometry, kind: str, along: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The electrodes each differential channel combines.

    Parameters
    ----------
    geom : Geometry
        The monopolar grid (:func:`paraspinal.hdsemg.geometry`).
    kind : {"sd", "dd"}
        Single or double differential.
    along : {"columns", "rows"}
        Filter along the columns (consecutive rows) or along the rows (consecutive columns).

    Returns
    -------
    cells : ndarray of int, shape (n, 2)
        Lattice cell (row, col) of each derived channel on the derived lattice.
    members : ndarray of int, shape (n, k)
        Channel-table rows of the ``k`` electrodes combined (k = 2 or 3), in kernel order.
    kernel : ndarray of float, shape (k,)
        ``[1, -1]`` or ``[1, -2, 1]``.
    """
    if kind not in _KERNELS:
        raise ParameterError(f"kind={kind!r}", hint="use 'sd' or 'dd'")
    if along not in ("columns", "rows"):
        raise ParameterError(f"along={along!r}", hint="use 'columns' (between rows) or 'rows' (between columns)")
    kernel = _KERNELS[kind]
    k = kernel.size
    index = geom.index if along == "columns" else geom.index.T
    n_out = index.shape[0] - k + 1
    if n_out < 1:
        raise ParameterError(f"grid {geom.grid!r} has {index.shape[0]} electrodes along its {along}: too few for "
                             f"a {kind.upper()} montage", hint="use the other direction")
    stack = np.stack([index[j:j + n_out] for j in range(k)], axis=-1)  # (n_out, n_other, k)
    ok = (stack >= 0).all(axis=-1)
    r, c = np.nonzero(ok)
    members = stack[r, c]
    cells = np.stack([r, c], axis=1) if along == "columns" else np.stack([c, r], axis=1)
    return cells, members, kernel


def _differential(rec: Recording, kind: str, along: str, which) -> Recording:
    chosen = _selected(rec, which)
    data = rec.raw.get_data()
    t = rec.channels
    blocks: dict[str, tuple[np.ndarray, pd.DataFrame]] = {}
    for g in chosen:
        _check_monopolar(rec, g, f"a {kind.upper()} montage")
        geom = geometry(rec, g)
        cells, members, kernel = differential_weights(geom, kind, along)
        values = np.einsum("k,nkt->nt", kernel, data[members])
        first = t.iloc[members[:, 0]]
        names = [f"{g}_{kind}_r{r:02d}_c{c:02d}" for r, c in cells]
        formula = [_formula(t["name"].to_numpy()[m], kernel) for m in members]
        rows = pd.DataFrame({
            "name": names, "type": "emg", "muscle": first["muscle"].to_numpy(), "side": first["side"].to_numpy(),
            "level": first["level"].to_numpy(), "unit": "V", "source_name": formula, "grid": g,
            "row": cells[:, 0], "col": cells[:, 1],
            "x_mm": t["x_mm"].to_numpy(float)[members].mean(axis=1),
            "y_mm": t["y_mm"].to_numpy(float)[members].mean(axis=1),
        })
        blocks[g] = (values, rows)
    label = f"{kind}_{along}"
    out = _assemble(rec, data, blocks)
    for g in chosen:
        out.meta["grids"][g]["montage"] = label
    out.meta["processing"] = list(out.meta.get("processing") or []) + [provenance(
        f"hdsemg.{'single' if kind == 'sd' else 'double'}_differential", {"along": along, "grids": chosen},
        channels={g: int(blocks[g][1].shape[0]) for g in chosen})]
    return out


def _formula(names: Sequence[str], kernel: np.ndarray) -> str:
    terms = []
    for w, n in zip(kernel, names):
        sign = "-" if w < 0 else "+"
        mag = "" if abs(w) == 1 else f"{abs(w):g}*"
        terms.append(f"{sign} {mag}{n}")
    text = " ".join(terms)
    return text[2:] if text.startswith("+ ") else text


def _assemble(rec: Recording, data: np.ndarray, blocks: dict[str, tuple[np.ndarray, pd.DataFrame]]) -> Recording:
    """New Recording: each transformed grid's channels replaced (in place of its first channel)."""
    t = rec.channels
    grid_col = t["grid"].to_numpy(object)
    parts_data, parts_rows, done = [], [], set()
    for i in range(len(t)):
        g = grid_col[i]
        if g in blocks:
            if g not in done:
                parts_data.append(blocks[g][0])
                parts_rows.append(blocks[g][1])
                done.add(g)
            continue
        parts_data.append(data[i:i + 1])
        parts_rows.append(t.iloc[[i]])
    table = pd.concat(parts_rows, ignore_index=True)
    table = table[list(t.columns)]
    for col in ("row", "col"):
        table[col] = pd.array(pd.to_numeric(table[col], errors="coerce"), dtype="Int64")
    meta = copy.deepcopy(rec.meta)
    meta.setdefault("grids", {})
    for g in blocks:
        meta["grids"].setdefault(g, {})
    return rebuild(rec, np.concatenate(parts_data, axis=0), table, meta)


def rebuild(rec: Recording, data: np.ndarray, table: pd.DataFrame, meta: dict) -> Recording:
    """A Recording with ``rec``'s clock, annotations and measurement date, and new channels.

    Parameters
    ----------
    rec : Recording
        Template (not modified).
    data : ndarray, shape (n_channels, n_samples)
        Signals in storage units (volts for EMG), owned by the caller.
    table : pandas.DataFrame
        The new channel table (names in ``data``'s order).
    meta : dict
        The new metadata.

    Returns
    -------
    Recording
    """
    info = mne.create_info(list(table["name"]), rec.sfreq, list(table["type"]), verbose=False)
    raw = mne.io.RawArray(data, info, first_samp=rec.raw.first_samp, copy="auto", verbose=False)
    if rec.raw.info["meas_date"] is not None:
        raw.set_meas_date(rec.raw.info["meas_date"])
    raw.set_annotations(annotations_copy(rec.raw), verbose=False)
    return Recording(raw, table.reset_index(drop=True), meta)


def single_differential(rec: Recording, along: str = "columns", *, grids: str | Iterable[str] | None = None
                        ) -> Recording:
    """Single-differential montage of electrode grids: ``V[r] - V[r+1]``.

    Parameters
    ----------
    rec : Recording
        A monopolar grid recording (not modified).
    along : {"columns", "rows"}
        ``"columns"``: differences between consecutive rows of each column (along the
        grid's long axis; along the spine when rows run along it, as recommended for
        the erector spinae, whose fibres run cranio-caudally). ``"rows"``: between
        consecutive columns of each row.
    grids : str or list of str, optional
        Grids to transform (default all).

    Returns
    -------
    Recording
        Each grid's channels replaced by ``<grid>_sd_rRR_cCC`` channels at the midpoints of
        their electrode pairs; ``source_name`` holds the formula (``"A - B"``);
        ``meta["grids"][grid]["montage"]`` is ``"sd_columns"`` or ``"sd_rows"``.

    References
    ----------
    Merletti R, Muceli S (2019) J Electromyogr Kinesiol 49:102363.
    """
    return _differential(rec, "sd", along, grids)


def double_differential(rec: Recording, along: str = "columns", *, grids: str | Iterable[str] | None = None
                        ) -> Recording:
    """Double-differential montage of electrode grids: ``V[r] - 2 V[r+1] + V[r+2]``.

    Parameters
    ----------
    rec : Recording
        A monopolar grid recording (not modified).
    along : {"columns", "rows"}
        As for :func:`single_differential`.
    grids : str or list of str, optional
        Grids to transform (default all).

    Returns
    -------
    Recording
        Channels ``<grid>_dd_rRR_cCC`` at the centre electrode of each triple;
        ``meta["grids"][grid]["montage"]`` is ``"dd_columns"`` or ``"dd_rows"``.

    References
    ----------
    Reucher H, Rau G, Silny J (1987) IEEE Trans Biomed Eng 34:98-105.
    """
    return _differential(rec, "dd", along, grids)


def monopolar(rec: Recording, reference: str | None = None, *, grids: str | Iterable[str] | None = None,
              bad: Iterable[str] | pd.DataFrame | None = None) -> Recording:
    """Monopolar montage, as recorded or re-referenced to the grid's common average/median.

    Parameters
    ----------
    rec : Recording
        A monopolar grid recording (not modified).
    reference : {None, "average", "median"}
        None keeps the signals as recorded (a copy); ``"average"`` subtracts, at every
        sample, the mean of the grid's electrodes (common average reference), ``"median"``
        their median (robust to a few bad electrodes).
    grids : str or list of str, optional
        Grids to re-reference (default all).
    bad : list of str or DataFrame, optional
        Electrodes left out of the reference (a list of names, or the table of
        :func:`paraspinal.hdsemg.detect_bad`); they are still re-referenced. None (default):
        those recorded in ``rec.meta`` (:func:`paraspinal.hdsemg.mark_bad`).

    Returns
    -------
    Recording
        ``meta["grids"][grid]["montage"]`` is ``"monopolar"``, ``"monopolar_average"`` or
        ``"monopolar_median"``.

    References
    ----------
    Merletti R, Muceli S (2019) J Electromyogr Kinesiol 49:102363 (reference electrodes
    and common-mode signals of grids).
    """
    if reference not in (None, "average", "median"):
        raise ParameterError(f"reference={reference!r}", hint="use None, 'average' or 'median'")
    chosen = _selected(rec, grids)
    out = rec.copy()
    if reference is None:
        return out
    bad_names = resolve_bad(rec, bad)
    data = rec.raw.get_data()
    for g in chosen:
        _check_monopolar(rec, g, "a common reference")
        geom = geometry(rec, g)
        idx = geom.index[geom.valid]
        use = np.array([n not in bad_names for n in geom.names[geom.valid]])
        if not use.any():
            raise ParameterError(f"every electrode of grid {g!r} is marked bad", file=rec.meta.get("source"))
        ref_rows = data[idx[use]]
        ref = ref_rows.mean(axis=0) if reference == "average" else np.median(ref_rows, axis=0)
        data[idx] -= ref
        out.meta.setdefault("grids", {}).setdefault(g, {})["montage"] = f"monopolar_{reference}"
    table = rec.channels.copy()
    res = rebuild(rec, data, table, out.meta)
    res.meta["processing"] = list(res.meta.get("processing") or []) + [provenance(
        "hdsemg.monopolar", {"reference": reference, "grids": chosen, "bad": sorted(bad_names)})]
    return res



