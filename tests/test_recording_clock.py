"""Phases stay where they are through every copy of a Recording whose first sample is not 0.

MNE keeps annotations without a measurement date on the raw's clock (``first_time`` added) and
adds ``first_time`` again when they are set on a new raw; a cropped recording without a
measurement date used to lose its phases by the crop's start at each conditioning step. Oracle:
the phases of the cropped recording are the original ones minus the crop's start (analytic).
"""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pandas as pd
import pytest

import paraspinal as ps

PHASES = pd.DataFrame({"onset": [12.0, 20.0, 26.0], "duration": [3.0, 4.0, 2.5],
                       "phase": ["standing", "full_flexion", "extension"], "cycle": [1, 1, 1]})


@pytest.fixture(scope="module")
def cropped():
    rng = np.random.default_rng(0)
    rec = ps.Recording.from_array(rng.standard_normal((2, 60_000)) * 20.0, 1000.0, ["L_MF", "R_MF"], phases=PHASES)
    out = rec.crop(10.0, 40.0)
    assert out.raw.first_samp == 10_000 and out.raw.info["meas_date"] is None  # the case of the bug
    return out


def _expected(shift=10.0):
    exp = PHASES.copy()
    exp["onset"] = exp["onset"] - shift
    return exp


@pytest.mark.parametrize("step", ["crop", "preprocess", "bandpass", "twice", "with_meta", "with_phases"])
def test_phases_survive_each_copy(cropped, step):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)
        rec = {
            "crop": lambda r: r,
            "preprocess": lambda r: ps.preprocess(r),
            "bandpass": lambda r: ps.preprocessing.bandpass(r),
            "twice": lambda r: ps.preprocessing.bandpass(ps.preprocessing.bandpass(r, 20, 400), 25, 450),
            "with_meta": lambda r: ps.preprocessing.bandpass(r.with_meta(subject="x")),
            "with_phases": lambda r: ps.preprocessing.bandpass(r.with_phases(r.phases)),
        }[step](cropped)
    got = rec.phases
    np.testing.assert_allclose(got["onset"], _expected()["onset"], atol=1e-9)
    np.testing.assert_allclose(got["duration"], PHASES["duration"], atol=1e-9)
    assert got["phase"].tolist() == PHASES["phase"].tolist()
    assert got["cycle"].tolist() == [1, 1, 1]


def test_grid_montage_keeps_the_phases():
    sim = ps.hdsemg.simulate_grid(12.0, 2048.0, grids=("L_ES",), seed=1)
    ph = pd.DataFrame({"onset": [3.0, 7.0], "duration": [2.0, 2.0], "phase": ["standing", "sorensen_hold"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)
        rec = sim.recording.with_phases(ph).crop(2.0, 11.0)
        sd = ps.hdsemg.single_differential(rec)
    np.testing.assert_allclose(sd.phases["onset"], [1.0, 5.0], atol=1e-9)


def test_fif_with_a_first_sample_and_cycle_labels_reads_on_its_clock(tmp_path):
    """A FIF file cropped by MNE (first_samp > 0, no measurement date) with paraspinal's cycle labels."""
    rng = np.random.default_rng(2)
    info = mne.create_info(["L_MF", "R_MF"], 1000.0, "emg")
    raw = mne.io.RawArray(rng.standard_normal((2, 30_000)) * 2e-5, info, first_samp=0, verbose=False)
    raw.set_annotations(mne.Annotations([12.0, 20.0], [3.0, 4.0], ["standing [cycle 1]", "full_flexion [cycle 1]"]))
    raw.crop(10.0, 29.0)
    assert raw.first_samp == 10_000
    path = tmp_path / "cropped_raw.fif"
    raw.save(path, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)
        rec = ps.read(path)
    np.testing.assert_allclose(rec.phases["onset"], [2.0, 10.0], atol=1e-9)
    assert rec.phases["phase"].tolist() == ["standing", "full_flexion"]
    assert rec.phases["cycle"].tolist() == [1, 1]
