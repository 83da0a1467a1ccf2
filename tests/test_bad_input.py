"""Bad input is never silently wrong and never blows up (issue 20): reading and options.

Each test is one case of the adversarial run: the input, and what paraspinal must give for it
(a ``paraspinal.errors`` exception naming the file, or a ParaspinalWarning and a result that
says what was done). The study-level cases are in ``test_study_bad_input.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import paraspinal as ps
from paraspinal.cli import main
from paraspinal.errors import ParaspinalError, ParaspinalWarning

SUFFIXES = sorted({s for f in ps.io.FORMATS for s in f.suffixes} | {".dat", ".bin", ""})


# ----------------------------------------------------------------------------- 7. a BOM alone
@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xbb", b"\xef\xbb\xbf\n", b"\xff\xfe"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_bom_only_file_is_a_project_error_for_every_suffix(tmp_path, content, suffix):
    p = tmp_path / f"rec{suffix}"
    p.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        with pytest.raises(ParaspinalError) as info:
            ps.read(p)
    assert p.name in str(info.value)


def test_bom_only_file_info_shows_no_traceback(tmp_path):
    p = tmp_path / "rec.csv"
    p.write_bytes(b"\xef\xbb\xbf")
    res = CliRunner().invoke(main, ["info", str(p)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "rec.csv" in res.output


# ----------------------------------------------------------------------------- 1. a sidecar is never the recording
def _text_recording(path, seconds=2.0, sfreq=1000):
    t = np.arange(int(seconds * sfreq)) / sfreq
    np.savetxt(path, np.c_[t, 1e-4 * np.sin(2 * np.pi * 80 * t)], delimiter="\t", header="time\tL_MF", comments="")
    return path


def test_sidecar_path_of_a_recording_named_like_a_sidecar_is_not_the_recording(tmp_path):
    from paraspinal.viewer.sidecar import read_with_phases, sidecar_path, write_phases

    rec_path = _text_recording(tmp_path / "sub-01_task-frt_events.tsv")
    before = rec_path.read_bytes()
    side = sidecar_path(rec_path)
    assert side != rec_path and side.name == "sub-01_task-frt_events.tsv.events.tsv"
    phases = ps.phases.from_protocol([("standing", 1.0), ("flexion", 0.5)], cycles=False)
    write_phases(phases, side, 1000)
    assert rec_path.read_bytes() == before  # the recording is untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        rec = read_with_phases(rec_path)
    assert rec.n_samples == 2000 and list(rec.phases["phase"]) == ["standing", "flexion"]


def test_write_phases_never_replaces_a_recording(tmp_path):
    from paraspinal.errors import WriteError
    from paraspinal.viewer.sidecar import write_phases

    rec_path = _text_recording(tmp_path / "trial.tsv")
    before = rec_path.read_bytes()
    phases = ps.phases.from_protocol([("standing", 1.0)], cycles=False)
    with pytest.raises(WriteError, match="not a phase sidecar"):
        write_phases(phases, rec_path, 1000)
    link = tmp_path / "trial.tsv.events.tsv"
    link.symlink_to(rec_path)  # a sidecar name that points at the recording
    with pytest.raises(WriteError):
        write_phases(phases, link, 1000)
    assert rec_path.read_bytes() == before
    # an existing phase table is replaced as before
    side = tmp_path / "other.csv.events.tsv"
    write_phases(phases, side, 1000)
    write_phases(ps.phases.from_protocol([("sitting", 1.0)], cycles=False), side, 1000)
    assert "sitting" in side.read_text()


def test_apply_phases_refuses_the_recording_as_its_own_sidecar(tmp_path):
    from paraspinal.viewer.sidecar import apply_phases

    rec_path = _text_recording(tmp_path / "sub-01_task-frt_events.tsv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        rec = ps.read(rec_path)
    assert apply_phases(rec) is rec  # no sidecar beside it: nothing applied, the recording not parsed as events
    assert apply_phases(rec, rec_path) is rec


def test_bids_sidecar_of_an_edf_named_like_its_sidecar_is_not_read_as_one(tmp_path):
    """An EDF whose name is its own events sidecar's (``..._events.tsv``) is read without it."""
    rec = ps.Recording.from_array(np.random.default_rng(1).normal(0, 50, (1, 2000)), 1000, ["L_MF"])
    edf = tmp_path / "a.edf"
    rec.save(edf)
    odd = tmp_path / "sub-01_task-frt_events.tsv"
    odd.write_bytes(edf.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        back = ps.read(odd)
    assert back.n_samples == 2000 and len(back.phases) == 0


# ----------------------------------------------------------------------------- 3. units
def _csv(path, sfreq=1000, seconds=2.0):
    t = np.arange(int(seconds * sfreq)) / sfreq
    np.savetxt(path, np.c_[t, 100 * np.sin(2 * np.pi * 80 * t)], delimiter=",", header="time,L_MF", comments="")
    return path


@pytest.mark.parametrize("units", ["furlongs", 5, ["parsecs"], {"L_MF": 3}, None])
def test_unknown_units_are_an_error_naming_the_accepted_ones(tmp_path, units):
    from paraspinal.errors import ParameterError

    with pytest.raises(ParameterError) as info:
        ps.read(_csv(tmp_path / "a.csv"), units=units if units is not None else [None])
    assert "a.csv" in str(info.value)
    if isinstance(units, str):
        assert "'uV'" in str(info.value) and "'deg'" in str(info.value)
    with pytest.raises(ParameterError):
        ps.Recording.from_array(np.ones((1, 100)), 1000, ["L_MF"], units=units)


@pytest.mark.parametrize("spelling, canon", [("µV", "uV"), ("microvolts", "uV"), ("MV", "mV"), ("degrees", "deg"),
                                             ("°", "deg"), ("Counts", "counts"), ("deg/s", "deg/s")])
def test_known_unit_spellings_are_accepted(spelling, canon):
    from paraspinal.recording import check_unit

    assert check_unit(spelling) == canon


def test_units_give_the_scale(tmp_path):
    path = _csv(tmp_path / "a.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        uv = ps.read(path, units="uV").emg("uV")
        mv = ps.read(path, units="mV").emg("uV")
    t = np.arange(2000) / 1000
    np.testing.assert_allclose(uv[0], 100 * np.sin(2 * np.pi * 80 * t), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mv, 1000 * uv, rtol=1e-12)


def test_biosppy_text_file_honours_units(tmp_path):
    """A BioSPPy/BITalino file of raw counts: units= says the values are already in that unit."""
    from paraspinal.errors import ParameterError

    counts = 512 + (np.arange(1000) % 7)
    p = tmp_path / "b.txt"
    p.write_text("# Sampling Rate (Hz):= 1000.00\n# Resolution:= 10\n# Labels:= EMG\n"
                 + "\n".join(str(v) for v in counts) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        volts = ps.read(p)  # counts -> volts by the BITalino transfer function
        as_uv = ps.read(p, units="uV")
        kept = ps.read(p, units="counts")
    expected = (counts / 2**10 - 0.5) * 3.3 / 1009
    np.testing.assert_allclose(volts.get_data(unit="V")[0], expected, rtol=1e-12)
    np.testing.assert_allclose(as_uv.get_data(unit="uV")[0], counts, rtol=1e-12)
    assert as_uv.meta.get("transfer") is None
    assert kept.channels["unit"].tolist() == ["counts"]
    np.testing.assert_array_equal(kept.get_data(unit=None)[0], counts)
    with pytest.raises(ParameterError, match="contradict"):
        ps.read(p, units="uV", transfer="bitalino")
    with pytest.raises(ParameterError, match="not a unit"):
        ps.read(p, units="furlongs")


def test_readers_without_a_units_option_say_so(tmp_path):
    from paraspinal.errors import ParameterError

    rec = ps.Recording.from_array(np.random.default_rng(2).normal(0, 50, (1, 2000)), 1000, ["L_MF"])
    rec.save(tmp_path / "a.edf")
    with pytest.raises(ParameterError, match="units"):
        ps.read(tmp_path / "a.edf", units="mV")


# ----------------------------------------------------------------------------- 8. options
@pytest.mark.parametrize("sfreq", [True, False, 1e-9, 0, -5, float("nan"), float("inf"), 1e9, "fast", [1000]])
def test_implausible_sfreq_is_an_error_stating_the_range(tmp_path, sfreq):
    from paraspinal.errors import SamplingRateError

    path = _csv(tmp_path / "a.csv")
    with pytest.raises(SamplingRateError) as info:
        ps.read(path, sfreq=sfreq, time_column=False)
    assert "a.csv" in str(info.value)
    assert "Hz" in str(info.value)
    with pytest.raises(SamplingRateError):
        ps.Recording.from_array(np.ones((1, 100)), sfreq, ["L_MF"])
    if isinstance(sfreq, float) and np.isfinite(sfreq) and sfreq > 0:
        assert "1 Hz to 1e+06 Hz" in str(info.value)


@pytest.mark.parametrize("cmap", ["garbage", ["sEMG1", "L_LT"], {"L_MF": 5}, {"L_MF": ""}])
def test_channel_map_that_is_not_a_mapping_of_names_is_rejected(tmp_path, cmap):
    from paraspinal.errors import ChannelError

    with pytest.raises(ChannelError, match="channel_map|channel map") as info:
        ps.read(_csv(tmp_path / "a.csv"), channel_map=cmap)
    assert "letters" not in str(info.value) and "'g'" not in str(info.value)


def _bids_file(tmp_path):
    import sys
    from pathlib import Path

    pytest.importorskip("mne_bids")
    sys.path.insert(0, str(Path(__file__).parent))
    from test_io_bids import synthetic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ps.io.bids.write_bids(synthetic(), tmp_path / "bids")


def test_channels_tsv_naming_absent_channels_is_a_warning(tmp_path):
    edf = _bids_file(tmp_path)
    tsv = edf.with_name(edf.name.replace("_emg.edf", "_channels.tsv"))
    text = tsv.read_text()
    tsv.write_text(text.replace("L_MF_L5\t", "L_MF_S1\t", 1) + "GHOST\tEMG\tV" + "\tn/a" * (text.split("\n")[0]
                   .count("\t") - 2) + "\n")
    with pytest.warns(ParaspinalWarning, match=r"channels.tsv and the data file disagree.*GHOST.*L_MF_L5"):
        rec = ps.read(edf)
    assert "L_MF_L5" in rec.ch_names


def test_events_tsv_that_is_a_folder_is_an_error(tmp_path):
    from paraspinal.errors import ReadError

    edf = _bids_file(tmp_path)
    events = edf.with_name(edf.name.replace("_emg.edf", "_events.tsv"))
    events.unlink()
    events.mkdir()
    with pytest.raises(ReadError, match="events.tsv is a folder"):
        ps.read(edf)


def test_opensignals_file_with_a_damaged_magic_line_is_not_generic_text(tmp_path):
    head = ('{"00:07:80:D8:A8:82": {"sensor": ["EMG"], "column": ["nSeq", "DI", "CH1"], "sampling rate": 1000, '
            '"label": ["CH1"], "resolution": [16], "device": "biosignalsplux", "convertedValues": 0}}')
    body = "\n".join(f"{i}\t0\t{32768 + (i % 9) * 10}" for i in range(2000))
    good = f"# OpenSignals Text File Format. Version 1\n# {head}\n# EndOfHeader\n{body}\n"
    for i, damaged in enumerate([good.replace("OpenSignals", "OpenSignaLs", 1), "$" + good[1:],
                                 good.replace("Format", "Fo\x00mat", 1)]):
        p = tmp_path / f"os{i}.txt"
        p.write_text(damaged)
        with pytest.warns(ParaspinalWarning, match="damaged"):
            rec = ps.read(p)
        assert rec.meta["format"] == "opensignals_txt" and rec.sfreq == 1000 and rec.ch_names == ["CH1"]


def test_headerless_sample_counter_is_not_a_1_hz_time_column(tmp_path):
    from paraspinal.errors import SamplingRateError

    p = tmp_path / "counts.txt"
    p.write_text("\n".join(f"{i}\t{np.sin(i):.5f}" for i in range(500)) + "\n")
    with pytest.raises(SamplingRateError, match="counts samples"):
        ps.read(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        rec = ps.read(p, sfreq=500, columns=[1])
    assert rec.sfreq == 500 and rec.n_samples == 500


# ----------------------------------------------------------------------------- 2. EDF/BDF header ranges
def _edf_with_field(tmp_path, fmt, field, value_of, name="bad", channels=(0,)):
    """An EDF/BDF whose signal-header ``field`` (byte offset per signal, x ns) is set from ``value_of``."""
    rec = ps.Recording.from_array(np.random.default_rng(0).normal(0, 100, (2, 4000)), 1000, ["L_MF", "R_MF"])
    src = tmp_path / f"good.{fmt}"
    if not src.exists():
        rec.save(src)
    b = bytearray(src.read_bytes())
    ns = int(b[252:256])
    for i in channels:
        o = 256 + ns * field + 8 * i
        b[o:o + 8] = value_of(b, ns, i).ljust(8).encode()
    out = tmp_path / f"{name}.{fmt}"
    out.write_bytes(bytes(b))
    return out, rec


def _field(b, ns, field, i):
    return b[256 + ns * field + 8 * i: 256 + ns * field + 8 * (i + 1)].decode().strip()


@pytest.mark.parametrize("fmt", ["edf", "bdf"])
@pytest.mark.parametrize("fault, field, source", [("physical", 104, 112), ("digital", 120, 128)])
def test_edf_channel_with_a_degenerate_range_is_left_out_with_a_warning(tmp_path, fmt, fault, field, source):
    path, rec = _edf_with_field(tmp_path, fmt, field, lambda b, ns, i: _field(b, ns, source, i))
    with pytest.warns(ParaspinalWarning, match=rf"channel 'L_MF': the header gives {fault} minimum.*left out"):
        back = ps.read(path)
    assert back.ch_names == ["R_MF"]  # the other channel is read, and right
    lsb = 2 * np.abs(rec.emg("uV")[1]).max() / 2 ** (16 if fmt == "edf" else 24)
    np.testing.assert_allclose(back.emg("uV")[0], rec.emg("uV")[1], atol=2 * lsb)


def test_edf_whose_every_channel_has_a_degenerate_range_is_an_error(tmp_path):
    from paraspinal.errors import ReadError

    path, _ = _edf_with_field(tmp_path, "edf", 104, lambda b, ns, i: _field(b, ns, 112, i), channels=(0, 1))
    with pytest.raises(ReadError, match="no channel can be scaled"):
        ps.read(path)


def test_edf_range_that_is_not_a_number_is_an_error_naming_the_channel(tmp_path):
    from paraspinal.errors import ReadError

    path, _ = _edf_with_field(tmp_path, "edf", 112, lambda b, ns, i: "abc", channels=(1,))
    with pytest.raises(ReadError, match="physical maximum") as info:
        ps.read(path)
    assert info.value.channel == "R_MF"


# ----------------------------------------------------------------------------- 5. pathological text, bounded
_BOUNDED_READ = """
import resource, sys, warnings
limit = int(sys.argv[2]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import paraspinal as ps
from paraspinal.errors import ParaspinalError
warnings.simplefilter("ignore")
try:
    ps.read(sys.argv[1])
except ParaspinalError as err:
    print("PARASPINAL", type(err).__name__, str(err)[:300])
except MemoryError:
    print("MEMORY")
else:
    print("READ")
"""


def _pathological(tmp_path, kind):
    p = tmp_path / f"{kind}.csv"
    if kind == "wide_first":  # the issue's 444 KB file: one 200,000-field line, then 2-field rows
        p.write_text(",".join(["1"] * 200_000) + "\n" + "".join(f"{i},{i}\n" for i in range(5000)))
    elif kind == "wide_late":
        rows = [f"{i / 1000},{i % 7}\n" for i in range(100_000)]
        rows.insert(60_000, ",".join(["1.0"] * 200_000) + "\n")
        p.write_text("".join(rows))
    elif kind == "junk":  # a header, then 2 million rows of junk
        with open(p, "w") as fh:
            fh.write("time,L_MF\n")
            fh.writelines(["abc,def\n"] * 2_000_000)
    elif kind == "junk_late":  # numbers, then junk from row 500,000 on
        with open(p, "w") as fh:
            fh.write("time,L_MF\n")
            fh.writelines(f"{i / 1000},{i % 7}\n" for i in range(500_000))
            fh.writelines(["abc,def\n"] * 500_000)
    return p


@pytest.mark.parametrize("kind, match", [("wide_first", "line 1 has 200000 fields where 2"),
                                         ("wide_late", "line 60001 has 200000 fields"),
                                         ("junk", "line 2, column 1"),
                                         ("junk_late", "line 500002, column 1")])
def test_pathological_text_is_refused_in_bounded_memory_and_time(tmp_path, kind, match):
    """The read runs in a child process limited to 1 GiB of address space (importing paraspinal
    takes about 0.6 GiB of it) and 120 s: a project error must come out, not a MemoryError,
    a crash or a hang (before the fix: > 120 s and 6.9 GB for the wide line)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("resource")
    p = _pathological(tmp_path, kind)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", _BOUNDED_READ, str(p), "1024"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("PARASPINAL ReadError"), (res.stdout, res.stderr[-2000:])
    assert match in res.stdout and p.name in res.stdout


def test_text_with_an_empty_cell_late_in_a_long_file_names_it(tmp_path):
    """The line-by-line parser (block by block) gives the same answer as the fast one would."""
    p = tmp_path / "gap.csv"
    with open(p, "w") as fh:
        fh.write("time,L_MF\n")
        fh.writelines(f"{i / 1000},{(i % 7) * 1e-6}\n" for i in range(300_000))
        fh.write("300,\n")
        fh.writelines(f"{i / 1000},{(i % 7) * 1e-6}\n" for i in range(300_001, 300_010))
    from paraspinal.errors import ChannelError

    with pytest.raises(ChannelError, match="1 non-finite .* at sample 300000"):
        ps.read(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        rec = ps.read(p, columns=["time"], time_column=False, sfreq=1000)
    np.testing.assert_allclose(rec.get_data(unit=None)[0], np.r_[np.arange(300_000) / 1000, 300,
                                                                  np.arange(300_001, 300_010) / 1000])


# ----------------------------------------------------------------------------- 9. degenerate processing
def _noise(n, sfreq=1000, channels=("L_MF", "R_MF"), seed=3):
    return ps.Recording.from_array(np.random.default_rng(seed).normal(0, 50, (len(channels), n)), sfreq,
                                   list(channels))


@pytest.mark.parametrize("n", [10, 249, 499])
def test_too_short_recording_is_a_signal_error_stating_the_minimum(n):
    from paraspinal.errors import SignalError

    with pytest.raises(SignalError, match=r"shorter than the 0.5 s the features need"):
        ps.features.compute(_noise(n))
    assert len(ps.features.compute(_noise(500), features=["rms"], nperseg_s=0.5)) > 0  # 0.5 s is enough


def test_phase_shorter_than_the_window_gives_no_rows_and_a_warning():
    import pandas as pd

    rec = _noise(5000).with_phases(pd.DataFrame({"onset": [0.0, 2.0], "duration": [2.0, 0.1],
                                                 "phase": ["standing", "sitting"]}))
    with pytest.warns(ParaspinalWarning, match=r"shorter than the 250 ms envelope window.*'sitting' at 2 s"):
        df = ps.features.compute(rec, features=["amplitude"])
    assert set(df["phase"]) == {"standing"}


def test_overlapping_movement_phases_are_a_warning_but_nesting_in_a_trial_is_not():
    import pandas as pd

    overlap = pd.DataFrame({"onset": [0.0, 2.0], "duration": [5.0, 3.0], "phase": ["flexion", "extension"]})
    with pytest.warns(ParaspinalWarning, match=r"phases overlap: 'flexion' at 0 s and 'extension' at 2 s \(3 s\)"):
        ps.phases.validate(overlap)
    nested = pd.DataFrame({"onset": [0.0, 1.0, 3.0, 3.0004], "duration": [8.0, 2.0, 0.0004, 2.0],
                           "phase": ["trial1", "flexion", "full_flexion", "extension"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ParaspinalWarning)
        ps.phases.validate(nested, on_unknown="keep")  # a phase inside a trial; boundaries that touch


def test_phase_past_the_end_is_a_paraspinal_warning_naming_it():
    import pandas as pd

    rec = _noise(10_000)
    table = pd.DataFrame({"onset": [0.0, 8.0, 12.0], "duration": [5.0, 5.0, 1.0],
                          "phase": ["standing", "sitting", "prone"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = rec.with_phases(table)
    said = [str(w.message) for w in caught]
    assert any("'sitting' at 8 s (5 s) run past its edges" in m and "'prone' at 12 s" in m for m in said), said
    assert not any("annotation(s)" in m for m in said)  # MNE's own message is replaced by ours
    assert list(out.phases["phase"]) == ["standing", "sitting"]
    with pytest.warns(ParaspinalWarning, match=r"start after the end.*'prone' at 12 s"):
        ps.features.compute(rec, phases=table, features=["rms"])


def test_flat_channel_is_said_once_and_leaks_no_numpy_warning():
    x = np.random.default_rng(0).normal(0, 50, (3, 20_000))
    x[1] = 0.0
    x[2] = 1e-3  # a constant (a DC offset, no signal): flat after the band-pass
    rec = ps.Recording.from_array(x, 1000, ["L_MF", "R_MF", "L_LT"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = ps.analyze(rec)
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    flat = [str(w.message) for w in caught if "flat channel" in str(w.message)]
    assert runtime == [] and len(flat) == 1 and "'R_MF', 'L_LT'" in flat[0]
    assert set(df["channel"]) == {"L_MF"}
    from paraspinal.errors import SignalError

    with pytest.raises(SignalError, match="every EMG channel is flat"):
        ps.features.compute(ps.Recording.from_array(np.zeros((2, 5000)), 1000, ["L_MF", "R_MF"]))


# ----------------------------------------------------------------------------- 10. sidecars written atomically
def _failing_fsync(monkeypatch, after: int = 0):
    """fsync fails from its ``after + 1``-th call on: a write that fails before its rename."""
    import paraspinal._files as files

    calls = []
    real = files.os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) > after:
            raise OSError(5, "Input/output error (simulated)")
        return real(fd)
    monkeypatch.setattr(files.os, "fsync", fsync)


def test_phase_sidecar_and_its_json_are_written_atomically(tmp_path, monkeypatch):
    from paraspinal.viewer.sidecar import write_phases

    side = tmp_path / "trial.csv.events.tsv"
    phases = ps.phases.from_protocol([("standing", 1.0)], cycles=False)
    _failing_fsync(monkeypatch, after=2)  # the table and its folder are flushed; the description fails
    with pytest.raises(OSError, match="simulated"):
        write_phases(phases, side, 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == [side.name]  # no half-written json, no temp file


def test_bids_events_json_is_written_atomically(tmp_path, monkeypatch):
    import json

    edf = _bids_file(tmp_path)
    events_json = edf.with_name(edf.name.replace("_emg.edf", "_events.json"))
    rec = ps.read(edf)
    _failing_fsync(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(OSError, match="simulated"):  # paraspinal's own sidecars go through atomic_path
            ps.io.bids.write_bids(rec, tmp_path / "bids", overwrite=True)
    json.loads(events_json.read_text())  # whole (MNE-BIDS's or ours), never half a file
    assert not [p for p in (tmp_path / "bids").rglob("*") if ".tmp-" in p.name]


# ----------------------------------------------------------------------------- a fresh adversarial pass
def _bv(tmp_path, values):
    """A BrainVision recording of float32 samples (2 channels, multiplexed)."""
    (tmp_path / "bv.eeg").write_bytes(np.asarray(values, dtype="<f4").T.tobytes())
    (tmp_path / "bv.vmrk").write_text("Brain Vision Data Exchange Marker File, Version 1.0\n[Common Infos]\n"
                                      "DataFile=bv.eeg\n[Marker Infos]\n")
    vhdr = tmp_path / "bv.vhdr"
    vhdr.write_text("Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\nDataFile=bv.eeg\n"
                    "MarkerFile=bv.vmrk\nDataFormat=BINARY\nDataOrientation=MULTIPLEXED\nNumberOfChannels=2\n"
                    "SamplingInterval=1000\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n[Channel Infos]\n"
                    "Ch1=L_MF,,1,µV\nCh2=R_MF,,1,µV\n")
    return vhdr


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ["fif", "brainvision", "mat", "csv", "wfdb"])
def test_non_finite_samples_are_a_channel_error_in_every_format(tmp_path, fmt, bad):
    import scipy.io

    from paraspinal.errors import ChannelError

    x = np.random.default_rng(0).normal(0, 50, (2, 1000))
    x[1, 123] = bad
    if fmt == "fif":
        path = tmp_path / "a.fif"
        ps.Recording.from_array(x, 1000, ["L_MF", "R_MF"], allow_nan=True).save(path)
    elif fmt == "brainvision":
        path = _bv(tmp_path, x)
    elif fmt == "mat":
        path = tmp_path / "a.mat"
        scipy.io.savemat(path, {"data": x * 1e-6, "fs": 1000.0})
    elif fmt == "csv":
        path = tmp_path / "a.csv"
        np.savetxt(path, np.c_[np.arange(1000) / 1000, x.T], delimiter=",", header="time,L_MF,R_MF", comments="")
    else:
        wfdb = pytest.importorskip("wfdb")
        if not np.isnan(bad):
            pytest.skip("WFDB marks a missing sample only (as NaN); it holds no infinity")
        wfdb.wrsamp("a", fs=1000, units=["mV", "mV"], sig_name=["L_MF", "R_MF"], p_signal=x.T * 1e-3,
                    fmt=["16", "16"], write_dir=str(tmp_path))
        path = tmp_path / "a.hea"
    opts = {"variables": {"data": "data", "sfreq": "fs"}} if fmt == "mat" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        with pytest.raises(ChannelError, match="non-finite .* first at sample 123") as info:
            ps.read(path, **opts)
    assert info.value.channel in ("R_MF", "data2")


@pytest.mark.parametrize("record, error", [("0", "ReadError"), ("-1", "ReadError"), ("1e-9", "SamplingRateError")])
def test_edf_header_without_a_plausible_rate_is_an_error(tmp_path, record, error):
    path, _ = _edf_with_field(tmp_path, "edf", 0, lambda b, ns, i: _field(b, ns, 0, i), name="r")
    b = bytearray(path.read_bytes())
    b[244:252] = record.ljust(8).encode()
    path.write_bytes(bytes(b))
    with pytest.raises(getattr(ps.errors, error)):
        ps.read(path)


def test_edf_repeated_labels_are_a_warning(tmp_path):
    path, _ = _edf_with_field(tmp_path, "edf", 0, lambda b, ns, i: _field(b, ns, 0, i), name="dup", channels=())
    b = bytearray(path.read_bytes())
    b[256 + 16:256 + 32] = b[256:256 + 16]  # the second label (16 bytes) repeats the first
    path.write_bytes(bytes(b))
    with pytest.warns(ParaspinalWarning, match=r"names several channels \['L_MF'\]"):
        rec = ps.read(path)
    assert len(set(rec.ch_names)) == 2


def test_edf_annotation_with_invalid_bytes_is_a_read_error(tmp_path):
    import pandas as pd

    from paraspinal.errors import ReadError

    rec = ps.Recording.from_array(np.random.default_rng(0).normal(0, 50, (1, 3000)), 1000, ["L_MF"])
    rec = rec.with_phases(pd.DataFrame({"onset": [0.5], "duration": [1.0], "phase": ["standing"]}))
    rec.save(tmp_path / "a.edf")
    b = bytearray((tmp_path / "a.edf").read_bytes())
    i = b.index(b"standing")
    b[i:i + 3] = b"\xff\xfe\xff"
    (tmp_path / "bad.edf").write_bytes(bytes(b))
    with pytest.raises(ReadError, match="could not be read as EDF"):
        ps.read(tmp_path / "bad.edf")


def test_phase_spans_that_are_not_spans_are_an_error():
    import pandas as pd

    from paraspinal.errors import ParameterError

    rec = _noise(3000)
    for onset, duration in [(0.0, -0.5), (float("nan"), 1.0), (0.0, float("inf"))]:
        table = pd.DataFrame({"onset": [onset], "duration": [duration], "phase": ["standing"]})
        with pytest.raises(ParameterError, match="not a time span"):
            rec.with_phases(table)
        with pytest.raises(ParameterError):
            ps.features.compute(rec, phases=table)


@pytest.mark.parametrize("column, value, match", [("duration", "-1", "is not a time span"),
                                                  ("onset", "inf", "is not a time span"),
                                                  ("cycle", "1.5", "cycle '1.5' is not a cycle number"),
                                                  ("cycle", "abc", "cycle 'abc' is not a cycle number")])
def test_bids_events_that_are_not_phases_are_an_error(tmp_path, column, value, match):
    import pandas as pd

    from paraspinal.errors import ReadError

    edf = _bids_file(tmp_path)
    events = edf.with_name(edf.name.replace("_emg.edf", "_events.tsv"))
    table = pd.read_csv(events, sep="\t", dtype=str, keep_default_na=False)
    table.loc[1, column] = value
    table.to_csv(events, sep="\t", index=False)
    with pytest.raises(ReadError, match=match) as info:
        ps.read(edf)
    assert "line 3" in str(info.value) and events.name in str(info.value)


def test_undecodable_channel_name_bytes_are_read_as_latin1(tmp_path):
    from paraspinal.errors import WriteError

    with pytest.warns(ParaspinalWarning, match="'Bíceps'"):  # an unknown muscle, said by its readable name
        rec = ps.Recording.from_array(np.random.default_rng(0).normal(0, 50, (2, 1000)), 1000,
                                      ["B\udcedceps", "L_MF"])  # b"B\xedceps", as a reader decodes it
    assert rec.ch_names == ["Bíceps", "L_MF"]
    with pytest.raises(WriteError, match="ASCII"):
        rec.save(tmp_path / "a.fif")


def test_damaged_mat_type_code_is_a_read_error_not_a_crash(tmp_path):
    """scipy's MAT v5 reader dereferences an empty slot for type code 8 and crashes the interpreter."""
    import scipy.io

    from paraspinal.errors import ReadError

    path = tmp_path / "a.mat"
    scipy.io.savemat(path, {"data": np.random.default_rng(0).normal(0, 1e-4, (2, 300)), "fs": 1000.0})
    b = bytearray(path.read_bytes())
    real = b.index(b"\x01\x00\x04\x00data") + 8  # the real part's tag follows the name
    for code in (8, 224):
        b[real:real + 4] = code.to_bytes(4, "little")
        path.write_bytes(bytes(b))
        with pytest.raises(ReadError, match=f"data type {code}, which the format does not define"):
            ps.read(path, variables={"data": "data", "sfreq": "fs"})


def _c3d_seed(tmp_path):
    import sys
    from pathlib import Path

    pytest.importorskip("ezc3d")
    sys.path.insert(0, str(Path(__file__).parent))
    from fuzz_seeds import _c3d

    return _c3d(tmp_path / "seed.c3d")


def test_c3d_parameter_running_into_the_next_is_a_read_error_not_a_crash(tmp_path):
    from paraspinal.errors import ReadError

    path = _c3d_seed(tmp_path)
    b = bytearray(path.read_bytes())
    i = b.index(b"LABELS", b.index(b"ANALOG"))  # ANALOG:LABELS: offset (2), type, ndims, dims...
    assert b[i + 8] == 0xFF and b[i + 9] == 2  # char, two dimensions
    b[i + 10] = 250  # 250-character labels: the data would run far into the next records
    path.write_bytes(bytes(b))
    with pytest.raises(ReadError, match="runs into the next record"):
        ps.read(path)


def test_c3d_rotation_ratio_that_makes_ezc3d_hang_is_a_read_error(tmp_path):
    from paraspinal.errors import ReadError

    path = _c3d_seed(tmp_path)
    b = bytearray(path.read_bytes())
    i = b.index(b"RATIO", b.index(b"ROTATION"))  # ROTATION:RATIO: offset (2), type 2, ndims 0, value (2)
    b[i + 9:i + 11] = (-19712).to_bytes(2, "little", signed=True)
    path.write_bytes(bytes(b))
    with pytest.raises(ReadError, match="ROTATION parameters are implausible"):
        ps.read(path)
