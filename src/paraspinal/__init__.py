"""paraspinal: surface-EMG analysis of the paraspinal muscles for low-back-pain research.

>>> import paraspinal as ps
>>> rec = ps.read("recording.edf")  # doctest: +SKIP

A research toolkit, not a diagnostic device: paraspinal sEMG as a diagnostic test for
low-back pain is investigational.
"""

from typing import TYPE_CHECKING

# io and hdsemg register the writer of Recording.save and the readers' grid check (paraspinal._hooks);
# both packages are light: what they export loads on first use.
from . import hdsemg, io
from ._lazy import attach as _attach
from ._version import __version__

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and IDEs
    from . import (
        channels,
        datasets,
        errors,
        features,
        grids,
        norms,
        phases,
        pipeline,
        preprocessing,
        recording,
        report,
        study,
        synth,
        viewer,
    )
    from .channels import parse_channel_name
    from .errors import ParaspinalError, ParaspinalWarning
    from .features import analyze
    from .io import read, write
    from .pipeline import Pipeline, preprocess
    from .recording import Recording
    from .study import run_study

# Everything else is imported when first used (PEP 562; see paraspinal._lazy and docs/design.md):
# ``import paraspinal`` loads neither MNE, pandas nor SciPy.
if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name is an error there
    __getattr__, __dir__ = _attach(
        __name__,
        submodules=["channels", "datasets", "errors", "features", "grids", "norms", "phases", "pipeline",
                    "preprocessing", "recording", "report", "study", "synth", "viewer"],
        attrs={
            ".channels": ["parse_channel_name"],
            ".errors": ["ParaspinalError", "ParaspinalWarning"],
            ".features": ["analyze"],
            ".io": ["read", "write"],
            ".pipeline": ["Pipeline", "preprocess"],
            ".recording": ["Recording"],
            ".study": ["run_study"],
        },
    )


def view(*args, **kwargs):
    """Open the interactive viewer (see :func:`paraspinal.viewer.view`); Qt is imported only here."""
    from .viewer import view as _view

    return _view(*args, **kwargs)


__all__ = [
    "__version__",
    "Recording",
    "read",
    "write",
    "parse_channel_name",
    "channels",
    "datasets",
    "errors",
    "io",
    "synth",
    "preprocessing",
    "pipeline",
    "Pipeline",
    "preprocess",
    "phases",
    "features",
    "analyze",
    "hdsemg",
    "norms",
    "study",
    "run_study",
    "view",
    "ParaspinalError",
    "ParaspinalWarning",
]
