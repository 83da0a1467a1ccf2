"""One pass per need: the shared intermediates of a feature table are computed once per recording,
and Recording copies do not deep-copy MNE metadata that did not change (issue 18).

Counts of calls, never times: the speed itself is measured by ``scripts/bench_features.py``.
"""

from __future__ import annotations

import importlib
import warnings

import mne
import numpy as np
import pandas as pd
import pytest

import paraspinal as ps
from paraspinal import features, synth
from paraspinal.errors import ParameterError

context = importlib.import_module("paraspinal.features.context")
spectral = importlib.import_module("paraspinal.features.spectral")
base = importlib.import_module("paraspinal.features.base")
filters = importlib.import_module("paraspinal.preprocessing.filters")

CHANNELS = ("L_LT", "R_LT", "L_MF", "R_MF", "L_RA", "R_RA")


@pytest.fixture(scope="module")
def rec():
    """Two minutes at 2 kHz (240 000 samples: long enough for the block threads), six channels."""
    sim = synth.simulate("frt", "patient", sfreq=2000, seed=3, ecg=False, powerline=None, channels=CHANNELS,
                         protocol_options={"n_cycles": 8})
    return sim.recording


def _compute(rec, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return features.compute(rec, **kw)


def _counting(monkeypatch, module, name, calls):
    orig = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return orig(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)


def test_envelope_and_spectra_once_per_channel_block(rec, monkeypatch):
    """Every family reads the same envelope and Welch spectra: one computation per channel block,
    whatever the number of families (all of them here)."""
    env_calls, psd_calls = [], []
    _counting(monkeypatch, context, "rms_at", env_calls)
    _counting(monkeypatch, spectral, "segment_psd", psd_calls)
    df = _compute(rec, block_channels=2)
    assert {"rms", "mdf", "cci_falconer_winter", "lr_xcorr", "frr"} <= set(df["feature"])
    n_blocks = len(CHANNELS) // 2
    assert len(env_calls) == n_blocks and len(psd_calls) == n_blocks
    # each block sees its own channels once: every channel's envelope and spectra are made once
    assert sorted(a[0].shape[0] for a in env_calls) == [2] * n_blocks


def test_each_channel_read_once_for_the_context(rec, monkeypatch):
    """The context reads every EMG channel once (into one reused buffer per thread)."""
    picks: list = []
    orig = ps.Recording.get_data

    def get_data(self, picks_=None, *args, **kwargs):
        picks.append(list(picks_) if picks_ is not None else None)
        return orig(self, picks_, *args, **kwargs)

    monkeypatch.setattr(ps.Recording, "get_data", get_data)
    ctx_reads: list = []
    orig_block = context._block

    def block(ctx, x, c0, *args, **kwargs):
        ctx_reads.append((c0, x.shape[0]))
        return orig_block(ctx, x, c0, *args, **kwargs)

    monkeypatch.setattr(context, "_block", block)
    # the quality column's residual-artefact summary given, as a study passes it (measured below)
    summary = pd.DataFrame({"channel": list(CHANNELS), "quality": ["ok"] * len(CHANNELS)})
    _compute(rec, block_channels=4, artefact=summary)
    # rows covered by the blocks: each channel exactly once
    covered = sorted(r for c0, k in ctx_reads for r in range(c0, c0 + k))
    assert covered == list(range(len(CHANNELS)))
    # channel copies made by the feature table: the context's, each channel once (the flat check reads
    # the stored rows without a copy)
    emg_reads = [p for p in picks if p and set(p) <= set(CHANNELS)]
    counts = {nm: sum(nm in p for p in emg_reads) for nm in CHANNELS}
    assert set(counts.values()) == {1}


def test_quality_check_reads_only_the_full_flexion_segments(rec, monkeypatch):
    """Without a given summary, compute measures the residual artefact on full flexion alone."""
    spans: list = []
    orig = ps.Recording.get_data

    def get_data(self, picks_=None, *args, **kwargs):
        spans.append((kwargs.get("start", 0), kwargs.get("stop")))
        return orig(self, picks_, *args, **kwargs)

    prov = ps.preprocess(rec)  # conditioning provenance: R-peaks are not looked for again
    ph = prov.phases
    monkeypatch.setattr(ps.Recording, "get_data", get_data)
    df = _compute(prov, features=["frr", "err"])
    assert df["quality"].notna().all()
    segment_reads = [(a, b) for a, b in spans if b is not None]
    n_ff = int((ph["phase"] == "full_flexion").sum())
    assert len(segment_reads) == n_ff
    total = sum(b - a for a, b in segment_reads)
    ff_samples = float(ph.loc[ph["phase"] == "full_flexion", "duration"].sum()) * prov.sfreq
    assert total < ff_samples  # trimmed full-flexion segments only, never the whole recording


def test_envelope_indices_made_once_per_phase_group(rec, monkeypatch):
    """Phase indices are computed once per (segments, trim) and shared by every family."""
    keys: list = []
    orig = base.Context._env_idx

    def env_idx(self, ii, tr):
        keys.append((tuple(ii), tr))
        return orig(self, ii, tr)

    monkeypatch.setattr(base.Context, "_env_idx", env_idx)
    _compute(rec)
    assert keys and len(keys) == len(set(keys))


def test_results_do_not_depend_on_the_threads(rec, monkeypatch):
    """The channel blocks run on threads; one thread and two give the same table, bit for bit
    (the same machine, the same operations on the same rows)."""
    monkeypatch.setenv("PARASPINAL_NUM_THREADS", "1")
    one = _compute(rec, block_channels=2)
    monkeypatch.setenv("PARASPINAL_NUM_THREADS", "2")
    two = _compute(rec, block_channels=2)
    assert one.equals(two)


def test_block_size_does_not_change_the_values(rec):
    """Blocks of 1 and of 6 channels give the same values (each channel is reduced on its own)."""
    a = _compute(rec, block_channels=1)
    b = _compute(rec, block_channels=6)
    assert a.equals(b)


def test_get_data_into_a_buffer(rec):
    """``get_data(out=)`` fills the given array with the signals in the unit asked for."""
    volts = rec.raw.get_data(picks=[0, 2])  # MNE's own copy, in volts
    buf = np.full((2, rec.n_samples), np.nan)
    got = rec.get_data(["L_LT", "L_MF"], unit="uV", out=buf)
    assert got is buf
    np.testing.assert_allclose(buf, volts * 1e6, rtol=1e-13, atol=0)
    with pytest.raises(ParameterError, match="shape"):
        rec.get_data(["L_LT"], unit="uV", out=np.empty((2, rec.n_samples)))
    with pytest.raises(ParameterError, match="dtype"):
        rec.get_data(["L_LT"], unit="uV", out=np.empty((1, rec.n_samples), np.float32))


@pytest.fixture
def info_copies(monkeypatch):
    """Count deep copies of MNE Info objects."""
    calls: list = []
    orig = mne.Info.__deepcopy__

    def deepcopy(self, memodict):
        calls.append(1)
        return orig(self, memodict)

    monkeypatch.setattr(mne.Info, "__deepcopy__", deepcopy)
    return calls


def test_with_phases_does_not_deep_copy_info(rec, info_copies):
    phases = rec.phases.iloc[:5]
    before = list(rec.raw.annotations.description)
    new = rec.with_phases(phases)
    assert info_copies == []
    assert new.raw.info is rec.raw.info                       # shared, unchanged
    assert list(new.phases["phase"]) == list(phases["phase"])
    assert list(rec.raw.annotations.description) == before    # the input keeps its phases
    assert np.shares_memory(new.raw._data, rec.raw._data)


def test_conditioning_step_does_not_deep_copy_info(rec, info_copies):
    out = ps.preprocessing.bandpass(rec)
    assert info_copies == []
    assert out.raw.info is rec.raw.info
    assert not np.shares_memory(out.raw._data, rec.raw._data)  # new signals
    assert list(out.phases["phase"]) == list(rec.phases["phase"])


def test_copy_still_deep_copies(rec, info_copies):
    """An explicit copy is a copy: the user can change its Info."""
    c = rec.copy()
    assert info_copies and c.raw.info is not rec.raw.info


def test_with_phases_after_pickling(rec, info_copies):
    """An unpickled Recording's signals may carry an equal but distinct dtype object, which MNE
    converts: with_phases still works (and still does not copy the Info)."""
    import pickle

    back = pickle.loads(pickle.dumps(rec))
    info_copies.clear()
    new = back.with_phases(back.phases.iloc[:3])
    assert info_copies == [] and len(new.phases) == 3
    np.testing.assert_array_equal(new.raw._data, rec.raw._data)


def test_get_data_start_stop_is_the_slice(rec):
    full = rec.get_data(unit="uV")
    part = rec.get_data(unit="uV", start=1000, stop=5000)
    np.testing.assert_array_equal(part, full[:, 1000:5000])  # a copy of the same samples, no arithmetic
    assert rec.get_data("emg", start=rec.n_samples - 10).shape == (len(rec.emg_names), 10)
    with pytest.raises(ParameterError):
        rec.get_data(out=np.empty_like(full), start=10)


# ---------------------------------------------------------------------------------------------
# rows kept as columns, tables built from the distinct names, copies converted in one pass


def test_rows_keep_columns_and_give_the_rows_added():
    """Rows hold what add/add_channels/extend were given, in order, wanted features only."""
    rows = base.Rows({"rms", "mdf"})
    rows.add("L_MF", "MF", "L", "standing", 1, "rms", 2.5, "uV")
    rows.add("L_MF", "MF", "L", "standing", 1, "unwanted", 9.0, "uV")
    rows.add_channels(["L_MF", "R_MF"], ["MF", "MF"], ["L", "R"], "standing", None, "mdf", [80.0, 81.0], "Hz")
    rows.add_channels(["L_MF"], ["MF"], ["L"], "standing", None, "unwanted", [1.0], "Hz")
    rows.add_channels(["a|b"], ["MF|RA"], ["L"], "all", None, "rms", [3.0], ["uV|%MVC"])
    other = base.Rows({"rms"})
    other.add("R_MF", "MF", "R", "all", None, "rms", 4.0, "uV")
    rows.extend(other)
    rows.extend([("x", None, None, "all", None, "rms", 5.0, "uV")])
    assert list(rows) == [
        ("L_MF", "MF", "L", "standing", 1, "rms", 2.5, "uV"),
        ("L_MF", "MF", "L", "standing", None, "mdf", 80.0, "Hz"),
        ("R_MF", "MF", "R", "standing", None, "mdf", 81.0, "Hz"),
        ("a|b", "MF|RA", "L", "all", None, "rms", 3.0, "uV|%MVC"),
        ("R_MF", "MF", "R", "all", None, "rms", 4.0, "uV"),
        ("x", None, None, "all", None, "rms", 5.0, "uV"),
    ]
    assert len(rows) == 6 and [len(c) for c in rows.columns] == [6] * 8
    with pytest.raises(ValueError, match="one channel"):
        rows.add_channels(["L_MF", "R_MF"], ["MF"], ["L", "R"], "all", None, "rms", [1.0, 2.0], "uV")
    with pytest.raises(ValueError, match="8 fields"):
        rows.extend([("too", "short")])


def test_rows_make_no_object_the_garbage_collector_tracks_per_row():
    """10 000 rows add no container object per row (tuples would: the collector would run ~14 times)."""
    import gc

    rows = base.Rows({"rms"})
    names = [f"ch{k}" for k in range(10)]
    gc.collect()
    before = len(gc.get_objects())
    for i in range(1000):
        rows.add_channels(names, names, ["L"] * 10, "standing", i, "rms", [float(i)] * 10, "uV")
    assert len(rows) == 10_000
    assert len(gc.get_objects()) - before < 50


@pytest.mark.parametrize("values", [["a", "b", "a", None, "c"], [None, None], ["x"] * 3, [1.5, "a", None], []])
def test_text_column_equals_the_series_of_the_list(values):
    """A column built from the distinct values is the Series of the reordered list (values and dtype)."""
    table = importlib.import_module("paraspinal.features.table")
    order = np.arange(len(values))[::-1]
    expected = pd.Series([values[i] for i in order.tolist()])
    got = table._text_column(values, *pd.factorize(np.array(values, dtype=object)), order)
    pd.testing.assert_series_equal(got, expected)


def test_get_data_into_a_buffer_converts_each_sample_once(rec):
    """get_data(out=) in uV is the stored volts divided by 1e-6, sample for sample (IEEE division)."""
    names = list(CHANNELS[:4])
    buf = np.empty((4, rec.n_samples))
    got = rec.get_data(names, unit="uV", out=buf)
    assert got is buf
    stored = rec.raw._data[[rec.ch_names.index(nm) for nm in names]]
    np.testing.assert_array_equal(got, stored / 1e-6)
    np.testing.assert_array_equal(got, rec.get_data(names, unit="uV"))


def test_residual_artefact_pooled_rows_alone_give_the_same_summary(rec):
    """per_cycle=False leaves out the per-cycle rows only: the pooled rows and the summary are the same."""
    from paraspinal.preprocessing import residual_artefact

    table, summary = residual_artefact(rec, line_freq=50.0, rpeaks=np.arange(1000, rec.n_samples, 1700))
    pooled, summary2 = residual_artefact(rec, line_freq=50.0, rpeaks=np.arange(1000, rec.n_samples, 1700),
                                         per_cycle=False)
    assert table["cycle"].notna().any() and pooled["cycle"].isna().all()
    pd.testing.assert_frame_equal(pooled, table[table["cycle"].isna()].reset_index(drop=True))
    pd.testing.assert_frame_equal(summary2, summary)


def test_nanmean_rows_is_numpy_nanmean_of_each_row(rng):
    """The asymmetry family's row means: np.nanmean of each row alone (NaN left out; all NaN -> NaN)."""
    asym = importlib.import_module("paraspinal.features.families.asymmetry")
    x = rng.standard_normal((7, 37)) * 10.0 ** rng.uniform(-3, 3, (7, 1))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[3] = np.nan
    got = asym._nanmean_rows(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on the all-NaN row
        expected = np.array([np.nanmean(row) for row in x])
    assert np.isnan(got[3]) and np.isnan(expected[3])
    np.testing.assert_allclose(got, expected, rtol=1e-12)  # a tolerance: reductions may round otherwise elsewhere


def test_asymmetry_pooled_rows_on_a_hand_built_delay():
    """Not synth.py: a left channel, the right one the same signal 0.1 s later, hand-written phases with
    cycles. Every cycle and the pooled rows give lag +0.1 s and r near 1; the pooled values are the mean
    of the cycles' (the vectorised pooled path against the table's own per-cycle rows)."""
    fs, n_cyc, dur = 2000.0, 4, 10.0
    gen = np.random.default_rng(7)
    n = int(n_cyc * dur * fs)
    t = np.arange(n) / fs
    # slow, irregular amplitude (not a sine the correlation could alias): a random walk, smoothed
    walk = np.convolve(gen.standard_normal(n + 4000), np.ones(4000) / 4000, mode="valid")[:n]
    amp = 20.0 + 15.0 * (walk - walk.min()) / np.ptp(walk)
    left = amp * gen.standard_normal(n)
    shift = int(0.1 * fs)
    right = np.concatenate([gen.standard_normal(shift) * 20.0, left[:-shift]])
    rec = ps.Recording.from_array(np.vstack([left, right]) * 1e-6, fs, ["L_MF", "R_MF"], units="V")
    table = pd.DataFrame({"onset": np.arange(n_cyc) * dur + 0.5, "duration": dur - 1.0,
                          "phase": "standing", "cycle": np.arange(1, n_cyc + 1)})
    rec = ps.phases.set_phases(rec, table)
    df = _compute(rec, features=["asymmetry"])
    xc = df[df["feature"] == "lr_xcorr"].set_index("cycle", drop=False)
    lag = df[df["feature"] == "lr_lag"]
    assert len(xc) == n_cyc + 1 and len(lag) == n_cyc + 1  # four cycles and the pooled row
    np.testing.assert_allclose(lag["value"], 0.1, atol=0.011)  # one envelope sample at 100 Hz
    assert (xc["value"] > 0.8).all()
    per_cycle = xc[xc["cycle"].notna()]["value"].to_numpy()
    pooled = xc[xc["cycle"].isna()]["value"].to_numpy()
    np.testing.assert_allclose(pooled, per_cycle.mean(), rtol=1e-12)
    np.testing.assert_allclose(df[df["feature"] == "asymmetry_index"]["value"], 0.0, atol=0.05)
