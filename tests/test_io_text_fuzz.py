"""Fuzzing the text readers: any CSV-like input gives a valid Recording or a ParaspinalError.

Generated texts mix delimiters, header rows, numeric and non-numeric cells, blank lines,
comment lines, quotes, ragged rows and random bytes; they are written to files and read
with :func:`paraspinal.read`, so the format sniffing (plain text, Delsys, Vicon,
OpenSignals) is fuzzed too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import paraspinal as ps  # noqa: E402
from paraspinal.errors import ParaspinalError  # noqa: E402

_NUMBER = st.one_of(
    st.integers(-5000, 5000).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.floats(-1e-3, 1e-3).map(lambda v: f"{v:.6e}"),
    st.sampled_from(["0", "1", "-0.5", "1e-5", "", " 2", "nan", "NA", "inf"]),
)
_CELL = st.one_of(_NUMBER, _NUMBER, _NUMBER, _NUMBER, _NUMBER, _NUMBER, st.text(max_size=6), st.sampled_from(['"1"', '"a,b"', "#", "x"]))
_NAME = st.one_of(st.sampled_from(["time", "t", "L_LT", "R_MF", "EMG1", "EMG1", "X[s]", "", "Time (ms)"]),
                  st.text(max_size=8))
_PREFIX = st.sampled_from(["", "", "", "", "Label: ", "Devices\n2000\n", "# OpenSignals Text File Format. Version 1\n",
                           "# Sampling Rate (Hz):= 1000\n# Resolution:= 12\n# Labels:= EMG\n", "# comment\n"])


@st.composite
def csv_like(draw):
    delim = draw(st.sampled_from([",", "\t", ";", " ", "|"]))
    n_cols = draw(st.integers(1, 5))
    n_rows = draw(st.integers(0, 30))
    lines = []
    if draw(st.booleans()):
        lines.append(delim.join(draw(st.lists(_NAME, min_size=n_cols, max_size=n_cols))))
    uniform_time = draw(st.booleans())
    step = draw(st.sampled_from([0.001, 0.004, 0.0005, 1.0]))
    for i in range(n_rows):
        kind = draw(st.sampled_from(["row"] * 8 + ["blank", "comment", "ragged"]))
        if kind == "blank":
            lines.append("")
        elif kind == "comment":
            lines.append("# " + draw(st.text(max_size=10)))
        else:
            k = n_cols if kind == "row" else draw(st.integers(1, n_cols + 2))
            cells = draw(st.lists(_CELL, min_size=k, max_size=k))
            if uniform_time and cells:
                cells[0] = repr(i * step)
            lines.append(delim.join(cells))
    text = draw(_PREFIX) + "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))
    data = text.encode("utf-8", errors="replace")
    if draw(st.booleans()):
        junk = draw(st.binary(max_size=40))
        pos = draw(st.integers(0, len(data)))
        data = data[:pos] + junk + data[pos:]
    return data


def _check(rec) -> None:
    assert isinstance(rec, ps.Recording)
    data = rec.get_data(unit=None)
    assert np.isfinite(data).all()
    assert rec.sfreq > 0 and np.isfinite(rec.sfreq)
    assert list(rec.channels["name"]) == rec.ch_names
    assert list(rec.channels["type"]) == rec.raw.get_channel_types()
    assert data.shape == (len(rec.ch_names), rec.n_samples) and rec.n_samples > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(content=csv_like(), suffix=st.sampled_from([".csv", ".txt", ".tsv"]), sfreq=st.sampled_from([None, 1000]))
def test_text_reader_returns_recording_or_project_error(tmp_path_factory, content, suffix, sfreq):
    p = tmp_path_factory.mktemp("fuzz") / f"f{suffix}"
    p.write_bytes(content)
    options = {} if sfreq is None else {"format": "text", "sfreq": sfreq}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rec = ps.read(p, **options)
        except ParaspinalError:
            return
    _check(rec)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400), fmt=st.sampled_from(["text", "delsys", "vicon_csv", "opensignals_txt"]))
def test_random_bytes_any_text_reader(tmp_path_factory, content, fmt):
    p = tmp_path_factory.mktemp("fuzzb") / "f.csv"
    p.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rec = ps.read(p, format=fmt)
        except ParaspinalError:
            return
    _check(rec)
