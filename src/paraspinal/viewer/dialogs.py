"""Dialogs: the key help, the channel table with quality reasons, export options."""

from __future__ import annotations

import html

import pandas as pd
from pyqtgraph.Qt import QtWidgets

from .keys import BINDINGS, MOUSE

__all__ = ["help_text", "help_html", "HelpDialog", "ChannelInfoDialog", "ExportDialog"]


def _groups() -> dict[str, list[tuple[str, str]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for b in BINDINGS:
        groups.setdefault(b.group, []).append((b.text, b.description))
    return groups


def help_text() -> str:
    """Every key and mouse action as plain text (what the help dialog shows)."""
    lines = []
    for group, rows in _groups().items():
        lines.append(group)
        lines += [f"  {k:<14} {d}" for k, d in rows]
    lines.append("Mouse")
    lines += [f"  {k:<14} {d}" for k, d in MOUSE]
    return "\n".join(lines)


def help_html() -> str:
    """The help as an HTML table."""
    parts = ["<h3>paraspinal viewer: keys</h3>"]
    for group, rows in list(_groups().items()) + [("Mouse", list(MOUSE))]:
        parts.append(f"<h4>{html.escape(group)}</h4><table cellspacing='0' cellpadding='2'>")
        parts += [f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(d)}</td></tr>" for k, d in rows]
        parts.append("</table>")
    return "".join(parts)


class HelpDialog(QtWidgets.QDialog):
    """Lists every key binding (from :data:`paraspinal.viewer.keys.BINDINGS`)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("paraspinal viewer: keys")
        lay = QtWidgets.QVBoxLayout(self)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setHtml(help_html())
        lay.addWidget(self.browser)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        lay.addWidget(close)
        self.resize(560, 700)

    def text(self) -> str:
        """The dialog's text (for checks)."""
        return self.browser.toPlainText()


class ChannelInfoDialog(QtWidgets.QDialog):
    """The channel table with each channel's QC verdict and reasons."""

    def __init__(self, table: pd.DataFrame, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("channels and signal quality")
        lay = QtWidgets.QVBoxLayout(self)
        cols = [c for c in ("name", "type", "muscle", "side", "level", "unit", "qc", "reason") if c in table.columns]
        self.table = QtWidgets.QTableWidget(len(table), len(cols))
        self.table.setHorizontalHeaderLabels(cols)
        for i, (_, row) in enumerate(table[cols].iterrows()):
            for j, c in enumerate(cols):
                v = row[c]
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem("" if v is None or pd.isna(v) else str(v)))
        self.table.resizeColumnsToContents()
        lay.addWidget(self.table)
        self.resize(900, 400)


class ExportDialog(QtWidgets.QDialog):
    """Choose a file (PNG or SVG), the PNG width, and what to export."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, path: str = "view.png", width: int = 2400,
                 guarding: bool = False):
        super().__init__(parent)
        self.setWindowTitle("export the view")
        form = QtWidgets.QFormLayout(self)
        self.path = QtWidgets.QLineEdit(path)
        browse = QtWidgets.QPushButton("…")
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        form.addRow("file (.png or .svg)", row)
        self.width = QtWidgets.QSpinBox()
        self.width.setRange(100, 20000)
        self.width.setValue(width)
        form.addRow("PNG width (pixels)", self.width)
        self.what = QtWidgets.QComboBox()
        self.what.addItems(["traces"] + (["guarding panel"] if guarding else []))
        form.addRow("what", self.what)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(self, "export", self.path.text(), "Images (*.png *.svg)")
        if name:
            self.path.setText(name)
