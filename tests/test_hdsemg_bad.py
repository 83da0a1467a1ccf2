"""Bad electrodes (paraspinal.hdsemg.bad): detection against known faults, interpolation weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import hdsemg as hd
from paraspinal.hdsemg.synth import simulate_grid

FAULTS = {"dead": [7], "saturated": [30], "noisy": [45], "line": [12]}
REASON = {"dead": "dead", "saturated": "saturated", "noisy": "noisy", "line": "line noise"}


@pytest.mark.parametrize("seed", [0, 1])
def test_simulated_faults_are_found_and_nothing_else(seed):
    sim = simulate_grid(20.0, seed=seed, bad=FAULTS)
    table = hd.detect_bad(sim.recording)
    assert list(table.columns) == list(hd.BAD_COLUMNS)
    found = table[table["bad"]].set_index("channel")["reason"].to_dict()
    expected = {f"L_ES_{e[0]:02d}": REASON[k] for k, e in FAULTS.items()}
    assert found == expected
    assert table.attrs["line_freq"] == 50.0
    assert table.attrs["summary"]["L_ES"] == "4 of 64 electrodes flagged"


def test_clean_grids_flag_nothing():
    """Uniform maps and blobs down to a Gaussian SD of one inter-electrode distance (8 mm)."""
    for kwargs in ({"seed": 3}, {"spread": None, "seed": 4}, {"spread": (8.0, 8.0), "seed": 5}):
        table = hd.detect_bad(simulate_grid(10.0, **kwargs).recording)
        assert not table["bad"].any(), table[table["bad"]]


def test_independent_generator_other_spectrum_and_60_hz():
    """A generator written for this check: flat 20-300 Hz noise, an 8 x 8 grid, a 60 Hz fault, a flat lead."""
    rng = np.random.default_rng(11)
    n, fs = 20000, 2000.0
    spec = np.fft.rfft(rng.standard_normal((64, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / fs)
    spec[:, (f < 20) | (f > 300)] = 0
    x = np.fft.irfft(spec, n=n, axis=1)
    x *= 30.0 / x.std(axis=1, keepdims=True)  # 30 uV everywhere
    t = np.arange(n) / fs
    x[20] += 60.0 * np.sin(2 * np.pi * 60 * t)
    x[41] = 3.0  # a flat, offset lead
    x += 0.2 * np.sin(2 * np.pi * 60 * t)  # mild common hum on all
    names = [f"e{k}" for k in range(1, 65)]
    rec = ps.Recording.from_array(x, fs, names, units="uV", ch_types=["emg"] * 64, rename=False)
    rec = hd.set_layout(rec, "HD10MM0808", channels=names, grid="R_ES")
    table = hd.detect_bad(rec)
    assert table.attrs["line_freq"] == 60.0
    assert table[table["bad"]].set_index("channel")["reason"].to_dict() == {"e21": "line noise", "e42": "dead"}


@pytest.mark.realdata
def test_real_recording_has_no_bad_electrode(data_dir):
    with pytest.warns(ps.ParaspinalWarning):
        rec = ps.read(data_dir / "openhdemg_otb" / "otb_testfile.mat")
    table = hd.detect_bad(rec)
    assert len(table) == 64 and not table["bad"].any()
    assert table["neighbour_ratio"].max() < 1.3  # a smooth map: no electrode far above its neighbours


def test_robust_z():
    z = hd.robust_z(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    # median 3, MAD 1: z = 0.6745 (v - 3)
    np.testing.assert_allclose(z, 0.6745 * np.array([-2, -1, 0, 1, 97]))
    np.testing.assert_array_equal(hd.robust_z(np.ones(4)), 0.0)


def test_interpolation_weights():
    names = [f"e{k}" for k in range(1, 65)]
    rec = hd.set_layout(ps.Recording.from_array(np.ones((64, 10)), 1000.0, names, ch_types=["emg"] * 64,
                                                rename=False), "GR10MM0808", channels=names, grid="g")
    geom = hd.geometry(rec)
    bad = np.zeros(geom.shape, bool)
    bad[3, 3] = bad[0, 0] = True
    w, rows = hd.interpolation_weights(geom, bad)
    assert list(rows) == [0, 3 * 8 + 3]
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    # interior cell: 4 edge neighbours weigh 1/100 and 4 diagonal ones 1/200 (inverse squared distance, mm)
    interior = w[1].reshape(8, 8)
    np.testing.assert_allclose(interior[2, 3] / interior[2, 2], 2.0)
    assert interior[bad].sum() == 0 and (interior > 0).sum() == 8
    # corner cell: 3 neighbours
    assert (w[0] > 0).sum() == 3
    # a linear map is restored exactly at a cell whose 8 neighbours are all valid
    plane = 2.0 * geom.x_mm + 0.5 * geom.y_mm
    np.testing.assert_allclose(w[1] @ plane.ravel(), plane[3, 3])


def test_bad_names_and_propagation_to_a_montage():
    sim = simulate_grid(4.0, bad={"dead": [30]})
    table = hd.detect_bad(sim.recording)
    assert hd.bad_names(table) == {"L_ES_30"}
    sd = hd.single_differential(sim.recording)
    derived = hd.propagate_bad(sd, {"L_ES_30"}, "L_ES")
    # electrode 30 (row 4, col 2) enters the pairs (3,4) and (4,5) of column 2
    geom = hd.geometry(sd)
    assert derived == {geom.names[3, 2], geom.names[4, 2]}
    assert hd.bad_names(pd.DataFrame({"channel": ["a", "b"], "bad": [True, False]})) == {"a"}
