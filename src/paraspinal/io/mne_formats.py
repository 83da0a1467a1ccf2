"""EDF/EDF+, BDF/BDF+, BrainVision and FIF through MNE-Python, and writing EDF/BDF/FIF.

EDF+ and BDF+ annotations, BrainVision markers and FIF annotations become the
Recording's phases. An EDF or BDF inside a BIDS-EMG dataset (with ``channels.tsv`` /
``events.tsv`` beside it) also gets its sidecars: see :mod:`paraspinal.io.bids`.

References
----------
Kemp B, Olivan J (2003). European data format 'plus' (EDF+), an EDF alike standard format
for the exchange of physiological data. Clin Neurophysiol 114:1755-1761.
Gramfort A et al. (2013). MEG and EEG data analysis with MNE-Python. Front Neurosci 7:267.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pandas as pd

from ..errors import ParameterError, ParaspinalError, ParaspinalWarning, ReadError, WriteError
from ..recording import Recording, annotations_copy
from .sidecars import apply_sidecars

__all__ = ["read_edf", "read_bdf", "read_fif", "read_brainvision", "write_mne"]

_META_TAG = "paraspinal:"


_MNE_SUFFIX = {"EDF": ".edf", "BDF": ".bdf", "FIF": ".fif"}


def _wrap(path: Path, fmt: str, func, **kwargs) -> mne.io.BaseRaw:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # MNE's notes on channel-name clean-ups
            suffix = _MNE_SUFFIX.get(fmt)
            if suffix and not path.name.lower().endswith((suffix, suffix + ".gz")):
                # MNE chooses by suffix; the content said fmt, so read it through a link
                with tempfile.TemporaryDirectory() as tmp:
                    link = Path(tmp) / f"{path.stem}{suffix}"
                    link.symlink_to(path.resolve())
                    raw = func(link, preload=True, verbose="error", **kwargs)
                    raw._filenames = [path]
                    return raw
            return func(path, preload=True, verbose="error", **kwargs)
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - MNE raises bare Exception, TypeError, configparser errors... on bad bytes
        raise ReadError(
            f"could not be read as {fmt}: {err}",
            file=path,
            hint=f"the file may be truncated or corrupted; open it in the acquisition software and re-export it as {fmt}",
        ) from err


def _finish(
    raw: mne.io.BaseRaw,
    path: Path,
    channel_map: Mapping[str, str] | None,
    meta: Mapping[str, Any] | None,
    rename: bool,
    units: Mapping[str, str] | None = None,
) -> Recording:
    units = dict(units or {})
    # EDF/BDF keep a physical dimension per channel. MNE scales voltages to volts and reads
    # everything else unscaled: keep those channels' own units (deg, g, ...).
    for name, dim in _orig_units(raw).items():
        dim = (dim or "").strip()
        if name not in units and dim and dim.lower() not in _VOLTS and dim.lower() != "n/a":
            units[name] = dim
    stored_meta = _meta_from_description(raw)
    from_header = {}
    his_id = (raw.info.get("subject_info") or {}).get("his_id")
    if his_id and his_id not in ("X", "x"):
        from_header["subject"] = str(his_id)
    meta = {**from_header, **stored_meta.get("meta", {}), **(dict(meta) if meta else {})}
    units = {**stored_meta.get("units", {}), **units}
    try:
        rec = Recording.from_mne(raw, meta=meta, channel_map=channel_map, units=units, rename=rename, copy=False,
                                 allow_nan=False)
    except ParaspinalError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as err:  # MNE, on the channel info of a damaged file
        raise ReadError(f"its channel information cannot be used: {err}", file=path,
                        hint="the file may be corrupted; re-export it") from err
    ann = raw.annotations
    if len(ann) and any(_CYCLE_RE.match(d) for d in ann.description):
        # EDF+/BDF+ annotations written by paraspinal carry the cycle as "phase [cycle N]"
        matches = [_CYCLE_RE.match(d) for d in ann.description]
        desc = [m.group(1) if m else d for m, d in zip(matches, ann.description)]
        extras = [{"cycle": int(m.group(2))} if m else {} for m in matches]
        raw.set_annotations(annotations_copy(raw, description=desc, extras=extras))
    if "cycles" in stored_meta:
        phases = rec.phases
        cyc = stored_meta["cycles"]
        if len(cyc) == len(phases):
            phases["cycle"] = [c if c is not None else None for c in cyc]
            rec = rec.with_phases(phases)
    return rec


_CYCLE_RE = re.compile(r"^(.*) \[cycle (\d+)\]$")
_VOLTS = {"uv", "µv", "μv", "mv", "v", "nv"}


def _edf_header(path: Path, fmt: str) -> tuple[list[str], np.ndarray, float, list[str], dict[int, str]]:
    """Check an EDF/BDF file's size and its signals' ranges against its header.

    Returns labels, samples per record, record length (s), physical dimensions, and the
    signals whose ranges scale nothing (index -> reason, see :func:`_check_ranges`).

    The fixed header is 256 bytes, then 256 bytes per signal (Kemp & Olivan 2003): labels (16 B each),
    transducer (80), physical dimension (8), physical min/max (8, 8), digital min/max (8, 8),
    prefiltering (80), samples per data record (8), reserved (32). EDF stores 2 bytes per sample,
    BDF 3.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(256)
        try:
            header_bytes = int(head[184:192])
            n_records = int(head[236:244])
            record_s = float(head[244:252])
            ns = int(head[252:256])
        except ValueError as err:
            raise ReadError(f"the {fmt} header is malformed ({err})", file=path,
                            hint=f"the file is corrupted; re-export it as {fmt}") from err
        if ns <= 0 or header_bytes != 256 * (ns + 1):
            raise ReadError(f"the {fmt} header is inconsistent ({ns} signals, {header_bytes} header bytes)",
                            file=path, hint=f"the file is corrupted; re-export it as {fmt}")
        sig = fh.read(256 * ns)
    if len(sig) < 256 * ns:
        raise ReadError(f"the {fmt} file is truncated inside its header", file=path,
                        hint="copy the whole file again from the acquisition computer")
    labels = [sig[i * 16:(i + 1) * 16].decode("latin-1").strip() for i in range(ns)]
    if record_s <= 0 and any("annotations" not in lab.lower() for lab in labels):
        raise ReadError(f"the {fmt} header gives a data record of {record_s:g} s, so the signals have no "
                        "sampling rate", file=path, hint=f"the header is corrupted; re-export the file as {fmt}")
    dims = [sig[ns * 96 + i * 8: ns * 96 + (i + 1) * 8].decode("latin-1").strip() for i in range(ns)]
    off = ns * 216
    try:
        spr = np.array([int(sig[off + i * 8: off + (i + 1) * 8]) for i in range(ns)])
    except ValueError as err:
        raise ReadError(f"the {fmt} header's samples-per-record field is malformed", file=path,
                        hint=f"the file is corrupted; re-export it as {fmt}") from err
    bad = _check_ranges(path, fmt, sig, ns, labels)
    width = 3 if fmt == "BDF" else 2
    if n_records > 0:
        expected = header_bytes + n_records * int(spr.sum()) * width
        if size < expected:
            raise ReadError(
                f"the {fmt} file is truncated: {size} bytes, its header announces {expected} "
                f"({n_records} records of {record_s:g} s)",
                file=path,
                hint="copy the whole file again from the acquisition computer, or re-export it",
            )
    return labels, spr, record_s, dims, bad


def _header_numbers(sig: bytes, ns: int, field: int, labels: list[str], what: str, path: Path,
                    fmt: str) -> np.ndarray:
    """One 8-byte numeric field of every signal header (field offset in bytes per signal, x ns)."""
    out = np.empty(ns)
    for i in range(ns):
        text = sig[ns * field + i * 8: ns * field + (i + 1) * 8]
        try:
            out[i] = float(text)
        except ValueError:
            raise ReadError(f"the {fmt} header's {what} field is not a number ({text!r})", file=path,
                            channel=labels[i], hint=f"the file is corrupted; re-export it as {fmt}") from None
    return out


#: Why a channel whose header ranges cannot scale its samples is left out (by kind of fault).
_DEGENERATE = {
    "physical": "the header gives physical minimum = maximum ({pmin:g} {dim}), so every sample would read as "
                "that one value",
    "digital": "the header gives digital minimum {dmin:g} >= maximum {dmax:g}, so its samples cannot be scaled "
               "(a division by {span:g})",
}


def _check_ranges(path: Path, fmt: str, sig: bytes, ns: int, labels: list[str]) -> dict[int, str]:
    """Check each signal's physical and digital range (Kemp & Olivan 2003: value = pmin + (d - dmin) *
    (pmax - pmin) / (dmax - dmin)). A range that scales nothing is a fault of that channel, returned
    as ``{signal index: reason}``; the reader leaves those channels out, with a warning."""
    pmin = _header_numbers(sig, ns, 104, labels, "physical minimum", path, fmt)
    pmax = _header_numbers(sig, ns, 112, labels, "physical maximum", path, fmt)
    dmin = _header_numbers(sig, ns, 120, labels, "digital minimum", path, fmt)
    dmax = _header_numbers(sig, ns, 128, labels, "digital maximum", path, fmt)
    dims = [sig[ns * 96 + i * 8: ns * 96 + (i + 1) * 8].decode("latin-1").strip() for i in range(ns)]
    bad: dict[int, str] = {}
    for i, lab in enumerate(labels):
        if "annotations" in lab.lower():
            continue
        if not np.isfinite([pmin[i], pmax[i], dmin[i], dmax[i]]).all():
            raise ReadError(f"the {fmt} header's ranges are not finite numbers", file=path, channel=lab,
                            hint=f"the file is corrupted; re-export it as {fmt}")
        if dmin[i] >= dmax[i]:
            bad[i] = _DEGENERATE["digital"].format(dmin=dmin[i], dmax=dmax[i], span=dmax[i] - dmin[i])
        elif pmin[i] == pmax[i]:
            bad[i] = _DEGENERATE["physical"].format(pmin=pmin[i], dim=dims[i])
    return bad


def _drop_bad_ranges(raw: mne.io.BaseRaw, path: Path, labels: list[str], bad: dict[int, str]) -> None:
    """Leave out the channels whose header ranges scale nothing (a warning names each and why)."""
    if not bad:
        return
    signals = [i for i, lab in enumerate(labels) if "annotations" not in lab.lower()]
    if len(bad) == len(signals):
        first = next(iter(bad))
        raise ReadError(f"no channel can be scaled: {bad[first]} (and likewise for every channel)", file=path,
                        channel=labels[first], hint="the file is corrupted; re-export it from the acquisition "
                                                    "software")
    if len(signals) == len(raw.ch_names):
        drop = [raw.ch_names[signals.index(i)] for i in bad]
    else:  # MNE changed the channel set: match by label
        drop = [labels[i] for i in bad if labels[i] in raw.ch_names]
    raw.drop_channels(drop)
    for i, name in zip(bad, drop):
        warnings.warn(f"{path}: channel {name!r}: {bad[i]}; the channel is left out. Re-export the recording, or "
                      "fix the header's ranges", ParaspinalWarning, stacklevel=5)


def _warn_duplicate_labels(path: Path, raw: mne.io.BaseRaw, labels: list[str]) -> None:
    """Say so when the header repeats a label (MNE makes the names unique: ``L_MF-0``, ``L_MF-1``)."""
    signals = [lab for lab in labels if "annotations" not in lab.lower()]
    dup = sorted({lab for lab in signals if signals.count(lab) > 1})
    if dup:
        warnings.warn(f"{path}: the header names several channels {dup}; they are read as {raw.ch_names}. Check "
                      "which electrode each is, and name them with channel_map", ParaspinalWarning, stacklevel=5)


def _warn_mixed_rates(path: Path, labels: list[str], spr: np.ndarray, record_s: float) -> None:
    keep = [i for i, lab in enumerate(labels) if "annotations" not in lab.lower()]
    if record_s <= 0 or len({int(spr[i]) for i in keep}) <= 1:
        return
    rates = {labels[i]: spr[i] / record_s for i in keep}
    top = max(rates.values())
    slow = ", ".join(f"{k} ({v:g} Hz)" for k, v in rates.items() if v < top)
    warnings.warn(
        f"{path}: channels have different sampling rates; MNE resampled {slow} to {top:g} Hz "
        "so that all channels share one clock. Analyse those channels with that in mind.",
        ParaspinalWarning,
        stacklevel=4,
    )


def _non_voltage_units(raw: mne.io.BaseRaw, labels: list[str], dims: list[str]) -> dict[str, str]:
    """Channels whose EDF physical dimension is not a voltage keep it as their unit (MNE says 'n/a')."""
    by_label = {lab: d for lab, d in zip(labels, dims) if d and d.lower() not in _VOLTS}
    # MNE may have made labels unique or stripped them; match on its channel names
    return {name: by_label[name] for name in raw.ch_names if name in by_label}


def _orig_units(raw: mne.io.BaseRaw) -> dict[str, str]:
    return dict(getattr(raw, "_orig_units", None) or {})


def _meta_from_description(raw: mne.io.BaseRaw) -> dict[str, Any]:
    desc = raw.info.get("description") or ""
    if desc.startswith(_META_TAG):
        try:
            return json.loads(desc[len(_META_TAG):])
        except json.JSONDecodeError:
            return {}
    return {}


def _maybe_bids(rec: Recording, path: Path, use_sidecars: bool) -> Recording:
    # BIDS data files are named sub-<label>[_...]_emg.<ext>; only those can have sidecars
    if not use_sidecars or not path.name.startswith("sub-"):
        return rec
    return apply_sidecars(rec, path)


def _drop_export_padding(raw: mne.io.BaseRaw) -> None:
    """Remove the padding MNE's EDF/BDF exporter adds to fill the last data record.

    An EDF holds whole data records (1 s when MNE writes it), so a recording whose length is
    not a whole number of records is padded at the end and the padding is annotated
    ``BAD_ACQ_SKIP``. A ``BAD_ACQ_SKIP`` that runs to the end of the file and is shorter than
    one record is that padding: crop it off, so that a saved recording reads back with its own
    length. Any other ``BAD_ACQ_SKIP`` is kept (it becomes a phase the user can see).
    """
    ann = raw.annotations
    if not len(ann):
        return
    sf = raw.info["sfreq"]
    end = raw.first_time + raw.n_times / sf
    for i in range(len(ann) - 1, -1, -1):
        onset, dur = float(ann.onset[i]), float(ann.duration[i])
        if ann.description[i] == "BAD_ACQ_SKIP" and abs(onset + dur - end) <= 1.5 / sf and 0 < dur < 1.0:
            keep = int(round((onset - raw.first_time) * sf))
            if 0 < keep < raw.n_times:
                raw.annotations.delete(i)
                raw.crop(tmin=0.0, tmax=(keep - 1) / sf, include_tmax=True)
            return


def _read_edf_like(path: Path, fmt: str, func, channel_map, meta, rename: bool, sidecars: bool) -> Recording:
    """EDF and BDF share a header layout: check it, read through MNE, keep units and sidecars."""
    labels, spr, record_s, dims, bad = _edf_header(path, fmt)
    _warn_mixed_rates(path, labels, spr, record_s)
    raw = _wrap(path, fmt, func)
    _warn_duplicate_labels(path, raw, labels)
    _drop_bad_ranges(raw, path, labels, bad)
    _drop_export_padding(raw)
    units = _non_voltage_units(raw, labels, dims)
    return _maybe_bids(_finish(raw, path, channel_map, meta, rename, units), path, sidecars)


def read_edf(
    path: str | os.PathLike,
    *,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
    sidecars: bool = True,
) -> Recording:
    """Read an EDF or EDF+ file.

    Parameters
    ----------
    path : path-like
        The ``.edf`` file.
    channel_map : mapping, optional
        Explicit channel-name map (``{"EMG1": "L_LT"}``).
    meta : mapping, optional
        Metadata to attach (subject, group, ...).
    rename : bool
        Rename recognised channels to canonical names.
    sidecars : bool
        Read BIDS sidecars (``*_channels.tsv``, ``*_events.tsv``, ``participants.tsv``)
        when the file sits in a BIDS-EMG dataset.

    Returns
    -------
    Recording
        EDF+ annotations become phases.
    """
    return _read_edf_like(Path(path), "EDF", mne.io.read_raw_edf, channel_map, meta, rename, sidecars)


def read_bdf(
    path: str | os.PathLike,
    *,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
    sidecars: bool = True,
) -> Recording:
    """Read a BDF or BDF+ file (BioSemi 24-bit). Parameters as :func:`read_edf`."""
    return _read_edf_like(Path(path), "BDF", mne.io.read_raw_bdf, channel_map, meta, rename, sidecars)


def read_fif(
    path: str | os.PathLike,
    *,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read an MNE FIF raw file, including the metadata paraspinal stores in it.

    Parameters
    ----------
    path : path-like
        The ``.fif`` file.
    channel_map, meta, rename
        As :func:`read_edf`.

    Returns
    -------
    Recording
    """
    path = Path(path)
    raw = _wrap(path, "FIF", mne.io.read_raw_fif)
    return _finish(raw, path, channel_map, meta, rename)


def read_brainvision(
    path: str | os.PathLike,
    *,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read a BrainVision recording from its ``.vhdr`` header.

    Markers in the ``.vmrk`` file become phases (their descriptions as MNE gives them,
    e.g. ``"Comment/standing"``; a description that ends in a phase name is shortened to it).

    Parameters
    ----------
    path : path-like
        The ``.vhdr`` file; the ``.eeg`` and ``.vmrk`` files it names must be beside it.
    channel_map, meta, rename
        As :func:`read_edf`.

    Returns
    -------
    Recording
    """
    path = Path(path)
    raw = _wrap(path, "BrainVision", mne.io.read_raw_brainvision)
    ann = raw.annotations
    if len(ann):
        desc = [d.split("/")[-1] if "/" in d else d for d in ann.description]
        raw.set_annotations(annotations_copy(raw, description=desc, extras=[{} for _ in desc]))
    return _finish(raw, path, channel_map, meta, rename)


_FORMATS_BY_SUFFIX = {".edf": "edf", ".bdf": "bdf", ".fif": "fif", ".gz": "fif"}


def write_mne(rec: Recording, path: str | os.PathLike, *, fmt: str | None = None, overwrite: bool = False) -> Path:
    """Write a Recording to EDF, BDF or FIF. See :func:`paraspinal.io.write`."""
    path = Path(path)
    fmt = (fmt or _FORMATS_BY_SUFFIX.get(path.suffix.lower(), "")).lower()
    if fmt not in ("edf", "bdf", "fif"):
        raise ParameterError(
            f"cannot write format {fmt or path.suffix!r}",
            file=path,
            hint="use a .edf, .bdf or .fif suffix, or fmt='edf'|'bdf'|'fif'",
        )
    if path.exists() and not overwrite:
        raise WriteError("the file exists", file=path, hint="pass overwrite=True to replace it")
    odd = [n for n in rec.ch_names if not n.isascii()]
    if odd:
        raise WriteError(f"{fmt.upper()} stores channel names as ASCII; these are not: {odd[:6]}", file=path,
                         channel=odd[0], hint="rename them first, e.g. ps.read(..., channel_map={'old': 'new'})")
    raw = rec.to_mne()
    units = {n: u for n, u, t in zip(rec.channels["name"], rec.channels["unit"], rec.channels["type"]) if u not in ("V",)}
    cycles = [None if pd.isna(c) else int(c) for c in rec.phases["cycle"]]
    stored = {"meta": _jsonable(rec.meta), "units": units, "cycles": cycles}
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{''.join(path.suffixes)}")
    try:
        if fmt == "fif":
            raw.info["description"] = _META_TAG + json.dumps(stored)
            raw.save(tmp, overwrite=True, verbose="error")
        else:
            _export_edf_like(raw, rec, tmp, fmt)
        os.replace(tmp, path)
    except (OSError, ValueError, RuntimeError) as err:
        raise WriteError(f"could not write {fmt.upper()}: {err}", file=path) from err
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _export_edf_like(raw: mne.io.BaseRaw, rec: Recording, path: Path, fmt: str) -> None:
    # MNE's exporter scales channels by type: emg/ecg as volts -> uV in the file. Misc
    # channels (angle in degrees) are written as they are; say their unit in the file.
    subj = rec.meta.get("subject")
    if subj is not None:
        raw.info["subject_info"] = {"his_id": str(subj)}
    phases = rec.phases
    if len(phases) and phases["cycle"].notna().any():
        desc = [p if pd.isna(c) else f"{p} [cycle {int(c)}]" for p, c in zip(phases["phase"], phases["cycle"])]
        raw.set_annotations(mne.Annotations(phases["onset"].to_numpy(), phases["duration"].to_numpy(), desc,
                                            orig_time=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mne.export.export_raw(path, raw, fmt=fmt, physical_range="channelwise", overwrite=True, verbose="error")
    _patch_dimensions(path, rec)


def _patch_dimensions(path: Path, rec: Recording) -> None:
    """Write non-voltage units (deg, g, ...) into the EDF/BDF physical-dimension fields.

    MNE's exporter leaves the dimension of misc channels empty. The field of signal i is the
    8 ASCII bytes at 256 + 96 * ns + 8 * i (after the 16-byte labels and 80-byte transducer
    fields; Kemp & Olivan 2003). Only our own freshly written file is patched.
    """
    units = {n: u for n, u in zip(rec.channels["name"], rec.channels["unit"]) if u and u != "V"}
    if not units:
        return
    with open(path, "r+b") as fh:
        head = fh.read(256)
        ns = int(head[252:256])
        labels = [fh.read(16).decode("latin-1").strip() for _ in range(ns)]
        for i, label in enumerate(labels):
            if label in units:
                text = units[label].replace("°", "deg").encode("ascii", "replace")[:8].ljust(8)
                fh.seek(256 + 96 * ns + 8 * i)
                fh.write(text)


def _jsonable(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in meta.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
        elif isinstance(v, (np.integer, np.floating)):
            out[k] = v.item()
        else:
            out[k] = str(v)
    return out
