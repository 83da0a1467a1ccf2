"""Shared machinery of the text-format readers (private).

What lives here, and who uses it:

- :func:`head_lines`, :func:`sniff_delimiter`, :func:`split_fields`, :func:`is_number`:
  reading and splitting the first lines of a file (all text readers);
- :func:`read_numeric`: the numeric block of a delimited file, parsed in chunks by
  pandas' C reader into one preallocated array, and re-parsed line by line only when that
  fails, to say which line and column are wrong (all text readers);
- :func:`sfreq_from_time`: the sampling rate from a time column, with the uniformity
  check and its tolerance (``text``, ``delsys``);
- :func:`interp_onto`: inertial channels onto the EMG clock (``text``, ``delsys``);
- :func:`adc_to_volts` and :data:`TRANSFER`: PLUX/BITalino sensor transfer functions
  (``text`` for BioSPPy "Simple Text Format" files, ``opensignals``).

Nothing here is public API.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, ParaspinalWarning, ReadError, SamplingRateError

_LINE_RE = re.compile(rb"\r\n|\n|\r")
_TEXT_LINE_RE = re.compile(r"\r\n|\n|\r")
_HEAD_BYTES = 1 << 20
_MAX_HEAD_LINES = 2000

#: Relative tolerance on each step of a time column (fraction of the sample period).
TIME_STEP_RTOL = 0.01


# ----------------------------------------------------------------------------- lines
@dataclass
class Line:
    """One line of a file: its byte span and its text."""

    start: int  # byte offset of the line
    next: int  # byte offset of the following line
    number: int  # 1-based line number
    text: str


def decode(raw: bytes) -> str:
    """Decode bytes as UTF-8, falling back to Latin-1 (which never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def head_lines(path: Path, max_bytes: int = _HEAD_BYTES, max_lines: int = _MAX_HEAD_LINES) -> tuple[list[Line], bool]:
    """Return the first lines of a file and whether they reach its end.

    Lines end at ``\\r\\n``, ``\\n`` or ``\\r`` (as pyarrow and pandas split them). A UTF-8
    byte-order mark at the start is skipped. A last line cut by ``max_bytes`` is left out.
    """
    try:
        with open(path, "rb") as fh:  # read-only
            head = fh.read(max_bytes)
            eof = fh.read(1) == b""
    except OSError as err:
        raise ReadError(f"could not be opened: {err}", file=path) from err
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    lines: list[Line] = []
    for m in _LINE_RE.finditer(head, pos):
        lines.append(Line(pos, m.end(), len(lines) + 1, decode(head[pos:m.start()])))
        pos = m.end()
        if len(lines) >= max_lines:
            return lines, False
    if pos < len(head) and eof:
        lines.append(Line(pos, len(head), len(lines) + 1, decode(head[pos:])))
    return lines, eof and len(lines) < max_lines


def is_blank(text: str, delimiter: str | None = None) -> bool:
    """A line with nothing but white space (and delimiters, e.g. ``,,,,``)."""
    s = text.strip()
    if delimiter and delimiter.strip():
        s = s.replace(delimiter, "").strip()
    return s == ""


def is_comment(text: str, comment: str = "#") -> bool:
    return text.lstrip().startswith(comment)


def split_fields(text: str, delimiter: str | None) -> list[str]:
    """Split one line into stripped fields (quotes honoured; None splits on white space)."""
    if delimiter is None:
        return text.split()
    try:
        row = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        row = text.split(delimiter)
    return [f.strip() for f in row]


def is_number(text: str) -> bool:
    """True when ``text`` is a number as pandas/pyarrow read one (``nan``/``inf`` included)."""
    try:
        float(text.strip().strip("\"'"))
    except ValueError:
        return False
    return True


def is_numeric_row(fields: Sequence[str]) -> bool:
    """Every non-empty field is a number, and there is at least one."""
    nonempty = [f for f in fields if f != ""]
    return bool(nonempty) and all(is_number(f) for f in nonempty)


_CANDIDATES = (",", "\t", ";", "|")


def sniff_delimiter(lines: Sequence[str]) -> str | None:
    """Guess the delimiter of data lines.

    A candidate (``,``, tab, ``;``, ``|``) wins when it occurs the same, non-zero number of
    times on every sampled line; among winners the most frequent one (``;`` before ``,``
    on a tie, for files that write decimal commas). Otherwise, when the lines split on
    white space into the same number (> 1) of fields, None (runs of white space). Otherwise
    ``","`` (a single column, where the delimiter does not matter).
    """
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return ","
    best, best_count = None, 0
    for cand in _CANDIDATES:
        counts = {ln.count(cand) for ln in lines}
        if len(counts) == 1:
            c = counts.pop()
            if c > 0 and (c > best_count or (c == best_count and cand == ";")):
                best, best_count = cand, c
    if best is not None:
        return best
    widths = {len(ln.split()) for ln in lines}
    if len(widths) == 1 and widths.pop() > 1:
        return None
    # inconsistent counts: take the most frequent candidate present on every line
    present = [c for c in _CANDIDATES if all(c in ln for ln in lines)]
    return present[0] if present else ","


def delimiter_name(delimiter: str | None) -> str:
    return {None: "white space", "\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(
        delimiter, repr(delimiter)
    )


# ----------------------------------------------------------------------------- numbers
#: Bytes of the data block checked row by row before it is parsed (its first rows), and the
#: most rows checked: a ragged or non-numeric file is refused from these, in bounded time and memory.
_CHECK_BYTES = 1 << 20
_CHECK_ROWS = 200
#: Bytes of text the line-by-line parser holds at once (the rest of the memory is the array).
_BLOCK_BYTES = 1 << 20


def read_numeric(
    path: Path,
    *,
    offset: int,
    first_line: int,
    delimiter: str | None,
    n_fields: int | None = None,
    end: int | None = None,
    comment: str = "#",
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Parse the numeric block of a delimited text file.

    Parameters
    ----------
    path : Path
        The file (opened read-only).
    offset : int
        Byte offset of the first data row.
    first_line : int
        1-based line number of that row, for error messages.
    delimiter : str or None
        One-character delimiter, or None for runs of white space.
    n_fields : int, optional
        Expected number of fields per row (the header's); by default the commonest count
        among the first rows.
    end : int, optional
        Byte offset where the block ends (exclusive); by default the end of the file.
    comment : str
        Lines starting with this are skipped (slow path only: a comment line inside the
        data sends the fast path to the slow path).
    names : sequence of str, optional
        Column names for error messages.

    Returns
    -------
    numpy.ndarray, shape (n_columns, n_rows), float64, C-contiguous
        Empty cells are NaN. A trailing delimiter on every row gives a last column of NaN.

    Raises
    ------
    ReadError
        No data rows, a row with a different number of fields (line number given), or a
        cell that is not a number (line number, column and value given).

    Notes
    -----
    First the rows in the first MiB of the block (at most 200) are checked one by one: a
    ragged or non-numeric file is refused from them at once, whatever its size. Fast path:
    pandas' C reader in chunks of rows into one preallocated float64 array
    (:func:`_read_chunked`). When it refuses the block (a stray comment line, a ragged row, a
    non-numeric cell, an empty cell), the block is parsed line by line, one MiB of text at a
    time, with vectorised pandas string operations (:func:`_read_slow`): slower, but it says
    exactly what is wrong. Either way the memory held is the array plus about one MiB of text
    (the array itself is never sized beyond what the file's bytes can hold).
    """
    expected = _check_first_rows(path, offset, end, first_line, delimiter, n_fields, comment, names)
    try:
        fast = _read_fast(path, offset, end, first_line, delimiter)
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - any parser failure: the slow path says what is wrong
        fast = None
    if fast is not None and (expected is None or fast.shape[0] == expected):
        return fast
    return _read_slow(path, offset, end, first_line, delimiter, expected, comment, names)


def _read_bytes(path: Path, offset: int, n: int) -> bytes:
    try:
        with open(path, "rb") as fh:  # read-only
            fh.seek(offset)
            return fh.read(n)
    except OSError as err:
        raise ReadError(f"could not be read: {err}", file=path) from err


def _check_first_rows(path: Path, offset: int, end: int | None, first_line: int, delimiter: str | None,
                      n_fields: int | None, comment: str, names: Sequence[str] | None) -> int | None:
    """Check the block's first rows (field counts, numbers); return the expected field count.

    None when the first MiB holds no whole data row (a single enormous line): the parsers
    then take the first row's count.
    """
    want = _CHECK_BYTES if end is None else min(_CHECK_BYTES, max(end - offset, 0))
    raw = _read_bytes(path, offset, want + 1)
    at_end = len(raw) <= want
    raw = raw[:want]
    if not at_end:
        cut = max(raw.rfind(b"\n"), raw.rfind(b"\r"))
        if cut < 0:
            return n_fields
        raw = raw[:cut + 1]
    lines = _TEXT_LINE_RE.split(raw.decode("utf-8", errors="replace"), maxsplit=2 * _CHECK_ROWS)
    lines = lines[:2 * _CHECK_ROWS] if len(lines) > 2 * _CHECK_ROWS else lines[:-1] if lines[-1:] == [""] else lines
    rows, numbers = _data_lines(pd.Series(lines, dtype=object), first_line, delimiter, comment)
    if not len(rows):
        return n_fields
    rows, numbers = rows.iloc[:_CHECK_ROWS], numbers[:_CHECK_ROWS]
    parts = _split(rows, delimiter)
    counts = parts.str.len().to_numpy()
    expected = n_fields if n_fields is not None else int(np.bincount(counts).argmax())
    _parse_rows(parts, counts, numbers, expected, delimiter, path, names)
    return expected


def _read_fast(
    path: Path, offset: int, end: int | None, first_line: int, delimiter: str | None
) -> np.ndarray | None:
    # To the end of the file: hand pandas the path and the number of lines before the data
    # (skiprows counts blank lines, as head_lines does). A bounded
    # block (a Vicon "Devices" section) is read into memory first.
    if end is None:
        src: Any = os.fspath(path)
        skip = first_line - 1
        size = os.path.getsize(path) - offset
    else:
        src = io.BytesIO(_read_bytes(path, offset, end - offset))
        skip = 0
        size = end - offset
    return _read_chunked(src, skip, delimiter, size=size)


def _count_lines(src: Any) -> int:
    """Number of lines in a file or buffer (an upper bound on its data rows), read in 4 MiB blocks."""
    if isinstance(src, io.BytesIO):
        data = bytes(src.getbuffer())
        return data.count(b"\n") + (1 if data and data[-1:] != b"\n" else 0)
    n = 0
    last = b"\n"
    with open(src, "rb") as fh:  # read-only
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (0 if last == b"\n" else 1)


def _compact(out: np.ndarray, rows: int) -> np.ndarray:
    """The first ``rows`` columns of a ``(n, capacity)`` array as a C-contiguous ``(n, rows)`` array, in place."""
    n, capacity = out.shape
    if rows == capacity:
        return out
    flat = out.reshape(-1)
    for j in range(1, n):  # rows only move left
        flat[j * rows:(j + 1) * rows] = flat[j * capacity:j * capacity + rows]
    return flat[: n * rows].reshape(n, rows)


def _read_chunked(src: Any, skip: int, delimiter: str | None, chunk_rows: int = 65536,
                  size: int | None = None) -> np.ndarray | None:
    """Parse with pandas' C reader in chunks of rows, straight into one float64 array.

    The lines are counted first (a byte scan) to size an ``(n_columns, n_rows)`` array; each
    chunk of ``chunk_rows`` rows is parsed and copied into it, so the peak memory stays near
    one copy of the data plus one chunk. Reading the whole file at once holds several copies
    (text buffers, Arrow arrays and a DataFrame: about 4.5x the array with
    ``engine="pyarrow"``, 3x with the C engine; ``scripts/bench_io.py``). Empty cells become
    NaN; any other cell that is not a number raises, and the slow path names it. Every cell
    takes at least one byte of text, so an array of more cells than the block has bytes
    (``size``) means ragged rows: the slow path is left to say so, before anything is allocated.

    Numbers are converted by pandas' default ("high" precision) parser, as
    ``pandas.read_csv`` does, so values equal pandas' exactly. Against an exact decimal
    conversion (``numpy.loadtxt``) the relative error stays below 1e-14 (measured up to
    5e-15 on 17-significant-digit inputs): ten orders of magnitude below a 24-bit
    amplifier's resolution. The exact ``round_trip`` parser takes twice as long, and Arrow's
    exact parser holds about twice the memory (``scripts/bench_io.py``).
    """
    if isinstance(src, io.BytesIO):
        src.seek(0)
    capacity = max(_count_lines(src) - skip, 1)
    if isinstance(src, io.BytesIO):
        src.seek(0)
    sep = r"\s+" if delimiter is None else delimiter
    reader = pd.read_csv(src, sep=sep, header=None, skiprows=skip, engine="c", dtype=np.float64,
                         chunksize=chunk_rows)
    out: np.ndarray | None = None
    row = 0
    with reader:
        for chunk in reader:
            values = chunk.to_numpy(dtype=np.float64, copy=False)
            if out is None:
                if size is not None and values.shape[1] * capacity > size + capacity:
                    return None  # more cells than the text can hold: ragged rows
                out = np.empty((values.shape[1], capacity), dtype=np.float64)
            if values.shape[1] != out.shape[0] or row + len(values) > capacity:
                return None  # ragged rows or an unexpected line count: the slow path explains
            if np.isnan(values).any():
                # the C reader pads short rows with NaN: let the slow path tell an empty cell
                # from a missing field
                return None
            out[:, row:row + len(values)] = values.T
            row += len(values)
    if out is None or row == 0:
        return None
    return _compact(out, row)


def _line_blocks(path: Path, offset: int, end: int | None) -> Any:
    """The text from ``offset`` to ``end`` as blocks of whole lines (about :data:`_BLOCK_BYTES` each).

    Yields ``(lines, n_breaks)``: the block's lines (``\\r\\n``, ``\\n`` or ``\\r`` ends) and the
    number of line breaks it consumed, so that line numbers carry on across blocks.
    """
    try:
        fh = open(path, "rb")  # read-only
    except OSError as err:
        raise ReadError(f"could not be read: {err}", file=path) from err
    with fh:
        fh.seek(offset)
        left = None if end is None else end - offset
        carry = b""
        while True:
            n = _BLOCK_BYTES if left is None else min(_BLOCK_BYTES, left)
            block = fh.read(n) if n > 0 else b""
            if left is not None:
                left -= len(block)
            last = not block
            data = carry + block
            if not last:
                cut = data.rfind(b"\n")
                if cut < 0:
                    cut = data.rfind(b"\r", 0, len(data) - 1)  # a lone \r may be half of \r\n
                if cut < 0:
                    carry = data  # one line longer than a block: read on
                    continue
                data, carry = data[:cut + 1], data[cut + 1:]
            if data:
                lines = _TEXT_LINE_RE.split(data.decode("utf-8", errors="replace"))
                n_breaks = len(lines) - 1
                if lines[-1] == "":
                    lines = lines[:-1]
                yield lines, n_breaks
            if last:
                return


def _data_lines(lines: pd.Series, first_line: int, delimiter: str | None, comment: str
                ) -> tuple[pd.Series, np.ndarray]:
    """The data rows among ``lines`` (no blank, comment or delimiter-only line) and their line numbers."""
    stripped = lines.str.strip()
    keep = (stripped != "") & ~stripped.str.startswith(comment)
    if delimiter is not None and delimiter.strip():
        keep &= stripped.str.replace(delimiter, "", regex=False).str.strip() != ""
    keep = keep.to_numpy(dtype=bool)
    return lines[keep], first_line + np.flatnonzero(keep)


def _split(rows: pd.Series, delimiter: str | None) -> pd.Series:
    return rows.str.split() if delimiter is None else rows.str.split(delimiter, regex=False)


def _parse_rows(parts: pd.Series, counts: np.ndarray, numbers: np.ndarray, expected: int, delimiter: str | None,
                path: Path, names: Sequence[str] | None) -> np.ndarray:
    """Rows split into fields -> ``(expected, n_rows)`` floats; a ragged row or a non-number raises."""
    bad = np.flatnonzero(counts != expected)
    if bad.size:
        i = int(bad[0])
        raise ReadError(
            f"line {numbers[i]} has {counts[i]} fields where {expected} were expected "
            f"({delimiter_name(delimiter)}-delimited; {bad.size} such line(s) near it)",
            file=path,
            hint="the rows are ragged: the file may be truncated or hold two tables; fix or re-export it, "
            "or give delimiter= if the delimiter was guessed wrong",
        )
    table = pd.DataFrame(parts.tolist(), dtype=object)
    out = np.empty((expected, len(parts)), dtype=np.float64)
    for j in range(expected):  # loop over columns, not samples
        cells = table[j].astype(str).str.strip().str.strip("\"'")
        values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        wrong = np.isnan(values) & (cells != "").to_numpy() & ~cells.str.lower().isin(_NA_TEXT).to_numpy()
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            col = names[j] if names is not None and j < len(names) else None
            where = f"column {j + 1}" + (f" ({col!r})" if col else "")
            raise ReadError(
                f"line {numbers[i]}, {where}: {cells.iat[i][:40]!r} is not a number ({int(wrong.sum())} such "
                "cell(s) in this column near it)",
                file=path,
                hint="fix the cell or remove the row; a units or second header row needs header= set to the "
                "line of the real header",
            )
        out[j] = values
    return out


def _count_breaks(path: Path, offset: int, end: int | None) -> int:
    """An upper bound on the lines from ``offset`` to ``end`` (``\\n`` and lone ``\\r`` ends), in 4 MiB reads."""
    n = 1
    left = None if end is None else end - offset
    with open(path, "rb") as fh:  # read-only
        fh.seek(offset)
        while left is None or left > 0:
            block = fh.read(1 << 22 if left is None else min(1 << 22, left))
            if not block:
                break
            if left is not None:
                left -= len(block)
            n += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
    return n


def _read_slow(
    path: Path,
    offset: int,
    end: int | None,
    first_line: int,
    delimiter: str | None,
    n_fields: int | None,
    comment: str,
    names: Sequence[str] | None,
) -> np.ndarray:
    """Parse the block line by line, one block of text at a time, into one preallocated array."""
    try:
        capacity = _count_breaks(path, offset, end)
    except OSError as err:
        raise ReadError(f"could not be read: {err}", file=path) from err
    out: np.ndarray | None = None
    expected = n_fields
    row, line_no = 0, first_line
    for lines, n_breaks in _line_blocks(path, offset, end):
        rows, numbers = _data_lines(pd.Series(lines, dtype=object), line_no, delimiter, comment)
        line_no += n_breaks
        if not len(rows):
            continue
        parts = _split(rows, delimiter)
        counts = parts.str.len().to_numpy()
        if expected is None:
            expected = int(counts[0])
        values = _parse_rows(parts, counts, numbers, expected, delimiter, path, names)
        if out is None:
            out = np.empty((expected, capacity), dtype=np.float64)
        out[:, row:row + values.shape[1]] = values
        row += values.shape[1]
    if out is None or row == 0:
        raise ReadError(
            f"no data rows after line {first_line - 1}",
            file=path,
            hint="the file holds a header but no samples; re-export the recording",
        )
    return _compact(out, row)


_NA_TEXT = ["nan", "na", "n/a", "null", "none", "-nan", "#n/a", "#na", "-na", "<na>"]


def drop_empty_trailing(data: np.ndarray, names: list[str] | None) -> tuple[np.ndarray, list[str] | None]:
    """Drop trailing all-NaN columns without a name (a delimiter at the end of every row)."""
    n = data.shape[0]
    while n > 1 and (names is None or n > len(names) or not names[n - 1]) and np.isnan(data[n - 1]).all():
        n -= 1
    if names is not None and len(names) > n and all(not nm for nm in names[n:]):
        names = names[:n]
    return data[:n], names


# ----------------------------------------------------------------------------- time
def sfreq_from_time(
    t: np.ndarray,
    *,
    file: str | os.PathLike | None,
    column: str | None,
    rtol: float = TIME_STEP_RTOL,
) -> float:
    """Sampling rate (Hz) from a time column (seconds), checked for monotony and uniformity.

    Parameters
    ----------
    t : numpy.ndarray
        Time of each sample in seconds.
    file, column : str, optional
        For error messages.
    rtol : float
        Tolerance on each step, as a fraction of the mean step (default 1 %).

    Returns
    -------
    float
        ``(n - 1) / (t[-1] - t[0])``, rounded to the nearest integer when it is within
        1 ppm of one (so that 250 Hz read from ``0.004, 0.008, ...`` is exactly 250).

    Raises
    ------
    SamplingRateError
        Fewer than two samples, a non-finite time, a step that is zero or negative
        (not monotonic), a step that differs from the mean step by more than ``rtol``
        (not uniform: a gap, a dropped or duplicated sample), or timestamps that drift
        more than half a sample from the uniform grid (checked every 16th sample).

    Notes
    -----
    Why 1 %: exported time columns are rounded to a fixed number of decimals (Delsys
    writes ``0.0007941176`` s at 1259.26 Hz; others ``0.004``), so single steps differ
    from the mean by up to one rounding quantum. 1 % of the sample period covers that
    rounding whenever the export keeps three significant digits of the step, while a
    dropped or duplicated sample changes a step by 100 % and a pause by more. Timing
    jitter below 1 % of a sample period does not change EMG amplitude or spectral
    features measurably. The rate comes from the first and last times rather than the
    median step, which averages the rounding out.
    """
    t = np.asarray(t, dtype=np.float64)
    n = t.size
    if n < 2:
        raise SamplingRateError(
            "the time column has fewer than two samples, so it gives no sampling rate",
            file=file, channel=column, hint="pass sfreq= (Hz)",
        )
    finite = np.isfinite(t)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise SamplingRateError(
            f"the time column has an empty or non-finite value at sample {i}",
            file=file, channel=column, hint="fix the time column, or pass sfreq= and time_column=False to ignore it",
        )
    dt = np.diff(t)
    back = np.flatnonzero(dt <= 0)
    if back.size:
        i = int(back[0])
        raise SamplingRateError(
            f"the time column is not monotonic: sample {i + 1} ({t[i + 1]:.9g} s) does not come after "
            f"sample {i} ({t[i]:.9g} s); {back.size} such step(s)",
            file=file, channel=column,
            hint="the rows may be out of order or two recordings concatenated; fix the file, or pass sfreq= "
            "and time_column=False to ignore the time column",
        )
    step = (t[-1] - t[0]) / (n - 1)
    if not np.isfinite(step) or step <= 0:
        raise SamplingRateError("the time column spans no time", file=file, channel=column, hint="pass sfreq=")
    dev = np.abs(dt - step)
    w = int(np.argmax(dev))
    if dev[w] > rtol * step:
        raise SamplingRateError(
            f"the time column is not uniform: the step from sample {w} to {w + 1} is {dt[w]:.6g} s where the "
            f"mean step is {step:.6g} s (tolerance {rtol:.0%} of a step); a gap, a dropped or a duplicated sample",
            file=file, channel=column,
            hint="resample the recording to a uniform rate before loading, or pass sfreq= and time_column=False "
            "if the samples are in fact uniform",
        )
    # drift from the uniform grid, checked every 16th sample: steps are already within
    # rtol of the mean, so the drift cannot change by more than 16 * rtol steps in between
    stride = 16
    grid = np.arange(0, n, stride)
    drift = np.abs(t[::stride] - (t[0] + step * grid))
    d = int(grid[np.argmax(drift)])
    drift_d = abs(t[d] - (t[0] + step * d))
    if drift_d > 0.5 * step:
        raise SamplingRateError(
            f"the time column is not uniform: sample {d} is {drift_d:.6g} s away from a uniform grid "
            f"(more than half a sample); the rate changes during the recording",
            file=file, channel=column,
            hint="resample the recording to a uniform rate before loading",
        )
    sfreq = 1.0 / step
    nearest = round(sfreq)
    if nearest > 0 and abs(sfreq - nearest) <= 1e-6 * sfreq:
        sfreq = float(nearest)
    return float(sfreq)


def check_sfreq_against_time(
    t: np.ndarray, sfreq: float, *, file, column: str | None, source: str, rtol: float = TIME_STEP_RTOL
) -> None:
    """Raise when a given rate and a time column's median step disagree by more than ``rtol``."""
    if t.size < 2:
        return
    step = float(np.median(np.diff(t)))
    if not np.isfinite(step) or abs(step * sfreq - 1.0) > rtol:
        given = f"{1.0 / step:.6g} Hz" if np.isfinite(step) and step > 0 else "no rate"
        raise SamplingRateError(
            f"{source} says {sfreq:g} Hz but the time column says {given}",
            file=file, channel=column,
            hint="check the time unit (time_unit='ms' for milliseconds) or the rate; pass time_column=False "
            "to ignore the time column",
        )


def interp_onto(
    t_dst: np.ndarray,
    t_src: np.ndarray,
    x_src: np.ndarray,
    *,
    file,
    names: Sequence[str],
    src_rate: float | None = None,
) -> np.ndarray:
    """Linear interpolation of slower channels (rows of ``x_src``) onto the times ``t_dst``.

    Used for inertial channels recorded at their own rate (Delsys ACC/GYRO at 148 Hz,
    the Paoletti et al. IMU at 128 Hz) next to EMG at 1-2 kHz. Upsampling by linear
    interpolation adds no aliasing; it low-passes the inertial signal slightly, which
    does not matter for trunk-angle and movement-phase detection (< 10 Hz content).
    Before the first and after the last source sample the edge value is held
    (``numpy.interp``); a ParaspinalWarning says so when that covers more than one source
    sample period.
    """
    t_src = np.asarray(t_src, dtype=np.float64)
    if t_src.size < 2 or not np.all(np.diff(t_src) > 0):
        raise SamplingRateError(
            "the inertial channels' time column is not strictly increasing, so they cannot be resampled",
            file=file, channel=names[0] if names else None,
            hint="use imu='drop', or fix the time column",
        )
    period = float(np.median(np.diff(t_src))) if src_rate is None else 1.0 / src_rate
    gap = max(t_src[0] - t_dst[0], t_dst[-1] - t_src[-1])
    if gap > period:
        warnings.warn(
            f"{file}: the inertial channels {list(names)[:4]} cover {t_src[0]:.3f}-{t_src[-1]:.3f} s and the EMG "
            f"{t_dst[0]:.3f}-{t_dst[-1]:.3f} s; their edge values are held over the difference",
            ParaspinalWarning,
            stacklevel=3,
        )
    out = np.empty((x_src.shape[0], t_dst.size), dtype=np.float64)
    for k in range(x_src.shape[0]):  # loop over channels, not samples
        out[k] = np.interp(t_dst, t_src, x_src[k])
    return out


# ----------------------------------------------------------------------------- transfer
#: Sensor transfer functions of PLUX devices: ``(device, sensor) -> (VCC volts, gain)``,
#: for ``value(V) = (ADC / 2**n - 1/2) * VCC / G`` (n = ADC resolution in bits).
#: Sources: PLUX "Electromyography (EMG) Sensor Data Sheet" (biosignalsplux, VCC 3 V,
#: G_EMG 1000) and "BITalino EMG Sensor Data Sheet" (VCC 3.3 V, G_EMG 1009); PLUX
#: "Electrocardiography (ECG) Sensor Data Sheet" (biosignalsplux, G_ECG 1019) and
#: "BITalino ECG Sensor Data Sheet" (VCC 3.3 V, G_ECG 1100).
TRANSFER: dict[tuple[str, str], tuple[float, float]] = {
    ("plux", "emg"): (3.0, 1000.0),
    ("bitalino", "emg"): (3.3, 1009.0),
    ("plux", "ecg"): (3.0, 1019.0),
    ("bitalino", "ecg"): (3.3, 1100.0),
}


def sensor_kind(label: str | None) -> str | None:
    """``"emg"``, ``"ecg"`` or None from a PLUX sensor type or label (``"EMG"``, ``"ECGBIT"``)."""
    if not label:
        return None
    low = str(label).strip().lower()
    for kind in ("emg", "ecg"):
        if low.startswith(kind) or re.search(rf"(^|[^a-z]){kind}([^a-z]|$)", low):
            return kind
    return None


def adc_to_volts(counts: np.ndarray, resolution: int, device: str, sensor: str) -> np.ndarray:
    """Convert raw ADC counts of a PLUX/BITalino sensor to volts.

    ``V = (ADC / 2**n - 1/2) * VCC / G`` with ``n`` the ADC resolution in bits and ``VCC``,
    ``G`` from :data:`TRANSFER`: EMG on biosignalsplux ``VCC = 3 V, G = 1000``; EMG on
    BITalino ``VCC = 3.3 V, G = 1009`` (PLUX EMG sensor data sheets); ECG
    ``G = 1019`` (biosignalsplux) and ``G = 1100`` (BITalino).

    Parameters
    ----------
    counts : numpy.ndarray
        Raw ADC values (any shape).
    resolution : int
        ADC resolution in bits (BITalino 10 or 6, biosignalsplux 8, 12 or 16).
    device : {"plux", "bitalino"}
    sensor : {"emg", "ecg"}

    Returns
    -------
    numpy.ndarray
        Volts at the sensor input (float64).
    """
    vcc, gain = TRANSFER[(device, sensor)]
    n = int(resolution)
    if not 1 <= n <= 32:
        raise ParameterError(f"ADC resolution {resolution!r} bits is not between 1 and 32")
    out = np.asarray(counts, dtype=np.float64) * (1.0 / 2.0**n)
    out -= 0.5
    out *= vcc / gain
    return out


@dataclass
class Assembled:
    """Channels ready for :meth:`Recording.from_array`."""

    data: list[np.ndarray] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    types: list[str | None] = field(default_factory=list)

    def add(self, x: np.ndarray, name: str, unit: str, typ: str | None) -> None:
        self.data.append(x)
        self.names.append(name)
        self.units.append(unit)
        self.types.append(typ)


def convert_counts(
    counts: np.ndarray,
    *,
    name: str,
    resolution: int | None,
    device: str | None,
    sensor: str | None,
    file,
) -> tuple[np.ndarray, str, str, bool]:
    """Convert one channel of raw counts; return ``(values, unit, type, converted)``.

    With ``device`` None, or a sensor without a known transfer function, the counts are
    kept (unit ``"counts"``, type ``misc``) and ``converted`` is False.
    """
    if device is None or sensor is None or resolution is None:
        return np.asarray(counts, dtype=np.float64), "counts", "misc", False
    if (device, sensor) not in TRANSFER:
        return np.asarray(counts, dtype=np.float64), "counts", "misc", False
    try:
        volts = adc_to_volts(counts, resolution, device, sensor)
    except ParameterError as err:
        raise ParameterError(err.what, file=file, channel=name, hint="pass resolution= (bits)") from err
    return volts, "V", sensor, True
