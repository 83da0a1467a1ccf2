"""OTBiolab+ MATLAB exports (paraspinal.io.otb) against scipy.io.loadmat, on the real file and on files
written here the way OTBiolab+ lays them out."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.signal

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.errors import ChannelError, ParaspinalWarning
from paraspinal.io import detect_format
from paraspinal.io.otb import parse_label

OTB = "openhdemg_otb/otb_testfile.mat"
LABEL = "Vastus Lateralis - AUX 3 (Channel 1->1) - GR08MM1305 ({k})[uV]"


@pytest.fixture(scope="module")
def otb(data_dir):
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        rec = ps.read(data_dir / OTB)
    raw = scipy.io.loadmat(data_dir / OTB)
    return rec, raw["Data"][0, 0], [str(d[0][0]) for d in raw["Description"]]


@pytest.mark.realdata
def test_real_file_channels_rate_and_units(otb, data_dir):
    rec, data, labels = otb
    assert detect_format(data_dir / OTB).name == "otb_mat"
    assert rec.meta["format"] == "otb_mat" and rec.sfreq == 2048.0
    assert rec.n_samples == 66560 and abs(rec.duration - 32.5) < 1e-9
    assert len(rec.emg_names) == 64 and rec.emg_names == [f"Vastus_Lateralis_{k:02d}" for k in range(1, 65)]
    types = rec.channels["type"].tolist()
    assert types == ["emg"] * 64 + ["misc"] * 11
    units = rec.channels["unit"].tolist()
    assert units[:64] == ["V"] * 64 and units[64:74] == ["a.u."] * 10 and units[74] == "%MVC"
    # volts inside: the file's [uV] values times 1e-6, exactly as float32 -> float64
    np.testing.assert_allclose(rec.get_data(rec.emg_names, unit="V"), data[:, :64].T.astype(float) * 1e-6, rtol=1e-12)
    np.testing.assert_array_equal(rec.get_data(["acquired data"], unit=None)[0], data[:, 74].astype(float))
    assert rec.channels["source_name"].iloc[0] == labels[0]
    assert rec.meta["otb_start_s"] == 7.0
    g = rec.meta["grids"]["Vastus_Lateralis"]
    assert g["model"] == "GR08MM1305" and g["ied_mm"] == 8.0 and g["montage"] == "monopolar"


@pytest.mark.realdata
def test_real_file_positions(otb):
    rec, _, _ = otb
    geom = hd.geometry(rec)
    assert geom.shape == (13, 5) and geom.valid.sum() == 64 and not geom.valid[0, 0]
    t = rec.channels.set_index("name")
    assert (t.loc["Vastus_Lateralis_01", ["row", "col"]].tolist()) == [1, 0]
    assert (t.loc["Vastus_Lateralis_25", ["row", "col"]].tolist()) == [0, 1]
    assert (t.loc["Vastus_Lateralis_64", ["x_mm", "y_mm"]].tolist()) == [32.0, 96.0]
    assert t["grid"].iloc[64:].isna().all()


def _neighbour_corr(corr, numbers):
    pairs = []
    for r in range(numbers.shape[0]):
        for c in range(numbers.shape[1]):
            for rr, cc in ((r + 1, c), (r, c + 1)):
                if rr < numbers.shape[0] and cc < numbers.shape[1] and numbers[r, c] and numbers[rr, cc]:
                    pairs.append((numbers[r, c] - 1, numbers[rr, cc] - 1))
    p = np.array(pairs)
    return corr[p[:, 0], p[:, 1]].mean()


@pytest.mark.realdata
def test_real_file_confirms_the_gr08mm1305_numbering(otb):
    """Neighbours of the model's layout correlate more than those of any other plausible numbering."""
    rec, data, _ = otb
    sos = scipy.signal.butter(4, [20, 450], "bandpass", fs=2048, output="sos")
    corr = np.corrcoef(scipy.signal.sosfiltfilt(sos, data[:, :64].astype(float).T, axis=1))
    ours = hd.grid_model("GR08MM1305").numbers()
    col0_flipped = ours.copy()
    col0_flipped[1:, 0] = ours[1:, 0][::-1]
    alternatives = {
        "column-wise": np.r_[0, np.arange(1, 65)].reshape(5, 13).T,
        "row-wise": np.r_[0, np.arange(1, 65)].reshape(13, 5),
        "HD-style": hd.grid_model("HD08MM1305").numbers(),
        "column 0 reversed": col0_flipped,
    }
    score = _neighbour_corr(corr, ours)
    assert score > 0.95
    for name, nums in alternatives.items():
        assert score > _neighbour_corr(corr, nums) + 0.004, name


def test_parse_label():
    p = parse_label(LABEL.format(k=7))
    assert (p["kind"], p["model"], p["electrode"], p["unit"]) == ("grid", "GR08MM1305", 7, "uV")
    assert p["muscle_words"] == "Vastus Lateralis"
    dec = parse_label("1 - 4 - Decomposition of Vastus Lateralis - AUX 3 (Channel 1->1) - GR08MM1305 (1)[a.u]")
    assert dec["kind"] == "misc" and dec["unit"] == "a.u." and dec["model"] is None
    force = parse_label("acquired data[ %(MVC)]")
    assert (force["kind"], force["name"], force["unit"]) == ("misc", "acquired data", "%MVC")
    assert parse_label("Bipolar 2 (BIP 1) [mV]")["kind"] == "emg"


def _write_otb(path, data, labels, fs=2048, cell=True):
    desc = np.empty((len(labels), 1), dtype=object)
    for i, lab in enumerate(labels):
        desc[i, 0] = np.array([lab])
    wrapped = np.empty((1, 1), dtype=object)
    wrapped[0, 0] = data.astype(np.float32)
    scipy.io.savemat(path, {"Data": wrapped if cell else data.astype(np.float32), "Description": desc,
                            "SamplingFrequency": np.array([[fs]], dtype=np.uint16),
                            "Time": np.arange(data.shape[0])[:, None] / fs})


def test_two_grids_bipolar_and_force(tmp_path):
    """A bilateral export as a lab might write it: two 8 x 8 grids, a bipolar lead, a force channel."""
    rng = np.random.default_rng(1)
    labels = ([f"Left erector spinae - MULTIPLE IN 1 (Channel 1->64) - GR10MM0808 ({k})[uV]" for k in range(1, 65)]
              + [f"Right erector spinae - MULTIPLE IN 2 (Channel 65->128) - GR10MM0808 ({k})[uV]" for k in range(1, 65)]
              + ["Bipolar ECG - BIP 1 [mV]", "Force - AUX 1[N]"])
    data = rng.standard_normal((3000, len(labels)))
    _write_otb(tmp_path / "bilateral.mat", data, labels, cell=False)
    rec = ps.read(tmp_path / "bilateral.mat", flip_x={"R_ES": True})
    assert rec.meta["format"] == "otb_mat" and hd.grids(rec) == ["L_ES", "R_ES"]
    t = rec.channels.set_index("name")
    assert t.loc["L_ES_01", "muscle"] == "ES" and t.loc["R_ES_64", "side"] == "R"
    # electrode 1 of an 8 x 8 grid is at row 7, column 0; mirrored on the right
    assert (t.loc["L_ES_01", ["row", "col"]].tolist()) == [7, 0]
    assert (t.loc["R_ES_01", ["row", "col"]].tolist()) == [7, 7]
    assert t.loc["Bipolar ECG - BIP 1", "type"] == "emg" and t.loc["Bipolar ECG - BIP 1", "grid"] is None
    assert t.loc["Force - AUX 1", "type"] == "misc" and t.loc["Force - AUX 1", "unit"] == "N"
    np.testing.assert_allclose(rec.get_data(["Bipolar ECG - BIP 1"], unit="V")[0], data[:, 128].astype(np.float32) * 1e-3,
                               rtol=1e-6)


def test_unknown_grid_model_is_read_without_positions(tmp_path):
    labels = [f"Left multifidus - IN 1 - ZZ05MM0404 ({k})[uV]" for k in range(1, 17)]
    _write_otb(tmp_path / "odd.mat", np.ones((100, 16)) * np.arange(100)[:, None], labels)
    with pytest.warns(ParaspinalWarning, match="no known electrode numbering"):
        rec = ps.read(tmp_path / "odd.mat")
    assert len(rec.emg_names) == 16 and not hd.is_grid_recording(rec)


def test_bad_rotation_names_the_file(tmp_path):
    _write_otb(tmp_path / "one.mat", np.zeros((100, 1)), [LABEL.format(k=1)])
    with pytest.raises(ps.errors.ParameterError, match="one.mat.*rotation=90"):
        ps.read(tmp_path / "one.mat", rotation=90)


def test_duplicate_electrode_is_an_error(tmp_path):
    labels = [LABEL.format(k=1), LABEL.format(k=1)]
    _write_otb(tmp_path / "dup.mat", np.zeros((100, 2)), labels)
    with pytest.raises(ChannelError, match="more than once"):
        ps.read(tmp_path / "dup.mat")


def test_other_mat_files_still_reach_the_generic_reader(tmp_path):
    scipy.io.savemat(tmp_path / "plain.mat", {"emg": np.zeros((1000, 2)), "fs": 1000.0})
    assert detect_format(tmp_path / "plain.mat").name == "matlab"
    # the variables alone make the export, not the suffix
    _write_otb(tmp_path / "export.dat", np.zeros((100, 1)), [LABEL.format(k=1)])
    assert detect_format(tmp_path / "export.dat").name == "otb_mat"
