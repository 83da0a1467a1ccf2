"""OTBiolab+ MATLAB exports (OT Bioelettronica): electrode grids with their geometry.

OTBiolab+ exports a recording to a MATLAB v5 file with the variables ``Data`` (samples x
channels, often wrapped in a 1 x 1 cell), ``Description`` (one label per column),
``SamplingFrequency`` (Hz) and ``Time`` (s). A grid channel's label names the muscle, the
amplifier input, the grid model and the electrode number, with the unit in brackets::

    Vastus Lateralis - AUX 3 (Channel 1->1) - GR08MM1305 (1)[uV]

Columns whose label holds a grid model and a voltage unit, and which are not decomposition
outputs, are the grid's EMG channels: volts inside, with ``grid, row, col, x_mm, y_mm`` from
the model's numbering (:data:`paraspinal.hdsemg.GRID_MODELS`). Every other column
(motor-unit decomposition outputs ``[a.u]``, force ``[%(MVC)]``, AUX inputs) becomes a
``misc`` channel with its own unit, never an EMG channel. A voltage column without a grid
model (e.g. a bipolar input) is a plain EMG channel.

Grid and channel names. A grid is named after its muscle when the muscle and side are in
paraspinal's vocabulary (``"Left erector spinae"`` gives ``L_ES``), otherwise after the
label's muscle words (``Vastus_Lateralis``); two grids with the same name get ``_1``,
``_2``. Its channels are ``<grid>_<k>`` with the electrode number ``k`` (``L_ES_01``).
``grid_names={"Vastus Lateralis": "R_ES"}`` names grids explicitly (keys: the label's
muscle words or the derived grid name).

References
----------
OT Bioelettronica, OTBiolab+ user manual (MATLAB export). The label layout above is the
one of the real export in the test data (openhdemg's test file, Valli et al. 2024).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..channels import parse_channel_name
from ..errors import ChannelError, ParameterError, ParaspinalWarning, ReadError, SamplingRateError
from ..grids import GRID_MODELS, model_positions, run_read_checks, set_layout
from ..recording import Recording, unit_scale
from ._mat5 import check_mat5

__all__ = ["read_otb_mat", "is_otb_mat", "parse_label", "OTB_VARIABLES"]

#: Variables that make a MAT file an OTBiolab+ export.
OTB_VARIABLES: tuple[str, ...] = ("Data", "Description", "SamplingFrequency")

_MODEL_RE = re.compile(r"\b([A-Z]{2}\d{2,3}[A-Z]{2}\d{4})\s*\((\d+)\)")
_UNIT_RE = re.compile(r"\[([^\]]*)\]\s*$")


def is_otb_mat(path: str | os.PathLike) -> bool:
    """True when ``path`` is a MAT v5 file holding the variables :data:`OTB_VARIABLES`.

    Reads only the variable headers (``scipy.io.whosmat``); never raises.
    """
    import scipy.io

    try:
        check_mat5(Path(path))  # a damaged element would crash scipy, not raise
        names = {v[0] for v in scipy.io.whosmat(os.fspath(path))}
    except Exception:  # not a readable v5 file: the generic MATLAB reader will say why
        return False
    return set(OTB_VARIABLES) <= names


def parse_label(label: str) -> dict[str, Any]:
    """Split an OTBiolab+ column label into its parts.

    Parameters
    ----------
    label : str
        E.g. ``"Vastus Lateralis - AUX 3 (Channel 1->1) - GR08MM1305 (1)[uV]"``.

    Returns
    -------
    dict
        ``kind`` (``"grid"``, ``"emg"`` or ``"misc"``), ``name`` (the label without its
        unit), ``unit`` (``"uV"``, ``"a.u."``, ``"%MVC"``, ... or ``""``), ``model`` and
        ``electrode`` (grid channels, else None), ``prefix`` (the label before the model)
        and ``muscle_words`` (the prefix's first part, e.g. ``"Vastus Lateralis"``).
    """
    text = str(label).strip()
    m_unit = _UNIT_RE.search(text)
    unit = m_unit.group(1).strip() if m_unit else ""
    name = text[: m_unit.start()].strip() if m_unit else text
    unit = {"a.u": "a.u.", "%(MVC)": "%MVC"}.get(unit.replace(" ", ""), unit.replace(" ", ""))
    voltage = unit_scale(unit) is not None
    m_model = _MODEL_RE.search(name)
    decomposition = "decomposition" in name.lower()
    kind = "misc"
    if voltage and not decomposition:
        kind = "grid" if m_model else "emg"
    prefix = name[: m_model.start()].rstrip(" -") if m_model else name
    return {
        "kind": kind,
        "name": name,
        "unit": unit,
        "model": m_model.group(1) if m_model and kind == "grid" else None,
        "electrode": int(m_model.group(2)) if m_model and kind == "grid" else None,
        "prefix": prefix,
        "muscle_words": prefix.split(" - ")[0].strip(),
    }


def _load(path: Path) -> tuple[np.ndarray, list[str], float, float | None, dict[str, Any]]:
    import scipy.io

    check_mat5(path)
    try:
        content = scipy.io.loadmat(os.fspath(path), squeeze_me=False, chars_as_strings=True)
    except Exception as err:  # scipy raises ValueError, TypeError, OSError, zlib.error, MatReadError...
        raise ReadError(f"could not be read as a MAT v5 file: {err}", file=path,
                        hint="the file may be truncated or corrupted; export it again from OTBiolab+") from err
    missing = [v for v in OTB_VARIABLES if v not in content]
    if missing:
        raise ReadError(f"is not an OTBiolab+ export: no variable(s) {missing}", file=path,
                        hint="read other MAT files with format='matlab'")
    data = _unwrap(content["Data"])
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.dtype.kind not in "iuf":
        raise ReadError(f"variable 'Data' is not a numeric matrix ({type(data).__name__})", file=path,
                        hint="export the recording again from OTBiolab+")
    labels = [_text(x) for x in np.asarray(content["Description"], dtype=object).ravel()]
    sfreq = np.asarray(_unwrap(content["SamplingFrequency"]), dtype=float).ravel()
    if sfreq.size != 1 or not np.isfinite(sfreq[0]) or sfreq[0] <= 0:
        raise SamplingRateError(f"'SamplingFrequency' is not a positive scalar ({sfreq})", file=path)
    start = None
    if "Time" in content:
        t = np.asarray(_unwrap(content["Time"]), dtype=float).ravel()
        start = float(t[0]) if t.size else None
    extra = {"otb_file": _text(content["OTBFile"]) if "OTBFile" in content else None}
    return data, labels, float(sfreq[0]), start, extra


def _unwrap(value: Any) -> Any:
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.ravel()[0]
    return value


def _text(value: Any) -> str:
    value = _unwrap(value)
    if isinstance(value, np.ndarray):
        return "".join(str(x) for x in value.ravel()).strip()
    return str(value).strip()


def _grid_names(groups: list[tuple[str, str]], given: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """Name each (prefix, model) grid: given name, canonical muscle name, or the muscle words."""
    base = {}
    for key in groups:
        words = key[0].split(" - ")[0].strip()
        slug = re.sub(r"[^0-9A-Za-z]+", "_", words).strip("_") or "grid"
        if words in given or slug in given:
            base[key] = str(given.get(words, given.get(slug)))
            continue
        info = parse_channel_name(words)
        base[key] = info.name if info.muscle is not None and info.side is not None else slug
    counts = pd.Series(list(base.values())).value_counts()
    seen: dict[str, int] = {}
    out = {}
    for key in groups:
        b = base[key]
        if counts[b] > 1:
            seen[b] = seen.get(b, 0) + 1
            out[key] = f"{b}_{seen[b]}"
        else:
            out[key] = b
    return out


def _per_grid(option: Any, grid: str, default: Any) -> Any:
    return option.get(grid, default) if isinstance(option, Mapping) else option


def read_otb_mat(
    path: str | os.PathLike,
    *,
    grid_names: Mapping[str, str] | None = None,
    rotation: int | Mapping[str, int] = 0,
    flip_x: bool | Mapping[str, bool] = False,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read an OTBiolab+ MATLAB export with its electrode grids.

    Parameters
    ----------
    path : path-like
        The ``.mat`` file (opened read-only).
    grid_names : mapping, optional
        Grid names by the label's muscle words or the derived name
        (``{"Vastus Lateralis": "R_ES"}``); a canonical name sets the grid channels'
        muscle and side.
    rotation : {0, 180} or mapping
        In-plane rotation of each grid (one value, or one per grid name); see
        :func:`paraspinal.hdsemg.model_positions`.
    flip_x : bool or mapping
        Mirror the columns of each grid (one value, or one per grid name).
    channel_map : mapping, optional
        Names for the non-grid channels (``{"acquired data": "FORCE"}``), by their label
        without the unit.
    meta : mapping, optional
        Metadata to attach.
    rename : bool
        Name grid channels ``<grid>_<k>`` (default); False keeps the file's labels (without
        the unit) as channel names.

    Returns
    -------
    Recording
        EMG in volts; ``channels`` has ``grid, row, col, x_mm, y_mm``.
        ``meta["grids"]`` maps each grid to its ``model``, ``ied_mm``, ``n_rows``,
        ``n_cols``, ``label`` (the file's prefix), ``rotation``, ``flip_x`` and ``montage``
        (``"monopolar"``), and the bad electrodes found on the signals as read
        (``bad``, ``bad_check``: :func:`paraspinal.hdsemg.mark_bad`, run through
        ``paraspinal.grids.run_read_checks``); ``meta["otb_start_s"]`` is the export's first time stamp
        (OTBiolab+ exports a segment; the Recording's own clock starts at 0).

    Raises
    ------
    ReadError
        Not readable, or not an OTBiolab+ export.
    ChannelError
        Labels and data columns disagree, or a grid electrode appears twice.
    """
    path = Path(path)
    rotations = rotation.values() if isinstance(rotation, Mapping) else [rotation]
    if any(r not in (0, 180) for r in rotations):
        raise ParameterError(f"rotation={rotation!r}", file=path, hint="use 0 or 180 (degrees), or {grid: 0 | 180}")
    data, labels, sfreq, start, extra = _load(path)
    if data.shape[1] != len(labels):
        if data.shape[0] == len(labels):
            data = data.T
        else:
            raise ChannelError(f"{len(labels)} labels in 'Description' for a {data.shape[0]} x {data.shape[1]} "
                               "'Data' matrix", file=path, hint="export the recording again from OTBiolab+")
    parts = [parse_label(lab) for lab in labels]
    groups = list(dict.fromkeys((p["prefix"], p["model"]) for p in parts if p["kind"] == "grid"))
    names_of = _grid_names(groups, dict(grid_names or {}))
    channel_map = dict(channel_map or {})
    unknown_map = sorted(set(channel_map) - {p["name"] for p in parts if p["kind"] != "grid"})
    if unknown_map:
        raise ChannelError(f"channel_map names channels that are not in the file: {unknown_map}", file=path,
                           hint=f"non-grid channels are {[p['name'] for p in parts if p['kind'] != 'grid']}")
    names, types, units = [], [], []
    for p in parts:
        if p["kind"] == "grid":
            grid = names_of[(p["prefix"], p["model"])]
            names.append(f"{grid}_{p['electrode']:02d}" if rename else p["name"])
        else:
            names.append(channel_map.get(p["name"], p["name"]))
        types.append("misc" if p["kind"] == "misc" else "emg")
        units.append(p["unit"] if p["unit"] else "")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ChannelError(f"channels {dup} appear more than once", file=path,
                           hint="each grid electrode must appear once; rename channels with channel_map")
    out_meta = {**extra, "otb_start_s": start, **dict(meta or {})}
    rec = Recording.from_array(data.T, sfreq, names, units=units, ch_types=types, rename=False, meta=out_meta,
                               file=path, units_from_file=True)
    return _attach_grids(rec, parts, labels, names, names_of, rotation, flip_x, path)


def _attach_grids(rec: Recording, parts, labels, names, names_of, rotation, flip_x, path: Path) -> Recording:
    unknown_models = []
    layouts = []
    info: dict[str, dict[str, Any]] = {}
    for (prefix, model), grid in names_of.items():
        idx = [i for i, p in enumerate(parts) if p["kind"] == "grid" and (p["prefix"], p["model"]) == (prefix, model)]
        if model not in GRID_MODELS:
            unknown_models.append(f"{grid} ({model})")
            continue
        rot, flip = _per_grid(rotation, grid, 0), bool(_per_grid(flip_x, grid, False))
        pos = model_positions(model, rotation=rot, flip_x=flip).set_index("electrode")
        numbers = [parts[i]["electrode"] for i in idx]
        outside = [k for k in numbers if k not in pos.index]
        if outside:
            raise ChannelError(f"grid {grid!r} ({model}) has electrode number(s) {outside} beyond its "
                               f"{len(pos)} electrodes", file=path, hint="check the grid model in OTBiolab+")
        sel = pos.loc[numbers]
        layouts.append(pd.DataFrame({"name": [names[i] for i in idx], "grid": grid, "row": sel["row"].to_numpy(),
                                     "col": sel["col"].to_numpy(), "x_mm": sel["x_mm"].to_numpy(),
                                     "y_mm": sel["y_mm"].to_numpy()}))
        m = GRID_MODELS[model]
        info[grid] = {"model": model, "ied_mm": m.ied_mm, "n_rows": m.n_rows, "n_cols": m.n_cols, "label": prefix,
                      "rotation": rot, "flip_x": flip, "montage": "monopolar"}
    if unknown_models:
        warnings.warn(f"{path}: grid model(s) {unknown_models} have no known electrode numbering; their channels are "
                      "read as EMG without positions. Give the layout with paraspinal.hdsemg.set_layout.",
                      ParaspinalWarning, stacklevel=3)
    if layouts:
        rec = set_layout(rec, pd.concat(layouts, ignore_index=True))
    rec = _set_muscles(rec, names_of, labels, path)
    rec.meta["grids"] = info
    return run_read_checks(rec)  # bad electrodes, judged on the signals as read (paraspinal.hdsemg)


def _set_muscles(rec: Recording, names_of, labels, path: Path) -> Recording:
    """Muscle, side and level of grid channels from the grid name (warn once when unknown); file labels."""
    table = rec.channels.copy()
    table["source_name"] = list(labels)
    unrecognised = []
    for grid in names_of.values():
        info = parse_channel_name(grid)
        sel = (table["grid"] == grid) if "grid" in table.columns else pd.Series(False, index=table.index)
        if not sel.any():
            continue
        if info.muscle is None or info.side is None:
            unrecognised.append(grid)
        table.loc[sel, "muscle"] = info.muscle
        table.loc[sel, "side"] = info.side
        table.loc[sel, "level"] = info.level
    if unrecognised:
        warnings.warn(f"{path}: grid(s) {unrecognised} without a recognised muscle and side; their channels keep "
                      "muscle=None. Pass grid_names={'<muscle words>': 'L_ES', ...} to name them.",
                      ParaspinalWarning, stacklevel=4)
    return Recording(rec.raw, table, rec.meta)

