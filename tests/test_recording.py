"""The Recording data model."""

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import ChannelError, ParameterError, SamplingRateError


def make(rng, n=3, n_times=4000, sfreq=2000.0, units="uV"):
    data = rng.standard_normal((n, n_times))
    names = ["L_MF_L5", "R_MF_L5", "L_RA"][:n]
    return data, ps.Recording.from_array(data, sfreq, names, units=units, meta={"subject": "01", "group": "control"})


@pytest.mark.parametrize("unit, factor", [("V", 1.0), ("mV", 1e-3), ("uV", 1e-6), ("µV", 1e-6), ("mv", 1e-3)])
def test_units_are_converted_to_volts(rng, unit, factor):
    data, rec = make(rng, units=unit)
    np.testing.assert_allclose(rec.raw.get_data(), data * factor, rtol=1e-12)
    np.testing.assert_allclose(rec.emg(unit="uV"), data * factor * 1e6, rtol=1e-12)
    np.testing.assert_allclose(rec.emg(unit="mV"), data * factor * 1e3, rtol=1e-12)


def test_per_channel_units_and_non_voltage(rng):
    data = rng.standard_normal((3, 1000))
    rec = ps.Recording.from_array(data, 1000, ["L_MF", "R_MF", "Trunk angle"],
                                  units={"L_MF": "uV", "R_MF": "mV", "Trunk angle": "deg"})
    assert list(rec.channels["unit"]) == ["V", "V", "deg"]
    assert list(rec.channels["type"]) == ["emg", "emg", "misc"]
    np.testing.assert_allclose(rec.get_data("TRUNK_ANGLE", unit="uV")[0], data[2])  # degrees stay degrees
    np.testing.assert_allclose(rec.emg("uV")[1], data[1] * 1e3)


def test_properties_and_meta(rng):
    _, rec = make(rng)
    assert rec.sfreq == 2000.0
    assert rec.n_samples == 4000
    assert rec.duration == pytest.approx(2.0)
    assert rec.emg_names == ["L_MF_L5", "R_MF_L5", "L_RA"]
    assert rec.meta["subject"] == "01" and rec.meta["session"] is None
    assert set(ps.recording.META_KEYS) <= set(rec.meta)
    assert "3 channels" in repr(rec)


def test_input_array_is_not_modified(rng):
    data = rng.standard_normal((2, 100))
    before = data.copy()
    ps.Recording.from_array(data, 100, ["L_MF", "R_MF"], units="mV")
    np.testing.assert_array_equal(data, before)


def test_crop_is_half_open_and_keeps_phases(rng):
    data, rec = make(rng)
    rec = rec.with_phases(pd.DataFrame({"onset": [0.0, 1.0], "duration": [1.0, 1.0],
                                        "phase": ["standing", "flexion"], "cycle": [1, 1]}))
    part = rec.crop(0.5, 1.5)
    assert part.n_samples == 2000
    np.testing.assert_allclose(part.emg("uV"), data[:, 1000:3000] * 1.0, rtol=1e-12)
    ph = part.phases
    assert list(ph["phase"]) == ["standing", "flexion"]
    np.testing.assert_allclose(ph["onset"], [0.0, 0.5])
    assert rec.n_samples == 4000  # input unchanged


def test_pick_by_name_muscle_side(rng):
    _, rec = make(rng)
    assert rec.pick(["R_MF_L5"]).ch_names == ["R_MF_L5"]
    assert rec.pick(muscles=["MF"]).ch_names == ["L_MF_L5", "R_MF_L5"]
    assert rec.pick("emg", sides=["L"]).ch_names == ["L_MF_L5", "L_RA"]
    assert len(rec.ch_names) == 3
    with pytest.raises(ChannelError, match="no such channel"):
        rec.pick(["nope"])
    with pytest.raises(ChannelError, match="keeps no channel"):
        rec.pick(muscles=["QL"])


def test_copy_is_independent(rng):
    _, rec = make(rng)
    other = rec.copy()
    other.raw._data[0, 0] = 123.0
    other.meta["subject"] = "02"
    assert rec.raw.get_data()[0, 0] != 123.0
    assert rec.meta["subject"] == "01"


def test_phases_roundtrip_with_cycles(rng):
    _, rec = make(rng)
    table = pd.DataFrame({"onset": [0.0, 0.5, 1.0], "duration": [0.5, 0.5, 0.5],
                          "phase": ["standing", "flexion", "full_flexion"], "cycle": [None, 1, 1]})
    out = rec.with_phases(table).phases
    assert list(out["phase"]) == ["standing", "flexion", "full_flexion"]
    assert out["cycle"].isna().tolist() == [True, False, False]
    assert out["cycle"].iloc[1] == 1


def test_from_mne_keeps_types_and_renames(rng):
    import mne

    info = mne.create_info(["Left Multifidus L5", "EKG", "angle"], 1000.0, ["emg", "ecg", "misc"])
    raw = mne.io.RawArray(rng.standard_normal((3, 500)) * 1e-5, info, verbose=False)
    rec = ps.Recording.from_mne(raw, units={"angle": "deg"})
    assert rec.ch_names == ["L_MF_L5", "ECG", "TRUNK_ANGLE"]
    assert list(rec.channels["type"]) == ["emg", "ecg", "misc"]
    assert list(rec.channels["unit"]) == ["V", "V", "deg"]
    assert raw.ch_names[0] == "Left Multifidus L5"  # input untouched


@pytest.mark.parametrize("sfreq", [0, -1, float("nan"), "abc"])
def test_bad_sfreq(rng, sfreq):
    with pytest.raises(SamplingRateError):
        ps.Recording.from_array(np.zeros((1, 10)), sfreq, ["L_MF"])


def test_shape_mismatch_names_the_fix():
    with pytest.raises(ChannelError, match="transpose"):
        ps.Recording.from_array(np.zeros((10, 2)), 100, ["L_MF", "R_MF"])


def test_nan_run_names_channel_and_sample():
    data = np.zeros((2, 100))
    data[1, 40:60] = np.nan
    with pytest.raises(ChannelError, match=r"channel 'R_MF'.*20 non-finite.*sample 40"):
        ps.Recording.from_array(data, 100, ["L_MF", "R_MF"], file="rec.csv")
    rec = ps.Recording.from_array(data, 100, ["L_MF", "R_MF"], allow_nan=True)
    assert np.isnan(rec.emg()).sum() == 20


def test_bad_unit_request(rng):
    _, rec = make(rng)
    with pytest.raises(ParameterError):
        rec.emg(unit="deg")
