"""Interactive viewer: browse long recordings fast, edit phases, see a patient's guarding.

>>> import paraspinal as ps
>>> from paraspinal.viewer import view
>>> win = view("sample_data/sub-07/emg/sub-07_task-frt_emg.edf", block=False)  # doctest: +SKIP

Built on pyqtgraph and Qt 6 (PySide6). The Qt parts are imported on first use, so the
phase-sidecar functions (:func:`sidecar_path`, :func:`load_phases`,
:func:`read_with_phases`) work without a display. See ``docs/viewer.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sidecar import apply_phases, load_phases, read_with_phases, sidecar_path, write_phases

if TYPE_CHECKING:  # pragma: no cover
    from ..recording import Recording
    from .app import BrowserWindow

__all__ = ["view", "open_file", "open_study", "sidecar_path", "load_phases", "write_phases", "apply_phases",
           "read_with_phases"]


def view(rec_or_path: Recording | str | os.PathLike | None = None, *, study: str | os.PathLike | None = None,
         subject: str | None = None, task: str | None = None, reference: Any = None, block: bool = True,
         guarding: bool | None = None, **options: Any) -> BrowserWindow:
    """Open the viewer on a recording.

    Parameters
    ----------
    rec_or_path : Recording or path-like, optional
        What to show. A path is read with :func:`~paraspinal.viewer.sidecar.read_with_phases`
        (phases from a BIDS ``events.tsv`` or a ``<file>.events.tsv`` sidecar). May be omitted
        when ``study`` and ``subject`` are given.
    study : path-like, optional
        A processed study folder (``paraspinal study run ... -o OUT``): its normative reference
        (``OUT/norms/``, or built from ``OUT/features.parquet`` and the control recordings)
        feeds the guarding panel, and with ``subject`` it locates the recording.
    subject : str, optional
        Subject id in the study (``07``).
    task : str, optional
        Task of the subject's recording (default ``frt`` when present).
    reference : NormativeReference, optional
        A reference to use instead of the study's.
    block : bool
        Run the Qt event loop until the window closes (scripts, the CLI). With False the
        window is shown and returned at once (notebooks with ``%gui qt``, tests).
    guarding : bool, optional
        Open the guarding panel at once (default: when a study or reference is given).
        A recording with electrode grids opens its map panel too
        (``paraspinal.viewer.gridmap``).
    **options
        Passed to the ``BrowserWindow`` (``paraspinal.viewer.app``) (``window=``, ``n_channels=``,
        ``mode=``, ``time_format=``, ``qc=``, ``sidecar=``, ``pipeline=``, ``size=``).

    Returns
    -------
    BrowserWindow
        The window (closed when ``block`` is True).

    Raises
    ------
    ParameterError
        Nothing to show.
    """
    from ..errors import ParameterError
    from ..recording import Recording
    from .app import BrowserWindow, app

    qapp = app()
    if rec_or_path is None:
        if study is None or subject is None:
            raise ParameterError("nothing to show", hint="give a recording (path or Recording), or study= and subject=")
        from .guarding import study_recording

        rec_or_path = study_recording(study, subject, task)
    rec = rec_or_path if isinstance(rec_or_path, Recording) else read_with_phases(rec_or_path)
    win = BrowserWindow(rec, reference=reference, study=study, **options)
    win.show()
    if guarding is None:
        guarding = study is not None or reference is not None
    if guarding:
        try:
            win.show_guarding()
        except Exception as err:  # the traces stay usable without the panel
            win.status.showMessage(f"guarding panel: {err}", 10000)
    if win.map_panel is None and "grid" in rec.channels.columns and rec.channels["grid"].notna().any():
        try:  # an HD-sEMG recording: its map panel
            win.show_map()
        except Exception as err:
            win.status.showMessage(f"map panel: {err}", 10000)
    if block:
        win.ask_on_close = True
        qapp.exec()
    return win


def open_file(path: str | os.PathLike, **options: Any) -> BrowserWindow:
    """``paraspinal view FILE``: open a recording file and block until the window closes."""
    return view(Path(path), **options)


def open_study(out: str | os.PathLike, subject: str, *, task: str | None = None,
               path: str | os.PathLike | None = None, **options: Any) -> BrowserWindow:
    """``paraspinal view --study OUT --subject ID [FILE]``: a study subject with its guarding panel.

    Parameters
    ----------
    out : path-like
        Processed study folder.
    subject : str
        Subject id.
    task : str, optional
        Task (default ``frt`` when present).
    path : path-like, optional
        The recording, when ``OUT/provenance.json`` cannot locate it.
    **options
        Passed to :func:`view`.
    """
    return view(path, study=out, subject=subject, task=task, **options)
