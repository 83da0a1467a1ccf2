"""The ``quality`` column of the feature table (issue 19: values flagged, never dropped).

Oracles: recordings of the validation generator (``scripts/_independent_generator.py``,
independent of ``paraspinal.synth``) with known phases; a mains line of known amplitude
(2 uV over full flexion of 1-3 uV: artefact/EMG well above the 0.3 flag) left in on purpose;
the phase source forced to the EMG envelope; and hand-built summaries for the combination
rules.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.features.quality import ARTEFACT_FEATURES, quality_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import _independent_generator as gen  # noqa: E402

FR = ["frr", "err", "std_ff_ratio", "frp_present"]


@pytest.fixture(scope="module")
def subject():
    return gen.make_subject(31, "control", qrs_uv=0.0, hum_uv=0.0)


def _analyze(rec, phases, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)
        return ps.analyze(rec, pipeline=False, phases=phases, **kw)


def test_clean_recording_is_ok_and_other_features_have_no_check(subject):
    df = _analyze(subject.clean, subject.phases)
    assert "quality" in df.columns and tuple(df.columns) == ps.features.COLUMNS
    fr = df[df.feature.isin(FR)]
    assert len(fr) and (fr["quality"] == "ok").all()
    other = df[~df.feature.isin(ARTEFACT_FEATURES | {"fer"})]
    assert other["quality"].isna().all()


def test_mains_left_in_full_flexion_flags_the_ratios_and_keeps_their_values(subject):
    clean = subject.clean
    t = np.arange(clean.n_samples) / clean.sfreq
    hummed = ps.Recording.from_array(clean.emg() + 2.0 * np.sin(2 * np.pi * 50.0 * t), clean.sfreq,
                                     clean.ch_names, meta=dict(clean.meta))
    ok = _analyze(clean, subject.phases)
    bad = _analyze(hummed, subject.phases)
    key = ["channel", "phase", "cycle", "feature"]
    fr_ok = ok[ok.feature.isin(FR)].set_index(key)
    fr_bad = bad[bad.feature.isin(FR)].set_index(key)
    assert fr_bad.index.equals(fr_ok.index)  # every value still given
    assert (fr_bad["quality"] == "artefact").all()
    # the flag is deserved: the line inflates the full-flexion denominator, so FRR is lower
    frr = fr_bad.xs("frr", level="feature")["value"] / fr_ok.xs("frr", level="feature")["value"]
    assert (frr < 0.95).all(), frr.to_dict()
    # features without a check are not flagged
    assert bad[bad.feature == "rms"]["quality"].isna().all()


def test_phases_from_the_envelope_flag_the_flexion_relaxation_family(subject):
    df = _analyze(subject.clean, "envelope")
    assert df.attrs["phase_source"] == "envelope"
    fam = df[df.feature.isin(["frr", "err", "fer"])]
    assert len(fam) and (fam["quality"] == "phases_from_envelope").all()
    assert df[df.feature == "rms"]["quality"].isna().all()


def test_default_chain_removes_the_hum_and_then_the_ratios_are_ok():
    s = gen.make_subject(32, "control", qrs_uv=0.0, hum_uv=3.0, mains=60.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)
        df = ps.analyze(s.raw, phases=s.phases)
    fr = df[df.feature.isin(FR)]
    assert len(fr) and (fr["quality"] == "ok").all()


def test_combination_rules():
    feats = pd.Series(["frr", "frr", "err", "fer", "rms", "frr"])
    chans = pd.Series(["A", "B", "C", "A", "A", "L_MF|R_MF"])
    summary = pd.DataFrame({"channel": ["A", "B", "C"], "quality": ["artefact", "ok", "unknown"]})
    q = quality_column(feats, chans, summary, "annotations")
    assert q.tolist() == ["artefact", "ok", "artefact_unknown", None, None, "artefact_unknown"]
    q = quality_column(feats, chans, summary, ["angle", "envelope"])
    assert q.tolist() == ["artefact|phases_from_envelope", "phases_from_envelope",
                          "artefact_unknown|phases_from_envelope", "phases_from_envelope", None,
                          "artefact_unknown|phases_from_envelope"]
    assert quality_column(feats, chans, None, "annotations+cycles-inferred").tolist()[:2] == ["artefact_unknown"] * 2


def test_study_quality_agrees_with_qc(tmp_path, subject):
    """process_recording: the FRR/ERR rows' flag is the channel's ``artefact`` verdict in qc."""
    from paraspinal.study import process_recording

    clean = subject.clean
    t = np.arange(clean.n_samples) / clean.sfreq
    x = clean.emg().copy()
    x[:2] += 2.0 * np.sin(2 * np.pi * 50.0 * t)  # left in on two channels only (no conditioning)
    path = tmp_path / "sub-g31_task-frt_emg.edf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)  # the last phase is cut at the EDF record's end
        rec = ps.Recording.from_array(x, clean.sfreq, clean.ch_names, meta=dict(clean.meta))
        ps.write(rec.with_phases(subject.phases), path)
        res = process_recording(path, {"name": "none", "steps": []})
    verdict = res.qc.set_index("channel")["artefact"]
    assert verdict[list(clean.ch_names[:2])].eq("artefact").all()
    assert verdict[list(clean.ch_names[2:])].eq("ok").all()
    fr = res.features[res.features.feature.isin(FR)]
    assert len(fr) and (fr["quality"] == fr["channel"].map(verdict)).all()


def test_compute_measures_what_the_full_residual_artefact_summary_says(subject):
    """compute measures full flexion alone; its flags equal those of the whole summary."""
    from paraspinal.preprocessing import residual_artefact

    clean = subject.clean
    t = np.arange(clean.n_samples) / clean.sfreq
    x = clean.emg().copy()
    x[1] += 2.0 * np.sin(2 * np.pi * 60.0 * t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ps.ParaspinalWarning)  # the generator's last phase ends after the data
        rec = ps.Recording.from_array(x, clean.sfreq, clean.ch_names, meta=dict(clean.meta)).with_phases(subject.phases)
        own = ps.features.compute(rec, features=["frr", "err"])
        given = ps.features.compute(rec, features=["frr", "err"],
                                    artefact=residual_artefact(rec, rpeaks=np.empty(0, int))[1])
    assert own["quality"].tolist() == given["quality"].tolist()
    assert set(own.loc[own.channel == clean.ch_names[1], "quality"]) == {"artefact"}
    assert set(own.loc[own.channel != clean.ch_names[1], "quality"]) == {"ok"}
