"""Per-channel signal quality.

:func:`glance` is the quick look ``paraspinal info`` prints: amplitude, flat line,
clipping, and the share of power at the mains frequencies. It needs no filtering and runs
in one pass over the data.

References
----------
Merletti R, Di Torino P (1999). Standards for reporting EMG data. J Electromyogr Kinesiol
9(1):III-IV (report noise, powerline and artefact handling).
De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010). Filtering the surface EMG signal:
movement artifact and baseline noise contamination. J Biomech 43:1573-1579.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ..recording import Recording

__all__ = ["glance", "GLANCE_DEFAULTS"]

#: Thresholds of :func:`glance` (all overridable by keyword).
GLANCE_DEFAULTS = {
    "flat_uv": 0.1,  # peak-to-peak below this (µV) over the whole channel: flat line
    "clip_fraction": 0.001,  # share of samples at the channel's extreme values: clipping
    "line_ratio": 0.5,  # share of 20-500 Hz power within ±1 Hz of 50/60 Hz and harmonics
}


def glance(rec: Recording, **thresholds: float) -> pd.DataFrame:
    """One line of quality facts per EMG/ECG channel.

    Parameters
    ----------
    rec : Recording
        The recording.
    **thresholds
        Override :data:`GLANCE_DEFAULTS` (``flat_uv``, ``clip_fraction``, ``line_ratio``).

    Returns
    -------
    pandas.DataFrame
        Columns ``channel, rms_uv, ptp_uv, clipped_fraction, line50_share, line60_share,
        flag`` where ``flag`` is ``"ok"`` or a short reason (``"flat"``, ``"clipped"``,
        ``"mains 50 Hz"``...). RMS is computed after removing the channel's mean (µV).

    Notes
    -----
    Clipping is counted as samples equal to the channel's minimum or maximum value beyond
    the two extremes a continuous signal would have by chance; an amplifier at saturation
    holds its rail for runs of samples.
    """
    from .qc import qc  # the full per-channel quality check; glance keeps its compact columns

    th = {**GLANCE_DEFAULTS, **thresholds}
    names = [n for n, t in zip(rec.channels["name"], rec.channels["type"]) if t in ("emg", "ecg")]
    cols = ["channel", "rms_uv", "ptp_uv", "clipped_fraction", "line50_share", "line60_share", "flag"]
    if not names:
        return pd.DataFrame(columns=cols + ["qc", "reason"])
    q = qc(rec, picks=names, flat_uv=th["flat_uv"], clip_warn=th["clip_fraction"])
    flags = []
    for _, r in q.iterrows():
        if r["ptp_uv"] < th["flat_uv"]:
            flags.append("flat")
        elif r["clipped_fraction"] > th["clip_fraction"]:
            flags.append("clipped")
        elif np.nan_to_num(r["line50_share"]) > th["line_ratio"]:
            flags.append("mains 50 Hz")
        elif np.nan_to_num(r["line60_share"]) > th["line_ratio"]:
            flags.append("mains 60 Hz")
        else:
            flags.append("ok")
    out = q[["channel", "rms_uv", "ptp_uv", "clipped_fraction", "line50_share", "line60_share"]].copy()
    out["flag"] = flags
    out["qc"] = q["qc"].to_numpy()
    out["reason"] = q["reason"].to_numpy()
    return out.reset_index(drop=True)
