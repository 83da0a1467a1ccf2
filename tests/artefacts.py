"""Comparison of regenerated artefacts with committed ones, independent of the CPU (not a test module).

The rule (docs/design.md, "Artefacts that tests regenerate"): bytes that no floating-point
reduction decides (EDF samples quantised to 16 bits, TSV tables, text) are compared exactly;
JSON files are compared value by value, strings, integers and structure exactly and floats to
a relative tolerance :data:`RTOL`, because a float that came out of a sum, a norm or an FFT may
differ in its last bit between CPUs (and between numpy's SIMD kernels on one CPU).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: Relative tolerance of floats in JSON artefacts (the files keep 12 significant digits).
RTOL = 1e-9
#: Absolute tolerance, for floats that are exactly zero in one file.
ATOL = 1e-15


def _json_differences(a: Any, b: Any, where: str) -> list[str]:
    if isinstance(a, bool) or isinstance(b, bool) or not all(isinstance(v, (int, float)) for v in (a, b)):
        if type(a) is not type(b):
            return [f"{where}: {a!r} != {b!r}"]
        if isinstance(a, dict):
            if list(a) != list(b):
                return [f"{where}: keys {list(a)} != {list(b)}"]
            return [d for k in a for d in _json_differences(a[k], b[k], f"{where}.{k}")]
        if isinstance(a, list):
            if len(a) != len(b):
                return [f"{where}: length {len(a)} != {len(b)}"]
            return [d for i, (x, y) in enumerate(zip(a, b)) for d in _json_differences(x, y, f"{where}[{i}]")]
        return [] if a == b else [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, int) and isinstance(b, int):
        return [] if a == b else [f"{where}: {a} != {b}"]
    return [] if math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL) else [f"{where}: {a!r} != {b!r}"]


def tree_differences(made: Path, committed: Path) -> list[str]:
    """What differs between two folders, by the rule above (empty list: the same)."""
    files = {p.relative_to(made).as_posix() for p in made.rglob("*") if p.is_file()}
    kept = {p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file()}
    out = [f"{rel}: only in {made}" for rel in sorted(files - kept)]
    out += [f"{rel}: only in {committed}" for rel in sorted(kept - files)]
    for rel in sorted(files & kept):
        a, b = (made / rel).read_bytes(), (committed / rel).read_bytes()
        if a == b:
            continue
        if rel.endswith(".json"):
            out += [f"{rel}: {d}" for d in _json_differences(json.loads(a), json.loads(b), "$")]
        else:
            out.append(f"{rel}: bytes differ")
    return out
