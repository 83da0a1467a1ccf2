"""Onset detectors: TKEO identity, bias at 10 dB SNR on bursts with known onsets, index bounds."""

import numpy as np
import pytest

from paraspinal import synth
from paraspinal.features.onset import onsets_array
from paraspinal.preprocessing import tkeo_array


def test_tkeo_identity():
    n = np.arange(2000)
    omega = 2 * np.pi * 50 / 2000
    psi = tkeo_array(2 * np.cos(omega * n + 0.3))
    assert psi == pytest.approx(np.full(n.size, 4 * np.sin(omega) ** 2), abs=1e-12)
    assert psi[0] == pytest.approx(0.097887, abs=1e-6)


@pytest.fixture(scope="module")
def bursts():
    fs = 2000.0
    n_tr = 60
    rng = np.random.default_rng(11)
    n = int(4 * fs)
    t0 = rng.uniform(1.5, 2.0, n_tr)
    sig = synth.shaped_noise(n, fs, n_channels=n_tr, seed=3)
    noise = rng.standard_normal((n_tr, n))
    idx = np.arange(n)
    on = (idx >= np.round(t0 * fs)[:, None]) & (idx < np.round((t0 + 1.0) * fs)[:, None])
    x = noise + np.sqrt(10.0) * sig * on  # signal power / noise power = 10 (10 dB SNR)
    return x, fs, t0


@pytest.mark.parametrize("method", ["hodges_bui", "tkeo", "bonato"])
def test_onset_bias_under_20_ms_at_10_db(bursts, method):
    x, fs, t0 = bursts
    df = onsets_array(x, fs, baseline=(0.0, 1.0), method=method, ch_names=range(len(t0)))
    main = df.loc[df.groupby("channel")["duration"].idxmax()]
    assert len(main) == len(t0)
    err = main["onset"].to_numpy() - t0[main["channel"].astype(int).to_numpy()]
    assert abs(err.mean()) < 0.020
    off = (main["onset"] + main["duration"]).to_numpy() - (t0[main["channel"].astype(int).to_numpy()] + 1.0)
    assert abs(np.median(off)) < 0.05


def test_indices_inside_signal():
    fs = 1000.0
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000)
    x[2500:] *= 20  # active until the very last sample
    df = onsets_array(x, fs, baseline=(0.0, 1.0))
    assert len(df) >= 1
    assert (df["onset"] >= 0).all()
    assert ((df["onset"] + df["duration"]) * fs <= 3000 + 1e-9).all()
    assert df["phase"].eq("active").all()
