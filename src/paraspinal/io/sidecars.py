"""BIDS sidecars beside a data file: read them and apply them to a Recording read from it.

The readers of EDF and BDF (:mod:`paraspinal.io.mne_formats`) call :func:`apply_sidecars` for
files named ``sub-*``; :mod:`paraspinal.io.bids` re-exports these names and writes the
sidecars (``channels.tsv`` with paraspinal's ``muscle``/``side``/``level`` columns,
``events.tsv`` with ``cycle``, ``participants.tsv`` with ``group``). This module imports no
other reader, so both can use it without importing each other.

References
----------
BIDS specification, "Electromyography" and "Participants file"
(https://bids-specification.readthedocs.io).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ChannelError, ParaspinalWarning, ReadError
from ..grids import layout_from_electrodes, run_read_checks, set_layout
from ..recording import Recording, normalise_group, unit_scale

__all__ = ["NA", "apply_sidecars", "apply_electrodes", "electrode_files", "events_to_phases", "parse_entities",
           "read_tsv", "read_participants", "participant_row", "sidecar_of", "same_file", "sidecar_exists"]

#: How BIDS tables write a missing value.
NA = "n/a"
_BIDS_TYPES = {"EMG": "emg", "ECG": "ecg"}


def parse_entities(path: str | os.PathLike) -> dict[str, str]:
    """Read the BIDS entities of a file name.

    Parameters
    ----------
    path : path-like
        E.g. ``sub-01_ses-2_task-frt_run-1_emg.edf``.

    Returns
    -------
    dict
        ``{"sub": "01", "ses": "2", "task": "frt", "run": "1", "suffix": "emg"}``; empty when
        the name is not a BIDS name (no ``sub-`` entity first).

    Examples
    --------
    >>> parse_entities("sub-01_task-frt_emg.edf")
    {'sub': '01', 'task': 'frt', 'suffix': 'emg'}
    """
    name = Path(path).name
    stem = name.split(".")[0]
    parts = stem.split("_")
    out: dict[str, str] = {}
    for part in parts[:-1]:
        if "-" not in part:
            return {}
        key, _, value = part.partition("-")
        out[key] = value
    if "sub" not in out or not parts[0].startswith("sub-"):
        return {}
    out["suffix"] = parts[-1]
    return out


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name one file: the same path, or two names (a link) of one file."""
    a, b = Path(a), Path(b)
    if os.path.abspath(a) == os.path.abspath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (or cannot be looked at)
        return False


def sidecar_of(path: str | os.PathLike, suffix: str, ext: str) -> Path | None:
    """The BIDS sidecar ``<base>_<suffix><ext>`` of a data file, or None when that is the data file itself.

    A recording may be named like its own sidecar (a text recording ``sub-01_task-frt_events.tsv``):
    a sidecar path never equals, or links to, the data file, so nothing read as a sidecar (or
    written to one) can be the recording.

    Examples
    --------
    >>> sidecar_of("sub-01_task-frt_emg.edf", "events", ".tsv").name
    'sub-01_task-frt_events.tsv'
    >>> sidecar_of("sub-01_task-frt_events.tsv", "events", ".tsv") is None
    True
    """
    path = Path(path)
    stem = path.name.split(".")[0]
    base = stem.rsplit("_", 1)[0]
    side = path.with_name(f"{base}_{suffix}{ext}")
    return None if same_file(side, path) else side


def sidecar_exists(path: Path | None, what: str = "sidecar") -> bool:
    """True for a sidecar file that exists; False when there is none.

    Raises
    ------
    ReadError
        The name exists but is not a regular file (a folder, a broken link, a device): a
        sidecar that cannot be read is an error, never silently ignored.
    """
    if path is None:
        return False
    if path.is_file():
        return True
    if path.exists() or path.is_symlink():
        kind = "a folder" if path.is_dir() else "a broken link" if not path.exists() else "not a regular file"
        raise ReadError(f"the {what} is {kind}, not a table", file=path,
                        hint=f"remove or rename it, or replace it with the {what} file")
    return False


def _find_root(path: Path) -> Path | None:
    for parent in list(path.parents)[:5]:
        if (parent / "dataset_description.json").is_file():
            return parent
    return None


def read_tsv(path: Path) -> pd.DataFrame:
    """A BIDS table, every cell as text (``n/a`` kept as the text it is)."""
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise ReadError(f"could not read the BIDS sidecar: {err}", file=path,
                        hint="it must be a tab-separated table with a header row") from err


def read_participants(path: Path) -> pd.DataFrame:
    """``participants.tsv`` as text, with a ``participant_id`` column (ids stripped of white space).

    Raises
    ------
    ReadError
        The table cannot be read, or has no ``participant_id`` column.
    """
    table = read_tsv(path)
    if "participant_id" not in table.columns:
        raise ReadError("participants.tsv has no participant_id column", file=path,
                        hint="the first column must be participant_id (sub-<label>)")
    return table.assign(participant_id=table["participant_id"].str.strip())


def participant_row(table: pd.DataFrame, participant: str, path: Path) -> dict[str, str] | None:
    """The row of one participant (``sub-<label>``) of :func:`read_participants`, or None when it has none.

    Raises
    ------
    ReadError
        The participant has more than one row: which one is right (a patient could become a
        control) cannot be guessed.
    """
    rows = table.index[table["participant_id"] == participant]
    if len(rows) > 1:
        raise ReadError(f"participants.tsv lists {participant} {len(rows)} times (lines "
                        f"{[int(i) + 2 for i in rows]})", file=path,
                        hint="keep one row per participant: which group is right cannot be guessed")
    return table.loc[rows[0]].to_dict() if len(rows) else None


def _opt(value: str) -> str | None:
    return None if value in ("", NA) else value


def _run_value(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def apply_sidecars(rec: Recording, path: str | os.PathLike) -> Recording:
    """Apply the BIDS sidecars of a data file to a Recording read from it.

    Parameters
    ----------
    rec : Recording
        Read from ``path`` (EDF or BDF).
    path : path-like
        The data file, e.g. ``ROOT/sub-01/emg/sub-01_task-frt_emg.edf``.

    Returns
    -------
    Recording
        A new Recording with, when the sidecars exist: channel types, units and
        ``muscle``/``side``/``level`` from ``*_channels.tsv``; phases (with ``cycle``) from
        ``*_events.tsv`` (replacing the file's own annotations); electrode grids from
        ``*_electrodes.tsv`` and ``*_coordsystem.json`` (:func:`apply_electrodes`); ``group`` (and ``age``,
        ``sex`` when given) from ``participants.tsv``; ``subject``, ``session``, ``task``,
        ``run`` from the file name. Metadata already set (e.g. passed as ``meta=`` to the
        reader) is kept. Without sidecars, ``rec`` itself is returned unchanged.

    Raises
    ------
    ReadError
        A sidecar exists but cannot be parsed, or lacks a required column.

    References
    ----------
    BIDS specification, "Electromyography" and "Participants file"
    (https://bids-specification.readthedocs.io).
    """
    path = Path(path)
    ents = parse_entities(path)
    if not ents:
        return rec
    channels_tsv = sidecar_of(path, "channels", ".tsv")
    events_tsv = sidecar_of(path, "events", ".tsv")
    root = _find_root(path)
    participants = root / "participants.tsv" if root is not None else None
    has_channels = sidecar_exists(channels_tsv, "BIDS channels.tsv")
    has_events = sidecar_exists(events_tsv, "BIDS events.tsv")
    has_participants = sidecar_exists(participants, "participants.tsv")
    electrodes = electrode_files(path)
    if not (has_channels or has_events or has_participants or electrodes):
        return rec

    out = rec
    if has_channels:
        out = _apply_channels(out, read_tsv(channels_tsv), channels_tsv)
    if has_events:
        out = _apply_events(out, read_tsv(events_tsv), events_tsv)
    if electrodes:
        out = apply_electrodes(out, electrodes, channels_tsv if has_channels else None)
    meta = dict(out.meta)
    found: dict[str, Any] = {"subject": ents.get("sub"), "session": ents.get("ses"), "task": ents.get("task"),
                             "run": _run_value(ents["run"]) if "run" in ents else None}
    if has_participants:
        row = participant_row(read_participants(participants), f"sub-{ents['sub']}", participants)
        if row is not None:
            for col in ("group", "age", "sex"):
                if _opt(row.get(col, NA)) is not None:
                    found[col] = row[col]
            if found.get("group") is not None and meta.get("group") is None:
                found["group"], note = normalise_group(found["group"])
                if note:
                    warnings.warn(f"{participants}: sub-{ents['sub']}: {note}", ParaspinalWarning, stacklevel=3)
        elif meta.get("group") is None:
            warnings.warn(f"{participants}: sub-{ents['sub']} has no row, so the recording has no group",
                          ParaspinalWarning, stacklevel=3)
    for key, value in found.items():
        if value is not None and meta.get(key) is None:
            meta[key] = value
    meta["bids_root"] = os.fspath(root) if root is not None else None
    return Recording(out.raw, out.channels, meta)


def _apply_channels(rec: Recording, tsv: pd.DataFrame, file: Path) -> Recording:
    need = {"name", "type", "units"}
    if not need <= set(tsv.columns):
        raise ReadError(f"channels.tsv lacks the columns {sorted(need - set(tsv.columns))}", file=file,
                        hint="BIDS requires name, type and units")
    table = rec.channels.copy()
    by_name = {n: i for i, n in enumerate(tsv["name"])}
    seen: dict[str, int] = {}
    for n in tsv["name"]:
        seen[n] = seen.get(n, 0) + 1
    dup = sorted(n for n, k in seen.items() if k > 1)
    if dup:
        raise ReadError(f"channels.tsv lists the channel(s) {dup} more than once", file=file,
                        hint="give each channel one row")
    new_types = {}
    matched, unlisted = set(), []
    for i in range(len(table)):
        j = by_name.get(table.at[i, "source_name"], by_name.get(table.at[i, "name"]))
        if j is None:
            unlisted.append(table.at[i, "name"])
            continue
        matched.add(j)
        row = tsv.iloc[j]
        typ = _BIDS_TYPES.get(row["type"].upper(), "misc")
        if typ != table.at[i, "type"]:
            new_types[table.at[i, "name"]] = typ
            table.at[i, "type"] = typ
        unit = _opt(row["units"])
        if unit is not None:
            table.at[i, "unit"] = "V" if unit_scale(unit) is not None else unit
        for col in ("muscle", "side", "level"):
            if col in tsv.columns:
                table.at[i, col] = _opt(row[col]) if typ == "emg" else None
    raw = rec.raw  # unchanged channel types: shared, as Recording.with_meta shares it
    if new_types:
        raw = rec.raw.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw.set_channel_types(new_types, verbose=False)
    absent = [n for j, n in enumerate(tsv["name"]) if j not in matched]
    if absent or unlisted:
        said = []
        if absent:
            said.append(f"it lists {absent} that the data file does not hold")
        if unlisted:
            said.append(f"it does not list the data file's {unlisted} (their types and units come from the data "
                        "file)")
        warnings.warn(f"{file}: channels.tsv and the data file disagree: {'; '.join(said)}. Check that the "
                      "sidecar belongs to this recording", ParaspinalWarning, stacklevel=4)
    return Recording(raw, table, rec.meta)


def events_to_phases(tsv: pd.DataFrame, file: str | os.PathLike | None = None) -> pd.DataFrame:
    """Turn a BIDS ``events.tsv`` table into a phase table.

    Parameters
    ----------
    tsv : pandas.DataFrame
        The events table read as text (``onset``, ``duration`` in seconds; ``trial_type``;
        optional ``cycle``; ``n/a`` for missing values).
    file : path-like, optional
        Named in errors.

    Returns
    -------
    pandas.DataFrame
        ``onset, duration, phase, cycle`` (``cycle`` nullable integer; rows without a
        ``trial_type`` column are called ``"event"``).

    Raises
    ------
    ReadError
        ``onset`` or ``duration`` missing or not numeric.
    """
    if not {"onset", "duration"} <= set(tsv.columns):
        raise ReadError("events.tsv lacks onset or duration", file=file, hint="BIDS requires both columns")
    try:
        onset = tsv["onset"].astype(float).to_numpy()
        duration = pd.to_numeric(tsv["duration"].replace(NA, "0")).to_numpy(dtype=float)
    except ValueError as err:
        raise ReadError(f"events.tsv has a non-numeric onset or duration: {err}", file=file,
                        hint="onset and duration are seconds") from err
    bad = np.flatnonzero(~np.isfinite(onset) | ~np.isfinite(duration) | (duration < 0))
    if bad.size:
        i = int(bad[0])
        raise ReadError(f"events.tsv line {i + 2}: onset {tsv['onset'].iat[i]!r}, duration {tsv['duration'].iat[i]!r} "
                        f"is not a time span ({bad.size} such row(s))", file=file,
                        hint="onsets are finite seconds and durations finite and >= 0 (n/a for a point event)")
    phase = tsv["trial_type"].astype(str).tolist() if "trial_type" in tsv.columns else ["event"] * len(tsv)
    cycle = [_cycle(c, i, file) for i, c in enumerate(tsv["cycle"])] if "cycle" in tsv.columns else [None] * len(tsv)
    return pd.DataFrame({"onset": onset, "duration": duration, "phase": phase,
                         "cycle": pd.array(cycle, dtype="Int64")})


def _cycle(value: str, i: int, file) -> int | None:
    """A ``cycle`` cell: a whole number (``2``, ``2.0``), or ``n/a``; anything else is an error, never truncated."""
    if _opt(value) is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = np.nan
    if not (np.isfinite(number) and number.is_integer() and number >= 0):
        raise ReadError(f"events.tsv line {i + 2}: cycle {value!r} is not a cycle number", file=file,
                        hint="cycle holds whole numbers (1, 2, ...) or n/a")
    return int(number)


def _apply_events(rec: Recording, tsv: pd.DataFrame, file: Path) -> Recording:
    return rec.with_phases(events_to_phases(tsv, file))


# ----------------------------------------------------------------------------- electrode grids
_LENGTH_UNITS = ("mm", "cm", "m")
_MIN_GRID = 4  # fewer electrodes in a group are bipolar pairs or single electrodes, not a grid


def _inherited(path: Path, suffix: str, ext: str) -> list[Path]:
    """Sidecars ``suffix``+``ext`` that apply to a data file by the BIDS inheritance principle.

    Files in the data file's folder and its parents (up to the subject's folder) whose
    entities (``space`` aside) are a subset of the data file's; the most specific level only.
    """
    ents = parse_entities(path)
    best: list[Path] = []
    best_n = -1
    folder = path.parent
    for _ in range(3):
        for f in sorted(folder.glob(f"sub-*_{suffix}{ext}")):
            e = parse_entities(f)
            e.pop("suffix", None)
            e.pop("space", None)
            if not all(ents.get(k) == v for k, v in e.items()):
                continue
            if len(e) > best_n:
                best, best_n = [f], len(e)
            elif len(e) == best_n:
                best.append(f)
        if best or folder.name.startswith("sub-"):
            break
        folder = folder.parent
    return best


def electrode_files(path: str | os.PathLike) -> tuple[Path, list[Path]] | None:
    """The ``*_electrodes.tsv`` and ``*_coordsystem.json`` files of a BIDS-EMG data file.

    Parameters
    ----------
    path : path-like
        The data file.

    Returns
    -------
    (Path, list of Path) or None
        The electrodes table and the coordinate-system files (one, or one per ``space-``
        label), found by the inheritance principle (``sub-01_electrodes.tsv`` applies to
        every task of subject 01); None without an electrodes table.

    Raises
    ------
    ReadError
        Several electrodes tables apply equally (e.g. two ``space-`` labels).
    """
    path = Path(path)
    tables = _inherited(path, "electrodes", ".tsv")
    if not tables:
        return None
    if len(tables) > 1:
        raise ReadError(f"several electrodes tables apply: {[t.name for t in tables]}", file=path,
                        hint="keep one *_electrodes.tsv per subject/session (BIDS inheritance), or use acq-")
    return tables[0], _inherited(path, "coordsystem", ".json")


def _coordinate_units(files: list[Path]) -> dict[str | None, str]:
    """Units of each named coordinate system (key None: the file's top-level system)."""
    out: dict[str | None, str] = {}
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ReadError(f"could not read the coordinate system: {err}", file=f,
                            hint="it must be a JSON object (BIDS *_coordsystem.json)") from err
        space = parse_entities(f).get("space")

        def unit(d: dict) -> str | None:
            u = d.get("EMGCoordinateUnits", d.get("EMGCoordinateSystemUnits"))
            return None if u is None else str(u)

        if isinstance(doc, dict) and unit(doc) is not None:
            out[space] = unit(doc)
        if isinstance(doc, dict):
            for name, sub in doc.items():
                if isinstance(sub, dict) and unit(sub) is not None:
                    out[str(name)] = unit(sub)
    return out


def _electrode_positions(rec: Recording, tsv: pd.DataFrame, channels: pd.DataFrame | None, file: Path
                         ) -> pd.DataFrame:
    """``name`` (channel), ``x``, ``y``, ``grid``, ``system`` of each EMG channel with a grid electrode."""
    need = {"name", "x", "y"}
    if not need <= set(tsv.columns):
        raise ReadError(f"electrodes.tsv lacks the columns {sorted(need - set(tsv.columns))}", file=file,
                        hint="BIDS requires name, x, y (z and coordinate_system as the coordinate system needs)")
    grid = tsv["group"] if "group" in tsv.columns else pd.Series(NA, index=tsv.index)
    system = tsv["coordinate_system"] if "coordinate_system" in tsv.columns else pd.Series(NA, index=tsv.index)
    grid = grid.where(grid.map(_opt).notna(), system)
    x = pd.to_numeric(tsv["x"].replace(NA, np.nan), errors="coerce")
    y = pd.to_numeric(tsv["y"].replace(NA, np.nan), errors="coerce")
    where = {(str(n), str(g)): (xv, yv, str(g), str(c)) for n, g, c, xv, yv in zip(tsv["name"], grid, system, x, y)
             if _opt(str(g)) is not None and np.isfinite(xv) and np.isfinite(yv)}
    by_name: dict[str, list[tuple]] = {}
    for (n, _), v in where.items():
        by_name.setdefault(n, []).append(v)
    link: dict[str, tuple[str, str | None, str | None]] = {}  # channel (file name) -> (signal, reference, group)
    if channels is not None and "signal_electrode" in channels.columns:
        ref = channels["reference_electrode"] if "reference_electrode" in channels.columns else None
        grp = channels["group"] if "group" in channels.columns else None
        for i, name in enumerate(channels["name"]):
            sig = _opt(channels["signal_electrode"].iat[i])
            if sig is not None:
                link[str(name)] = (sig, None if ref is None else _opt(ref.iat[i]), None if grp is None else
                                   _opt(grp.iat[i]))
    rows = []
    for name, src, typ in zip(rec.channels["name"], rec.channels["source_name"], rec.channels["type"]):
        if typ != "emg":
            continue
        sig, ref, grp = link.get(str(src), link.get(str(name), (str(src), None, None)))
        cands = [v for v in by_name.get(sig, []) if grp is None or v[2] == grp]
        if len(cands) != 1:
            continue
        xv, yv, g, c = cands[0]
        other = [v for v in by_name.get(ref, []) if v[2] == g] if ref is not None else []
        if len(other) == 1:  # a differential channel sits between its two electrodes
            xv, yv = (xv + other[0][0]) / 2, (yv + other[0][1]) / 2
        rows.append({"name": str(name), "x": xv, "y": yv, "grid": g, "system": c})
    out = pd.DataFrame(rows, columns=["name", "x", "y", "grid", "system"])
    # the frame's origin: the smallest electrode position of each group (not of its channels' midpoints)
    out.attrs["origin"] = {g: (min(v[0] for vs in by_name.values() for v in vs if v[2] == g),
                               min(v[1] for vs in by_name.values() for v in vs if v[2] == g))
                           for g in set(out["grid"])}
    return out


def apply_electrodes(rec: Recording, files: tuple[Path, list[Path]], channels_tsv: Path | None = None) -> Recording:
    """Attach the electrode grids of a BIDS-EMG ``*_electrodes.tsv`` to a Recording.

    Each group of electrodes (the ``group`` column, else ``coordinate_system``) with at least
    four EMG channels at positions on a regular lattice becomes a grid (columns ``grid, row,
    col, x_mm, y_mm`` of the channel table; :func:`paraspinal.grids.layout_from_electrodes`).
    A channel is linked to its electrode through ``signal_electrode`` (and ``group``) of
    ``*_channels.tsv``, else by name; a channel whose ``reference_electrode`` is in the same
    grid sits at the midpoint of the two. Units come from ``*_coordsystem.json``
    (``EMGCoordinateUnits``, per named coordinate system or for the file; mm, cm or m).
    Then the grids' bad electrodes are checked on the signals as read
    (:func:`paraspinal.grids.run_read_checks`).

    Parameters
    ----------
    rec : Recording
        Read from the data file.
    files : (Path, list of Path)
        From :func:`electrode_files`.
    channels_tsv : Path, optional
        The recording's ``*_channels.tsv``.

    Returns
    -------
    Recording
        With the grids, and ``meta["grids"][grid]`` (``model`` from ``GridModel`` in the
        coordinate system when given, ``ied_mm``, ``n_rows``, ``n_cols``, ``label``,
        ``montage``, ``positions``). Groups that are not grids, or whose unit cannot be
        turned into mm, are left without positions, with a
        :class:`~paraspinal.errors.ParaspinalWarning`.

    References
    ----------
    BIDS specification, "Electromyography": electrodes description and coordinate systems
    (https://bids-specification.readthedocs.io).
    """
    table_file, systems_files = files
    pos = _electrode_positions(rec, read_tsv(table_file), read_tsv(channels_tsv) if channels_tsv else None,
                               table_file)
    if pos.empty:
        return rec
    units = _coordinate_units(systems_files)
    layouts, info, skipped = [], {}, []
    for g, part in pos.groupby("grid", sort=False):
        if len(part) < _MIN_GRID:
            continue
        system = part["system"].iat[0]
        unit = units.get(system, units.get(g, units.get(None)))
        if unit not in _LENGTH_UNITS:
            skipped.append(f"{g} (unit {unit!r}" + (")" if unit else ": no *_coordsystem.json gives it)"))
            continue
        try:
            lay = layout_from_electrodes(part, grid_column="grid", unit=unit, origin=pos.attrs["origin"])
        except ChannelError as err:
            skipped.append(f"{g} ({err})")
            continue
        layouts.append(lay)
        step = [np.diff(np.unique(np.round(lay[c], 6))) for c in ("x_mm", "y_mm")]
        ied = min(float(d.min()) for d in step if d.size) if any(d.size for d in step) else None
        info[str(g)] = {"model": _system_field(systems_files, system, g, "GridModel"), "ied_mm": ied,
                        "n_rows": int(lay["row"].max()) + 1, "n_cols": int(lay["col"].max()) + 1, "label": str(g),
                        "rotation": 0, "flip_x": False,
                        "montage": _system_field(systems_files, system, g, "Montage") or "monopolar",
                        "positions": table_file.name}
    if skipped:
        warnings.warn(f"{table_file}: electrode groups {skipped} are not read as grids; their channels have no "
                      "positions", ParaspinalWarning, stacklevel=4)
    if not layouts:
        return rec
    out = set_layout(rec, pd.concat(layouts, ignore_index=True))
    out.meta["grids"] = {**(out.meta.get("grids") or {}), **info}
    return run_read_checks(out)


def _system_field(files: list[Path], system: str, grid: str, key: str) -> str | None:
    """A field of the named coordinate system of a grid (or of the file), e.g. ``GridModel``."""
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        space = parse_entities(f).get("space")
        for d in (doc.get(system), doc.get(grid), doc if space in (None, system, grid) else None):
            if isinstance(d, dict) and d.get(key) is not None:
                return str(d[key])
    return None
