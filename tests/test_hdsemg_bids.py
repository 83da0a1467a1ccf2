"""Electrode grids in BIDS-EMG: electrodes.tsv + coordsystem.json written by write_bids, and read from
the conventions of the BIDS specification (electrode names, groups, units in metres, inheritance)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.errors import ParaspinalWarning, WriteError
from paraspinal.io.bids import write_bids


def _quiet_read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ps.read(path)


def test_write_and_read_back_the_grids(tmp_path):
    sim = hd.simulate_grid(4.0, 1024.0, grids=("L_ES", "R_ES"), seed=1, bad={"dead": [7]},
                           meta={"subject": "01", "group": "patient", "task": "sorensen"})
    path = write_bids(sim.recording, tmp_path)
    folder = path.parent
    el = pd.read_csv(folder / "sub-01_electrodes.tsv", sep="\t")
    assert list(el.columns) == ["name", "x", "y", "coordinate_system", "group"] and len(el) == 128
    cs = json.loads((folder / "sub-01_coordsystem.json").read_text())
    assert cs["L_ES"]["EMGCoordinateUnits"] == "mm" and cs["R_ES"]["GridModel"] == "GR08MM1305"
    ch = pd.read_csv(str(path).replace("_emg.edf", "_channels.tsv"), sep="\t")
    assert (ch["signal_electrode"] == ch["name"]).all() and set(ch["group"]) == {"L_ES", "R_ES"}
    rec = _quiet_read(path)
    cols = ["name", "grid", "row", "col", "x_mm", "y_mm"]
    assert hd.layout_of(rec)[cols].equals(hd.layout_of(sim.recording)[cols])
    g = rec.meta["grids"]["L_ES"]
    assert g["model"] == "GR08MM1305" and g["ied_mm"] == 8.0 and (g["n_rows"], g["n_cols"]) == (13, 5)
    assert g["montage"] == "monopolar"
    # the bad electrode was judged on the signals as read
    assert hd.recorded_bad(rec) == {"L_ES_07": "dead", "R_ES_07": "dead"}
    assert hd.bad_check(rec, "R_ES")["on"] == "signals as read"


def test_a_second_task_shares_the_layout_and_a_different_one_is_refused(tmp_path):
    sim = hd.simulate_grid(2.0, 1024.0, seed=2, meta={"subject": "02", "task": "sorensen"})
    write_bids(sim.recording, tmp_path)
    write_bids(sim.recording.with_meta(task="lifting"), tmp_path)  # same grid: the same files
    assert hd.is_grid_recording(_quiet_read(tmp_path / "sub-02/emg/sub-02_task-lifting_emg.edf"))
    flipped = hd.set_layout(sim.recording, "GR08MM1305", channels=sim.recording.emg_names, grid="L_ES", rotation=180)
    with pytest.raises(WriteError, match="different electrode layout"):
        write_bids(flipped.with_meta(task="other"), tmp_path)


def _plain_bids(tmp_path, names, data, subject="03", task="hold"):
    rec = ps.Recording.from_array(data, 1000.0, names, units="uV", ch_types=["emg"] * len(names), rename=False,
                                  meta={"subject": subject, "task": task})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_bids(rec, tmp_path)


def test_a_lab_dataset_in_the_specification_conventions(tmp_path):
    """8 x 8 grid at 10 mm: electrodes E1..E64 in metres (the 'EMGCoordinateSystemUnits' spelling),
    channels linked by signal_electrode, one electrodes.tsv for the subject, a bipolar pair beside it."""
    rng = np.random.default_rng(0)
    names = [f"ch{k}" for k in range(1, 67)]
    path = _plain_bids(tmp_path, names, rng.standard_normal((66, 3000)) * 20)
    folder = path.parent
    rows, cols = np.divmod(np.arange(64), 8)
    el = pd.DataFrame({"name": [f"E{k}" for k in range(1, 65)] + ["B1", "B2", "REF"],
                       "x": list(0.031 + cols * 0.010) + [0.2, 0.2, 0.3], "y": list(0.100 + rows * 0.010) + [0.0, 0.02, 0.0],
                       "z": "n/a", "coordinate_system": ["BackGrid"] * 64 + ["Body"] * 3,
                       "group": ["grid1"] * 64 + ["bipolar", "bipolar", "n/a"]})
    el.to_csv(folder / "sub-03_electrodes.tsv", sep="\t", index=False)
    (folder / "sub-03_coordsystem.json").write_text(json.dumps({
        "BackGrid": {"EMGCoordinateSystem": "Other", "EMGCoordinateSystemUnits": "m",
                     "EMGCoordinateSystemDescription": "x medio-lateral, y cranial"},
        "Body": {"EMGCoordinateSystem": "Other", "EMGCoordinateUnits": "m"}}))
    ch_file = folder / "sub-03_task-hold_channels.tsv"
    ch = pd.read_csv(ch_file, sep="\t", dtype=str, keep_default_na=False)
    order = rng.permutation(64)  # the file's channel order is not the electrode order
    ch["signal_electrode"] = [f"E{k + 1}" for k in order] + ["B1", "B2"]
    ch["reference_electrode"] = ["REF"] * 64 + ["B2", "n/a"]
    ch["group"] = ["grid1"] * 64 + ["bipolar", "bipolar"]
    ch.to_csv(ch_file, sep="\t", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = ps.read(path)
    assert not [w for w in caught if "electrode groups" in str(w.message)]  # the pair is simply not a grid
    assert hd.grids(rec) == ["grid1"]
    lay = hd.layout_of(rec).set_index("name")
    for i, k in enumerate(order[:5]):  # channel ch{i+1} is electrode E{k+1}
        assert lay.at[f"ch{i + 1}", "row"] == rows[k] and lay.at[f"ch{i + 1}", "col"] == cols[k]
        assert lay.at[f"ch{i + 1}", "x_mm"] == pytest.approx(10.0 * cols[k])
    assert rec.meta["grids"]["grid1"]["ied_mm"] == pytest.approx(10.0)
    assert rec.meta["grids"]["grid1"]["model"] is None
    assert "ch65" not in lay.index


def test_differential_channels_sit_between_their_electrodes(tmp_path):
    rng = np.random.default_rng(1)
    names = [f"sd{k}" for k in range(1, 21)]
    path = _plain_bids(tmp_path, names, rng.standard_normal((20, 2000)) * 20, subject="04")
    folder = path.parent
    rows, cols = np.divmod(np.arange(25), 5)  # a 5 x 5 grid at 8 mm; 4 pairs along each of its 5 columns
    pd.DataFrame({"name": [f"e{k}" for k in range(25)], "x": cols * 8.0, "y": rows * 8.0,
                  "coordinate_system": "G", "group": "G"}).to_csv(folder / "sub-04_electrodes.tsv", sep="\t",
                                                                  index=False)
    (folder / "sub-04_coordsystem.json").write_text(json.dumps({"EMGCoordinateSystem": "Other",
                                                                "EMGCoordinateUnits": "mm"}))
    ch_file = folder / "sub-04_task-hold_channels.tsv"
    ch = pd.read_csv(ch_file, sep="\t", dtype=str, keep_default_na=False)
    pairs = [(r * 5 + c, (r + 1) * 5 + c) for c in range(5) for r in range(4)]
    ch["signal_electrode"] = [f"e{a}" for a, _ in pairs]
    ch["reference_electrode"] = [f"e{b}" for _, b in pairs]
    ch.to_csv(ch_file, sep="\t", index=False)
    rec = _quiet_read(path)
    lay = hd.layout_of(rec).set_index("name")
    assert lay.at["sd1", "y_mm"] == pytest.approx(4.0) and lay.at["sd2", "y_mm"] == pytest.approx(12.0)
    assert lay.at["sd5", "x_mm"] == pytest.approx(8.0)
    assert hd.geometry(rec).shape == (4, 5)


@pytest.mark.filterwarnings("ignore:.*without a recognised muscle")
def test_groups_that_cannot_be_grids_warn(tmp_path):
    rng = np.random.default_rng(2)
    names = [f"c{k}" for k in range(1, 7)]
    path = _plain_bids(tmp_path, names, rng.standard_normal((6, 2000)) * 20, subject="05")
    folder = path.parent
    pd.DataFrame({"name": names, "x": [0.0, 8.0, 16.0, 3.0, 0.0, 8.0], "y": [0.0, 0.0, 0.0, 5.0, 8.0, 8.0],
                  "coordinate_system": "G", "group": "G"}).to_csv(folder / "sub-05_electrodes.tsv", sep="\t",
                                                                  index=False)
    with pytest.warns(ParaspinalWarning, match="no \\*_coordsystem.json"):
        rec = ps.read(path)
    assert not hd.is_grid_recording(rec)
    (folder / "sub-05_coordsystem.json").write_text(json.dumps({"EMGCoordinateSystem": "Other",
                                                                "EMGCoordinateUnits": "mm"}))
    with pytest.warns(ParaspinalWarning, match="regular lattice"):
        rec = ps.read(path)
    assert not hd.is_grid_recording(rec)
