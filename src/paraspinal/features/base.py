"""What every feature family shares: the context it reads and how it describes itself.

A *family* (``paraspinal.features.families.<name>``) is one function
``rows(ctx: Context) -> Rows`` plus the :class:`Feature` entries that document what it
writes. :mod:`paraspinal.features.registry` lists the families (:data:`FAMILIES`) with the
inputs each one needs; :func:`paraspinal.features.compute` builds one :class:`Context` for a
recording (:func:`paraspinal.features.context.build_context`) and asks every wanted family
for its rows. ``docs/design.md`` ("Adding a feature family") walks through a new one.

The inputs a family may declare (``Family.needs``) are the names of :data:`INPUTS`; the
context computes only those that some wanted family needs, in one pass over the data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from ..channels import EXTENSORS

__all__ = ["AMPLITUDE_UNIT", "INPUTS", "Context", "Family", "Feature", "Rows"]

#: Unit text of amplitude features in the registry (the table says the channel's unit).
AMPLITUDE_UNIT = "U (uV, or %MVC/%RVC/%peak when normalised)"

#: The inputs a family may need, computed once per recording by the context.
INPUTS: dict[str, str] = {
    "envelope": "ctx.env: envelope (n_channels, n_env) at ctx.fs_env Hz (moving RMS or linear envelope)",
    "sums": "ctx.sumsq, ctx.sumabs: sum of x^2 and of |x| per channel and phase segment (uV^2, uV)",
    "psd": "ctx.psd, ctx.nwin, ctx.freqs: mean Welch PSD per channel and segment, its window counts and bins",
    "fatigue": "ctx.fat_res: MDF regression per fatigue segment ({segment: {slope, ci_low, ci_high, initial, "
               "slope_pct}})",
    "angle": "ctx.angle: trunk angle (deg) at the envelope times, or None without a TRUNK_ANGLE channel",
}


@dataclass(frozen=True)
class Feature:
    """One feature: what it is, its unit, its default parameters and its source."""

    name: str
    family: str
    definition: str
    formula: str
    unit: str
    defaults: str
    citation: str


@dataclass(frozen=True)
class Family:
    """A feature family: its name, its features, the inputs it needs and its row producer.

    Attributes
    ----------
    name : str
        Family name, accepted by ``compute(features=[...])`` (``"co-contraction"``).
    features : tuple of Feature
        The features it writes (documented in ``docs/methods/features.md``), in table order.
    rows : callable
        ``rows(ctx: Context) -> Rows``.
    needs : tuple of str
        Names of :data:`INPUTS` it reads (the phase segments and channel table are always there).
    dynamic_names : callable, optional
        ``dynamic_names(options) -> names``: further feature names that depend on the
        options (the amplitude family's ``p<q>`` for each requested percentile).
    """

    name: str
    features: tuple[Feature, ...]
    rows: Callable[[Context], Rows]
    needs: tuple[str, ...] = ()
    dynamic_names: Callable[[Mapping[str, Any]], Iterable[str]] | None = None

    def names(self, options: Mapping[str, Any]) -> set[str]:
        """Every feature name the family can write with these options."""
        extra = self.dynamic_names(options) if self.dynamic_names is not None else ()
        return {f.name for f in self.features} | set(extra)


class Rows:
    """Rows of the tidy table, ``(channel, muscle, side, phase, cycle, feature, value, unit)``.

    :meth:`add` keeps only the wanted features, so a family may compute a few values more
    than asked and still return only what was asked for. The rows are kept as eight columns
    (:attr:`columns`, lists), not as one tuple per row: a recording gives 10^4-10^6 rows, and
    that many tuples would wake Python's cyclic garbage collector over and over (strings,
    floats and ints are not tracked by it). Iterating gives the rows as tuples.
    """

    #: Names of the eight columns, in row order.
    NAMES = ("channel", "muscle", "side", "phase", "cycle", "feature", "value", "unit")

    def __init__(self, want: set[str]):
        self.want = want
        self.columns: tuple[list[Any], ...] = tuple([] for _ in self.NAMES)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*self.columns)

    def add(self, ch: str, mus: Any, sd: Any, phase: str, cycle: int | None, feat: str, vals: Any,
            unit: str) -> None:
        """Append one row when ``feat`` is wanted."""
        if feat in self.want:
            c = self.columns
            c[0].append(ch)
            c[1].append(mus)
            c[2].append(sd)
            c[3].append(phase)
            c[4].append(cycle)
            c[5].append(feat)
            c[6].append(vals)
            c[7].append(unit)

    def add_channels(self, chs: Sequence[str], muss: Sequence[Any], sds: Sequence[Any], phase: str,
                     cycle: int | None, feat: str, vals: Sequence[Any], units: Sequence[str] | str) -> None:
        """Append one row per channel (the same phase, cycle and feature) when ``feat`` is wanted.

        The rows are those of :meth:`add` called channel after channel; ``units`` is one unit
        for all, or one per channel.
        """
        if feat in self.want:
            n = len(vals)
            if not len(chs) == len(muss) == len(sds) == n or not (isinstance(units, str) or len(units) == n):
                raise ValueError("add_channels: one channel, muscle, side, value (and unit) per row")
            c = self.columns
            c[0].extend(chs)
            c[1].extend(muss)
            c[2].extend(sds)
            c[3].extend(repeat(phase, n))
            c[4].extend(repeat(cycle, n))
            c[5].extend(repeat(feat, n))
            c[6].extend(vals)
            c[7].extend(repeat(units, n) if isinstance(units, str) else units)

    def extend(self, rows: Rows | Iterable[tuple[Any, ...]]) -> None:
        """Append the rows of another :class:`Rows` (all of them) or of an iterable of 8-tuples."""
        if isinstance(rows, Rows):
            for mine, theirs in zip(self.columns, rows.columns):
                mine.extend(theirs)
            return
        for row in rows:
            if len(row) != len(self.NAMES):
                raise ValueError(f"a row has the {len(self.NAMES)} fields {self.NAMES}, got {row!r}")
            for col, v in zip(self.columns, row):
                col.append(v)


@dataclass
class Context:
    """One recording, prepared once for every family (built by :func:`~paraspinal.features.context.build_context`).

    Attributes
    ----------
    rec : Recording
        The conditioned recording (not modified).
    file : str or None
        Its source, named in warnings and errors.
    want : set of str
        The wanted feature names.
    options : dict
        Every keyword parameter of :func:`paraspinal.features.compute` (``options["trim"]``).
    names, units, muscles, sides : list
        The EMG channels computed, their amplitude unit (``uV`` or the normalisation unit),
        muscle code and side.
    fs : float
        Sampling rate (Hz).
    ph : pandas.DataFrame
        The phase table with sample bounds ``_a``, ``_b`` (one ``all`` phase without phases).
    seg : ndarray, shape (n_segments, 2)
        Sample bounds ``[a, b)`` of each phase segment.
    labels, cyc : list
        Phase name and cycle (None) of each segment.
    groups : dict
        ``(phase, cycle) -> segment indices``, with ``(phase, None)`` pooling the cycles of a
        phase that has cycle numbers; :attr:`gkeys` lists the keys in order.
    step, fs_env, centres : int, float, ndarray
        Envelope decimation (samples), envelope rate (Hz), envelope sample indices.
    env, sumsq, sumabs, count, psd, nwin, freqs, fat_res, angle
        The inputs of :data:`INPUTS` (None, or empty, when no wanted family needs them);
        ``count`` is each segment's length in samples.
    notes : list of str
        Caveats a family records (``df.attrs["notes"]``).
    index_memo : dict
        Envelope indices already computed by :meth:`env_idx`, keyed by ``(segments, trim)``:
        every family asks for the same phases, each index array is made once per recording.
    """

    rec: Any
    file: str | None
    want: set[str]
    options: dict[str, Any]
    names: list[str]
    units: list[str]
    muscles: list[Any]
    sides: list[Any]
    fs: float
    ph: pd.DataFrame
    seg: np.ndarray
    labels: list[str]
    cyc: list[int | None]
    groups: dict[tuple[str, int | None], list[int]]
    gkeys: list[tuple[str, int | None]]
    step: int
    fs_env: float
    centres: np.ndarray
    count: np.ndarray
    env: np.ndarray | None = None
    sumsq: np.ndarray | None = None
    sumabs: np.ndarray | None = None
    psd: np.ndarray | None = None
    nwin: np.ndarray | None = None
    freqs: np.ndarray | None = None
    fat_res: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    angle: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    index_memo: dict[tuple[tuple[int, ...], float], np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_ch(self) -> int:
        """Number of EMG channels."""
        return len(self.names)

    @property
    def ext_rows(self) -> list[int]:
        """Indices of the extensor channels (erector spinae, multifidus, ...)."""
        return [k for k in range(self.n_ch) if self.muscles[k] in EXTENSORS]

    def new_rows(self) -> Rows:
        """An empty :class:`Rows` that keeps the wanted features."""
        return Rows(self.want)

    def rms(self, ii: Sequence[int]) -> np.ndarray:
        """RMS per channel pooled over the segments ``ii`` (from the ``sums`` input)."""
        cnt = self.count[ii].sum()
        return np.sqrt(self.sumsq[:, ii].sum(1) / cnt)

    def env_idx(self, ii: Sequence[int], tr: float = 0.0) -> np.ndarray:
        """Envelope indices inside the segments ``ii``, each trimmed by ``tr`` s at both ends
        (untrimmed when the segment is too short).

        Computed once per ``(ii, tr)`` and kept (:attr:`index_memo`); the array is read-only.
        """
        key = (tuple(int(i) for i in ii), float(tr))
        idx = self.index_memo.get(key)
        if idx is None:
            idx = self.index_memo[key] = self._env_idx(key[0], key[1])
            idx.flags.writeable = False
        return idx

    def _env_idx(self, ii: Sequence[int], tr: float) -> np.ndarray:
        fs, step, seg = self.fs, self.step, self.seg
        parts = []
        t = int(round(tr * fs))
        for i in ii:
            a, b = seg[i]
            if b - a > 2 * t + step:
                a, b = a + t, b - t
            lo, hi = -(-a // step), -(-b // step)
            if hi <= lo:
                hi = lo + 1
            parts.append(np.arange(lo, min(hi, self.centres.size)))
        return np.concatenate(parts) if parts else np.zeros(0, int)
