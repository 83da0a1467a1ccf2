"""A small flexion-relaxation generator written for ``validate_conditioning.py`` alone.

It shares nothing with ``paraspinal.synth`` (no import, no defaults): other spectra, other
envelopes, other artefact models and another sampling rate, so that the conditioning is
examined on data it was not tuned on.

* EMG: white Gaussian noise through a per-channel ARMA filter, a zero at DC and a complex pole
  pair at ``fp`` (70-115 Hz, pole radius 0.90-0.94) plus a real pole (0.3-0.5): a spectrum
  peaked at 60-110 Hz, not the Shwedyk 40/80 Hz shape.
* Envelope (uV RMS): logistic steps between the phases (time constant 0.06-0.2 s), a ramp
  through flexion, a bell (Hann) burst in extension, a 0.2-0.4 Hz wobble while standing.
  Controls: full flexion 1-3 uV (silent); patients 8-20 uV (no silence).
* Mains: 50 or 60 Hz, amplitude ``hum_uv`` on the strongest channel (others 0.5-1 x), the
  frequency wandering slowly within +-``drift_hz`` (a smoothed random walk), odd harmonics 3
  and 5 (and 2) at 10-40 % of the fundamental, a phase per channel.
* ECG: R-peak amplitude ``qrs_uv`` on the strongest channel, per-channel gain 0.15-1 and a
  per-channel shape (Q, R, S, T proportions and widths; polarity inverted on some channels);
  heart rate 55-95 bpm with respiratory sinus arrhythmia (+-4 %) and 2 % jitter, and ectopic
  (premature, 0.62-0.72 RR, compensatory pause) beats in about 2 % of beats, wider (ventricular
  shape) than the normal beats.
* Baseline wander: 0.05-1 Hz, 10-60 uV, and a 15-40 uV step at each movement start.
* Amplifier noise: white, 1 uV RMS.

``make_subject`` returns the contaminated Recording, the clean one (EMG + amplifier noise),
the phase table (with cycle numbers) and the true R-peaks (sample indices).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal, special

CHANNELS = ("L_LT_L1", "R_LT_L1", "L_MF_L5", "R_MF_L5")
#: (standing, flexion, full flexion, extension) RMS ranges in uV
LEVELS = {"control": ((3.0, 8.0), (15.0, 30.0), (1.0, 3.0), (25.0, 50.0)),
          "patient": ((6.0, 12.0), (18.0, 35.0), (8.0, 20.0), (15.0, 30.0))}


@dataclass
class Subject:
    raw: object  # paraspinal.Recording, contaminated
    clean: object  # paraspinal.Recording, EMG + amplifier noise only
    phases: pd.DataFrame
    rpeaks: np.ndarray  # true R-peaks, samples
    info: dict


def _emg_noise(rng, n, fs):
    fp = rng.uniform(70.0, 115.0)
    r = rng.uniform(0.90, 0.94)
    th = 2 * np.pi * fp / fs
    a = np.convolve([1.0, -2 * r * np.cos(th), r * r], [1.0, -rng.uniform(0.3, 0.5)])
    x = signal.lfilter([1.0, -1.0], a, rng.standard_normal(n + 2000))[2000:]
    return x / x.std()


def _protocol(rng, n_cycles):
    rows, t = [], 0.0
    for c in range(1, n_cycles + 1):
        for ph, lo, hi in (("standing", 3.0, 4.0), ("flexion", 2.5, 3.5), ("full_flexion", 3.0, 4.0),
                           ("extension", 2.5, 3.5)):
            d = float(rng.uniform(lo, hi))
            rows.append((t, d, ph, c))
            t += d
    d = float(rng.uniform(3.0, 4.0))
    rows.append((t, d, "standing", pd.NA))
    ph = pd.DataFrame(rows, columns=["onset", "duration", "phase", "cycle"])
    ph["cycle"] = ph["cycle"].astype("Int64")
    return ph, t + d


def _envelope(rng, phases, fs, n, levels):
    t = np.arange(n) / fs
    lev = {p: rng.uniform(*r) for p, r in zip(("standing", "flexion", "full_flexion", "extension"), levels)}
    env = np.full(n, lev["standing"])
    tau = rng.uniform(0.06, 0.2)
    for _, r in phases.iterrows():
        a, b = r.onset, r.onset + r.duration
        if r.phase == "flexion":  # ramp (eccentric) from 60 % to 110 % of the level
            shape = lev["flexion"] * (0.6 + 0.5 * np.clip((t - a) / (b - a), 0, 1))
        elif r.phase == "extension":  # bell-shaped burst
            u = np.clip((t - a) / (b - a), 0, 1)
            shape = lev["extension"] * (0.55 + 0.65 * np.sin(np.pi * u) ** 2)
        elif r.phase == "standing":
            shape = lev["standing"] * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 0.4) * t))
        else:
            shape = np.full(n, lev["full_flexion"])
        w = special.expit((t - a) / tau) - special.expit((t - b) / tau)  # logistic window
        env = env * (1 - w) + shape * w
    return env


def _beats(rng, dur, fs):
    hr = rng.uniform(55.0, 95.0)
    rr0 = 60.0 / hr
    times, kinds, t = [], [], rng.uniform(0.2, rr0)
    while t < dur - 0.5:
        times.append(t)
        rr = rr0 * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * t) + 0.02 * rng.standard_normal())
        if rng.random() < 0.02 and len(times) > 2:  # ectopic: premature, then a compensatory pause
            kinds.append(0)
            te = t + rng.uniform(0.62, 0.72) * rr
            if te < dur - 0.5:
                times.append(te)
                kinds.append(1)
            t += 2 * rr
            continue
        kinds.append(0)
        t += rr
    return np.asarray(times), np.asarray(kinds), hr


def _beat_shape(rng, fs, ectopic=False):
    k = np.arange(-int(0.35 * fs), int(0.5 * fs)) / fs
    g = lambda c, w: np.exp(-0.5 * ((k - c) / w) ** 2)  # noqa: E731
    wr = rng.uniform(0.007, 0.012) * (2.2 if ectopic else 1.0)
    q = -rng.uniform(0.05, 0.25) * g(-rng.uniform(0.014, 0.022), 0.006)
    s = -rng.uniform(0.15, 0.45) * g(rng.uniform(0.016, 0.026) * (1.8 if ectopic else 1), 0.007)
    tw = (-0.6 if ectopic else 1.0) * rng.uniform(0.1, 0.3) * g(rng.uniform(0.22, 0.3), rng.uniform(0.035, 0.06))
    pw = 0.0 if ectopic else rng.uniform(0.05, 0.12) * g(-rng.uniform(0.14, 0.18), 0.02)
    return k, g(0.0, wr) + q + s + tw + pw


def _ecg(rng, n, fs, qrs_uv, n_ch):
    times, kinds, hr = _beats(rng, n / fs, fs)
    gains = rng.uniform(0.15, 1.0, n_ch)
    gains[int(rng.integers(2))] = 1.0  # an upper (L1) channel is the strongest
    gains[2:] *= 0.5  # L5 channels: further from the heart
    sign = np.where(rng.random(n_ch) < 0.25, -1.0, 1.0)
    out = np.zeros((n_ch, n))
    r = np.round(times * fs).astype(np.int64)
    for c in range(n_ch):
        k, normal = _beat_shape(rng, fs)
        _, ect = _beat_shape(rng, fs, ectopic=True)
        off = np.round(k * fs).astype(np.int64)
        for shape, which in ((normal, kinds == 0), (1.3 * ect, kinds == 1)):
            idx = r[which][:, None] + off[None, :]
            ok = (idx >= 0) & (idx < n)
            np.add.at(out[c], idx[ok], np.broadcast_to(shape, idx.shape)[ok] * qrs_uv * gains[c] * sign[c])
    return out, r, hr, int(kinds.sum())


def _hum(rng, n, fs, hum_uv, f0, drift_hz, n_ch):
    t = np.arange(n) / fs
    walk = np.cumsum(rng.standard_normal(n // 200 + 2))
    walk = np.interp(np.arange(n) / 200.0, np.arange(len(walk)), walk)
    walk = signal.filtfilt(np.ones(50) / 50, [1.0], walk) if n > 200 else walk
    walk -= walk.mean()
    df = drift_hz * walk / max(np.abs(walk).max(), 1e-12)
    phase = 2 * np.pi * np.cumsum(f0 + df) / fs
    harm = {1: 1.0, 2: rng.uniform(0.0, 0.15), 3: rng.uniform(0.1, 0.4), 5: rng.uniform(0.05, 0.25)}
    amp = hum_uv * np.concatenate([[1.0], rng.uniform(0.5, 1.0, n_ch - 1)])
    out = np.zeros((n_ch, n))
    for c in range(n_ch):
        for h, a in harm.items():
            if h * (f0 + drift_hz) < fs / 2 - 5:
                out[c] += amp[c] * a * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    return out


def _wander(rng, n, fs, phases, n_ch):
    t = np.arange(n) / fs
    out = np.zeros((n_ch, n))
    for c in range(n_ch):
        for _ in range(3):
            out[c] += rng.uniform(10, 60) / 3 * np.sin(2 * np.pi * rng.uniform(0.05, 1.0) * t + rng.uniform(0, 6.3))
        for o in phases.onset[phases.phase == "flexion"]:
            out[c] += rng.uniform(15, 40) * rng.choice([-1, 1]) * (1 - np.exp(-np.clip(t - o, 0, None) / 0.3)) * (t >= o)
    return out


def make_subject(seed, group="control", *, fs=2048.0, qrs_uv=40.0, hum_uv=3.0, mains=50.0, drift_hz=0.2,
                 n_cycles=3, channels=CHANNELS, wander=True, noise_uv=1.0):
    """One synthetic flexion-relaxation recording (see the module docstring).

    ``qrs_uv`` and ``hum_uv`` are the R-peak and mains amplitudes (uV) on the strongest
    channel (0: none). Returns a :class:`Subject`.
    """
    from paraspinal import Recording

    rng = np.random.default_rng(seed)
    phases, dur = _protocol(rng, n_cycles)
    n = int(dur * fs)
    n_ch = len(channels)
    emg = np.stack([_envelope(rng, phases, fs, n, LEVELS[group]) * _emg_noise(rng, n, fs) for _ in range(n_ch)])
    clean = emg + noise_uv * rng.standard_normal((n_ch, n))
    ecg, r, hr, n_ect = _ecg(rng, n, fs, qrs_uv, n_ch) if qrs_uv > 0 else (0.0, np.empty(0, np.int64), None, 0)
    hum = _hum(rng, n, fs, hum_uv, mains, drift_hz, n_ch) if hum_uv > 0 else 0.0
    base = _wander(rng, n, fs, phases, n_ch) if wander else 0.0
    raw = clean + ecg + hum + base
    meta = {"subject": f"g{seed}", "group": group, "task": "frt"}
    info = {"seed": seed, "group": group, "fs": fs, "qrs_uv": qrs_uv, "hum_uv": hum_uv,
            "mains": mains if hum_uv > 0 else None, "heart_rate_bpm": hr, "n_beats": int(len(r)),
            "n_ectopic": n_ect, "duration_s": dur}
    return Subject(Recording.from_array(raw, fs, list(channels), meta=dict(meta)),
                   Recording.from_array(clean, fs, list(channels), meta=dict(meta)), phases, r, info)
