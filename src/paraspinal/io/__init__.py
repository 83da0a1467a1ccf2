"""Readers and writers: one module per format family, one entry point.

:func:`read` chooses the reader by the file's content first and its suffix second, so a
Vicon CSV export and a headerless CSV both named ``.csv`` each reach the right reader, and
an EDF renamed ``.dat`` still reads. A file whose suffix names a binary format but whose
content does not match gets a :class:`~paraspinal.errors.FormatError`.

Every reader opens its input read-only and returns a :class:`~paraspinal.Recording` with
EMG in volts, the channel table filled from the names (and units) the file holds, and the
phases the file holds as annotations. ``rec.meta["source"]`` and ``rec.meta["format"]`` say
where it came from.
"""

from __future__ import annotations

import importlib
import inspect
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FormatError, ParameterError, ParaspinalWarning, ReadError
from .._hooks import register_writer

__all__ = ["read", "write", "FORMATS", "Format", "detect_format"]

_HEAD_BYTES = 4096


@dataclass(frozen=True)
class Format:
    """A file format paraspinal reads.

    Attributes
    ----------
    name : str
        Short name, accepted by ``read(path, format=name)``.
    description : str
        Human-readable name.
    suffixes : tuple of str
        Lower-case suffixes (with the dot) that suggest the format.
    sniff : callable
        ``sniff(head: bytes, path: Path) -> bool``: True when the first bytes prove the format.
    reader : str
        ``"module:function"`` inside :mod:`paraspinal.io`, imported when first used.
    binary : bool
        A binary format: a file with its suffix but other content is an error, not text.
    """

    name: str
    description: str
    suffixes: tuple[str, ...]
    sniff: Callable[[bytes, Path], bool]
    reader: str
    binary: bool = True

    def load(self) -> Callable[..., Any]:
        module, func = self.reader.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), func)


def _text_head(head: bytes) -> str:
    return head.decode("latin-1", errors="replace").lstrip("\ufeff\xef\xbb\xbf")


def _sniff_edf(head: bytes, path: Path) -> bool:
    return head[:8] == b"0       " and len(head) >= 256


def _sniff_bdf(head: bytes, path: Path) -> bool:
    return head[:8] == b"\xffBIOSEMI"


def _sniff_fif(head: bytes, path: Path) -> bool:
    # FIFF files open with the FIFF_FILE_ID tag: kind 100, type 31 (id struct), size 20.
    return head[:4] == b"\x00\x00\x00\x64" and head[4:8] == b"\x00\x00\x00\x1f"


def _sniff_brainvision(head: bytes, path: Path) -> bool:
    return _text_head(head).startswith("Brain Vision Data Exchange Header File")


def _sniff_c3d(head: bytes, path: Path) -> bool:
    # byte 1 holds 0x50 (the C3D key), byte 0 the first parameter block (>= 2).
    return len(head) >= 512 and head[1] == 0x50 and head[0] >= 2


def _sniff_wfdb(head: bytes, path: Path) -> bool:
    if path.suffix.lower() == ".hea":
        return True
    return path.suffix.lower() == ".dat" and path.with_suffix(".hea").is_file()


def _sniff_hdf5(head: bytes, path: Path) -> bool:
    return head[:8] == b"\x89HDF\r\n\x1a\n"


def _sniff_mat(head: bytes, path: Path) -> bool:
    return head[:10] == b"MATLAB 5.0" or head[:10] == b"MATLAB 7.3"


def _sniff_otb_mat(head: bytes, path: Path) -> bool:
    # an OTBiolab+ export is a MAT v5 file with the variables Data, Description, SamplingFrequency
    return head[:10] == b"MATLAB 5.0" and importlib.import_module(f"{__name__}.otb").is_otb_mat(path)


def _sniff_opensignals_txt(head: bytes, path: Path) -> bool:
    text = _text_head(head)
    if text.startswith("# OpenSignals Text File Format"):
        return True
    # a damaged first line: the JSON header on line 2 still says OpenSignals
    return '"sampling rate"' in text and importlib.import_module(
        f"{__name__}.opensignals").is_opensignals_header(text.splitlines()[:2])


def _sniff_delsys(head: bytes, path: Path) -> bool:
    return _text_head(head).startswith("Label: ")


def _sniff_vicon(head: bytes, path: Path) -> bool:
    lines = _text_head(head).splitlines()
    first = lines[0].strip().strip(",") if lines else ""
    return first in ("Devices", "Trajectories", "Model Outputs", "Joints", "Segments")


def _sniff_never(head: bytes, path: Path) -> bool:
    return False


#: The formats :func:`read` knows, in sniffing order (most specific first).
FORMATS: tuple[Format, ...] = (
    Format("edf", "European Data Format (EDF/EDF+)", (".edf", ".rec"), _sniff_edf, "mne_formats:read_edf"),
    Format("bdf", "BioSemi Data Format (BDF/BDF+)", (".bdf",), _sniff_bdf, "mne_formats:read_bdf"),
    Format("fif", "MNE/Neuromag FIF", (".fif", ".fif.gz"), _sniff_fif, "mne_formats:read_fif"),
    Format("brainvision", "BrainVision (.vhdr/.eeg/.vmrk)", (".vhdr",), _sniff_brainvision,
           "mne_formats:read_brainvision", binary=False),
    Format("c3d", "C3D motion-capture file (analog channels)", (".c3d",), _sniff_c3d, "c3d:read_c3d"),
    Format("wfdb", "WFDB / PhysioNet record (.hea + .dat)", (".hea",), _sniff_wfdb, "wfdb:read_wfdb",
           binary=False),
    Format("otb_mat", "OTBiolab+ MATLAB export (electrode grids)", (".mat",), _sniff_otb_mat, "otb:read_otb_mat"),
    Format("matlab", "MATLAB .mat (v5 and v7.3)", (".mat",), _sniff_mat, "matlab:read_mat"),
    Format("opensignals_h5", "OpenSignals HDF5 (PLUX biosignalsplux/BITalino)", (".h5", ".hdf5"), _sniff_hdf5,
           "opensignals:read_opensignals_h5"),
    Format("opensignals_txt", "OpenSignals text (JSON header)", (), _sniff_opensignals_txt,
           "opensignals:read_opensignals_txt", binary=False),
    Format("delsys", "Delsys Trigno CSV export (EMGworks / Trigno Discover)", (), _sniff_delsys,
           "delsys:read_delsys", binary=False),
    Format("vicon_csv", "Vicon Nexus CSV export", (), _sniff_vicon, "vicon:read_vicon_csv", binary=False),
    Format("text", "Delimited text (CSV/TSV/TXT)", (".csv", ".tsv", ".txt", ".asc", ".emt"), _sniff_never,
           "text:read_text", binary=False),
)

_BY_NAME = {f.name: f for f in FORMATS}


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ReadError("no such file", file=path, hint="check the path and its spelling")
    if path.is_dir():
        raise ReadError(
            "is a folder, not a recording",
            file=path,
            hint="for a whole study use `paraspinal study run FOLDER`; for one file give its path",
        )
    if path.stat().st_size == 0:
        raise ReadError("the file is empty (0 bytes)", file=path, hint="re-export the recording from the acquisition software")


def _sniffs(fmt: Format, head: bytes, path: Path) -> bool:
    """``fmt.sniff`` as a plain yes or no: a sniffer that fails on odd bytes (a bug) says no.

    Sniffers only look; any file, however short or strange, must reach a reader or a
    :class:`~paraspinal.errors.FormatError`, never an exception from inside a sniffer.
    """
    try:
        return bool(fmt.sniff(head, path))
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - see the docstring
        return False


def detect_format(path: str | os.PathLike) -> Format:
    """Tell which format a file holds, by content first and suffix second.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    Format

    Raises
    ------
    ReadError
        If the file is missing, a folder, or empty.
    FormatError
        If neither content nor suffix names a known format, or a binary format's suffix
        does not match the content.
    """
    path = Path(path)
    _check_file(path)
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    suffixes = "".join(path.suffixes[-2:]).lower()
    suffix = path.suffix.lower()
    for fmt in FORMATS:
        if _sniffs(fmt, head, path):
            # MAT v7.3 files are HDF5 behind a 512-byte MATLAB header: the MAT sniff wins above.
            # .csv/.txt are containers many text formats use: only a specific suffix can disagree
            claimed = [f for f in FORMATS if f is not fmt and f.name != "text"
                       and (suffix in f.suffixes or suffixes in f.suffixes)]
            if claimed and suffix not in fmt.suffixes:
                warnings.warn(
                    f"{path}: the suffix {suffix!r} says {claimed[0].description}, but the content is "
                    f"{fmt.description}; reading it as the content says. Rename the file to avoid confusion.",
                    ParaspinalWarning,
                    stacklevel=3,
                )
            return fmt
    for fmt in FORMATS:
        if suffix in fmt.suffixes or suffixes in fmt.suffixes:
            if fmt.binary:
                raise FormatError(
                    f"the suffix says {fmt.description}, but the content is not (it starts with {head[:16]!r})",
                    file=path,
                    hint="the file may be truncated, corrupted or misnamed; pass format='...' to force a reader, "
                    f"one of {sorted(_BY_NAME)}",
                )
            return fmt
    raise FormatError(
        f"unknown format (suffix {suffix or 'none'!r}, first bytes {head[:16]!r})",
        file=path,
        hint=f"pass format='...' with one of {sorted(_BY_NAME)}, or convert the file to EDF or CSV",
    )


def read(path: str | os.PathLike, format: str | None = None, **options: Any):
    """Read a recording from any supported format.

    Parameters
    ----------
    path : path-like
        The recording file (for WFDB the ``.hea`` or ``.dat``; for BrainVision the ``.vhdr``).
    format : str, optional
        Force a reader by name (see :data:`FORMATS`); by default it is detected from the
        content, then the suffix.
    **options
        Passed to the format's reader, e.g. ``channel_map={"sEMG1": "L_LT"}``,
        ``meta={"subject": "01", "group": "patient"}``, or format-specific options
        (``sfreq=``, ``columns=`` for text; ``variables=`` for MATLAB). An option the
        reader does not take is an error that lists the ones it does.

    Returns
    -------
    Recording
        With ``meta["source"]`` (the path) and ``meta["format"]`` (the format's name).

    Raises
    ------
    ReadError, FormatError, ChannelError, SamplingRateError, ParameterError
        With the file, the channel and what to do.

    Examples
    --------
    >>> import paraspinal as ps
    >>> rec = ps.read("sub-01_task-frt_emg.edf")  # doctest: +SKIP
    >>> rec.emg(unit="uV").shape  # doctest: +SKIP
    (6, 60000)
    """
    path = Path(path)
    if format is None:
        fmt = detect_format(path)
    else:
        _check_file(path)
        if format not in _BY_NAME:
            raise ParameterError(f"unknown format {format!r}", file=path, hint=f"use one of {sorted(_BY_NAME)}")
        fmt = _BY_NAME[format]
    reader = fmt.load()
    accepted = inspect.signature(reader).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            valid = [n for n, p in accepted.items() if p.kind is p.KEYWORD_ONLY]
            raise ParameterError(
                f"the {fmt.name} reader takes no option(s) {unknown}",
                file=path,
                hint=f"its options are {valid}",
            )
    rec = reader(path, **options)
    rec.meta["source"] = os.fspath(path)
    rec.meta["format"] = fmt.name
    return rec


def write(rec, path: str | os.PathLike, *, fmt: str | None = None, overwrite: bool = False) -> Path:
    """Write a Recording to EDF, BDF or FIF.

    Parameters
    ----------
    rec : Recording
        What to write.
    path : path-like
        Destination; its suffix chooses the format unless ``fmt`` is given.
    fmt : {"edf", "bdf", "fif"}, optional
        Format to write.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    EDF stores 16-bit and BDF 24-bit integers per channel, scaled to each channel's
    physical range, so a round trip is exact to the format's resolution
    (range / 2**16 for EDF, range / 2**24 for BDF); FIF stores float32 (7 significant digits).
    """
    from .mne_formats import write_mne

    return write_mne(rec, path, fmt=fmt, overwrite=overwrite)


# Recording.save writes through write(); recording sits below io, so io registers it there.
register_writer(write)
