"""Build the shared :class:`~paraspinal.features.base.Context` of a recording: one pass over the data.

The phase table becomes sample segments and (phase, cycle) groups; then the channels are read
``block_channels`` at a time and every input a wanted family needs (:data:`~paraspinal.features.base.INPUTS`)
is computed for all segments at once: the envelope (moving RMS by cumulative sums, sampled at
``env_rate``), the per-segment sums of squares and absolute values, the per-segment Welch PSDs
and the MDF fatigue regressions; the trunk angle is sampled at the envelope times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import phases as _ph
from ..errors import ChannelError, ParameterError
from ..recording import Recording
from . import spectral as _sp
from .amplitude import rms_at
from .base import Context

__all__ = ["build_context"]


def build_context(rec: Recording, names: list[str], phases: pd.DataFrame | None, want: set[str],
                  options: dict[str, Any], needs: set[str]) -> Context:
    """Prepare a recording for the feature families.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG (not modified).
    names : list of str
        EMG channels to compute.
    phases : pandas.DataFrame or None
        Phase table (None: ``rec.phases``); validated, empty segments dropped; no phases
        gives one ``all`` phase.
    want : set of str
        Wanted feature names.
    options : dict
        The keyword parameters of :func:`paraspinal.features.compute`.
    needs : set of str
        Inputs to compute (names of :data:`~paraspinal.features.base.INPUTS`).

    Returns
    -------
    Context
    """
    file = rec.meta.get("source")
    fs = rec.sfreq
    n = rec.n_samples
    table = rec.channels.set_index("name")
    units = [("uV" if table.at[nm, "unit"] == "V" else str(table.at[nm, "unit"])) for nm in names]
    muscles = [table.at[nm, "muscle"] for nm in names]
    sides = [table.at[nm, "side"] for nm in names]

    ph = _ph.validate(rec.phases if phases is None else phases, on_unknown="keep", file=file)
    ph = ph.assign(_a=_ph.segments(ph, fs, n)[:, 0] if len(ph) else [], _b=_ph.segments(ph, fs, n)[:, 1] if len(ph)
                   else [])
    ph = ph[ph["_b"] > ph["_a"]].reset_index(drop=True)
    if not len(ph):
        ph = pd.DataFrame(dict(onset=[0.0], duration=[n / fs], phase=["all"], cycle=pd.array([pd.NA], "Int64"),
                               source=["none"], _a=[0], _b=[n]))
    seg = ph[["_a", "_b"]].to_numpy(np.int64)
    labels = ph["phase"].tolist()
    cyc = [None if pd.isna(c) else int(c) for c in ph["cycle"]]

    # groups: (phase, cycle) and pooled (phase, None) for phases with cycle numbers
    groups: dict[tuple[str, int | None], list[int]] = {}
    for i, (p, c) in enumerate(zip(labels, cyc)):
        groups.setdefault((p, c), []).append(i)
    for p in dict.fromkeys(labels):
        idx = [i for i, q in enumerate(labels) if q == p]
        if any(cyc[i] is not None for i in idx):
            groups[(p, None)] = idx

    step = max(1, int(round(fs / options["env_rate"])))
    ctx = Context(rec=rec, file=file, want=want, options=options, names=names, units=units, muscles=muscles,
                  sides=sides, fs=fs, ph=ph, seg=seg, labels=labels, cyc=cyc, groups=groups, gkeys=list(groups),
                  step=step, fs_env=fs / step, centres=np.arange(0, n, step),
                  count=(seg[:, 1] - seg[:, 0]).astype(float))
    _one_pass(ctx, needs)
    if "angle" in needs and "TRUNK_ANGLE" in rec.ch_names:
        try:
            ctx.angle = _ph.angle_signal(rec, "TRUNK_ANGLE")[0][ctx.centres]
        except ChannelError:
            ctx.angle = None
    return ctx


def _one_pass(ctx: Context, needs: set[str]) -> None:
    """Envelope, segment sums, segment PSDs and fatigue fits, channel block by channel block."""
    rec, names, fs, seg, labels, count, o = ctx.rec, ctx.names, ctx.fs, ctx.seg, ctx.labels, ctx.count, ctx.options
    n_ch, centres = ctx.n_ch, ctx.centres
    band = o["band"]
    need_env, need_sums = "envelope" in needs, "sums" in needs
    env = np.empty((n_ch, centres.size)) if need_env else None
    w = max(1, int(round(o["window_ms"] * fs / 1000)))
    nps = max(8, int(round(o["nperseg_s"] * fs)))
    sumsq = np.zeros((n_ch, len(seg))) if need_sums else None
    sumabs = np.zeros((n_ch, len(seg))) if need_sums else None
    need_spec = "psd" in needs
    need_fat = "fatigue" in needs
    nf = nps // 2 + 1
    psd = np.zeros((n_ch, len(seg), nf)) if need_spec else None
    nwin = np.zeros(len(seg))
    fat_seg = [i for i in range(len(seg)) if labels[i] in o["fatigue_phases"]
               and count[i] >= o["min_fatigue_duration"] * fs] if need_fat else []
    fat_res: dict[int, dict[str, np.ndarray]] = {i: {} for i in fat_seg}
    bs = max(1, int(o["block_channels"]))
    for c0 in range(0, n_ch, bs):
        blk = names[c0:c0 + bs]
        x = rec.get_data(blk, unit="uV")
        if need_env and o["envelope"] == "rms":
            env[c0:c0 + len(blk)] = rms_at(x, centres, w)
        elif need_env:
            from ..preprocessing import linear_envelope_array

            env[c0:c0 + len(blk)] = linear_envelope_array(x, fs)[:, centres]
        if need_spec:
            p_sum, n_fr = _sp.segment_psd(x, fs, seg, nps)
            psd[c0:c0 + len(blk)] = p_sum / np.maximum(n_fr, 1)[None, :, None]
            nwin[:] = n_fr
        for i, (a, b) in enumerate(seg):
            xs = x[:, a:b]
            if need_sums:
                sumsq[c0:c0 + len(blk), i] = np.einsum("ij,ij->i", xs, xs)
                sumabs[c0:c0 + len(blk), i] = np.abs(xs).sum(axis=1)
            if i in fat_res:
                try:
                    r = _sp.fatigue_slope(xs, fs, window_s=o["fatigue_window"], band=band)
                except ParameterError:
                    continue
                for k, v in r.items():
                    fat_res[i].setdefault(k, np.full(n_ch, np.nan))[c0:c0 + len(blk)] = v
        del x
    ctx.env, ctx.sumsq, ctx.sumabs, ctx.fat_res = env, sumsq, sumabs, fat_res
    ctx.psd, ctx.nwin, ctx.freqs = psd, nwin, np.fft.rfftfreq(nps, 1 / fs)
