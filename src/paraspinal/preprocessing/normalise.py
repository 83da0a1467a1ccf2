"""Amplitude normalisation: MVC, submaximal reference (RVC), peak across trials, none.

The approaches follow the CEDE amplitude-normalisation matrix (Besomi et al. 2020):

* ``"mvc"``: reference = the largest value of the 250 ms moving RMS (full windows only:
  the shorter windows at the recording's ends are left out) within the ``mvc`` phases (of the recording itself or of separate reference Recordings); unit ``%MVC``.
* ``"rvc"``: reference = the mean of the moving RMS within a submaximal reference task
  (default phase ``sorensen_hold``, a Biering-Sorensen-like hold); unit ``%RVC``.
* ``"peak"``: reference = the largest moving RMS over all the given trials of a subject
  (the recording itself plus ``reference`` Recordings); unit ``%peak``.
* ``"none"``: nothing changes; the provenance says so.

When a reference Recording already holds an envelope (its processing log has an
``"envelope"`` step) its values are used as they are; otherwise a moving RMS of
``window_ms`` is computed first. The normalised channels hold percentages of the
reference: ``channels["unit"]`` becomes ``%MVC``/``%RVC``/``%peak`` and the new columns
``norm_reference_uv`` (the reference in uV) and ``norm_method`` say what it was, so every
later amplitude states its unit.

References
----------
Besomi M, Hodges PW, Clancy EA, Van Dieen J, Hug F, Lowery M, Merletti R, Sogaard K,
Wrigley T, Besier T, Carson RG, Disselhorst-Klug C, Enoka RM, Falla D, Farina D, Gandevia
S, Holobar A, Kiernan MC, McGill K, Perreault E, Rothwell JC, Tucker K (2020). Consensus
for experimental design in electromyography (CEDE) project: Amplitude normalization
matrix. J Electromyogr Kinesiol 53:102438.
Bivia-Roig G, Lison JF, Sanchez-Zuriaga D (2019). PeerJ 7:e7824 (submaximal reference for
back extensors).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import ChannelError, ParameterError
from ..recording import Recording
from .envelope import moving_rms_array
from .filters import new_recording, provenance, rows_of, signal_channels, source_of

__all__ = ["normalise", "reference_values", "reference_values_array", "normalise_array", "NORM_UNITS"]

#: Unit of the normalised values per method.
NORM_UNITS = {"mvc": "%MVC", "rvc": "%RVC", "peak": "%peak"}
_DEFAULT_PHASES = {"mvc": ("mvc",), "rvc": ("sorensen_hold", "rvc"), "peak": None}


def reference_values_array(data: np.ndarray, sfreq: float, method: str = "mvc", *,
                           mask: np.ndarray | None = None, window_ms: float = 250.0,
                           is_envelope: bool = False) -> np.ndarray:
    """Reference amplitude per channel.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        Conditioned EMG (or an envelope if ``is_envelope``), unit U.
    sfreq : float
        Sampling rate in Hz.
    method : {"mvc", "rvc", "peak"}
        ``max`` of the envelope (mvc, peak) or its ``mean`` (rvc) within ``mask``.
    mask : ndarray of bool, shape (n_samples,), optional
        Samples of the reference task (default: all).
    window_ms : float
        Moving-RMS window in ms (default 250).
    is_envelope : bool
        ``data`` already is an envelope.

    Returns
    -------
    ndarray, shape (n_channels,)
        Reference in U.

    References
    ----------
    Besomi M et al. (2020). J Electromyogr Kinesiol 53:102438.
    """
    x = np.atleast_2d(np.asarray(data, dtype=np.float64))
    env = x if is_envelope else moving_rms_array(x, sfreq, window_ms)
    keep = np.ones(x.shape[1], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if not is_envelope:
        keep = keep & _full_windows(x.shape[1], sfreq, window_ms)
    env = env[:, keep]
    if env.shape[1] == 0:
        raise ParameterError("the reference task has no samples", hint="check the reference phases")
    if method in ("mvc", "peak"):
        return env.max(axis=1)
    if method == "rvc":
        return env.mean(axis=1)
    raise ParameterError(f"unknown normalisation method {method!r}", hint="use 'mvc', 'rvc', 'peak' or 'none'")


def normalise_array(data: np.ndarray, reference: np.ndarray | Sequence[float]) -> np.ndarray:
    """Express ``data`` in percent of a per-channel reference: ``100 * data / reference``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples)
        Amplitudes (unit U).
    reference : array-like, shape (n_channels,)
        Reference per channel (unit U), positive.

    Returns
    -------
    ndarray
        Percent of the reference.

    References
    ----------
    Besomi M et al. (2020). J Electromyogr Kinesiol 53:102438.
    """
    ref = np.asarray(reference, dtype=np.float64)
    if np.any(~np.isfinite(ref)) or np.any(ref <= 0):
        raise ParameterError(f"normalisation references must be positive, got {ref.tolist()}",
                             hint="a zero reference means a flat or missing reference task")
    x = np.atleast_2d(np.asarray(data, dtype=np.float64))
    return 100.0 * x / ref[:, None]


def _phase_mask(rec: Recording, phases: Sequence[str] | None) -> np.ndarray | None:
    if phases is None:
        return None
    table = rec.phases
    sel = table[table["phase"].isin(list(phases))]
    mask = np.zeros(rec.n_samples, dtype=bool)
    fs = rec.sfreq
    for onset, dur in zip(sel["onset"], sel["duration"]):
        a = max(int(round(onset * fs)), 0)
        b = min(int(round((onset + dur) * fs)), rec.n_samples)
        mask[a:b] = True
    return mask


def _full_windows(n: int, sfreq: float, window_ms: float) -> np.ndarray:
    """Samples whose centred RMS window lies inside the recording (edge windows are shorter
    and noisier, which would bias a maximum upwards)."""
    w = max(int(round(window_ms * sfreq / 1000.0)), 1)
    m = np.zeros(n, dtype=bool)
    m[w // 2:n - (w - 1 - w // 2)] = True
    return m if m.any() else np.ones(n, dtype=bool)


def _is_envelope(rec: Recording) -> bool:
    return any(s.get("step") == "envelope" for s in rec.meta.get("processing") or [])


def reference_values(rec: Recording, method: str = "mvc", *, reference: Recording | Sequence[Recording] | None = None,
                     phases: Sequence[str] | None = None, window_ms: float = 250.0,
                     picks: str | Iterable[str] | None = None) -> dict[str, float]:
    """Reference amplitude (uV) per EMG channel.

    Parameters
    ----------
    rec : Recording
        The recording to normalise (its channels decide which references are needed).
    method : {"mvc", "rvc", "peak"}
        See the module notes.
    reference : Recording or list of Recording, optional
        Separate reference recordings (MVC trials, a Sorensen hold, all trials of the
        subject). Default: ``rec`` itself (its ``phases``).
    phases : sequence of str, optional
        Phases of the reference task (default ``mvc`` for MVC, ``sorensen_hold``/``rvc``
        for RVC, the whole recording for peak).
    window_ms : float
        Moving-RMS window in ms.
    picks : str or list of str, optional
        Channels (default all EMG).

    Returns
    -------
    dict
        Channel name -> reference in uV.

    Raises
    ------
    ParameterError
        If a reference recording lacks the reference phases.
    ChannelError
        If a reference recording lacks a channel.

    References
    ----------
    Besomi M et al. (2020). J Electromyogr Kinesiol 53:102438.
    """
    if method not in NORM_UNITS:
        raise ParameterError(f"unknown normalisation method {method!r}", file=rec.meta.get("source"),
                             hint="use 'mvc', 'rvc', 'peak' or 'none'")
    names = signal_channels(rec, picks)
    refs: list[Recording]
    if reference is None:
        refs = [rec]
    elif isinstance(reference, Recording):
        refs = [reference] if method != "peak" else [rec, reference]
    else:
        refs = list(reference) if method != "peak" else [rec, *reference]
    want = _DEFAULT_PHASES[method] if phases is None else tuple(phases)
    best = {n: (-np.inf if method != "rvc" else 0.0) for n in names}
    rvc_sum = {n: 0.0 for n in names}
    rvc_n = {n: 0 for n in names}
    found_any = False
    for r in refs:
        missing = [n for n in names if n not in r.ch_names]
        if missing:
            raise ChannelError("the reference recording lacks this channel", file=r.meta.get("source"),
                               channel=missing[0], hint="give references with the same channel names")
        mask = _phase_mask(r, want)
        if mask is not None and not mask.any():
            continue
        found_any = True
        x = r.get_data(names, unit="uV")
        env = x if _is_envelope(r) else moving_rms_array(x, r.sfreq, window_ms)
        if mask is None:
            mask = np.ones(r.n_samples, dtype=bool)
        if not _is_envelope(r):
            mask = mask & _full_windows(r.n_samples, r.sfreq, window_ms)
        if not mask.any():
            continue
        env = env[:, mask]
        for j, n in enumerate(names):
            if method == "rvc":
                rvc_sum[n] += float(env[j].sum())
                rvc_n[n] += env.shape[1]
            else:
                best[n] = max(best[n], float(env[j].max()))
    if not found_any:
        src = refs[0].meta.get("source")
        raise ParameterError(
            f"no {'/'.join(want or ('any',))} phase found for {method.upper()} normalisation",
            file=src,
            hint=f"annotate the reference task (phases {list(want or [])}), pass reference=Recording(s) "
                 "holding it, or use phases=[...]")
    if method == "rvc":
        return {n: rvc_sum[n] / max(rvc_n[n], 1) for n in names}
    return best


def normalise(rec: Recording, method: str = "mvc", *, reference: Recording | Sequence[Recording] | None = None,
              phases: Sequence[str] | None = None, window_ms: float = 250.0,
              picks: str | Iterable[str] | None = None) -> Recording:
    """Normalise EMG amplitudes to a reference (MVC, RVC, peak across trials) or not at all.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG or an envelope (not modified).
    method : {"mvc", "rvc", "peak", "none"}
        Reference type (Besomi et al. 2020); ``"none"`` keeps uV and records the choice.
    reference : Recording or list of Recording, optional
        Separate reference recording(s); default: ``rec``'s own phases.
    phases : sequence of str, optional
        Phases of the reference task.
    window_ms : float
        Moving-RMS window used for the reference, ms (default 250).
    picks : str or list of str, optional
        Channels (default all EMG).

    Returns
    -------
    Recording
        Channels in percent of the reference; ``channels["unit"]`` is ``%MVC``, ``%RVC``
        or ``%peak``, ``channels["norm_reference_uv"]`` holds the reference in uV and
        ``channels["norm_method"]`` the method. A ``"normalise"`` provenance record is
        appended.

    References
    ----------
    Besomi M et al. (2020). Consensus for experimental design in electromyography (CEDE)
    project: Amplitude normalization matrix. J Electromyogr Kinesiol 53:102438.
    """
    params = {"method": method, "phases": None if phases is None else list(phases), "window_ms": window_ms,
              "picks": picks, "reference": None if reference is None else "given"}
    if method == "none":
        return new_recording(rec, rec.raw.get_data(), step=provenance("normalise", params, unit="uV"))
    refs = reference_values(rec, method, reference=reference, phases=phases, window_ms=window_ms, picks=picks)
    names = list(refs)
    bad = [n for n, v in refs.items() if not np.isfinite(v) or v <= 0]
    if bad:
        raise ParameterError(f"the {method.upper()} reference is zero or missing", file=source_of(rec),
                             channel=bad[0], hint="check the reference task of this channel (flat or absent)")
    data = rec.raw.get_data()
    for n, i in zip(names, rows_of(rec, names)):
        data[i] *= 100.0 / (refs[n] * 1e-6)  # stored volts -> percent of the reference
    unit = NORM_UNITS[method]
    return new_recording(
        rec, data,
        step=provenance("normalise", params, unit=unit, reference_uv=refs),
        units={n: unit for n in names},
        columns={"norm_reference_uv": refs, "norm_method": {n: method for n in names}},
    )
