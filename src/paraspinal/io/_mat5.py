"""A structural check of MAT v5 files before SciPy parses them (private; ``matlab`` and ``otb`` use it).

SciPy's MAT v5 reader trusts the file: a data element whose type code is not one of the
format's (a flipped byte in a tag) makes it dereference an empty slot of its type table and
crash the interpreter (a segmentation fault, which no ``except`` can catch; SciPy's
``loadmat`` documentation says it is not hardened against damaged input). :func:`check_mat5`
walks the element tree the format defines and raises a :class:`~paraspinal.errors.ReadError`
on the first tag, size or type that does not hold, so a damaged file is an error, never a crash.

Layout (MathWorks, "MAT-File Format", R2019b, chapter 1): a 128-byte header (text, subsystem
offset, version, endian indicator ``IM``/``MI``), then data elements. A tag is 8 bytes
(type, byte count: ``uint32`` each) or, for a small element, 4 bytes (count in the upper and
type in the lower 16 bits) with the data in the next 4; data are padded to 8 bytes.
``miMATRIX`` (14) holds an array: flags (``miUINT32``), dimensions (``miINT32``), name
(``miINT8``), then by class the real (and imaginary) parts, the cells, or the struct's field
names and fields. ``miCOMPRESSED`` (15) holds one zlib-compressed element.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import ReadError

__all__ = ["check_mat5"]

#: Data types: code -> size in bytes (miINT8 ... miUTF32; 8, 10, 11 are reserved, 14/15 are containers).
_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MATRIX, _COMPRESSED = 14, 15
_NUMERIC_CLASSES = set(range(4, 16))  # char, sparse, double ... uint64
_CELL, _STRUCT, _OBJECT, _SPARSE = 1, 2, 3, 5
#: Most bytes a compressed element may expand to while checking (a larger one is refused).
_MAX_INFLATE = 4 << 30
#: Deepest nesting of cells and structs checked (MATLAB data of recordings are shallow).
_MAX_DEPTH = 64


class _Bad(Exception):
    """What is wrong, and where (byte offset in the stream being walked)."""


def _tag(buf: bytes, pos: int, end: int, e: str) -> tuple[int, int, int, int]:
    """``(type, n_bytes, data start, next element)`` of the element at ``pos``."""
    if pos + 8 > end:
        raise _Bad(f"a data element's tag is cut short at byte {pos}")
    word, n = struct.unpack(e + "II", buf[pos:pos + 8])
    if word >> 16:  # small element: n bytes (<= 4) in the tag's upper half, data in the second word
        typ, n = word & 0xFFFF, word >> 16
        if n > 4:
            raise _Bad(f"a small data element at byte {pos} claims {n} bytes")
        return typ, n, pos + 4, pos + 8
    start = pos + 8
    stop = start + n
    if stop > end:
        raise _Bad(f"the data element at byte {pos} claims {n} bytes, more than its container holds")
    return word, n, start, start + ((n + 7) // 8) * 8 if word != _COMPRESSED else stop


def _numeric(buf: bytes, pos: int, end: int, e: str, count: int | None, what: str) -> int:
    typ, n, _, nxt = _tag(buf, pos, end, e)
    if typ not in _SIZES:
        raise _Bad(f"the {what} at byte {pos} has data type {typ}, which the format does not define")
    if n % _SIZES[typ] or (count is not None and typ < 16 and n // _SIZES[typ] != count):
        raise _Bad(f"the {what} at byte {pos} holds {n} bytes of type {typ} for {count} values")
    return nxt


def _matrix(buf: bytes, start: int, end: int, e: str, depth: int) -> None:
    """Check the contents of one miMATRIX element, ``buf[start:end]``."""
    if depth > _MAX_DEPTH:
        raise _Bad("cells or structs nested too deep")
    if start == end:
        return  # an empty matrix (MATLAB writes these for empty cells)
    typ, n, d, pos = _tag(buf, start, end, e)
    if typ != 6 or n != 8:
        raise _Bad(f"the array flags at byte {start} are not 8 bytes of miUINT32")
    flags = struct.unpack(e + "I", buf[d:d + 4])[0]
    cls, complex_ = flags & 0xFF, bool(flags & 0x800)
    typ, n, d, nxt = _tag(buf, pos, end, e)
    if typ != 5 or n % 4 or n < 8:
        raise _Bad(f"the dimensions at byte {pos} are not two or more miINT32")
    dims = struct.unpack(e + f"{n // 4}i", buf[d:d + n])
    if min(dims) < 0:
        raise _Bad(f"negative dimensions {dims} at byte {pos}")
    count = int(np.prod(dims, dtype=np.int64))
    typ, _, _, pos = _tag(buf, nxt, end, e)  # the name
    if typ not in (1, 2):
        raise _Bad(f"the array name at byte {nxt} has data type {typ}")
    if cls == _SPARSE:
        for what in ("row indices", "column indices", "real part") + (("imaginary part",) if complex_ else ()):
            pos = _numeric(buf, pos, end, e, None, f"sparse {what}")
    elif cls in _NUMERIC_CLASSES:
        for what in ("real part",) + (("imaginary part",) if complex_ else ()):
            pos = _numeric(buf, pos, end, e, count, what)
    elif cls in (_CELL, _STRUCT, _OBJECT):
        n_fields = 1
        if cls == _OBJECT:
            typ, _, _, pos = _tag(buf, pos, end, e)
        if cls in (_STRUCT, _OBJECT):
            typ, n, d, pos = _tag(buf, pos, end, e)  # field name length
            if typ != 5 or n != 4:
                raise _Bad(f"the struct's field-name length at byte {d} is not one miINT32")
            width = struct.unpack(e + "i", buf[d:d + 4])[0]
            typ, n, _, pos = _tag(buf, pos, end, e)
            if width <= 0 or typ not in (1, 2) or n % width:
                raise _Bad(f"the struct's field names at byte {pos} do not fit their length {width}")
            n_fields = n // width
        for _ in range(count * n_fields):
            typ, n, d, pos = _tag(buf, pos, end, e)
            if typ != _MATRIX:
                raise _Bad(f"a cell or field at byte {d - 8} is not an array (type {typ})")
            _matrix(buf, d, d + n, e, depth + 1)
    # function handles and opaque objects: SciPy refuses them with its own error


def _elements(buf: bytes, pos: int, end: int, e: str) -> None:
    while pos < end:
        if end - pos < 8 and not buf[pos:end].strip(b"\0"):
            return  # padding at the end of the file
        typ, n, d, nxt = _tag(buf, pos, end, e)
        if typ == _MATRIX:
            _matrix(buf, d, d + n, e, 0)
        elif typ == _COMPRESSED:
            try:
                inflater = zlib.decompressobj()
                inner = inflater.decompress(buf[d:d + n], _MAX_INFLATE)
            except zlib.error as err:
                raise _Bad(f"the compressed element at byte {pos} does not decompress ({err})") from None
            if inflater.unconsumed_tail:
                raise _Bad(f"the compressed element at byte {pos} expands beyond {_MAX_INFLATE >> 30} GiB")
            _elements(inner, 0, len(inner), e)
        elif typ not in _SIZES:
            raise _Bad(f"a top-level element at byte {pos} has data type {typ}")
        pos = nxt


def check_mat5(path: Path) -> None:
    """Raise :class:`~paraspinal.errors.ReadError` when a MAT v5 file's element tree does not hold.

    Reads the whole file (and inflates its compressed elements) once; a file that passes
    can be handed to :func:`scipy.io.loadmat` without risk of a crash.
    """
    try:
        buf = path.read_bytes()
    except OSError as err:
        raise ReadError(f"could not be read: {err}", file=path) from err
    if len(buf) < 128:
        raise ReadError(f"the MAT file's 128-byte header is cut short ({len(buf)} bytes)", file=path,
                        hint="the file is truncated; copy or save it again")
    endian = buf[126:128]
    if endian not in (b"IM", b"MI"):
        raise ReadError(f"the MAT file's endian indicator is {endian!r}, not 'IM' or 'MI'", file=path,
                        hint="the header is damaged; save the file again from MATLAB")
    try:
        _elements(buf, 128, len(buf), "<" if endian == b"IM" else ">")
    except _Bad as err:
        raise ReadError(f"the MAT file is damaged: {err}", file=path,
                        hint="save it again from MATLAB (or export it again)") from None
