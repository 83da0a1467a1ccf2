"""Format detection and the MNE-backed readers (EDF annotations, BrainVision, FIF)."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import FormatError, ParameterError, ReadError
from paraspinal.io import detect_format


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_missing_empty_folder(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        ps.read(tmp_path / "nope.edf")
    with pytest.raises(ReadError, match="is a folder"):
        ps.read(tmp_path)
    empty = tmp_path / "empty.edf"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty.edf: the file is empty"):
        ps.read(empty)


def test_unknown_format_and_wrong_suffix(tmp_path):
    odd = tmp_path / "rec.xyz"
    odd.write_bytes(b"\x01\x02\x03 not a recording")
    with pytest.raises(FormatError, match="unknown format.*format="):
        ps.read(odd)
    fake = tmp_path / "rec.edf"
    fake.write_text("time,emg\n0,1\n0.001,2\n")
    with pytest.raises(FormatError, match="suffix says European Data Format"):
        ps.read(fake)
    with pytest.raises(ParameterError, match="unknown format 'nope'"):
        ps.read(fake, format="nope")


def test_content_beats_suffix(tmp_path, rng):
    rec = ps.Recording.from_array(rng.standard_normal((2, 2000)), 1000, ["L_MF", "R_MF"])
    edf = tmp_path / "rec.edf"
    rec.save(edf)
    renamed = tmp_path / "rec.dat"
    renamed.write_bytes(edf.read_bytes())
    assert detect_format(renamed).name == "edf"
    assert ps.read(renamed).ch_names == ["L_MF", "R_MF"]
    # a suffix that names another format: read by content, with a warning
    misnamed = tmp_path / "rec.c3d"
    misnamed.write_bytes(edf.read_bytes())
    with pytest.warns(ps.ParaspinalWarning, match="suffix '.c3d' says C3D.*content is European Data Format"):
        assert ps.read(misnamed).meta["format"] == "edf"


def test_unknown_reader_option_lists_valid_ones(tmp_path, rng):
    rec = ps.Recording.from_array(rng.standard_normal((1, 1000)), 1000, ["L_MF"])
    rec.save(tmp_path / "r.fif")
    with pytest.raises(ParameterError, match=r"takes no option\(s\) \['sfreq'\].*channel_map"):
        ps.read(tmp_path / "r.fif", sfreq=100)


def test_edf_annotations_become_phases_and_file_unchanged(tmp_path, rng):
    data = rng.standard_normal((2, 6000)) * 50  # µV
    rec = ps.Recording.from_array(data, 2000, ["Left Multifidus L5", "ECG"], units="uV",
                                  meta={"subject": "07"})
    rec = rec.with_phases(pd.DataFrame({"onset": [0.0, 1.0, 2.0], "duration": [1.0, 1.0, 1.0],
                                        "phase": ["standing", "flexion", "full_flexion"]}))
    path = tmp_path / "r.edf"
    rec.save(path)
    digest = _sha(path)
    back = ps.read(path, meta={"group": "patient"})
    assert _sha(path) == digest
    assert back.ch_names == ["L_MF_L5", "ECG"]
    assert back.meta["subject"] == "07" and back.meta["group"] == "patient"
    assert back.meta["format"] == "edf" and back.meta["source"] == str(path)
    assert list(back.phases["phase"]) == ["standing", "flexion", "full_flexion"]
    np.testing.assert_allclose(back.phases["onset"], [0.0, 1.0, 2.0], atol=1 / 2000)
    # EDF stores 16-bit integers over each channel's physical range
    step = (data.max(axis=1) - data.min(axis=1)) / (2**16 - 1)
    err = np.abs(back.emg("uV") - data[:1])
    assert err.max() <= step[0]


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_saved_length_survives_partial_last_record(tmp_path, rng, suffix):
    """EDF holds whole 1-s data records: MNE pads the last one and marks it BAD_ACQ_SKIP; reading
    back drops that padding, so 2.6185 s come back as 2.6185 s with no extra phase."""
    n = 5237  # not a whole number of seconds at 2 kHz
    data = rng.standard_normal((1, n)) * 50
    rec = ps.Recording.from_array(data, 2000, ["L_MF"], units="uV")
    rec = rec.with_phases(pd.DataFrame({"onset": [0.5], "duration": [1.0], "phase": ["standing"]}))
    rec.save(tmp_path / f"r{suffix}")
    back = ps.read(tmp_path / f"r{suffix}")
    assert back.n_samples == n
    assert list(back.phases["phase"]) == ["standing"]
    step = (data.max() - data.min()) / (2**16 - 1)
    assert np.abs(back.emg("uV") - data).max() <= step


def _write_brainvision(folder: Path, data_uv: np.ndarray, sfreq: float, names, markers):
    """A BrainVision file written from the format's specification (Brain Products, Version 1.0)."""
    base = "bv"
    n_ch = len(names)
    hdr = [
        "Brain Vision Data Exchange Header File Version 1.0",
        "",
        "[Common Infos]",
        "Codepage=UTF-8",
        f"DataFile={base}.eeg",
        f"MarkerFile={base}.vmrk",
        "DataFormat=BINARY",
        "DataOrientation=MULTIPLEXED",
        f"NumberOfChannels={n_ch}",
        f"SamplingInterval={1e6 / sfreq:g}",
        "",
        "[Binary Infos]",
        "BinaryFormat=IEEE_FLOAT_32",
        "",
        "[Channel Infos]",
    ]
    hdr += [f"Ch{i + 1}={n},,1,µV" for i, n in enumerate(names)]
    (folder / f"{base}.vhdr").write_text("\n".join(hdr) + "\n", encoding="utf-8")
    mk = ["Brain Vision Data Exchange Marker File, Version 1.0", "", "[Common Infos]", "Codepage=UTF-8",
          f"DataFile={base}.eeg", "", "[Marker Infos]"]
    mk += [f"Mk{i + 1}=Comment,{d},{int(round(o * sfreq)) + 1},{int(round(dur * sfreq))},0"
           for i, (o, dur, d) in enumerate(markers)]
    (folder / f"{base}.vmrk").write_text("\n".join(mk) + "\n", encoding="utf-8")
    data_uv.T.astype("<f4").tofile(folder / f"{base}.eeg")
    return folder / f"{base}.vhdr"


def test_brainvision_from_spec(tmp_path, rng):
    data = (rng.standard_normal((2, 3000)) * 20).astype(np.float32)
    path = _write_brainvision(tmp_path, data, 1000.0, ["R_LT_L1", "L_LT_L1"],
                              [(0.5, 1.0, "standing"), (1.5, 1.0, "flexion")])
    rec = ps.read(path)
    assert rec.meta["format"] == "brainvision"
    assert rec.sfreq == 1000.0 and rec.n_samples == 3000
    assert rec.ch_names == ["R_LT_L1", "L_LT_L1"]
    np.testing.assert_allclose(rec.emg("uV"), data.astype(float), rtol=1e-6)
    ph = rec.phases
    assert list(ph["phase"]) == ["standing", "flexion"]
    np.testing.assert_allclose(ph["onset"], [0.5, 1.5])
    np.testing.assert_allclose(ph["duration"], [1.0, 1.0])


def test_fif_keeps_meta_units_and_cycles(tmp_path, rng):
    data = rng.standard_normal((2, 1000))
    rec = ps.Recording.from_array(data, 500, ["L_MF", "angle"], units={"L_MF": "uV", "angle": "deg"},
                                  meta={"subject": "03", "group": "control", "task": "frt"})
    rec = rec.with_phases(pd.DataFrame({"onset": [0.0, 1.0], "duration": [1.0, 1.0],
                                        "phase": ["flexion", "extension"], "cycle": [2, 2]}))
    rec.save(tmp_path / "r.fif")
    back = ps.read(tmp_path / "r.fif")
    assert back.meta["group"] == "control" and back.meta["task"] == "frt"
    assert list(back.channels["unit"]) == ["V", "deg"]
    assert list(back.phases["cycle"]) == [2, 2]
    np.testing.assert_allclose(back.get_data("TRUNK_ANGLE")[0], data[1], rtol=1e-6)  # float32 on disk
    with pytest.raises(ps.errors.WriteError, match="exists"):
        rec.save(tmp_path / "r.fif")
