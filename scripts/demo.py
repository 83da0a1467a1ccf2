#!/usr/bin/env python
"""The demo job of ``make demo``: process the bundled sample study and print where the report is.

Runs ``paraspinal study run sample_data -o demo_output/study`` (a synthetic BIDS-EMG study of 12
subjects x 2 tasks made by ``scripts/make_sample_data.py``): read, QC, preprocess, phases and
features of every recording on local worker processes, then the HTML report. A second
``make demo`` reuses the cache and only rewrites what changed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    sample = ROOT / "sample_data"
    out = ROOT / "demo_output" / "study"
    if not any(sample.glob("sub-*/**/*_emg.edf")):
        print(f"no recordings found under {sample}; run scripts/make_sample_data.py", file=sys.stderr)
        return 1
    cmd = [sys.executable, "-m", "paraspinal.cli", "study", "run", str(sample), "-o", str(out)]
    print("$ paraspinal study run sample_data -o demo_output/study", flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc not in (0, 1):
        return rc
    report = out / "report" / "index.html"
    print(f"\nOpen the report in a browser: file://{report}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
