"""Residual artefact per channel and static phase (``residual_artefact``).

Oracles: artefacts of known size added to clean EMG (a sinusoid of known amplitude; a QRS
train of known waveform, whose RMS over full flexion is computed directly), the clean
signal itself (no artefact), and the default chain on contaminated recordings of the
validation generator (``scripts/_independent_generator.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal.preprocessing import ARTEFACT_COLUMNS, ARTEFACT_SUMMARY_COLUMNS, bandpass, residual_artefact

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import _independent_generator as gen  # noqa: E402


def _ff_mask(s, trim=0.5):
    t = np.arange(s.raw.n_samples) / s.raw.sfreq
    m = np.zeros(len(t), bool)
    for _, r in s.phases[s.phases.phase == "full_flexion"].iterrows():
        m |= (t >= r.onset + trim) & (t < r.onset + r.duration - trim)
    return m


def _pooled(table, metric, phase="full_flexion"):
    t = table[(table.metric == metric) & (table.phase == phase) & table.cycle.isna()]
    return t.set_index("channel")["value"]


@pytest.fixture(scope="module")
def subject():
    return gen.make_subject(21, "control", qrs_uv=0.0, hum_uv=0.0)


def test_known_mains_line_is_measured(subject):
    clean = bandpass(subject.clean)
    fs = clean.sfreq
    t = np.arange(clean.n_samples) / fs
    hum = 2.0 * np.sin(2 * np.pi * 50.0 * t + 0.3)  # 2 uV amplitude = 1.414 uV RMS
    rec = ps.Recording.from_array(clean.emg() + hum, fs, clean.ch_names)
    table, summary = residual_artefact(rec, subject.phases, line_freq=50.0, rpeaks=np.empty(0, int))
    line = _pooled(table, "line_rms_uv")
    assert np.allclose(line, 2.0 / np.sqrt(2), rtol=0.12), line.to_dict()
    emg = _pooled(table, "emg_rms_uv")
    true_emg = np.sqrt(np.mean(clean.emg()[:, _ff_mask(subject)] ** 2, axis=1))
    assert np.allclose(emg, true_emg, rtol=0.1)
    # a 1.4 uV line over 1-3 uV of silent full flexion is flagged
    assert summary["flag"].all() and (summary["quality"] == "artefact").all()
    assert summary["reference_phase"].eq("full_flexion").all()
    _, s0 = residual_artefact(clean, subject.phases, line_freq=50.0, rpeaks=np.empty(0, int))
    assert not s0["flag"].any() and (s0["line_rms_uv"] < 0.5).all()


def test_known_ecg_is_measured(subject):
    clean = bandpass(subject.clean)
    fs = clean.sfreq
    n = clean.n_samples
    r = np.arange(int(0.7 * fs), n - int(0.7 * fs), int(0.9 * fs))
    k = np.arange(-int(0.05 * fs), int(0.05 * fs) + 1) / fs
    qrs = 20.0 * (np.exp(-0.5 * (k / 0.008) ** 2) - 0.4 * np.exp(-0.5 * ((k - 0.02) / 0.006) ** 2))
    ecg = np.zeros(n)
    for rk in r:
        ecg[rk - len(k) // 2:rk + len(k) // 2 + 1] += qrs
    rec = ps.Recording.from_array(clean.emg() + ecg, fs, clean.ch_names)
    table, summary = residual_artefact(rec, subject.phases, line_freq=None, rpeaks=r)
    ff = _ff_mask(subject)
    true_ecg = np.sqrt(np.mean(ecg[ff] ** 2))  # the ECG's RMS over full flexion
    got = _pooled(table, "ecg_rms_uv")
    assert np.allclose(got, true_ecg, rtol=0.15), (got.to_dict(), true_ecg)
    assert (_pooled(table, "ecg_index_db") > 0).all()
    assert summary["flag"].all()
    # without the ECG the index sits near its floor and nothing is flagged
    t0, s0 = residual_artefact(clean, subject.phases, line_freq=None, rpeaks=r)
    assert (_pooled(t0, "ecg_rms_uv") < 0.3 * true_ecg).all() and not s0["flag"].any()


def test_table_shape_units_cycles_and_summary(subject):
    table, summary = residual_artefact(bandpass(subject.clean), subject.phases)
    assert list(table.columns) == ARTEFACT_COLUMNS and list(summary.columns) == ARTEFACT_SUMMARY_COLUMNS
    units = table.drop_duplicates("metric").set_index("metric")["unit"].to_dict()
    assert units["line_rms_uv"] == "uV" and units["artefact_to_emg"] == "1" and units["ecg_index_db"] == "dB"
    ff = table[(table.phase == "full_flexion") & (table.metric == "rms_uv")]
    assert sorted(ff.cycle.dropna().unique()) == [1, 2, 3] and ff.cycle.isna().sum() == len(subject.raw.ch_names)
    assert set(table.phase) == {"standing", "full_flexion"}  # static phases only
    assert summary.attrs["line_freq"] == [50.0, 60.0]  # not conditioned: both candidates measured
    no_static = pd.DataFrame({"onset": [0.0], "duration": [5.0], "phase": ["flexion"]})
    _, s2 = residual_artefact(bandpass(subject.clean), no_static)
    assert (s2["quality"] == "unknown").all() and not s2["flag"].any()
    with pytest.raises(ps.errors.ParameterError, match="(?i)valid ones"):
        residual_artefact(subject.clean, subject.phases, flag_ratio=0.2)


def test_after_the_default_chain_reuses_its_provenance():
    s = gen.make_subject(22, "control", qrs_uv=60.0, hum_uv=3.0, mains=60.0)
    proc = ps.preprocess(s.raw)
    table, summary = residual_artefact(proc, s.phases)
    assert summary.attrs["line_freq"] == [60.0]
    assert summary.attrs["n_rpeaks"] == len(proc.meta["processing"][-1]["result"]["rpeaks"]) > 0
    assert not summary["flag"].any(), summary[["channel", "artefact_to_emg"]]
    # the same recording band-passed only carries hum and ECG in full flexion: flagged
    _, raw = residual_artefact(bandpass(s.raw), s.phases, line_freq=60.0, rpeaks=s.rpeaks)
    assert raw["flag"].any() and (raw["artefact_to_emg"] > summary["artefact_to_emg"]).all()
