"""Delimited text recordings: CSV, TSV, TXT, with or without a header or a time column.

Covers the plain exports labs write by hand or from acquisition software (one column per
channel, optionally a time column), BioSPPy/BITalino "Simple Text Format" files (``#``
header with the sampling rate, ADC resolution and labels; raw ADC counts), and the
published layout of the Paoletti et al. (2020) flexion-relaxation dataset
(``preset="paoletti2020"``).

Parsing goes through pandas' C reader, in chunks, into one array (see
:func:`paraspinal.io._textutil.read_numeric`); the lines before the data (comments,
header row) are read here, so that a time column, a header row and the delimiter can be
found when they are not given.

References
----------
PLUX Wireless Biosignals (2020). Electromyography (EMG) Sensor Data Sheet (biosignalsplux):
``EMG(V) = (ADC/2^n - 1/2) * VCC / G_EMG``, VCC = 3 V, G_EMG = 1000.
PLUX Wireless Biosignals (2020). BITalino EMG Sensor Data Sheet:
``EMG(V) = (ADC/2^n - 1/2) * VCC / G_EMG``, VCC = 3.3 V, G_EMG = 1009.
Paoletti M, Belli A, Palma L, Paniccia M, Tombolini F, Ruggiero A, Vallasciani M,
Pierleoni P (2020). Data acquired by wearable sensors for the evaluation of the
flexion-relaxation phenomenon. Data in Brief 31:105957. doi:10.1016/j.dib.2020.105957;
data: Mendeley Data doi:10.17632/g7pdm5prvp.1.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChannelError, FormatError, ParameterError, ParaspinalWarning, ReadError, SamplingRateError
from ..recording import Recording, check_sfreq
from . import _textutil as tu

__all__ = ["read_text", "PRESETS"]

#: Layout presets for published datasets. Each value holds default options of
#: :func:`read_text`; options given in the call override them.
PRESETS: dict[str, dict[str, Any]] = {
    # Paoletti et al. 2020 (Data in Brief 31:105957): time + 4 sEMG columns in uV at 2 kHz;
    # IMU in a separate file at 128 Hz. Column order ASSUMED from the published description.
    "paoletti2020": {
        "columns": {1: "L_LT", 2: "R_LT", 3: "L_MF", 4: "R_MF"},
        "time_column": 0,
        "units": "uV",
        "sfreq": 2000.0,
        "imu_sfreq": 128.0,
    },
}

_TIME_NAME = re.compile(
    r"^\s*(time|times|t|timestamp|timestamps|sec|secs|seconds|elapsed|elapsed time|x)"
    r"\s*[_\-]?\s*[\(\[]?\s*(s|sec|secs|seconds|ms|msec|us|µs)?\s*[\)\]]?\s*$",
    re.IGNORECASE,
)
_TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_KEY_VALUE = re.compile(r"^\s*#\s*(?P<key>[^:]+?)\s*:=\s*(?P<value>.*?)\s*$")


@dataclass
class _Parsed:
    """A text file's numeric block and what its leading lines say."""

    data: np.ndarray  # (n_columns, n_rows)
    names: list[str] | None  # header names, or None
    header_line: int | None  # 1-based line number of the header row
    fields: dict[str, str] = field(default_factory=dict)  # "# key:= value" lines
    delimiter: str | None = ","


def _parse(path: Path, *, delimiter: str | None, header: str | int | None, delimiter_given: bool) -> _Parsed:
    """Find comments, header and delimiter, then parse the numeric block."""
    lines, eof = tu.head_lines(path)
    if not lines:
        raise ReadError("the file holds no line of text", file=path, hint="re-export the recording")
    fields: dict[str, str] = {}
    if isinstance(header, bool) or (header is not None and header != "infer" and not isinstance(header, int)):
        raise ParameterError(f"header={header!r} is not 'infer', None or a line index", file=path,
                             hint="pass header='infer', header=None (no header row) or header=N (0-based line)")
    if isinstance(header, int):
        if not 0 <= header < len(lines):
            raise ParameterError(f"header={header} is beyond the first {len(lines)} lines", file=path)
        start = header
    else:
        start = 0
        while start < len(lines) and (tu.is_blank(lines[start].text) or tu.is_comment(lines[start].text)):
            m = _KEY_VALUE.match(lines[start].text)
            if m:
                fields[m["key"].strip()] = m["value"]
            start += 1
        if start == len(lines):
            if eof:
                raise ReadError(
                    "the file holds comment or blank lines but no data rows",
                    file=path, hint="re-export the recording with its samples",
                )
            raise FormatError(
                f"no data in the first {len(lines)} lines",
                file=path, hint="give header= (the 0-based line of the header row)",
            )
    sample = [ln.text for ln in lines[start:start + 40] if not tu.is_blank(ln.text) and not tu.is_comment(ln.text)]
    if not delimiter_given:
        delimiter = tu.sniff_delimiter(sample[1:] if len(sample) > 2 else sample)
    first = tu.split_fields(lines[start].text, delimiter)
    if header == "infer":
        has_header = not tu.is_numeric_row(first)
    else:
        has_header = header is not None
    names = None
    header_line = None
    data_start = start
    if has_header:
        names = [f.strip().strip("\"'") for f in first]
        header_line = lines[start].number
        data_start = start + 1
        while data_start < len(lines) and tu.is_blank(lines[data_start].text, delimiter):
            data_start += 1
        if data_start >= len(lines):
            if eof:
                raise ReadError(
                    f"the file holds a header row (line {header_line}) but no data rows",
                    file=path, hint="re-export the recording with its samples",
                )
            raise FormatError(f"no data row in the first {len(lines)} lines", file=path)
    ln = lines[data_start]
    data = tu.read_numeric(path, offset=ln.start, first_line=ln.number, delimiter=delimiter, names=names)
    data, names = tu.drop_empty_trailing(data, names)
    if names is not None:
        while len(names) > data.shape[0] and not names[-1]:
            names = names[:-1]
        if len(names) != data.shape[0]:
            raise ReadError(
                f"the header row (line {header_line}) names {len(names)} columns but the data rows have "
                f"{data.shape[0]} ({tu.delimiter_name(delimiter)}-delimited)",
                file=path,
                hint="the column counts do not match: fix the header, or pass delimiter= if it was guessed wrong",
            )
        names = [nm if nm else f"col{j}" for j, nm in enumerate(names)]
    return _Parsed(data, names, header_line, fields, delimiter)


def _column_index(key: int | str, parsed: _Parsed, path: Path, what: str) -> int:
    n = parsed.data.shape[0]
    names = parsed.names
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if 0 <= int(key) < n:
            return int(key)
    elif isinstance(key, str):
        if names is not None and key in names:
            if names.count(key) > 1:
                raise ChannelError(
                    f"the {what} names column {key!r}, which the header holds {names.count(key)} times",
                    file=path, channel=key, hint="select it by its 0-based column number instead",
                )
            return names.index(key)
        if names is None and key.strip().isdigit() and int(key) < n:
            return int(key)
    available = names if names is not None else list(range(n))
    raise ChannelError(
        f"the {what} names a column that is not in the file",
        file=path, channel=str(key),
        hint=f"the file's columns are {available} (names from the header, or 0-based numbers)",
    )


def _auto_time_column(parsed: _Parsed, exclude: set[int], has_rate: bool) -> int | None:
    if parsed.names is not None:
        for j, nm in enumerate(parsed.names):
            if j not in exclude and _TIME_NAME.match(nm):
                return j
        return None
    if has_rate or parsed.data.shape[0] < 2 or 0 in exclude:
        return None
    t = parsed.data[0]
    if t.size >= 2 and np.all(np.isfinite(t)) and np.all(np.diff(t) > 0):
        return 0
    return None


def _is_counter(t: np.ndarray) -> bool:
    """A column of consecutive integers (a sample counter such as OpenSignals' ``nSeq``), not times."""
    return t.size >= 2 and bool(np.all(np.diff(t) == 1.0)) and float(t[0]).is_integer()


def _time_scale(unit: str | None, name: str | None, path: Path) -> float:
    if unit is None:
        m = _TIME_NAME.match(name or "")
        unit = (m.group(2) or "s").lower() if m else "s"
        unit = {"msec": "ms", "µs": "us", "sec": "s", "secs": "s", "seconds": "s"}.get(unit, unit)
    if unit not in _TIME_SCALE:
        raise ParameterError(f"time_unit={unit!r} is not one of {sorted(_TIME_SCALE)}", file=path)
    return _TIME_SCALE[unit]


def _per_channel(value, names: list[str], sources: list[str], default, what: str, path: Path) -> list:
    """Expand a str / mapping / sequence option to one value per channel."""
    if value is None:
        return [default] * len(names)
    if isinstance(value, str):
        return [value] * len(names)
    if isinstance(value, Mapping):
        out = []
        for nm, src in zip(names, sources):
            if nm in value:
                out.append(value[nm])
            elif src in value:
                out.append(value[src])
            else:
                out.append(default)
        unknown = [k for k in value if k not in names and k not in sources]
        if unknown:
            raise ChannelError(
                f"{what} names channels that are not read: {unknown}", file=path,
                hint=f"the channels are {names}",
            )
        return out
    if not isinstance(value, Sequence):
        raise ParameterError(f"{what}={value!r} is neither one value, a mapping by channel nor a list", file=path,
                             hint=f"e.g. {what}='uV', {what}={{'{names[0]}': ...}} or one entry per channel")
    value = list(value)
    if len(value) != len(names):
        raise ParameterError(f"{what} has {len(value)} entries for {len(names)} channels", file=path,
                             hint=f"the channels are {names}")
    return value


def read_text(
    path: str | os.PathLike,
    *,
    columns: Mapping[int | str, str] | Sequence[int | str] | None = None,
    sfreq: float | None = None,
    time_column: int | str | bool | None = None,
    time_unit: str | None = None,
    units: str | Mapping[str, str] | Sequence[str] | None = None,
    delimiter: str | None = None,
    header: str | int | None = "infer",
    ch_types: Mapping[str, str] | Sequence[str | None] | None = None,
    transfer: str | None = "auto",
    resolution: int | None = None,
    preset: str | None = None,
    imu_path: str | os.PathLike | None = None,
    imu_sfreq: float | None = None,
    imu_units: str | Mapping[str, str] | None = None,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read a delimited text recording (CSV, TSV, TXT).

    Parameters
    ----------
    path : path-like
        The text file. Lines starting with ``#`` before the data are comments;
        ``# key:= value`` comments (BioSPPy "Simple Text Format") are parsed.
    columns : mapping or sequence, optional
        Which columns are channels and what they are called:
        ``{"EMG 1": "L_LT", 3: "R_MF"}`` maps a header name or a 0-based column number to a
        channel name; a list (``["EMG 1", 3]``) selects and keeps the names. By default every
        column but the time column is a channel, named from the header row, from the
        ``# Labels:=`` line, or ``col<j>`` (j = 0-based column number) when there is none.
    sfreq : float, optional
        Sampling rate in Hz. Needed when there is neither a time column nor a
        ``# Sampling Rate (Hz):=`` line. When a time column is there too, its median step
        must agree within 1 % (else :class:`SamplingRateError`: usually a time unit
        mix-up); its uniformity is then not checked.
    time_column : int, str, bool or None
        The time column (header name or 0-based number). None (default) finds it: a header
        name such as ``time``, ``t``, ``time_s``, ``Time (ms)``, ``X[s]``; without a header,
        the first column when there are two or more, no rate is given and it is strictly
        increasing. False: there is none (every column is a channel).
    time_unit : {"s", "ms", "us"}, optional
        Unit of the time column; by default read from its name (``time_ms``), else seconds.
    units : str, mapping or sequence, optional
        Unit of the channel values, one for all (``"uV"``), or per channel (mapping keyed by
        channel or column name, or a list). Voltages (``V``, ``mV``, ``uV``/``µV``) are
        converted to volts; the other units paraspinal knows (``deg``, ``g``, ``counts``, ...:
        :data:`paraspinal.recording.OTHER_UNITS`) are kept and recorded; any other is an
        error. Default ``"V"`` (or the preset's). Given for a file of raw ADC counts (a
        ``# Resolution:=`` line), it says the values are already in that unit: they are not
        converted (``units="counts"`` keeps the counts).
    delimiter : str, optional
        Field delimiter; by default guessed (comma, tab, semicolon, pipe, white space) from
        the first data lines. Give it for files where the guess fails.
    header : "infer", None or int
        ``"infer"`` (default): the first line after the comments is a header row when one of
        its fields is not a number. None: no header row. An int: the 0-based line number of
        the header row (lines before it are skipped, e.g. a units row after it is not).
    ch_types : mapping or sequence, optional
        MNE channel types to force (``{"angle": "misc"}``); inferred from names otherwise.
        For raw-count files, ``"emg"``/``"ecg"`` selects the sensor transfer function.
    transfer : {"auto", "bitalino", "plux", None}
        Conversion of raw ADC counts to volts, for files that hold counts: a
        ``# Resolution:=`` line (BioSPPy "Simple Text Format", written for BITalino), or
        ``resolution=`` given. ``"auto"``: BITalino for such files, nothing for other
        files. ``"bitalino"``: ``EMG(V) = (ADC/2^n - 1/2) * 3.3 / 1009`` (BITalino EMG
        sensor data sheet: VCC 3.3 V, G_EMG 1009). ``"plux"``: ``EMG(V) = (ADC/2^n - 1/2)
        * 3 / 1000`` (biosignalsplux EMG sensor data sheet: VCC 3 V, G_EMG 1000). ECG
        channels use G_ECG 1100 (BITalino) or 1019 (biosignalsplux). n is the resolution in
        bits. None: keep the counts as ``misc`` channels with unit ``"counts"`` (with a
        ParaspinalWarning). Channels whose label names no known sensor stay in counts.
    resolution : int, optional
        ADC resolution in bits, for count files without a ``# Resolution:=`` line.
    preset : {"paoletti2020"}, optional
        Default options for a published layout; see Notes.
    imu_path : path-like, optional
        A second text file of inertial (or other slow) channels, read with the same header
        and delimiter inference, and resampled onto the EMG clock by linear interpolation
        (``numpy.interp``) on its time column (or on ``n / imu_sfreq`` without one; both
        files are then assumed to start together). Its channels become ``misc`` channels.
    imu_sfreq : float, optional
        Rate of ``imu_path`` when it has no time column (the preset gives 128 Hz).
    imu_units : str or mapping, optional
        Units of the inertial channels (``"g"``, ``{"gyro_x": "deg/s"}``); ``""`` (unknown)
        by default.
    channel_map : mapping, optional
        Explicit channel-name map applied after ``columns`` (``{"EMG1": "L_LT"}``).
    meta : mapping, optional
        Metadata (subject, group, ...).
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        EMG in volts. ``meta`` holds the ``# key:= value`` fields under ``"text_header"``,
        and ``"adc_resolution"``, ``"transfer"`` for count files.

    Raises
    ------
    ReadError
        No data rows, ragged rows (line given), a non-numeric cell (line and column given),
        a header whose column count differs from the data's.
    ChannelError
        A column named in ``columns`` or ``time_column`` is missing; duplicate channel
        names; empty cells or NaN in a channel (the channel is named).
    SamplingRateError
        No rate; a time column that is not monotonic or not uniform (each step within 1 %
        of the mean step, no drift over half a sample: see
        :func:`paraspinal.io._textutil.sfreq_from_time` for why); a given rate that the
        time column contradicts.
    ParameterError
        An invalid option.

    Notes
    -----
    **preset="paoletti2020"** -- the Paoletti et al. (2020) flexion-relaxation dataset
    (Data in Brief 31:105957, doi:10.1016/j.dib.2020.105957; Mendeley Data
    doi:10.17632/g7pdm5prvp.1): 25 subjects (13 controls, 12 low-back-pain patients),
    4-cycle trunk flexion-extension. The published description gives one text file per
    trial with a time column and four raw sEMG channels -- left and right longissimus,
    left and right lumbar multifidus -- in µV at 2 kHz, and the inertial data in a
    separate file at 128 Hz. The preset sets ``time_column=0``,
    ``columns={1: "L_LT", 2: "R_LT", 3: "L_MF", 4: "R_MF"}``, ``units="uV"``,
    ``sfreq=2000`` (checked against the time column) and ``imu_sfreq=128``. It was built
    from that description alone: no file of the dataset was available when it was
    written, so **the column order is an assumption**. Check it against the dataset's
    own documentation, and override it with ``columns=`` (e.g.
    ``columns={1: "L_MF", 2: "R_MF", 3: "L_LT", 4: "R_LT"}``); any option given in the
    call overrides the preset's. Pass the inertial file as ``imu_path=``.

    Examples
    --------
    >>> import paraspinal as ps
    >>> rec = ps.read("trial.csv", columns={"EMG1": "L_LT", "EMG2": "R_LT"}, units="uV")  # doctest: +SKIP
    >>> rec = ps.read("S01_emg.txt", preset="paoletti2020", imu_path="S01_imu.txt")  # doctest: +SKIP
    """
    path = Path(path)
    units_given = units is not None
    columns, time_column, units, sfreq, imu_sfreq = _check_options(
        path, preset, columns, time_column, units, sfreq, imu_sfreq, transfer, delimiter)

    parsed = _parse(path, delimiter=delimiter, header=header, delimiter_given=delimiter is not None)
    header_rate = _header_rate(parsed.fields, path)
    if resolution is None and "Resolution" in parsed.fields:
        resolution = _header_int(parsed.fields["Resolution"], "Resolution", path)
    items, idx = _selected_columns(columns, parsed, path)
    t_idx = _time_index(time_column, parsed, set(idx), sfreq is not None or header_rate is not None, path)
    source_names, idx, ch_names = _channel_names(parsed, _header_labels(parsed.fields), t_idx, columns, items, idx,
                                                 path)
    sources = [source_names[j] for j in idx]
    t, rate = _time_and_rate(parsed, t_idx, source_names, time_unit, sfreq, header_rate, path)

    # ---- data block, without a copy when the channels are consecutive columns
    if idx == list(range(idx[0], idx[0] + len(idx))):
        data = parsed.data[idx[0]:idx[0] + len(idx)]
    else:
        data = parsed.data[idx]

    types = _per_channel(ch_types, ch_names, sources, None, "ch_types", path)
    meta_out: dict[str, Any] = dict(meta or {})
    if parsed.fields:
        meta_out.setdefault("text_header", dict(parsed.fields))
    counts_mode = resolution is not None and (transfer is not None or "Resolution" in parsed.fields)
    if counts_mode and units_given:
        # units= says what the values are: they are taken in that unit, not converted from counts
        if transfer in ("bitalino", "plux"):
            raise ParameterError(
                f"units={units!r} and transfer={transfer!r} contradict each other: transfer converts raw ADC "
                "counts to volts, units= says the values are already in a unit", file=path,
                hint="leave units unset to convert the counts, or pass transfer=None with units=")
        counts_mode = False
    if transfer in ("bitalino", "plux") and resolution is None:
        raise ParameterError(
            f"transfer={transfer!r} converts raw ADC counts, which needs the ADC resolution", file=path,
            hint="pass resolution= (bits), e.g. 10 for BITalino A1-A4, 16 for biosignalsplux",
        )
    if counts_mode:
        data, unit_list, types = _convert_counts(data, ch_names, types, resolution, transfer, path)
        meta_out.update(adc_resolution=int(resolution), transfer=None if transfer is None else
                        ("bitalino" if transfer == "auto" else transfer))
    else:
        unit_list = _per_channel(units, ch_names, sources, "V", "units", path)

    if imu_path is not None:
        t0 = float(t[0]) if t is not None else 0.0
        extra, extra_names, extra_units = _read_imu(Path(imu_path), rate, data.shape[1], t0, t is not None,
                                                    imu_sfreq, imu_units)
        clash = sorted(set(extra_names) & set(ch_names))
        if clash:
            raise ChannelError(f"the inertial file has channels named like the EMG file's: {clash}",
                               file=imu_path, hint="rename them in one of the files")
        data = np.vstack([data, extra])
        ch_names += extra_names
        unit_list = list(unit_list) + extra_units
        types = list(types) + ["misc"] * len(extra_names)
        meta_out.setdefault("imu_source", os.fspath(imu_path))

    return Recording.from_array(
        data, rate, ch_names, units=list(unit_list), ch_types=types, channel_map=channel_map,
        meta=meta_out, rename=rename, file=path,
    )


def _check_options(path: Path, preset, columns, time_column, units, sfreq, imu_sfreq, transfer, delimiter):
    """Apply a preset (options given in the call win) and check the options that need no file."""
    if preset is not None:
        if preset not in PRESETS:
            raise ParameterError(f"unknown preset {preset!r}", file=path, hint=f"use one of {sorted(PRESETS)}")
        p = PRESETS[preset]
        columns = p.get("columns") if columns is None else columns
        time_column = p.get("time_column") if time_column is None else time_column
        units = p.get("units") if units is None else units
        sfreq = p.get("sfreq") if sfreq is None else sfreq
        imu_sfreq = p.get("imu_sfreq") if imu_sfreq is None else imu_sfreq
    if units is None:
        units = "V"
    if transfer not in ("auto", "bitalino", "plux", None):
        raise ParameterError(f"transfer={transfer!r} is not one of 'auto', 'bitalino', 'plux', None", file=path)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"'"):
        raise ParameterError(f"delimiter={delimiter!r} is not a single character", file=path,
                             hint="use ',', '\\t', ';' or '|'; leave it None for white space")
    if sfreq is not None:
        sfreq = check_sfreq(sfreq, file=path, what="sfreq=")
    if imu_sfreq is not None:
        imu_sfreq = check_sfreq(imu_sfreq, file=path, what="imu_sfreq=")
    return columns, time_column, units, sfreq, imu_sfreq


def _selected_columns(columns, parsed: _Parsed, path: Path) -> tuple[list[tuple], list[int]]:
    """The ``columns`` option as ``(key, new name or None)`` items and their column numbers."""
    if columns is not None:
        if isinstance(columns, (str, bytes)):
            raise ParameterError("columns must be a mapping or a list, not a string", file=path,
                                 hint="e.g. columns={'EMG1': 'L_LT'} or columns=['EMG1']")
        items = list(columns.items()) if isinstance(columns, Mapping) else [(k, None) for k in columns]
        idx = [_column_index(k, parsed, path, "column map") for k, _ in items]
    else:
        items, idx = [], []
    return items, idx


def _time_index(time_column, parsed: _Parsed, explicit: set[int], has_rate: bool, path: Path) -> int | None:
    """The time column's number (None: no time column)."""
    t_idx: int | None
    if time_column is False:
        t_idx = None
    elif time_column is None or time_column is True:
        t_idx = _auto_time_column(parsed, explicit, has_rate=has_rate)
        if time_column is True and t_idx is None:
            t_idx = 0
    else:
        t_idx = _column_index(time_column, parsed, path, "time_column option")
    if time_column is None and t_idx is not None and parsed.names is None and _is_counter(parsed.data[t_idx]):
        raise SamplingRateError(
            f"column {t_idx} counts samples (0, 1, 2, ...) rather than giving times, so it gives no sampling rate "
            "(it would say 1 Hz)", file=path,
            hint=f"pass sfreq= (Hz); columns=[...] without {t_idx} leaves the counter out, and time_column={t_idx} "
                 "with time_unit= reads it as a time")
    if t_idx is not None and t_idx in explicit:
        raise ParameterError(f"column {t_idx} is both the time column and a channel", file=path,
                             hint="pass time_column=False if it is a channel")
    return t_idx


def _channel_names(parsed: _Parsed, labels: list[str] | None, t_idx: int | None, columns, items: list[tuple],
                   idx: list[int], path: Path) -> tuple[list[str], list[int], list[str]]:
    """Every column's name in the file, the channel columns and the channels' names (checked unique)."""
    n_cols = parsed.data.shape[0]
    if parsed.names is not None:
        source_names = list(parsed.names)
    elif labels is not None and len(labels) == n_cols - (t_idx is not None):
        others = [j for j in range(n_cols) if j != t_idx]
        source_names = [f"col{j}" for j in range(n_cols)]
        for j, lab in zip(others, labels):
            source_names[j] = lab
    else:
        source_names = [f"col{j}" for j in range(n_cols)]
    if columns is None:
        idx = [j for j in range(n_cols) if j != t_idx]
        ch_names = [source_names[j] for j in idx]
    else:
        ch_names = [str(new) if new is not None else source_names[j] for (_, new), j in zip(items, idx)]
    if not idx:
        raise ChannelError("the file holds no channel column besides the time column", file=path,
                           hint="pass time_column=False if the first column is a signal")
    seen: dict[str, int] = {}
    for nm in ch_names:
        seen[nm] = seen.get(nm, 0) + 1
    dup = [nm for nm, c in seen.items() if c > 1]
    if dup:
        raise ChannelError(
            f"duplicate channel names {dup}", file=path, channel=dup[0],
            hint="give each channel its own name with columns={column: 'name', ...}",
        )
    return source_names, idx, ch_names


def _time_and_rate(parsed: _Parsed, t_idx: int | None, source_names: list[str], time_unit: str | None,
                   sfreq: float | None, header_rate: float | None, path: Path) -> tuple[np.ndarray | None, float]:
    """The time column in seconds (None without one) and the sampling rate, each checked against the other."""
    time_name = source_names[t_idx] if t_idx is not None else None
    t = None
    if t_idx is not None:
        scale = _time_scale(time_unit, parsed.names[t_idx] if parsed.names else None, path)
        t = parsed.data[t_idx] if scale == 1.0 else parsed.data[t_idx] * scale
    if sfreq is not None or header_rate is not None:
        rate = sfreq if sfreq is not None else header_rate
        if t is not None:
            tu.check_sfreq_against_time(
                t, rate, file=path, column=time_name,
                source="the sfreq option" if sfreq is not None else "the '# Sampling Rate' header line",
            )
    elif t is not None:
        rate = tu.sfreq_from_time(t, file=path, column=time_name)
    else:
        raise SamplingRateError(
            "no sampling rate: the file has no time column and no '# Sampling Rate' line",
            file=path, hint="pass sfreq= (Hz), or time_column= naming the time column",
        )
    return t, rate


def _header_rate(fields: dict[str, str], path: Path) -> float | None:
    for key, value in fields.items():
        if key.lower().startswith("sampling rate") or key.lower() in ("sampling frequency", "fs", "sfreq"):
            try:
                rate = float(value.split()[0])
            except (ValueError, IndexError):
                raise FormatError(f"the header line '# {key}:= {value}' holds no rate", file=path,
                                  hint="fix the line or pass sfreq=") from None
            if not np.isfinite(rate) or rate <= 0:
                raise SamplingRateError(f"the header gives a sampling rate of {value!r}", file=path,
                                        hint="pass sfreq=")
            return rate
    return None


def _header_int(value: str, key: str, path: Path) -> int:
    try:
        out = int(float(value.split()[0]))
    except (ValueError, IndexError):
        raise FormatError(f"the header line '# {key}:= {value}' holds no integer", file=path) from None
    if not 1 <= out <= 32:
        raise FormatError(f"the header gives an ADC resolution of {out} bits", file=path,
                          hint="pass resolution= (bits)")
    return out


def _header_labels(fields: dict[str, str]) -> list[str] | None:
    value = fields.get("Labels")
    if value is None:
        return None
    labels = [s.strip() for s in re.split(r"[\t,;]", value) if s.strip()]
    if len(labels) <= 1:
        labels = value.split()
    return labels or None


def _convert_counts(data, ch_names, types, resolution, transfer, path):
    device = None if transfer is None else ("bitalino" if transfer == "auto" else transfer)
    out = np.empty(data.shape, dtype=np.float64)
    unit_list, new_types, kept = [], [], []
    for k, (name, typ) in enumerate(zip(ch_names, types)):  # loop over channels
        sensor = typ if typ in ("emg", "ecg") else tu.sensor_kind(name)
        values, unit, kind, converted = tu.convert_counts(
            data[k], name=name, resolution=resolution, device=device, sensor=sensor, file=path)
        out[k] = values
        unit_list.append(unit)
        new_types.append(kind if converted else "misc")
        if not converted:
            kept.append(name)
    if kept:
        why = ("transfer=None" if device is None else
               "no known sensor (EMG or ECG) in their labels; pass ch_types={'name': 'emg'} to convert them")
        warnings.warn(
            f"{path}: channels {kept} hold raw ADC counts and are kept as misc channels in counts ({why})",
            ParaspinalWarning, stacklevel=3,
        )
    return out, unit_list, new_types


def _read_imu(imu_path: Path, rate: float, n: int, t0: float, emg_has_time: bool, imu_sfreq, imu_units):
    if not imu_path.is_file():
        raise ReadError("no such file (the imu_path option)", file=imu_path, hint="check the path")
    parsed = _parse(imu_path, delimiter=None, header="infer", delimiter_given=False)
    t_idx = _auto_time_column(parsed, set(), has_rate=False)
    names_src = parsed.names or [f"IMU{j + 1}" for j in range(parsed.data.shape[0])]
    idx = [j for j in range(parsed.data.shape[0]) if j != t_idx]
    if not idx:
        raise ChannelError("the inertial file holds no channel besides its time column", file=imu_path)
    if parsed.names is None:
        names = [f"IMU{k + 1}" for k in range(len(idx))]
    else:
        names = [names_src[j] for j in idx]
    if t_idx is not None:
        t_imu = parsed.data[t_idx] * _time_scale(None, parsed.names[t_idx] if parsed.names else None, imu_path)
        if not emg_has_time:
            t_imu = t_imu - t_imu[0]
        src_rate = None
    elif imu_sfreq is not None:
        t_imu = t0 + np.arange(parsed.data.shape[1]) / float(imu_sfreq)
        src_rate = float(imu_sfreq)
    else:
        raise SamplingRateError("the inertial file has no time column and no rate", file=imu_path,
                                hint="pass imu_sfreq= (Hz)")
    x = parsed.data[idx]
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ChannelError("empty or non-finite values in an inertial channel", file=imu_path,
                           channel=names[int(np.flatnonzero(bad)[0])], hint="fill or crop the gap before loading")
    t_dst = t0 + np.arange(n) / rate
    out = tu.interp_onto(t_dst, t_imu, x, file=imu_path, names=names, src_rate=src_rate)
    units = _per_channel(imu_units, names, names, "", "imu_units", imu_path)
    return out, names, units
