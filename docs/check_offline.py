"""Check that the built site opens from disk with no network: no page loads a script, style sheet,
font or image from another host, and every local file a page loads exists.

Usage: ``python docs/check_offline.py docs/_build/html`` (``make docs`` runs it). Links that
merely *point* elsewhere (``<a href="https://...">``) are fine: they load nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

# Resources a browser fetches while rendering: <script src>, <img src>, <link href> of style sheets,
# icons and preloads, <iframe src>, CSS url(...) and @import.
_LOADS = re.compile(
    r"<(?:script|img|iframe|source)\b[^>]*?\bsrc=\"([^\"]+)\""
    r"|<link\b[^>]*?\bhref=\"([^\"]+)\"[^>]*>",
    re.I)
_CSS = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]", re.I)


def _link_loads(tag: str) -> bool:
    rel = re.search(r"\brel=\"([^\"]+)\"", tag, re.I)
    kinds = set(rel.group(1).lower().split()) if rel else set()
    return bool(kinds & {"stylesheet", "icon", "preload", "modulepreload", "shortcut"})


def problems(site: Path) -> list[str]:
    out: list[str] = []
    # pages, and the style sheets they load (the theme's Jinja macros under _static are not pages)
    pages = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.relative_to(site).parts]
    files = pages + sorted(site.rglob("*.css"))
    for page in files:
        text = page.read_text(encoding="utf-8", errors="replace")
        urls: list[str] = []
        if page.suffix == ".html":
            for m in _LOADS.finditer(text):
                if m.group(1):
                    urls.append(m.group(1))
                elif _link_loads(m.group(0)):
                    urls.append(m.group(2))
        else:
            urls += [a or b for a, b in _CSS.findall(text)]
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") or url.startswith("//"):
                out.append(f"{page.relative_to(site)}: loads {url} from the network")
            elif parts.scheme in ("", "file") and parts.path and not url.startswith("data:"):
                target = (page.parent / unquote(parts.path)).resolve()
                if not target.exists():
                    out.append(f"{page.relative_to(site)}: loads {url}, which is not in the site")
    return out


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else "docs/_build/html")
    if not (site / "index.html").is_file():
        print(f"{site}: no index.html; build the site first (make docs)", file=sys.stderr)
        return 2
    found = problems(site)
    for line in found:
        print(line, file=sys.stderr)
    n = len([p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts])
    print(f"{site}: {n} pages, {'offline-ready' if not found else f'{len(found)} problems'}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
