"""Export what the viewer shows as PNG (at a chosen width in pixels) or SVG, for papers.

Uses ``pyqtgraph.exporters``: :class:`~pyqtgraph.exporters.ImageExporter` renders the
items again at the requested width (the height follows the on-screen aspect ratio, so a
1000 x 600 view exported at ``width=3000`` is 3000 x 1800 pixels), and
:class:`~pyqtgraph.exporters.SVGExporter` writes vector graphics (when its path clean-up
fails on a figure, Qt's ``QSvgGenerator`` renders the same items instead).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from pyqtgraph.Qt import QtWidgets

from ..errors import ParameterError

__all__ = ["export_image", "FORMATS"]

#: Suffixes :func:`export_image` writes.
FORMATS: tuple[str, ...] = (".png", ".svg")


def _item(target: Any) -> Any:
    """The graphics item (or scene) to export from a widget, a window or an item."""
    for attr in ("export_item",):
        if hasattr(target, attr):
            return getattr(target, attr)()
    if isinstance(target, pg.GraphicsLayoutWidget):
        return target.ci
    if isinstance(target, pg.PlotWidget):
        return target.getPlotItem()
    return target


def export_image(target: Any, path: str | os.PathLike, *, width: int | None = None,
                 background: str = "w") -> Path:
    """Write ``target`` to ``path`` as PNG or SVG (chosen by the suffix).

    Parameters
    ----------
    target : BrowserWindow, GuardingPanel, GraphicsLayoutWidget, PlotWidget or a graphics item
        What to export (a window exports its traces and overview; the guarding panel all its plots).
    path : path-like
        ``.png`` or ``.svg`` file.
    width : int, optional
        PNG width in pixels (default: as on screen); the height keeps the aspect ratio.
    background : str
        PNG background colour.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ParameterError
        Unknown suffix or a non-positive width.
    """
    from pyqtgraph import exporters

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(f"cannot export to {suffix or 'a file without suffix'!r}", file=path,
                             hint="use a .png or .svg file name")
    item = _item(target)
    if suffix == ".png":
        exp = exporters.ImageExporter(item)
        if width is not None:
            if int(width) <= 0:
                raise ParameterError(f"width must be a positive number of pixels, got {width}")
            exp.parameters()["width"] = int(width)
        exp.parameters()["background"] = pg.mkColor(background)
        exp.export(str(path))
    else:
        try:
            exporters.SVGExporter(item).export(str(path))
        except (ValueError, IndexError):
            # pyqtgraph's SVG clean-up cannot parse some paths (e.g. of transformed curves):
            # render the same items through Qt's own SVG generator instead
            _svg_via_qt(item, path)
    return path


def _svg_via_qt(item: Any, path: Path) -> None:
    from pyqtgraph.Qt import QtCore, QtGui
    from PySide6.QtSvg import QSvgGenerator

    scene = item if isinstance(item, QtWidgets.QGraphicsScene) else item.scene()
    source = item.sceneBoundingRect() if not isinstance(item, QtWidgets.QGraphicsScene) else scene.sceneRect()
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QtCore.QSize(int(source.width()), int(source.height())))
    gen.setViewBox(QtCore.QRectF(0, 0, source.width(), source.height()))
    gen.setTitle("paraspinal viewer")
    painter = QtGui.QPainter(gen)
    try:
        scene.render(painter, QtCore.QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()
