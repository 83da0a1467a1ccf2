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
    """Envelope, segment sums, segment PSDs and fatigue fits, channel block by channel block.

    Each block of ``block_channels`` channels is read once into a buffer that is reused for the
    next block, and every input is computed from it; the blocks run on up to
    :func:`~paraspinal.preprocessing.filters.default_workers` threads (one buffer each), and
    each writes only its own rows, so the results do not depend on the number of threads.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..preprocessing.filters import default_workers

    names, seg, labels, count, o = ctx.names, ctx.seg, ctx.labels, ctx.count, ctx.options
    n_ch, n_seg, fs = ctx.n_ch, len(seg), ctx.fs
    nps = max(8, int(round(o["nperseg_s"] * fs)))
    ctx.env = np.empty((n_ch, ctx.centres.size)) if "envelope" in needs else None
    ctx.sumsq = np.zeros((n_ch, n_seg)) if "sums" in needs else None
    ctx.sumabs = np.zeros((n_ch, n_seg)) if "sums" in needs else None
    ctx.psd = np.zeros((n_ch, n_seg, nps // 2 + 1)) if "psd" in needs else None
    ctx.nwin = np.zeros(n_seg)
    ctx.freqs = np.fft.rfftfreq(nps, 1 / fs)
    fat_seg = [i for i in range(n_seg) if labels[i] in o["fatigue_phases"]
               and count[i] >= o["min_fatigue_duration"] * fs] if "fatigue" in needs else []
    ctx.fat_res = {i: {} for i in fat_seg}
    bs = max(1, int(o["block_channels"]))
    starts = list(range(0, n_ch, bs))
    w = max(1, min(default_workers(), len(starts)))
    if ctx.rec.n_samples < 200_000:  # short recordings: threads cost more than they save
        w = 1

    def run(g: int) -> None:
        buf = np.empty((min(bs, n_ch), ctx.rec.n_samples))
        for c0 in starts[g::w]:
            blk = names[c0:c0 + bs]
            x = ctx.rec.get_data(blk, unit="uV", out=buf[:len(blk)])
            _block(ctx, x, c0, nps, needs, workers=1 if w > 1 else default_workers())

    if w == 1:
        run(0)
        return
    with ThreadPoolExecutor(max_workers=w) as ex:
        for _ in ex.map(run, range(w)):
            pass


def _block(ctx: Context, x: np.ndarray, c0: int, nps: int, needs: set[str], workers: int) -> None:
    """Every input of the channels ``c0 .. c0 + len(x)`` from their signals ``x`` (uV)."""
    o, fs, seg = ctx.options, ctx.fs, ctx.seg
    rows = slice(c0, c0 + len(x))
    if "envelope" in needs and o["envelope"] == "rms":
        ctx.env[rows] = rms_at(x, ctx.centres, max(1, int(round(o["window_ms"] * fs / 1000))))
    elif "envelope" in needs:
        from ..preprocessing import linear_envelope_array

        ctx.env[rows] = linear_envelope_array(x, fs)[:, ctx.centres]
    if "psd" in needs:
        p_sum, n_fr = _sp.segment_psd(x, fs, seg, nps, workers=workers)
        ctx.psd[rows] = p_sum / np.maximum(n_fr, 1)[None, :, None]
        ctx.nwin[:] = n_fr
    for i, (a, b) in enumerate(seg):
        xs = x[:, a:b]
        if "sums" in needs:
            ctx.sumsq[rows, i] = np.einsum("ij,ij->i", xs, xs)
            ctx.sumabs[rows, i] = np.abs(xs).sum(axis=1)
        if i in ctx.fat_res:
            try:
                r = _sp.fatigue_slope(xs, fs, window_s=o["fatigue_window"], band=o["band"])
            except ParameterError:
                continue
            for k, v in r.items():
                ctx.fat_res[i].setdefault(k, np.full(ctx.n_ch, np.nan))[rows] = v
