"""Pipelines: an ordered list of named conditioning steps with their parameters.

A pipeline is data: it loads from TOML (or a dict), serialises to JSON with the versions
of paraspinal, NumPy, SciPy and MNE for provenance, and has a stable hash (SHA-256 of its
canonical JSON, without the versions) that keys study caches. TOML form::

    name = "paraspinal-default"

    [[steps]]
    name = "bandpass"
    low = 20.0
    high = 450.0

    [[steps]]
    name = "powerline"
    freq = "auto"

    [[steps]]
    name = "ecg"
    method = "template"
    highpass = false      # TOML has no null: false means None (already band-passed)

:func:`preprocess` runs a pipeline on a Recording. It works on one copy of the data, in
place, step after step, and wraps it in a new Recording at the end (peak memory about
twice the signal), appending one provenance record per step to ``meta["processing"]``
and the pipeline itself (with its hash) to ``meta["pipeline"]``.

A ``bandpass`` step followed by a ``powerline`` step with spectrum interpolation on the
same channels (the default pipeline) runs as one FFT pass per channel
(``paraspinal.preprocessing.powerline.spectral_rows``): the spectrum is multiplied by
the analytic zero-phase response of the corrected Butterworth and the mains bins are
interpolated in the same transform. The band-pass equals the stand-alone
:func:`~paraspinal.preprocessing.filters.bandpass` (``sosfiltfilt``) to < 1e-6 relative
RMS away from the first and last second; both provenance records are written as usual,
the band-pass one saying ``"implementation": "... fused with powerline"``.

TOML needs :mod:`tomllib` (Python 3.11+) or the ``tomli`` package on Python 3.10.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .errors import ParameterError, ReadError
from .recording import Recording

# the sub-modules (the package re-exports functions of the same names, hence import_module)
_ecg_mod = importlib.import_module(".preprocessing.ecg", __package__)
_env_mod = importlib.import_module(".preprocessing.envelope", __package__)
_filt_mod = importlib.import_module(".preprocessing.filters", __package__)
_norm_mod = importlib.import_module(".preprocessing.normalise", __package__)
_pl_mod = importlib.import_module(".preprocessing.powerline", __package__)

__all__ = ["Pipeline", "Step", "STEPS", "preprocess", "versions"]


#: Step name -> the Recording-level function whose keyword parameters it accepts.
STEPS: dict[str, Callable[..., Recording]] = {
    "bandpass": _filt_mod.bandpass,
    "highpass": _filt_mod.highpass,
    "lowpass": _filt_mod.lowpass,
    "powerline": _pl_mod.remove_powerline,
    "ecg": _ecg_mod.remove_ecg,
    "envelope": _env_mod.envelope,
    "normalise": _norm_mod.normalise,
}


def _valid_params(name: str) -> list[str]:
    sig = inspect.signature(STEPS[name])
    return [p for p in list(sig.parameters)[1:] if p not in ("rpeaks", "reference")]


def versions() -> dict[str, str]:
    """Versions of paraspinal and the numeric libraries (for provenance)."""
    import mne
    import scipy

    return {"paraspinal": __version__, "numpy": np.__version__, "scipy": scipy.__version__, "mne": mne.__version__}


@dataclass(frozen=True)
class Step:
    """One named step with its keyword parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **{k: _plain(v) for k, v in self.params.items()}}


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    return v


class Pipeline:
    """An ordered list of named conditioning steps.

    Parameters
    ----------
    steps : sequence of Step, (name, params) tuples or dicts with a ``name`` key
        The steps, run in order.
    name : str
        A label.

    Raises
    ------
    ParameterError
        For an unknown step name or parameter (the message lists the valid ones).

    Examples
    --------
    >>> Pipeline([("bandpass", {"low": 20, "high": 450}), ("powerline", {"freq": "auto"})]).hash  # doctest: +SKIP
    """

    def __init__(self, steps: Sequence[Step | tuple | Mapping[str, Any]], name: str = "custom"):
        out = []
        for s in steps:
            if isinstance(s, Step):
                st = s
            elif isinstance(s, tuple):
                st = Step(str(s[0]), dict(s[1]) if len(s) > 1 else {})
            elif isinstance(s, Mapping):
                d = dict(s)
                if "name" not in d:
                    raise ParameterError(f"a pipeline step needs a 'name', got {d}",
                                         hint=f"valid step names are {sorted(STEPS)}")
                nm = d.pop("name")
                params = d.pop("params", {})
                st = Step(str(nm), {**params, **d})
            else:
                raise ParameterError(f"cannot read a pipeline step from {s!r}")
            out.append(_validated(st))
        self.steps: tuple[Step, ...] = tuple(out)
        self.name = str(name)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def default(cls) -> Pipeline:
        """The default paraspinal conditioning chain.

        1. ``bandpass`` 20-450 Hz, 4th-order zero-phase Butterworth (De Luca et al. 2010;
           SENIAM);
        2. ``powerline`` ``freq="auto"``: detects 50/60 Hz (or none) and removes the line
           and its harmonics by spectrum interpolation (Mewett et al. 2001);
        3. ``ecg`` template subtraction (40-beat running template, aligned, least-squares
           scaled; METHODS.md §5), ``highpass=None`` because step 1 already high-passed at
           20 Hz.

        Envelopes are computed later by the feature functions (e.g. 250 ms moving RMS).

        Returns
        -------
        Pipeline
        """
        return cls([
            Step("bandpass", {"low": 20.0, "high": 450.0, "order": 4}),
            Step("powerline", {"freq": "auto", "method": "stopband"}),
            Step("ecg", {"method": "template", "highpass": None}),
        ], name="paraspinal-default")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pipeline:
        """Build from ``{"name": ..., "steps": [{"name": "bandpass", ...}, ...]}``."""
        if "steps" not in d:
            raise ParameterError("a pipeline needs a 'steps' list", hint="e.g. {'steps': [{'name': 'bandpass'}]}")
        steps = [{k: (None if v is False and k == "highpass" else v) for k, v in s.items()} for s in d["steps"]]
        return cls(steps, name=d.get("name", "custom"))

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> Pipeline:
        """Load from a TOML file (``[[steps]]`` tables with a ``name`` key)."""
        try:
            import tomllib  # Python >= 3.11
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                raise ParameterError("reading TOML on Python 3.10 needs the 'tomli' package",
                                     file=path, hint="pip install tomli, or pass the pipeline as a dict") from None
        try:
            with open(path, "rb") as fh:
                d = tomllib.load(fh)
        except OSError as err:
            raise ReadError(f"cannot read the pipeline file: {err.strerror}", file=path) from None
        except tomllib.TOMLDecodeError as err:
            raise ReadError(f"the pipeline file is not valid TOML: {err}", file=path) from None
        try:
            return cls.from_dict(d)
        except ParameterError as err:
            raise ParameterError(err.what, file=path, hint=err.hint) from None

    @classmethod
    def coerce(cls, pipeline: Pipeline | str | os.PathLike | Mapping[str, Any] | None) -> Pipeline:
        """A Pipeline from None (default), a Pipeline, a TOML/JSON path or a dict."""
        if pipeline is None:
            return cls.default()
        if isinstance(pipeline, Pipeline):
            return pipeline
        if isinstance(pipeline, Mapping):
            return cls.from_dict(pipeline)
        if isinstance(pipeline, (str, os.PathLike)):
            p = Path(pipeline)
            if p.suffix.lower() == ".json":
                try:
                    return cls.from_dict(json.loads(p.read_text(encoding="utf-8")))
                except (OSError, ValueError) as err:
                    raise ReadError(f"cannot read the pipeline JSON: {err}", file=p) from None
            return cls.from_toml(p)
        raise ParameterError(f"cannot make a pipeline from {type(pipeline).__name__}",
                             hint="pass None, a Pipeline, a TOML path or a dict")

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """``{"name", "steps"}`` with plain (JSON-safe) values."""
        return {"name": self.name, "steps": [s.to_dict() for s in self.steps]}

    @property
    def hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the steps (name and versions excluded)."""
        canon = json.dumps([s.to_dict() for s in self.steps], sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def to_json(self, path: str | os.PathLike | None = None, *, indent: int = 2) -> str:
        """JSON with the steps, the hash and the library versions (for provenance)."""
        d = {**self.to_dict(), "hash": self.hash, "versions": versions()}
        text = json.dumps(d, indent=indent, sort_keys=False, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def __repr__(self) -> str:
        return f"<Pipeline {self.name!r}: {' -> '.join(s.name for s in self.steps)} | {self.hash[:12]}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    # ------------------------------------------------------------------ running
    def run(self, rec: Recording) -> Recording:
        """Run the steps on ``rec``; see :func:`preprocess`."""
        return preprocess(rec, self)


def _validated(step: Step) -> Step:
    if step.name not in STEPS:
        raise ParameterError(f"unknown pipeline step {step.name!r}", hint=f"valid step names are {sorted(STEPS)}")
    valid = _valid_params(step.name)
    bad = [k for k in step.params if k not in valid]
    if bad:
        raise ParameterError(f"unknown parameter(s) {bad} for pipeline step {step.name!r}",
                             hint=f"valid parameters of {step.name!r} are {valid}")
    return step


# in-place kernels used by preprocess (one working copy for the whole chain)
def _run_inplace(rec: Recording, data: np.ndarray, step: Step) -> dict[str, Any] | None:
    p = dict(step.params)
    file = _filt_mod.source_of(rec)
    if step.name in ("bandpass", "highpass", "lowpass"):
        names = _filt_mod.signal_channels(rec, p.get("picks"), p.get("include_ecg", False))
        if step.name == "bandpass":
            low, high = p.get("low", 20.0), p.get("high", 450.0)
        elif step.name == "highpass":
            low, high = p.get("cutoff", 20.0), None
        else:
            low, high = None, p.get("cutoff", 450.0)
        res: dict[str, Any] = {"channels": names}
        if names:
            res.update(_filt_mod.filter_rows(data, _filt_mod.rows_of(rec, names), rec.sfreq, low, high,
                                             order=p.get("order", 4), padlen=p.get("padlen"),
                                             pad_periods=p.get("pad_periods", 3.0), names=names, file=file))
        return res
    if step.name == "powerline":
        names = _filt_mod.signal_channels(rec, p.pop("picks", None), p.pop("include_ecg", False))
        res = _pl_mod.powerline_rows(data, _filt_mod.rows_of(rec, names), rec.sfreq, p.pop("freq", "auto"),
                                     file=file, names=names, **p)
        res["channels"] = names
        return res
    if step.name == "ecg":
        names = _filt_mod.signal_channels(rec, p.pop("picks", None))
        return _ecg_mod.ecg_step_rows(rec, data, _filt_mod.rows_of(rec, names), names, **p)
    if step.name == "envelope" and p.get("method", "rms") != "tkeo":
        names = _filt_mod.signal_channels(rec, p.pop("picks", None))
        res = _env_mod.envelope_rows(data, _filt_mod.rows_of(rec, names), rec.sfreq, **p)
        res["channels"] = names
        return res
    return None  # run through the Recording-level function


def _fusable(rec: Recording, a: Step, b: Step) -> bool:
    """A band-pass step followed by a spectrum-interpolation powerline step on the same channels."""
    if a.name != "bandpass" or b.name != "powerline" or b.params.get("method", "stopband") not in (
            "interpolation", "stopband"):
        return False
    pa, pb = dict(a.params), dict(b.params)
    try:
        na = _filt_mod.signal_channels(rec, pa.get("picks"), pa.get("include_ecg", False))
        nb = _filt_mod.signal_channels(rec, pb.get("picks"), pb.get("include_ecg", False))
    except Exception:  # let the ordinary path raise the error
        return False
    return bool(na) and na == nb


def _run_fused(rec: Recording, data: np.ndarray, a: Step, b: Step) -> tuple[dict[str, Any], dict[str, Any]]:
    """Band-pass and powerline removal in one FFT pass (see ``powerline_rows(bandpass=...)``)."""
    pa, pb = dict(a.params), dict(b.params)
    names = _filt_mod.signal_channels(rec, pa.pop("picks", None), pa.pop("include_ecg", False))
    pb.pop("picks", None)
    pb.pop("include_ecg", None)
    bp = {"low": pa.get("low", 20.0), "high": pa.get("high", 450.0), "order": pa.get("order", 4),
          "padlen": pa.get("padlen"), "pad_periods": pa.get("pad_periods", 3.0)}
    res = _pl_mod.powerline_rows(data, _filt_mod.rows_of(rec, names), rec.sfreq, pb.pop("freq", "auto"),
                                 file=_filt_mod.source_of(rec), bandpass=bp, names=names, **pb)
    res_bp = {"channels": names, **res.pop("bandpass")}
    res["channels"] = names
    return res_bp, res


def preprocess(rec: Recording, pipeline: Pipeline | str | os.PathLike | Mapping[str, Any] | None = None) -> Recording:
    """Condition a Recording with a pipeline.

    Parameters
    ----------
    rec : Recording
        Raw recording (not modified).
    pipeline : Pipeline, path, dict or None
        The steps; None is :meth:`Pipeline.default` (band-pass 20-450 Hz, powerline auto,
        ECG template subtraction). A path is read as TOML (or JSON by suffix).

    Returns
    -------
    Recording
        New Recording; ``meta["processing"]`` gains one record per step (see
        ``paraspinal.preprocessing.filters.provenance``) and ``meta["pipeline"]`` holds
        the pipeline's dict, hash and library versions.

    Raises
    ------
    ParameterError
        Unknown steps or parameters, or a step's own parameter error.

    References
    ----------
    De Luca CJ et al. (2010) J Biomech 43:1573-1579; Mewett DT et al. (2001) Proc IEEE
    EMBS; Drake JDM, Callaghan JP (2006) J Electromyogr Kinesiol 16:175-187.
    """
    pipe = Pipeline.coerce(pipeline)
    data = rec.raw.get_data()
    log = []
    current = rec
    pending = False  # data holds changes not yet in `current`
    steps = list(pipe.steps)
    k = 0
    while k < len(steps):
        step = steps[k]
        k += 1
        if k < len(steps) and _fusable(current, step, steps[k]):
            res_bp, res_pl = _run_fused(current, data, step, steps[k])
            for st, res in ((step, res_bp), (steps[k], res_pl)):
                log.append(_filt_mod.provenance(st.name, {kk: _plain(v) for kk, v in st.params.items()}, **res))
            pending = True
            k += 1
            continue
        res = _run_inplace(current, data, step)
        if res is not None:
            log.append(_filt_mod.provenance(step.name, {k: _plain(v) for k, v in step.params.items()}, **res))
            pending = True
            continue
        if pending or log:
            current = _flush(current, data, log)
            log, pending = [], False
        current = STEPS[step.name](current, **dict(step.params))
        data = current.raw.get_data()
    out = _flush(current, data, log) if (pending or log) else current
    out.meta["pipeline"] = {**pipe.to_dict(), "hash": pipe.hash, "versions": versions()}
    return out


def _flush(rec: Recording, data: np.ndarray, log: list[dict[str, Any]]) -> Recording:
    new = _filt_mod.new_recording(rec, data)
    new.meta["processing"] = list(new.meta.get("processing") or []) + log
    return new
