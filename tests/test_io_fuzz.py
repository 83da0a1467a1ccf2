"""Fuzzing every reader: damaged files give a valid Recording or a ``paraspinal.errors`` error.

As MNE's reader tests and Hypothesis do: each format of :data:`paraspinal.io.FORMATS` has a
small valid seed file (``fuzz_seeds.py``); Hypothesis damages it (flipped bytes, a cut, inserted
junk, zeroed runs, changed digits; one file of a multi-file format at a time) and
:func:`paraspinal.read` must then either return a sane Recording or raise a
:class:`~paraspinal.errors.ParaspinalError` — never another exception, a hang or a crash.
Random bytes under every suffix are read the same way. Warnings are fine.

Bounds: few examples per format, derandomized (the same examples on every run, no example
database), a per-example alarm that really stops a read that hangs (``SIGALRM``, a failure),
and a time budget for the whole module after which the remaining examples pass without
reading, so the suite's time stays bounded (about a minute) on a loaded machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import fuzz_seeds  # noqa: E402

import paraspinal as ps  # noqa: E402
from paraspinal.errors import ParaspinalError  # noqa: E402

#: Seconds the whole module may spend reading; later examples pass without reading.
BUDGET_S = float(os.environ.get("PARASPINAL_FUZZ_BUDGET_S", "50"))
#: Seconds one read may take before it is stopped (and the test fails: a hang is a bug).
HANG_S = 30
_START: list[float] = []

NAMES = [f.name for f in ps.io.FORMATS] + ["text_counts"]
SUFFIXES = sorted({s for f in ps.io.FORMATS for s in f.suffixes} | {".dat", ".bin", ".json", ""})
SETTINGS = dict(derandomize=True, database=None, deadline=timedelta(seconds=20),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


class ReadHung(Exception):
    """A read that did not finish within :data:`HANG_S`."""


def _over_budget() -> bool:
    if not _START:
        _START.append(time.monotonic())
    return time.monotonic() - _START[0] > BUDGET_S


def _on_alarm(signum, frame):
    raise ReadHung(f"a read took more than {HANG_S} s")


def _read(path: Path, **options):
    """ps.read under a hard time limit; a ParaspinalError is returned, not raised."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ps.read(path, **options)
    except ParaspinalError as err:
        return err
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _check(rec) -> None:
    if isinstance(rec, ParaspinalError):
        assert str(rec)  # a message, naming what it can
        return
    assert isinstance(rec, ps.Recording)
    data = rec.get_data(unit=None)
    assert data.shape == (len(rec.ch_names), rec.n_samples) and rec.n_samples > 0
    assert np.isfinite(data).all()
    assert np.isfinite(rec.sfreq) and 1 <= rec.sfreq <= 1e6
    assert list(rec.channels["name"]) == rec.ch_names
    assert list(rec.channels["type"]) == rec.raw.get_channel_types()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fuzz_seeds.write_seeds(tmp_path_factory.mktemp("seeds"))


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_every_format_has_a_seed_that_reads(seeds):
    assert {f.name for f in ps.io.FORMATS} <= set(seeds)
    for name, path in seeds.items():
        rec = _read(path, **fuzz_seeds.OPTIONS.get(name, {}))
        assert isinstance(rec, ps.Recording), (name, rec)
        assert rec.meta["format"] == ("text" if name == "text_counts" else name)
        _check(rec)


@st.composite
def damage(draw, data: bytes) -> bytes:
    """A damaged copy of ``data``: one to three of the mutations a disk, a transfer or an editor makes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "flip", "cut", "insert", "zero", "digit"]))
        n = len(out)
        if n == 0:
            break
        # half of the damage lands in the first 1 KiB, where the headers are
        pos = draw(st.integers(0, min(n - 1, 1023)) | st.integers(0, n - 1))
        if kind == "flip":
            out[pos] = draw(st.integers(0, 255))
        elif kind == "cut":
            out = out[:pos]
        elif kind == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "zero":
            out[pos:pos + draw(st.integers(1, 64))] = b"\0" * 64
        else:
            digits = [i for i in range(max(0, pos - 256), min(n, pos + 256)) if 48 <= out[i] <= 57]
            if digits:
                out[draw(st.sampled_from(digits))] = draw(st.sampled_from(list(b"0123456789-.e x")))
    return bytes(out)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_damaged_file_gives_a_recording_or_a_project_error(seeds, work, name, data):
    if _over_budget():
        return
    seed = seeds[name]
    folder = work / name
    if not folder.exists():
        shutil.copytree(seed.parent, folder)
    files = sorted(p for p in seed.parent.iterdir() if p.is_file())  # .hea + .dat, .vhdr + .eeg + .vmrk
    victim = data.draw(st.sampled_from(files), label="file")
    for f in files:  # restore the others, damage one
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / victim.name).write_bytes(data.draw(damage(victim.read_bytes()), label="damaged"))
    _check(_read(folder / seed.name, **fuzz_seeds.OPTIONS.get(name, {})))


@pytest.mark.parametrize("suffix", SUFFIXES)
@settings(max_examples=20, **SETTINGS)
@given(content=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(lambda t: t.encode("utf-8"))))
def test_random_bytes_under_every_suffix(work, suffix, content):
    if _over_budget():
        return
    p = work / "random" / f"f{suffix}"
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(content)
    _check(_read(p))
