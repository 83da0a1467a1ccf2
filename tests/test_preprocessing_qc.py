"""Quality flags fire on faulty synthetic channels and stay quiet on clean ones."""

from __future__ import annotations

import numpy as np
import pytest

from paraspinal import Recording
from paraspinal.preprocessing import QC_DEFAULTS, glance, qc
from test_preprocessing_ecg import FS, make_frp


@pytest.fixture(scope="module")
def faulty():
    clean, cont, _, _, _ = make_frp(5, n_channels=2)
    n = clean.shape[1]
    t = np.arange(n) / FS
    good = clean[0]
    clipped = np.clip(clean[1] * 3, -40, 40)
    flat = np.zeros(n)
    humming = clean[1] + 40 * np.sin(2 * np.pi * 60 * t)
    ecg_laden = cont[0]
    # an open input: large broadband noise plus drift, no EMG structure
    drift = 2000 * np.sin(2 * np.pi * 0.3 * t) + 150 * np.random.default_rng(9).standard_normal(n)
    data = np.vstack([good, clipped, flat, humming, ecg_laden, drift])
    names = ["L_ES_L3", "R_ES_L3", "L_MF_L5", "R_MF_L5", "L_LT_L1", "R_LT_L1"]
    return qc(Recording.from_array(data, FS, names)).set_index("channel")


def test_clean_channel_passes(faulty):
    assert faulty.loc["L_ES_L3", "qc"] == "pass", faulty.loc["L_ES_L3", "reason"]


def test_faults_are_flagged(faulty):
    assert faulty.loc["R_ES_L3", "qc"] == "fail" and "clipping" in faulty.loc["R_ES_L3", "reason"]
    assert faulty.loc["L_MF_L5", "qc"] == "fail" and "flat" in faulty.loc["L_MF_L5", "reason"]
    assert faulty.loc["R_MF_L5", "qc"] != "pass" and "mains 60" in faulty.loc["R_MF_L5", "reason"]
    assert faulty.loc["L_LT_L1", "qc"] == "warn" and "ECG" in faulty.loc["L_LT_L1", "reason"]
    assert faulty.loc["R_LT_L1", "qc"] == "fail" and "disconnected" in faulty.loc["R_LT_L1", "reason"]


def test_glance_keeps_its_columns_and_unknown_threshold_errors():
    clean, _, _, _, _ = make_frp(6, n_channels=1)
    rec = Recording.from_array(clean, FS, ["L_ES_L3"])
    g = glance(rec)
    for col in ["channel", "rms_uv", "ptp_uv", "clipped_fraction", "line50_share", "line60_share", "flag"]:
        assert col in g.columns
    assert g["flag"].iloc[0] == "ok"
    assert set(QC_DEFAULTS) >= {"flat_uv", "clip_warn", "ecg_db", "lf_share"}
    with pytest.raises(Exception, match="(?i)valid ones"):
        qc(rec, nonsense=1.0)
