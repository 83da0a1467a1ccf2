"""MATLAB ``.mat`` files: v5 (``scipy.io.loadmat``) and v7.3 (HDF5, through ``h5py``).

A MAT file holds named variables, not a recording: the user says which variable is the
signal matrix, which (if any) the sampling rate and which the channel names, with
``variables={"data": "emg", "sfreq": "fs", "ch_names": "labels"}``, or gives the rate as a
number (``sfreq=2000``). Without ``variables``, the one 2-D numeric matrix in the file is
taken (a column or row vector counts only when there is no matrix).

Orientation. ``channels_axis=0`` means channels are rows (``n_channels x n_samples``),
``1`` columns. When it is not given, the smaller dimension is taken as channels, with a
:class:`ParaspinalWarning` when the shape does not make that clear (square, or fewer than
ten samples per channel).

MAT v7.3 layout assumed (MathWorks, "MAT-File Versions"; HDF Group, HDF5 user block): an
HDF5 file behind a 512-byte user block whose text starts ``MATLAB 7.3 MAT-file``; each
variable is a dataset at the root with an attribute ``MATLAB_class`` (``double``,
``single``, ``char``, ``cell``...). MATLAB writes arrays in column-major order, so a MATLAB
``m x n`` matrix appears to HDF5 readers as ``n x m``: this reader transposes every
dataset back to MATLAB's shape before applying ``channels_axis``. ``char`` arrays are
UTF-16 code units (``uint16``); a ``cell`` is an array of object references into
``#refs#``.

References
----------
The MathWorks. MAT-File Format (Level 5), 2023, and "MAT-File Versions" (v7.3 = HDF5).
Virtanen P et al. (2020). SciPy 1.0. Nat Methods 17:261-272 (``scipy.io.loadmat``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChannelError, ParameterError, ParaspinalWarning, ReadError, SamplingRateError
from ..recording import Recording
from ._mat5 import check_mat5

__all__ = ["read_mat"]

_V73_MAGIC = b"MATLAB 7.3"
_KEYS = ("data", "sfreq", "ch_names")


def _is_v73(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(520)
    return head[:10] == _V73_MAGIC or head[512:520] == b"\x89HDF\r\n\x1a\n" or head[:8] == b"\x89HDF\r\n\x1a\n"


def _load_v5(path: Path) -> dict[str, Any]:
    import scipy.io

    check_mat5(path)  # a damaged element would crash scipy's reader, not raise
    try:
        content = scipy.io.loadmat(os.fspath(path), squeeze_me=False, chars_as_strings=True)
    except NotImplementedError as err:  # scipy says so for v7.3 files without the magic text
        raise ReadError(f"MAT v7.3 file without its MATLAB header: {err}", file=path,
                        hint="save it again from MATLAB with save(..., '-v7.3') or '-v7'") from err
    except Exception as err:  # scipy raises ValueError, TypeError, OSError, zlib.error, MatReadError...
        raise ReadError(f"could not be read as a MAT v5 file: {err}", file=path,
                        hint="the file may be truncated or corrupted; save it again from MATLAB") from err
    return {k: v for k, v in content.items() if not k.startswith("__")}


def _h5_value(f, obj) -> Any:
    """One v7.3 dataset as a NumPy value in MATLAB's shape (transposed back)."""
    import h5py

    cls = obj.attrs.get("MATLAB_class", b"")
    cls = cls.decode() if isinstance(cls, bytes) else str(cls)
    if isinstance(obj, h5py.Group):
        return None  # struct: not supported as a signal or a name list
    raw = obj[()]
    if cls == "char":
        codes = np.asarray(raw, dtype=np.uint16).T  # (n_strings, n_chars) in MATLAB
        codes = np.atleast_2d(codes)
        return np.array(["".join(map(chr, row)).rstrip("\x00 ") for row in codes])
    if cls == "cell" or raw.dtype == h5py.ref_dtype:
        refs = np.asarray(raw).T
        return np.array([_h5_value(f, f[r]) for r in refs.ravel()], dtype=object).reshape(refs.shape)
    if np.asarray(raw).dtype.names and {"real", "imag"} <= set(np.asarray(raw).dtype.names):
        raw = np.asarray(raw)["real"]
    return np.asarray(raw).T


def _load_v73(path: Path) -> dict[str, Any]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return {name: _h5_value(f, f[name]) for name in f.keys() if not name.startswith("#")}
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as err:
        raise ReadError(f"could not be read as a MAT v7.3 (HDF5) file: {err}", file=path,
                        hint="the file may be truncated or corrupted; save it again from MATLAB") from err


def _describe(value: Any) -> str:
    arr = np.asarray(value) if not isinstance(value, np.ndarray) else value
    return f"{arr.dtype}{list(arr.shape)}"


def _numeric(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "iufb" and value.size > 0


def _names_from(value: Any, n: int, var: str, path: Path) -> list[str]:
    arr = np.asarray(value, dtype=object)
    flat: list[str] = []
    for item in arr.ravel():
        while isinstance(item, np.ndarray) and item.size == 1 and item.dtype == object:
            item = item.ravel()[0]
        if isinstance(item, np.ndarray):
            item = "".join(str(x) for x in item.ravel())
        flat.append(str(item).strip())
    if len(flat) != n:
        raise ChannelError(f"variable {var!r} holds {len(flat)} channel names for {n} channels", file=path,
                           hint="give ch_names=[...] or fix the name variable")
    return flat


def read_mat(
    path: str | os.PathLike,
    *,
    variables: Mapping[str, str] | None = None,
    sfreq: float | None = None,
    channels_axis: int | None = None,
    units: str | Sequence[str] = "V",
    ch_names: Sequence[str] | None = None,
    channel_map: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
    rename: bool = True,
) -> Recording:
    """Read a signal matrix from a MATLAB ``.mat`` file (v5 or v7.3).

    Parameters
    ----------
    path : path-like
        The ``.mat`` file (opened read-only).
    variables : mapping, optional
        Which variable holds what: ``"data"`` (the signal matrix, required in the map),
        ``"sfreq"`` (a scalar, Hz) and ``"ch_names"`` (a cell array or char matrix of
        names). Without it, the one 2-D numeric matrix in the file is the data.
    sfreq : float, optional
        Sampling rate in Hz, when the file does not hold it (takes precedence over
        ``variables["sfreq"]``).
    channels_axis : {0, 1}, optional
        0 if channels are rows, 1 if columns; inferred as the smaller dimension when omitted.
    units : str or sequence of str
        Unit of the values (``"V"``, ``"mV"``, ``"uV"``); MAT files do not say. Default volts.
    ch_names : sequence of str, optional
        Channel names (take precedence over ``variables["ch_names"]``); default
        ``<data variable>1..n``.
    channel_map : mapping, optional
        Explicit channel-name map (``{"emg1": "L_MF_L5"}``).
    meta : mapping, optional
        Metadata to attach.
    rename : bool
        Rename recognised channels to canonical names.

    Returns
    -------
    Recording
        ``meta["mat_variable"]`` names the data variable, ``meta["mat_version"]`` is
        ``"5"`` or ``"7.3"``.

    Raises
    ------
    ReadError
        Truncated or corrupted file.
    ChannelError
        No (or more than one) candidate matrix, a named variable missing or not numeric.
    SamplingRateError
        No rate in the file and none given; the message lists the file's variables.

    References
    ----------
    The MathWorks, MAT-File Format (Level 5) and MAT-File Versions (v7.3 is HDF5);
    Virtanen P et al. (2020), Nat Methods 17:261-272 (scipy.io.loadmat).
    """
    path = Path(path)
    variables = dict(variables or {})
    unknown = sorted(set(variables) - set(_KEYS))
    if unknown:
        raise ParameterError(f"unknown keys {unknown} in variables=", file=path,
                             hint=f"use the keys {list(_KEYS)}, e.g. variables={{'data': 'emg', 'sfreq': 'fs'}}")
    if channels_axis not in (None, 0, 1):
        raise ParameterError(f"channels_axis={channels_axis!r} must be 0 (rows), 1 (columns) or None", file=path)
    v73 = _is_v73(path)
    content = _load_v73(path) if v73 else _load_v5(path)
    listing = ", ".join(f"{k} {_describe(v)}" for k, v in content.items() if v is not None) or "none"

    data_var = variables.get("data")
    if data_var is None:
        matrices = [k for k, v in content.items() if _numeric(v) and v.ndim == 2 and min(v.shape) > 1]
        vectors = [k for k, v in content.items() if _numeric(v) and v.ndim == 2 and min(v.shape) == 1 and v.size > 1]
        candidates = matrices or vectors
        if len(candidates) != 1:
            raise ChannelError(
                ("no 2-D numeric array" if not candidates else f"{len(candidates)} candidate signal arrays {candidates}")
                + f" in the file (variables: {listing})",
                file=path,
                hint="say which one holds the signals: variables={'data': 'NAME'}",
            )
        data_var = candidates[0]
    if data_var not in content:
        raise ChannelError(f"no variable {data_var!r} (variables: {listing})", file=path,
                           hint="check the name in variables={'data': ...}")
    data = content[data_var]
    if not _numeric(data) or data.ndim != 2:
        raise ChannelError(f"variable {data_var!r} is not a 2-D numeric array ({_describe(data)})", file=path,
                           hint="the data variable must be an n_samples x n_channels (or transposed) matrix")

    if sfreq is None and "sfreq" in variables:
        name = variables["sfreq"]
        if name not in content:
            raise SamplingRateError(f"no variable {name!r} for the sampling rate (variables: {listing})", file=path,
                                    hint="pass the rate in Hz as sfreq=...")
        value = np.asarray(content[name])
        if not _numeric(value) or value.size != 1:
            raise SamplingRateError(f"variable {name!r} is not a scalar ({_describe(value)})", file=path,
                                    hint="pass the rate in Hz as sfreq=...")
        sfreq = float(value.ravel()[0])
    if sfreq is None:
        raise SamplingRateError(
            f"the file does not say its sampling rate (variables: {listing})",
            file=path,
            hint="pass sfreq=<Hz>, or variables={'sfreq': 'NAME'} if one of these variables holds it",
        )

    if channels_axis is None:
        n0, n1 = data.shape
        channels_axis = 0 if n0 < n1 else 1
        if n0 == n1 or max(n0, n1) < 10 * min(n0, n1):
            warnings.warn(
                f"{path}: variable {data_var!r} is {n0} x {n1}; taking {'rows' if channels_axis == 0 else 'columns'} "
                "as channels. Pass channels_axis=0 (rows) or 1 (columns) to say so.",
                ParaspinalWarning, stacklevel=2,
            )
    arr = np.asarray(data, dtype=np.float64)
    if channels_axis == 1:
        arr = arr.T
    n_ch = arr.shape[0]
    if ch_names is not None:
        names = [str(c) for c in ch_names]
        if len(names) != n_ch:
            raise ChannelError(f"{len(names)} names in ch_names for {n_ch} channels", file=path,
                               hint="give one name per channel, or check channels_axis")
    elif "ch_names" in variables:
        name = variables["ch_names"]
        if name not in content:
            raise ChannelError(f"no variable {name!r} for the channel names (variables: {listing})", file=path)
        names = _names_from(content[name], n_ch, name, path)
    else:
        names = [f"{data_var}{i + 1}" for i in range(n_ch)]
    out_meta = {"mat_variable": data_var, "mat_version": "7.3" if v73 else "5", **dict(meta or {})}
    return Recording.from_array(arr, sfreq, names, units=units, channel_map=channel_map, meta=out_meta,
                                rename=rename, file=path)
