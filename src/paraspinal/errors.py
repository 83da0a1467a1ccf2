"""Exceptions and warnings of paraspinal.

Every error the toolkit raises on bad input is a :class:`ParaspinalError`. Its
message names the file (when there is one), the channel (when there is one),
what is wrong, and what to do about it, in that order, so that a batch log line
is enough to fix the problem.
"""

from __future__ import annotations

import os

__all__ = [
    "ParaspinalError",
    "ReadError",
    "FormatError",
    "ChannelError",
    "SamplingRateError",
    "ParameterError",
    "SignalError",
    "WriteError",
    "ParaspinalWarning",
]


class ParaspinalError(Exception):
    """Base class of all paraspinal errors.

    Parameters
    ----------
    what : str
        What is wrong, as a sentence fragment ("the time column is not monotonic").
    file : str or path-like, optional
        The file concerned.
    channel : str, optional
        The channel concerned.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(
        self,
        what: str,
        *,
        file: str | os.PathLike | None = None,
        channel: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.what = what
        self.file = os.fspath(file) if file is not None else None
        self.channel = channel
        self.hint = hint
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}")
        if self.channel is not None:
            parts.append(f"channel {self.channel!r}")
        prefix = ": ".join(parts)
        what = self.what.rstrip(". ") if self.hint else self.what
        msg = f"{prefix}: {what}" if prefix else what
        if self.hint:
            msg = f"{msg}. {self.hint[:1].upper()}{self.hint[1:]}"
        return msg

    def __reduce__(self):  # picklable across processes (study runs, Dask)
        return (_rebuild, (type(self), self.what, self.file, self.channel, self.hint))


def _rebuild(cls, what, file, channel, hint):
    return cls(what, file=file, channel=channel, hint=hint)


class ReadError(ParaspinalError, ValueError):
    """A file could not be read: missing, empty, truncated, corrupted or malformed."""


class FormatError(ReadError):
    """The file's format is unknown, or its content does not match its suffix."""


class ChannelError(ParaspinalError, ValueError):
    """A channel is missing, duplicated, of the wrong type or holds invalid values."""


class SamplingRateError(ParaspinalError, ValueError):
    """Sampling rates are missing, inconsistent, non-uniform, or too low for a request."""


class ParameterError(ParaspinalError, ValueError):
    """A function was called with an invalid parameter value."""


class SignalError(ParaspinalError, ValueError):
    """A signal cannot give what was asked of it: too short for the windows, or flat on every channel."""


class WriteError(ParaspinalError, OSError):
    """A file could not be written."""


class ParaspinalWarning(UserWarning):
    """Something the user should know about, that does not stop the work."""
