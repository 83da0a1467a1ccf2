"""ps.analyze: read -> preprocess -> phases -> features in one call."""

import warnings
from pathlib import Path

from paraspinal.features import analyze
from paraspinal.features.table import COLUMNS

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_analyze_sample_file():
    path = SAMPLE / "sub-07" / "emg" / "sub-07_task-frt_emg.edf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df, rec = analyze(path, return_recording=True)
    assert tuple(df.columns) == COLUMNS
    assert (df["subject"] == "07").all() and (df["group"] == "patient").all()
    assert {"err", "frr", "sdr", "mdf"} <= set(df["feature"])
    assert rec.meta["phase_source"] == "annotations"
    assert "pipeline" in rec.meta
