"""Verify paraspinal's HD-sEMG reader, map and centroid on the real OTBiolab+ file, independently.

Three readings of ``$PARASPINAL_TEST_DATA/openhdemg_otb/otb_testfile.mat`` (a GR08MM1305
13 x 5 grid at 2048 Hz):

* ``plain``: ``scipy.io.loadmat``, the electrode numbering written out here by hand from the
  OT Bioelettronica layout, ``numpy`` RMS and the centroid formula in a few lines; nothing of
  paraspinal is imported for it;
* ``paraspinal``: ``ps.read`` + ``ps.hdsemg.rms_map`` (+ ``ps.preprocess`` band-pass for the
  filtered map);
* ``openhdemg`` (optional): openhdemg's own OTB reader (``emg_from_otb``), its sorting of the
  grid (``sort_rawemg``, GR08MM1305, orientation 180) and its band-pass (``filter_rawemg``),
  run in a separate interpreter given by ``--openhdemg-python`` (or ``$OPENHDEMG_PYTHON``):
  openhdemg is GPL-3 and is not a dependency of paraspinal; install it in a throwaway venv::

      python -m venv /tmp/ohd && /tmp/ohd/bin/pip install openhdemg
      python scripts/verify_hdsemg.py --openhdemg-python /tmp/ohd/bin/python

For each reading the script prints the RMS map's largest relative difference from the
plain reading, the centroid (electrodes >= 70 % of the maximum, RMS-weighted), the modified
entropy and the coefficient of variation, for the raw signals and for 20-450 Hz band-passed
signals (openhdemg: its own 20-450 Hz 2nd-order filter), and writes the same as JSON.
A second check scores the electrode numbering: the mean correlation of neighbouring
electrodes under the model's numbering and under other plausible ones.

Usage::

    PARASPINAL_TEST_DATA=../shared/data python scripts/verify_hdsemg.py [--openhdemg-python PY]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.io
import scipy.signal

# OT Bioelettronica GR08MM1305, connector end at row 0, empty corner at (0, 0): electrode numbers.
GR08MM1305 = np.array([
    [0, 25, 26, 51, 52], [1, 24, 27, 50, 53], [2, 23, 28, 49, 54], [3, 22, 29, 48, 55], [4, 21, 30, 47, 56],
    [5, 20, 31, 46, 57], [6, 19, 32, 45, 58], [7, 18, 33, 44, 59], [8, 17, 34, 43, 60], [9, 16, 35, 42, 61],
    [10, 15, 36, 41, 62], [11, 14, 37, 40, 63], [12, 13, 38, 39, 64],
])
IED = 8.0

OPENHDEMG_SNIPPET = r"""
import json, sys
import numpy as np
import openhdemg.library as emg
f = emg.emg_from_otb(filepath=sys.argv[1])
out = {"fsamp": f["FSAMP"], "ied": f["IED"], "version": emg.__version__ if hasattr(emg, "__version__") else None}
for key, g in (("raw", f), ("filtered", emg.filter_rawemg(f, order=2, lowcut=20, highcut=450))):
    s = emg.sort_rawemg(g, code="GR08MM1305", orientation=180, dividebycolumn=False).to_numpy(float)
    out[key] = np.sqrt(np.mean(s ** 2, axis=0)).tolist()  # 65 sorted cells, column by column (13 rows each)
print(json.dumps(out))
"""


def features(m: np.ndarray) -> dict[str, float]:
    """Centroid (>= 70 % of max, RMS-weighted), modified entropy, CV of a 13 x 5 map (plain NumPy)."""
    yy, xx = np.mgrid[0:13, 0:5] * IED
    ok = np.isfinite(m)
    v, x, y = m[ok], xx[ok], yy[ok]
    sel = v >= 0.7 * v.max()
    p = v ** 2 / np.sum(v ** 2)
    return {"x_mm": float(np.sum(v[sel] * x[sel]) / np.sum(v[sel])),
            "y_mm": float(np.sum(v[sel] * y[sel]) / np.sum(v[sel])),
            "entropy_bit": float(-np.sum(p * np.log2(p))), "cv": float(v.std() / v.mean())}


def plain_maps(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    content = scipy.io.loadmat(path)
    data = content["Data"][0, 0]
    labels = [str(d[0][0]) for d in content["Description"]]
    fs = float(content["SamplingFrequency"][0, 0])
    cols = {int(m.group(1)): i for i, lab in enumerate(labels)
            if (m := re.search(r"GR08MM1305 \((\d+)\)\[uV\]$", lab)) and "ecomposition" not in lab}
    assert sorted(cols) == list(range(1, 65)), "expected electrodes 1..64"
    x = np.stack([data[:, cols[k]].astype(float) for k in range(1, 65)])  # uV, electrode k in row k - 1
    sos = scipy.signal.butter(4, [20, 450], "bandpass", fs=fs, output="sos")
    xf = scipy.signal.sosfiltfilt(sos, x, axis=1)
    r, c = np.nonzero(GR08MM1305)
    maps = {}
    for key, sig in (("raw", x), ("filtered", xf)):
        m = np.full((13, 5), np.nan)
        m[r, c] = np.sqrt(np.mean(sig ** 2, axis=1))[GR08MM1305[r, c] - 1]
        maps[key] = m
    return maps, xf


def paraspinal_maps(path: Path) -> dict[str, np.ndarray]:
    import paraspinal as ps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vastus lateralis is not a trunk muscle: one warning says so
        rec = ps.read(path)
    pre = ps.preprocess(rec, {"steps": [{"name": "bandpass", "low": 20.0, "high": 450.0, "order": 4}]})
    return {"raw": ps.hdsemg.rms_map(rec).values[0], "filtered": ps.hdsemg.rms_map(pre).values[0]}


def openhdemg_maps(python: str, path: Path) -> dict[str, np.ndarray]:
    res = subprocess.run([python, "-c", OPENHDEMG_SNIPPET, str(path)], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr else "openhdemg failed")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    maps = {}
    for key in ("raw", "filtered"):
        v = np.array(out[key], dtype=float)  # sorted column-major: cell i is (row i % 13, col i // 13)
        maps[key] = v.reshape(5, 13).T
    return maps


def neighbour_scores(xf: np.ndarray) -> dict[str, float]:
    corr = np.corrcoef(xf)

    def score(nums):
        vals = []
        for r in range(13):
            for c in range(5):
                for rr, cc in ((r + 1, c), (r, c + 1)):
                    if rr < 13 and cc < 5 and nums[r, c] and nums[rr, cc]:
                        vals.append(corr[nums[r, c] - 1, nums[rr, cc] - 1])
        return float(np.mean(vals))

    col0 = GR08MM1305.copy()
    col0[1:, 0] = GR08MM1305[1:, 0][::-1]
    rng = np.random.default_rng(0)
    randoms = []
    for _ in range(100):
        nums = GR08MM1305.copy()
        nums[nums > 0] = rng.permutation(64) + 1
        randoms.append(score(nums))
    return {"GR08MM1305 (model)": score(GR08MM1305),
            "column-wise": score(np.r_[0, np.arange(1, 65)].reshape(5, 13).T),
            "row-wise": score(np.r_[0, np.arange(1, 65)].reshape(13, 5)),
            "column 0 reversed": score(col0),
            "random (mean of 100)": float(np.mean(randoms))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("PARASPINAL_TEST_DATA", "../shared/data"))
    ap.add_argument("--openhdemg-python", default=os.environ.get("OPENHDEMG_PYTHON"))
    ap.add_argument("--out", default="bench_results/verify_hdsemg.json")
    args = ap.parse_args()
    path = Path(args.data) / "openhdemg_otb" / "otb_testfile.mat"
    plain, xf = plain_maps(path)
    readings = {"plain": plain, "paraspinal": paraspinal_maps(path)}
    notes = {}
    if args.openhdemg_python:
        try:
            readings["openhdemg"] = openhdemg_maps(args.openhdemg_python, path)
        except Exception as err:  # optional: say why and go on
            notes["openhdemg"] = f"not run: {err}"
    else:
        notes["openhdemg"] = "not run: pass --openhdemg-python (a venv with openhdemg installed)"
    rows = []
    print(f"{'reading':12s} {'signal':9s} {'max rel diff':>12s} {'x_mm':>7s} {'y_mm':>7s} {'entropy':>8s} {'cv':>6s}")
    for name, maps in readings.items():
        for key, m in maps.items():
            diff = float(np.nanmax(np.abs(m / plain[key] - 1)))
            f = features(m)
            rows.append({"reading": name, "signal": key, "max_rel_diff_vs_plain": diff, **f})
            print(f"{name:12s} {key:9s} {diff:12.2e} {f['x_mm']:7.3f} {f['y_mm']:7.3f} {f['entropy_bit']:8.4f} "
                  f"{f['cv']:6.3f}")
    for k, v in notes.items():
        print(f"{k}: {v}")
    scores = neighbour_scores(xf)
    print("\nmean correlation of neighbouring electrodes (20-450 Hz):")
    for k, v in scores.items():
        print(f"  {k:24s} {v:.4f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"file": str(path), "rows": rows, "notes": notes, "numbering": scores}, indent=2) + "\n",
                   encoding="utf-8")
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
