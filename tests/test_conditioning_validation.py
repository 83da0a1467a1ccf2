"""The key checks of ``scripts/validate_conditioning.py`` on a few short recordings.

Recordings from the validation generator (``scripts/_independent_generator.py``, independent
of ``paraspinal.synth``), conditioned by the default pipeline with no frequency or ECG option,
features computed with the generator's phases. Oracle: the same statistic on the clean signal
(EMG + amplifier noise, band-passed only). Targets (issue 19): ERR and FRR (mean and max
statistic) within 15 % for QRS up to 60 uV and hum up to 5 uV, the FRP decision unchanged,
mains found where there is hum and nowhere else, the ECG found where there is one (QRS >= 20 uV
here) and nowhere else.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import validate_conditioning as vc  # noqa: E402

CASES = [  # seed, group, QRS uV, hum uV, mains Hz, sampling rate
    (101, "control", 60.0, 5.0, 50.0, 2048.0),
    (102, "control", 30.0, 0.5, 60.0, 2048.0),
    (103, "control", 0.0, 3.0, 60.0, 1000.0),
    (104, "control", 45.0, 0.0, 50.0, 2048.0),
    (105, "patient", 60.0, 5.0, 60.0, 2048.0),
    (106, "patient", 20.0, 2.0, 50.0, 1000.0),
    (107, "patient", 0.0, 0.0, 50.0, 2048.0),
]


@pytest.mark.parametrize("seed,group,qrs,hum,mains,fs", CASES)
def test_default_conditioning_meets_the_targets(seed, group, qrs, hum, mains, fs):
    res = vc.run_subject(seed, group, qrs, hum, fs, mains)
    for row in res["ratios"]:
        if row["feature"] in ("err", "frr"):
            assert abs(row["error"]) <= 0.15, row
        else:  # frp_present
            assert row["error"] == 0.0, row
    assert res["mains_found"] == (mains if hum > 0 else None)
    assert res["ecg_present"] == (qrs > 0), res["ecg_reason"]
    b = res["beats"]
    if qrs > 0:
        assert b["hit"] >= 0.9 * b["true"] and b["false_evidence"] <= 0.03 * b["found"], b
    else:
        assert b["found"] == 0
    assert not any(res["flags"].values()), res["artefact_to_emg"]
