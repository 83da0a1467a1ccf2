"""Electrode-grid geometry: grid models, layouts, and the grid columns of the channel table.

A *grid recording* is a Recording whose channel table has the optional columns
:data:`paraspinal.channels.GRID_COLUMNS` (``grid, row, col, x_mm, y_mm``), filled for the
channels of each grid and missing for the others (force, AUX, bipolar channels).

Frame of a grid. ``row`` and ``col`` are integer lattice indices (0-based), ``x_mm`` and
``y_mm`` the position of the electrode's centre in millimetres: ``x_mm = col * ied``,
``y_mm = row * ied``, with the origin at the lattice cell ``(row 0, col 0)`` (even when that
cell has no electrode, as in the 13 x 5 grids). Rows run along the grid's long axis. On the
back, place (or rotate, ``rotation=180``) the grid so that rows run along the spine with
row 0 at the caudal end: then ``y_mm`` is the cranio-caudal position (positive = cranial)
and ``x_mm`` the medio-lateral one (``flip_x=True`` mirrors it, e.g. so that x grows
medially on both sides).

The electrode numbering of each model (which electrode is channel k) is in
:data:`GRID_MODELS`. For the 13 x 5 ``GR`` grids, electrode 1 sits below the missing
corner and the numbering snakes down column 0, up column 1, down column 2 ...; this was
checked on the real OTBiolab+ export in the test data (neighbouring electrodes of this
layout correlate at 0.958 on average, against 0.80-0.84 for column-wise or row-wise
numbering and 0.75 for random layouts; ``scripts/verify_hdsemg.py``).

References
----------
OT Bioelettronica, electrode-grid catalogue (model codes: ``GR``/``HD`` + inter-electrode
distance in mm + rows + columns, e.g. GR08MM1305 = 13 x 5 at 8 mm). Numbering as tabulated
for OTBiolab+ exports in openhdemg's ``electrodes.sort_rawemg`` (Valli G et al. 2024,
J Electromyogr Kinesiol; orientation 180 deg), taken as facts, not code.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _hooks
from .channels import GRID_COLUMNS
from .errors import ChannelError, ParameterError
from .recording import Recording

__all__ = [
    "GridModel",
    "GRID_MODELS",
    "LAYOUT_COLUMNS",
    "grid_model",
    "model_positions",
    "model_layout",
    "layout_from_electrodes",
    "set_layout",
    "grids",
    "Geometry",
    "geometry",
    "is_grid_recording",
    "layout_of",
    "with_grid_columns",
    "register_read_check",
    "run_read_checks",
]

#: Columns of a layout table (one row per channel).
LAYOUT_COLUMNS: tuple[str, ...] = ("name",) + GRID_COLUMNS


@dataclass(frozen=True)
class GridModel:
    """An electrode-grid model: lattice, spacing and electrode numbering.

    Attributes
    ----------
    name : str
        Model code (``"GR08MM1305"``).
    n_rows, n_cols : int
        Lattice size; rows run along the grid's long axis.
    ied_mm : float
        Inter-electrode distance (centre to centre) in mm, the same along rows and columns.
    columns : {"ascending", "descending"}
        The order in which the numbering visits the columns.
    direction : {"down", "up", "alternate"}
        Direction of the numbering within a column (down = increasing row); ``alternate``
        snakes: down the first column visited, up the next, ...
    missing : tuple of (row, col)
        Lattice cells without an electrode.
    source : str
        Where the geometry comes from, and whether it was checked on a real file.
    """

    name: str
    n_rows: int
    n_cols: int
    ied_mm: float
    columns: str
    direction: str
    missing: tuple[tuple[int, int], ...]
    source: str

    @property
    def n_electrodes(self) -> int:
        """Number of electrodes (lattice cells minus the missing ones)."""
        return self.n_rows * self.n_cols - len(self.missing)

    def numbers(self) -> np.ndarray:
        """Electrode numbers on the lattice, shape ``(n_rows, n_cols)``; 0 where there is none.

        Returns
        -------
        numpy.ndarray of int
        """
        out = np.zeros((self.n_rows, self.n_cols), dtype=int)
        cols = range(self.n_cols) if self.columns == "ascending" else range(self.n_cols - 1, -1, -1)
        holes = set(self.missing)
        k = 1
        for i, c in enumerate(cols):
            down = self.direction == "down" or (self.direction == "alternate" and i % 2 == 0)
            for r in (range(self.n_rows) if down else range(self.n_rows - 1, -1, -1)):
                if (r, c) not in holes:
                    out[r, c] = k
                    k += 1
        return out


_OTB = "OT Bioelettronica catalogue; numbering as tabulated by openhdemg (Valli et al. 2024)"
#: Grid models whose geometry and numbering are known, by model code.
GRID_MODELS: dict[str, GridModel] = {m.name: m for m in (
    GridModel("GR08MM1305", 13, 5, 8.0, "ascending", "alternate", ((0, 0),),
              _OTB + "; checked on a real OTBiolab+ export (neighbour correlation)"),
    GridModel("GR04MM1305", 13, 5, 4.0, "ascending", "alternate", ((0, 0),), _OTB + "; same numbering as GR08MM1305"),
    GridModel("HD08MM1305", 13, 5, 8.0, "descending", "down", ((0, 4),), _OTB),
    GridModel("HD04MM1305", 13, 5, 4.0, "descending", "down", ((0, 4),), _OTB),
    GridModel("GR10MM0808", 8, 8, 10.0, "ascending", "up", (), _OTB),
    GridModel("HD10MM0808", 8, 8, 10.0, "ascending", "up", (), _OTB),
    GridModel("HD10MM0804", 8, 4, 10.0, "ascending", "down", (), _OTB),
    GridModel("HD05MM0804", 8, 4, 5.0, "ascending", "down", (), _OTB),
)}


def grid_model(name: str) -> GridModel:
    """Return the :class:`GridModel` of a model code (case-insensitive).

    Raises
    ------
    ParameterError
        For a model whose numbering is not known; the message lists the known ones.
    """
    key = str(name).strip().upper()
    if key not in GRID_MODELS:
        raise ParameterError(
            f"unknown electrode-grid model {name!r}",
            hint=f"known models are {sorted(GRID_MODELS)}; for another grid give a layout table "
            "(name, grid, row, col, x_mm, y_mm) to paraspinal.hdsemg.set_layout",
        )
    return GRID_MODELS[key]


def _orient(row: np.ndarray, col: np.ndarray, n_rows: int, n_cols: int, rotation: int, flip_x: bool):
    if rotation not in (0, 180):
        raise ParameterError(f"rotation={rotation!r}", hint="use 0 or 180 (degrees, in the grid's plane)")
    if rotation == 180:
        row, col = n_rows - 1 - row, n_cols - 1 - col
    if flip_x:
        col = n_cols - 1 - col
    return row, col


def model_positions(model: str | GridModel, *, rotation: int = 0, flip_x: bool = False) -> pd.DataFrame:
    """Lattice cell and position of every electrode of a grid model.

    Parameters
    ----------
    model : str or GridModel
        Model code, e.g. ``"GR08MM1305"`` (see :data:`GRID_MODELS`).
    rotation : {0, 180}
        Rotate the grid in its plane (degrees), e.g. when it was placed connector-up.
    flip_x : bool
        Mirror the columns (``x_mm``), e.g. for the right side.

    Returns
    -------
    pandas.DataFrame
        ``electrode`` (1..N), ``row``, ``col``, ``x_mm``, ``y_mm``, sorted by electrode.
    """
    m = model if isinstance(model, GridModel) else grid_model(model)
    nums = m.numbers()
    r, c = np.nonzero(nums)
    order = np.argsort(nums[r, c])
    r, c = _orient(r[order], c[order], m.n_rows, m.n_cols, rotation, flip_x)
    return pd.DataFrame({"electrode": np.arange(1, m.n_electrodes + 1), "row": r, "col": c,
                         "x_mm": c * m.ied_mm, "y_mm": r * m.ied_mm})


def model_layout(model: str | GridModel, channels: Sequence[str], *, grid: str, rotation: int = 0,
                 flip_x: bool = False) -> pd.DataFrame:
    """Layout table of one grid of a known model.

    Parameters
    ----------
    model : str or GridModel
        Model code, e.g. ``"GR08MM1305"`` (see :data:`GRID_MODELS`).
    channels : sequence of str
        Channel names in electrode-number order: ``channels[k - 1]`` is electrode ``k``.
        As many names as the model has electrodes.
    grid : str
        Name of the grid (e.g. ``"L_ES"``).
    rotation, flip_x
        See :func:`model_positions`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LAYOUT_COLUMNS`, one row per channel, positions in mm.
    """
    m = model if isinstance(model, GridModel) else grid_model(model)
    channels = [str(c) for c in channels]
    if len(channels) != m.n_electrodes:
        raise ChannelError(f"{len(channels)} channels for the {m.n_electrodes} electrodes of a {m.name} grid",
                           hint="give one channel name per electrode, in electrode-number order")
    pos = model_positions(m, rotation=rotation, flip_x=flip_x)
    return _layout_frame(channels, grid, pos["row"], pos["col"], pos["x_mm"], pos["y_mm"])


def _layout_frame(names, grid, row, col, x, y) -> pd.DataFrame:
    return pd.DataFrame({
        "name": list(names),
        "grid": [str(grid)] * len(names) if isinstance(grid, str) else [str(g) for g in grid],
        "row": np.asarray(row, dtype=int),
        "col": np.asarray(col, dtype=int),
        "x_mm": np.asarray(x, dtype=float),
        "y_mm": np.asarray(y, dtype=float),
    })


_LENGTH = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


def layout_from_electrodes(electrodes: pd.DataFrame, *, grid: str | None = None, unit: str = "mm",
                           grid_column: str | None = None, tolerance: float = 0.25,
                           origin: dict[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """Layout table from an electrode-position table (e.g. BIDS ``electrodes.tsv``).

    Rows and columns are found from the positions: per grid, the spacing is the smallest
    distance between distinct x (and y) values, and each electrode goes to the nearest
    lattice node. Positions are kept as given (converted to mm), relative to the grid's
    smallest x and y, or to ``origin``.

    Parameters
    ----------
    electrodes : pandas.DataFrame
        Columns ``name, x, y`` (other columns are ignored, ``z`` included), and optionally a
        column naming each electrode's grid.
    grid : str, optional
        Grid name when the table holds one grid without a grid column.
    unit : {"mm", "cm", "m"}
        Unit of ``x`` and ``y``.
    grid_column : str, optional
        The column naming the grid; by default the first of ``grid``, ``group``,
        ``coordinate_system`` that exists.
    tolerance : float
        Largest distance of an electrode from its lattice node, as a fraction of the
        spacing; beyond it the positions are not a grid and an error says which electrode.
    origin : dict, optional
        ``{grid: (x0, y0)}`` in ``unit``: the position that becomes ``x_mm = y_mm = 0``
        (e.g. the grid's first electrode when the table holds differential channels at
        midpoints); rows and columns still count from the smallest x and y.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LAYOUT_COLUMNS`.
    """
    need = {"name", "x", "y"}
    if not need <= set(electrodes.columns):
        raise ParameterError(f"an electrode table needs the columns {sorted(need)}, got {list(electrodes.columns)}")
    if unit not in _LENGTH:
        raise ParameterError(f"unit={unit!r}", hint=f"use one of {list(_LENGTH)}")
    if grid_column is None:
        grid_column = next((c for c in ("grid", "group", "coordinate_system") if c in electrodes.columns), None)
    if grid_column is None and grid is None:
        raise ParameterError("the electrode table names no grid", hint="pass grid='NAME' or grid_column='COLUMN'")
    table = electrodes.copy()
    table["_grid"] = table[grid_column].astype(str) if grid_column is not None else str(grid)
    x = pd.to_numeric(table["x"], errors="coerce").to_numpy(float) * _LENGTH[unit]
    y = pd.to_numeric(table["y"], errors="coerce").to_numpy(float) * _LENGTH[unit]
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise ChannelError("has no numeric x and y position", channel=str(table["name"].iloc[int(np.argmax(bad))]),
                           hint="give every grid electrode its position, or leave it out of the table")
    parts = []
    for g, idx in table.groupby("_grid", sort=False).indices.items():
        gx, gy = x[idx] - x[idx].min(), y[idx] - y[idx].min()
        col, ex = _lattice(gx, tolerance)
        row, ey = _lattice(gy, tolerance)
        if origin is not None and g in origin:
            gx = x[idx] - float(origin[g][0]) * _LENGTH[unit]
            gy = y[idx] - float(origin[g][1]) * _LENGTH[unit]
        off = np.flatnonzero((ex > tolerance) | (ey > tolerance))
        if off.size:
            raise ChannelError(f"the positions of grid {g!r} do not lie on a regular lattice",
                               channel=str(table["name"].iloc[idx[off[0]]]),
                               hint="check the electrode positions, or build the layout table by hand")
        parts.append(_layout_frame(table["name"].iloc[idx].astype(str), g, row, col, gx, gy))
    out = pd.concat(parts, ignore_index=True)
    _check_unique_cells(out)
    return out


def _lattice(v: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice index of each value and its distance from the node (fraction of the spacing)."""
    u = np.unique(np.round(v, 6))
    steps = np.diff(u)
    if steps.size == 0:
        return np.zeros(v.size, int), np.zeros(v.size)
    step = steps.min()
    idx = np.round(v / step)
    return idx.astype(int), np.abs(v / step - idx)


def _check_unique_cells(layout: pd.DataFrame) -> None:
    dup = layout.duplicated(["grid", "row", "col"], keep=False)
    if dup.any():
        names = layout.loc[dup, "name"].tolist()
        raise ChannelError(f"channels {names} share a grid position", hint="each electrode needs its own row and col")


def set_layout(rec: Recording, layout: pd.DataFrame | str, *, channels: Sequence[str] | None = None,
               grid: str | None = None, rotation: int = 0, flip_x: bool = False) -> Recording:
    """Return a Recording whose channel table carries an electrode-grid layout.

    Parameters
    ----------
    rec : Recording
        Not modified.
    layout : pandas.DataFrame or str
        A layout table (columns :data:`LAYOUT_COLUMNS`, e.g. from
        :func:`layout_from_electrodes`), or a grid model code (``"GR08MM1305"``), in which
        case ``channels`` gives the channel of each electrode in electrode-number order.
    channels : sequence of str, optional
        With a model code: channel names, ``channels[k - 1]`` being electrode ``k``.
    grid : str, optional
        With a model code: the grid's name (default ``"grid1"``).
    rotation, flip_x
        With a model code: see :func:`model_layout`.

    Returns
    -------
    Recording
        Channels named in the layout get ``grid, row, col, x_mm, y_mm``; other channels keep
        their values (missing for channels of no grid). A grid already in the table with
        the same name is replaced.

    Raises
    ------
    ChannelError
        A layout channel that is not in the recording or not EMG, or two channels on one cell.
    """
    if isinstance(layout, str):
        if channels is None:
            raise ParameterError("a grid model needs channels=[...] (the channel of each electrode, in order)")
        layout = model_layout(layout, channels, grid=grid or "grid1", rotation=rotation, flip_x=flip_x)
    missing = [c for c in LAYOUT_COLUMNS if c not in layout.columns]
    if missing:
        raise ParameterError(f"the layout table lacks the columns {missing}",
                             hint=f"a layout has the columns {list(LAYOUT_COLUMNS)}")
    layout = layout[list(LAYOUT_COLUMNS)].copy()
    types = dict(zip(rec.channels["name"], rec.channels["type"]))
    for name in layout["name"]:
        if name not in types:
            raise ChannelError("is in the layout but not in the recording", file=rec.meta.get("source"),
                               channel=str(name), hint=f"the recording's channels are {rec.ch_names}")
        if types[name] != "emg":
            raise ChannelError(f"is a {types[name]} channel; only EMG channels can be grid electrodes",
                               file=rec.meta.get("source"), channel=str(name))
    if layout["name"].duplicated().any():
        raise ChannelError(f"channels {layout['name'][layout['name'].duplicated()].tolist()} appear twice in the layout")
    _check_unique_cells(layout)
    table = with_grid_columns(rec.channels)
    replaced = table["grid"].isin(set(layout["grid"]))
    table.loc[replaced, list(GRID_COLUMNS)] = None
    pos = table.set_index("name").index.get_indexer(layout["name"])
    for col in GRID_COLUMNS:
        table.loc[pos, col] = layout[col].to_numpy()
    return Recording(rec.raw, _typed(table), copy.deepcopy(rec.meta))


def with_grid_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a channel table with the grid columns (added empty where absent)."""
    table = table.copy()
    for col in GRID_COLUMNS:
        if col not in table.columns:
            table[col] = None
    return _typed(table)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table["grid"] = table["grid"].astype(object).where(table["grid"].notna(), None)
    for col in ("row", "col"):
        table[col] = pd.array(pd.to_numeric(table[col], errors="coerce"), dtype="Int64")
    for col in ("x_mm", "y_mm"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    return table


def is_grid_recording(rec: Recording) -> bool:
    """True when the channel table has grid columns with at least one grid channel."""
    return "grid" in rec.channels.columns and rec.channels["grid"].notna().any()


def grids(rec: Recording) -> list[str]:
    """Names of the grids of a Recording, in channel-table order (empty if none)."""
    if "grid" not in rec.channels.columns:
        return []
    return list(dict.fromkeys(g for g in rec.channels["grid"] if g is not None and not pd.isna(g)))


@dataclass(frozen=True)
class Geometry:
    """The lattice of one grid of a Recording.

    Attributes
    ----------
    grid : str
        Grid name.
    index : numpy.ndarray of int, shape (n_rows, n_cols)
        Row of the channel table (and of ``rec.raw``) at each lattice cell; -1 where the
        cell has no channel.
    names : numpy.ndarray of object, shape (n_rows, n_cols)
        Channel name at each cell (None where there is none).
    x_mm, y_mm : numpy.ndarray of float, shape (n_rows, n_cols)
        Position of each cell's channel in mm (NaN where there is none).
    """

    grid: str
    index: np.ndarray
    names: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_cols)``."""
        return self.index.shape

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the cells that hold a channel."""
        return self.index >= 0

    @property
    def channels(self) -> list[str]:
        """Channel names of the grid in row-major lattice order."""
        return [n for n in self.names.ravel() if n is not None]


def geometry(rec: Recording, grid: str | None = None) -> Geometry:
    """The lattice of one grid: channel index, name and position at each cell.

    Parameters
    ----------
    rec : Recording
        A grid recording.
    grid : str, optional
        Grid name; may be omitted when the recording has one grid.

    Returns
    -------
    Geometry
    """
    names = grids(rec)
    if not names:
        raise ChannelError("the recording has no electrode grid", file=rec.meta.get("source"),
                           hint="read an OTBiolab+ export, or give the layout with paraspinal.hdsemg.set_layout")
    if grid is None:
        if len(names) > 1:
            raise ParameterError(f"the recording has {len(names)} grids {names}", hint="say which: grid='NAME'")
        grid = names[0]
    if grid not in names:
        raise ChannelError(f"no grid {grid!r}", file=rec.meta.get("source"), hint=f"the grids are {names}")
    t = rec.channels
    sel = np.flatnonzero((t["grid"] == grid).to_numpy(bool))
    rows = t["row"].to_numpy()[sel].astype(int)
    cols = t["col"].to_numpy()[sel].astype(int)
    shape = (rows.max() + 1, cols.max() + 1)
    index = np.full(shape, -1, dtype=int)
    index[rows, cols] = sel
    nm = np.full(shape, None, dtype=object)
    nm[rows, cols] = t["name"].to_numpy()[sel]
    x = np.full(shape, np.nan)
    y = np.full(shape, np.nan)
    x[rows, cols] = t["x_mm"].to_numpy(float)[sel]
    y[rows, cols] = t["y_mm"].to_numpy(float)[sel]
    return Geometry(str(grid), index, nm, x, y)


def layout_of(rec: Recording) -> pd.DataFrame:
    """The layout table of a grid recording (its grid channels' :data:`LAYOUT_COLUMNS`)."""
    if not is_grid_recording(rec):
        return pd.DataFrame({c: [] for c in LAYOUT_COLUMNS})
    t = rec.channels
    return t.loc[t["grid"].notna(), list(LAYOUT_COLUMNS)].reset_index(drop=True)


# ----------------------------------------------------------------------------- checks on reading
def register_read_check(check: Callable[[Recording], Recording]) -> None:
    """Register a check that the readers run on every grid recording they make.

    :mod:`paraspinal.hdsemg` registers its bad-electrode check
    (:func:`paraspinal.hdsemg.check_on_read`) when it is imported, which ``import
    paraspinal`` always does: the readers (``paraspinal.io``) sit below ``hdsemg`` and
    cannot import it, as ``Recording.save`` reaches its writer through
    ``paraspinal.recording.register_writer``. Registering the same function twice
    keeps one. (The list lives in ``paraspinal._hooks``, which imports nothing heavy.)

    Parameters
    ----------
    check : callable
        ``check(rec) -> Recording`` (a new Recording, e.g. with ``meta["grids"][g]["bad"]``).
    """
    _hooks.register_read_check(check)


def run_read_checks(rec: Recording) -> Recording:
    """Run the registered read checks on a grid recording (a reader calls this last).

    Returns ``rec`` itself for a recording without grids.
    """
    if not is_grid_recording(rec):
        return rec
    for check in _hooks.read_checks():
        rec = check(rec)
    return rec
