#!/usr/bin/env python
"""The demo job of ``make demo``: describe the bundled sample study's recordings.

Runs ``paraspinal info`` on each recording of ``sample_data/`` (a synthetic BIDS-EMG study made by
``scripts/make_sample_data.py``), writes the descriptions to ``demo_output/`` and says where they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from paraspinal.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    sample = ROOT / "sample_data"
    out = ROOT / "demo_output"
    out.mkdir(exist_ok=True)
    files = sorted(sample.glob("sub-*/**/*_emg.edf"))
    if not files:
        print(f"no recordings found under {sample}; run scripts/make_sample_data.py", file=sys.stderr)
        return 1
    runner = CliRunner()
    report = out / "info.txt"
    with report.open("w") as fh:
        for f in files:
            res = runner.invoke(cli, ["info", str(f)])
            if res.exit_code != 0:
                print(res.output, file=sys.stderr)
                return res.exit_code
            fh.write(res.output + "\n")
    first = runner.invoke(cli, ["info", str(files[0])])
    print(first.output)
    print(f"Described {len(files)} recordings of {sample.relative_to(ROOT)}/.")
    print(f"Report: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
