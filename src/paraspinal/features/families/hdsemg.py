"""HD-sEMG family: RMS maps of electrode grids, their centroid, entropy, CV and centroid track.

One row per grid (``channel`` = the grid's name, ``muscle``/``side`` those of its channels),
(phase, cycle) group and feature, computed by :func:`paraspinal.hdsemg.map_features` on the
groups of the feature table: the pooled map of the group gives the map summary, centroid,
modified entropy and CV; the centroids of its consecutive 1-s windows give the shift, slope
and displacement of the centroid over the phase (over the repetitions for a pooled group
of cycles). Recordings without grids give no rows and cost nothing.

Bad electrodes are those recorded in ``rec.meta`` (:func:`paraspinal.hdsemg.mark_bad`),
which the readers of grid files (OTBiolab+ exports, BIDS ``electrodes.tsv``) record on the
signals as read, before filtering hides saturation; they are interpolated from their
neighbours. A grid without a recorded check is checked here, on the signal the table is
computed from (dead, noisy, mains), and a note (``df.attrs["notes"]``) says that
saturation could not be seen there if the signal was filtered.
"""

from __future__ import annotations

import pandas as pd

from ... import hdsemg as _hd
from ..base import AMPLITUDE_UNIT as A
from ..base import Context, Feature, Rows

__all__ = ["FEATURES", "rows", "WINDOW_S", "THRESHOLD"]

#: Window of the centroid track (s).
WINDOW_S = 1.0
#: Centroid threshold, fraction of the map's maximum.
THRESHOLD = 0.7

_D = "window_s=1 s, threshold=0.7, bad electrodes interpolated"
_CITE_MAP = "Farina et al. 2008; Falla et al. 2014; Sanderson et al. 2019"
FEATURES: tuple[Feature, ...] = (
    Feature("hd_rms_mean", "hdsemg", "mean of the grid's RMS map over its electrodes (map summary)",
            "mean_i RMS_i", A, _D, "Farina et al. 2008"),
    Feature("hd_centroid_x", "hdsemg", "medio-lateral position of the RMS-weighted centroid of the map",
            "sum_{S} RMS_i x_i / sum_{S} RMS_i, S = {RMS_i >= 0.7 max}", "mm", _D, _CITE_MAP),
    Feature("hd_centroid_y", "hdsemg", "cranio-caudal position of the RMS-weighted centroid (positive = cranial)",
            "sum_{S} RMS_i y_i / sum_{S} RMS_i, S = {RMS_i >= 0.7 max}", "mm", _D,
            _CITE_MAP + "; Arvanitidis et al. 2021"),
    Feature("hd_entropy", "hdsemg", "modified entropy of the map (log2 N when uniform; lower = less homogeneous)",
            "-sum p_i log2 p_i, p_i = RMS_i^2 / sum RMS^2", "bit", _D,
            "Farina et al. 2008; Sanderson et al. 2019 (lifting)"),
    Feature("hd_cv", "hdsemg", "coefficient of variation of the map (spatial heterogeneity)",
            "SD(RMS)/mean(RMS), ddof=0", "1", _D, "Farina et al. 2008"),
    Feature("hd_centroid_x_shift", "hdsemg", "centroid x of the last window minus that of the first",
            "x_c(last) - x_c(first)", "mm", _D, "Farina et al. 2008"),
    Feature("hd_centroid_y_shift", "hdsemg", "centroid y of the last window minus that of the first (+ = cranial)",
            "y_c(last) - y_c(first)", "mm", _D, "Farina et al. 2008; Sanderson et al. 2019 (endurance)"),
    Feature("hd_centroid_x_slope", "hdsemg", "least-squares slope of the window centroids' x against time",
            "b1 of x_c(t)", "mm/s", _D, "Farina et al. 2008"),
    Feature("hd_centroid_y_slope", "hdsemg", "least-squares slope of the window centroids' y against time",
            "b1 of y_c(t)", "mm/s", _D, "Farina et al. 2008"),
    Feature("hd_centroid_displacement", "hdsemg", "length of the fitted centroid track over the phase "
            "(redistribution, any direction)", "hypot(b1_x, b1_y) * (t_last - t_first)", "mm", _D,
            "toolkit-defined from Farina et al. 2008; less redistribution in LBP: Sanderson et al. 2019"),
)

_NAMES = frozenset(f.name for f in FEATURES)


def _bad_electrodes(ctx: Context, chosen: list[str]) -> list[str]:
    """The grids' bad electrodes: recorded on reading, else judged here (with a note)."""
    rec = ctx.rec
    bad: list[str] = []
    for g in chosen:
        if _hd.bad_check(rec, g) is not None:
            found = _hd.recorded_bad(rec, g)
            how = f"checked on the {_hd.bad_check(rec, g).get('on', 'recording')}"
        else:
            table = _hd.detect_bad(rec, g)
            found = dict(zip(table.loc[table["bad"], "channel"], table.loc[table["bad"], "reason"]))
            how = ("checked on the signal given to the feature table, not on reading: saturation is no longer "
                   "visible once filtered (record the check on the recording as read with "
                   "paraspinal.hdsemg.mark_bad)")
            ctx.notes.append(f"hdsemg: grid {g!r}: bad electrodes {how}")
        if found:
            ctx.notes.append(f"hdsemg: grid {g!r}: {len(found)} bad electrode(s) interpolated from their neighbours "
                             f"({', '.join(f'{k}: {v}' for k, v in sorted(found.items()))}; {how})")
        bad += sorted(found)
    return bad


def rows(ctx: Context) -> Rows:
    """One row per grid, (phase, cycle) group and map feature; none without grids."""
    out = ctx.new_rows()
    rec = ctx.rec
    if not (ctx.want & _NAMES) or not _hd.is_grid_recording(rec):
        return out
    names = set(ctx.names)
    chosen, partial = [], []
    for g in _hd.grids(rec):
        (chosen if set(_hd.geometry(rec, g).channels) <= names else partial).append(g)
    if partial:
        ctx.notes.append(f"hdsemg: grids {partial} skipped: not all their channels are among the picked channels")
    if not chosen:
        return out
    groups = [(p, c, [(int(a), int(b)) for a, b in ctx.seg[ctx.groups[(p, c)]]]) for p, c in ctx.gkeys]
    table = _hd.map_features(rec, grids=chosen, groups=groups, window_s=WINDOW_S, threshold=THRESHOLD,
                             bad=_bad_electrodes(ctx, chosen))
    for r in table.itertuples(index=False):
        out.add(r.channel, r.muscle, r.side, r.phase, None if pd.isna(r.cycle) else int(r.cycle), r.feature,
                r.value, r.unit)
    return out
