"""Sphinx configuration of the paraspinal documentation.

Build with ``make docs`` (warnings are errors; every code cell of every page is executed by
MyST-NB, so an example that stops working fails the build). The site opens from disk: MathJax
is served from ``_static`` (copied from the ``sphinx-mathjax-offline`` package), nothing is
loaded from the network.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

import paraspinal  # noqa: E402

# The examples read the public recordings beside the checkout; say what to do if they are not
# there (make docs sets the variable to ../shared/data).
_data = os.environ.get("PARASPINAL_TEST_DATA")
if not _data or not Path(_data).is_dir():
    raise RuntimeError(
        "PARASPINAL_TEST_DATA must name the folder of public test recordings (../shared/data in a "
        f"checkout; now {_data!r}). `make docs` sets it; or export it before running sphinx-build.")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The kernels that run the examples use Jupyter's inline backend, so figures are embedded in the
# pages; an inherited MPLBACKEND=Agg (CI sets it for the tests) would make plt.show() draw nothing.
os.environ.pop("MPLBACKEND", None)

project = "paraspinal"
author = "paraspinal developers"
copyright = f"2026, {author}"
version = release = paraspinal.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_click",
    "sphinx_copybutton",
]

root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- MyST and MyST-NB ---------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("PARASPINAL_DOCS_EXECUTE", "force")
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 900
nb_execution_in_temp = True  # outputs written by examples land in a temporary folder
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: the site opens offline

# --- API reference ------------------------------------------------------------------------
# docs/api/ is generated here, from each module's ``__all__`` (never edited by hand; not in git).
API_MODULES = {
    "recording": "The `Recording`: signals in volts, channel table, phases, metadata.",
    "io": "Reading and writing every supported format; format detection.",
    "channels": "Channel vocabulary: muscle, side, level; name parsing; pairs.",
    "datasets": "The synthetic sample study.",
    "synth": "Synthetic paraspinal sEMG with ground truth.",
    "preprocessing": "Filters, powerline, ECG removal, envelopes, normalisation, quality control.",
    "pipeline": "Preprocessing pipelines from TOML or dicts, with provenance.",
    "phases": "Task phases: vocabulary, detection from annotations, trunk angle, IMU or protocol.",
    "features": "Amplitude, spectral, fatigue, onset and trunk features; the feature table.",
    "hdsemg": "High-density sEMG: electrode grids, montages, bad electrodes, amplitude maps and features.",
    "norms": "Normative references, scores, guarding profile, group statistics.",
    "study": "Study processing: discovery, cache, local workers and Dask.",
    "report": "The HTML study report.",
    "viewer": "The interactive viewer (PySide6 + pyqtgraph).",
    "errors": "The error and warning types.",
}
TOP_LEVEL = ["read", "write", "preprocess", "analyze", "run_study", "view", "parse_channel_name"]


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate_api_pages(folder: Path) -> None:
    """One page per module: ``automodule`` for functions and classes, and an explicit
    ``autodata`` for each public constant (autodoc skips constants a package re-exports)."""
    import importlib

    folder.mkdir(exist_ok=True)
    for name, blurb in API_MODULES.items():
        mod = importlib.import_module(f"paraspinal.{name}")
        data = [n for n in mod.__all__ if not (inspect.isfunction(getattr(mod, n))
                                               or inspect.isclass(getattr(mod, n))
                                               or inspect.ismodule(getattr(mod, n)))]
        rst = [f".. automodule:: paraspinal.{name}", "   :members:"]
        if data:
            rst.append("   :exclude-members: " + ", ".join(data))
            rst += ["", ".. rubric:: Constants", ""]
            rst += [f".. autodata:: paraspinal.{name}.{n}" for n in data]
        _write_if_changed(folder / f"{name}.md", f"# paraspinal.{name}\n\n{blurb}\n\n```{{eval-rst}}\n"
                          + "\n".join(rst) + "\n```\n")
    top = "\n".join(f".. autofunction:: {n}" for n in TOP_LEVEL)
    toc = "\n".join(API_MODULES)
    _write_if_changed(folder / "index.md", f"""# API reference

Generated from the docstrings (numpydoc). Everything a module lists in `__all__` is public and
documented here; names starting with `_` are not part of the API and may change.

The shortcuts at the top level of the package (`import paraspinal as ps`):

```{{eval-rst}}
.. currentmodule:: paraspinal

{top}
```

`ps.Recording`, `ps.Pipeline`, `ps.ParaspinalError` and `ps.ParaspinalWarning` are
{{class}}`paraspinal.recording.Recording`, {{class}}`paraspinal.pipeline.Pipeline`,
{{class}}`paraspinal.errors.ParaspinalError` and {{class}}`paraspinal.errors.ParaspinalWarning`.

```{{toctree}}
:maxdepth: 1

{toc}
```
""")


_generate_api_pages(HERE / "api")

autodoc_default_options = {"members": True, "member-order": "bysource", "undoc-members": True,
                           "no-value": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False


# Names from other projects are not cross-referenced (no intersphinx: the build needs no network).
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|pandas|pd|mne|mne_bids|matplotlib|dask|distributed|pyqtgraph|PySide6|click)\..*"),
    (r"py:.*", r"(ValueError|OSError|TypeError|KeyError|UserWarning|RuntimeWarning|Exception|Warning)"),
    (r"py:.*", r"(tomllib|json|pathlib|os|typing|collections|dataclasses|concurrent)(\..*)?"),
]


def _lookup(dotted: str):
    """The object a documented dotted name stands for, or None."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part, None)
        return obj
    return None


def _resolve_short_names(app, env, node, contnode):
    """Resolve a Python reference the standard lookup missed.

    Docstrings say ``:func:`discover``` inside their own module and ``paraspinal.Recording`` for the
    top-level alias; both are documented under their defining module (``paraspinal.study.discover``,
    ``paraspinal.recording.Recording``). Resolve when exactly one documented paraspinal object
    matches, so that every cross-reference either links or fails the build (``-n``).
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    domain = env.get_domain("py")
    names = list(domain.objects)
    wanted = [target]
    obj = paraspinal
    for part in target.split(".")[1:] if target.startswith("paraspinal.") else []:
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if obj is not None and obj is not paraspinal and getattr(obj, "__module__", None):
        wanted.append(f"{obj.__module__}.{getattr(obj, '__qualname__', target.rsplit('.', 1)[-1])}")
    for want in wanted:
        hits = [n for n in names if n == want]
        if not hits:
            hits = [n for n in names if n.startswith("paraspinal.") and n.endswith("." + want)]
        if not hits and obj is not None and obj is not paraspinal:
            # documented under another public path (``paraspinal.features.trunk.spasm_episodes``
            # is ``paraspinal.features.spasm_episodes``): the same object, found by identity
            last = "." + target.rsplit(".", 1)[-1]
            hits = [n for n in names if n.endswith(last) and _lookup(n) is obj]
        if len(hits) == 1:
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], hits[0],
                                       node, contnode)
    return None


def _data_docs(app, what, name, obj, options, lines):
    """Document a public constant re-exported by a package with the ``#:`` comment written where
    it is defined (autodoc looks only in the re-exporting module), and show short values."""
    if what not in ("data", "attribute") or not name.startswith("paraspinal."):
        return
    if not lines:
        from sphinx.pycode import ModuleAnalyzer

        short = name.rsplit(".", 1)[-1]
        for modname, module in sorted(sys.modules.items()):
            if not modname.startswith("paraspinal") or getattr(module, short, None) is not obj:
                continue
            try:
                docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
            except Exception:  # noqa: BLE001 - no source: nothing to add
                continue
            if ("", short) in docs:
                lines.extend(docs[("", short)])
                break
    text = repr(obj)
    if len(text) <= 300 and not text.startswith("<"):
        lines.extend(["", "Value: ``" + text.replace("``", "` `") + "``"])


def _skip_modules(app, what, name, obj, skip, options):
    """Modules listed in a package's ``__all__`` have their own page; not a member entry."""
    if inspect.ismodule(obj):
        return True
    return None


# --- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"paraspinal {version}"
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
html_copy_source = False
html_show_sourcelink = False

# MathJax 3 (SVG output: no web fonts, which browsers may refuse to load from file://).
mathjax_path = "mathjax/tex-svg.js"


def _copy_mathjax(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("sphinx-mathjax-offline is not installed: pip install -e '.[docs]'")
    src = Path(spec.origin).parent / "static" / "mathjax"
    dst = Path(app.outdir) / "_static" / "mathjax"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


def setup(app):
    app.connect("autodoc-skip-member", _skip_modules)
    app.connect("autodoc-process-docstring", _data_docs)
    app.connect("missing-reference", _resolve_short_names)
    app.connect("build-finished", _copy_mathjax)
