"""Signal conditioning and per-channel quality."""

from .quality import glance

__all__ = ["glance"]
