"""Features of paraspinal sEMG: amplitude, spectral/fatigue, onsets, trunk features, the tidy table.

>>> import paraspinal as ps  # doctest: +SKIP
>>> table = ps.features.compute(ps.preprocess(rec))  # doctest: +SKIP
>>> table = ps.analyze("sub-01_task-frt_emg.edf")  # doctest: +SKIP

See ``docs/features.md`` for every feature's definition, unit, defaults and citation.

Layout: the numeric cores on plain arrays (``amplitude``, ``spectral``, ``onset``, ``trunk``);
one module per feature family under ``features/families/`` (a ``rows(ctx)`` function and its
documented features); the registry of the families (``features/registry.py``); the shared
per-recording context (``features/base.py``, ``features/context.py``); and the tidy table that
asks each wanted family for its rows (``features/table.py``).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ..recording import Recording
from . import amplitude, onset, spectral, trunk
from .amplitude import amplitude_features_array, arv, envelope_stats, iemg, rms, windowed_rms
from .onset import ONSET_METHODS, onsets, onsets_array
from .spectral import (
    fatigue_slope,
    finsm5,
    mdf_series,
    mean_frequency,
    median_frequency,
    spectral_features_array,
    spectral_moment,
    welch_psd,
)
from .table import COLUMNS, FEATURES, Feature, compute, feature_table_markdown
from .trunk import asymmetry, cocontraction, frp_ratios, lr_xcorr, spasm_episodes

__all__ = [
    "compute", "analyze", "COLUMNS", "FEATURES", "Feature", "feature_table_markdown",
    "rms", "arv", "iemg", "envelope_stats", "amplitude_features_array", "windowed_rms",
    "welch_psd", "spectral_moment", "mean_frequency", "median_frequency", "finsm5", "spectral_features_array",
    "mdf_series", "fatigue_slope",
    "onsets", "onsets_array", "ONSET_METHODS",
    "frp_ratios", "asymmetry", "lr_xcorr", "cocontraction", "spasm_episodes", "spasm_bursts",
    "amplitude", "spectral", "onset", "trunk",
]


def spasm_bursts(rec: Recording, *, phases: pd.DataFrame | None = None, window_ms: float = 250.0,
                 env_rate: float = 100.0, spasm_phases: tuple[str, ...] = ("standing", "sitting", "prone", "rest"),
                 k: float = 2.0, min_duration: float = 0.1, merge: float = 0.25, edge: float = 0.5) -> pd.DataFrame:
    """Spasm-like bursts of the extensor channels as events (an operational definition; METHODS.md §2.3).

    See :func:`paraspinal.features.trunk.spasm_episodes` for the rule and
    :func:`compute` for the parameters (``spasm_*`` there).

    Returns
    -------
    pandas.DataFrame
        ``onset, duration, phase, cycle, channel, amplitude, baseline`` with
        ``phase == "spasm_burst"`` (s; amplitude and baseline in the envelope unit).
    """
    import numpy as np

    from .. import phases as _ph
    from ..channels import EXTENSORS
    from .amplitude import rms_at

    fs = rec.sfreq
    names = [n for n in rec.emg_names if rec.channels.set_index("name").at[n, "muscle"] in EXTENSORS]
    ph = _ph.validate(rec.phases if phases is None else phases, on_unknown="keep")
    step = max(1, int(round(fs / env_rate)))
    centres = np.arange(0, rec.n_samples, step)
    env = rms_at(rec.get_data(names, unit="uV"), centres, max(1, int(round(window_ms * fs / 1000))))
    mask = np.zeros(centres.size, bool)
    seg = _ph.segments(ph, fs, rec.n_samples)
    t = int(round(edge * fs))
    for (a, b), p in zip(seg, ph["phase"]):
        if p in spasm_phases and b - a > 2 * t:
            mask[-(-(a + t) // step):-(-(b - t) // step)] = True
    eps = trunk.spasm_episodes(env, fs / step, mask, k=k, min_duration=min_duration, merge=merge)
    rows = [dict(onset=e["onset"], duration=e["duration"], phase="spasm_burst", cycle=pd.NA, channel=nm,
                 amplitude=e["amplitude"], baseline=e["baseline"]) for nm, ep in zip(names, eps) for e in ep]
    df = pd.DataFrame(rows, columns=["onset", "duration", "phase", "cycle", "channel", "amplitude", "baseline"])
    df["cycle"] = df["cycle"].astype("Int64")
    return df


def analyze(source: str | os.PathLike | Recording, pipeline: Any = None, *, phases: str | pd.DataFrame = "auto",
            return_recording: bool = False, read_options: dict[str, Any] | None = None,
            phase_options: dict[str, Any] | None = None, **options: Any) -> pd.DataFrame | tuple[pd.DataFrame, Recording]:
    """Read, condition, find phases and compute features in one call.

    Parameters
    ----------
    source : path-like or Recording
        A file :func:`paraspinal.read` can open, or a Recording (not modified).
    pipeline : Pipeline, path, dict or None
        Conditioning (None: :meth:`paraspinal.pipeline.Pipeline.default`). Pass
        ``pipeline=False`` to skip conditioning (already processed data).
    phases : "auto", a method name, or a DataFrame
        ``"auto"`` uses :func:`paraspinal.phases.detect` (annotations, else the trunk angle,
        else the EMG envelope with a warning); a method name (``"angle"``...) forces it; a
        table is used as given.
    return_recording : bool
        Also return the processed Recording (with its phases).
    read_options : dict, optional
        Passed to :func:`paraspinal.read`.
    phase_options : dict, optional
        Passed to the phase function.
    **options
        Passed to :func:`compute`.

    Returns
    -------
    pandas.DataFrame or (DataFrame, Recording)
        The tidy feature table (``paraspinal.features.COLUMNS``).
    """
    from .. import phases as _ph
    from ..pipeline import preprocess

    if isinstance(source, Recording):
        rec = source
    else:
        from ..io import read

        rec = read(source, **(read_options or {}))
    proc = rec if pipeline is False else preprocess(rec, pipeline)
    if isinstance(phases, pd.DataFrame):
        table = _ph.validate(phases, file=rec.meta.get("source"))
    else:
        table = _ph.detect(proc, phases, **(phase_options or {}))
    if len(table):
        proc = _ph.set_phases(proc, table)
    out = compute(proc, **options)
    return (out, proc) if return_recording else out
