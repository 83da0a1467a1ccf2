"""The tidy feature table: :func:`compute` asks each wanted feature family for its rows.

:func:`compute` returns one row per value with the columns :data:`COLUMNS`
(``subject, group, session, task, run, channel, muscle, side, phase, cycle, feature, value,
unit``). Row order is deterministic: channels in channel-table order, then left/right
pairs, then agonist/antagonist pairs; phases in order of first appearance (``all`` last);
cycles ascending with the all-cycles row (missing cycle) last; features in
:data:`FEATURES` order.

The families and their features are listed in :mod:`paraspinal.features.registry`; the
shared inputs (envelopes, segment sums, PSDs, ...) are computed once per recording by
:func:`paraspinal.features.context.build_context`.

Conventions of the table:

* ``phase``/``cycle``: one row per (phase, cycle) group of the phase table; when a phase
  has cycle numbers, one more row with a missing cycle pools all its segments (for ratios:
  the mean of the per-cycle numerators over the mean of the per-cycle denominators).
  Whole-recording features (``sdr``, spasm-like bursts) have ``phase == "all"``; a
  recording without phases is one ``all`` phase.
* pair features (asymmetry, co-contraction) have ``channel == "A|B"``: ``"L_MF|R_MF"``
  (left first) with ``muscle == "MF"`` and ``side == "L|R"``, or ``"L_LT|L_RA"``
  (agonist first) with ``muscle == "LT|RA"`` and ``side == "L"``.
* amplitudes are in uV, or in the normalisation unit of the channel (``%MVC``, ``%RVC``,
  ``%peak``) when the Recording was normalised; ``unit`` says which.
* non-finite values (e.g. no EMG-off found in a cycle) are left out, never written as NaN;
  ``df.attrs["dropped"]`` counts them and ``df.attrs["parameters"]`` records every
  parameter used.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .. import phases as _ph
from ..errors import ChannelError, ParameterError, ParaspinalWarning, SignalError
from ..recording import Recording, unit_scale
from .base import Context, Feature, Rows
from .context import build_context
from .expectations import missing_features, missing_message
from .quality import ARTEFACT_FEATURES, quality_column
from .registry import FAMILIES, FEATURES, feature_table_markdown, wanted

__all__ = ["COLUMNS", "FEATURES", "Feature", "compute", "feature_table_markdown"]

#: Columns of the tidy feature table.
COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run", "channel", "muscle", "side", "phase",
                            "cycle", "feature", "value", "unit", "quality")


def compute(
    rec: Recording,
    *,
    features: Iterable[str] | None = None,
    phases: pd.DataFrame | None = None,
    picks: Iterable[str] | None = None,
    envelope: str = "rms",
    window_ms: float = 250.0,
    env_rate: float = 100.0,
    percentiles: Sequence[float] = (10, 50, 90),
    band: tuple[float, float] = (20.0, 450.0),
    nperseg_s: float = 0.5,
    finsm5_band: tuple[float, float] | None = None,
    fatigue_phases: Sequence[str] = ("sorensen_hold", "all"),
    fatigue_window: float = 1.0,
    min_fatigue_duration: float = 10.0,
    statistic: str = "max",
    frp_statistic: str = "mean",
    frp_threshold: float = 4.0,
    trim: float = 0.5,
    frp_angle_threshold: str = "peak",
    frp_angle_p: float = 25.0,
    frp_t_min: float = 0.25,
    static_phases: Sequence[str] = ("standing", "sitting", "prone"),
    dynamic_phases: Sequence[str] = _ph.DYNAMIC,
    max_lag: float = 0.5,
    spasm_phases: Sequence[str] = ("standing", "sitting", "prone", "rest"),
    spasm_k: float = 2.0,
    spasm_min_duration: float = 0.1,
    spasm_merge: float = 0.25,
    spasm_edge: float = 0.5,
    block_channels: int = 4,
    artefact: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compute the features of a conditioned Recording as the tidy table of DESIGN.md.

    Each envelope is computed once for all channels (moving RMS by cumulative sums,
    sampled at ``env_rate``) and reused for every phase and feature; Welch PSDs are
    computed once per phase segment for a block of channels at once. The channels are
    processed ``block_channels`` at a time to bound memory.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG (e.g. :func:`paraspinal.pipeline.preprocess`), not modified.
    features : iterable of str, optional
        Feature names or families (``"amplitude"``, ``"spectral"``, ``"fatigue"``,
        ``"flexion-relaxation"``, ``"static-dynamic"``, ``"asymmetry"``,
        ``"co-contraction"``, ``"spasm"``); default all.
    phases : pandas.DataFrame, optional
        Phase table (default ``rec.phases``, validated; no phases = one ``all`` phase).
    picks : iterable of str, optional
        EMG channels (default all).
    envelope : {"rms", "linear"}
        Envelope for peak, percentiles, CV and the trunk features: centred moving RMS of
        ``window_ms`` (default; Clancy et al. 2002) or the 6 Hz linear envelope
        (Winter 2009).
    window_ms : float
        Moving-RMS window (ms), default 250 (posture phases).
    env_rate : float
        Rate (Hz) at which the envelope is kept (default 100 Hz; a 250 ms RMS has almost
        no content above 10 Hz).
    percentiles : sequence of float
        Envelope percentiles (``p10``, ``p50``, ``p90``).
    band : (float, float)
        Spectral band in Hz (upper limit cut at Nyquist).
    nperseg_s : float
        Welch segment in s (default 0.5).
    finsm5_band : (float, float), optional
        FInsm5 band (default ``band``).
    fatigue_phases : sequence of str
        Phases whose segments get an MDF fatigue slope (``all`` = a recording without phases).
    fatigue_window : float
        MDF window for the slope (s).
    min_fatigue_duration : float
        Shortest segment that gets a slope (s).
    statistic : {"max", "mean"}
        Numerator statistic of FRR, ERR, FER (max: Alschuler et al. 2009).
    frp_statistic : {"max", "mean"}
        Statistic of the ERR used for ``frp_present``.
    frp_threshold : float
        ERR at or above which FRP counts as present.
    trim : float
        Seconds removed at both ends of each phase segment for the trunk features.
    frp_angle_threshold : {"peak", "baseline"}
        EMG-off/on threshold (see :func:`paraspinal.phases.frp_angles`).
    frp_angle_p : float
        Percent of the peak flexion envelope for ``"peak"``.
    frp_t_min : float
        Minimum run length for EMG-off/on (s).
    static_phases, dynamic_phases : sequence of str
        Phases pooled for ``rms_static`` and ``rms_dynamic`` (SDR).
    max_lag : float
        Largest lag of the left/right cross-correlation (s).
    spasm_phases : sequence of str
        Phases searched for spasm-like bursts.
    spasm_k, spasm_min_duration, spasm_merge, spasm_edge : float
        Burst threshold factor, minimum duration (s), merge gap (s), phase edges ignored (s).
    block_channels : int
        Channels processed together.
    artefact : pandas.DataFrame, optional
        Per-channel summary of :func:`paraspinal.preprocessing.residual_artefact` for the
        ``quality`` column (a study passes the one it computed for ``qc.parquet``); default:
        measured here when a flexion-relaxation feature is computed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``attrs["parameters"]`` records the parameters and
        ``attrs["notes"]`` any caveat (e.g. co-contraction on un-normalised envelopes).
        ``quality`` flags the values to read with care (module ``paraspinal.features.quality``):
        flexion-relaxation rows carry ``"artefact"`` when the residual mains/ECG in full
        flexion exceeds 0.3 x the EMG there, ``"phases_from_envelope"`` when no annotation or
        angle gave the phases, else ``"ok"``; rows of features without a check carry None.

    Raises
    ------
    ChannelError
        No EMG channel.
    ParameterError
        Invalid parameters.
    SignalError
        The recording is shorter than ``max(window_ms, nperseg_s)`` (0.5 s by default), or
        every EMG channel is flat.

    Notes
    -----
    Entry checks (nothing meaningless is computed, nothing is left out silently): a flat
    channel (peak-to-peak below 0.1 µV, the QC's flat line) gives no row, with one warning and
    a row in ``attrs["missing"]``; a phase shorter than the envelope window, or starting after
    the last sample, gives no row, and one that runs past the end is cut there, each with a
    warning naming it.
    """
    params = {k: v for k, v in locals().items() if k not in ("rec", "phases", "artefact")}
    file = rec.meta.get("source")
    want = wanted(features, percentiles)
    names = rec.emg_names if picks is None else list(picks)
    if not names:
        raise ChannelError("the recording has no EMG channel", file=file, hint="check the channel types")
    for nm in names:
        if nm not in rec.emg_names:
            raise ChannelError("not an EMG channel", file=file, channel=nm, hint=f"EMG channels: {rec.emg_names}")
    if statistic not in ("max", "mean") or frp_statistic not in ("max", "mean"):
        raise ParameterError(f"statistic={statistic!r}, frp_statistic={frp_statistic!r}",
                             file=file, hint="use 'max' or 'mean'")
    if envelope not in ("rms", "linear"):
        raise ParameterError(f"envelope={envelope!r}", file=file, hint="use 'rms' or 'linear'")
    _check_length(rec, window_ms, nperseg_s, file)
    names, flat = _without_flat(rec, names, file)
    phases = _usable_phases(rec, phases, window_ms / 1000.0, file)
    asked = [fam for fam in FAMILIES if want & fam.names(params)]
    ctx = build_context(rec, names, phases, want, params, {n for fam in asked for n in fam.needs})
    rows = Rows(want)
    for fam in asked:
        rows.extend(fam.rows(ctx))
    df = _table(ctx, rows)
    df["quality"] = quality_column(df["feature"], df["channel"], _artefact_summary(ctx, df, artefact),
                                   df.attrs["phase_source"])
    _note_missing(df, ctx, want, file)
    df.attrs["missing"] += [{"channel": nm, "family": "all", "features": "all", "reason": FLAT_REASON} for nm in flat]
    return df


def _artefact_summary(ctx: Context, df: pd.DataFrame, given: pd.DataFrame | None) -> pd.DataFrame | None:
    """The residual-artefact summary the ``quality`` column needs: given, measured, or None (no such row)."""
    if given is not None:
        return given
    if not df["feature"].isin(sorted(ARTEFACT_FEATURES)).any():
        return None
    from ..preprocessing.artefact import ARTEFACT_DEFAULTS, residual_artefact

    # the summary compares the reference phase (full flexion) only: measure that phase alone when it is
    # there, and only the pooled rows the summary reads
    ref = ARTEFACT_DEFAULTS["reference_phase"]
    static = (ref,) if (ctx.ph["phase"] == ref).any() else ARTEFACT_DEFAULTS["static_phases"]
    return residual_artefact(ctx.rec, ctx.ph, picks=list(ctx.names), static_phases=static, per_cycle=False)[1]


#: Peak-to-peak (µV) below which a conditioned EMG channel is flat: the QC's "flat line" (0.1 µV).
FLAT_UV = 0.1
FLAT_REASON = f"flat channel (peak-to-peak below {FLAT_UV:g} µV: disconnected or dead electrode)"


def _check_length(rec: Recording, window_ms: float, nperseg_s: float, file: str | None) -> None:
    """A recording shorter than the envelope window or the Welch segment gives no meaningful feature."""
    need = max(window_ms / 1000.0, nperseg_s)
    if rec.duration < need:
        raise SignalError(
            f"the recording lasts {rec.duration:.3g} s ({rec.n_samples} samples), shorter than the {need:g} s the "
            f"features need (the {window_ms:g} ms envelope window and the {nperseg_s:g} s Welch segment)",
            file=file, hint="use a longer recording, or pass smaller window_ms= and nperseg_s=")


def _without_flat(rec: Recording, names: list[str], file: str | None) -> tuple[list[str], list[str]]:
    """The channels that carry a signal, and the flat ones (left out, with one warning).

    The peak-to-peak is taken on the stored rows, without a copy: the smallest and largest
    sample divided by the unit's scale are the smallest and largest of the divided samples
    (IEEE division rounds monotonically), so the values are those of ``rec.get_data(unit="uV")``.
    """
    unit = dict(zip(rec.channels["name"], rec.channels["unit"]))
    idx = rec._picks(names)
    stored = rec.raw._data
    scale = unit_scale("uV")
    flat = []
    for nm, i in zip(names, idx):
        row = stored[i]
        lo, hi = float(row.min()), float(row.max())
        if unit[nm] == "V":
            lo, hi = lo / scale, hi / scale
        limit = FLAT_UV if unit[nm] == "V" else 0.0
        if not hi - lo > limit:
            flat.append(nm)
    if flat and len(flat) == len(names):
        raise SignalError(f"every EMG channel is flat ({FLAT_REASON})", file=file, channel=flat[0],
                          hint="check the electrodes and the amplifier, and the channel types")
    if flat:
        warnings.warn(f"{file + ': ' if file else ''}{', '.join(map(repr, flat))}: {FLAT_REASON}; no feature is "
                      "computed for it (see df.attrs['missing'])", ParaspinalWarning, stacklevel=3)
    return [nm for nm in names if nm not in flat], flat


def _usable_phases(rec: Recording, phases: pd.DataFrame | None, min_s: float, file: str | None
                   ) -> pd.DataFrame | None:
    """The phase table without the rows that give no feature (too short, or after the end), with a warning.

    A phase shorter than the envelope window (``min_s``) has no envelope value of its own; one
    that starts after the last sample has no data; one that runs past the end is cut there.
    """
    table = rec.phases if phases is None else phases
    if not len(table) or not {"onset", "duration", "phase"} <= set(table.columns):
        return phases  # validate() says what is wrong with a malformed table
    onset = pd.to_numeric(table["onset"], errors="coerce").to_numpy(dtype=float)
    dur = pd.to_numeric(table["duration"], errors="coerce").to_numpy(dtype=float)
    end = rec.duration
    span = np.isfinite(onset) & np.isfinite(dur) & (dur >= 0)  # the others are an error of validate()
    short = span & (dur < min_s)
    after = span & (onset >= end)
    past = span & ~after & (onset + dur > end + 0.5 / rec.sfreq)

    def listed(mask: np.ndarray) -> str:
        items = [f"{p!r} at {o:g} s ({d:g} s)" for p, o, d in zip(table["phase"][mask], onset[mask], dur[mask])]
        return ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")

    said = []
    if (short & ~after).any():
        said.append(f"phase(s) shorter than the {min_s * 1000:g} ms envelope window give no features: "
                    f"{listed(short & ~after)}")
    if after.any():
        said.append(f"phase(s) that start after the end of the recording ({end:g} s) are left out: {listed(after)}")
    if past.any():
        said.append(f"phase(s) that run past the end of the recording ({end:g} s) are cut there: {listed(past)}")
    if said:
        warnings.warn(f"{file + ': ' if file else ''}{'; '.join(said)}", ParaspinalWarning, stacklevel=3)
    drop = short | after
    return phases if not drop.any() else table[~drop].reset_index(drop=True)


def _note_missing(df: pd.DataFrame, ctx: Context, want: set[str], file: str | None) -> None:
    """Say which expected features are missing and why: ``attrs["missing"]`` and one warning."""
    o = ctx.options
    missing = missing_features(df, ctx.ph, ctx.rec.channels, names=ctx.names, want=want,
                               static_phases=o["static_phases"], dynamic_phases=o["dynamic_phases"],
                               sfreq=ctx.fs, n_samples=ctx.rec.n_samples)
    df.attrs["missing"] = missing.to_dict("records")
    if len(missing):
        warnings.warn(missing_message(missing, file), ParaspinalWarning, stacklevel=3)


def _text_column(values: list, codes: np.ndarray, uniq: np.ndarray, order: np.ndarray) -> pd.Series:
    """``pd.Series([values[i] for i in order])``, made from the few distinct values.

    ``codes, uniq`` are ``pd.factorize`` of ``values`` (None: code -1). A table column holds a
    few distinct names (channels, phases, features, units) over many rows: the distinct ones
    are converted once (the same dtype inference as the whole list, ``str`` with None as
    missing) and gathered by code, instead of converting every row.
    """
    if len(uniq) and all(type(u) is str for u in uniq):
        return pd.Series(pd.Series([*uniq.tolist(), None]).array.take(codes[order]))
    return pd.Series([values[i] for i in order.tolist()])


def _table(ctx: Context, rows: Rows) -> pd.DataFrame:
    """The tidy table of the families' rows: finite values only, in the documented order.

    The rows are sorted as columns (NumPy arrays) and the DataFrame is built once, in order.
    """
    rec, names, labels, params = ctx.rec, ctx.names, ctx.labels, ctx.options
    percentiles = params["percentiles"]
    ch, mus, sd, ph, cyc, feat, val, unit = rows.columns
    value = np.array(val, dtype=float)
    finite = np.isfinite(value)
    dropped = int((~finite).sum())
    # pair channels ("L_MF|R_MF", "L_LT|L_RA") after the channels, in the order the families wrote them
    channels = set(names)
    pair_order = [c for c in dict.fromkeys(ch) if c not in channels]
    ch_order = {nm: i for i, nm in enumerate(list(names) + pair_order)}
    ph_order = {p: i for i, p in enumerate(dict.fromkeys(labels))}
    ph_order.setdefault("all", len(ph_order))
    f_order = {f: i for i, f in enumerate(["rms", "arv", "iemg", "peak", *[f"p{p:g}" for p in percentiles]]
                                          + [f for f in FEATURES if f not in ("rms", "arv", "iemg", "peak", "p10",
                                                                               "p50", "p90")])}
    # sort keys: each distinct name looked up once (NaN for an unknown one), no pandas in a loop
    nan = float("nan")
    keep = np.flatnonzero(finite)

    # each text column factorized once: its codes give the sort keys and the column itself
    text = {name: (col, *pd.factorize(np.array(col, dtype=object)))
            for name, col in (("channel", ch), ("muscle", mus), ("side", sd), ("phase", ph), ("feature", feat),
                              ("unit", unit))}

    def key(name: str, order: dict) -> np.ndarray:
        _, codes, uniq = text[name]
        return np.array([order.get(u, nan) for u in uniq] + [nan], float)[codes][keep]  # code -1: missing

    keys = [key(name, order) for name, order in (("feature", f_order), ("phase", ph_order), ("channel", ch_order))]
    cycles = [v if type(v) is int else (None if v is None or pd.isna(v) else int(v)) for v in cyc]
    y = np.array([10**9 if v is None else v for v in cycles], float)[keep]
    order = keep[np.lexsort((keys[0], y, keys[1], keys[2]))]
    df = pd.DataFrame({name: _text_column(*text[name], order) for name in ("channel", "muscle", "side", "phase")})
    df["cycle"] = pd.array([cycles[i] for i in order.tolist()], dtype="Int64")
    df["feature"] = _text_column(*text["feature"], order)
    df["value"] = value[order]
    df["unit"] = _text_column(*text["unit"], order)
    for col in ("subject", "group", "session", "task", "run"):
        v = rec.meta.get(col)
        df.insert(list(COLUMNS).index(col), col, None if v is None else str(v))
    df = df[[c for c in COLUMNS if c != "quality"]]  # quality: added by compute
    df.attrs["parameters"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
    df.attrs["notes"] = ctx.notes
    df.attrs["dropped"] = dropped
    df.attrs["phase_source"] = rec.meta.get("phase_source", sorted(set(ctx.ph["source"])))
    return df
