"""The shape of the code: no import circles, no overlong function, dependencies pointing one way.

Every module of ``src/paraspinal`` is parsed with :mod:`ast` (nothing is imported for the graph,
except ``paraspinal.io`` to read its format registry). The rules of the import graph:

* Every ``import`` and ``from ... import`` counts, at module level and inside functions (and
  under ``if TYPE_CHECKING:``), absolute or relative; ``importlib.import_module("<constant>",
  __package__)`` counts as an import of that name; so does each reader named in
  ``paraspinal.io.FORMATS`` (``"module:function"``, imported by ``Format.load``), as an import by
  ``paraspinal.io``.
* Importing ``a.b.c`` runs ``a/__init__``, ``a/b/__init__`` and ``a/b/c``: it is an edge to each
  of ``a``, ``a.b``, ``a.b.c`` that is not the importing module itself or one of its own parent
  packages (those are already being imported when it runs). So ``paraspinal.recording``
  importing ``paraspinal.io.bids`` is an edge to ``paraspinal.io`` *and* ``paraspinal.io.bids``,
  while ``paraspinal.io.bids`` importing ``paraspinal.recording`` is no edge to ``paraspinal``.
* ``from . import x`` inside package ``p`` (in ``p/__init__.py`` or in a module ``p/m.py``) is an
  edge to ``p.x`` when ``p.x`` is a module; ``from .m import name`` is an edge to ``p.m``.

A circle is a strongly connected set of modules; the test prints one cycle through each.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable
from pathlib import Path

import paraspinal

SRC = Path(paraspinal.__file__).resolve().parent
MAX_BODY_LINES = 120
LOWER = ("paraspinal.io", "paraspinal.preprocessing", "paraspinal.phases", "paraspinal.features")
UPPER = ("paraspinal.study", "paraspinal.report", "paraspinal.viewer", "paraspinal.cli")


# ----------------------------------------------------------------------------- the checker
def modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is_package)}`` of every ``.py`` file below ``root`` (the package folder)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _imported_names(tree: ast.AST, name: str, is_pkg: bool, known: Iterable[str]) -> list[tuple[str, int]]:
    """Dotted names (of modules, or of objects inside them) that the module imports, with line numbers."""
    known = set(known)
    pkg = name if is_pkg else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = pkg.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.append((base, node.lineno))
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names if f"{base}.{a.name}" in known]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            target = node.args[0].value
            if target.startswith("."):
                level = len(target) - len(target.lstrip("."))
                parts = pkg.split(".")
                target = ".".join(parts[:len(parts) - level + 1] + [target.lstrip(".")])
            out.append((target, node.lineno))
    return out


def import_graph(root: Path, package: str, extra: dict[str, Iterable[str]] | None = None
                 ) -> dict[str, dict[str, int]]:
    """``{module: {imported module: line}}`` by the rules of this file's docstring."""
    mods = modules(root, package)
    graph: dict[str, dict[str, int]] = {m: {} for m in mods}
    for m, (path, is_pkg) in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = _imported_names(tree, m, is_pkg, mods)
        targets += [(t, 0) for t in (extra or {}).get(m, ())]
        skip = _ancestors(m) | {m}
        for target, line in targets:
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                dep = ".".join(parts[:i])
                if dep in mods and dep not in skip:
                    graph[m].setdefault(dep, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each strongly connected set of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:  # a shortest way back to the start, inside the component
        start, inside = min(comp), set(comp)
        prev: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in prev:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w in inside and w not in prev:
                        prev[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        v = prev[start]
        while v != start:
            path.append(v)
            v = prev[v]
        out.append([start, *reversed(path[1:]), start])
    return out


def long_functions(root: Path, limit: int = MAX_BODY_LINES) -> list[str]:
    """``file:line name (N lines)`` of every function whose body, docstring excluded, is longer than ``limit``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            if ast.get_docstring(node, clean=False) is not None:
                body = body[1:]
            if not body:
                continue
            first = min([body[0].lineno] + [d.lineno for d in getattr(body[0], "decorator_list", [])])
            n = body[-1].end_lineno - first + 1
            if n > limit:
                out.append(f"{path}:{node.lineno} {node.name} ({n} lines)")
    return out


def reaches(graph: dict[str, dict[str, int]], start: str) -> dict[str, str]:
    """Every module ``start`` imports, directly or not: ``{module: the module that imports it}``."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop()
        for w in graph[v]:
            if w not in seen and w != start:
                seen[w] = v
                todo.append(w)
    return seen


def _in(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer_violations(graph: dict[str, dict[str, int]], lower: Iterable[str], upper: Iterable[str]) -> list[str]:
    """``a -> ... -> b`` for each module of ``lower`` that imports (directly or not) one of ``upper``."""
    out = []
    for m in sorted(graph):
        if not _in(m, lower):
            continue
        via = reaches(graph, m)
        for dep in sorted(via):
            if _in(dep, upper):
                chain = [dep]
                while chain[-1] != m:
                    chain.append(via[chain[-1]])
                out.append(" -> ".join(reversed(chain)))
    return out


# ----------------------------------------------------------------------------- the rules on paraspinal
def _paraspinal_graph() -> dict[str, dict[str, int]]:
    import paraspinal.io

    readers = {f"paraspinal.io.{fmt.reader.split(':')[0]}" for fmt in paraspinal.io.FORMATS}
    return import_graph(SRC, "paraspinal", extra={"paraspinal.io": readers})


def test_no_import_circles():
    found = cycles(_paraspinal_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_function_body_longer_than_120_lines():
    found = long_functions(SRC)
    assert not found, "function bodies over 120 lines (docstring excluded):\n" + "\n".join(found)


def test_library_layers_know_nothing_of_study_report_viewer_cli():
    found = layer_violations(_paraspinal_graph(), LOWER, UPPER)
    assert not found, "io/preprocessing/phases/features import study/report/viewer/cli:\n" + "\n".join(found)


def test_graph_sees_the_documented_edges():
    graph = _paraspinal_graph()
    assert "paraspinal.io.sidecars" in graph["paraspinal.io.mne_formats"]
    assert "paraspinal.recording" in graph["paraspinal.io.bids"] and "paraspinal" not in graph["paraspinal.io.bids"]
    assert "paraspinal.io.c3d" in graph["paraspinal.io"]  # through the format registry
    assert "paraspinal.preprocessing.ecg" in graph["paraspinal.pipeline"]  # importlib.import_module
    assert "paraspinal.report" in graph["paraspinal.study"]  # inside run_study


# ----------------------------------------------------------------------------- the checker finds what it should
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_checker_finds_a_circle_through_a_function_and_a_package(tmp_path):
    root = _tree(tmp_path, {
        "__init__.py": "from . import a\n",
        "a.py": "def f():\n    from .sub import deep\n",
        "sub/__init__.py": "",
        "sub/deep.py": "import os\nfrom ..b import thing\n",
        "b.py": "import importlib\n_m = importlib.import_module('.c', __package__)\n",
        "c.py": "def g():\n    from pkg.sub import deep\n",
        "d.py": "from . import b\n",
    })
    graph = import_graph(root, "pkg")
    assert "pkg" not in graph["pkg.sub.deep"]  # its own parent packages are no edges
    assert {"pkg.sub", "pkg.sub.deep"} <= set(graph["pkg.a"]) and "pkg.c" in graph["pkg.b"]
    assert graph["pkg.d"] == {"pkg.b": 1}
    found = cycles(graph)
    assert len(found) == 1 and found[0][0] == found[0][-1]
    assert found[0] == ["pkg.b", "pkg.c", "pkg.sub.deep", "pkg.b"]
    # through a package's __init__: importing pkg.sub.deep runs pkg/sub/__init__, which imports c
    root2 = _tree(tmp_path / "2", {"__init__.py": "", "sub/__init__.py": "from .. import c\n",
                                   "sub/deep.py": "", "c.py": "def g():\n    import pkg.sub.deep\n"})
    assert cycles(import_graph(root2, "pkg")) == [["pkg.c", "pkg.sub", "pkg.c"]]
    assert not cycles(import_graph(_tree(tmp_path / "3", {"__init__.py": "from . import a\n",
                                                          "a.py": "from . import b\n", "b.py": ""}), "pkg"))


def test_checker_finds_long_functions_and_upward_imports(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_BODY_LINES))
    root = _tree(tmp_path, {
        "__init__.py": "",
        "ok.py": f'def f():\n    """Doc\n    string."""\n{body}\n',
        "long.py": f"def g():\n{body}\n    return x0\n",
        "io/__init__.py": "def read():\n    from ..helper import h\n",
        "helper.py": "from .study import run\n",
        "study.py": "",
    })
    found = long_functions(root)
    assert len(found) == 1 and "long.py:1 g (121 lines)" in found[0]
    graph = import_graph(root, "pkg")
    assert layer_violations(graph, ["pkg.io"], ["pkg.study"]) == ["pkg.io -> pkg.helper -> pkg.study"]
    assert layer_violations(graph, ["pkg.helper"], ["pkg.io"]) == []
