"""paraspinal: surface-EMG analysis of the paraspinal muscles for low-back-pain research.

>>> import paraspinal as ps
>>> rec = ps.read("recording.edf")  # doctest: +SKIP

A research toolkit, not a diagnostic device: paraspinal sEMG as a diagnostic test for
low-back pain is investigational.
"""

from . import channels, datasets, errors, features, hdsemg, io, norms, phases, pipeline, preprocessing, study, synth
from ._version import __version__
from .channels import parse_channel_name
from .errors import ParaspinalError, ParaspinalWarning
from .features import analyze
from .io import read, write
from .pipeline import Pipeline, preprocess
from .study import run_study
from .recording import Recording



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
