"""PLUX OpenSignals recordings: text (``.txt``, JSON header) and HDF5 (``.h5``).

OpenSignals (PLUX) stores raw ADC counts of biosignalsplux, bioplux and BITalino devices.

Text format ("OpenSignals Text File Format. Version 1")::

    # OpenSignals Text File Format. Version 1
    # {"<MAC>": {"sampling rate": 1000, "resolution": [16], "column": ["nSeq", "DI", "CH1"],
    #            "label": ["CH1"], "sensor": ["EMG"], "device": "biosignalsplux",
    #            "date": "2019-10-14", "time": "16:52:39.448", ...}}
    # EndOfHeader
    0<TAB>0<TAB>32960<TAB>

one JSON object keyed by device MAC address; the data columns of each device follow each
other (ordered by the device's ``"position"``), ``nSeq`` (sample counter) and digital
I/O columns first.

HDF5 format: one group per device (named by its MAC address) whose attributes hold
``sampling rate``, ``resolution`` (bits, per analog channel), ``channels`` (channel
numbers), ``device``, ``date``, ``time``, ``nsamples``; analog channels are
``<MAC>/raw/channel_<N>`` datasets of shape (n, 1) with attributes ``label`` and
``sensor``; ``raw/nSeq`` and ``digital/*`` are the counter and digital inputs.

Conversion to physical units: see :func:`read_opensignals_txt`.

References
----------
PLUX Wireless Biosignals. Electromyography (EMG) Sensor Data Sheet (biosignalsplux):
EMG(V) = (ADC/2^n - 1/2) * VCC / G_EMG, VCC = 3 V, G_EMG = 1000.
PLUX Wireless Biosignals. BITalino EMG Sensor Data Sheet:
EMG(V) = (ADC/2^n - 1/2) * VCC / G_EMG, VCC = 3.3 V, G_EMG = 1009.
PLUX Wireless Biosignals. Electrocardiography (ECG) Sensor Data Sheets: G_ECG = 1019
(biosignalsplux, VCC 3 V), 1100 (BITalino, VCC 3.3 V).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChannelError, FormatError, ParameterError, ParaspinalWarning, ReadError, SamplingRateError
from ..recording import Recording
from . import _textutil as tu

__all__ = ["read_opensignals_txt", "read_opensignals_h5", "is_opensignals_header"]


@dataclass
class _Device:
    mac: str
    kind: str  # OpenSignals "device" (biosignalsplux, channeller, bioplux, bitalino, ...)
    sfreq: float
    labels: list[str]
    sensors: list[str]
    resolutions: list[int]
    data: list[np.ndarray]  # counts per analog channel
    date: str | None
    time: str | None


def _family(kind: str) -> str:
    """``"bitalino"`` for BITalino devices, ``"plux"`` for biosignalsplux, bioplux and others."""
    return "bitalino" if "bitalino" in kind.lower() else "plux"


def _check_transfer(transfer, path) -> None:
    if transfer not in ("auto", "plux", "bitalino", None):
        raise ParameterError(f"transfer={transfer!r} is not one of 'auto', 'plux', 'bitalino', None", file=path)


def _assemble(devices: list[_Device], *, transfer, device, channel_map, meta, rename, path) -> Recording:
    if device is not None:
        chosen = [d for i, d in enumerate(devices) if device in (d.mac, i)]
        if not chosen:
            raise ParameterError(f"device={device!r} is not in the file", file=path,
                                 hint=f"its devices are {[d.mac for d in devices]} (or their 0-based index)")
        devices = chosen
    devices = [d for d in devices if d.labels]
    if not devices:
        raise ChannelError("the file holds no analog channel", file=path)
    rates = sorted({d.sfreq for d in devices})
    if len(rates) > 1:
        raise SamplingRateError(
            f"the devices are sampled at different rates ({', '.join(f'{d.mac} {d.sfreq:g} Hz' for d in devices)})",
            file=path, hint="read one device at a time with device='<MAC>'",
        )
    n = min(min(len(x) for x in d.data) for d in devices)
    longest = max(max(len(x) for x in d.data) for d in devices)
    if longest != n:
        warnings.warn(f"{path}: the devices hold {n}-{longest} samples; all channels are cut to {n}",
                      ParaspinalWarning, stacklevel=3)
    prefix = len(devices) > 1
    asm = tu.Assembled()
    kept = []
    for d in devices:  # loop over devices and channels, not samples
        family = _family(d.kind) if transfer == "auto" else transfer
        for label, sensor, res, x in zip(d.labels, d.sensors, d.resolutions, d.data):
            name = f"{d.mac}:{label}" if prefix else label
            values, unit, typ, converted = tu.convert_counts(
                x[:n], name=name, resolution=res, device=family, sensor=tu.sensor_kind(sensor), file=path)
            if not converted:
                kept.append(f"{name} ({sensor or 'no sensor type'})")
            asm.add(values, name, unit, typ)
    if kept:
        why = "transfer=None" if transfer is None else "no known transfer function for their sensor"
        warnings.warn(f"{path}: channels {kept} are kept as misc channels in raw ADC counts ({why})",
                      ParaspinalWarning, stacklevel=3)
    first = devices[0]
    meta_out: dict[str, Any] = dict(meta or {})
    meta_out.setdefault("device", first.kind)
    meta_out.setdefault("device_mac", first.mac if len(devices) == 1 else [d.mac for d in devices])
    meta_out.setdefault("adc_resolution", {nm: r for nm, r in zip(asm.names, [r for d in devices for r in d.resolutions])})
    stamp = _datetime(first.date, first.time)
    if stamp is not None:
        meta_out.setdefault("recording_datetime", stamp)
    return Recording.from_array(
        np.vstack(asm.data), rates[0], asm.names, units=asm.units, ch_types=asm.types,
        channel_map=channel_map, meta=meta_out, rename=rename, file=path, units_from_file=True,
    )


def _datetime(date: str | None, time: str | None) -> str | None:
    """ISO 8601 local date-time (no time zone: OpenSignals writes the computer's clock)."""
    if not date:
        return None
    try:
        day = datetime.strptime(str(date).strip(), "%Y-%m-%d")
    except ValueError:
        return str(date)
    if time:
        text = str(time).strip()
        for fmt in ("%H:%M:%S.%f", "%H:%M:%S"):
            try:
                t = datetime.strptime(text, fmt)
                return datetime.combine(day.date(), t.time()).isoformat()
            except ValueError:
                continue
    return day.date().isoformat()


def _per_label(values, labels: list[str], columns: list[str], key: str, mac: str, path) -> list:
    """Align a per-channel header list with the analog labels (OpenSignals lists either)."""
    if not isinstance(values, list):
        values = [values]
    if len(values) == len(labels):
        return values
    if len(values) == len(columns) and columns:
        return [values[columns.index(lab)] for lab in labels]
    if len(values) == 1:
        return values * len(labels)
    raise FormatError(
        f"device {mac}: {key!r} has {len(values)} entries for {len(labels)} channels", file=path,
        hint="the header may have been edited; re-export the recording from OpenSignals",
    )


def _resolution(value, mac: str, label: str, path) -> int:
    try:
        res = int(value)
    except (TypeError, ValueError):
        raise FormatError(f"device {mac}: resolution {value!r} is not an integer", file=path, channel=label) from None
    if not 1 <= res <= 32:
        raise FormatError(f"device {mac}: resolution {res} bits", file=path, channel=label)
    return res


def _rate(value, mac: str, path) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise FormatError(f"device {mac}: sampling rate {value!r} is not a number", file=path) from None
    if not np.isfinite(rate) or rate <= 0:
        raise SamplingRateError(f"device {mac}: sampling rate {value!r}", file=path)
    return rate


# ----------------------------------------------------------------------------- text
_MAGIC = "OpenSignals Text File Format"


def is_opensignals_header(first_lines: list[str]) -> bool:
    """True when two lines are an OpenSignals text header whatever its first line says.

    The first line is normally ``# OpenSignals Text File Format. Version 1`` and the second the JSON object of the devices, ``# {"<MAC>": {... "sampling rate": ...,
    "column": [...] ...}}``. Those keys on a ``# {`` line are OpenSignals' own, so a file whose
    magic line lost a byte is still recognised (and read with a warning) rather than read as
    generic text, where its sample counter ``nSeq`` would become a 1 Hz time column.
    """
    if len(first_lines) < 2:
        return False
    second = first_lines[1].lstrip()
    return second.startswith("# {") and '"sampling rate"' in second and '"column"' in second


def read_opensignals_txt(
    path: str | os.PathLike,
    *,
    transfer: str | None = "auto",
    device: str | int | None = None,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read an OpenSignals text file (``# OpenSignals Text File Format``).

    Parameters
    ----------
    path : path-like
        The ``.txt`` file.
    transfer : {"auto", "plux", "bitalino", None}
        Conversion of raw ADC counts to volts, ``V = (ADC / 2**n - 1/2) * VCC / G`` with
        ``n`` the channel's resolution in bits (from the header):

        - EMG, biosignalsplux (and bioplux, channeller): VCC = 3 V, G_EMG = 1000
          (PLUX EMG sensor data sheet);
        - EMG, BITalino: VCC = 3.3 V, G_EMG = 1009 (BITalino EMG sensor data sheet);
        - ECG: G_ECG = 1019 (biosignalsplux), 1100 (BITalino).

        ``"auto"`` picks the family from the header's ``"device"`` (BITalino when it says
        so, PLUX otherwise); ``"plux"``/``"bitalino"`` force one; None keeps counts.
        Other sensors (ACC, EDA, ...) and None keep raw counts as ``misc`` channels with
        unit ``"counts"`` (with a ParaspinalWarning).
    device : str or int, optional
        Read only this device (MAC address or 0-based index) of a multi-device file. By
        default all devices are read (they must share a rate; channel names are then
        prefixed with the MAC address).
    channel_map : mapping, optional
        Explicit channel-name map (``{"PORT1_CHN1": "L_MF"}``).
    meta : mapping, optional
        Metadata (subject, group, ...).
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        Channels named by their OpenSignals label (``PORT1_CHN1``, ``CH2``, ``A1``);
        ``nSeq`` and digital I/O columns dropped. ``meta`` holds ``recording_datetime``
        (ISO 8601, local time of the acquisition computer), ``device``, ``device_mac`` and
        ``adc_resolution``.

    Raises
    ------
    FormatError
        A malformed JSON header (line 2) or one lacking the keys above.
    ReadError
        No data rows, ragged rows or non-numeric cells.
    SamplingRateError
        Devices at different rates.
    """
    path = Path(path)
    _check_transfer(transfer, path)
    lines, _ = tu.head_lines(path, max_lines=50)
    end = next((i for i, ln in enumerate(lines) if ln.text.strip().lstrip("#").strip() == "EndOfHeader"), None)
    if not lines or not lines[0].text.lstrip("# ").startswith(_MAGIC):
        if not is_opensignals_header([ln.text for ln in lines[:2]]):
            raise FormatError(f"not an OpenSignals text file (no '# {_MAGIC}' first line)", file=path)
        warnings.warn(
            f"{path}: the first line {lines[0].text[:60]!r} should read '# {_MAGIC}' (it is damaged); the file "
            "is read as OpenSignals text from its JSON header (line 2). Check the file", ParaspinalWarning,
            stacklevel=3)
    if end is None:
        raise FormatError("no '# EndOfHeader' line", file=path,
                          hint="the header is incomplete; re-export the recording from OpenSignals")
    json_lines = [ln for ln in lines[1:end] if ln.text.lstrip("# ").startswith("{")]
    if not json_lines:
        raise FormatError("no JSON header line between the first line and '# EndOfHeader'", file=path,
                          hint="re-export the recording from OpenSignals")
    jl = json_lines[0]
    try:
        header = json.loads(jl.text.strip()[1:].strip())
    except json.JSONDecodeError as err:
        raise FormatError(
            f"the JSON header on line {jl.number} is malformed ({err.msg} at character {err.pos})", file=path,
            hint="the file may have been edited or truncated; re-export it from OpenSignals",
        ) from err
    if not isinstance(header, dict) or not header or not all(isinstance(v, dict) for v in header.values()):
        raise FormatError(f"the JSON header on line {jl.number} is not an object of devices keyed by MAC address",
                          file=path, hint="re-export the recording from OpenSignals")
    specs = sorted(header.items(), key=lambda kv: _position(kv[1]))
    if end + 1 >= len(lines):
        raise ReadError("the header is followed by no data rows", file=path, hint="re-export the recording")
    ln = lines[end + 1]
    data = tu.read_numeric(path, offset=ln.start, first_line=ln.number, delimiter=tu.sniff_delimiter(
        [x.text for x in lines[end + 1:end + 20]]))
    devices = []
    col = 0
    for mac, spec in specs:
        for key in ("column", "sampling rate"):
            if key not in spec:
                raise FormatError(f"device {mac}: the JSON header has no {key!r}", file=path,
                                  hint="re-export the recording from OpenSignals")
        columns = [str(c) for c in spec["column"]] if isinstance(spec["column"], list) else None
        if columns is None:
            raise FormatError(f"device {mac}: 'column' is not a list", file=path)
        labels = spec.get("label", [c for c in columns if c not in ("nSeq", "DI")])
        labels = [str(x) for x in labels] if isinstance(labels, list) else [str(labels)]
        missing = [lab for lab in labels if lab not in columns]
        if missing:
            raise FormatError(f"device {mac}: labels {missing} are not among its columns {columns}", file=path)
        if col + len(columns) > data.shape[0]:
            raise FormatError(
                f"the header lists {col + len(columns)} columns, the data rows have {data.shape[0]}", file=path,
                hint="the file may have been edited; re-export it from OpenSignals",
            )
        sensors = [str(s) for s in _per_label(spec.get("sensor", [""] * len(labels)), labels, columns,
                                              "sensor", mac, path)]
        res = [_resolution(r, mac, lab, path) for r, lab in
               zip(_per_label(spec.get("resolution", [16]), labels, columns, "resolution", mac, path), labels)]
        if spec.get("convertedValues", 0) not in (0, False, "0"):
            raise FormatError(
                f"device {mac}: the file holds values OpenSignals already converted ('convertedValues': 1), "
                "whose units the header does not give", file=path,
                hint="export the raw values from OpenSignals, or read the file with format='text' and units=",
            )
        devices.append(_Device(
            mac=str(mac), kind=str(spec.get("device", "")), sfreq=_rate(spec["sampling rate"], mac, path),
            labels=labels, sensors=sensors, resolutions=res,
            data=[data[col + columns.index(lab)] for lab in labels],
            date=spec.get("date"), time=spec.get("time"),
        ))
        col += len(columns)
    return _assemble(devices, transfer=transfer, device=device, channel_map=channel_map, meta=meta,
                     rename=rename, path=path)


def _position(spec: dict) -> float:
    try:
        return float(spec.get("position", 0))
    except (TypeError, ValueError):
        return 0.0


# ----------------------------------------------------------------------------- HDF5
def read_opensignals_h5(
    path: str | os.PathLike,
    *,
    transfer: str | None = "auto",
    device: str | int | None = None,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read an OpenSignals HDF5 file (``.h5``).

    Parameters
    ----------
    path : path-like
        The ``.h5`` file (needs ``h5py``: ``pip install paraspinal[hdf5]``).
    transfer, device, channel_map, meta, rename
        As :func:`read_opensignals_txt` (same transfer functions and sources).

    Returns
    -------
    Recording
        Channels named by their ``label`` attribute; ``nSeq``, digital channels and the
        viewer's ``support`` pyramids are not read.

    Raises
    ------
    FormatError
        An HDF5 file without OpenSignals device groups, or with malformed attributes.
    ReadError
        h5py is missing, or the file cannot be opened.
    """
    path = Path(path)
    _check_transfer(transfer, path)
    try:
        import h5py
    except ImportError as err:
        raise ReadError("reading OpenSignals HDF5 files needs h5py", file=path,
                        hint="pip install 'paraspinal[hdf5]'") from err
    try:
        fh = h5py.File(path, "r")  # read-only
    except (OSError, ValueError) as err:
        raise ReadError(f"could not be opened as HDF5: {err}", file=path,
                        hint="the file may be truncated or corrupted; re-export it from OpenSignals") from err
    with fh:
        devices = []
        try:  # HDF5 raises RuntimeError (and others) for damaged object headers, met while listing too
            groups = [(name, g) for name, g in fh.items() if isinstance(g, h5py.Group) and "sampling rate" in g.attrs]
            if not groups:
                raise FormatError("an HDF5 file without OpenSignals device groups (no 'sampling rate' attribute)",
                                  file=path, hint="for MATLAB v7.3 files use format='matlab'")
            for mac, g in groups:
                devices.append(_h5_device(mac, g, path, h5py))
        except (KeyError, TypeError, ValueError, OSError, RuntimeError) as err:
            raise FormatError(f"malformed OpenSignals HDF5 layout: {err}", file=path,
                              hint="the file may be damaged; re-export the recording from OpenSignals") from err
    return _assemble(devices, transfer=transfer, device=device, channel_map=channel_map, meta=meta,
                     rename=rename, path=path)


def _attr(g, key, default=None):
    value = g.attrs.get(key, default)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _h5_device(mac: str, g, path: Path, h5py) -> _Device:
    raw = g.get("raw")
    if raw is None or not isinstance(raw, h5py.Group):
        raise FormatError(f"device {mac}: no 'raw' group", file=path)
    names = sorted((n for n in raw if n.startswith("channel_")), key=lambda n: int(n.split("_")[1]) if
                   n.split("_")[1].isdigit() else 0)
    numbers = [int(n.split("_")[1]) for n in names if n.split("_")[1].isdigit()]
    channels = _attr(g, "channels", numbers)
    channels = channels if isinstance(channels, list) else [channels]
    res_all = _attr(g, "resolution", [16])
    res_all = res_all if isinstance(res_all, list) else [res_all]
    labels, sensors, res, data = [], [], [], []
    for name in names:  # loop over channels
        ds = raw[name]
        num = int(name.split("_")[1])
        label = str(_attr(ds, "label", name))
        labels.append(label)
        sensors.append(str(_attr(ds, "sensor", "")))
        if len(res_all) == len(channels) and num in channels:
            r = res_all[channels.index(num)]
        elif len(res_all) == 1:
            r = res_all[0]
        else:
            raise FormatError(f"device {mac}: {len(res_all)} resolutions for channels {channels}", file=path,
                              channel=label)
        res.append(_resolution(r, mac, label, path))
        x = np.asarray(ds[()], dtype=np.float64)
        if x.ndim == 2 and 1 in x.shape:
            x = x.reshape(-1)
        if x.ndim != 1:
            raise FormatError(f"device {mac}: dataset raw/{name} has shape {x.shape}", file=path, channel=label)
        data.append(x)
    return _Device(
        mac=str(_attr(g, "macaddress", mac) or mac), kind=str(_attr(g, "device", "")),
        sfreq=_rate(_attr(g, "sampling rate"), mac, path), labels=labels, sensors=sensors, resolutions=res,
        data=data, date=_attr(g, "date"), time=_attr(g, "time"),
    )
