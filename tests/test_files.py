"""Atomic writes: the whole new file or the old one, flushed, and the rename flushed too."""

from __future__ import annotations

import os
import stat

import pytest

from paraspinal import _files


def test_atomic_path_fsyncs_the_file_and_then_its_folder(tmp_path, monkeypatch):
    synced: list[str] = []
    real = os.fsync

    def spy(fd):
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(_files.os, "fsync", spy)
    _files.write_text_atomic(tmp_path / "out" / "a.txt", "new\n")
    assert (tmp_path / "out" / "a.txt").read_text() == "new\n"
    assert synced == ["file", "dir"]


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with _files.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
