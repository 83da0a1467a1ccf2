"""Small synthetic studies for the study/report tests (not a test module)."""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path

from paraspinal import synth

SMALL = dict(sfreq=1000.0, channels=("L_LT", "R_LT", "L_MF"), tasks=("frt",),
             task_options={"frt": {"protocol_options": {"n_cycles": 2}}})


def make_study(root: Path, n_controls: int = 2, n_patients: int = 2, seed: int = 0, **kw) -> Path:
    """A small BIDS-EMG study (1 kHz, 3 EMG channels + ECG + angle, 2 flexion cycles)."""
    opts = {**SMALL, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synth.write_study(root, n_controls=n_controls, n_patients=n_patients, seed=seed, **opts)


def clone_subjects(root: Path, n_total: int) -> Path:
    """Copy the study's subjects under new labels until it has ``n_total`` recordings (one task each).

    The copies hold the same signals under other names: each is its own recording (the cache key
    includes the path), which makes a large study cheaply.
    """
    subs = sorted(p for p in root.glob("sub-*") if p.is_dir())
    ptsv = root / "participants.tsv"
    lines = ptsv.read_text().splitlines()
    header, rows = lines[0], {ln.split("\t")[0]: ln for ln in lines[1:]}
    k = len(subs)
    i = 0
    while k < n_total:
        src = subs[i % len(subs)]
        k += 1
        label = f"{k:02d}"
        dst = root / f"sub-{label}"
        dst.mkdir()
        for f in src.rglob("*"):
            if f.is_file():
                out = dst / f.relative_to(src).as_posix().replace(src.name, f"sub-{label}")
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, out)
        rows[f"sub-{label}"] = rows[src.name].replace(src.name, f"sub-{label}", 1)
        i += 1
    ptsv.write_text("\n".join([header, *[rows[key] for key in sorted(rows)]]) + "\n")
    return root


def snapshot(root: Path) -> dict[str, tuple[int, float, str]]:
    """Name -> (size, mtime, sha256) of every file and folder under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.stat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        out[p.relative_to(root).as_posix()] = (st.st_size if p.is_file() else 0, st.st_mtime_ns, digest)
    return out


def chmod_readonly(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        mode = os.stat(p).st_mode
        os.chmod(p, mode & ~0o222)


def chmod_writable(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        os.chmod(p, os.stat(p).st_mode | 0o200)
