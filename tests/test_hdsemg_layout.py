"""Electrode-grid geometry (paraspinal.grids, re-exported by paraspinal.hdsemg): models, layouts, grid columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.channels import GRID_COLUMNS
from paraspinal.errors import ChannelError, ParameterError

# The GR08MM1305 numbering written out by hand from the OT Bioelettronica layout (connector
# end at row 0, the empty corner at row 0, column 0), independently of GridModel.numbers().
GR08MM1305_BY_HAND = np.array([
    [0, 25, 26, 51, 52],
    [1, 24, 27, 50, 53],
    [2, 23, 28, 49, 54],
    [3, 22, 29, 48, 55],
    [4, 21, 30, 47, 56],
    [5, 20, 31, 46, 57],
    [6, 19, 32, 45, 58],
    [7, 18, 33, 44, 59],
    [8, 17, 34, 43, 60],
    [9, 16, 35, 42, 61],
    [10, 15, 36, 41, 62],
    [11, 14, 37, 40, 63],
    [12, 13, 38, 39, 64],
])


def grid_recording(n_samples=2048, model="GR08MM1305", grid="L_ES", seed=0):
    m = hd.grid_model(model)
    names = [f"{grid}_{k:02d}" for k in range(1, m.n_electrodes + 1)]
    data = np.random.default_rng(seed).standard_normal((len(names) + 1, n_samples))
    rec = ps.Recording.from_array(data, 2048.0, names + ["FORCE"], units=["uV"] * len(names) + ["N"],
                                  ch_types=["emg"] * len(names) + ["misc"], rename=False)
    return hd.set_layout(rec, model, channels=names, grid=grid)


def test_gr08mm1305_numbering_by_hand():
    np.testing.assert_array_equal(hd.grid_model("GR08MM1305").numbers(), GR08MM1305_BY_HAND)
    assert hd.grid_model("gr08mm1305").n_electrodes == 64


@pytest.mark.parametrize("name", sorted(hd.GRID_MODELS))
def test_every_model_numbers_each_electrode_once(name):
    m = hd.GRID_MODELS[name]
    nums = m.numbers()
    assert nums.shape == (m.n_rows, m.n_cols)
    assert sorted(nums[nums > 0]) == list(range(1, m.n_electrodes + 1))
    assert all(nums[r, c] == 0 for r, c in m.missing)
    pos = hd.model_positions(m)
    # neighbouring electrode numbers are one IED apart except where a column ends
    steps = np.hypot(np.diff(pos["x_mm"]), np.diff(pos["y_mm"]))
    assert np.isclose(steps, m.ied_mm).sum() >= m.n_electrodes - m.n_cols


def test_hd_13x5_and_8x8_corners():
    hd13 = hd.grid_model("HD08MM1305").numbers()
    assert hd13[0, 4] == 0 and hd13[1, 4] == 1 and hd13[12, 4] == 12 and hd13[0, 3] == 13 and hd13[12, 0] == 64
    g88 = hd.grid_model("GR10MM0808").numbers()
    assert g88[7, 0] == 1 and g88[0, 0] == 8 and g88[7, 1] == 9 and g88[0, 7] == 64


def test_rotation_and_flip():
    base = hd.model_positions("GR08MM1305")
    rot = hd.model_positions("GR08MM1305", rotation=180)
    np.testing.assert_array_equal(rot["row"], 12 - base["row"])
    np.testing.assert_array_equal(rot["col"], 4 - base["col"])
    np.testing.assert_allclose(rot["y_mm"], 96.0 - base["y_mm"])
    flip = hd.model_positions("GR08MM1305", flip_x=True)
    np.testing.assert_allclose(flip["x_mm"], 32.0 - base["x_mm"])
    np.testing.assert_array_equal(flip["row"], base["row"])
    with pytest.raises(ParameterError, match="rotation"):
        hd.model_positions("GR08MM1305", rotation=90)


def test_unknown_model_lists_known_ones():
    with pytest.raises(ParameterError, match="GR08MM1305"):
        hd.grid_model("GR99MM0101")


def test_set_layout_by_model_fills_only_grid_channels():
    rec = grid_recording()
    t = rec.channels.set_index("name")
    assert set(GRID_COLUMNS) <= set(rec.channels.columns)
    assert t.loc["L_ES_01", "row"] == 1 and t.loc["L_ES_01", "col"] == 0 and t.loc["L_ES_01", "y_mm"] == 8.0
    assert t.loc["L_ES_64", "x_mm"] == 32.0 and t.loc["L_ES_64", "y_mm"] == 96.0
    assert t.loc["FORCE", "grid"] is None and pd.isna(t.loc["FORCE", "row"]) and np.isnan(t.loc["FORCE", "x_mm"])
    assert hd.grids(rec) == ["L_ES"] and hd.is_grid_recording(rec)
    geom = hd.geometry(rec)
    assert geom.shape == (13, 5) and geom.index[0, 0] == -1 and geom.valid.sum() == 64
    assert geom.names[12, 1] == "L_ES_13"


def test_grid_columns_survive_pick_crop_copy_and_preprocess():
    rec = grid_recording(n_samples=4096)
    for other in (rec.pick("emg"), rec.crop(0.5, 1.5), rec.copy(), ps.preprocess(rec, {"steps": [{"name": "bandpass"}]})):
        assert hd.grids(other) == ["L_ES"]
        np.testing.assert_array_equal(hd.geometry(other).names, hd.geometry(rec).names)


def test_recording_without_grid_is_unchanged_by_the_columns():
    rec = ps.Recording.from_array(np.zeros((2, 100)) + np.arange(100), 1000.0, ["L_MF", "R_MF"])
    assert not set(GRID_COLUMNS) & set(rec.channels.columns)
    assert hd.grids(rec) == [] and not hd.is_grid_recording(rec)
    with pytest.raises(ChannelError, match="no electrode grid"):
        hd.geometry(rec)


def test_partial_grid_columns_are_refused():
    rec = grid_recording()
    with pytest.raises(ParameterError, match="grid columns"):
        ps.Recording(rec.raw, rec.channels.drop(columns=["x_mm"]), rec.meta)


def test_set_layout_errors():
    rec = grid_recording()
    bad = hd.layout_of(rec).copy()
    bad.loc[0, "name"] = "nope"
    with pytest.raises(ChannelError, match="not in the recording"):
        hd.set_layout(rec, bad)
    force = hd.layout_of(rec).iloc[:1].assign(name="FORCE")
    with pytest.raises(ChannelError, match="misc"):
        hd.set_layout(rec, force)
    clash = hd.layout_of(rec).copy()
    clash.loc[1, ["row", "col"]] = clash.loc[0, ["row", "col"]].to_numpy()
    with pytest.raises(ChannelError, match="share a grid position"):
        hd.set_layout(rec, clash)
    with pytest.raises(ChannelError, match="63 channels"):
        hd.model_layout("GR08MM1305", [f"c{k}" for k in range(63)], grid="g")


def test_layout_from_electrode_positions_in_metres():
    """An electrodes.tsv-like table (two grids, positions in m, shuffled rows) gives the lattice back."""
    rng = np.random.default_rng(3)
    ref = pd.concat([hd.model_layout("GR10MM0808", [f"A{k}" for k in range(1, 65)], grid="L_ES"),
                     hd.model_layout("GR10MM0808", [f"B{k}" for k in range(1, 65)], grid="R_ES")], ignore_index=True)
    table = pd.DataFrame({"name": ref["name"], "x": (ref["x_mm"] + 120.0) / 1000, "y": (ref["y_mm"] + 35.0) / 1000,
                          "z": 0.0, "group": ref["grid"]}).iloc[rng.permutation(len(ref))]
    got = hd.layout_from_electrodes(table, unit="m").set_index("name").loc[ref["name"]]
    np.testing.assert_array_equal(got["row"], ref["row"])
    np.testing.assert_array_equal(got["col"], ref["col"])
    np.testing.assert_allclose(got["y_mm"], ref["y_mm"], atol=1e-9)
    assert list(got["grid"]) == list(ref["grid"])


def test_layout_from_irregular_positions_is_refused():
    table = pd.DataFrame({"name": ["a", "b", "c"], "x": [0.0, 10.0, 14.0], "y": [0.0, 0.0, 0.0]})
    with pytest.raises(ChannelError, match="regular lattice"):
        hd.layout_from_electrodes(table, grid="g")
    with pytest.raises(ParameterError, match="names no grid"):
        hd.layout_from_electrodes(table)
