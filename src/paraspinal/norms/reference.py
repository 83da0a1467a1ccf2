"""Normative reference from control subjects: feature distributions and envelope bands.

A :class:`NormativeReference` holds, per key (task, phase, muscle, side, channel, feature), the
distribution of the control subjects' *subject-level* values (n, mean, SD, median, percentiles,
range, and the values themselves for empirical percentiles), and optionally a time-normalised
envelope band per phase (0-100 % of the phase, mean +/- SD over control subjects). Build it once
from a lab's controls, save it, and score new subjects against it
(:func:`paraspinal.norms.score`).

Saved form (a folder; no dates, so the same input gives the same bytes)::

    reference.json     provenance: kind, format, paraspinal version, source, group, n subjects,
                       subject ids, keys, percentiles, aggregation rule, SHA-256 of the values
    stats.parquet      one row per key: n, mean, sd, median, p5, p25, p75, p95, min, max (+ stats.csv)
    values.parquet     the control subjects' subject-level values
    envelopes.parquet  the envelope band (if built)
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import ParameterError, ParaspinalWarning, ReadError
from ..recording import Recording, unit_scale
from ._table import KEYS, _key_frame, restore_missing, subject_level, write_atomic, write_text_atomic

__all__ = [
    "NormativeReference",
    "build_reference",
    "load_reference",
    "build_from_study",
    "envelope_curves",
    "envelope_band",
    "kinematic_features",
    "DISCLAIMER",
]

FORMAT = 1
KIND = "paraspinal.norms.NormativeReference"
DISCLAIMER = ("a normative reference describes the control subjects it was built from; scores against it are "
              "research measures, not diagnoses")
AGGREGATION = ("subject-level values: within a recording the pooled row of a phase (cycle empty) when present, "
               "else the mean of the per-cycle rows; then the mean over runs and sessions of the subject")
BAND_COLUMNS = ["task", "phase", "channel", "muscle", "side", "unit", "pct", "n", "mean", "sd"]


def _sha256_table(df: pd.DataFrame) -> str:
    return hashlib.sha256(df.to_csv(index=False, lineterminator="\n").encode("utf-8")).hexdigest()


@dataclass
class NormativeReference:
    """Control-group distributions of subject-level features (and envelope bands).

    Attributes
    ----------
    stats : pandas.DataFrame
        One row per key (``provenance["by"]``): ``unit, n, mean, sd, median, p5, p25, p75, p95,
        min, max`` (SD with ddof = 1; percentiles by linear interpolation, Hyndman & Fan type 7).
    values : pandas.DataFrame
        ``subject, *by, value, unit``: the control subjects' values (for empirical percentiles).
    envelopes : pandas.DataFrame or None
        Envelope band (:func:`envelope_band`): ``task, phase, channel, muscle, side, unit, pct, n,
        mean, sd``.
    provenance : dict
        JSON-serialisable record of how it was built (no date: deterministic).

    Notes
    -----
    A reference describes *its* controls, recorded with *its* protocol and processing; scoring
    a subject recorded or processed differently (window length, max vs mean ratios,
    normalisation, ECG removal) is not meaningful. Scores are research measures, not diagnoses.
    """

    stats: pd.DataFrame
    values: pd.DataFrame
    envelopes: pd.DataFrame | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def by(self) -> list[str]:
        """Key columns."""
        return list(self.provenance.get("by", KEYS))

    @property
    def n_subjects(self) -> int:
        """Number of control subjects."""
        return int(self.provenance.get("n_subjects", self.values["subject"].nunique() if len(self.values) else 0))

    def band(self, task: str | None = None, phase: str | None = None, channel: str | None = None) -> pd.DataFrame:
        """The envelope band rows of one task / phase / channel (any of them may be None = all)."""
        if self.envelopes is None:
            raise ParameterError("this reference has no envelope band",
                                 hint="build it with envelopes=[control recordings or paths]")
        env = self.envelopes
        for col, val in (("task", task), ("phase", phase), ("channel", channel)):
            if val is not None:
                env = env[env[col] == val]
        return env.reset_index(drop=True)

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the reference to ``folder`` (created): Parquet tables + ``reference.json``.

        Every file is written through a temporary file and :func:`os.replace`.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(_plain(self.stats), out / "stats.parquet", "parquet")
        write_atomic(_plain(self.stats), out / "stats.csv", "csv")
        write_atomic(_plain(self.values), out / "values.parquet", "parquet")
        env_file = out / "envelopes.parquet"
        if self.envelopes is not None:
            write_atomic(_plain(self.envelopes), env_file, "parquet")
        elif env_file.exists():
            env_file.unlink()
        prov = dict(self.provenance)
        prov["files"] = sorted(["stats.parquet", "stats.csv", "values.parquet"]
                               + (["envelopes.parquet"] if self.envelopes is not None else []))
        write_text_atomic(json.dumps(prov, indent=2, sort_keys=True) + "\n", out / "reference.json")
        return out

    def __repr__(self) -> str:
        env = "no envelope band" if self.envelopes is None else f"envelope band of {len(self.envelopes)} points"
        return (f"<NormativeReference: {self.n_subjects} {self.provenance.get('group', 'control')} subjects, "
                f"{len(self.stats)} keys, {env}>")


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.attrs = {}
    return out


def build_reference(features_df: pd.DataFrame, *, group: str = "control",
                    envelopes: pd.DataFrame | Sequence[Recording | str | os.PathLike] | None = None,
                    by: Sequence[str] = KEYS, percentiles: Sequence[float] = (5, 25, 75, 95),
                    source: str | None = None, envelope_options: dict[str, Any] | None = None) -> NormativeReference:
    """Build a normative reference from the control subjects of a feature table.

    Subject-level values first (:func:`paraspinal.norms.subject_level`: the pooled-cycle row of
    each phase, else the mean of its cycles; then the mean over runs and sessions), so each
    control counts once. Then per key: ``n, mean, sd`` (ddof = 1), ``median``, the
    ``percentiles`` (linear interpolation between order statistics, Hyndman & Fan 1996 type 7,
    NumPy's default), ``min, max``.

    Parameters
    ----------
    features_df : pandas.DataFrame
        Tidy feature table; rows of other groups are ignored.
    group : str
        Label of the control group in the ``group`` column.
    envelopes : DataFrame, or sequence of Recording / paths, optional
        A band table from :func:`envelope_band`, or the control recordings (Recordings or files)
        to build it from (``envelope_options`` are passed to :func:`envelope_band`).
    by : sequence of str
        Key columns (default task, phase, muscle, side, channel, feature).
    percentiles : sequence of float
        Percentiles to store (0-100).
    source : str, optional
        Where the feature table came from (kept in the provenance; default
        ``features_df.attrs["source"]`` or ``"DataFrame"``).
    envelope_options : dict, optional
        Options of :func:`envelope_band` when ``envelopes`` are recordings.

    Returns
    -------
    NormativeReference

    Raises
    ------
    ParameterError
        No subject of ``group`` in the table, or invalid percentiles.

    References
    ----------
    Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages. Am Stat 50:361-365.
    """
    by = list(by)
    pct = [float(p) for p in percentiles]
    if any(not (0 <= p <= 100) for p in pct):
        raise ParameterError(f"percentiles must lie in 0-100, got {list(percentiles)}")
    sub = subject_level(features_df, by=by)
    groups = sorted(set(sub["group"]))
    sub = sub[sub["group"] == group]
    if sub.empty:
        raise ParameterError(f"no subject of group {group!r} in the feature table (groups found: {groups})",
                             hint="set group= to the control label of the group column")
    values = sub[["subject"] + by + ["value", "unit"]].reset_index(drop=True)
    g = values.groupby(by + ["unit"], sort=True)["value"]
    stats = g.agg(n="count", mean="mean", sd="std", median="median", min="min", max="max")
    if pct:
        q = g.quantile([p / 100 for p in pct]).unstack()
        q.columns = [f"p{p:g}" for p in pct]
        stats = stats.join(q)
    stats = stats.reset_index()
    cols = by + ["unit", "n", "mean", "sd", "median"] + [f"p{p:g}" for p in pct] + ["min", "max"]
    stats = restore_missing(stats[cols], by)
    values = restore_missing(values, by)
    env_table = None
    env_prov = None
    if envelopes is not None:
        if isinstance(envelopes, pd.DataFrame):
            env_table = envelopes
        else:
            env_table = envelope_band(envelopes, group=group, **(envelope_options or {}))
        missing = sorted(set(BAND_COLUMNS) - set(env_table.columns))
        if missing:
            raise ParameterError(f"the envelope band lacks the column(s) {missing}",
                                 hint="pass the output of paraspinal.norms.envelope_band")
        env_table = env_table[BAND_COLUMNS].reset_index(drop=True)
        env_prov = dict(env_table.attrs.get("provenance", {})) or {"source": "DataFrame"}
    if source is None:
        source = str(features_df.attrs.get("source", "DataFrame"))
    prov = {
        "kind": KIND,
        "format": FORMAT,
        "paraspinal_version": __version__,
        "source": source,
        "group": group,
        "n_subjects": int(values["subject"].nunique()),
        "subjects": sorted(values["subject"].astype(str).unique().tolist()),
        "by": by,
        "percentiles": pct,
        "aggregation": AGGREGATION,
        "sd": "sample SD, ddof = 1",
        "quantiles": "linear interpolation (Hyndman & Fan 1996 type 7)",
        "values_sha256": _sha256_table(values),
        "envelopes": env_prov,
        "disclaimer": DISCLAIMER,
    }
    return NormativeReference(stats=stats, values=values, envelopes=env_table, provenance=prov)


def load_reference(folder: str | os.PathLike) -> NormativeReference:
    """Load a reference written by :meth:`NormativeReference.save`.

    Parameters
    ----------
    folder : path-like
        Folder with ``reference.json``, ``stats.parquet``, ``values.parquet`` (and
        ``envelopes.parquet`` when built).

    Returns
    -------
    NormativeReference

    Raises
    ------
    ReadError
        Missing files, or not a paraspinal reference, or a newer format.
    """
    root = Path(folder)
    meta = root / "reference.json"
    try:
        prov = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ReadError("no reference.json in this folder", file=root,
                        hint="build one with paraspinal.norms.build_reference(...).save(folder) "
                             "or `paraspinal norms build OUT`") from err
    except ValueError as err:
        raise ReadError(f"reference.json is not valid JSON ({err})", file=meta) from err
    if prov.get("kind") != KIND:
        raise ReadError(f"reference.json is not a paraspinal normative reference (kind={prov.get('kind')!r})", file=meta)
    if int(prov.get("format", 0)) > FORMAT:
        raise ReadError(f"reference format {prov.get('format')} is newer than this paraspinal ({__version__}) reads",
                        file=meta, hint="upgrade paraspinal")
    try:
        stats = pd.read_parquet(root / "stats.parquet")
        values = pd.read_parquet(root / "values.parquet")
        env = pd.read_parquet(root / "envelopes.parquet") if (root / "envelopes.parquet").exists() else None
    except (OSError, ValueError) as err:
        raise ReadError(f"a reference table could not be read ({err})", file=root,
                        hint="rebuild the reference") from err
    if prov.get("values_sha256") and _sha256_table(values) != prov["values_sha256"]:
        raise ReadError("values.parquet does not match the checksum in reference.json", file=root,
                        hint="the folder was edited or mixed with another reference: rebuild it")
    return NormativeReference(stats=stats, values=values, envelopes=env, provenance=prov)


def build_from_study(out_dir: str | os.PathLike, *, group: str = "control", folder: str = "norms",
                     envelopes: Sequence[Recording | str | os.PathLike] | pd.DataFrame | None = None,
                     **options: Any) -> NormativeReference:
    """Build the reference of a processed study and write it to ``OUT/norms/``.

    Reads ``OUT/features.parquet`` (written by ``paraspinal study run``), builds the reference of
    ``group`` with :func:`build_reference` and saves it in ``OUT/<folder>``. The provenance
    records the source as ``features.parquet`` with its SHA-256.

    Parameters
    ----------
    out_dir : path-like
        Study output folder.
    group : str
        Control label.
    folder : str
        Sub-folder name for the reference.
    envelopes : optional
        Control recordings (paths) or a band table, see :func:`build_reference`.
    **options
        Passed to :func:`build_reference` (``by``, ``percentiles``, ``envelope_options``).

    Returns
    -------
    NormativeReference
    """
    out = Path(out_dir)
    path = out / "features.parquet"
    if not path.exists():
        raise ReadError("no features.parquet in the study output folder", file=out,
                        hint="run `paraspinal study run STUDY -o OUT` first")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise ReadError(f"features.parquet could not be read ({err})", file=path) from err
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    ref = build_reference(table, group=group, envelopes=envelopes, source=f"features.parquet sha256:{sha}", **options)
    ref.save(out / folder)
    return ref


# ----------------------------------------------------------------------------- envelopes
def _prepare(src: Recording | str | os.PathLike, pipeline: Any) -> Recording:
    from .. import phases as _ph

    if isinstance(src, Recording):
        rec = src
        conditioned = pipeline is None or pipeline is False
    else:
        from ..io import read

        rec = read(src)
        conditioned = pipeline is False
    if not conditioned:
        from ..pipeline import preprocess

        rec = preprocess(rec, None if pipeline is True else pipeline)
    if not len(rec.phases):
        table = _ph.detect(rec)
        if len(table):
            rec = _ph.set_phases(rec, table)
    return rec


def _emg_unit(rec: Recording, names: list[str]) -> tuple[np.ndarray, str]:
    units = rec.channels.set_index("name").loc[names, "unit"].astype(str).tolist()
    if all(unit_scale(u) is not None for u in units):
        return rec.get_data(names, unit="uV"), "uV"
    if len(set(units)) > 1:
        raise ParameterError(f"EMG channels have different units {sorted(set(units))}",
                             file=rec.meta.get("source"), hint="normalise all channels the same way")
    return rec.get_data(names, unit=None), units[0]


def envelope_curves(source: Recording | str | os.PathLike, *, window_ms: float = 250.0, n_points: int = 101,
                    pipeline: Any = None, phases: Iterable[str] | None = None) -> pd.DataFrame:
    """Time-normalised moving-RMS envelope of each phase of one recording (0-100 % of the phase).

    The envelope is the centred moving RMS (``window_ms``, default 250 ms;
    :func:`paraspinal.preprocessing.envelope`). Each phase instance (e.g. the full flexion of
    cycle 2) is resampled by linear interpolation onto ``n_points`` equally spaced points from
    its first to its last sample (0 % to 100 %); the instances of one phase are averaged.

    Parameters
    ----------
    source : Recording or path-like
        A Recording is used as given (assumed conditioned) unless ``pipeline`` is given; a
        file is read and conditioned with ``pipeline`` (None = the default pipeline; ``False`` =
        none). Phases: the recording's, else :func:`paraspinal.phases.detect`.
    window_ms : float
        Moving-RMS window in ms.
    n_points : int
        Points per phase (101 = every 1 %).
    pipeline : Pipeline, dict, path, bool or None
        See ``source``.
    phases : iterable of str, optional
        Phases to keep (default all).

    Returns
    -------
    pandas.DataFrame
        ``subject, group, session, task, run, phase, channel, muscle, side, unit, pct, value,
        n_instances``.
    """
    from .. import phases as _ph
    from ..preprocessing import envelope as _envelope

    if int(n_points) < 2:
        raise ParameterError(f"n_points must be >= 2, got {n_points}")
    n_points = int(n_points)
    rec = _prepare(source, pipeline)
    names = rec.emg_names
    if not names:
        raise ParameterError("the recording has no EMG channel", file=rec.meta.get("source"))
    env = _envelope(rec, "rms", window_ms=window_ms)
    data, unit = _emg_unit(env, names)
    ph = rec.phases
    keep = None if phases is None else set(phases)
    seg = _ph.segments(ph, rec.sfreq, rec.n_samples)
    pct = np.linspace(0.0, 100.0, n_points)
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    order: list[str] = []
    for (a, b), p in zip(seg, ph["phase"].astype(str)):
        if (keep is not None and p not in keep) or b - a < 2:
            continue
        pos = np.linspace(0.0, b - a - 1, n_points)
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, b - a - 1)
        frac = pos - i0
        block = data[:, a:b]
        curve = block[:, i0] * (1.0 - frac) + block[:, i1] * frac
        if p not in sums:
            sums[p], counts[p] = np.zeros_like(curve), 0
            order.append(p)
        sums[p] += curve
        counts[p] += 1
    chans = rec.channels.set_index("name").loc[names]
    meta = rec.meta
    subject = meta.get("subject")
    if subject is None:
        subject = str(meta.get("source", "recording"))
        warnings.warn(f"recording {subject!r} has no subject id in meta: it counts as its own subject",
                      ParaspinalWarning, stacklevel=2)
    frames = []
    for p in order:
        mean = sums[p] / counts[p]
        frames.append(pd.DataFrame({
            "phase": p, "channel": np.repeat(names, n_points),
            "muscle": np.repeat(chans["muscle"].to_numpy(object), n_points),
            "side": np.repeat(chans["side"].to_numpy(object), n_points),
            "pct": np.tile(pct, len(names)), "value": mean.ravel(), "n_instances": counts[p]}))
    cols = ["subject", "group", "session", "task", "run", "phase", "channel", "muscle", "side", "unit", "pct", "value",
            "n_instances"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    for k in ("subject", "group", "session", "task", "run"):
        v = subject if k == "subject" else meta.get(k)
        out[k] = None if v is None else str(v)
    out["unit"] = unit
    return out[cols]


def envelope_band(recordings: Sequence[Recording | str | os.PathLike], *, window_ms: float = 250.0,
                  n_points: int = 101, pipeline: Any = None, phases: Iterable[str] | None = None,
                  group: str | None = None) -> pd.DataFrame:
    """Control band of time-normalised phase envelopes: mean +/- SD over subjects at each % of a phase.

    Each recording gives its phase curves (:func:`envelope_curves`: moving RMS, each phase
    instance resampled to ``n_points`` over 0-100 % of its duration, instances averaged). A
    subject's curves are averaged over its recordings (runs, sessions) of the same task; then,
    at every point, ``n`` subjects, ``mean`` and ``sd`` (ddof = 1) across subjects.

    Parameters
    ----------
    recordings : sequence of Recording or path-like
        The control recordings (see :func:`envelope_curves` for conditioning).
    window_ms, n_points, pipeline, phases
        See :func:`envelope_curves`.
    group : str, optional
        Keep only recordings whose ``meta["group"]`` is this (None = all given).

    Returns
    -------
    pandas.DataFrame
        ``task, phase, channel, muscle, side, unit, pct, n, mean, sd`` sorted by task, phase (in
        order of first appearance), channel, pct; ``attrs["provenance"]`` records the options.
    """
    if isinstance(recordings, (str, os.PathLike, Recording)):
        recordings = [recordings]
    curves = []
    for src in recordings:
        c = envelope_curves(src, window_ms=window_ms, n_points=n_points, pipeline=pipeline, phases=phases)
        if group is not None and len(c) and not (c["group"] == group).all():
            continue
        curves.append(c)
    curves = [c for c in curves if len(c)]
    if not curves:
        raise ParameterError("no envelope curve could be computed from the recordings given",
                             hint="pass control recordings with phases (annotations, events.tsv or a trunk angle)")
    allc = pd.concat(curves, ignore_index=True)
    key = ["task", "phase", "channel", "muscle", "side", "unit"]
    kf = _key_frame(allc, key)
    allc = pd.concat([kf, allc[["subject", "pct", "value"]]], axis=1)
    per_sub = allc.groupby(key + ["subject", "pct"], sort=False)["value"].mean().reset_index()
    band = per_sub.groupby(key + ["pct"], sort=False)["value"].agg(n="count", mean="mean", sd="std").reset_index()
    phase_order = {p: i for i, p in enumerate(dict.fromkeys(allc["phase"]))}
    band = band.assign(_po=band["phase"].map(phase_order)).sort_values(["task", "_po", "channel", "pct"],
                                                                       kind="mergesort")
    band = restore_missing(band.drop(columns="_po").reset_index(drop=True), key)
    band.attrs["provenance"] = {"window_ms": float(window_ms), "n_points": n_points, "envelope": "moving RMS",
                                "n_recordings": len(curves), "n_subjects": int(per_sub["subject"].nunique()),
                                "aggregation": "phase instances averaged per recording, recordings per subject, "
                                               "then mean and SD (ddof=1) over subjects"}
    return band[BAND_COLUMNS]


# ----------------------------------------------------------------------------- kinematics
def kinematic_features(rec: Recording, *, channel: str = "TRUNK_ANGLE") -> pd.DataFrame:
    """Range-of-motion rows for the feature table, from a trunk-angle channel.

    ``trunk_flexion_max`` (deg): per ``full_flexion`` phase instance, the largest trunk angle
    minus the standing baseline (median angle over the ``standing`` phases, else the 5th
    percentile of the whole recording), with ``cycle`` as in the phase table, plus a pooled
    row (``cycle`` empty) = mean over instances. Reduced maximal flexion is a guarding sign
    that needs kinematics (Lund et al. 1991; Neblett et al. 2013: gross flexion ROM).

    Parameters
    ----------
    rec : Recording
        With phases and a trunk-angle channel in degrees.
    channel : str
        Angle channel name.

    Returns
    -------
    pandas.DataFrame
        Tidy rows (the feature-table columns); empty when the recording has no such channel or
        no full-flexion phase.
    """
    from .. import phases as _ph
    from ..features import COLUMNS

    if channel not in rec.ch_names:
        return pd.DataFrame(columns=list(COLUMNS))
    ang = rec.get_data([channel], unit=None)[0]
    ph = rec.phases
    seg = _ph.segments(ph, rec.sfreq, rec.n_samples)
    labels = ph["phase"].astype(str).to_numpy()
    stand = [ang[a:b] for (a, b), p in zip(seg, labels) if p == "standing" and b > a]
    base = float(np.median(np.concatenate(stand))) if stand else float(np.percentile(ang, 5))
    rows = []
    for (a, b), p, c in zip(seg, labels, ph["cycle"]):
        if p == "full_flexion" and b > a:
            rows.append((None if pd.isna(c) else int(c), float(ang[a:b].max() - base)))
    if not rows:
        return pd.DataFrame(columns=list(COLUMNS))
    cyc = [r[0] for r in rows] + ([None] if any(r[0] is not None for r in rows) else [])
    vals = [r[1] for r in rows] + ([float(np.mean([r[1] for r in rows]))] if len(cyc) > len(rows) else [])
    meta = rec.meta
    out = pd.DataFrame({
        "subject": meta.get("subject"), "group": meta.get("group"), "session": meta.get("session"),
        "task": meta.get("task"), "run": meta.get("run"), "channel": channel, "muscle": None, "side": None,
        "phase": "full_flexion", "cycle": pd.array(cyc, dtype="Int64"), "feature": "trunk_flexion_max",
        "value": vals, "unit": "deg", "quality": None})
    for k in ("subject", "group", "session", "task", "run"):
        out[k] = out[k].astype(object).where(out[k].notna(), None)
        out[k] = [None if v is None else str(v) for v in out[k]]
    return out[list(COLUMNS)]
