"""Published reference values shipped as data (``paraspinal/data/reference_sets.json``).

Each set has a citation, the verification label of METHODS.md (``[V]`` verified in the source
text seen, ``[M]`` from memory), the population, protocol and processing notes, and entries
mapping a published quantity to a toolkit feature name with its abnormal direction.

Cut-offs are protocol- and processing-specific (window length, max vs mean ratios,
normalisation, ECG removal): a published cut-off applies to your data only when your protocol
and processing match the source's. A lab's own control reference (:func:`build_reference`) is
the better comparison. Neither is a diagnosis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, ReadError
from ._table import KEYS, restore_missing, subject_level

__all__ = ["ReferenceSet", "list_reference_sets", "get_reference_set", "reference_sets_table", "apply_cutoffs",
           "CAVEAT"]

CAVEAT = ("published cut-offs depend on protocol and processing (window length, max vs mean, normalisation, "
          "ECG removal); research use only, not a diagnosis")


@dataclass(frozen=True)
class ReferenceSet:
    """One published reference set.

    Attributes
    ----------
    name, title, citation, label : str
        ``label`` is the METHODS.md verification label ("[V]" or "[M]").
    population, protocol, processing, label_note : str
    entries : list of dict
        Each with ``quantity``, ``feature`` (toolkit feature name or None), ``toolkit_mapping``,
        ``direction`` ("higher_abnormal", "lower_abnormal" or None), values (``control``,
        ``patient`` with ``n, mean, sd`` or ``ci``; ``cutoff``, ``sensitivity`` ...), ``label``.
    """

    name: str
    title: str
    citation: str
    label: str
    population: str = ""
    protocol: str = ""
    processing: str = ""
    label_note: str = ""
    entries: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Entries as a flat table (nested values flattened to ``control_mean``, ``patient_sd`` ...)."""
        rows = []
        for e in self.entries:
            row: dict[str, Any] = {"set": self.name}
            for k, v in e.items():
                if isinstance(v, dict) and k != "units":
                    for k2, v2 in v.items():
                        row[f"{k}_{k2}"] = v2
                elif k != "units":
                    row[k] = v
            rows.append(row)
        return pd.DataFrame(rows)


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    try:
        text = resources.files("paraspinal").joinpath("data", "reference_sets.json").read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as err:  # pragma: no cover - packaging error
        raise ReadError(f"the shipped reference sets could not be read ({err})", file="paraspinal/data/reference_sets.json",
                        hint="reinstall paraspinal (package data missing)") from err
    return data


def list_reference_sets() -> list[str]:
    """Names of the shipped literature reference sets, sorted."""
    return sorted(s["name"] for s in _load()["sets"])


def get_reference_set(name: str) -> ReferenceSet:
    """A shipped literature reference set by name (see :func:`list_reference_sets`).

    Raises
    ------
    ParameterError
        Unknown name.
    """
    for s in _load()["sets"]:
        if s["name"] == name:
            keys = {f for f in ReferenceSet.__dataclass_fields__}
            return ReferenceSet(**{k: v for k, v in s.items() if k in keys})
    raise ParameterError(f"unknown reference set {name!r}", hint=f"use one of {list_reference_sets()}")


def reference_sets_table() -> pd.DataFrame:
    """Every entry of every shipped set in one flat table (with the set's citation and label)."""
    frames = []
    for name in list_reference_sets():
        rs = get_reference_set(name)
        t = rs.table()
        t.insert(1, "citation", rs.citation)
        t.insert(2, "set_label", rs.label)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def apply_cutoffs(features_df: pd.DataFrame, name: str, *, by: tuple[str, ...] = KEYS) -> pd.DataFrame:
    """Compare subject-level values with the published cut-offs of a reference set.

    Uses the entries of set ``name`` that have a ``cutoff`` and a toolkit ``feature``; values
    are subject-level (:func:`paraspinal.norms.subject_level`), per channel (and phase, task,
    when the entry names them). ``beyond_cutoff`` is ``value >= cutoff`` for
    ``higher_abnormal`` and ``value <= cutoff`` for ``lower_abnormal``.

    Parameters
    ----------
    features_df : pandas.DataFrame
        Tidy feature table.
    name : str
        Reference-set name (e.g. ``"fer_cnslbp"``).
    by : tuple of str
        Key columns.

    Returns
    -------
    pandas.DataFrame
        ``subject, group, *by, value, unit, cutoff, direction, beyond_cutoff, source, caveat``;
        ``attrs["caveat"]``.
    """
    rs = get_reference_set(name)
    entries = [e for e in rs.entries if e.get("cutoff") is not None and e.get("feature")]
    if not entries:
        raise ParameterError(f"reference set {name!r} has no cut-off mapped to a toolkit feature",
                             hint="sets with cut-offs: " + ", ".join(
                                 n for n in list_reference_sets()
                                 if any(e.get("cutoff") is not None for e in get_reference_set(n).entries)))
    sub = subject_level(features_df, by=list(by))
    frames = []
    for e in entries:
        m = sub["feature"] == e["feature"]
        for col in ("task", "phase", "side"):
            if e.get(col) is not None and col in sub.columns:
                m &= sub[col] == e[col]
        part = sub[m].copy()
        if part.empty:
            continue
        hi = e.get("direction") == "higher_abnormal"
        part["cutoff"] = float(e["cutoff"])
        part["direction"] = e.get("direction")
        v = part["value"].to_numpy(float)
        part["beyond_cutoff"] = np.where(hi, v >= e["cutoff"], v <= e["cutoff"])
        part["source"] = f"{rs.citation} {e.get('label', rs.label)}"
        part["caveat"] = CAVEAT
        frames.append(part.drop(columns=["n_values"]))
    if not frames:
        raise ParameterError(f"the feature table has none of the features of set {name!r} "
                             f"({sorted({e['feature'] for e in entries})})")
    out = restore_missing(pd.concat(frames, ignore_index=True), list(by))
    out.attrs["caveat"] = CAVEAT
    return out
