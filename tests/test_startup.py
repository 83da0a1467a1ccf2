"""Start-up: ``import paraspinal`` and the command line's help load no heavy library (issue 18).

Each check runs in a fresh Python process (``sys.modules`` of this test process holds everything
the suite has imported). No timing here: ``scripts/bench_startup.py`` measures the speed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import paraspinal
from paraspinal import _lazy

HEAVY = ("scipy.signal", "scipy.stats", "pandas", "mne", "pyqtgraph", "dask", "matplotlib", "pyarrow")
SRC = Path(paraspinal.__file__).resolve().parent


def _fresh(code: str, *args: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON document last, which is returned."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                         check=False, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


_LOADED = f"""
import sys
HEAVY = {HEAVY!r}
def loaded():
    return sorted(m for m in HEAVY if m in sys.modules)
"""


def test_import_paraspinal_loads_no_heavy_library():
    res = _fresh(_LOADED + """
import json
import paraspinal
import paraspinal.io, paraspinal.hdsemg  # the packages import paraspinal always imports, named
print(json.dumps({"loaded": loaded()}))
""")
    assert res["loaded"] == []


def test_every_help_of_the_command_line_loads_no_heavy_library():
    res = _fresh(_LOADED + """
import contextlib, io, json
import click
from paraspinal.cli import main

def paths(cmd, path):
    yield path
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from paths(sub, path + [name])

seen = {}
for p in paths(main, []):
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        main(p + ["--help"], standalone_mode=False)
    seen[" ".join(p) or "(main)"] = [text.getvalue().startswith("Usage:"), loaded()]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["--version"], standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps({"seen": seen, "after_version": loaded()}))
""")
    # every command and group of the CLI was asked, and each printed its usage
    assert {"(main)", "info", "study", "study run", "study report", "synth study", "norms build", "view"} <= set(res["seen"])
    assert all(usage for usage, _ in res["seen"].values())
    assert {k: v for k, (_, v) in res["seen"].items() if v} == {}
    assert res["after_version"] == []


def test_the_console_script_help_in_a_subprocess():
    script = Path(sys.executable).parent / "paraspinal"
    if not script.is_file():
        pytest.skip(f"no console script beside {sys.executable} (install paraspinal with pip install -e .)")
    out = subprocess.run([str(script), "study", "run", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Usage: paraspinal study run" in out.stdout, out.stderr


def test_public_names_resolve_in_a_fresh_process(tmp_path):
    res = _fresh(_LOADED + """
import inspect, json, sys, warnings
import paraspinal as ps
from paraspinal import Recording, read, run_study, analyze  # from-imports of lazy names
kinds = {n: type(getattr(ps, n)).__name__ for n in ps.__all__}
hd = {n: callable(getattr(ps.hdsemg, n)) or not inspect.ismodule(getattr(ps.hdsemg, n)) for n in ps.hdsemg.__all__}
doc = {
    "kinds": kinds,
    "hdsemg_ok": all(hd.values()) and len(hd) == len(ps.hdsemg.__all__),
    "dir_missing": sorted(set(ps.__all__) - set(dir(ps))),
    "hd_dir_missing": sorted(set(ps.hdsemg.__all__) - set(dir(ps.hdsemg))),
    "same": ps.read is read and ps.Recording is Recording and ps.analyze is ps.features.analyze
            and ps.run_study is ps.study.run_study and ps.recording.Recording is Recording,
}
try:
    ps.no_such_name
except AttributeError as err:
    doc["missing"] = str(err)
print(json.dumps(doc))
""")
    assert res["kinds"]["read"] == "function" and res["kinds"]["Recording"] == "type"
    assert res["kinds"]["features"] == "module" and res["kinds"]["ParaspinalWarning"] == "type"
    assert res["hdsemg_ok"] and res["dir_missing"] == [] and res["hd_dir_missing"] == []
    assert res["same"] is True
    assert "no_such_name" in res["missing"]


def test_registrations_survive_lazy_loading(tmp_path):
    """Recording.save finds its writer, grid readers run hdsemg's check, the registry has every family."""
    from paraspinal.hdsemg import simulate_grid
    from paraspinal.io.bids import write_bids

    sim = simulate_grid(2.0, 1024.0, grids=("L_ES",), seed=3, bad={"dead": [4]},
                        meta={"subject": "01", "group": "control", "task": "sorensen"})
    grid_file = write_bids(sim.recording, tmp_path / "bids")
    families = sorted(p.stem for p in (SRC / "features" / "families").glob("*.py") if p.stem != "__init__")
    res = _fresh(_LOADED + """
import json, sys, warnings
import numpy as np
import paraspinal as ps
warnings.simplefilter("ignore")
out = sys.argv[1]
rec = ps.Recording.from_array(np.random.default_rng(0).standard_normal((2, 4000)) * 50, 2000.0,
                              ["L_MF", "R_MF"], units="uV")
rec.save(out + "/saved.edf")  # through the writer paraspinal.io registered
back = ps.read(out + "/saved.edf")
grid = ps.read(sys.argv[2])  # the grid reader runs the check paraspinal.hdsemg registered
check = (grid.meta.get("grids", {}).get("L_ES") or {}).get("bad_check") or {}
fams = [f.rows.__module__.rsplit(".", 1)[-1] for f in ps.features.registry.FAMILIES]
print(json.dumps({"channels": back.ch_names, "bad": ps.hdsemg.recorded_bad(grid), "on": check.get("on"),
                  "families": sorted(fams)}))
""", str(tmp_path), str(grid_file))
    assert res["channels"] == ["L_MF", "R_MF"]
    assert res["bad"] == {"L_ES_04": "dead"} and res["on"] == "signals as read"
    assert res["families"] == families and "hdsemg" in families


# ----------------------------------------------------------------------------- the lazy tables agree
def _type_checking_names(path: Path) -> set[str]:
    """Names bound by the imports under ``if TYPE_CHECKING:`` of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                out |= {a.asname or a.name for a in imp.names}
    return out


@pytest.mark.parametrize("package", ["paraspinal", "paraspinal.hdsemg"])
def test_type_checkers_see_every_lazy_name(package):
    import importlib

    mod = importlib.import_module(package)
    path = Path(mod.__file__)
    eager = {n for n in mod.__all__ if n in vars(mod) and n not in _type_checking_names(path)}
    lazy_public = set(mod.__all__) - eager
    assert lazy_public <= _type_checking_names(path), "lazy names missing from the TYPE_CHECKING block"
    # and every name of the TYPE_CHECKING block is reachable on the package
    assert all(hasattr(mod, n) for n in _type_checking_names(path))


def test_attach_refuses_an_attribute_named_like_a_submodule():
    # preprocessing.qc (the function) beside preprocessing/qc.py: importing the module anywhere
    # would replace the attribute, so paraspinal.preprocessing imports its names eagerly
    with pytest.raises(ValueError, match="submodule"):
        _lazy.attach("paraspinal.preprocessing", attrs={".qc": ["qc"]})
    with pytest.raises(ValueError, match="twice"):
        _lazy.attach("paraspinal", submodules=["io"], attrs={".io": ["io"]})
    getattr_, dir_ = _lazy.attach("paraspinal", attrs={".errors": ["ReadError"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr_("ReadError") is paraspinal.errors.ReadError
    assert "ReadError" in dir_()
    with pytest.raises(AttributeError, match="nothing_here"):
        getattr_("nothing_here")
