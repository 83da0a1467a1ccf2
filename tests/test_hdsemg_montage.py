"""Montages of electrode grids (paraspinal.hdsemg.montage) on signals with analytic differentials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.errors import ParameterError

FS = 1000.0


def planar_recording(a=3.0, b=-2.0, c=5.0, n=500, model="GR08MM1305"):
    """V(x, y, t) = (a x + b y + c) sin(2 pi 40 t) uV, x, y in mm: every SD is constant in space."""
    m = hd.grid_model(model)
    pos = hd.model_positions(m)
    t = np.arange(n) / FS
    wave = np.sin(2 * np.pi * 40 * t)
    plane = a * pos["x_mm"].to_numpy() + b * pos["y_mm"].to_numpy() + c
    names = [f"G_{k:02d}" for k in pos["electrode"]]
    data = np.vstack([plane[:, None] * wave, 7.0 * np.ones(n)])
    rec = ps.Recording.from_array(data, FS, names + ["FORCE"], units=["uV"] * len(names) + ["N"],
                                  ch_types=["emg"] * len(names) + ["misc"], rename=False,
                                  phases=pd.DataFrame({"onset": [0.1], "duration": [0.2], "phase": ["standing"]}))
    rec = hd.set_layout(rec, m.name, channels=names, grid="G")
    rec.meta["grids"] = {"G": {"model": m.name, "montage": "monopolar"}}
    return rec, wave, m


def test_single_differential_along_columns_is_the_y_gradient():
    rec, wave, m = planar_recording()
    sd = hd.single_differential(rec, along="columns")
    geom = hd.geometry(sd)
    assert geom.shape == (12, 5) and geom.valid.sum() == 59 and not geom.valid[0, 0]
    expected = -(-2.0) * m.ied_mm * wave  # V[r] - V[r+1] = -b * ied
    np.testing.assert_allclose(sd.get_data(geom.channels, unit="uV"), np.tile(expected, (59, 1)), atol=1e-9)
    t = sd.channels.set_index("name")
    name = geom.names[3, 2]
    assert t.loc[name, "x_mm"] == 16.0 and t.loc[name, "y_mm"] == 28.0  # midpoint of rows 3 and 4
    assert t.loc[name, "source_name"] == "G_29 - G_30"
    assert sd.meta["grids"]["G"]["montage"] == "sd_columns"
    assert sd.meta["processing"][-1]["step"] == "hdsemg.single_differential"


def test_single_differential_along_rows_and_untouched_channels():
    rec, wave, m = planar_recording()
    sd = hd.single_differential(rec, along="rows")
    geom = hd.geometry(sd)
    assert geom.shape == (13, 4) and geom.valid.sum() == 51  # 13 * 4 pairs, minus the one with the empty corner
    np.testing.assert_allclose(sd.get_data(geom.channels, unit="uV"), np.tile(-3.0 * m.ied_mm * wave, (51, 1)),
                               atol=1e-9)
    assert sd.ch_names[-1] == "FORCE" and sd.channels["unit"].iloc[-1] == "N"
    np.testing.assert_array_equal(sd.get_data(["FORCE"], unit=None), 7.0)
    pd.testing.assert_frame_equal(sd.phases, rec.phases)


def test_double_differential_of_a_plane_is_zero_and_sits_on_the_centre():
    rec, _, _ = planar_recording()
    dd = hd.double_differential(rec)
    geom = hd.geometry(dd)
    assert geom.shape == (11, 5) and geom.valid.sum() == 54
    np.testing.assert_allclose(dd.get_data(geom.channels, unit="uV"), 0.0, atol=1e-9)
    t = dd.channels.set_index("name")
    assert t.loc[geom.names[0, 1], "y_mm"] == 8.0  # rows 0, 1, 2: the centre electrode
    assert t.loc[geom.names[0, 1], "source_name"] == "G_25 - 2*G_24 + G_23"


def test_double_differential_of_a_parabola():
    """V = y^2: V[r] - 2 V[r+1] + V[r+2] = 2 ied^2 everywhere."""
    m = hd.grid_model("GR10MM0808")
    pos = hd.model_positions(m)
    names = [f"E{k}" for k in pos["electrode"]]
    rec = ps.Recording.from_array(np.repeat((pos["y_mm"].to_numpy() ** 2)[:, None], 10, axis=1), FS, names,
                                  units="uV", ch_types=["emg"] * 64, rename=False)
    dd = hd.double_differential(hd.set_layout(rec, m.name, channels=names, grid="g"))
    np.testing.assert_allclose(dd.emg("uV"), 2 * 10.0 ** 2)


def test_common_average_reference():
    rec, _, _ = planar_recording()
    car = hd.monopolar(rec, "average")
    geom = hd.geometry(car)
    x = car.get_data(geom.channels, unit="uV")
    np.testing.assert_allclose(x.sum(axis=0), 0.0, atol=1e-9)
    raw = rec.get_data(geom.channels, unit="uV")
    np.testing.assert_allclose(x, raw - raw.mean(axis=0), atol=1e-12)
    assert car.meta["grids"]["G"]["montage"] == "monopolar_average"
    # a bad electrode is left out of the reference but still re-referenced
    med = hd.monopolar(rec, "median", bad=[geom.channels[0]])
    ref = np.median(raw[1:], axis=0)
    np.testing.assert_allclose(med.get_data(geom.channels, unit="uV"), raw - ref, atol=1e-12)
    same = hd.monopolar(rec)
    np.testing.assert_array_equal(same.get_data(), rec.get_data())


def test_montage_errors():
    rec, _, _ = planar_recording()
    sd = hd.single_differential(rec)
    with pytest.raises(ParameterError, match="already a sd_columns"):
        hd.single_differential(sd)
    with pytest.raises(ParameterError, match="along"):
        hd.single_differential(rec, along="diagonal")
    with pytest.raises(ParameterError, match="no grid"):
        hd.double_differential(rec, grids="H")
    with pytest.raises(ParameterError, match="reference"):
        hd.monopolar(rec, "bipolar")
    rec_in = rec.raw.get_data().copy()
    hd.double_differential(rec, along="rows")
    np.testing.assert_array_equal(rec.raw.get_data(), rec_in)  # the input is not modified
