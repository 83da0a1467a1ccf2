"""Delimited text reader: layouts, options, errors, the Paoletti 2020 preset, real files."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import (
    ChannelError,
    ParameterError,
    ParaspinalError,
    ParaspinalWarning,
    ReadError,
    SamplingRateError,
)

pytestmark = pytest.mark.filterwarnings("ignore::paraspinal.errors.ParaspinalWarning")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _csv(tmp_path, data, names=None, time=None, sep=",", name="rec.csv", comments=()):
    cols = [] if time is None else [time]
    cols += list(data)
    body = "\n".join(sep.join(repr(float(v)) for v in row) for row in np.column_stack(cols))
    head = "".join(f"# {c}\n" for c in comments)
    if names is not None:
        head += sep.join(names) + "\n"
    return _write(tmp_path, name, head + body + "\n")


# ----------------------------------------------------------------------------- layouts
def test_header_and_time_column_give_rate_names_and_volts(tmp_path, rng):
    x = rng.normal(0, 50, (2, 400))  # uV
    t = np.arange(400) / 1000.0
    p = _csv(tmp_path, x, names=["time", "L_LT", "R_LT"], time=t)
    rec = ps.read(p, units="uV")
    assert rec.sfreq == 1000.0
    assert rec.ch_names == ["L_LT", "R_LT"]
    np.testing.assert_allclose(rec.get_data(unit=None), x * 1e-6, rtol=1e-12)
    assert rec.meta["format"] == "text"


def test_headerless_with_explicit_sfreq_and_column_map(tmp_path, rng):
    x = rng.normal(0, 1e-4, (3, 100))
    p = _csv(tmp_path, x)
    rec = ps.read(p, sfreq=500, time_column=False, columns={0: "L_MF", 2: "R_MF"})
    assert rec.ch_names == ["L_MF", "R_MF"]
    np.testing.assert_allclose(rec.get_data(unit=None), x[[0, 2]])


def test_headerless_first_increasing_column_is_time(tmp_path, rng):
    x = rng.normal(0, 1e-4, (1, 250))
    p = _csv(tmp_path, x, time=np.arange(250) * 0.004)
    rec = ps.read(p)
    assert rec.sfreq == 250.0 and rec.ch_names == ["col1"]


@pytest.mark.parametrize("sep", ["\t", ";", " ", "|"])
def test_delimiters_are_detected(tmp_path, rng, sep):
    x = rng.normal(0, 1e-4, (2, 50))
    p = _csv(tmp_path, x, names=["t", "a", "b"], time=np.arange(50) / 100.0, sep=sep, name="rec.txt")
    rec = ps.read(p, columns={"a": "L_ES", "b": "R_ES"})
    assert rec.sfreq == 100.0
    np.testing.assert_allclose(rec.get_data(unit=None), x)


def test_time_in_milliseconds_from_column_name(tmp_path, rng):
    x = rng.normal(0, 1e-4, (1, 60))
    p = _csv(tmp_path, x, names=["time_ms", "emg"], time=np.arange(60) * 0.5)
    assert ps.read(p).sfreq == 2000.0


def test_per_channel_units_and_types(tmp_path, rng):
    x = np.vstack([rng.normal(0, 1, 80), np.linspace(0, 60, 80)])
    p = _csv(tmp_path, x, names=["t", "L_MF", "angle"], time=np.arange(80) / 200)
    rec = ps.read(p, units={"L_MF": "mV", "angle": "deg"}, ch_types={"angle": "misc"})
    assert rec.channels.set_index("name").loc["L_MF", "unit"] == "V"
    assert rec.channels.set_index("name").loc["TRUNK_ANGLE", "unit"] == "deg"
    np.testing.assert_allclose(rec.get_data("L_MF", unit=None)[0], x[0] * 1e-3)


def test_comment_lines_and_blank_lines_inside_data(tmp_path):
    p = _write(tmp_path, "c.csv", "# recorded by hand\nt,emg\n0,1\n\n0.01,2\n# pause marker\n0.02,3\n")
    rec = ps.read(p)
    np.testing.assert_allclose(rec.get_data(unit=None)[0], [1, 2, 3])
    assert rec.sfreq == 100.0


def test_trailing_delimiter_is_ignored(tmp_path):
    p = _write(tmp_path, "tr.csv", "t,a,\n0,1,\n0.5,2,\n1.0,3,\n")
    rec = ps.read(p)
    assert rec.ch_names == ["a"] and rec.sfreq == 2.0


def test_simple_text_format_counts_to_volts(tmp_path):
    counts = np.array([2048, 2100, 1990, 4095, 0])
    p = _write(tmp_path, "bit.txt", "# Simple Text Format\n# Sampling Rate (Hz):= 1000.00\n# Resolution:= 12\n"
               "# Labels:= EMG\n" + "\n".join(str(c) for c in counts) + "\n")
    rec = ps.read(p)
    expected = (counts / 4096 - 0.5) * 3.3 / 1009  # BITalino EMG sensor data sheet
    np.testing.assert_allclose(rec.get_data(unit=None)[0], expected, rtol=1e-12)
    plux = ps.read(p, transfer="plux")
    np.testing.assert_allclose(plux.get_data(unit=None)[0], (counts / 4096 - 0.5) * 3.0 / 1000, rtol=1e-12)
    with pytest.warns(ParaspinalWarning, match="counts"):
        raw = ps.read(p, transfer=None)
    assert raw.channels["type"].tolist() == ["misc"] and raw.channels["unit"].tolist() == ["counts"]
    np.testing.assert_array_equal(raw.get_data(unit=None)[0], counts)


def test_explicit_transfer_needs_resolution(tmp_path):
    p = _write(tmp_path, "n.csv", "1\n2\n3\n")
    with pytest.raises(ParameterError, match="resolution"):
        ps.read(p, sfreq=100, transfer="plux")
    rec = ps.read(p, sfreq=100, transfer="plux", resolution=10, ch_types=["emg"])
    np.testing.assert_allclose(rec.get_data(unit=None)[0], (np.array([1, 2, 3]) / 1024 - 0.5) * 3.0 / 1000)


def test_bad_options_are_parameter_errors(tmp_path):
    p = _write(tmp_path, "o.csv", "t,a\n0,1\n1,2\n")
    with pytest.raises(ParameterError):
        ps.read(p, transfer="magic")
    with pytest.raises(ParameterError):
        ps.read(p, preset="nope")
    with pytest.raises(ParameterError):
        ps.read(p, delimiter=",,")
    with pytest.raises(ParameterError, match="takes no option"):
        ps.read(p, bogus=1)


# ----------------------------------------------------------------------------- errors (one each)
def test_error_header_only_file(tmp_path):
    p = _write(tmp_path, "h.csv", "time,L_LT,R_LT\n")
    with pytest.raises(ReadError, match="no data rows") as e:
        ps.read(p)
    assert str(p) in str(e.value)


def test_error_non_numeric_cell_names_line_and_column(tmp_path):
    p = _write(tmp_path, "nn.csv", "time,L_LT,R_LT\n0,1,2\n0.001,1,2\n0.002,x7,2\n")
    with pytest.raises(ReadError, match=r"line 4, column 2 \('L_LT'\): 'x7' is not a number"):
        ps.read(p)


def test_error_duplicate_channel_names(tmp_path):
    p = _write(tmp_path, "d.csv", "time,EMG,EMG\n0,1,2\n0.001,1,2\n")
    with pytest.raises(ChannelError, match="duplicate") as e:
        ps.read(p)
    assert "EMG" in str(e.value)


def test_error_nan_run_names_channel(tmp_path):
    p = _write(tmp_path, "nan.csv", "time,L_LT,R_MF\n0,1,2\n0.001,,2\n0.002,,2\n0.003,1,2\n")
    with pytest.raises(ChannelError, match="non-finite") as e:
        ps.read(p)
    assert e.value.channel == "L_LT" and str(p) in str(e.value)


def test_error_non_monotonic_time(tmp_path):
    p = _write(tmp_path, "nm.csv", "time,a\n0,1\n0.001,1\n0.0005,1\n0.002,1\n")
    with pytest.raises(SamplingRateError, match="not monotonic") as e:
        ps.read(p)
    assert e.value.channel == "time"


def test_error_non_uniform_time(tmp_path):
    t = np.r_[np.arange(100), np.arange(101, 200)] / 1000  # one dropped sample
    p = _csv(tmp_path, np.zeros((1, t.size)) + 1, names=["time", "a"], time=t)
    with pytest.raises(SamplingRateError, match="not uniform"):
        ps.read(p)


def test_uniform_time_with_print_rounding_is_accepted(tmp_path):
    t = np.round(np.arange(3000) / 1259.259259, 7)  # as Delsys prints it
    p = _csv(tmp_path, np.ones((1, t.size)), names=["time", "a"], time=t)
    assert ps.read(p).sfreq == pytest.approx(1259.259259, rel=1e-6)


def test_error_column_map_names_missing_column(tmp_path):
    p = _write(tmp_path, "m.csv", "time,a,b\n0,1,2\n1,1,2\n")
    with pytest.raises(ChannelError, match="not in the file") as e:
        ps.read(p, columns={"c": "L_LT"})
    assert e.value.channel == "c" and "'a'" in str(e.value)


def test_error_ragged_rows(tmp_path):
    p = _write(tmp_path, "r.csv", "time,a,b\n0,1,2\n0.1,1,2,5\n0.2,1,2\n")
    with pytest.raises(ReadError, match="line 3 has 4 fields where 3"):
        ps.read(p)
    q = _write(tmp_path, "r2.csv", "0,1,2\n0.1,1\n0.2,1,2\n")
    with pytest.raises(ReadError, match="line 2 has 2 fields"):
        ps.read(q)


def test_error_header_and_data_widths_differ(tmp_path):
    p = _write(tmp_path, "w.csv", "time,a,b,c\n0,1,2\n0.1,1,2\n")
    with pytest.raises(ReadError, match="names 4 columns but the data rows have 3"):
        ps.read(p)


def test_error_no_rate(tmp_path):
    p = _write(tmp_path, "nr.csv", "a,b\n3,1\n1,2\n")
    with pytest.raises(SamplingRateError, match="no sampling rate"):
        ps.read(p)


def test_error_sfreq_contradicts_time_column(tmp_path):
    p = _csv(tmp_path, np.ones((1, 20)), names=["time", "a"], time=np.arange(20) / 1000)
    with pytest.raises(SamplingRateError, match="says 2000 Hz"):
        ps.read(p, sfreq=2000)


def test_random_bytes_give_project_error(tmp_path, rng):
    p = tmp_path / "junk.csv"
    p.write_bytes(bytes(rng.integers(0, 256, 3000, dtype=np.uint8)))
    with pytest.raises(ParaspinalError):
        ps.read(p)


# ----------------------------------------------------------------------------- Paoletti 2020 preset
def _paoletti(tmp_path, rng, n=4000, header=True):
    t = np.arange(n) / 2000.0
    emg = rng.normal(0, 30, (4, n))  # uV
    names = ["Time", "EMG1", "EMG2", "EMG3", "EMG4"] if header else None
    return _csv(tmp_path, emg, names=names, time=t, sep="\t", name="S01_emg.txt"), emg


def test_paoletti_preset(tmp_path, rng):
    p, emg = _paoletti(tmp_path, rng)
    rec = ps.read(p, preset="paoletti2020")
    assert rec.sfreq == 2000.0
    assert rec.ch_names == ["L_LT", "R_LT", "L_MF", "R_MF"]
    assert rec.channels["muscle"].tolist() == ["LT", "LT", "MF", "MF"]
    np.testing.assert_allclose(rec.emg(unit="uV"), emg, rtol=1e-12)
    over = ps.read(p, preset="paoletti2020", columns={1: "L_MF", 2: "R_MF", 3: "L_LT", 4: "R_LT"})
    np.testing.assert_allclose(over.emg(unit="uV", picks=["L_MF"])[0], emg[0], rtol=1e-12)


def test_paoletti_preset_with_imu_file(tmp_path, rng):
    p, emg = _paoletti(tmp_path, rng, header=False)
    n_imu = 256  # 2 s at 128 Hz
    t_imu = np.arange(n_imu) / 128.0
    angle = 40 * np.sin(2 * np.pi * 0.5 * t_imu)
    imu = _csv(tmp_path, [angle], names=["time", "trunk_angle"], time=t_imu, name="S01_imu.txt")
    rec = ps.read(p, preset="paoletti2020", imu_path=imu, imu_units={"trunk_angle": "deg"})
    assert rec.ch_names[-1] == "TRUNK_ANGLE" and rec.n_samples == 4000
    got = rec.get_data("TRUNK_ANGLE")[0]
    t_emg = np.arange(4000) / 2000.0
    inside = t_emg <= t_imu[-1]
    np.testing.assert_allclose(got[inside], np.interp(t_emg[inside], t_imu, angle))


def test_paoletti_preset_wrong_rate(tmp_path, rng):
    p = _csv(tmp_path, rng.normal(0, 1, (4, 50)), time=np.arange(50) / 1000.0, name="x.txt")
    with pytest.raises(SamplingRateError, match="2000 Hz"):
        ps.read(p, preset="paoletti2020")


# ----------------------------------------------------------------------------- real recordings
TCONTIS = {
    "Exoskeleton_Data__Back_lifting.csv": 29520,
    "Exoskeleton_Data__Back_resting.csv": 9600,
    "Test_Data__Back.csv": 13680,
}


@pytest.mark.realdata
@pytest.mark.parametrize("name,n", sorted(TCONTIS.items()))
def test_real_tcontis(data_dir, name, n):
    f = data_dir / "tcontis_EMG_Processing" / name
    ref = np.loadtxt(f, delimiter=",")
    rec = ps.read(f, columns={1: "Back"})
    assert rec.sfreq == 250.0
    assert rec.ch_names == ["Back"] and rec.n_samples == n == ref.shape[0]
    assert rec.channels["unit"].tolist() == ["V"]
    got = rec.get_data(unit=None)[0]
    # pandas' own reader (the format's library) gives the same numbers exactly; the exact
    # decimal conversion of np.loadtxt agrees to a relative 1e-14 (pandas' fast parser on
    # these 17-significant-digit values; docs/design.md)
    lib = pd.read_csv(f, header=None).to_numpy()[:, 1]
    np.testing.assert_array_equal(got, lib)
    np.testing.assert_allclose(got, ref[:, 1], rtol=1e-14, atol=0)
    assert len(ps.read(f).ch_names) == 1  # default: every non-time column


BIOSPPY = {"emg.txt": 100_000, "emg_1.txt": 63_880}


@pytest.mark.realdata
@pytest.mark.parametrize("name,n", sorted(BIOSPPY.items()))
def test_real_biosppy(data_dir, name, n):
    f = data_dir / "biosppy_examples" / name
    counts = np.loadtxt(f, comments="#")
    rec = ps.read(f)
    assert rec.sfreq == 1000.0 and rec.ch_names == ["EMG"] and rec.n_samples == n == counts.size
    assert rec.channels["unit"].tolist() == ["V"] and rec.channels["type"].tolist() == ["emg"]
    # BITalino EMG transfer function, VCC 3.3 V, G 1009, 12-bit (header)
    volts = (counts / 2**12 - 0.5) * 3.3 / 1009
    idx = [0, 5, n // 2, n - 1]
    np.testing.assert_allclose(rec.get_data(unit=None)[0, idx], volts[idx], rtol=1e-12)
    assert rec.meta["adc_resolution"] == 12


@pytest.mark.realdata
def test_real_input_file_is_not_modified(data_dir):
    f = data_dir / "tcontis_EMG_Processing" / "Test_Data__Back.csv"
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    mtime = f.stat().st_mtime_ns
    ps.read(f)
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before
    assert f.stat().st_mtime_ns == mtime


def test_warning_free_when_names_are_known(tmp_path, rng):
    p = _csv(tmp_path, rng.normal(0, 1, (2, 30)), names=["t", "Left Multifidus L5", "ESR"], time=np.arange(30) / 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ParaspinalWarning)
        rec = ps.read(p, units="uV")
    assert rec.ch_names == ["L_MF_L5", "R_ES"]


def test_read_text_direct_call_matches_read(tmp_path, rng):
    from paraspinal.io.text import read_text

    x = rng.normal(0, 1, (2, 40))
    p = _csv(tmp_path, x, names=["time", "a", "b"], time=np.arange(40) / 40)
    a, b = read_text(p), ps.read(p)
    np.testing.assert_array_equal(a.get_data(unit=None), b.get_data(unit=None))
    df = pd.read_csv(p)
    np.testing.assert_allclose(a.get_data(unit=None), df[["a", "b"]].to_numpy().T)
