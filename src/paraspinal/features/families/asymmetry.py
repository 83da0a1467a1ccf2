"""Asymmetry family: left/right asymmetry of the phase RMS and cross-correlation of the envelopes.

Rows are labelled with the pair, left first: ``channel == "L_MF|R_MF"``, ``side == "L|R"``.
"""

from __future__ import annotations

import numpy as np

from ...channels import bilateral_pairs
from .. import trunk as _tr
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows"]

FEATURES: tuple[Feature, ...] = (
    Feature("asymmetry_index", "asymmetry", "signed left/right asymmetry of the phase RMS", "(R-L)/(R+L)", "1", "-",
            "METHODS 8 (standard form)"),
    Feature("side_ratio", "asymmetry", "larger over smaller side RMS", "max(L,R)/min(L,R)", "1", "-",
            "BMC Complement Altern Med 2017;17:303"),
    Feature("lr_xcorr", "asymmetry", "peak normalised cross-correlation of the L and R envelopes",
            "max_tau sum L(t)R(t+tau)/sqrt(sum L^2 sum R^2), mean removed", "1", "max_lag=0.5 s", "Lehman 2002"),
    Feature("lr_lag", "asymmetry", "lag of the cross-correlation peak (right after left > 0)", "argmax_tau", "s",
            "max_lag=0.5 s", "Lehman 2002"),
)


def rows(ctx: Context) -> Rows:
    """One row per bilateral pair, (phase, cycle) group and asymmetry feature.

    Every pair of a group at once: the ratios element-wise over the pairs, each pair's
    cross-correlation once per segment (the pooled groups reuse them) and, for a pooled group,
    the mean over its segments as :func:`numpy.nanmean` takes it (NaN left out), row by row.
    """
    out = ctx.new_rows()
    env, env_idx, max_lag = ctx.env, ctx.env_idx, ctx.options["max_lag"]
    rec = ctx.rec
    sub = rec.channels[rec.channels["name"].isin(ctx.names)]
    pos = {nm: i for i, nm in enumerate(ctx.names)}
    pairs = bilateral_pairs(sub)
    if not pairs:
        return out
    kl, kr = [pos[left] for left, _ in pairs], [pos[right] for _, right in pairs]
    labs = np.array([f"{left}|{right}" for left, right in pairs], dtype=object)
    mus = np.array([ctx.muscles[k] for k in kl], dtype=object)
    sds = np.array(["L|R"] * len(pairs), dtype=object)
    with_xcorr = bool(ctx.want & {"lr_xcorr", "lr_lag"})
    seen: dict[int, np.ndarray] = {}

    def xcorr(i: int) -> np.ndarray:
        """Peak correlation and lag of every pair in segment ``i``, ``(n_pairs, 2)``, computed once."""
        if i not in seen:
            ei = env_idx([i])
            seen[i] = np.array([_tr.lr_xcorr(env[a, ei], env[b, ei], ctx.fs_env, max_lag) for a, b in zip(kl, kr)],
                               float).reshape(len(pairs), 2)
        return seen[i]

    for key in ctx.gkeys:
        ii = ctx.groups[key]
        rms = ctx.rms(ii)
        a = _tr.asymmetry(rms[kl], rms[kr])
        for feat in ("asymmetry_index", "side_ratio"):
            out.add_channels(labs, mus, sds, key[0], key[1], feat, a[feat].tolist(), "1")
        if not with_xcorr:
            continue
        if len(ii) == 1:  # one segment: its value is the mean (np.nanmean of one value is 0.0 + value)
            xc = xcorr(ii[0])
            r, lag, ok = 0.0 + xc[:, 0], 0.0 + xc[:, 1], np.isfinite(xc[:, 0])
        else:
            xc = np.stack([xcorr(i) for i in ii], axis=1)  # (n_pairs, n_segments, 2)
            r, lag = _nanmean_rows(xc[:, :, 0]), _nanmean_rows(xc[:, :, 1])
            ok = np.isfinite(xc[:, :, 0]).any(axis=1)
        out.add_channels(labs[ok], mus[ok], sds[ok], key[0], key[1], "lr_xcorr", r[ok].tolist(), "1")
        out.add_channels(labs[ok], mus[ok], sds[ok], key[0], key[1], "lr_lag", lag[ok].tolist(), "s")
    return out


def _nanmean_rows(x: np.ndarray) -> np.ndarray:
    """``np.nanmean`` of each row of ``x``: NaN set to 0, the row summed, divided by its non-NaN count.

    The same operations as :func:`numpy.nanmean` on each row alone (a contiguous row is summed
    as a 1-D array is), without its per-call overhead; a row of NaN gives NaN, silently.
    """
    x = np.ascontiguousarray(x, dtype=float)
    nan = np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nan, 0.0, x).sum(axis=1) / (~nan).sum(axis=1, dtype=np.intp)
