"""High-density surface EMG: electrode grids, montages, bad electrodes, amplitude maps.

>>> import paraspinal as ps                                          # doctest: +SKIP
>>> rec = ps.read("otb_export.mat")                                  # doctest: +SKIP
>>> bad = ps.hdsemg.detect_bad(rec)                                  # doctest: +SKIP
>>> sd = ps.hdsemg.single_differential(ps.preprocess(rec))           # doctest: +SKIP
>>> ps.hdsemg.map_features(sd, bad=bad)                              # doctest: +SKIP

See ``docs/hdsemg.md``.
"""

from .layout import (
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
    set_layout,
)
__all__ = [
    # layout
    "GRID_MODELS", "LAYOUT_COLUMNS", "Geometry", "GridModel", "geometry", "grid_model", "grids",
    "is_grid_recording", "layout_from_electrodes", "layout_of", "model_layout", "model_positions", "set_layout",
]
