"""The viewer's keyboard map: one table that both the key handler and the help dialog read.

Every binding names the ``BrowserWindow`` (``paraspinal.viewer.app``) method it calls and the
arguments, so the help can never list a key the window does not handle (or miss one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..phases import PHASES

__all__ = ["KeyBinding", "BINDINGS", "PHASE_KEYS", "lookup"]


@dataclass(frozen=True)
class KeyBinding:
    """One key.

    Attributes
    ----------
    key : str
        Qt key name without the ``Key_`` prefix (``"Right"``, ``"Plus"``, ``"1"``).
    modifiers : tuple of str
        ``"Shift"``, ``"Ctrl"``, ``"Alt"`` (exact match; Shift is ignored for symbol keys
        such as ``+`` or ``?`` that need it on some layouts).
    text : str
        How the help writes the key.
    description : str
        What it does.
    group : str
        Help section.
    method : str
        Window method to call.
    args : tuple
        Its arguments.
    """

    key: str
    modifiers: tuple[str, ...]
    text: str
    description: str
    group: str
    method: str
    args: tuple[Any, ...] = field(default=())


def _b(key, mods, text, desc, group, method, *args) -> KeyBinding:
    return KeyBinding(key, tuple(mods), text, desc, group, method, tuple(args))


#: Number keys that label the selected phase: (key, modifiers, key text, phase).
PHASE_KEYS: list[tuple[str, tuple[str, ...], str, str]] = (
    [(str(i + 1), (), str(i + 1), PHASES[i]) for i in range(min(9, len(PHASES)))]
    + ([("0", (), "0", PHASES[9])] if len(PHASES) > 9 else [])
    + [(str(i - 9), ("Alt",), f"Alt+{i - 9}", PHASES[i]) for i in range(10, len(PHASES))]
)

_NAV, _SCALE, _VIEW, _PHASE, _FILE = "Navigation", "Scaling", "Display", "Phases", "File and windows"

#: Every key the browser handles.
BINDINGS: tuple[KeyBinding, ...] = tuple([
    _b("Left", (), "←", "back a quarter page", _NAV, "page", -0.25),
    _b("Right", (), "→", "forward a quarter page", _NAV, "page", 0.25),
    _b("Left", ("Shift",), "Shift+←", "back a full page", _NAV, "page", -1.0),
    _b("Right", ("Shift",), "Shift+→", "forward a full page", _NAV, "page", 1.0),
    _b("Up", (), "↑", "up one channel", _NAV, "scroll_channels", -1),
    _b("Down", (), "↓", "down one channel", _NAV, "scroll_channels", 1),
    _b("Up", ("Shift",), "Shift+↑", "up a page of channels", _NAV, "scroll_channels", -1.0),
    _b("Down", ("Shift",), "Shift+↓", "down a page of channels", _NAV, "scroll_channels", 1.0),
    _b("PageUp", (), "Page Up", "show more channels", _NAV, "change_n_channels", 1),
    _b("PageDown", (), "Page Down", "show fewer channels", _NAV, "change_n_channels", -1),
    _b("Home", (), "Home", "shorter window (zoom in on time)", _NAV, "zoom_time", 0.5),
    _b("End", (), "End", "longer window (zoom out on time)", _NAV, "zoom_time", 2.0),
    _b("BracketLeft", (), "[", "go to the start of the recording", _NAV, "go_to", "start"),
    _b("BracketRight", (), "]", "go to the end of the recording", _NAV, "go_to", "end"),
    _b("Plus", (), "+", "larger traces (all channels)", _SCALE, "scale_all", 1.25),
    _b("Equal", (), "=", "larger traces (all channels)", _SCALE, "scale_all", 1.25),
    _b("Minus", (), "−", "smaller traces (all channels)", _SCALE, "scale_all", 0.8),
    _b("Asterisk", (), "*", "larger trace of the selected channel", _SCALE, "scale_channel", 1.25),
    _b("Slash", (), "/", "smaller trace of the selected channel", _SCALE, "scale_channel", 0.8),
    _b("Up", ("Ctrl",), "Ctrl+↑", "select the channel above", _SCALE, "select_channel", -1),
    _b("Down", ("Ctrl",), "Ctrl+↓", "select the channel below", _SCALE, "select_channel", 1),
    _b("A", (), "a", "reset scales to the automatic ones", _SCALE, "reset_scales"),
    _b("S", (), "s", "show or hide the scale bar", _SCALE, "toggle_scalebar"),
    _b("V", (), "v", "signal: raw → conditioned → envelope", _VIEW, "cycle_mode"),
    _b("T", (), "t", "time axis: seconds ↔ min:s", _VIEW, "toggle_time_format"),
    _b("O", (), "o", "show or hide the overview bar", _VIEW, "toggle_overview"),
    _b("I", (), "i", "channel table with quality (QC) reasons", _VIEW, "show_channel_info"),
    _b("G", (), "g", "show or hide the guarding panel", _VIEW, "toggle_guarding"),
    _b("N", (), "n", "new phase in the middle of the window (Shift+drag also draws one)", _PHASE, "new_phase"),
    _b("Tab", (), "Tab", "select the next phase (and show it)", _PHASE, "select_phase", 1),
    _b("Backtab", ("Shift",), "Shift+Tab", "select the previous phase", _PHASE, "select_phase", -1),
    _b("Escape", (), "Esc", "deselect the phase", _PHASE, "select_phase", 0),
    _b("Delete", (), "Delete", "delete the selected phase", _PHASE, "delete_phase"),
    _b("Backspace", (), "Backspace", "delete the selected phase", _PHASE, "delete_phase"),
    _b("Left", ("Ctrl",), "Ctrl+←", "move the selected phase earlier (1/20 window)", _PHASE, "nudge_phase", -0.05, 0),
    _b("Right", ("Ctrl",), "Ctrl+→", "move the selected phase later (1/20 window)", _PHASE, "nudge_phase", 0.05, 0),
    _b("Left", ("Ctrl", "Shift"), "Ctrl+Shift+←", "shorten the selected phase (1/20 window)", _PHASE,
       "nudge_phase", 0, -0.05),
    _b("Right", ("Ctrl", "Shift"), "Ctrl+Shift+→", "lengthen the selected phase (1/20 window)", _PHASE,
       "nudge_phase", 0, 0.05),
    *[_b(k, m, t, f"label the selected phase '{p}'", _PHASE, "label_phase", p) for k, m, t, p in PHASE_KEYS],
    _b("Z", ("Ctrl",), "Ctrl+Z", "undo the last phase edit", _PHASE, "undo"),
    _b("Z", ("Ctrl", "Shift"), "Ctrl+Shift+Z", "redo", _PHASE, "redo"),
    _b("Y", ("Ctrl",), "Ctrl+Y", "redo", _PHASE, "redo"),
    _b("S", ("Ctrl",), "Ctrl+S", "save the phases to the sidecar events.tsv", _FILE, "save_phases"),
    _b("E", ("Ctrl",), "Ctrl+E", "export the view as PNG or SVG", _FILE, "export_dialog"),
    _b("Question", (), "?", "this help", _FILE, "show_help"),
    _b("F1", (), "F1", "this help", _FILE, "show_help"),
    _b("W", ("Ctrl",), "Ctrl+W", "close the window", _FILE, "close"),
    _b("Q", ("Ctrl",), "Ctrl+Q", "close the window", _FILE, "close"),
])

#: Mouse actions (help only).
MOUSE: tuple[tuple[str, str], ...] = (
    ("drag", "pan in time"),
    ("wheel", "zoom in time"),
    ("click a trace", "select its channel (for * and /)"),
    ("Shift+drag", "draw a new phase"),
    ("click a phase", "select it"),
    ("drag a phase / its edge", "move it / resize it"),
    ("overview: click or drag", "jump to that time / move the window"),
)

_SYMBOL_KEYS = {"Plus", "Minus", "Equal", "Asterisk", "Slash", "Question", "BracketLeft", "BracketRight", "Backtab"}
_INDEX: dict[tuple[str, frozenset], KeyBinding] = {(b.key, frozenset(b.modifiers)): b for b in BINDINGS}


def lookup(key: str, modifiers: set[str]) -> KeyBinding | None:
    """The binding of a key name and a set of modifier names, or None."""
    mods = frozenset(modifiers)
    hit = _INDEX.get((key, mods))
    if hit is None and key in _SYMBOL_KEYS:
        hit = _INDEX.get((key, mods - {"Shift"}))
    return hit
