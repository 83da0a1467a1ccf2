"""One recording: read, check, condition, find phases, compute the features (what every scheduler runs)."""

from __future__ import annotations

import os
import platform
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..errors import ChannelError
from ..pipeline import Pipeline
from ..recording import META_KEYS

__all__ = ["FEATURE_COLUMNS", "QC_ID_COLUMNS", "QC_RESULT_COLUMNS", "SORT_COLUMNS", "RecordingResult", "process_recording",
           "text_or_none"]


#: Columns of the combined feature table (those of :data:`paraspinal.features.COLUMNS`).
FEATURE_COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run", "channel", "muscle", "side",
                                    "phase", "cycle", "feature", "value", "unit", "quality")
#: Row order of the feature table.
SORT_COLUMNS: tuple[str, ...] = ("subject", "session", "task", "run", "channel", "phase", "cycle", "feature")
#: Identity columns put in front of the QC table's own columns.
QC_ID_COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run")
#: Columns after the signal-quality columns: what the processed recording says about its own
#: features. ``missing_features``: every expected feature the table lacks for the channel and why
#: (:mod:`paraspinal.features.expectations`; ``|`` between reasons); ``ff_artefact_to_emg``,
#: ``artefact`` (``ok``/``artefact``/``unknown``) and ``artefact_reason``: the residual mains and
#: ECG against the EMG of the quietest static phase after conditioning
#: (:func:`paraspinal.preprocessing.residual_artefact`).
QC_RESULT_COLUMNS: tuple[str, ...] = ("missing_features", "ff_artefact_to_emg", "artefact", "artefact_reason")


class RecordingResult(NamedTuple):
    """What :func:`process_recording` returns.

    Attributes
    ----------
    features : pandas.DataFrame
        The tidy feature table (:data:`FEATURE_COLUMNS`), rows sorted by :data:`SORT_COLUMNS`.
    qc : pandas.DataFrame
        :data:`QC_ID_COLUMNS` + :data:`paraspinal.preprocessing.qc.QC_COLUMNS` +
        :data:`QC_RESULT_COLUMNS`, one row per channel.
    info : dict
        JSON-safe facts: sampling rate, duration, channels, phase source, the phases,
        per-step timings (s), peak resident memory of the process during the call (MB,
        Linux), warnings.
    display : dict or None
        With ``display_rate``: decimated envelopes for the report (``times`` s,
        ``envelope`` uV (n_emg, n), ``channels``, optional ``angle`` deg).
    """

    features: pd.DataFrame
    qc: pd.DataFrame
    info: dict[str, Any]
    display: dict[str, np.ndarray] | None


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark (``VmHWM``) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float | None:
    """``VmHWM`` of this process in MB (None when /proc is unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return None


def text_or_none(series: pd.Series) -> pd.Series:
    """Strings, with None where missing (object dtype; the same whatever the input dtype)."""
    s = series.astype(object)
    missing = s.isna().to_numpy()
    out = s.astype(str).astype(object)
    out[missing] = None
    return out


def _sorted_features(df: pd.DataFrame) -> pd.DataFrame:
    df = df.loc[:, list(FEATURE_COLUMNS)].copy()
    for c in FEATURE_COLUMNS:
        if c == "cycle":
            df[c] = pd.array(df[c], dtype="Int64")
        elif c == "value":
            df[c] = df[c].astype("float64")
        else:
            df[c] = text_or_none(df[c])
    df = df.sort_values(list(SORT_COLUMNS), kind="mergesort", na_position="last")
    return df.reset_index(drop=True)


def process_recording(
    path: str | os.PathLike,
    pipeline: Pipeline | str | os.PathLike | Mapping[str, Any] | None = None,
    reader_options: Mapping[str, Any] | None = None,
    *,
    meta: Mapping[str, Any] | None = None,
    feature_options: Mapping[str, Any] | None = None,
    phase_options: Mapping[str, Any] | None = None,
    display_rate: float | None = None,
) -> RecordingResult:
    """Read, check, condition, find phases and compute the features of one recording.

    The one per-recording function of a study run: every scheduler runs exactly this.

    Parameters
    ----------
    path : path-like
        Data file (opened read-only).
    pipeline : Pipeline, path, dict or None
        Conditioning (None: :meth:`paraspinal.Pipeline.default`).
    reader_options : mapping, optional
        Passed to :func:`paraspinal.read` (``format``, ``channel_map``, ...).
    meta : mapping, optional
        ``subject, group, session, task, run``; values that are not None override what the
        file says.
    feature_options : mapping, optional
        Passed to :func:`paraspinal.features.compute`.
    phase_options : mapping, optional
        Passed to :func:`paraspinal.phases.detect`.
    display_rate : float, optional
        Also return 250 ms moving-RMS envelopes sampled at this rate (Hz) for plots.

    Returns
    -------
    RecordingResult
        ``(features, qc, info, display)``.

    Raises
    ------
    ParaspinalError
        Any reading, channel or parameter problem (naming the file), e.g. a
        :class:`~paraspinal.errors.ChannelError` when the recording has no EMG channel.
    """
    from .. import features as _features
    from .. import phases as _phases
    from ..io import read
    from ..pipeline import preprocess
    from ..preprocessing import moving_rms_array, residual_artefact
    from ..preprocessing.qc import QC_COLUMNS, qc

    reset = _reset_peak_rss()
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = time.perf_counter()
        rec = read(path, **dict(reader_options or {}))
        given = {k: v for k, v in (meta or {}).items() if v is not None}
        if given:
            rec = rec.with_meta(**given)
        timings["read"] = time.perf_counter() - t
        if not rec.emg_names:
            raise ChannelError(
                f"no EMG channel among {rec.ch_names}", file=path,
                hint="name the EMG channels so paraspinal recognises them (e.g. L_MF, R_LT) or give a channel_map "
                     "(manifest column or reader option), or set their type to EMG in channels.tsv")
        t = time.perf_counter()
        q = qc(rec)
        timings["qc"] = time.perf_counter() - t
        t = time.perf_counter()
        proc = preprocess(rec, pipeline)
        del rec
        timings["preprocess"] = time.perf_counter() - t
        t = time.perf_counter()
        ph = _phases.detect(proc, **dict(phase_options or {}))
        if len(ph):
            proc = _phases.set_phases(proc, ph)
        timings["phases"] = time.perf_counter() - t
        t = time.perf_counter()
        artefact = residual_artefact(proc)[1]
        timings["artefact"] = time.perf_counter() - t
        t = time.perf_counter()
        fopts = dict(feature_options or {})
        feats = _features.compute(proc, artefact=artefact, **fopts)
        missing = pd.DataFrame(feats.attrs.get("missing", []), columns=["channel", "family", "features", "reason"])
        wanted = fopts.get("features")
        if wanted is None or "trunk_flexion_max" in (wanted if not isinstance(wanted, str) else [wanted]):
            # maximal trunk flexion from the angle channel (the guarding profile's range-of-motion sign)
            from ..norms.reference import kinematic_features

            kin = kinematic_features(proc)
            if len(kin):
                feats = pd.concat([feats, kin.astype(feats.dtypes.to_dict())], ignore_index=True)
        timings["features"] = time.perf_counter() - t
        display = None
        if display_rate:
            t = time.perf_counter()
            display = _display(proc, display_rate, moving_rms_array)
            timings["display"] = time.perf_counter() - t
    m = proc.meta
    feats = _sorted_features(feats)
    q = _with_results(q.reindex(columns=list(QC_COLUMNS)).copy(), missing, artefact, list(proc.emg_names))
    for k in reversed(QC_ID_COLUMNS):
        q.insert(0, k, None if m.get(k) is None else str(m.get(k)))
    q = q.sort_values("channel", kind="mergesort").reset_index(drop=True)
    phases_tab = proc.phases
    msgs = []
    for w in caught:
        s = f"{w.category.__name__}: {w.message}"
        if s not in msgs:
            msgs.append(s)
    timings["total"] = time.perf_counter() - t_all
    info = {
        "sfreq": proc.sfreq, "duration_s": round(proc.duration, 6), "n_samples": proc.n_samples,
        "channels": list(proc.ch_names), "emg_channels": list(proc.emg_names),
        "meta": {k: (None if m.get(k) is None else str(m.get(k))) for k in META_KEYS},
        "phase_source": m.get("phase_source") if isinstance(m.get("phase_source"), (str, type(None)))
        else list(m.get("phase_source")),
        "phases": [{"onset": float(r.onset), "duration": float(r.duration), "phase": str(r.phase),
                    "cycle": None if pd.isna(r.cycle) else int(r.cycle)} for r in phases_tab.itertuples()],
        "phase_check": _jsonable_check(m.get("phase_check")),
        "n_rows": int(len(feats)), "timings_s": {k: round(v, 4) for k, v in timings.items()},
        "peak_rss_mb": _peak_rss_mb() if reset else None, "warnings": msgs[:20],
        "pid": os.getpid(), "host": platform.node(),
    }
    return RecordingResult(feats, q, info, display)


def _with_results(q: pd.DataFrame, missing: pd.DataFrame, artefact: pd.DataFrame, emg: list[str]) -> pd.DataFrame:
    """The QC table with :data:`QC_RESULT_COLUMNS`: missing features and residual artefact per channel.

    A missing pair feature (``"L_MF|R_MF"``) is named on both channels, a whole-recording one
    (channel ``""``) on every EMG channel.
    """
    said: dict[str, list[str]] = {}
    for r in missing.itertuples(index=False):
        targets = emg if not r.channel else str(r.channel).split("|")
        for ch in targets:
            said.setdefault(ch, []).append(f"{r.features}: {r.reason}" if "|" not in str(r.channel)
                                           else f"{r.features} ({r.channel}): {r.reason}")
    art = artefact.set_index("channel") if len(artefact) else None
    names = q["channel"].astype(str)
    q["missing_features"] = [(" | ".join(said[c]) if c in said else None) for c in names]
    for col, src in (("ff_artefact_to_emg", "artefact_to_emg"), ("artefact", "quality"), ("artefact_reason", "reason")):
        q[col] = [(art.at[c, src] if art is not None and c in art.index else None) for c in names]
    q["ff_artefact_to_emg"] = pd.to_numeric(q["ff_artefact_to_emg"], errors="coerce").astype(float)
    return q


def _jsonable_check(check: Any) -> Any:
    """``meta["phase_check"]`` (cycle inference, angle cross-check) in JSON-safe form."""
    if isinstance(check, Mapping):
        return {str(k): _jsonable_check(v) for k, v in check.items()}
    if isinstance(check, (list, tuple)):
        return [_jsonable_check(v) for v in check]
    if isinstance(check, (np.integer, np.floating, np.bool_)):
        return check.item()
    return check if isinstance(check, (str, int, float, bool, type(None))) else str(check)


def _display(rec: Any, rate: float, moving_rms: Callable[..., np.ndarray]) -> dict[str, np.ndarray]:
    fs = rec.sfreq
    step = max(1, int(round(fs / rate)))
    names = list(rec.emg_names)
    env = moving_rms(rec.get_data(names, unit="uV"), fs, 250.0)[:, ::step].astype(np.float32)
    out = {"times": (np.arange(env.shape[1]) * step / fs).astype(np.float32), "envelope": env,
           "channels": np.array(names, dtype=str)}
    if "TRUNK_ANGLE" in rec.ch_names:
        ang = rec.get_data(["TRUNK_ANGLE"], unit=None)[0]
        out["angle"] = ang[::step].astype(np.float32)
    return out
