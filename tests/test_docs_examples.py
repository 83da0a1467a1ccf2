"""The README's ```python blocks run (pyomeca's habit: docs are tests); the docs' examples are
executed by the Sphinx build (``make docs``, MyST-NB), and these tests check that every Python
example on a page is one the build executes.

README blocks run in order in one namespace, in a temporary working folder, with the repository's
sample_data/ reachable as ``sample_data/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DOC_PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)
FRONT_MATTER = re.compile(r"\A---\n(?:.*\n)*?file_format: mystnb\n(?:.*\n)*?kernelspec:\n\s+name: python3\n(?:.*\n)*?---\n")


def test_readme_examples_run(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert blocks, "the README has Python examples"
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_readme"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"README.md[block {i + 1}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"README.md, python block {i + 1} failed: {err!r}\n---\n{code}") from err


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_doc_examples_are_executed_by_the_build(page):
    """A ```python fence would be shown but never run: examples are ```{code-cell} python, on pages
    MyST-NB executes (front matter ``file_format: mystnb`` with the python3 kernel)."""
    text = page.read_text(encoding="utf-8")
    assert not BLOCK.search(text), (
        f"{page.name}: a ```python block is not executed by the docs build; make it a ```{{code-cell}} python "
        "(or a ```{code-block} python if it must not run, e.g. it needs a cluster)")
    if "```{code-cell}" in text:
        assert FRONT_MATTER.match(text), f"{page.name}: code cells need the MyST-NB front matter (file_format: mystnb, kernelspec python3)"


def test_every_page_is_in_the_site():
    """Every Markdown page under docs/ is reachable from a toctree (Sphinx would warn, but say which)."""
    toc = re.compile(r"```\{toctree\}\n(.*?)```", re.S)
    listed = set()
    for page in DOC_PAGES:
        for block in toc.findall(page.read_text(encoding="utf-8")):
            for line in block.splitlines():
                line = line.strip()
                if line and not line.startswith(":"):
                    listed.add((page.parent / line).resolve().with_suffix(".md"))
    orphans = [str(p.relative_to(ROOT)) for p in DOC_PAGES if p.name != "index.md" or p.parent != ROOT / "docs"]
    orphans = [o for o in orphans if (ROOT / o).resolve() not in listed]
    assert not orphans, f"pages in no toctree: {orphans}"
