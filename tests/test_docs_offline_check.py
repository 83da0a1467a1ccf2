"""docs/check_offline.py: the check that the built site opens from disk finds what loads from the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_offline", ROOT / "docs" / "check_offline.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)


def _site(tmp_path: Path, body: str, css: str = "") -> Path:
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "ok.js").write_text("")
    (tmp_path / "_static" / "style.css").write_text(css)
    (tmp_path / "index.html").write_text(
        '<html><head><link rel="stylesheet" href="_static/style.css"><script src="_static/ok.js"></script>'
        f"</head><body>{body}</body></html>")
    return tmp_path


def test_a_self_contained_site_passes(tmp_path):
    site = _site(tmp_path, '<a href="https://example.org/paper">a link loads nothing</a>'
                           '<img src="data:image/png;base64,AAAA">')
    assert check.problems(site) == []
    assert check.main([str(site)]) == 0


def test_network_and_missing_resources_are_reported(tmp_path):
    site = _site(tmp_path, '<script src="https://cdn.example.org/mathjax.js"></script>'
                           '<img src="img/missing.png">'
                           '<link rel="preload" href="//fonts.example.org/x.woff2">',
                 css="@import 'https://fonts.example.org/css';")
    found = "\n".join(check.problems(site))
    assert "cdn.example.org/mathjax.js from the network" in found
    assert "img/missing.png, which is not in the site" in found
    assert "//fonts.example.org/x.woff2 from the network" in found
    assert "style.css: loads https://fonts.example.org/css" in found
    assert check.main([str(site)]) == 1


def test_no_site_is_a_usage_error(tmp_path):
    assert check.main([str(tmp_path)]) == 2
