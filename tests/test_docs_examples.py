"""Every ```python block in README.md and docs/*.md runs (pyomeca's habit: docs are tests).

Blocks of one page run in order in one namespace, in a temporary working folder, with the
repository's sample_data/ reachable as ``sample_data/`` and the real recordings as
``$PARASPINAL_TEST_DATA``. A page whose examples need the real recordings says so with
``<!-- needs: PARASPINAL_TEST_DATA -->`` and is skipped when that is unset.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _pages_with_code():
    return [p for p in PAGES if p.exists() and BLOCK.search(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", _pages_with_code(), ids=lambda p: p.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    if "<!-- needs: PARASPINAL_TEST_DATA -->" in text and not os.environ.get("PARASPINAL_TEST_DATA"):
        pytest.skip("PARASPINAL_TEST_DATA is not set: this page's examples read the real recordings")
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, match in enumerate(BLOCK.finditer(text)):
        code = match.group(1)
        try:
            exec(compile(code, f"{page.name}[block {i + 1}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{page.name}, python block {i + 1} failed: {err!r}\n---\n{code}") from err
