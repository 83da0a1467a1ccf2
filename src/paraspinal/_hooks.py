"""The two hooks that lower modules call and higher packages fill, with nothing heavy imported.

``Recording.save`` (in :mod:`paraspinal.recording`) writes through the writer that
:mod:`paraspinal.io` registers, and the grid readers (in :mod:`paraspinal.io`) run the checks
that :mod:`paraspinal.hdsemg` registers: the lower module cannot import the higher one (that
would close an import circle). ``import paraspinal`` imports both registering packages, which
cost almost nothing because their heavy parts load on first use; the hooks live here, apart
from :mod:`paraspinal.recording` and :mod:`paraspinal.grids`, so that registering them does not
import MNE or pandas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_writer: Callable[..., Any] | None = None
_read_checks: list[Callable[[Any], Any]] = []


def register_writer(write: Callable[..., Any]) -> None:
    """Set the function :meth:`~paraspinal.Recording.save` calls: ``write(rec, path, fmt=..., overwrite=...)``.

    :mod:`paraspinal.io` registers :func:`paraspinal.io.write` when it is imported (which
    ``import paraspinal`` always does).
    """
    global _writer
    _writer = write


def writer() -> Callable[..., Any] | None:
    """The registered writer of :meth:`~paraspinal.Recording.save`, or None."""
    return _writer


def register_read_check(check: Callable[[Any], Any]) -> None:
    """Register ``check(rec) -> Recording``, run by the readers on every grid recording they make.

    Registering the same function twice keeps one. See :func:`paraspinal.grids.register_read_check`.
    """
    if check not in _read_checks:
        _read_checks.append(check)


def read_checks() -> tuple[Callable[[Any], Any], ...]:
    """The registered read checks, in the order they were registered."""
    return tuple(_read_checks)
