"""The feature families: one module each, a ``rows(ctx)`` function and its ``FEATURES``.

Each module computes one family's rows from the shared
:class:`~paraspinal.features.base.Context` and documents its features with
:class:`~paraspinal.features.base.Feature` entries; :mod:`paraspinal.features.registry`
lists them in table order with the inputs each needs. The numeric cores they call live one
level up (:mod:`~paraspinal.features.amplitude`, :mod:`~paraspinal.features.spectral`,
:mod:`~paraspinal.features.trunk`) and work on plain arrays.

==================  =========================================================================
module              family
==================  =========================================================================
amplitude           rms, arv, iemg, envelope peak, percentiles, CV
spectral            mean and median frequency, FInsm5
fatigue             MDF slope (with its confidence interval), initial MDF, normalised slope
flexion_relaxation  FRR, ERR, FER, standing and half-flexion ratios, FRP present, FRP angles
static_dynamic      RMS of static and of movement phases, their ratio (SDR)
asymmetry           left/right asymmetry index, side ratio, L/R envelope cross-correlation
cocontraction       agonist/antagonist co-contraction indices
spasm               spasm-like bursts in static phases
==================  =========================================================================
"""
