"""Per-channel signal quality: pass / warn / fail, with the reasons.

Each check is computed on the raw channel (mean removed) or on a 20-450 Hz band-passed
copy, and compared with a documented threshold (:data:`QC_DEFAULTS`, every one a keyword
parameter of :func:`qc`):

============================  =====================================================  ===========
check                         definition                                             verdict
============================  =====================================================  ===========
flat line                     peak-to-peak < ``flat_uv`` (0.1 uV), or more than      fail
                              ``flat_fraction`` (50 %) of successive samples equal
clipping / saturation         share of samples at the channel's min or max beyond    warn > 0.1 %,
                              the two a continuous signal has by chance              fail > 1 %
disconnected electrode        baseline noise > ``disconnected_uv`` (50 uV RMS in     fail
                              the quietest windows: broadband noise of an open
                              input), or < 20 Hz power share > ``disconnected_lf``
                              (95 %) with SNR < ``snr_db`` (drift with no EMG)
powerline                     share of 20-500 Hz power within +/-1 Hz of the         warn > 20 %,
                              mains harmonics (50 or 60 Hz, the larger)              fail > 50 %
baseline noise                RMS of the quietest 5 % of 250 ms windows (20-450 Hz)  warn > 5 uV
signal-to-noise ratio         20 log10(95th-percentile window RMS / baseline noise)  warn < 6 dB
ECG contamination             residual-ECG index (dB, see ``ecg.py``) at R-peaks     warn > -10 dB
                              of the ECG lead, or detected on each channel alone
low-frequency movement        share of 1-500 Hz power below ``lf_cutoff`` (20 Hz)    warn > 50 %
============================  =====================================================  ===========

The 5 uV baseline-noise limit: a good sEMG amplifier with well-prepared skin has about
1-2 uV RMS of baseline noise (De Luca et al. 2010); the SNR limit flags channels whose
loudest windows are barely above their quietest (no EMG structure, Merletti & Di Torino
1999 ask for SNR to be reported).

References
----------
De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010). J Biomech 43:1573-1579.
Merletti R, Di Torino P (1999). Standards for reporting EMG data. J Electromyogr Kinesiol
9(1):III-IV.
Hermens HJ et al. (2000). SENIAM. J Electromyogr Kinesiol 10:361-374.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import signal

from ..recording import Recording
from .ecg import detect_rpeaks_array, ecg_index_array
from .filters import butter_sos, signal_channels

__all__ = ["qc", "qc_array", "QC_DEFAULTS", "QC_COLUMNS"]

#: Thresholds of :func:`qc` (every one overridable by keyword).
QC_DEFAULTS: dict[str, float] = {
    "flat_uv": 0.1,
    "flat_fraction": 0.5,
    "clip_warn": 0.001,
    "clip_fail": 0.01,
    "line_warn": 0.2,
    "line_fail": 0.5,
    "noise_uv": 5.0,
    "disconnected_uv": 50.0,
    "disconnected_lf": 0.95,
    "snr_db": 6.0,
    "ecg_db": -10.0,
    "lf_share": 0.5,
    "lf_cutoff": 20.0,
    "window_ms": 250.0,
    "quiet_fraction": 0.05,
}

QC_COLUMNS = ["channel", "qc", "reason", "rms_uv", "ptp_uv", "clipped_fraction", "flat_fraction",
              "line50_share", "line60_share", "baseline_noise_uv", "snr_db", "ecg_index_db", "lf_share"]


def _line_shares(f: np.ndarray, p: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    band = (f >= 20) & (f <= min(500.0, fs / 2))
    total = p[:, band].sum(axis=1)
    total = np.where(total > 0, total, np.nan)
    out = []
    for base in (50.0, 60.0):
        near = np.zeros_like(f, dtype=bool)
        for h in np.arange(base, min(500.0, fs / 2), base):
            near |= np.abs(f - h) <= 1.0
        out.append(p[:, near & band].sum(axis=1) / total)
    return out[0], out[1]


def _cardiac_rhythm(peaks: np.ndarray, fs: float, n: int) -> bool:
    """True when detected peaks look like a heart beat train.

    Peaks detected on a clean channel select EMG bursts that resemble each other, so their
    beat-locked average is coherent by construction; a real ECG is also *regular*. We ask
    for a median RR of 0.33-1.5 s (40-180 bpm), peaks covering at least half the
    recording at that rate, and at least 60 % of successive RR changes under 15 % of it.
    """
    if len(peaks) < 4:
        return False
    rr = np.diff(peaks) / fs
    med = float(np.median(rr))
    if not 0.33 <= med <= 1.5 or len(peaks) < 0.5 * (n / fs) / med:
        return False
    return float(np.mean(np.abs(np.diff(rr)) < 0.15 * med)) >= 0.6


def qc_array(data_uv: np.ndarray, sfreq: float, names: Sequence[str] | None = None, *,
             rpeaks: np.ndarray | None = None, **thresholds: float) -> pd.DataFrame:
    """Quality of each channel of an array in microvolts.

    Parameters
    ----------
    data_uv : ndarray, shape (n_channels, n_samples)
        Raw EMG in uV.
    sfreq : float
        Sampling rate in Hz.
    names : sequence of str, optional
        Channel names (default ``ch0, ch1, ...``).
    rpeaks : ndarray of int, optional
        R-peaks; detected from the channels when omitted.
    **thresholds
        Override :data:`QC_DEFAULTS`.

    Returns
    -------
    pandas.DataFrame
        :data:`QC_COLUMNS`: ``qc`` is ``"pass"``, ``"warn"`` or ``"fail"``, ``reason`` the
        semicolon-separated reasons.

    References
    ----------
    De Luca CJ et al. (2010) J Biomech 43:1573-1579; Merletti R, Di Torino P (1999).
    """
    unknown = set(thresholds) - set(QC_DEFAULTS)
    if unknown:
        from ..errors import ParameterError

        raise ParameterError(f"unknown QC thresholds {sorted(unknown)}", hint=f"valid ones are {sorted(QC_DEFAULTS)}")
    th = {**QC_DEFAULTS, **thresholds}
    x = np.atleast_2d(np.asarray(data_uv, dtype=np.float64))
    n_ch, n = x.shape
    names = [f"ch{i}" for i in range(n_ch)] if names is None else list(names)
    fs = float(sfreq)
    x = x - x.mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(x * x, axis=1))
    lo, hi = x.min(axis=1), x.max(axis=1)
    ptp = hi - lo
    at_rail = (x == lo[:, None]).sum(axis=1) + (x == hi[:, None]).sum(axis=1) - 2
    clipped = np.maximum(at_rail, 0) / n
    flat_frac = (np.diff(x, axis=1) == 0).mean(axis=1) if n > 1 else np.ones(n_ch)
    nan = np.full(n_ch, np.nan)
    l50 = l60 = lf = noise = snr = eci = nan
    if n >= 256 and fs >= 200:
        nper = int(min(n, 2 ** int(np.ceil(np.log2(fs * 2)))))
        f, p = signal.welch(x, fs=fs, nperseg=nper, axis=-1)
        l50, l60 = _line_shares(f, p, fs)
        full = (f >= 1.0) & (f <= min(500.0, fs / 2))
        low = full & (f < th["lf_cutoff"])
        tot = p[:, full].sum(axis=1)
        lf = np.where(tot > 0, p[:, low].sum(axis=1) / np.where(tot > 0, tot, 1), np.nan)
        high = min(450.0, 0.45 * fs)
        if high > 20.0 and n > int(3 * fs / 20.0) + 1:
            y = signal.sosfiltfilt(butter_sos(fs, 20.0, high, 4), x, axis=-1, padlen=int(3 * fs / 20.0))
            win = max(int(round(th["window_ms"] * fs / 1000.0)), 1)
            n_win = n // win
            if n_win >= 4:
                w_rms = np.sqrt(np.mean(y[:, :n_win * win].reshape(n_ch, n_win, win) ** 2, axis=2))
                srt = np.sort(w_rms, axis=1)
                k = max(int(np.ceil(th["quiet_fraction"] * n_win)), 1)
                noise = np.sqrt(np.mean(srt[:, :k] ** 2, axis=1))
                loud = np.percentile(w_rms, 95, axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    snr = 20 * np.log10(loud / noise)
            if rpeaks is not None and len(rpeaks) >= 3:
                eci = ecg_index_array(y, fs, np.asarray(rpeaks))
            elif n >= 2 * fs:
                # no ECG lead: R-peaks from each channel on its own (a contaminated channel
                # finds its beats; on a clean one the "beats" are incoherent and score low)
                eci = np.array([
                    ecg_index_array(y[i], fs, p)[0] if _cardiac_rhythm(p := detect_rpeaks_array(x[i], fs), fs, n)
                    else np.nan
                    for i in range(n_ch)
                ])
    rows = []
    for i in range(n_ch):
        fails, warns = [], []
        if ptp[i] < th["flat_uv"] or flat_frac[i] > th["flat_fraction"]:
            fails.append("flat line")
        if clipped[i] > th["clip_fail"]:
            fails.append(f"clipping ({100 * clipped[i]:.1f} % of samples at the rails)")
        elif clipped[i] > th["clip_warn"]:
            warns.append(f"clipping ({100 * clipped[i]:.2f} % of samples at the rails)")
        if not fails:
            if np.isfinite(noise[i]) and noise[i] > th["disconnected_uv"]:
                fails.append(f"disconnected electrode? (baseline noise {noise[i]:.0f} uV RMS)")
            elif np.isfinite(lf[i]) and lf[i] > th["disconnected_lf"] and not (np.isfinite(snr[i]) and snr[i] >= th["snr_db"]):
                fails.append(f"disconnected electrode? ({100 * lf[i]:.0f} % of power below "
                             f"{th['lf_cutoff']:g} Hz, no EMG structure)")
            line = np.nanmax([l50[i], l60[i]]) if np.isfinite([l50[i], l60[i]]).any() else np.nan
            if np.isfinite(line):
                which = 50 if np.nan_to_num(l50[i]) >= np.nan_to_num(l60[i]) else 60
                msg = f"mains {which} Hz ({100 * line:.0f} % of 20-500 Hz power)"
                if line > th["line_fail"]:
                    fails.append(msg)
                elif line > th["line_warn"]:
                    warns.append(msg)
            if np.isfinite(noise[i]) and th["noise_uv"] < noise[i] <= th["disconnected_uv"]:
                warns.append(f"baseline noise {noise[i]:.1f} uV RMS")
            if np.isfinite(snr[i]) and snr[i] < th["snr_db"]:
                warns.append(f"low SNR ({snr[i]:.1f} dB)")
            if np.isfinite(eci[i]) and eci[i] > th["ecg_db"]:
                warns.append(f"ECG contamination (index {eci[i]:.1f} dB)")
            if np.isfinite(lf[i]) and lf[i] > th["lf_share"] and not any("disconnected" in f for f in fails):
                warns.append(f"movement/low-frequency content ({100 * lf[i]:.0f} % below {th['lf_cutoff']:g} Hz)")
        verdict = "fail" if fails else ("warn" if warns else "pass")
        rows.append({
            "channel": names[i], "qc": verdict, "reason": "; ".join(fails + warns),
            "rms_uv": rms[i], "ptp_uv": ptp[i], "clipped_fraction": clipped[i], "flat_fraction": flat_frac[i],
            "line50_share": l50[i], "line60_share": l60[i], "baseline_noise_uv": noise[i], "snr_db": snr[i],
            "ecg_index_db": eci[i], "lf_share": lf[i],
        })
    return pd.DataFrame(rows, columns=QC_COLUMNS)


def qc(rec: Recording, *, picks: str | Iterable[str] | None = None, rpeaks: np.ndarray | None = None,
       include_ecg: bool = False, **thresholds: float) -> pd.DataFrame:
    """Per-channel quality of a Recording (raw, unfiltered EMG is expected).

    Parameters
    ----------
    rec : Recording
    picks : str or list of str, optional
        Channels (default all EMG; ECG too with ``include_ecg``).
    rpeaks : ndarray of int, optional
        R-peaks for the ECG check (detected when omitted: from the ECG lead if any).
    include_ecg : bool
        Also assess ECG channels.
    **thresholds
        Override :data:`QC_DEFAULTS`.

    Returns
    -------
    pandas.DataFrame
        :data:`QC_COLUMNS`, one row per channel.

    References
    ----------
    De Luca CJ et al. (2010) J Biomech 43:1573-1579; Merletti R, Di Torino P (1999) J
    Electromyogr Kinesiol 9:III-IV.
    """
    names = signal_channels(rec, picks, include_ecg)
    if not names:
        return pd.DataFrame(columns=QC_COLUMNS)
    if rpeaks is None and rec.n_samples >= 2 * rec.sfreq:
        ecg = [n for n, t in zip(rec.channels["name"], rec.channels["type"]) if t == "ecg"]
        if ecg:
            rpeaks = detect_rpeaks_array(rec.get_data(ecg, unit="uV"), rec.sfreq)
    return qc_array(rec.get_data(names, unit="uV"), rec.sfreq, names, rpeaks=rpeaks, **thresholds)
