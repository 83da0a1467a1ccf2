"""Signal conditioning and per-channel quality.

Every step takes a :class:`~paraspinal.Recording` and returns a new one (the input is never
modified) with a provenance record appended to ``meta["processing"]``; plain-array forms
(``*_array``: ``data, sfreq`` in, array out) exist for the numeric core. See
``docs/preprocessing.md``.
"""

from .ecg import (
    detect_rpeaks,
    detect_rpeaks_array,
    ecg_index,
    ecg_index_array,
    ecg_presence_array,
    remove_ecg,
    remove_ecg_array,
)
from .rpeaks import RPEAK_DEFAULTS
from .artefact import ARTEFACT_COLUMNS, ARTEFACT_DEFAULTS, ARTEFACT_SUMMARY_COLUMNS, residual_artefact
from .envelope import arv_array, envelope, linear_envelope_array, moving_rms_array, tkeo_array
from .filters import (
    bandpass,
    bandpass_array,
    butter_sos,
    default_padlen,
    design_cutoffs,
    dual_pass_factor,
    highpass,
    highpass_array,
    lowpass,
    lowpass_array,
    zero_phase_response,
)
from .normalise import normalise, normalise_array, reference_values, reference_values_array
from .mains import MAINS_DEFAULTS, detect_powerline_array, line_ratios_array
from .powerline import (
    detect_powerline,
    harmonics,
    interpolate_spectrum_array,
    notch_array,
    remove_powerline,
)
from .qc import QC_COLUMNS, QC_DEFAULTS, qc, qc_array
from .quality import GLANCE_DEFAULTS, glance

__all__ = [
    "bandpass", "highpass", "lowpass", "bandpass_array", "highpass_array", "lowpass_array", "butter_sos",
    "design_cutoffs", "dual_pass_factor", "zero_phase_response", "default_padlen",
    "remove_powerline", "detect_powerline", "detect_powerline_array", "notch_array", "interpolate_spectrum_array",
    "harmonics", "line_ratios_array", "MAINS_DEFAULTS",
    "remove_ecg", "remove_ecg_array", "detect_rpeaks", "detect_rpeaks_array", "ecg_index", "ecg_index_array",
    "ecg_presence_array", "RPEAK_DEFAULTS",
    "envelope", "moving_rms_array", "linear_envelope_array", "tkeo_array", "arv_array",
    "normalise", "normalise_array", "reference_values", "reference_values_array",
    "qc", "qc_array", "QC_DEFAULTS", "QC_COLUMNS", "glance", "GLANCE_DEFAULTS",
    "residual_artefact", "ARTEFACT_DEFAULTS", "ARTEFACT_COLUMNS", "ARTEFACT_SUMMARY_COLUMNS",
]
