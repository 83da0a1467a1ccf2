"""A small synthetic recording for the viewer's tests and examples (no Qt needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..recording import Recording

__all__ = ["demo_recording"]


def demo_recording(seconds: float = 60.0, sfreq: float = 1000.0, n_channels: int = 6, seed: int = 1,
                    source: str | None = None) -> Recording:
    """A small synthetic recording for tests and examples.

    Noise of increasing amplitude on named EMG channels (``L_LT``, ``R_LT``, ...), a slow trunk
    angle and five phases (one flexion-relaxation cycle and a standing phase).

    Parameters
    ----------
    seconds, sfreq : float
        Length and rate.
    n_channels : int
        EMG channels (at most 8).
    seed : int
        Random seed.
    source : str, optional
        ``meta["source"]`` (a file the sidecar would sit next to).

    Returns
    -------
    Recording
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    data = rng.standard_normal((n_channels, n)) * np.linspace(5, 40, n_channels)[:, None]
    names = ["L_LT", "R_LT", "L_MF", "R_MF", "L_RA", "R_RA", "L_EO", "R_EO"][:n_channels]
    angle = 40 * (1 - np.cos(2 * np.pi * np.arange(n) / (15 * sfreq))) / 2
    phases = pd.DataFrame({"onset": [0.0, 3.0, 6.0, 9.0, 20.0], "duration": [3.0, 3.0, 3.0, 3.0, 5.0],
                           "phase": ["standing", "flexion", "full_flexion", "extension", "standing"],
                           "cycle": [1, 1, 1, 1, None]})
    rec = Recording.from_array(np.vstack([data, angle]), sfreq, names + ["TRUNK_ANGLE"],
                               units=["uV"] * n_channels + ["deg"], phases=phases,
                               meta={"subject": "99", "task": "frt"})
    if source is not None:
        rec.meta["source"] = source
    return rec
