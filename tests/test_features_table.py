"""The tidy feature table: columns, names, units, order, registry."""

import warnings

import numpy as np
import pytest

from paraspinal import features, synth
from paraspinal.features.table import COLUMNS, FEATURES


@pytest.fixture(scope="module")
def table():
    sim = synth.simulate("frt", "patient", sfreq=1000, seed=1, ecg=False, powerline=None,
                         channels=("L_LT", "R_LT", "L_RA", "R_RA"), meta={"subject": "01"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return features.compute(sim.recording), sim


def test_columns_and_units(table):
    df, _ = table
    assert tuple(df.columns) == COLUMNS
    assert set(df["feature"]) <= set(FEATURES) | {"p10", "p50", "p90"}
    assert np.isfinite(df["value"]).all()
    assert (df.loc[df["feature"] == "rms", "unit"] == "uV").all()
    assert (df.loc[df["feature"] == "mdf", "unit"] == "Hz").all()
    assert (df["subject"] == "01").all() and (df["group"] == "patient").all()


def test_pair_labels(table):
    df, _ = table
    asym = df[df["feature"] == "asymmetry_index"]
    assert set(asym["channel"]) == {"L_LT|R_LT", "L_RA|R_RA"} and set(asym["side"]) == {"L|R"}
    coc = df[df["feature"] == "cci_falconer_winter"]
    assert set(coc["channel"]) == {"L_LT|L_RA", "R_LT|R_RA"} and set(coc["muscle"]) == {"LT|RA"}


def test_deterministic_and_input_untouched(table):
    df, sim = table
    before = sim.recording.get_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = features.compute(sim.recording)
    assert df.equals(again)
    assert np.array_equal(before, sim.recording.get_data())


def test_rms_matches_direct_computation(table):
    df, sim = table
    rec = sim.recording
    ph = rec.phases
    row = ph[(ph["phase"] == "extension") & (ph["cycle"] == 2)].iloc[0]
    a, b = int(round(row.onset * rec.sfreq)), int(round((row.onset + row.duration) * rec.sfreq))
    x = rec.emg("uV", picks=["R_LT"])[0, a:b]
    got = df[(df["channel"] == "R_LT") & (df["phase"] == "extension") & (df["cycle"] == 2) & (df["feature"] == "rms")]
    assert got["value"].iat[0] == pytest.approx(np.sqrt(np.mean(x**2)))


def test_registry_complete():
    for f in FEATURES.values():
        assert f.definition and f.unit and f.citation and f.formula
    assert "| `frr` |" in features.feature_table_markdown()


def test_whole_recording_without_phases_and_fatigue():
    sim = synth.simulate([("sorensen_hold", 30.0)], "control", sfreq=1000, seed=0, ecg=False, powerline=None,
                         channels=("L_LT",), fatigue=-0.4)
    rec = sim.recording.with_phases(sim.recording.phases.iloc[:0])
    df = features.compute(rec, features=["rms", "fatigue"])
    assert set(df["phase"]) == {"all"}
    slope = df.loc[df["feature"] == "mdf_slope_pct", "value"].iat[0]
    assert slope == pytest.approx(-0.4, abs=0.15)
