"""High-density surface EMG: electrode grids, montages, bad electrodes, amplitude maps.

>>> import paraspinal as ps                                          # doctest: +SKIP
>>> rec = ps.read("otb_export.mat")                                  # doctest: +SKIP
>>> bad = ps.hdsemg.detect_bad(rec)                                  # doctest: +SKIP
>>> sd = ps.hdsemg.single_differential(ps.preprocess(rec))           # doctest: +SKIP
>>> ps.hdsemg.map_features(sd, bad=bad)                              # doctest: +SKIP

See ``docs/hdsemg.md``.
"""

from typing import TYPE_CHECKING

from .._hooks import register_read_check as _register_read_check
from .._lazy import attach as _attach

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and IDEs
    from .bad import (
        BAD_COLUMNS,
        bad_check,
        bad_names,
        check_on_read,
        detect_bad,
        interpolation_weights,
        mark_bad,
        propagate_bad,
        recorded_bad,
        resolve_bad,
        robust_z,
    )
    from ..grids import (
        GRID_MODELS,
        LAYOUT_COLUMNS,
        Geometry,
        GridModel,
        geometry,
        grid_model,
        grids,
        is_grid_recording,
        layout_from_electrodes,
        layout_of,
        model_layout,
        model_positions,
        register_read_check,
        set_layout,
    )
    from .maps import (
        FEATURE_COLUMNS,
        MAP_FEATURES,
        GridMaps,
        centroid_array,
        cv_array,
        entropy_array,
        map_features,
        map_series,
        rms_map,
        rms_maps,
        to_lattice,
        trend_array,
        window_rms,
    )
    from .montage import MONTAGES, differential_weights, double_differential, monopolar, single_differential
    from .synth import BAD_KINDS, GRID_STUDY_GROUPS, GridTruth, SyntheticGrid, simulate_grid, write_grid_study

__all__ = [
    # layout
    "GRID_MODELS", "LAYOUT_COLUMNS", "Geometry", "GridModel", "geometry", "grid_model", "grids",
    "is_grid_recording", "layout_from_electrodes", "layout_of", "model_layout", "model_positions", "set_layout",
    # montages
    "MONTAGES", "monopolar", "single_differential", "double_differential", "differential_weights",
    # bad electrodes
    "BAD_COLUMNS", "detect_bad", "bad_names", "propagate_bad", "interpolation_weights", "robust_z",
    "mark_bad", "recorded_bad", "bad_check", "resolve_bad", "check_on_read",
    # maps and features
    "FEATURE_COLUMNS", "MAP_FEATURES", "GridMaps", "window_rms", "to_lattice", "centroid_array", "entropy_array",
    "cv_array", "trend_array", "rms_maps", "rms_map", "map_series", "map_features",
    # synthetic grids with known truth
    "simulate_grid", "SyntheticGrid", "GridTruth", "BAD_KINDS", "write_grid_study", "GRID_STUDY_GROUPS",
]

# Each name is imported when first used (paraspinal._lazy): ``import paraspinal`` imports this
# package for the hook below, without SciPy or pandas.
if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name is an error there
    __getattr__, __dir__ = _attach(__name__, submodules=["bad", "maps", "montage", "synth"], attrs={
        ".bad": [
            "BAD_COLUMNS", "bad_check", "bad_names", "check_on_read", "detect_bad", "interpolation_weights",
            "mark_bad", "propagate_bad", "recorded_bad", "resolve_bad", "robust_z"
        ],
        "..grids": [
            "GRID_MODELS", "LAYOUT_COLUMNS", "Geometry", "GridModel", "geometry", "grid_model", "grids",
            "is_grid_recording", "layout_from_electrodes", "layout_of", "model_layout", "model_positions",
            "register_read_check", "set_layout"
        ],
        ".maps": [
            "FEATURE_COLUMNS", "MAP_FEATURES", "GridMaps", "centroid_array", "cv_array", "entropy_array",
            "map_features", "map_series", "rms_map", "rms_maps", "to_lattice", "trend_array", "window_rms"
        ],
        ".montage": [
            "MONTAGES", "differential_weights", "double_differential", "monopolar", "single_differential"
        ],
        ".synth": [
            "BAD_KINDS", "GRID_STUDY_GROUPS", "GridTruth", "SyntheticGrid", "simulate_grid", "write_grid_study"
        ],
    })


def _check_on_read(rec):
    """:func:`paraspinal.hdsemg.check_on_read`, imported when a reader first checks a grid recording."""
    from .bad import check_on_read

    return check_on_read(rec)


# the readers (paraspinal.io, below this package) check the grids they read through this hook
_register_read_check(_check_on_read)
