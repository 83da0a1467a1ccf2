"""Realistic synthetic paraspinal surface EMG with known ground truth.

The model is the amplitude-modulated, spectrally shaped Gaussian noise of METHODS.md
section 9.1 (Hogan & Mann 1980; Farina & Merletti 2000)::

    x(t) = a(t) s(t) + n(t) + e(t) + p(t) + b(t)

* ``s(t)``: unit-variance Gaussian noise with the power spectrum of Shwedyk et al. (1977),
  made by shaping a complex Gaussian spectrum with ``|H(f)|`` and an inverse real FFT, block
  by block with power-complementary crossfades (see :func:`shaped_noise`); optional
  spectral compression for fatigue (Stulen & De Luca 1981).
* ``a(t)``: the RMS activation profile in microvolts, one level per channel and task phase,
  joined by raised-cosine transitions; spasm-like bursts are added to it.
* ``n(t)``: white amplifier and skin noise (about 1 uV RMS).
* ``e(t)``: volume-conducted ECG, a beat-shape model after McSharry et al. (2003), the same
  beat train on every channel with a channel-specific gain.
* ``p(t)``: powerline interference (50 or 60 Hz and harmonics).
* ``b(t)``: baseline wander and movement artefacts at phase changes (< 10 Hz).

Subjects are described by a :class:`SubjectProfile` (a ``control``, or a ``patient`` with
the guarding signs of METHODS.md section 2.3, each with its own strength), protocols by a
list of :class:`Segment`. :func:`simulate` returns a :class:`~paraspinal.Recording` and its
:class:`GroundTruth`; :func:`write_study` writes a BIDS-EMG study with the ground truth in
``derivatives/groundtruth``.

The activation levels are design values chosen to reproduce the contrasts reported in the
literature (METHODS.md section 9.1), not measured norms. The data are synthetic: they are
for testing and teaching, never for clinical conclusions.

.. rubric:: References

- Shwedyk E, Balasubramanian R, Scott RN (1977). A nonstationary model for the
  electromyogram. IEEE Trans Biomed Eng 24:417-424.
- Hogan N, Mann RW (1980). Myoelectric signal processing: optimal estimation applied to
  electromyography. IEEE Trans Biomed Eng 27:382-395.
- Farina D, Merletti R (2000). Comparison of algorithms for estimation of EMG variables during
  voluntary isometric contractions. J Electromyogr Kinesiol 10:337-349.
- Stulen FB, De Luca CJ (1981). Frequency parameters of the myoelectric signal as a measure of
  muscle conduction velocity. IEEE Trans Biomed Eng 28:515-523.
- McSharry PE, Clifford GD, Tarassenko L, Smith LA (2003). A dynamical model for generating
  synthetic electrocardiogram signals. IEEE Trans Biomed Eng 50:289-294.
- Kippers V, Parker AW (1984). Posture related to myoelectric silence of erectores spinae
  during trunk flexion. Spine 9:740-745.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.fft
from scipy import integrate, optimize

from ._version import __version__
from .channels import EXTENSORS, FLEXORS, parse_channel_name
from .errors import ChannelError, ParameterError

__all__ = [
    "PHASES",
    "DEFAULT_CHANNELS",
    "CONTROL_LEVELS",
    "GUARDING_SIGNS",
    "JSON_DIGITS",
    "Segment",
    "SubjectProfile",
    "GroundTruth",
    "Synthetic",
    "shwedyk_gain",
    "shwedyk_psd",
    "shwedyk_frequencies",
    "shaped_noise",
    "ecg_beats",
    "ecg_waveform",
    "make_protocol",
    "PROTOCOLS",
    "flexion_relaxation",
    "static_postures",
    "sorensen",
    "lifting",
    "calibration",
    "control_profile",
    "patient_profile",
    "draw_subject",
    "simulate_array",
    "simulate",
    "write_study",
    "SIGN_PREVALENCE",
]

#: Phase vocabulary (DESIGN.md): static, dynamic and calibration phases.
PHASES: tuple[str, ...] = (
    "standing", "sitting", "prone", "full_flexion", "sorensen_hold", "rest",
    "flexion", "extension", "lifting", "lowering", "walking", "mvc", "rvc",
)

#: Default channels: bilateral longissimus, iliocostalis, multifidus, rectus abdominis, external oblique.
DEFAULT_CHANNELS: tuple[str, ...] = (
    "L_LT", "R_LT", "L_IL", "R_IL", "L_MF", "R_MF", "L_RA", "R_RA", "L_EO", "R_EO",
)

#: Healthy RMS activation in uV per phase: (extensors, flexors). Extensor values for the
#: flexion-relaxation phases are METHODS.md 9.1; flexors hold the 2-3 uV baseline of the
#: co-contraction scenario. Unlabelled posture changes use "transition". Design values [D].
CONTROL_LEVELS: dict[str, tuple[float, float]] = {
    "standing": (5.0, 2.5), "sitting": (6.0, 2.0), "prone": (3.0, 2.0), "full_flexion": (2.0, 2.5),
    "sorensen_hold": (65.0, 4.0), "rest": (3.0, 2.0), "flexion": (20.0, 3.0), "extension": (40.0, 3.0),
    "lifting": (60.0, 6.0), "lowering": (35.0, 5.0), "walking": (15.0, 6.0), "mvc": (150.0, 8.0),
    "rvc": (60.0, 4.0), "transition": (12.0, 4.0),
}

#: Guarding signs of METHODS.md 2.3 and what strength 1 does (0 = off; strengths add linearly).
GUARDING_SIGNS: dict[str, str] = {
    "static": "extensors x(1 + 0.8 s) in standing, sitting, prone, rest (standing 5 -> 9 uV)",
    "frp_loss": "extensors +13 s uV at full flexion (2 -> 15 uV) and +2 s uV in flexion (20 -> 22 uV)",
    "extension_deficit": "extensors x(1 - 0.375 s) in extension, lifting, lowering (40 -> 25 uV)",
    "coactivation": "flexors (RA, EO...) x(1 + 0.75 s) in all phases but rest, prone, mvc, rvc",
    "asymmetry": "extensors of the painful side x(1 + 0.5 s)",
    "low_variability": "cycle-to-cycle level variation x(1 - s)",
    "spasm": "4 s involuntary extensor bursts per minute of standing, sitting, prone or rest",
    "reduced_rom": "maximal trunk flexion x(1 - 0.25 s)",
}
_COACT_EXCLUDE = ("rest", "prone", "mvc", "rvc")
_SPASM_PHASES = ("standing", "sitting", "prone", "rest")

# Beat shape (McSharry et al. 2003): angles (deg), amplitudes and widths (rad) of P, Q, R, S, T.
_ECG_THETA = np.deg2rad([-70.0, -15.0, 0.0, 15.0, 100.0])
_ECG_A = np.array([1.2, -5.0, 30.0, -7.5, 0.75])
_ECG_B = np.array([0.25, 0.1, 0.1, 0.1, 0.4])

_BAND = (20.0, 450.0)


# ============================================================================ spectra
def shwedyk_gain(f: np.ndarray, f_l: float = 40.0, f_h: float = 80.0) -> np.ndarray:
    """Magnitude of the Shwedyk et al. (1977) EMG shaping filter.

    ``|H(f)| = f_h**2 f / (sqrt(f**2 + f_l**2) (f**2 + f_h**2))`` (dimensionless, 1 at high
    ``f_l = f_h`` only asymptotically). Paraspinal-like spectra use ``f_l = 40, f_h = 80`` Hz
    (METHODS.md 9.1).

    Parameters
    ----------
    f : array
        Frequencies in Hz.
    f_l, f_h : float
        Low and high corner frequencies in Hz.

    Returns
    -------
    numpy.ndarray
        ``|H(f)|``.

    References
    ----------
    Shwedyk E, Balasubramanian R, Scott RN (1977). IEEE Trans Biomed Eng 24:417-424.
    """
    f = np.asarray(f, dtype=float)
    return f_h**2 * f / (np.sqrt(f**2 + f_l**2) * (f**2 + f_h**2))


def shwedyk_psd(f: np.ndarray, f_l: float = 40.0, f_h: float = 80.0) -> np.ndarray:
    """Shwedyk et al. (1977) EMG power spectrum ``|H(f)|**2`` (unnormalised, k = 1).

    ``P(f) = f_h**4 f**2 / ((f**2 + f_l**2)(f**2 + f_h**2)**2)``.

    Parameters
    ----------
    f : array
        Frequencies in Hz.
    f_l, f_h : float
        Corner frequencies in Hz.

    Returns
    -------
    numpy.ndarray
    """
    return shwedyk_gain(f, f_l, f_h) ** 2


@lru_cache(maxsize=4096)
def shwedyk_frequencies(f_l: float = 40.0, f_h: float = 80.0, band: tuple[float, float] | None = None
                        ) -> tuple[float, float]:
    """Mean and median frequency of the Shwedyk spectrum, by numerical integration.

    Parameters
    ----------
    f_l, f_h : float
        Corner frequencies in Hz.
    band : (float, float), optional
        Integration band in Hz; ``None`` means 0 to infinity.

    Returns
    -------
    (float, float)
        ``(MNF, MDF)`` in Hz. For (40, 80) Hz over 0 to infinity: 82.19, 63.81 Hz; over
        20-450 Hz the MDF is 66.10 Hz (METHODS.md 10).
    """
    lo, hi = (0.0, np.inf) if band is None else (float(band[0]), float(band[1]))

    def power(a, b):
        return integrate.quad(shwedyk_psd, a, b, args=(f_l, f_h), limit=400)[0]

    total = power(lo, hi)
    mnf = integrate.quad(lambda f: f * shwedyk_psd(f, f_l, f_h), lo, hi, limit=400)[0] / total
    upper = hi if np.isfinite(hi) else 100.0 * max(f_l, f_h)
    mdf = optimize.brentq(lambda m: power(lo, m) - total / 2, lo + 1e-9, upper, xtol=1e-9)
    return float(mnf), float(mdf)


def _gain_matrix(m: int, sfreq: float, f_l: np.ndarray, f_h: np.ndarray, spectrum: str,
                 band: tuple[float, float] | None) -> np.ndarray:
    """Per-row filter gains on the rfft grid of length ``m``, scaled to unit output variance."""
    f = np.fft.rfftfreq(m, 1.0 / sfreq)
    if spectrum == "flat":
        g = ((f >= band[0]) & (f <= band[1])).astype(float)[np.newaxis, :].repeat(len(f_l), 0)
    else:
        fl = f_l[:, np.newaxis]
        fh = f_h[:, np.newaxis]
        g = fh**2 * f / (np.sqrt(f**2 + fl**2) * (f**2 + fh**2))
    w = np.full(len(f), 2.0)
    w[0] = 1.0
    if m % 2 == 0:
        w[-1] = 1.0
    power = (g**2 * w).sum(axis=1) / m  # variance of irfft(Z * g) for white Z of unit variance
    if np.any(power <= 0):
        raise ParameterError("the shaping filter passes no power at this sampling rate",
                             hint="check the band or corner frequencies against sfreq / 2")
    return g / np.sqrt(power)[:, np.newaxis]


def _fill_shaped(out: np.ndarray, sfreq: float, f_l: np.ndarray, f_h: np.ndarray, rng: np.random.Generator, *,
                 compression: Callable[[float], np.ndarray] | None = None, spectrum: str = "shwedyk",
                 band: tuple[float, float] | None = None, block: int = 65536, crossfade: int = 500,
                 workers: int | None = None) -> None:
    """Fill ``out`` (rows x samples, float64) in place with unit-variance shaped Gaussian noise.

    Each block of ``block`` samples is made in the frequency domain: a complex Gaussian
    spectrum (the spectrum of white noise) times the gain, then an inverse real FFT. Blocks
    overlap by ``crossfade`` samples and are joined with power-complementary weights
    ``cos(pi u / 2)``, ``sin(pi u / 2)``, so the variance is exactly 1 everywhere. The
    compression factor ``c`` (per row) is evaluated at each block's centre.
    """
    n_rows, n = out.shape
    block = int(min(block, n))
    crossfade = int(min(crossfade, block // 2))
    hop = block - crossfade
    u = (np.arange(crossfade) + 0.5) / max(crossfade, 1)
    w_out, w_in = np.cos(np.pi * u / 2), np.sin(np.pi * u / 2)
    cache: dict[tuple, np.ndarray] = {}
    start = 0
    first = True
    while True:
        m = min(block, n - start)
        c = np.ones(n_rows) if compression is None else np.asarray(compression((start + m / 2) / sfreq), float)
        key = (m, c.tobytes())
        if key not in cache:
            cache.clear()
            cache[key] = _gain_matrix(m, sfreq, f_l * c, f_h * c, spectrum, band) * math.sqrt(m / 2)
        gain = cache[key]
        nb = m // 2 + 1
        z = rng.standard_normal((n_rows, 2 * nb)).view(np.complex128)
        z[:, 0] = z[:, 0].real * math.sqrt(2.0)
        if m % 2 == 0:
            z[:, -1] = z[:, -1].real * math.sqrt(2.0)
        z *= gain
        blk = scipy.fft.irfft(z, n=m, axis=-1, workers=workers, overwrite_x=True)
        del z
        if first:
            out[:, start:start + m] = blk
            first = False
        else:
            o = min(crossfade, m)
            seg = out[:, start:start + o]
            seg *= w_out[:o]
            seg += blk[:, :o] * w_in[:o]
            out[:, start + o:start + m] = blk[:, o:]
        del blk
        if start + m >= n:
            break
        start += hop


def shaped_noise(n_samples: int, sfreq: float, *, n_channels: int = 1, f_l: float | Sequence[float] = 40.0,
                 f_h: float | Sequence[float] = 80.0, spectrum: str = "shwedyk",
                 band: tuple[float, float] | None = None,
                 compression: Callable[[float], np.ndarray] | None = None,
                 block: int = 65536, crossfade: float = 0.25, seed: int | np.random.Generator | None = 0,
                 workers: int | None = None) -> np.ndarray:
    """Unit-variance Gaussian noise with a Shwedyk (or flat band-limited) power spectrum.

    Parameters
    ----------
    n_samples : int
        Samples per channel.
    sfreq : float
        Sampling rate in Hz.
    n_channels : int
        Number of independent channels.
    f_l, f_h : float or sequence of float
        Shwedyk corner frequencies in Hz, one value or one per channel.
    spectrum : {"shwedyk", "flat"}
        ``"flat"`` gives noise with a flat spectrum on ``band`` (MNF = MDF = band centre).
    band : (float, float), optional
        Pass band in Hz for ``spectrum="flat"``.
    compression : callable, optional
        ``c(t)``: spectral compression factor (scalar or one per channel) at time ``t`` s;
        the corners become ``c f_l, c f_h`` (Stulen & De Luca 1981), so every frequency
        statistic scales by ``c``. Evaluated once per block (use a short ``block``).
    block : int
        FFT block length in samples. Stationary noise is insensitive to it.
    crossfade : float
        Length in seconds of the power-complementary crossfade between blocks.
    seed : int or numpy.random.Generator
        Random seed or generator.
    workers : int, optional
        Threads for :func:`scipy.fft.irfft`.

    Returns
    -------
    numpy.ndarray, shape (n_channels, n_samples)
        Float64 noise with expected variance exactly 1 at every sample.

    Notes
    -----
    The spectrum of white Gaussian noise is drawn directly (independent complex Gaussian
    bins, real at 0 Hz and Nyquist), multiplied by ``|H(f)|`` scaled so that the discrete
    output variance is 1, and inverted with one real FFT: no forward FFT, no convolution.
    Within a crossfade of ``T`` s two independent realisations are mixed with weights whose
    squares sum to 1, which keeps the variance exact and spreads the spectrum by about
    ``1/T`` Hz over that short stretch only.

    References
    ----------
    Shwedyk E, Balasubramanian R, Scott RN (1977). IEEE Trans Biomed Eng 24:417-424.
    """
    if spectrum not in ("shwedyk", "flat"):
        raise ParameterError(f"unknown spectrum {spectrum!r}", hint="use 'shwedyk' or 'flat'")
    if spectrum == "flat" and (band is None or not 0 <= band[0] < band[1] <= sfreq / 2):
        raise ParameterError(f"a flat spectrum needs a band inside 0..{sfreq / 2} Hz, got {band}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.empty((int(n_channels), int(n_samples)))
    fl = np.broadcast_to(np.asarray(f_l, float), (n_channels,)).copy()
    fh = np.broadcast_to(np.asarray(f_h, float), (n_channels,)).copy()
    _fill_shaped(out, float(sfreq), fl, fh, rng, compression=compression, spectrum=spectrum, band=band,
                 block=block, crossfade=int(round(crossfade * sfreq)), workers=workers)
    return out


# ============================================================================ ECG
def ecg_beats(duration: float, rng: np.random.Generator, *, heart_rate: float = 70.0, hr_sd: float = 1.0,
              lf_hf: float = 0.5) -> np.ndarray:
    """R-peak times of a heart-beat train with a bimodal RR-interval spectrum.

    RR intervals vary around ``60 / heart_rate`` with SD ``hr_sd`` bpm (converted to
    seconds) and a power spectrum of two Gaussians at 0.1 Hz (Mayer waves) and 0.25 Hz
    (respiratory sinus arrhythmia), SD 0.01 Hz each, power ratio ``lf_hf``, as in McSharry
    et al. (2003).

    Parameters
    ----------
    duration : float
        Seconds to cover; peaks run from before 0 to after ``duration``.
    rng : numpy.random.Generator
    heart_rate : float
        Mean heart rate in beats per minute.
    hr_sd : float
        Standard deviation of the heart rate in beats per minute.
    lf_hf : float
        Low- to high-frequency power ratio.

    Returns
    -------
    numpy.ndarray
        R-peak times in seconds, increasing, the first before 0 and the last after ``duration``.
    """
    rr0 = 60.0 / heart_rate
    n = int(duration / rr0) + 8
    nfft = max(64, 1 << int(np.ceil(np.log2(n))))
    f = np.fft.rfftfreq(nfft, rr0)
    s = lf_hf / (1 + lf_hf) * np.exp(-((f - 0.1) ** 2) / (2 * 0.01**2)) + \
        1 / (1 + lf_hf) * np.exp(-((f - 0.25) ** 2) / (2 * 0.01**2))
    z = rng.standard_normal((2 * len(f),)).view(np.complex128) * np.sqrt(s)
    v = np.fft.irfft(z, n=nfft)[:n]
    v = v / (v.std() or 1.0)
    rr = np.clip(rr0 + (60.0 / heart_rate**2) * hr_sd * v, 0.3, 2.0)
    first = -rng.uniform(0.0, rr0)
    return first + np.concatenate([[0.0], np.cumsum(rr)])


def _ecg_shape(phase: np.ndarray) -> np.ndarray:
    """Sum of the five Gaussian waves at cardiac phase ``phase`` (rad), scaled to 1 at the R peak."""
    alpha = _ECG_A * _ECG_B**2
    out = np.zeros_like(phase)
    for th, al, b in zip(_ECG_THETA, alpha, _ECG_B):
        d = np.mod(phase - th + np.pi, 2 * np.pi) - np.pi  # phase difference wrapped to [-pi, pi)
        out += al * np.exp(-(d * d) / (2 * b * b))
    return out / float(np.sum(alpha * np.exp(-(_ECG_THETA**2) / (2 * _ECG_B**2))))


_ECG_TABLE_N = 16384
_ECG_GRID = np.linspace(-np.pi, np.pi, _ECG_TABLE_N + 1)
_ECG_TABLE = _ecg_shape(_ECG_GRID)


def ecg_waveform(t: np.ndarray, r_peaks: np.ndarray, *, exact: bool = False) -> np.ndarray:
    """ECG beat-shape model: a sum of Gaussian waves in cardiac phase, R peak = 1.

    The cardiac phase runs from 0 at one R peak to 2 pi at the next (wrapped to
    [-pi, pi)); the P, Q, R, S and T waves sit at the phase angles
    (-70, -15, 0, 15, 100) deg with amplitudes (1.2, -5, 30, -7.5, 0.75) and widths
    (0.25, 0.1, 0.1, 0.1, 0.4) rad. Integrating the z-equation of McSharry et al. (2003)
    over phase, without its baseline damping, gives each wave the amplitude ``a_i b_i**2``,
    which is what is summed here. The result is scaled to 1 at the R peak. Phase advances
    linearly between R peaks, so the waves stretch with the RR interval.

    Parameters
    ----------
    t : array
        Sample times in seconds, inside ``(r_peaks[0], r_peaks[-1])``.
    r_peaks : array
        R-peak times in seconds (increasing).
    exact : bool
        Evaluate the Gaussians at every sample; by default the shape is interpolated
        linearly from a table of 16384 phases (maximum error about 2e-5 of the R peak).

    Returns
    -------
    numpy.ndarray
        The waveform (dimensionless, 1 at each R peak, about 0 between beats).

    References
    ----------
    McSharry PE, Clifford GD, Tarassenko L, Smith LA (2003). IEEE Trans Biomed Eng 50:289-294.
    """
    t = np.asarray(t, dtype=float)
    k = np.searchsorted(r_peaks, t, side="right") - 1
    k = np.clip(k, 0, len(r_peaks) - 2)
    r0 = r_peaks[k]
    phase = (t - r0) / (r_peaks[k + 1] - r0)
    phase = 2 * np.pi * np.where(phase >= 0.5, phase - 1.0, phase)
    if exact:
        return _ecg_shape(phase)
    return np.interp(phase, _ECG_GRID, _ECG_TABLE)


# ============================================================================ protocols
@dataclass(frozen=True)
class Segment:
    """One stretch of a protocol.

    Attributes
    ----------
    phase : str or None
        Phase label from :data:`PHASES`; None for an unlabelled posture change.
    duration : float
        Seconds.
    cycle : int or None
        Flexion-relaxation cycle or trial number.
    angle : float or None
        Trunk inclination (deg from vertical) reached at the end; None keeps the previous one.
    relative : bool
        ``angle`` is a fraction of the subject's maximal flexion.
    """

    phase: str | None
    duration: float
    cycle: int | None = None
    angle: float | None = None
    relative: bool = False


def flexion_relaxation(n_cycles: int = 3, *, standing: float = 3.0, flexion: float = 3.0, full_flexion: float = 3.0,
                       extension: float = 3.0, standing_end: float = 3.0) -> list[Segment]:
    """Standing flexion-relaxation test: standing, flexion, full flexion, extension, standing.

    Each phase 3 s by default (METHODS.md 1.2, 9.1); the trunk bends from 0 deg to the
    subject's maximal flexion (about 80-100 deg, Kippers & Parker 1984) and back.

    Parameters
    ----------
    n_cycles : int
        Number of cycles (numbered from 1).
    standing, flexion, full_flexion, extension, standing_end : float
        Phase durations in seconds.

    Returns
    -------
    list of Segment
    """
    segs = []
    for c in range(1, n_cycles + 1):
        segs += [Segment("standing", standing, c, 0.0), Segment("flexion", flexion, c, 1.0, True),
                 Segment("full_flexion", full_flexion, c, 1.0, True), Segment("extension", extension, c, 0.0),
                 Segment("standing", standing_end, c, 0.0)]
    return segs


_POSTURE_ANGLE = {"standing": 0.0, "sitting": 0.0, "prone": 90.0, "rest": 0.0, "walking": 0.0}


def static_postures(postures: Sequence[str] = ("standing", "sitting", "prone"), *, duration: float = 10.0,
                    change: float = 3.0) -> list[Segment]:
    """Static postures (Sherman 1985; Arena et al. 1991), joined by unlabelled posture changes.

    Parameters
    ----------
    postures : sequence of str
        Posture phases; angles: standing and sitting 0 deg, prone 90 deg (trunk horizontal).
    duration : float
        Seconds per posture.
    change : float
        Seconds of the unlabelled movement between two postures.

    Returns
    -------
    list of Segment
    """
    segs: list[Segment] = []
    for i, p in enumerate(postures):
        if i:
            segs.append(Segment(None, change, None, _POSTURE_ANGLE.get(p, 0.0)))
        segs.append(Segment(p, duration, None, _POSTURE_ANGLE.get(p, 0.0)))
    return segs


def sorensen(hold: float = 60.0, *, before: float = 10.0, after: float = 10.0) -> list[Segment]:
    """Biering-Sorensen hold: prone rest, unsupported horizontal hold, rest (Biering-Sorensen 1984).

    Parameters
    ----------
    hold : float
        Hold duration in seconds.
    before, after : float
        Prone rest before and rest after, seconds.

    Returns
    -------
    list of Segment
    """
    return [Segment("prone", before, None, 90.0), Segment("sorensen_hold", hold, None, 90.0),
            Segment("rest", after, None, 90.0)]


def lifting(n_lifts: int = 3, *, standing: float = 3.0, lowering: float = 2.0, lifting: float = 2.0,
            depth: float = 0.7) -> list[Segment]:
    """Lowering a load to the floor and lifting it back, ``n_lifts`` times.

    Parameters
    ----------
    n_lifts : int
        Number of lowering-lifting cycles.
    standing, lowering, lifting : float
        Phase durations in seconds.
    depth : float
        Trunk flexion at the floor, as a fraction of the subject's maximal flexion.

    Returns
    -------
    list of Segment
    """
    segs = []
    for c in range(1, n_lifts + 1):
        segs += [Segment("standing", standing, c, 0.0), Segment("lowering", lowering, c, depth, True),
                 Segment("lifting", lifting, c, 0.0)]
    segs.append(Segment("standing", standing, None, 0.0))
    return segs


def calibration(kind: str = "mvc", n_trials: int = 3, *, duration: float = 5.0, rest: float = 5.0) -> list[Segment]:
    """MVC (maximal back extension) or RVC (submaximal reference) trials separated by rest.

    Parameters
    ----------
    kind : {"mvc", "rvc"}
    n_trials : int
    duration, rest : float
        Trial and rest durations in seconds.

    Returns
    -------
    list of Segment
    """
    if kind not in ("mvc", "rvc"):
        raise ParameterError(f"calibration kind must be 'mvc' or 'rvc', got {kind!r}")
    angle = 90.0 if kind == "rvc" else 0.0  # RVC in a Biering-Sorensen-like horizontal posture
    segs = [Segment("rest", rest, None, angle)]
    for c in range(1, n_trials + 1):
        segs += [Segment(kind, duration, c, angle), Segment("rest", rest, None, angle)]
    return segs


#: Protocols by task name (the BIDS ``task`` label).
PROTOCOLS: dict[str, Callable[..., list[Segment]]] = {
    "frt": flexion_relaxation, "static": static_postures, "sorensen": sorensen, "lifting": lifting,
    "mvc": lambda **kw: calibration("mvc", **kw), "rvc": lambda **kw: calibration("rvc", **kw),
}


def make_protocol(name: str | Sequence[Segment | tuple], **options: Any) -> list[Segment]:
    """Return a protocol's segments by task name, or normalise a custom sequence.

    Parameters
    ----------
    name : str or sequence
        A key of :data:`PROTOCOLS`, or a sequence of :class:`Segment` or ``(phase, duration)``
        tuples (static phases hold their usual angle; flexion goes to full flexion).
    **options
        Passed to the protocol builder.

    Returns
    -------
    list of Segment
    """
    if isinstance(name, str):
        if name not in PROTOCOLS:
            raise ParameterError(f"unknown protocol {name!r}", hint=f"use one of {sorted(PROTOCOLS)}")
        return PROTOCOLS[name](**options)
    segs = []
    for item in name:
        if isinstance(item, Segment):
            segs.append(item)
            continue
        phase, dur = item[0], float(item[1])
        default = {"flexion": (1.0, True), "full_flexion": (1.0, True), "extension": (0.0, False),
                   "lowering": (0.7, True), "lifting": (0.0, False), "sorensen_hold": (90.0, False),
                   "rvc": (90.0, False)}.get(phase, (_POSTURE_ANGLE.get(phase), False))
        segs.append(Segment(phase, dur, item[2] if len(item) > 2 else None, default[0], default[1]))
    for s in segs:
        if s.phase is not None and s.phase not in PHASES:
            raise ParameterError(f"unknown phase {s.phase!r}", hint=f"use one of {list(PHASES)}")
        if not s.duration > 0:
            raise ParameterError(f"phase {s.phase!r} has a non-positive duration {s.duration}")
    return segs


# ============================================================================ subjects
@dataclass(frozen=True)
class SubjectProfile:
    """Everything that describes one synthetic subject.

    Attributes
    ----------
    group : str
        ``"control"`` or ``"patient"`` (or any label).
    levels : mapping
        Healthy RMS activation per phase in uV, ``(extensors, flexors)``; see :data:`CONTROL_LEVELS`.
    signs : mapping
        Guarding-sign strengths (:data:`GUARDING_SIGNS`; 0 = off, 1 = METHODS.md 9.1 LBP levels).
    f_l, f_h : float
        Shwedyk corner frequencies in Hz (paraspinal-like 40, 80).
    channel_gain : mapping
        Amplitude factor per channel name (electrode, skin, adipose tissue); missing = 1.
    phase_gain : mapping
        Extra factor per ``(phase, "ext"|"flx")`` key written ``"phase/ext"``; missing = 1.
    spectral_scale : mapping
        Factor on ``f_l, f_h`` per channel name; missing = 1.
    cycle_cv : float
        Coefficient of variation of a phase's level from one repetition to the next.
    painful_side : {"L", "R"}
        Side made stronger by the asymmetry sign.
    heart_rate, hr_sd : float
        Mean heart rate and its SD, beats per minute.
    ecg_amplitude : float
        R-peak amplitude in uV on a lumbar extensor channel (50-300 uV, design value).
    max_angle : float
        Maximal standing trunk flexion in degrees before the reduced-ROM sign (about 80-100).
    """

    group: str = "control"
    levels: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(CONTROL_LEVELS))
    signs: Mapping[str, float] = field(default_factory=lambda: {k: 0.0 for k in GUARDING_SIGNS})
    f_l: float = 40.0
    f_h: float = 80.0
    channel_gain: Mapping[str, float] = field(default_factory=dict)
    phase_gain: Mapping[str, float] = field(default_factory=dict)
    spectral_scale: Mapping[str, float] = field(default_factory=dict)
    cycle_cv: float = 0.1
    painful_side: str = "R"
    heart_rate: float = 70.0
    hr_sd: float = 1.0
    ecg_amplitude: float = 100.0
    max_angle: float = 90.0

    def replace(self, **changes: Any) -> SubjectProfile:
        """Return a copy with fields changed (``signs`` may be given in part)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ParameterError(f"SubjectProfile has no field(s) {unknown}",
                                 hint=f"guarding signs are {sorted(GUARDING_SIGNS)}; fields are "
                                      f"{[f.name for f in dataclasses.fields(self)]}")
        if "signs" in changes:
            changes["signs"] = _check_signs({**self.signs, **changes["signs"]})
        return dataclasses.replace(self, **changes)

    def effective_angle(self) -> float:
        """Maximal trunk flexion in degrees after the reduced-ROM sign."""
        return self.max_angle * max(0.1, 1.0 - 0.25 * self.signs.get("reduced_rom", 0.0))

    def level(self, phase: str | None, muscle: str, side: str | None) -> float:
        """Nominal RMS activation (uV) of a muscle in a phase, with the guarding signs applied.

        Parameters
        ----------
        phase : str or None
            Phase label (None = unlabelled posture change).
        muscle : str
            Muscle code (extensor or flexor).
        side : {"L", "R"} or None

        Returns
        -------
        float
        """
        key = phase or "transition"
        ext = muscle in EXTENSORS
        s = self.signs
        value = float(self.levels[key][0 if ext else 1])
        if ext:
            if key in ("standing", "sitting", "prone", "rest"):
                value *= 1 + 0.8 * s.get("static", 0.0)
            if key == "full_flexion":
                value += 13.0 * s.get("frp_loss", 0.0)
            if key == "flexion":
                value += 2.0 * s.get("frp_loss", 0.0)
            if key in ("extension", "lifting", "lowering"):
                value *= max(0.05, 1 - 0.375 * s.get("extension_deficit", 0.0))
            if side == self.painful_side:
                value *= 1 + 0.5 * s.get("asymmetry", 0.0)
        elif key not in _COACT_EXCLUDE:
            value *= 1 + 0.75 * s.get("coactivation", 0.0)
        return value * float(self.phase_gain.get(f"{key}/{'ext' if ext else 'flx'}", 1.0))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        d = dataclasses.asdict(self)
        d["levels"] = {k: list(v) for k, v in self.levels.items()}
        d["effective_max_angle"] = self.effective_angle()
        return d


def _check_signs(signs: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(signs) - set(GUARDING_SIGNS))
    if unknown:
        raise ParameterError(f"unknown guarding sign(s) {unknown}", hint=f"use {sorted(GUARDING_SIGNS)}")
    bad = {k: v for k, v in signs.items() if not (np.isfinite(v) and v >= 0)}
    if bad:
        raise ParameterError(f"guarding-sign strengths must be >= 0, got {bad}")
    return {k: float(signs.get(k, 0.0)) for k in GUARDING_SIGNS}


def control_profile(**changes: Any) -> SubjectProfile:
    """A healthy subject: flexion-relaxation present, the METHODS.md 9.1 healthy levels.

    Parameters
    ----------
    **changes
        Fields of :class:`SubjectProfile` to change.

    Returns
    -------
    SubjectProfile
    """
    return SubjectProfile().replace(**changes)


def patient_profile(*, static: float = 1.0, frp_loss: float = 1.0, extension_deficit: float = 1.0,
                    coactivation: float = 1.0, asymmetry: float = 1.0, low_variability: float = 1.0,
                    spasm: float = 1.0, reduced_rom: float = 1.0, **changes: Any) -> SubjectProfile:
    """A low-back-pain patient with the guarding signs of METHODS.md 2.3.

    Each sign has its own strength (0 = off, 1 = the METHODS.md 9.1 LBP levels: standing
    9 uV, flexion 22, full flexion 15, extension 25 uV; antagonists +75 %); see
    :data:`GUARDING_SIGNS`. The signs follow Geisser et al. 2005 and Arena et al. 1991
    (static), Gouteron et al. 2022 and Ahern et al. 1988 (FRP loss), Lund et al. 1991 and
    the FER study (extension deficit), van Dieen et al. 2003 (co-activation), Hodges & Tucker
    2011 and Ringheim et al. 2019 (less variability).

    Returns
    -------
    SubjectProfile
    """
    signs = dict(static=static, frp_loss=frp_loss, extension_deficit=extension_deficit, coactivation=coactivation,
                 asymmetry=asymmetry, low_variability=low_variability, spasm=spasm, reduced_rom=reduced_rom)
    return SubjectProfile(group="patient").replace(signs=signs, **changes)


def _lognormal(rng: np.random.Generator, cv: float, size=None) -> np.ndarray | float:
    """Log-normal factors with mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(size) if size is not None else 1.0
    s2 = math.log1p(cv * cv)
    return rng.lognormal(-s2 / 2, math.sqrt(s2), size)


def draw_subject(profile: SubjectProfile, rng: np.random.Generator | int, *, channels: Sequence[str] = DEFAULT_CHANNELS,
                 cv: float = 0.3, phase_cv: float = 0.2, spectral_cv: float = 0.08) -> SubjectProfile:
    """Draw one subject around a profile (log-normal between-subject variation).

    Parameters
    ----------
    profile : SubjectProfile
        The group's typical subject.
    rng : numpy.random.Generator or int
    channels : sequence of str
        Channel names to draw a gain and a spectral scale for.
    cv : float
        Coefficient of variation of each channel's overall amplitude (electrode, skin).
    phase_cv : float
        CV of an independent factor per phase and muscle class, which makes ratios such as
        FER and ERR vary between subjects (METHODS.md 9.1 suggests 30-50 % on levels).
    spectral_cv : float
        CV of the subject's spectral scale (median frequency).

    Returns
    -------
    SubjectProfile
        With drawn gains, spectral scales, heart rate (N(70, 8) bpm), ECG amplitude
        (log-uniform 50-300 uV), maximal flexion (N(90, 8) deg) and painful side.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    gains = _lognormal(rng, cv, len(channels))
    common = _lognormal(rng, spectral_cv)
    spec = common * _lognormal(rng, spectral_cv / 2, len(channels))
    keys = [f"{p}/{k}" for p in CONTROL_LEVELS for k in ("ext", "flx")]
    pg = _lognormal(rng, phase_cv, len(keys))
    return profile.replace(
        channel_gain={c: float(g) for c, g in zip(channels, gains)},
        spectral_scale={c: float(s) for c, s in zip(channels, spec)},
        phase_gain={k: float(v) for k, v in zip(keys, pg)},
        heart_rate=float(np.clip(rng.normal(70.0, 8.0), 50.0, 100.0)),
        ecg_amplitude=float(np.exp(rng.uniform(np.log(50.0), np.log(300.0)))),
        max_angle=float(np.clip(rng.normal(90.0, 8.0), 70.0, 110.0)),
        painful_side=str(rng.choice(["L", "R"])),
    )


# ============================================================================ ground truth
@dataclass
class GroundTruth:
    """What a synthetic recording holds, by construction.

    All amplitudes are in uV (RMS for activations, peak for ECG and artefacts), times in
    seconds from the first sample, frequencies in Hz, angles in degrees.

    Attributes
    ----------
    meta : dict
        Subject, group, task, seed, sampling rate, duration, generator version, parameters.
    channels : list of dict
        Per channel: name, muscle, side, corner frequencies, analytic MNF/MDF (0 to
        infinity and in ``band``), ECG gain, powerline amplitude and phase.
    phases : list of dict
        Per segment: onset, duration, phase (None for an unlabelled posture change), cycle,
        annotated, angle_start, angle_end, true level per channel (uV RMS), true MDF per
        channel (Hz; mean over the phase, fatigue included) and fatigue slope.
    ratios : dict
        Per extensor channel: mean-based FRR, ERR, FER from the true levels and the noise
        (``sqrt(a**2 + noise**2)``, METHODS.md 9.1), and ``frp_present``.
    ecg : dict
        Heart rate, R-peak times inside the recording, lead amplitude.
    bursts, artefacts : list of dict
        Inserted spasm-like bursts and movement artefacts (onset, duration, channel, amplitude).
    powerline, baseline, fatigue, qc : dict
        The other inserted components.
    profile : dict
        The subject profile (levels, guarding-sign strengths).
    """

    meta: dict
    channels: list
    phases: list
    ratios: dict
    ecg: dict
    bursts: list
    artefacts: list
    powerline: dict
    baseline: dict
    fatigue: dict
    qc: dict
    profile: dict

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return _jsonable(dataclasses.asdict(self))

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """Serialise to JSON (and write it to ``path`` if given); same truth, same bytes.

        Floats are written with :data:`JSON_DIGITS` significant digits, so that the bytes do
        not depend on the CPU: a value that came out of a floating-point reduction (a sum,
        a norm, an FFT) can differ in its last bit between machines, and would otherwise
        change the 17th digit of its shortest representation.
        """
        text = json.dumps(_jsonable(dataclasses.asdict(self), digits=JSON_DIGITS), indent=1, allow_nan=False) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def phase_table(self) -> pd.DataFrame:
        """Annotated phases as ``onset, duration, phase, cycle`` (as in ``Recording.phases``)."""
        rows = [dict(onset=p["onset"], duration=p["duration"], phase=p["phase"], cycle=p["cycle"])
                for p in self.phases if p["annotated"]]
        df = pd.DataFrame(rows, columns=["onset", "duration", "phase", "cycle"])
        df["cycle"] = df["cycle"].astype("Int64")
        return df


#: Significant digits of the floats in ground-truth JSON files (12: far below any
#: tolerance a test or analysis uses, far above the last-bit differences between CPUs).
JSON_DIGITS = 12


def _jsonable(x: Any, digits: int | None = None) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v, digits) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v, digits) for v in x.tolist()]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x) if digits is None or not np.isfinite(x) else float(f"{float(x):.{digits}g}")
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass
class Synthetic:
    """A synthetic recording and its ground truth.

    Attributes
    ----------
    recording : paraspinal.Recording
        EMG and ECG in volts, ``TRUNK_ANGLE`` in degrees, phases as annotations.
    truth : GroundTruth
    """

    recording: Any
    truth: GroundTruth


# ============================================================================ the generator
def _channel_info(channels: Sequence[str]) -> list[tuple[str, str, str | None, str | None]]:
    out = []
    for name in channels:
        info = parse_channel_name(name)
        if info.muscle is None or info.muscle not in EXTENSORS + FLEXORS:
            raise ChannelError("the synthesiser needs a trunk extensor or flexor channel name such as 'L_MF_L5'",
                               channel=name, hint=f"muscles it knows: {sorted(EXTENSORS + FLEXORS)}")
        out.append((info.name, info.muscle, info.side, info.level))
    if len({c[0] for c in out}) != len(out):
        raise ChannelError(f"duplicate channel names in {list(channels)}")
    return out


def _ecg_gain(muscle: str, side: str | None, level: str | None) -> float:
    """Relative R-peak gain: higher on thoracic, thoraco-lumbar, abdominal and left channels (design)."""
    g = {"LT": 1.5, "IL": 1.2, "MF": 0.7, "ES": 1.0, "QL": 0.8, "RA": 2.5, "EO": 2.0, "IO": 1.5}.get(muscle, 1.0)
    if level and level.startswith("T"):
        g = max(g, 1.0) * 2.5
    elif level and level.startswith("L") and muscle in EXTENSORS:
        g = {"L1": 1.5, "L2": 1.3, "L3": 1.0, "L4": 0.8, "L5": 0.7}.get(level[:2], 1.0)
    return g * (1.5 if side == "L" else 1.0)


def _min_jerk(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk position profile 10u^3 - 15u^4 + 6u^5 (Flash & Hogan 1985), u in [0, 1]."""
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def _qc_spec(qc: Mapping[str, Any] | None, names: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for kind, spec in (qc or {}).items():
        if kind not in ("clip", "flat", "disconnected"):
            raise ParameterError(f"unknown QC fault {kind!r}", hint="use 'clip', 'flat' or 'disconnected'")
        spec = {"channel": spec} if isinstance(spec, str) else dict(spec)
        if spec.get("channel") not in names:
            raise ChannelError(f"the {kind} fault names an unknown channel", channel=spec.get("channel"),
                               hint=f"use one of {names}")
        if kind == "clip":
            spec.setdefault("level", 100.0)
        if kind == "flat":
            spec.setdefault("value", 0.0)
        if kind == "disconnected":
            spec.setdefault("amplitude", 500.0)
        out[kind] = spec
    return out


@dataclass(frozen=True)
class _Timeline:
    """The protocol in samples: each segment's length and start, and the trunk angle it moves between."""

    lengths: np.ndarray
    starts: np.ndarray
    n: int
    onset_s: np.ndarray
    dur_s: np.ndarray
    ang0: np.ndarray
    ang1: np.ndarray
    move: np.ndarray


def _timeline(segs: list[Segment], sfreq: float, profile: SubjectProfile, transition: float) -> _Timeline:
    lengths = np.array([max(1, int(round(s.duration * sfreq))) for s in segs])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n = int(lengths.sum())
    onset_s = starts / sfreq
    dur_s = lengths / sfreq
    if transition * sfreq >= 2 and transition > lengths.min() / sfreq:
        raise ParameterError(f"transition {transition} s is longer than the shortest phase ({lengths.min() / sfreq} s)",
                             hint="shorten the transition or lengthen the phase")
    max_angle = profile.effective_angle()
    ang0 = np.zeros(len(segs))
    ang1 = np.zeros(len(segs))
    move = np.zeros(len(segs))
    prev = 0.0 if segs[0].angle is None else (segs[0].angle * max_angle if segs[0].relative else segs[0].angle)
    for i, s in enumerate(segs):
        tgt = prev if s.angle is None else (s.angle * max_angle if s.relative else s.angle)
        ang0[i], ang1[i] = prev, tgt
        dynamic = s.phase in ("flexion", "extension", "lifting", "lowering") or s.phase is None
        move[i] = dur_s[i] if dynamic else (0.0 if tgt == prev else min(1.0, dur_s[i] / 2))
        prev = tgt
    return _Timeline(lengths, starts, n, onset_s, dur_s, ang0, ang1, move)


def _levels(profile: SubjectProfile, segs: list[Segment], chans: list[tuple], rng: np.random.Generator) -> np.ndarray:
    """Levels per channel and segment (uV RMS), with cycle-to-cycle variation."""
    names = [c[0] for c in chans]
    cv = profile.cycle_cv * max(0.0, 1.0 - profile.signs.get("low_variability", 0.0))
    nominal = np.array([[profile.level(s.phase, m, sd) for s in segs] for (_, m, sd, _) in chans])
    gain = np.array([profile.channel_gain.get(nm, 1.0) for nm in names])
    jitter = _lognormal(rng, cv, (1, len(segs)))  # one factor per repetition, shared by channels
    return nominal * gain[:, None] * jitter


class _Fatigue(NamedTuple):
    """The spectral compression of fatigue: which channels and segments, how fast, and the shaping blocks."""

    spec: dict[str, Any] | None
    rows: np.ndarray | None
    segs: list[int]
    rate: float
    compression: Callable[[float], np.ndarray] | None
    shaped_block: int
    cross: int


def _fatigue_model(fatigue: float | Mapping[str, Any] | None, chans: list[tuple], segs: list[Segment],
                   tl: _Timeline, sfreq: float, block: int) -> _Fatigue:
    if fatigue is None:
        return _Fatigue(None, None, [], 0.0, None, block, int(round(0.25 * sfreq)))
    onset_s, dur_s = tl.onset_s, tl.dur_s
    fat = {"slope": float(fatigue)} if np.isscalar(fatigue) else dict(fatigue)
    fat.setdefault("phases", ["sorensen_hold"])
    fat.setdefault("muscles", list(EXTENSORS))
    fat.setdefault("block", 1.0)
    fat["phases"], fat["muscles"] = list(fat["phases"]), list(fat["muscles"])
    fat_rows = np.array([m in fat["muscles"] for (_, m, _, _) in chans])
    fat_segs = [i for i, s in enumerate(segs) if "all" in fat["phases"] or s.phase in fat["phases"]]
    fat_rate = fat["slope"] / 100.0

    def c_of_t(t: float | np.ndarray) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, float))
        c = np.ones(t.shape)
        for i in fat_segs:
            inside = (t >= onset_s[i]) & (t < onset_s[i] + dur_s[i])
            c[inside] = 1.0 + fat_rate * (t[inside] - onset_s[i])
        return c

    def compression(t: float) -> np.ndarray:
        return np.where(fat_rows, c_of_t(t)[0], 1.0)

    end_c = [1.0 + fat_rate * dur_s[i] for i in fat_segs]
    if any(c <= 0.05 for c in end_c):
        raise ParameterError(f"fatigue slope {fat['slope']} %/s compresses the spectrum to nothing")
    shaped_block = int(round(fat["block"] * sfreq))
    cross = max(1, int(round(0.25 * fat["block"] * sfreq)))
    shaped_block += cross
    return _Fatigue(fat, fat_rows, fat_segs, fat_rate, compression, shaped_block, cross)


def _mains_and_baseline(rng: np.random.Generator, names: list[str], sfreq: float, powerline: float | None,
                        powerline_amplitude: tuple[float, float], baseline: bool
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, Any], dict[str, Any]]:
    """Powerline and baseline wander: shared sinusoids with channel weights (sin, cos per frequency)."""
    n_emg = len(names)
    freqs: list[float] = []
    weights: list[np.ndarray] = []
    pl_truth: dict[str, Any] = {"frequency": powerline}
    if powerline is not None:
        harm = {1: 1.0, 2: 0.1, 3: 0.3}
        amp = rng.uniform(*powerline_amplitude, n_emg)
        ph = rng.uniform(0, 2 * np.pi, n_emg)
        for h, rel in harm.items():
            if h * powerline < sfreq / 2:
                freqs.append(h * powerline)
                weights.append(np.stack([amp * rel * np.cos(ph * h), amp * rel * np.sin(ph * h)], 1))
        pl_truth.update(harmonics=harm, amplitude=dict(zip(names, amp)), phase=dict(zip(names, ph)))
    bl_truth: dict[str, Any] = {}
    if baseline:
        bf = rng.uniform(0.05, 0.5, 3)
        bamp = rng.uniform(2.0, 10.0, (n_emg, 3))
        bph = rng.uniform(0, 2 * np.pi, (n_emg, 3))
        for j in range(3):
            freqs.append(float(bf[j]))
            weights.append(np.stack([bamp[:, j] * np.cos(bph[:, j]), bamp[:, j] * np.sin(bph[:, j])], 1))
        bl_truth = dict(frequencies=bf, amplitude={nm: bamp[i] for i, nm in enumerate(names)})
    wmat = np.concatenate(weights, 1) if weights else np.zeros((n_emg, 0))  # rows: sin, cos per frequency
    omega = 2 * np.pi * np.asarray(freqs)
    return wmat, omega, pl_truth, bl_truth


def _spasm_bursts(rng: np.random.Generator, profile: SubjectProfile, segs: list[Segment], tl: _Timeline,
                  chans: list[tuple]) -> list[dict]:
    """Spasm-like bursts in static phases (added to the amplitude a(t))."""
    names = [c[0] for c in chans]
    onset_s, dur_s = tl.onset_s, tl.dur_s
    ext_rows = [i for i, c in enumerate(chans) if c[1] in EXTENSORS]
    burst_list: list[dict] = []
    burst_rate = 4.0 * profile.signs.get("spasm", 0.0) / 60.0
    if burst_rate > 0 and ext_rows:
        for i, s in enumerate(segs):
            if s.phase not in _SPASM_PHASES:
                continue
            for _ in range(rng.poisson(burst_rate * dur_s[i])):
                d = float(rng.uniform(0.3, 1.5))
                if d >= dur_s[i]:
                    continue
                t0 = onset_s[i] + float(rng.uniform(0, dur_s[i] - d))
                chs = sorted(rng.choice(ext_rows, size=int(rng.integers(1, len(ext_rows) + 1)), replace=False))
                a = float(rng.uniform(15.0, 40.0))
                burst_list.append(dict(onset=t0, duration=d, channels=[names[k] for k in chs], amplitude=a,
                                       rows=[int(k) for k in chs]))
    return burst_list


def _movement_artefacts(rng: np.random.Generator, segs: list[Segment], tl: _Timeline, names: list[str],
                        sfreq: float) -> list[dict]:
    """Movement artefacts at phase changes (added to the signal x(t))."""
    ang0, ang1 = tl.ang0, tl.ang1
    art_list: list[dict] = []
    for i in range(1, len(segs)):
        if segs[i].phase == segs[i - 1].phase and ang0[i] == ang1[i - 1] == ang0[i - 1]:
            continue
        for k in range(len(names)):
            if rng.random() < 0.3:
                d = float(rng.uniform(0.1, 0.4))
                a = float(rng.uniform(20.0, 150.0) * rng.choice([-1.0, 1.0]))
                t0 = tl.onset_s[i] - d / 2 + float(rng.uniform(-0.1, 0.1))
                t0 = min(max(t0, 0.0), tl.n / sfreq - d)
                art_list.append(dict(onset=t0, duration=d, channel=names[k], amplitude=a, row=k))
    return art_list


def _amplitude_chunk(c0: int, c1: int, tl: _Timeline, levels: np.ndarray, half: int, burst_list: list[dict],
                     sfreq: float) -> tuple[np.ndarray, range]:
    """a(t) of samples [c0, c1): the segments' levels, raised-cosine transitions, spasm-like bursts."""
    starts, lengths = tl.starts, tl.lengths
    bound = starts[1:]
    segs_here = range(int(np.searchsorted(starts, c0, side="right")) - 1,
                      int(np.searchsorted(starts, c1 - 1, side="right")))
    a = np.empty((levels.shape[0], c1 - c0))
    for j in segs_here:
        a[:, max(starts[j], c0) - c0:min(starts[j] + lengths[j], c1) - c0] = levels[:, j, None]
    for j in np.flatnonzero((bound + half > c0) & (bound - half < c1)) if half > 0 else ():
        b = bound[j]
        i0, i1 = max(b - half, c0), min(b + half, c1)
        u = (np.arange(i0, i1) - (b - half) + 0.5) / (2 * half)
        step = (1 - np.cos(np.pi * u)) / 2
        lo, hi = levels[:, j], levels[:, j + 1]
        a[:, i0 - c0:i1 - c0] = lo[:, None] + (hi - lo)[:, None] * step
    for bu in burst_list:
        i0, i1 = int(round(bu["onset"] * sfreq)), int(round((bu["onset"] + bu["duration"]) * sfreq))
        if i1 <= c0 or i0 >= c1:
            continue
        j = np.arange(max(i0, c0), min(i1, c1))
        bump = bu["amplitude"] * np.sin(np.pi * (j - i0 + 0.5) / (i1 - i0)) ** 2
        a[np.ix_(bu["rows"], j - c0)] += bump
    return a, segs_here


def _artefacts_and_faults(x: np.ndarray, t: np.ndarray, c0: int, c1: int, art_list: list[dict],
                          qcs: dict[str, dict], names: list[str], sfreq: float, powerline: float | None) -> None:
    """Add the movement artefacts to x (samples [c0, c1), times t), then apply the QC faults."""
    for ar in art_list:
        i0, i1 = int(round(ar["onset"] * sfreq)), int(round((ar["onset"] + ar["duration"]) * sfreq))
        if i1 <= c0 or i0 >= c1:
            continue
        j = np.arange(max(i0, c0), min(i1, c1))
        x[ar["row"], j - c0] += ar["amplitude"] * np.sin(np.pi * (j - i0 + 0.5) / (i1 - i0)) ** 2
    for kind, spec in qcs.items():
        k = names.index(spec["channel"])
        if kind == "clip":
            np.clip(x[k], -spec["level"], spec["level"], out=x[k])
        elif kind == "flat":
            x[k] = spec["value"]
        else:
            f0 = powerline or 50.0
            x[k] = spec["amplitude"] * (np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(6 * np.pi * f0 * t)) \
                + 5 * spec["amplitude"] * np.sin(2 * np.pi * 0.07 * t + 1.0)


def _angle_chunk(out: np.ndarray, c0: int, c1: int, tl: _Timeline, segs_here: range, sfreq: float) -> None:
    """The trunk angle of samples [c0, c1) into ``out`` (the whole angle row): minimum-jerk moves."""
    starts, lengths = tl.starts, tl.lengths
    for j in segs_here:
        i0, i1 = max(starts[j], c0), min(starts[j] + lengths[j], c1)
        if tl.move[j] > 0:
            u = np.minimum((np.arange(i0, i1) - starts[j]) / (tl.move[j] * sfreq), 1.0)
            out[i0:i1] = tl.ang0[j] + (tl.ang1[j] - tl.ang0[j]) * _min_jerk(u)
        else:
            out[i0:i1] = tl.ang1[j]


def _channel_and_phase_truth(chans: list[tuple], segs: list[Segment], tl: _Timeline, levels: np.ndarray,
                             f_l: np.ndarray, f_h: np.ndarray, ecg_gain: np.ndarray, fat: _Fatigue,
                             noise_rms: float, band: tuple[float, float], sfreq: float
                             ) -> tuple[list[dict], list[dict], np.ndarray]:
    """Ground truth per channel (spectrum, MNF/MDF) and per phase (levels, effective RMS, MDF), and the
    effective RMS (n_channels, n_segments)."""
    names = [c[0] for c in chans]
    n_emg = len(chans)
    eff = np.sqrt(levels**2 + noise_rms**2)
    band_eff = (band[0], min(band[1], sfreq / 2))
    ch_truth = []
    for k, (nm, m, sd, lv) in enumerate(chans):
        mnf, mdf = shwedyk_frequencies(round(float(f_l[k]), 12), round(float(f_h[k]), 12))
        mnf_b, mdf_b = shwedyk_frequencies(round(float(f_l[k]), 12), round(float(f_h[k]), 12), band_eff)
        ch_truth.append(dict(name=nm, muscle=m, side=sd, level=lv, f_l=f_l[k], f_h=f_h[k], mnf=mnf, mdf=mdf,
                             mnf_band=mnf_b, mdf_band=mdf_b, band=list(band_eff), ecg_gain=ecg_gain[k],
                             fatigued=bool(fat.spec is not None and fat.rows[k])))
    ph_truth = []
    for i, s in enumerate(segs):
        cmean = np.ones(n_emg)
        slope_hz = np.zeros(n_emg)
        if fat.spec is not None and i in fat.segs:
            cmean = np.where(fat.rows, 1.0 + fat.rate * tl.dur_s[i] / 2, 1.0)
            slope_hz = np.where(fat.rows, fat.rate * np.array([c["mdf"] for c in ch_truth]), 0.0)
        ph_truth.append(dict(
            onset=tl.onset_s[i], duration=tl.dur_s[i], phase=s.phase, cycle=s.cycle, annotated=s.phase is not None,
            onset_sample=int(tl.starts[i]), n_samples=int(tl.lengths[i]), angle_start=tl.ang0[i],
            angle_end=tl.ang1[i], level=dict(zip(names, levels[:, i])), effective_rms=dict(zip(names, eff[:, i])),
            mdf=dict(zip(names, [c["mdf"] * cm for c, cm in zip(ch_truth, cmean)])),
            mdf_slope_hz_per_s=dict(zip(names, slope_hz)),
        ))
    return ch_truth, ph_truth, eff


def simulate_array(
    protocol: str | Sequence[Segment | tuple] = "frt",
    profile: SubjectProfile | str = "control",
    *,
    sfreq: float = 2000.0,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    seed: int | np.random.SeedSequence | None = 0,
    protocol_options: Mapping[str, Any] | None = None,
    noise_rms: float = 1.0,
    ecg: bool = True,
    ecg_lead: bool = True,
    angle: bool = True,
    powerline: float | None = 50.0,
    powerline_amplitude: tuple[float, float] = (1.0, 10.0),
    baseline: bool = True,
    artefacts: bool = True,
    bursts: bool = True,
    fatigue: float | Mapping[str, Any] | None = None,
    qc: Mapping[str, Any] | None = None,
    transition: float = 0.2,
    band: tuple[float, float] = _BAND,
    block: int = 65536,
    workers: int | None = None,
) -> tuple[np.ndarray, list[str], list[str], GroundTruth]:
    """Generate synthetic trunk sEMG as a plain array (the numeric core of :func:`simulate`).

    Parameters are those of :func:`simulate`.

    Returns
    -------
    data : numpy.ndarray, shape (n_channels, n_samples)
        Float64; EMG and ECG rows in uV, ``TRUNK_ANGLE`` in degrees.
    ch_names : list of str
        EMG channels, then ``ECG`` and ``TRUNK_ANGLE`` when requested.
    units : list of str
        ``"uV"`` or ``"deg"`` per row.
    truth : GroundTruth
    """
    sfreq = float(sfreq)
    if not (np.isfinite(sfreq) and sfreq > 0):
        raise ParameterError(f"sampling rate {sfreq} Hz is not a positive number")
    if isinstance(profile, str):
        if profile not in ("control", "patient"):
            raise ParameterError(f"unknown profile {profile!r}", hint="use 'control', 'patient' or a SubjectProfile")
        profile = control_profile() if profile == "control" else patient_profile()
    if powerline is not None and not 0 < powerline < sfreq / 2:
        raise ParameterError(f"powerline {powerline} Hz is not below Nyquist ({sfreq / 2} Hz)")
    segs = make_protocol(protocol, **dict(protocol_options or {}))
    chans = _channel_info(channels)
    names = [c[0] for c in chans]
    n_emg = len(chans)
    qcs = _qc_spec(qc, names)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    # SFC64 streams for the two bulk draws (shaped EMG, amplifier noise): fastest normals in NumPy.
    kids = ss.spawn(8)
    r_lvl, r_ecg, r_pl, r_art, r_burst = (np.random.default_rng(s) for s in kids[:5])
    r_emg, r_noise, r_lead = (np.random.Generator(np.random.SFC64(s)) for s in kids[5:])

    tl = _timeline(segs, sfreq, profile, transition)
    n = tl.n
    levels = _levels(profile, segs, chans, r_lvl)

    # ---- spectra and fatigue
    sscale = np.array([profile.spectral_scale.get(nm, 1.0) for nm in names])
    f_l, f_h = profile.f_l * sscale, profile.f_h * sscale
    fat = _fatigue_model(fatigue, chans, segs, tl, sfreq, block)
    rows = names + (["ECG"] if ecg_lead else []) + (["TRUNK_ANGLE"] if angle else [])
    units = ["uV"] * (n_emg + int(ecg_lead)) + (["deg"] if angle else [])
    data = np.empty((len(rows), n))
    emg = data[:n_emg]
    _fill_shaped(emg, sfreq, f_l, f_h, r_emg, compression=fat.compression, block=min(fat.shaped_block, n),
                 crossfade=fat.cross, workers=workers)

    # ---- ECG beats
    r_peaks = ecg_beats(n / sfreq, r_ecg, heart_rate=profile.heart_rate, hr_sd=profile.hr_sd) if (ecg or ecg_lead) \
        else np.array([-1.0, n / sfreq + 1.0])
    ecg_gain = np.array([profile.ecg_amplitude * _ecg_gain(m, sd, lv) for (_, m, sd, lv) in chans]) if ecg \
        else np.zeros(n_emg)
    ecg_lead_amp = 1000.0

    wmat, omega, pl_truth, bl_truth = _mains_and_baseline(r_pl, names, sfreq, powerline, powerline_amplitude,
                                                          baseline)
    burst_list = _spasm_bursts(r_burst, profile, segs, tl, chans) if bursts else []
    art_list = _movement_artefacts(r_art, segs, tl, names, sfreq) if artefacts else []

    # ---- second pass: modulate and add, chunk by chunk
    half = int(round(transition * sfreq / 2))
    chunk = 65536
    rotation = np.exp(1j * np.outer(omega, np.arange(min(chunk, n)) / sfreq))
    wfull = np.concatenate([wmat, ecg_gain[:, None]], 1)
    noise = np.empty((n_emg, min(chunk, n)))
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        t = np.arange(c0, c1) / sfreq
        a, segs_here = _amplitude_chunk(c0, c1, tl, levels, half, burst_list, sfreq)
        x = emg[:, c0:c1]
        x *= a
        del a
        nz = noise if c1 - c0 == noise.shape[1] else np.empty((n_emg, c1 - c0))
        r_noise.standard_normal(out=nz)
        nz *= noise_rms
        x += nz
        e = ecg_waveform(t, r_peaks) if (ecg or ecg_lead) else None
        if len(omega) or ecg:
            # e^{i w t} = e^{i w t0} e^{i w k / fs}: one complex product per sample instead of sin and cos
            rot = rotation[:, :c1 - c0] * np.exp(1j * omega * t[0])[:, None]
            basis = np.empty((2 * len(omega) + 1, c1 - c0))
            basis[0:-1:2] = rot.imag
            basis[1:-1:2] = rot.real
            basis[-1] = e if ecg else 0.0
            x += wfull @ basis
            del rot, basis
        _artefacts_and_faults(x, t, c0, c1, art_list, qcs, names, sfreq, powerline)
        if ecg_lead:
            data[n_emg, c0:c1] = ecg_lead_amp * e + 5.0 * r_lead.standard_normal(c1 - c0)
        if angle:
            _angle_chunk(data[-1], c0, c1, tl, segs_here, sfreq)

    # ---- ground truth
    dur_total = n / sfreq
    ch_truth, ph_truth, eff = _channel_and_phase_truth(chans, segs, tl, levels, f_l, f_h, ecg_gain, fat, noise_rms,
                                                       band, sfreq)
    ratios = _true_ratios(segs, tl.lengths, eff, names, [c[1] for c in chans])
    inside = r_peaks[(r_peaks >= 0) & (r_peaks < dur_total)]
    truth = GroundTruth(
        meta=dict(generator=f"paraspinal.synth {__version__}", sfreq=sfreq, n_samples=n, duration=dur_total,
                  seed=None if seed is None else (int(seed) if not isinstance(seed, np.random.SeedSequence)
                                                   else str(seed.entropy)),
                  noise_rms=noise_rms, transition=transition, units=dict(zip(rows, units)),
                  group=profile.group,
                  model="x = a(t) s(t) + n(t) + e(t) + p(t) + b(t) (METHODS.md 9.1)"),
        channels=ch_truth, phases=ph_truth, ratios=ratios,
        ecg=dict(present=bool(ecg), lead=bool(ecg_lead), heart_rate=profile.heart_rate, hr_sd=profile.hr_sd,
                 lead_amplitude=ecg_lead_amp if ecg_lead else None, r_peaks=inside, n_beats=int(len(inside))),
        bursts=[{k: v for k, v in b.items() if k != "rows"} for b in burst_list],
        artefacts=[{k: v for k, v in a_.items() if k != "row"} for a_ in art_list],
        powerline=pl_truth, baseline=bl_truth,
        fatigue={} if fat.spec is None else dict(slope_pct_per_s=fat.spec["slope"], phases=fat.spec["phases"],
                                                 muscles=fat.spec["muscles"], block=fat.spec["block"],
                                                 channels=[nm for nm, f in zip(names, fat.rows) if f]),
        qc=qcs, profile=profile.to_dict(),
    )
    return data, rows, units, truth




def _true_ratios(segs, lengths, eff, names, muscles) -> dict[str, dict]:
    """Mean-based FRR, ERR, FER per extensor channel from the true effective levels (METHODS.md 9.1)."""
    out: dict[str, dict] = {}
    phases = np.array([s.phase for s in segs], dtype=object)

    def mean(k, ph):
        sel = phases == ph
        return float(np.average(eff[k, sel], weights=lengths[sel])) if sel.any() else None

    for k, nm in enumerate(names):
        if muscles[k] not in EXTENSORS:
            continue
        flx, ff, ext = mean(k, "flexion"), mean(k, "full_flexion"), mean(k, "extension")
        if ff is None or flx is None or ext is None:
            continue
        err = ext / ff
        out[nm] = dict(FRR=flx / ff, ERR=err, FER=flx / ext, frp_present=bool(err >= 4.0),
                       frp_criterion="ERR >= 4.0 (mean-based, true levels)")
    return out


def simulate(
    protocol: str | Sequence[Segment | tuple] = "frt",
    profile: SubjectProfile | str = "control",
    *,
    sfreq: float = 2000.0,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    seed: int | np.random.SeedSequence | None = 0,
    meta: Mapping[str, Any] | None = None,
    **options: Any,
) -> Synthetic:
    """Simulate one trunk sEMG recording with known ground truth.

    Parameters
    ----------
    protocol : str or sequence
        Task: ``"frt"`` (flexion-relaxation), ``"static"``, ``"sorensen"``, ``"lifting"``,
        ``"mvc"``, ``"rvc"`` (see :data:`PROTOCOLS`), or a list of :class:`Segment` /
        ``(phase, duration)`` tuples.
    profile : SubjectProfile or {"control", "patient"}
        The subject (see :func:`control_profile`, :func:`patient_profile`, :func:`draw_subject`).
    sfreq : float
        Sampling rate in Hz.
    channels : sequence of str
        EMG channel names (extensors and flexors, e.g. ``L_MF_L5``); :data:`DEFAULT_CHANNELS`.
    seed : int or numpy.random.SeedSequence
        Seed; every component draws from its own child stream, so switching the ECG off
        leaves the EMG noise unchanged.
    meta : mapping, optional
        Recording metadata (subject, group, task, ...).
    **options
        ``protocol_options`` (dict for the protocol builder), ``noise_rms`` (amplifier noise,
        uV RMS, default 1), ``ecg`` (contamination, default True), ``ecg_lead`` (an ``ECG``
        channel), ``angle`` (a ``TRUNK_ANGLE`` channel), ``powerline`` (50, 60 or None),
        ``powerline_amplitude`` (uV range, default (1, 10)), ``baseline`` (wander, 2-10 uV at
        0.05-0.5 Hz), ``artefacts`` (movement artefacts at phase changes, 20-150 uV, 0.1-0.4 s),
        ``bursts`` (spasm-like bursts of patients), ``fatigue`` (median-frequency slope in %/s,
        or a dict with ``slope``, ``phases``, ``muscles``, ``block`` in s), ``qc`` (faults:
        ``{"clip": {"channel": "R_MF", "level": 100}, "flat": "L_EO", "disconnected": "R_RA"}``),
        ``transition`` (raised-cosine transition length, s, default 0.2), ``band`` (band of the
        reported band-limited MDF), ``block`` (FFT block, samples), ``workers`` (FFT threads).

    Returns
    -------
    Synthetic
        ``.recording`` (a :class:`~paraspinal.Recording`) and ``.truth`` (:class:`GroundTruth`).

    Examples
    --------
    >>> from paraspinal import synth
    >>> sim = synth.simulate("frt", "patient", sfreq=1000, seed=1)
    >>> round(sim.truth.ratios["L_LT"]["ERR"], 1)
    1.7
    """
    from .recording import Recording

    data, rows, units, truth = simulate_array(protocol, profile, sfreq=sfreq, channels=channels, seed=seed, **options)
    volts = np.array([1e-6 if u == "uV" else 1.0 for u in units])
    data *= volts[:, None]
    meta = {"group": truth.meta["group"], **dict(meta or {})}
    truth.meta.update({k: v for k, v in meta.items() if isinstance(v, (str, int, float)) or v is None})
    types = ["emg"] * (len(rows) - sum(r in ("ECG", "TRUNK_ANGLE") for r in rows)) + \
        [{"ECG": "ecg", "TRUNK_ANGLE": "misc"}[r] for r in rows if r in ("ECG", "TRUNK_ANGLE")]
    rec = Recording.from_array(data, sfreq, rows, units=["V" if u == "uV" else u for u in units], ch_types=types,
                               meta=meta, phases=truth.phase_table())
    if truth.powerline.get("frequency") is not None:
        rec.raw.info["line_freq"] = float(truth.powerline["frequency"])
    return Synthetic(rec, truth)


# ============================================================================ studies
#: Prevalence of each guarding sign among "mixed" patients (a sign, when present, has a
#: strength drawn uniformly in 0.5-1). FRP loss at 0.6 follows the 55 % prevalence of
#: altered FRP in Gouteron et al. 2022; the others are design values.
SIGN_PREVALENCE: dict[str, float] = {
    "static": 0.6, "frp_loss": 0.6, "extension_deficit": 0.6, "coactivation": 0.5, "asymmetry": 0.4,
    "low_variability": 0.5, "spasm": 0.3, "reduced_rom": 0.5,
}

_TASK_DESCRIPTION = {
    "frt": "standing flexion-relaxation test: standing, flexion, full flexion, extension, standing (cycles)",
    "static": "static postures: standing, sitting, prone",
    "sorensen": "Biering-Sorensen isometric back-extension hold",
    "lifting": "lowering a load to the floor and lifting it back",
    "mvc": "maximal voluntary back-extension contractions",
    "rvc": "submaximal reference contractions in a horizontal (Biering-Sorensen-like) posture",
}


def _patient_signs(spec: str | Mapping[str, float], rng: np.random.Generator) -> dict[str, float]:
    if isinstance(spec, Mapping):
        return _check_signs(spec)
    if spec == "all":
        return {k: 1.0 for k in GUARDING_SIGNS}
    if spec == "mixed":
        signs = {k: float(rng.uniform(0.5, 1.0)) if rng.random() < p else 0.0 for k, p in SIGN_PREVALENCE.items()}
        if not any(signs.values()):  # a patient shows at least one sign
            k = list(SIGN_PREVALENCE)[int(rng.integers(len(SIGN_PREVALENCE)))]
            signs[k] = float(rng.uniform(0.5, 1.0))
        return signs
    raise ParameterError(f"patient_signs={spec!r}", hint="use 'mixed', 'all' or a mapping of sign strengths")


def _is_synth_study(root: Path) -> bool:
    desc = root / "derivatives" / "groundtruth" / "dataset_description.json"
    try:
        info = json.loads(desc.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(str(g.get("Name", "")).startswith("paraspinal.synth") for g in info.get("GeneratedBy", []))


def write_study(
    out: str | os.PathLike,
    *,
    n_controls: int = 6,
    n_patients: int = 6,
    seed: int = 0,
    powerline: float = 50.0,
    tasks: Sequence[str] = ("frt", "static"),
    sfreq: float = 2000.0,
    channels: Sequence[str] = DEFAULT_CHANNELS,
    patient_signs: str | Mapping[str, float] = "mixed",
    cv: float = 0.3,
    phase_cv: float = 0.2,
    spectral_cv: float = 0.08,
    task_options: Mapping[str, Mapping[str, Any]] | None = None,
    fmt: str = "edf",
    overwrite: bool = False,
    readme: str | None = None,
    **options: Any,
) -> Path:
    """Write a synthetic BIDS-EMG study of controls and low-back-pain patients.

    Layout::

        OUT/dataset_description.json, README.md, participants.tsv (group column), participants.json
        OUT/sub-01/emg/sub-01_task-frt_emg.edf  (+ _channels.tsv, _events.tsv, _emg.json)
        OUT/derivatives/groundtruth/dataset_description.json, subjects.tsv
        OUT/derivatives/groundtruth/sub-01/emg/sub-01_task-frt_groundtruth.json

    Subjects ``sub-01 ...`` are the controls, then the patients. Each subject is drawn with
    :func:`draw_subject` around :func:`control_profile` or :func:`patient_profile`; the ground
    truth lives in a BIDS derivative folder so that the raw dataset stays valid BIDS and
    readers never mistake it for data.

    Parameters
    ----------
    out : path-like
        Study root (created). An existing non-empty folder is replaced only with
        ``overwrite=True`` and only if it is a study written by this function.
    n_controls, n_patients : int
        Group sizes.
    seed : int
        Master seed: the same seed writes the same bytes.
    powerline : float
        Mains frequency in Hz (50 or 60).
    tasks : sequence of str
        Task names from :data:`PROTOCOLS` (one recording per task per subject).
    sfreq : float
        Sampling rate in Hz.
    channels : sequence of str
        EMG channels.
    patient_signs : {"mixed", "all"} or mapping
        ``"mixed"``: each sign present with the probability in :data:`SIGN_PREVALENCE`
        (strength 0.5-1); ``"all"``: every sign at 1; a mapping: the same strengths for all.
    cv, phase_cv, spectral_cv : float
        Between-subject variation (see :func:`draw_subject`).
    task_options : mapping, optional
        Per task, options for :func:`simulate` (``{"frt": {"protocol_options": {"n_cycles": 5}}}``).
        The ``sorensen`` task gets ``fatigue=-0.3`` (%/s) unless given.
    fmt : {"edf", "bdf"}
    overwrite : bool
    readme : str, optional
        Text of ``README.md``; a description of the generator by default.
    **options
        Passed to :func:`simulate` for every recording.

    Returns
    -------
    pathlib.Path
        The study root.
    """
    import shutil

    from .errors import WriteError
    from .io.bids import write_bids

    root = Path(out)
    for t in tasks:
        if t not in PROTOCOLS:
            raise ParameterError(f"unknown task {t!r}", hint=f"use one of {sorted(PROTOCOLS)}")
    if n_controls < 0 or n_patients < 0 or n_controls + n_patients == 0:
        raise ParameterError(f"need at least one subject, got {n_controls} controls and {n_patients} patients")
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise WriteError("the folder exists and is not empty", file=root, hint="pass overwrite=True or choose another")
        if not _is_synth_study(root):
            raise WriteError("the folder is not a synthetic study written by paraspinal.synth; it was left alone",
                             file=root, hint="choose an empty or new folder")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    n_sub = n_controls + n_patients
    width = max(2, len(str(n_sub)))
    task_options = {t: dict(v) for t, v in (task_options or {}).items()}
    task_options.setdefault("sorensen", {}).setdefault("fatigue", -0.3)
    gt_root = root / "derivatives" / "groundtruth"
    rows = []
    for i, sub_seed in enumerate(np.random.SeedSequence(seed).spawn(n_sub)):
        label = f"{i + 1:0{width}d}"
        group = "control" if i < n_controls else "patient"
        kids = sub_seed.spawn(1 + len(tasks))
        rng = np.random.default_rng(kids[0])
        base = control_profile() if group == "control" else patient_profile().replace(
            signs=_patient_signs(patient_signs, rng))
        prof = draw_subject(base, rng, channels=channels, cv=cv, phase_cv=phase_cv, spectral_cv=spectral_cv)
        rows.append({"participant_id": f"sub-{label}", "group": group, "painful_side": prof.painful_side,
                     **{k: round(prof.signs[k], 6) for k in GUARDING_SIGNS}})
        for task, tseed in zip(tasks, kids[1:]):
            kw = {**options, **task_options.get(task, {})}
            sim = simulate(task, prof, sfreq=sfreq, channels=channels, seed=tseed, powerline=powerline,
                           meta={"subject": label, "group": group, "task": task}, **kw)
            path = write_bids(sim.recording, root, subject=label, task=task, group=group, fmt=fmt, overwrite=True)
            side = path.with_suffix(".json")
            info = json.loads(side.read_text(encoding="utf-8"))
            info.update(TaskDescription=_TASK_DESCRIPTION[task], PowerLineFrequency=powerline,
                        Manufacturer="n/a (synthetic: paraspinal.synth)", EMGReference="bipolar (simulated)",
                        EMGGround="n/a", SoftwareFilters="n/a")
            side.write_text(json.dumps(info, indent=4) + "\n", encoding="utf-8")
            gt = gt_root / f"sub-{label}" / "emg" / f"sub-{label}_task-{task}_groundtruth.json"
            gt.parent.mkdir(parents=True, exist_ok=True)
            sim.truth.meta["seed"] = f"{seed}/sub-{label}/task-{task}"
            sim.truth.to_json(gt)
    pd.DataFrame(rows).to_csv(gt_root / "subjects.tsv", sep="\t", index=False, lineterminator="\n")
    desc = {
        "Name": "paraspinal synthetic study (ground truth)", "BIDSVersion": "1.10.0", "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "paraspinal.synth", "Version": __version__,
                         "Description": "true activation levels, ratios, median frequencies, R peaks, bursts "
                                        "and artefacts of each synthetic recording"}],
        "SourceDatasets": [{"URL": "../../"}],
    }
    (gt_root / "dataset_description.json").write_text(json.dumps(desc, indent=4) + "\n", encoding="utf-8")
    desc = json.loads((root / "dataset_description.json").read_text(encoding="utf-8"))
    desc.update(Name="paraspinal synthetic paraspinal sEMG study", BIDSVersion="1.10.0",
                Authors=["paraspinal developers"], License="CC0",
                GeneratedBy=[{"Name": "paraspinal.synth", "Version": __version__,
                              "Description": f"write_study(n_controls={n_controls}, n_patients={n_patients}, "
                                             f"seed={seed}, powerline={powerline:g}, tasks={list(tasks)}, "
                                             f"sfreq={sfreq:g})"}] + desc.get("GeneratedBy", [])[:1])
    (root / "dataset_description.json").write_text(json.dumps(desc, indent=4) + "\n", encoding="utf-8")
    if (root / "README").exists():
        (root / "README").unlink()
    text = readme if readme is not None else (
        "# Synthetic paraspinal sEMG study\n\n"
        "SYNTHETIC DATA made by `paraspinal.synth.write_study` (amplitude-modulated Shwedyk-spectrum Gaussian\n"
        "noise with ECG, powerline, baseline wander and movement artefacts; METHODS.md section 9.1).\n"
        f"{n_controls} controls and {n_patients} low-back-pain patients; tasks {', '.join(tasks)};\n"
        f"{sfreq:g} Hz; powerline {powerline:g} Hz; seed {seed}.\n"
        "The ground truth of every recording is in `derivatives/groundtruth/`.\n"
        "Not real patients; not for clinical conclusions.\n")
    (root / "README.md").write_text(text, encoding="utf-8")
    return root
