"""Public names of a package imported on first use (PEP 562 module ``__getattr__``/``__dir__``).

``import paraspinal`` must not pay for MNE, pandas, SciPy's signal and statistics modules, Dask,
Qt or matplotlib before any of them is used (the CLI's ``--help`` least of all). A package that
uses :func:`attach` lists its public names, each with the module that defines it; the first
``pkg.name`` (or ``from pkg import name``) imports that module and keeps the value in the
package, so later accesses cost a dictionary look-up. The package also imports the same names
under ``if typing.TYPE_CHECKING:`` so that type checkers, IDEs and the architecture test see them.

The rule that keeps it simple: a lazy attribute never has the name of a submodule of the package
that exports it (``preprocessing.qc`` the function beside ``preprocessing/qc.py``), because
importing that submodule anywhere would replace the attribute with the module. :func:`attach`
refuses such a name; such packages import their names eagerly (``paraspinal.preprocessing``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping

__all__ = ["attach"]


def attach(package: str, submodules: Iterable[str] = (), attrs: Mapping[str, Iterable[str]] | None = None
           ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Make the names of a package load on first access.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    submodules : iterable of str
        Submodules reachable as attributes (``paraspinal.features``), imported on first access.
    attrs : mapping of str to iterable of str
        ``{module: names}``: each name is ``getattr(module, name)``, the module imported on first
        access. ``module`` is relative to ``package`` (``".io"``, ``"..grids"``) or absolute.

    Returns
    -------
    __getattr__, __dir__
        To assign to the package's module-level names of the same name.

    Raises
    ------
    ValueError
        When a name is given twice, or an attribute has the name of a submodule of ``package``.
    """
    subs = tuple(submodules)
    where: dict[str, str] = {}
    for module, names in (attrs or {}).items():
        for name in names:
            if name in where or name in subs:
                raise ValueError(f"{package}: lazy name {name!r} given twice")
            where[name] = module
    spec = importlib.util.find_spec(package)
    locations = spec.submodule_search_locations if spec is not None else None
    for name in where:
        if locations and importlib.util.find_spec(f"{package}.{name}") is not None:
            raise ValueError(f"{package}: the lazy attribute {name!r} has the name of a submodule, whose import "
                             "would replace it; import it eagerly or rename one of them")

    def __getattr__(name: str) -> object:
        if name in subs:
            return importlib.import_module(f"{package}.{name}")
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(subs) | set(where))

    return __getattr__, __dir__
