"""A feature the recording should give is never silently absent: a warning and attrs["missing"] say why.

The recordings are made here, by a generator written for these tests alone (white noise
differenced once, under hand-set phase levels; hand-written BIDS-style phase tables with
``onset, duration, phase`` and no ``cycle`` column), not by ``paraspinal.synth``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.errors import ParaspinalWarning
from paraspinal.features.expectations import MISSING_COLUMNS

FS = 1000.0
LEVELS = {"standing": 5.0, "flexion": 20.0, "full_flexion": 2.0, "extension": 40.0}


def _events(n_cycles=3, order=("standing", "flexion", "full_flexion", "extension"), dur=3.0):
    rows, t = [], 0.0
    for _ in range(n_cycles):
        for p in order:
            rows.append(dict(onset=t, duration=dur, phase=p))
            t += dur
    rows.append(dict(onset=t, duration=dur, phase="standing"))
    return pd.DataFrame(rows)


def _recording(events, names=("L_LT", "R_LT", "L_RA"), flat=(), seed=1):
    rng = np.random.default_rng(seed)
    n = int(round((events["onset"].iloc[-1] + events["duration"].iloc[-1]) * FS))
    level = np.full(n, 5.0)
    for r in events.itertuples():
        a, b = int(round(r.onset * FS)), int(round((r.onset + r.duration) * FS))
        level[a:b] = LEVELS.get(str(r.phase).lower().replace(" ", "_"), 5.0)
    white = rng.normal(size=(len(names), n + 1))
    x = np.diff(white, axis=1) / np.sqrt(2) * level  # high-pass-ish noise, unit variance, uV
    for nm in flat:
        x[list(names).index(nm)] = 0.0
    rec = ps.Recording.from_array(x, FS, list(names), units="uV", meta={"source": "handmade.edf"})
    return rec.with_phases(events)


MISSING = re.compile(r"no (flexion-relaxation|static-dynamic|asymmetry|co-contraction) \(")


def _compute(rec, **kw):
    """The table, its missing features, and the missing-feature warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = ps.features.compute(rec, **kw)
    said = [str(w.message) for w in caught if issubclass(w.category, ParaspinalWarning)]
    return table, pd.DataFrame(table.attrs["missing"], columns=list(MISSING_COLUMNS)), \
        [m for m in said if MISSING.search(m)], said


def test_complete_cycles_without_cycle_column_miss_nothing():
    table, missing, said, _ = _compute(_recording(_events()))
    assert missing.empty and said == []
    pooled = table[table["feature"].isin(["frr", "err", "fer", "frp_present"]) & table["cycle"].isna()]
    assert set(pooled["channel"]) == {"L_LT", "R_LT"}
    err = pooled[pooled["feature"] == "err"].set_index("channel")["value"]
    assert (err > 4).all()  # a silent full flexion (2 uV under 40 uV extension)


def test_no_full_flexion_phase_is_named_for_every_extensor():
    events = _events(order=("standing", "flexion", "extension"))
    table, missing, said, _ = _compute(_recording(events))
    assert not table["feature"].isin(["frr", "err"]).any()
    frp = missing[missing["family"] == "flexion-relaxation"]
    assert list(frp["channel"]) == ["L_LT", "R_LT"]
    assert set(frp["reason"]) == {"no full_flexion phase"}
    assert set(frp["features"]) == {"frr, err, fer, frp_present"}
    assert len(said) == 1 and "handmade.edf" in said[0] and "no full_flexion phase" in said[0]
    assert "L_LT, R_LT" in said[0]


def test_a_lab_label_for_full_flexion_gives_the_ratios():
    events = _events()
    events["phase"] = events["phase"].replace({"full_flexion": "Full Flexion", "extension": "re-extension"})
    _, missing, said, _ = _compute(_recording(events))
    assert missing.empty and said == []


def test_only_an_incomplete_cycle_says_so():
    events = _events(n_cycles=1).iloc[:3]  # standing, flexion, full_flexion: the recording stops there
    _, missing, said, everything = _compute(_recording(events))
    assert any("trailing incomplete" in m for m in everything)  # the phases say it once
    frp = missing[missing["family"] == "flexion-relaxation"]
    assert len(frp) == 2 and all("extension" in r for r in frp["reason"])


def test_no_extensor_channel_is_one_recording_level_reason():
    rec = _recording(_events(), names=("L_RA", "R_RA"))
    _, missing, said, _ = _compute(rec)
    frp = missing[missing["family"] == "flexion-relaxation"]
    assert list(frp["channel"]) == [""] and frp["reason"].iat[0].startswith("no extensor channel")
    assert len(said) == 1


def test_unrecognised_channels_are_named_in_the_reason():
    with pytest.warns(ParaspinalWarning, match="without a recognised muscle"):
        rec = _recording(_events(), names=("EMG1", "EMG2"))
    _, missing, _, _ = _compute(rec)
    assert "EMG1" in missing["reason"].iat[0] and "channel_map" in missing["reason"].iat[0]


def test_a_flat_extensor_loses_its_ratios_with_the_reason():
    # a flat (dead) channel gives no row at all (issue 20): not its ratios, and no asymmetry index of
    # -1 against its live partner; the missing table and one warning say why
    rec = _recording(_events(), flat=("R_LT",))
    table, missing, _, said = _compute(rec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ps.features.compute(rec)
    flat = missing[missing["channel"] == "R_LT"]
    assert list(flat["family"]) == ["all"] and "flat channel" in flat["reason"].iat[0]
    assert not table["channel"].str.contains("R_LT").any()
    assert sum("flat channel" in m and "R_LT" in m for m in said) == 1
    assert not any(issubclass(w.category, RuntimeWarning) for w in caught)  # no numpy 'invalid value' leaks


def test_families_not_asked_for_are_not_expected():
    events = _events(order=("standing", "flexion", "extension"))
    _, missing, said, _ = _compute(_recording(events), features=["amplitude"])
    assert missing.empty and said == []


def test_static_task_expects_no_ratio():
    events = pd.DataFrame({"onset": [0.0, 6.0, 12.0], "duration": [6.0] * 3, "phase": ["standing", "sitting", "prone"]})
    _, missing, said, _ = _compute(_recording(events))
    assert missing.empty and said == []
