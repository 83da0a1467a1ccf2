"""The one data model: :class:`Recording`, an ``mne.io.BaseRaw`` with a channel table and metadata.

Signals are stored in SI units as MNE stores them: EMG and ECG in volts. Trunk angle and
inertial channels are ``misc`` channels whose unit (``deg``, ``g``, ``deg/s``) is recorded in
the channel table. The sampling rate travels with the data (``rec.sfreq``). Task phases are
``raw.annotations`` whose descriptions come from the phase vocabulary; a flexion-relaxation
cycle number, when known, is kept in the annotation's ``extras["cycle"]``.

Every method returns a new Recording and leaves its input unchanged.
"""

from __future__ import annotations

import copy as _copy
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import mne
import numpy as np
import pandas as pd

from . import _hooks
from .channels import CHANNEL_COLUMNS, GRID_COLUMNS, channel_table
from .errors import ChannelError, ParameterError, ParaspinalWarning, SamplingRateError, WriteError

__all__ = ["Recording", "META_KEYS", "GROUPS", "UNIT_SCALE", "OTHER_UNITS", "SFREQ_RANGE", "unit_scale",
           "check_unit", "check_sfreq", "normalise_group", "annotations_copy"]

#: Metadata keys every Recording has (None when unknown).
META_KEYS: tuple[str, ...] = ("subject", "group", "session", "task", "run")

#: The groups paraspinal compares (``meta["group"]``): healthy controls and low-back-pain patients.
GROUPS: tuple[str, ...] = ("control", "patient")


def normalise_group(value: Any) -> tuple[str | None, str | None]:
    """A group label as paraspinal compares it, and a note when it was changed or is not known.

    White space is trimmed and collapsed; a label that is one of :data:`GROUPS` in another
    letter case (``"CONTROL "``, ``"Patient"``) becomes that group, which is unambiguous.
    Anything else is kept as written (never guessed: ``"ctrl"`` or ``"LBP"`` stay themselves)
    with a note that group statistics leave it out.

    Parameters
    ----------
    value : str or None
        The label (``n/a`` and empty cells are None).

    Returns
    -------
    (str or None, str or None)
        The label, and a sentence saying what was done (None when the label was a group as
        written, or missing).

    Examples
    --------
    >>> normalise_group("CONTROL ")
    ('control', "group 'CONTROL ' read as 'control'")
    >>> normalise_group("patient")
    ('patient', None)
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None, None
    text = " ".join(str(value).split())
    if text in ("", "n/a", "N/A"):
        return None, None
    if text.lower() in GROUPS:
        canon = text.lower()
        return canon, None if canon == value else f"group {value!r} read as {canon!r}"
    return text, (f"group {value!r} is not one of {list(GROUPS)}: group statistics leave it out (rename it "
                  "to one of them, or keep it for a third group)")


#: Multiplier from a voltage unit to volts.
UNIT_SCALE: dict[str, float] = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "nV": 1e-9}

# The writer behind Recording.save: paraspinal.io registers paraspinal.io.write when it is imported
# (which ``import paraspinal`` always does). The io package sits above this module: recording
# never imports io, so the two cannot import each other. The hook itself lives in paraspinal._hooks,
# which imports nothing heavy, so that io can register it without importing MNE or pandas.
register_writer = _hooks.register_writer


_UNIT_ALIASES = {
    "v": "V", "volt": "V", "volts": "V",
    "mv": "mV", "millivolt": "mV", "millivolts": "mV",
    "uv": "uV", "µv": "uV", "μv": "uV", "microvolt": "uV", "microvolts": "uV",
    "nv": "nV",
}


#: Units of non-electrical channels accepted from the caller (``units=``): kept and recorded as
#: they are, never converted. Angles, angular rates, accelerations, forces, lengths, raw ADC
#: counts, percentages (normalised signals), and ``""`` for a unit that is not known.
OTHER_UNITS: tuple[str, ...] = ("deg", "rad", "deg/s", "rad/s", "g", "m/s^2", "m/s2", "N", "Nm", "N.m", "Nmm",
                                "kg", "mm", "cm", "m", "%", "counts", "")

_CASELESS = ("deg", "rad", "deg/s", "rad/s", "counts")  # units whose letter case says nothing
_OTHER_ALIASES = {"°": "deg", "degree": "deg", "degrees": "deg", "°/s": "deg/s", "dps": "deg/s",
                  "m/s²": "m/s^2", "count": "counts", "adc": "counts"}

#: Sampling rates (Hz) a Recording accepts: from 1 Hz (a slow inclinometer; nothing paraspinal
#: computes is defined below it) to 1 MHz (ten times the fastest sEMG amplifier's rate). A rate
#: outside is a mistake (a time column in the wrong unit, a sample counter read as seconds, a
#: ``True`` passed for a number), never a recording.
SFREQ_RANGE: tuple[float, float] = (1.0, 1e6)


def check_sfreq(sfreq: Any, *, file: str | os.PathLike | None = None, what: str = "sampling rate") -> float:
    """Return ``sfreq`` as a float after checking it is a plausible sampling rate (Hz).

    Parameters
    ----------
    sfreq : float
        The rate in Hz.
    file : path-like, optional
        Named in the error.
    what : str
        How the rate is named in the error (``"sfreq"``, ``"the time column's rate"``).

    Returns
    -------
    float

    Raises
    ------
    SamplingRateError
        Not a number (a bool is not one), not finite, or outside :data:`SFREQ_RANGE`.
    """
    sep = "" if what.endswith("=") else " "
    if isinstance(sfreq, (bool, np.bool_)) or not isinstance(sfreq, (int, float, np.integer, np.floating, str)):
        raise SamplingRateError(f"{what}{sep}{sfreq!r} is not a number", file=file,
                                hint="give the rate in Hz, e.g. 2000")
    try:
        value = float(sfreq)
    except (TypeError, ValueError):
        raise SamplingRateError(f"{what}{sep}{sfreq!r} is not a number", file=file,
                                hint="give the rate in Hz, e.g. 2000") from None
    lo, hi = SFREQ_RANGE
    if not np.isfinite(value) or not lo <= value <= hi:
        raise SamplingRateError(
            f"{what}{sep}{value:g} Hz is outside the plausible range {lo:g} Hz to {hi:g} Hz", file=file,
            hint="give the rate in Hz (not kHz, not a sample period); a time column in ms needs time_unit='ms'")
    return value


def check_unit(unit: Any, *, file: str | os.PathLike | None = None, channel: str | None = None,
               option: str = "units") -> str:
    """Return the canonical spelling of a unit given by the caller, or raise for an unknown one.

    Parameters
    ----------
    unit : str
        A voltage (``V``, ``mV``, ``uV``/``µV``/``μV``, ``nV``, any letter case) or one of
        :data:`OTHER_UNITS` (``deg``, ``g``, ``deg/s``, ``N``, ``counts``, ``%``, ...; a few
        spellings such as ``°`` and ``degrees`` are accepted).
    file, channel : optional
        Named in the error.
    option : str
        The option's name in the error.

    Returns
    -------
    str
        ``"V"``, ``"mV"``, ``"uV"``, ``"nV"`` or the :data:`OTHER_UNITS` spelling.

    Raises
    ------
    ParameterError
        Not a string, or a unit paraspinal does not know (it would be kept unconverted, so
        ``rec.emg("uV")`` would silently equal ``rec.emg("V")``).
    """
    accepted = f"voltages {list(UNIT_SCALE)} (µV too) or {[u for u in OTHER_UNITS if u]}"
    if not isinstance(unit, str):
        raise ParameterError(f"{option}={unit!r} is not a unit name", file=file, channel=channel,
                             hint=f"give a unit as text: {accepted}")
    u = unit.strip()
    if unit_scale(u) is not None:
        return u if u in UNIT_SCALE else _UNIT_ALIASES[u.lower()]
    if u in OTHER_UNITS:
        return u
    alias = _OTHER_ALIASES.get(u) or _OTHER_ALIASES.get(u.lower())
    if alias is None and u.lower() in _CASELESS:
        alias = u.lower()
    if alias is not None:
        return alias
    raise ParameterError(f"{option}={unit!r} is not a unit paraspinal knows", file=file, channel=channel,
                         hint=f"use one of the {accepted}")


def unit_scale(unit: str | None) -> float | None:
    """Return the factor that converts a voltage unit to volts, or None if not a voltage.

    Accepts ``V``, ``mV``, ``uV``/``µV``/``μV``, ``nV`` in any letter case (WFDB headers
    write ``mv``); a megavolt ``MV`` is not an EMG unit and is read as millivolt only when
    the string is lowercase.

    Parameters
    ----------
    unit : str or None
        Unit string.

    Returns
    -------
    float or None
    """
    if unit is None:
        return None
    u = str(unit).strip()
    if u in UNIT_SCALE:
        return UNIT_SCALE[u]
    canon = _UNIT_ALIASES.get(u.lower())
    return UNIT_SCALE[canon] if canon else None


def _normalise_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {k: None for k in META_KEYS}
    if meta:
        out.update(dict(meta))
    return out


class Recording:
    """A surface-EMG recording: signals, channel table, phases and metadata.

    Use :meth:`from_mne`, :meth:`from_array` or :func:`paraspinal.read` to make one.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded raw data in SI units; EMG channels have type ``emg``.
    channels : pandas.DataFrame
        One row per channel, columns ``name, type, muscle, side, level, unit, source_name``;
        names in the same order as ``raw.ch_names``. Electrode-grid recordings have the
        columns ``grid, row, col, x_mm, y_mm`` too (all or none; see
        :mod:`paraspinal.hdsemg`).
    meta : mapping, optional
        ``subject, group, session, task, run`` and free-form fields.

    Attributes
    ----------
    raw : mne.io.BaseRaw
        The signals. Treat as read-only (Recordings made from one another, e.g. by
        :meth:`with_phases`, may share the signal buffer); use :meth:`to_mne` for a copy to
        modify.
    channels : pandas.DataFrame
        The channel table.
    meta : dict
        Metadata.
    """

    def __init__(self, raw: mne.io.BaseRaw, channels: pd.DataFrame, meta: Mapping[str, Any] | None = None):
        if not isinstance(raw, mne.io.BaseRaw):
            raise ParameterError(f"raw must be an mne.io.BaseRaw, not {type(raw).__name__}")
        if not raw.preload:
            raw.load_data(verbose=False)
        channels = channels.reset_index(drop=True)
        missing = [c for c in CHANNEL_COLUMNS if c not in channels.columns]
        if missing:
            raise ParameterError(f"the channel table lacks the columns {missing}")
        # electrode-grid columns are optional, but come together
        grid_missing = [c for c in GRID_COLUMNS if c not in channels.columns]
        if 0 < len(grid_missing) < len(GRID_COLUMNS):
            raise ParameterError(f"the channel table has some grid columns but lacks {grid_missing}")
        if list(channels["name"]) != list(raw.ch_names):
            raise ChannelError(
                "the channel table's names differ from the raw data's channel names",
                hint=f"table {list(channels['name'])} vs raw {list(raw.ch_names)}",
            )
        self.raw = raw
        self.channels = channels
        self.meta = _normalise_meta(meta)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_mne(
        cls,
        raw: mne.io.BaseRaw,
        channels: pd.DataFrame | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        channel_map: Mapping[str, str] | None = None,
        units: Mapping[str, str] | None = None,
        rename: bool = True,
        copy: bool = True,
        allow_nan: bool = True,
    ) -> Recording:
        """Wrap an MNE raw object.

        Parameters
        ----------
        raw : mne.io.BaseRaw
            Raw data; loaded into memory if it is not already.
        channels : pandas.DataFrame, optional
            A ready channel table. When omitted, it is built by parsing channel names
            (:func:`paraspinal.channels.channel_table`) with MNE's channel types.
        meta : mapping, optional
            Metadata (subject, group, session, task, run, ...).
        channel_map : mapping, optional
            Explicit channel-name map (``{"sEMG1": "L_LT"}``).
        units : mapping, optional
            Units of non-electrical channels by (original) name, e.g. ``{"angle": "deg"}``.
        rename : bool
            Rename recognised channels to canonical names.
        copy : bool
            Work on a copy of ``raw`` (default). Pass False to hand over ownership.
        allow_nan : bool
            Keep non-finite samples (default, as MNE holds them). The readers pass False:
            a NaN or inf sample read from a file is a :class:`~paraspinal.errors.ChannelError`
            naming the channel and the first such sample.

        Returns
        -------
        Recording
        """
        raw = raw.copy() if copy else raw
        if not raw.preload:
            raw.load_data(verbose=False)
        check_sfreq(raw.info["sfreq"], file=_filename_of(raw))
        if channels is None:
            types = raw.get_channel_types()
            forced = [t if t in ("emg", "ecg") else "misc" for t in types]
            # MNE calls most unlabelled channels "eeg" or "misc": let the name decide for those.
            forced = [None if t0 in ("eeg", "misc", "bio") else t for t0, t in zip(types, forced)]
            units = dict(units or {})
            ch_units = []
            for name, t0 in zip(raw.ch_names, types):
                if name in units:
                    ch_units.append(units[name])
                else:
                    ch_units.append(None)
            channels = channel_table(
                raw.ch_names,
                units=ch_units,
                types=forced,
                mapping=channel_map,
                rename=rename,
                file=_filename_of(raw),
            )
            # channels the parser calls misc but MNE holds in volts keep volts
            for i, (t0, typ) in enumerate(zip(types, channels["type"])):
                if ch_units[i] is None and typ == "misc" and t0 in ("eeg", "emg", "ecg", "bio"):
                    channels.loc[i, "unit"] = "V"
        if not allow_nan:
            _check_finite(raw._data, raw.ch_names, _filename_of(raw),
                          hint="the file may be damaged, or its writer stores gaps as NaN: re-export it, or fill "
                               "the gaps")
        _apply_table_to_raw(raw, channels)
        return cls(raw, channels, meta)

    @classmethod
    def from_array(
        cls,
        data: np.ndarray,
        sfreq: float,
        ch_names: Sequence[str],
        units: str | Sequence[str] | Mapping[str, str] = "uV",
        *,
        ch_types: Sequence[str | None] | None = None,
        channel_map: Mapping[str, str] | None = None,
        meta: Mapping[str, Any] | None = None,
        phases: pd.DataFrame | mne.Annotations | None = None,
        rename: bool = True,
        allow_nan: bool = False,
        file: str | os.PathLike | None = None,
        units_from_file: bool = False,
    ) -> Recording:
        """Make a Recording from an ``(n_channels, n_samples)`` array.

        Parameters
        ----------
        data : array, shape (n_channels, n_samples) or (n_samples,)
            Signals in ``units``.
        sfreq : float
            Sampling rate in Hz.
        ch_names : sequence of str
            Channel names as in the source.
        units : str, sequence of str or mapping
            Unit of the values: one for all channels, one per channel, or a map by name.
            Voltage units (``V``, ``mV``, ``uV``/``µV``, ``nV``) are converted to volts;
            the units of :data:`OTHER_UNITS` (``deg``, ``g``, ``deg/s``, ``counts``, ...) are
            kept as they are and recorded. Any other unit is an error (see :func:`check_unit`).
        ch_types : sequence of str or None, optional
            MNE types to force per channel; inferred from the names where None.
        channel_map : mapping, optional
            Explicit channel-name map.
        meta : mapping, optional
            Metadata.
        phases : pandas.DataFrame or mne.Annotations, optional
            Phases with columns ``onset, duration, phase`` (seconds) and optionally ``cycle``.
        rename : bool
            Rename recognised channels to canonical names.
        allow_nan : bool
            Keep non-finite samples instead of raising.
        file : path-like, optional
            Source file, used in error messages.
        units_from_file : bool
            The units were read from the file's own header (readers pass True): a unit
            paraspinal does not know (``"NU"``, ``"mmHg"``) is kept as the file says, and an
            EMG or ECG channel in such a unit gets a warning. Units given by a caller are
            checked (False, the default).

        Returns
        -------
        Recording

        Raises
        ------
        SamplingRateError
            If ``sfreq`` is not a number within :data:`SFREQ_RANGE`.
        ParameterError
            If a unit is not a string, or (``units_from_file=False``) not a unit paraspinal knows.
        ChannelError
            If the shapes and names disagree, names repeat, or a channel holds NaN or inf.
        """
        arr = np.asarray(data)
        if arr.ndim == 1:
            arr = arr[np.newaxis, :]
        if arr.ndim != 2:
            raise ChannelError(f"data must be 2-D (n_channels, n_samples), got shape {arr.shape}", file=file)
        if not np.issubdtype(arr.dtype, np.number):
            raise ChannelError(f"data must be numeric, got dtype {arr.dtype}", file=file)
        ch_names = [str(c) for c in ch_names]
        if len(ch_names) != arr.shape[0]:
            raise ChannelError(
                f"{len(ch_names)} channel names for {arr.shape[0]} data rows",
                file=file,
                hint="data must be (n_channels, n_samples); transpose it if channels are columns",
            )
        sfreq = check_sfreq(sfreq, file=file)
        if arr.shape[1] == 0:
            raise ChannelError("the recording has no samples", file=file)
        unit_list = _unit_list(units, ch_names, file, units_from_file)
        table = channel_table(
            ch_names,
            units=["V" if unit_scale(u) is not None else u for u in unit_list],
            types=ch_types,
            mapping=channel_map,
            rename=rename,
            file=None if file is None else os.fspath(file),
        )
        if units_from_file:
            _warn_non_voltage_emg(table, unit_list, file)
        scales = np.array([unit_scale(u) or 1.0 for u in unit_list])
        arr = arr.astype(np.float64, copy=False)
        if np.any(scales != 1.0):
            arr = arr * scales[:, np.newaxis]
        if not allow_nan:
            _check_finite(arr, ch_names, file)
        info = mne.create_info(list(table["name"]), sfreq, list(table["type"]), verbose=False)
        raw = mne.io.RawArray(arr, info, copy="auto", verbose=False)
        if file is not None:
            raw._filenames = [os.fspath(file)]
        rec = cls(raw, table, meta)
        if phases is not None:
            rec = rec.with_phases(phases)
        return rec

    # ------------------------------------------------------------------ properties
    @property
    def sfreq(self) -> float:
        """Sampling rate in Hz."""
        return float(self.raw.info["sfreq"])

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return int(self.raw.n_times)

    @property
    def duration(self) -> float:
        """Duration in seconds (``n_samples / sfreq``)."""
        return self.n_samples / self.sfreq

    @property
    def ch_names(self) -> list[str]:
        """Channel names."""
        return list(self.raw.ch_names)

    @property
    def times(self) -> np.ndarray:
        """Sample times in seconds from the start of the recording."""
        return self.raw.times

    @property
    def phases(self) -> pd.DataFrame:
        """Task phases as a table: ``onset, duration, phase, cycle`` (seconds).

        ``onset`` counts from the first sample. ``cycle`` is the flexion-relaxation cycle
        number, or missing.
        """
        ann = self.raw.annotations
        onsets = np.asarray(ann.onset, dtype=float) - self._first_time()
        extras = getattr(ann, "extras", None) or [{} for _ in range(len(ann))]
        cycles = [e.get("cycle") if e else None for e in extras]
        return pd.DataFrame(
            {
                "onset": onsets,
                "duration": np.asarray(ann.duration, dtype=float),
                "phase": [str(d) for d in ann.description],
                "cycle": pd.array([None if c is None else int(c) for c in cycles], dtype="Int64"),
            }
        )

    def _first_time(self) -> float:
        """Time of the first sample on the annotations' clock (MNE offsets onsets by it)."""
        return float(self.raw.first_time)

    # ------------------------------------------------------------------ data access
    def _picks(self, picks: str | Iterable[str] | None) -> list[int]:
        if picks is None:
            return list(range(len(self.ch_names)))
        if isinstance(picks, str):
            if picks in ("emg", "ecg", "misc"):
                return [i for i, t in enumerate(self.channels["type"]) if t == picks]
            picks = [picks]
        names = self.ch_names
        out = []
        for p in picks:
            if isinstance(p, (int, np.integer)):
                out.append(int(p))
            elif p in names:
                out.append(names.index(p))
            else:
                raise ChannelError(
                    "no such channel",
                    file=self.meta.get("source"),
                    channel=str(p),
                    hint=f"available channels are {names}",
                )
        return out

    def get_data(self, picks: str | Iterable[str] | None = None, unit: str | None = "uV", *,
                 out: np.ndarray | None = None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Return signals as an ``(n_channels, n_samples)`` array.

        Parameters
        ----------
        picks : str or list of str, optional
            Channel names, or a type (``"emg"``, ``"ecg"``, ``"misc"``). All channels by default.
        unit : str or None
            Voltage unit for EMG and ECG channels (``"V"``, ``"mV"``, ``"uV"``); other channels
            are returned in their own unit (see ``channels["unit"]``). None returns volts.
        out : numpy.ndarray, optional
            A float64 array of shape ``(n_picks, n_samples)`` to fill and return instead of a
            new one (a reader going through the channels block by block reuses one buffer).
        start, stop : int
            First and end (exclusive) sample to return (default: all); not with ``out``.

        Returns
        -------
        numpy.ndarray
            A new array (or ``out``).
        """
        idx = self._picks(picks)
        if (start, stop) != (0, None) and out is not None:
            raise ParameterError("get_data: out is for the whole recording", hint="give out, or start/stop")
        scale, electrical = 1.0, np.zeros(len(idx), bool)  # voltage rows are divided by scale
        if unit is not None and idx:
            scale = unit_scale(unit)
            if scale is None:
                raise ParameterError(f"unit {unit!r} is not a voltage unit", hint="use 'V', 'mV' or 'uV'")
            unit_col = self.channels["unit"].to_numpy()
            electrical = np.array([unit_col[i] == "V" for i in idx])
        convert_all = scale != 1.0 and electrical.all()
        if out is not None:
            if out.shape != (len(idx), self.n_samples) or out.dtype != np.float64:
                raise ParameterError(f"out has shape {out.shape} and dtype {out.dtype}",
                                     hint=f"pass a float64 array of shape {(len(idx), self.n_samples)}")
            if idx and self.raw._data.dtype == np.float64 and convert_all:
                # copy and convert in one pass over each row: the same IEEE division of each sample
                # as the copy followed by the in-place division below
                for j, i in enumerate(idx):
                    np.divide(self.raw._data[i], scale, out=out[j])
                return out
            if idx and self.raw._data.dtype == np.float64:
                # the values raw.get_data copies, without a new array (mode="clip": unbuffered; idx is valid)
                np.take(self.raw._data, idx, axis=0, out=out, mode="clip")
            elif idx:
                out[...] = self.raw.get_data(picks=idx)
            data = out
        else:
            n = len(range(self.n_samples)[start:stop])
            data = self.raw.get_data(picks=idx, start=start, stop=stop) if idx else np.empty((0, n))
        if convert_all:
            data /= scale  # in place: the same values as the masked division, without its two copies
        elif scale != 1.0 and electrical.any():
            data[electrical] /= scale
        return data

    def emg(self, unit: str = "uV", picks: Iterable[str] | None = None) -> np.ndarray:
        """Return the EMG channels as an ``(n_channels, n_samples)`` array.

        Parameters
        ----------
        unit : str
            ``"V"``, ``"mV"`` or ``"uV"`` (default, microvolts).
        picks : list of str, optional
            EMG channel names; all EMG channels by default.

        Returns
        -------
        numpy.ndarray
        """
        names = self.emg_names if picks is None else list(picks)
        return self.get_data(names, unit=unit)

    @property
    def emg_names(self) -> list[str]:
        """Names of the EMG channels."""
        return [n for n, t in zip(self.channels["name"], self.channels["type"]) if t == "emg"]

    # ------------------------------------------------------------------ new Recordings
    def copy(self) -> Recording:
        """Return a deep copy."""
        return Recording(self.raw.copy(), self.channels.copy(), _copy.deepcopy(self.meta))

    def pick(
        self,
        picks: str | Iterable[str] | None = None,
        *,
        muscles: Iterable[str] | None = None,
        sides: Iterable[str] | None = None,
    ) -> Recording:
        """Return a Recording with a subset of channels.

        Parameters
        ----------
        picks : str or list of str, optional
            Channel names or a type (``"emg"``).
        muscles : iterable of str, optional
            Keep only channels of these muscle codes (``["MF", "LT"]``).
        sides : iterable of str, optional
            Keep only channels of these sides (``["L"]``).

        Returns
        -------
        Recording
        """
        idx = self._picks(picks)
        if muscles is not None:
            muscles = set(muscles)
            idx = [i for i in idx if self.channels["muscle"].iat[i] in muscles]
        if sides is not None:
            sides = set(sides)
            idx = [i for i in idx if self.channels["side"].iat[i] in sides]
        if not idx:
            raise ChannelError("the selection keeps no channel", file=self.meta.get("source"),
                               hint=f"available channels are {self.ch_names}")
        raw = self.raw.copy().pick(idx, verbose=False)
        table = self.channels.iloc[idx].reset_index(drop=True)
        return Recording(raw, table, _copy.deepcopy(self.meta))

    def crop(self, tmin: float = 0.0, tmax: float | None = None) -> Recording:
        """Return the part of the recording between ``tmin`` and ``tmax`` seconds.

        The interval is half-open, ``[tmin, tmax)``, so that ``crop(0, 10)`` of a 2 kHz
        recording has exactly 20 000 samples. Phases are cropped with the data.

        Parameters
        ----------
        tmin, tmax : float
            Seconds from the first sample; ``tmax`` defaults to the end.

        Returns
        -------
        Recording
        """
        if tmax is not None and tmax <= tmin:
            raise ParameterError(f"crop needs tmax > tmin, got tmin={tmin}, tmax={tmax}")
        if tmin < 0 or tmin >= self.duration:
            raise ParameterError(f"tmin={tmin} s is outside the recording (0 to {self.duration:.3f} s)")
        include = tmax is None or tmax > self.times[-1]
        raw = self.raw.copy().crop(tmin=tmin, tmax=None if include else tmax, include_tmax=include, verbose=False)
        return Recording(raw, self.channels.copy(), _copy.deepcopy(self.meta))

    def with_phases(self, phases: pd.DataFrame | mne.Annotations, *, replace: bool = True) -> Recording:
        """Return a Recording whose phases are ``phases``.

        Parameters
        ----------
        phases : pandas.DataFrame or mne.Annotations
            Columns ``onset, duration, phase`` (seconds from the first sample) and
            optionally ``cycle``.
        replace : bool
            Replace existing phases (default) or add to them.

        Returns
        -------
        Recording
        """
        if isinstance(phases, mne.Annotations):
            shift = 0.0 if phases.orig_time is None else self._first_time()
            extras = getattr(phases, "extras", None) or [{} for _ in range(len(phases))]
            phases = pd.DataFrame({
                "onset": np.asarray(phases.onset, dtype=float) - shift,
                "duration": np.asarray(phases.duration, dtype=float),
                "phase": [str(d) for d in phases.description],
                "cycle": [e.get("cycle") if e else None for e in extras],
            })
        need = {"onset", "duration", "phase"}
        if not need <= set(phases.columns):
            raise ParameterError(f"phases need the columns {sorted(need)}, got {list(phases.columns)}")
        _check_spans(phases, self.meta.get("source"))
        if not replace:
            phases = pd.concat([self.phases, phases], ignore_index=True).sort_values("onset", kind="stable")
        cycles = phases["cycle"] if "cycle" in phases else [None] * len(phases)
        ann = mne.Annotations(
            # with orig_time=None MNE counts onsets from the first sample
            onset=np.asarray(phases["onset"], dtype=float),
            duration=np.asarray(phases["duration"], dtype=float),
            description=[str(p) for p in phases["phase"]],
            orig_time=None,
            extras=[{} if pd.isna(c) else {"cycle": int(c)} for c in cycles],
        )
        # only the annotations change: share the (read-only by convention) signal buffer and the
        # unchanged MNE Info instead of copying them (docs/design.md, "Data model")
        data = np.asanyarray(self.raw._data, dtype=np.float64)  # the same array unless MNE would convert it
        raw = mne.io.RawArray(data, self.raw.info, first_samp=self.raw.first_samp, copy=None, verbose=False)
        _warn_outside(phases, self.duration, self.meta.get("source"))
        with warnings.catch_warnings():  # said above, with the phases' names
            warnings.filterwarnings("ignore", message=r"(Limited|Omitted) \d+ annotation", category=RuntimeWarning)
            raw.set_annotations(ann, verbose=False)
        return Recording(raw, self.channels.copy(), _copy.deepcopy(self.meta))

    def with_meta(self, **fields: Any) -> Recording:
        """Return a copy with metadata fields set (``rec.with_meta(group="patient")``)."""
        rec = Recording(self.raw, self.channels, {**self.meta, **fields})
        return rec

    def to_mne(self) -> mne.io.BaseRaw:
        """Return a copy of the data as an MNE raw object (volts for EMG/ECG)."""
        return self.raw.copy()

    def save(self, path: str | os.PathLike, *, fmt: str | None = None, overwrite: bool = False) -> None:
        """Save to EDF, BDF or FIF (chosen from the suffix unless ``fmt`` is given).

        See :func:`paraspinal.io.write`.
        """
        write = _hooks.writer()
        if write is None:
            raise WriteError("no writer is registered for Recording.save", file=path,
                             hint="import paraspinal (or paraspinal.io) first, or call paraspinal.io.write")
        write(self, path, fmt=fmt, overwrite=overwrite)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        n_emg = len(self.emg_names)
        subj = self.meta.get("subject")
        who = f" sub-{subj}" if subj else ""
        return (
            f"<Recording{who} | {len(self.ch_names)} channels ({n_emg} EMG), "
            f"{self.sfreq:g} Hz, {self.duration:.2f} s, {len(self.raw.annotations)} phases>"
        )


def annotations_copy(raw: mne.io.BaseRaw, **changes: Any) -> mne.Annotations:
    """The annotations of ``raw``, to set on a new raw with the same first sample and measurement date.

    MNE keeps the onsets of annotations without ``orig_time`` (no measurement date) on the raw's
    clock, ``first_time`` added, and adds ``first_time`` again when such annotations are set on a
    raw: set as they are, they would move by ``first_time`` at each copy (a cropped recording
    without a measurement date lost its phases that way). Here that offset is taken off once.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The source.
    **changes
        ``description`` or ``extras`` replacing those of the source (same length).

    Returns
    -------
    mne.Annotations
        A new object, with the source's ``orig_time``.
    """
    ann = raw.annotations
    onset = np.asarray(ann.onset, dtype=float)
    if ann.orig_time is None:
        onset = onset - float(raw.first_time)
    return mne.Annotations(onset=onset, duration=np.asarray(ann.duration, dtype=float),
                           description=changes.get("description", list(ann.description)), orig_time=ann.orig_time,
                           ch_names=list(ann.ch_names), extras=changes.get("extras", list(ann.extras)))


def _filename_of(raw: mne.io.BaseRaw) -> str | None:
    try:
        names = raw.filenames
    except AttributeError:
        return None
    return os.fspath(names[0]) if names and names[0] is not None else None


def _apply_table_to_raw(raw: mne.io.BaseRaw, table: pd.DataFrame) -> None:
    """Rename channels and set their MNE types as the table says (in place, on our own copy)."""
    mapping = {old: new for old, new in zip(raw.ch_names, table["name"]) if old != new}
    if mapping:
        raw.rename_channels(mapping, verbose=False)
    current = dict(zip(raw.ch_names, raw.get_channel_types()))
    new_types = {n: t for n, t in zip(table["name"], table["type"]) if current[n] != t}
    if new_types:
        # MNE notes the unit change of misc channels; paraspinal records units in its own table
        raw.set_channel_types(new_types, on_unit_change="ignore", verbose=False)


def _unit_list(units, ch_names, file, from_file: bool = False) -> list[str]:
    if isinstance(units, str):
        out = [units] * len(ch_names)
    elif isinstance(units, Mapping):
        missing = [c for c in ch_names if c not in units]
        if missing:
            raise ChannelError(f"no unit given for channels {missing}", file=file,
                               hint="give a unit for every channel, e.g. units={'L_MF': 'uV', ...}")
        out = [units[c] for c in ch_names]
    elif isinstance(units, Iterable):
        out = list(units)
        if len(out) != len(ch_names):
            raise ChannelError(f"{len(out)} units for {len(ch_names)} channels", file=file)
    else:
        raise ParameterError(f"units={units!r} is not a unit name", file=file,
                             hint="give one unit ('uV'), one per channel, or a map {'L_MF': 'uV', ...}")
    if from_file:
        bad = [(c, u) for c, u in zip(ch_names, out) if not isinstance(u, str)]
        if bad:
            raise ParameterError(f"unit {bad[0][1]!r} is not a unit name", file=file, channel=bad[0][0])
        return out
    return [check_unit(u, file=file, channel=c if len(set(map(repr, out))) > 1 else None)
            for c, u in zip(ch_names, out)]


def _check_spans(phases: pd.DataFrame, file) -> None:
    """Phase onsets and durations must be finite seconds, durations >= 0 (a negative one is no span)."""
    try:
        onset = np.asarray(phases["onset"], dtype=float)
        dur = np.asarray(phases["duration"], dtype=float)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"phase onsets and durations must be numbers (seconds): {err}", file=file) from None
    bad = np.flatnonzero(~np.isfinite(onset) | ~np.isfinite(dur) | (dur < 0))
    if bad.size:
        i = int(bad[0])
        raise ParameterError(
            f"phase {np.asarray(phases['phase'])[i]!r} (row {i}) has onset {onset[i]:g} s and duration {dur[i]:g} s, "
            f"which is not a time span ({bad.size} such row(s))", file=file,
            hint="onsets are finite seconds from the first sample, durations finite and >= 0")


def _warn_outside(phases: pd.DataFrame, duration: float, file) -> None:
    """Warn about phases outside the recording: left out (all outside) or cut at its edges (MNE does both)."""
    if not len(phases):
        return
    onset = np.asarray(phases["onset"], dtype=float)
    end = onset + np.asarray(phases["duration"], dtype=float)
    gone = (onset >= duration) | (end < 0)
    cut = ~gone & ((onset < 0) | (end > duration))
    said = []
    for mask, what in ((gone, "lie outside the recording and are left out"),
                       (cut, "run past its edges and are cut there")):
        if mask.any():
            items = [f"{p!r} at {o:g} s ({d:g} s)" for p, o, d in
                     zip(np.asarray(phases["phase"])[mask], onset[mask], (end - onset)[mask])]
            said.append(f"phase(s) {', '.join(items[:6])}{' ...' if len(items) > 6 else ''} {what}")
    if said:
        where = f"{file}: " if file else ""
        warnings.warn(f"{where}the recording lasts {duration:g} s: {'; '.join(said)}", ParaspinalWarning,
                      stacklevel=4)


def _warn_non_voltage_emg(table: pd.DataFrame, unit_list: Sequence[str], file) -> None:
    """Warn about EMG/ECG channels whose unit (read from the file) is not a voltage."""
    odd = [(nm, u) for nm, t, u in zip(table["name"], table["type"], unit_list)
           if t in ("emg", "ecg") and unit_scale(u) is None]
    if odd:
        where = f"{file}: " if file is not None else ""
        shown = ", ".join(f"{nm!r} ({u!r})" for nm, u in odd[:6]) + (" ..." if len(odd) > 6 else "")
        warnings.warn(f"{where}EMG/ECG channel(s) whose unit in the file is not a voltage: {shown}; their values "
                      "are kept as the file holds them, so amplitudes are in that unit, not in µV. Check the "
                      "file's units (or pass channel types / units when reading)", ParaspinalWarning, stacklevel=4)


def _check_finite(arr: np.ndarray, ch_names: Sequence[str], file,
                  hint: str = "fill or crop the gap before loading, or pass allow_nan=True to keep them") -> None:
    bad_rows = ~np.isfinite(arr).all(axis=1)
    if bad_rows.any():
        i = int(np.flatnonzero(bad_rows)[0])
        bad = ~np.isfinite(arr[i])
        n_bad = int(bad.sum())
        first = int(np.flatnonzero(bad)[0])
        others = [ch_names[j] for j in np.flatnonzero(bad_rows)[1:]]
        raise ChannelError(
            f"{n_bad} non-finite (NaN or inf) samples, the first at sample {first}"
            + (f"; channels {others} have some too" if others else ""),
            file=file,
            channel=ch_names[i],
            hint=hint,
        )
