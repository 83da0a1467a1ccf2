#!/usr/bin/env python
"""Execute the code cells of documentation pages the way the docs build does, and show their output.

Usage::

    python scripts/run_doc_page.py docs/tutorials/single_recording.md [more pages ...]

Each page runs in a fresh Jupyter kernel, in a temporary working folder (as MyST-NB does with
``nb_execution_in_temp``), with ``QT_QPA_PLATFORM=offscreen`` and Jupyter's inline figures (as in the build). Text
outputs are printed; the first failing cell stops the page and the exit status is 1. Faster
than ``make docs`` while writing one page; ``make docs`` is still the check that counts.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbclient
from myst_nb.core.read import read_myst_markdown_notebook


def run_page(page: Path) -> bool:
    nb = read_myst_markdown_notebook(page.read_text(encoding="utf-8"), path=str(page))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                         resources={"metadata": {"path": work}})
        try:
            client.execute()
            ok = True
        except nbclient.exceptions.CellExecutionError as err:
            print(f"--- {page}: a cell failed\n{err}", file=sys.stderr)
            ok = False
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            kinds = ",".join(sorted(out.get("data", {}))) if "data" in out else out.output_type
            print(f"[{page.name} cell {i + 1}] ({kinds})\n{text}".rstrip())
    print(f"=== {page}: {'ok' if ok else 'FAILED'} in {time.perf_counter() - t0:.1f} s")
    return ok


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.pop("MPLBACKEND", None)
    if not os.environ.get("PARASPINAL_TEST_DATA"):
        here = Path(__file__).resolve().parents[1]
        os.environ["PARASPINAL_TEST_DATA"] = str(here.parent / "shared" / "data")
    return 0 if all([run_page(Path(p)) for p in argv]) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
