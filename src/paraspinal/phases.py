"""Task phases: vocabulary, and phases from annotations, a trunk angle, protocol timing or the EMG.

Phase vocabulary (DESIGN.md):

* static: ``standing``, ``sitting``, ``prone``, ``full_flexion``, ``sorensen_hold``, ``rest``;
* dynamic: ``flexion``, ``extension``, ``lifting``, ``lowering``, ``walking``;
* calibration: ``mvc``, ``rvc``.

Phases are tables with the columns ``onset, duration, phase, cycle`` (seconds from the first
sample; ``cycle`` is the flexion-relaxation cycle number, or missing) and, from this module,
a ``source`` column saying where they came from (:data:`SOURCES`). Sources in order of
trust: annotations in the file or a BIDS ``events.tsv`` sidecar (``"annotations"``), a
trunk-angle channel or an IMU (``"angle"``), protocol timing (``"protocol"``), the EMG
envelope alone (``"envelope"``, a last resort that warns). :func:`set_phases` stores them in
a new Recording and writes the source to ``meta["phase_source"]``.

Trunk-angle segmentation (:func:`from_angle`) follows METHODS.md §1.4 item 1: full flexion is
where the angle is at least ``ff_fraction`` (95 %) of the cycle's excursion *and* the
angular velocity is below ``velocity_threshold`` (5 deg/s); standing is where the angle is
within ``standing_tolerance`` (5 deg) of the baseline with the same low velocity. The
thresholds are toolkit design choices, not literature values. Because a smooth movement
(e.g. minimum jerk) approaches rest slowly, the edges of each still period are then moved
to where the velocity falls below ``boundary_velocity`` (a small floor estimated from the
still samples), which places boundaries within a few tens of ms of the true movement
start and end.

.. rubric:: References

- Kippers V, Parker AW (1984). Posture related to myoelectric silence of erectores spinae
  during trunk flexion. Spine 9:740-745.
- Neblett R, Mayer TG, Gatchel RJ et al. (2010). Clin J Pain 26:403 (the "MVF" term).
- Jin S, Ning X, Mirka GA (2012). An algorithm for defining the onset and cessation of the
  flexion-relaxation phenomenon in the low back musculature. J Electromyogr Kinesiol
  22:376-382.
- Schinkel-Ivy A, Nairn BC, Drake JDM (2014). J Manipulative Physiol Ther 37:494-501.
- Mahony RE, Hamel T, Pflimlin J-M (2008). Nonlinear complementary filters on the special
  orthogonal group. IEEE Trans Automat Contr 53:1203-1218 (complementary filter).
"""

from __future__ import annotations

import copy as _copy
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import signal as _sig

from .errors import ChannelError, ParameterError, ParaspinalWarning
from .recording import Recording

__all__ = [
    "STATIC", "DYNAMIC", "CALIBRATION", "PHASES", "SYNONYMS", "SOURCES", "PHASE_COLUMNS",
    "is_static", "is_dynamic", "is_calibration", "canonical_phase", "validate",
    "from_annotations", "from_angle", "from_protocol", "from_envelope", "detect", "set_phases",
    "inclination_from_imu", "frp_angles", "segments", "infer_cycles", "check_with_angle", "frp_cycle_problems",
    "CYCLE_PHASES", "ANGLE_CHECK_TOLERANCE", "angle_signal",
]

#: Static phases.
STATIC: tuple[str, ...] = ("standing", "sitting", "prone", "full_flexion", "sorensen_hold", "rest")
#: Dynamic (movement) phases.
DYNAMIC: tuple[str, ...] = ("flexion", "extension", "lifting", "lowering", "walking")
#: Calibration phases.
CALIBRATION: tuple[str, ...] = ("mvc", "rvc")
#: The whole vocabulary.
PHASES: tuple[str, ...] = STATIC + DYNAMIC + CALIBRATION
#: Where phases can come from, most trusted first.
SOURCES: tuple[str, ...] = ("annotations", "angle", "protocol", "envelope")
#: Columns of a phase table made by this module.
PHASE_COLUMNS: tuple[str, ...] = ("onset", "duration", "phase", "cycle", "source")

#: Spellings labs use for phases -> vocabulary name. Keys are folded as :func:`canonical_phase`
#: folds a label (lower case; ``_`` and ``-`` read as spaces; runs of spaces collapsed), so
#: ``"Full-Flexion"``, ``"full_flexion"`` and ``"FULL FLEXION"`` all match ``"full flexion"``;
#: a trailing repetition number is ignored (``"flexion 2"``, ``"FF1"``). Bare words that would
#: need a guess are deliberately absent (``hold``: Sorensen or full-flexion hold? ``baseline``,
#: ``relax``, ``max``, ``reference``, ``rising``, ``stance``, ``neutral``, ``supine``): such a
#: label keeps its name and is reported, or can be mapped with ``synonyms=``.
SYNONYMS: dict[str, str] = {
    # standing
    "std": "standing", "stand": "standing", "upright": "standing", "upright standing": "standing",
    "quiet standing": "standing", "standing still": "standing", "stand still": "standing",
    "static standing": "standing", "standing upright": "standing", "erect standing": "standing",
    # sitting, prone
    "sit": "sitting", "seated": "sitting", "upright sitting": "sitting", "sitting upright": "sitting",
    "lying prone": "prone", "prone lying": "prone",
    # full flexion (MVF: maximum voluntary flexion, Neblett et al. 2010)
    "ff": "full_flexion", "mvf": "full_flexion", "full flexion": "full_flexion", "fullflexion": "full_flexion",
    "full flex": "full_flexion", "fullflex": "full_flexion", "flexed": "full_flexion", "fully flexed": "full_flexion",
    "maximal flexion": "full_flexion", "maximum flexion": "full_flexion", "max flexion": "full_flexion",
    "maximum voluntary flexion": "full_flexion", "maximal voluntary flexion": "full_flexion",
    "full trunk flexion": "full_flexion",
    # flexion (the movement down)
    "flx": "flexion", "flex": "flexion", "bending": "flexion", "forward bending": "flexion", "bend": "flexion",
    "forward bend": "flexion", "forward flexion": "flexion", "trunk flexion": "flexion", "flexing": "flexion",
    # extension (the movement back up)
    "ext": "extension", "re extension": "extension", "reextension": "extension", "extend": "extension",
    "extending": "extension", "return": "extension", "return to upright": "extension",
    "return to standing": "extension", "trunk extension": "extension",
    # Biering-Sorensen
    "sorensen": "sorensen_hold", "biering sorensen": "sorensen_hold", "sorensen hold": "sorensen_hold",
    "sorensen test": "sorensen_hold", "biering sorensen test": "sorensen_hold",
    # other movements
    "lift": "lifting", "lower": "lowering", "walk": "walking", "gait": "walking",
    # calibration
    "mvic": "mvc", "maximum voluntary contraction": "mvc", "maximal voluntary contraction": "mvc",
    "reference voluntary contraction": "rvc", "reference contraction": "rvc",
}


def _fold(label: str) -> str:
    s = str(label).strip().lower().replace("_", " ").replace("-", " ")
    return " ".join(s.split())


def canonical_phase(label: str) -> str | None:
    """The vocabulary name of a phase label, or None when it is not recognised.

    Parameters
    ----------
    label : str
        A label such as ``"FF"``, ``"MVF"``, ``"STD"``, ``"FLX"``, ``"EXT"``, ``"flex"``,
        ``"full flexion"`` or a vocabulary name.

    Returns
    -------
    str or None

    Examples
    --------
    >>> canonical_phase("MVF"), canonical_phase("full flexion"), canonical_phase("xyz")
    ('full_flexion', 'full_flexion', None)
    """
    f = _fold(label)
    under = f.replace(" ", "_")
    if under in PHASES:
        return under
    if f in SYNONYMS:
        return SYNONYMS[f]
    # "standing 2", "flexion1": a vocabulary word followed by a repetition number
    stripped = f.rstrip("0123456789 ").replace(" ", "_")
    if stripped in PHASES:
        return stripped
    return SYNONYMS.get(stripped.replace("_", " "))


def is_static(phase: str) -> bool:
    """True for a static phase (standing, sitting, prone, full_flexion, sorensen_hold, rest)."""
    return canonical_phase(phase) in STATIC


def is_dynamic(phase: str) -> bool:
    """True for a movement phase (flexion, extension, lifting, lowering, walking)."""
    return canonical_phase(phase) in DYNAMIC


def is_calibration(phase: str) -> bool:
    """True for a calibration phase (mvc, rvc)."""
    return canonical_phase(phase) in CALIBRATION


def _empty() -> pd.DataFrame:
    df = pd.DataFrame({c: [] for c in PHASE_COLUMNS})
    df["onset"] = df["onset"].astype(float)
    df["duration"] = df["duration"].astype(float)
    df["phase"] = df["phase"].astype(object)
    df["cycle"] = df["cycle"].astype("Int64")
    df["source"] = df["source"].astype(object)
    return df


def _table(rows: list[dict[str, Any]], source: str) -> pd.DataFrame:
    if not rows:
        return _empty()
    df = pd.DataFrame(rows)
    if "cycle" not in df:
        df["cycle"] = None
    df["cycle"] = pd.array([None if (c is None or pd.isna(c)) else int(c) for c in df["cycle"]], dtype="Int64")
    df["source"] = source
    df = df[list(PHASE_COLUMNS)].sort_values("onset", kind="stable").reset_index(drop=True)
    df["onset"] = df["onset"].astype(float)
    df["duration"] = df["duration"].astype(float)
    return df


def validate(phases: pd.DataFrame, *, on_unknown: str = "warn", synonyms: Mapping[str, str] | None = None,
             file: str | None = None, cycles: str = "infer") -> pd.DataFrame:
    """Check a phase table, map its labels to the vocabulary and number its flexion-relaxation cycles.

    Parameters
    ----------
    phases : pandas.DataFrame
        Columns ``onset, duration, phase`` (seconds) and optionally ``cycle``, ``source``.
    on_unknown : {"warn", "error", "keep", "drop"}
        What to do with a label that is neither a vocabulary name nor a known spelling
        (:data:`SYNONYMS`): keep it with one warning listing all such labels (default),
        raise, keep it silently, or drop the row. A label is never guessed.
    synonyms : mapping, optional
        Extra lab-specific spellings (``{"T1": "standing"}``), checked first.
    file : str, optional
        File name for messages.
    cycles : {"infer", "keep"}
        ``"infer"`` (default): when no flexion, full-flexion or extension row has a cycle
        number, number the cycles from the sequence of phases (:func:`infer_cycles`); when
        the table numbers them, keep its numbers and warn where they contradict the
        sequence. ``"keep"``: leave the ``cycle`` column as it is.

    Returns
    -------
    pandas.DataFrame
        A new table with the columns :data:`PHASE_COLUMNS`, sorted by onset. When cycles were
        inferred, ``source`` gains the suffix ``"+cycles-inferred"`` and
        ``attrs["phase_check"]["cycles"]`` says what was done.

    Raises
    ------
    ParameterError
        Missing columns, negative durations or onsets, non-finite times, unknown labels
        with ``on_unknown="error"``, an unknown ``cycles`` mode.
    """
    need = {"onset", "duration", "phase"}
    if not need <= set(phases.columns):
        raise ParameterError(f"a phase table needs the columns {sorted(need)}, got {list(phases.columns)}",
                             file=file, hint="rename the columns (BIDS events use trial_type for the phase)")
    if on_unknown not in ("warn", "error", "keep", "drop"):
        raise ParameterError(f"on_unknown={on_unknown!r}", hint="use 'warn', 'error', 'keep' or 'drop'")
    if cycles not in ("infer", "keep"):
        raise ParameterError(f"cycles={cycles!r}", hint="use 'infer' or 'keep'")
    onset = np.asarray(phases["onset"], dtype=float)
    dur = np.asarray(phases["duration"], dtype=float)
    if not (np.isfinite(onset).all() and np.isfinite(dur).all()):
        raise ParameterError("phase onsets and durations must be finite numbers", file=file,
                             hint="fill 'n/a' durations in events.tsv, or drop those rows")
    if (dur < 0).any() or (onset < 0).any():
        raise ParameterError("phase onsets and durations must be >= 0", file=file)
    extra = {_fold(k): v for k, v in (synonyms or {}).items()}
    labels, keep, unknown = [], [], []
    for lab in phases["phase"]:
        canon = extra.get(_fold(lab)) or canonical_phase(lab)
        if canon is None:
            unknown.append(str(lab))
        keep.append(canon is not None or on_unknown != "drop")
        labels.append(str(lab) if canon is None else canon)
    if unknown and on_unknown == "error":
        raise ParameterError(f"unknown phase label(s) {sorted(set(unknown))}", file=file,
                             hint=f"use the vocabulary {list(PHASES)} or pass synonyms={{'label': 'phase'}}")
    if unknown and on_unknown == "warn":
        where = f"{file}: " if file else ""
        warnings.warn(f"{where}phase label(s) {sorted(set(unknown))} are not in the phase vocabulary; kept as they "
                      "are, not guessed (pass synonyms={'label': 'phase'} to map them)", ParaspinalWarning,
                      stacklevel=3)
    cyc = phases["cycle"] if "cycle" in phases else [None] * len(phases)
    source = phases["source"] if "source" in phases else ["annotations"] * len(phases)
    rows = [dict(onset=o, duration=d, phase=p, cycle=c, source=s)
            for o, d, p, c, s, k in zip(onset, dur, labels, cyc, source, keep) if k]
    out = _table(rows, "annotations")
    if rows:
        out["source"] = [r["source"] for r in sorted(rows, key=lambda r: r["onset"])]
    _warn_overlaps(out, file)
    attrs = dict(phases.attrs.get("phase_check", {})) if isinstance(phases.attrs.get("phase_check"), dict) else {}
    if cycles == "infer" and len(out):
        out, record = _number_cycles(out, file)
        if record is not None:
            attrs["cycles"] = record
    if attrs:
        out.attrs["phase_check"] = attrs
    return out


#: Overlap (s) of two posture/movement phases below which they only touch (rounded boundaries).
OVERLAP_TOLERANCE = 1e-3


def _warn_overlaps(table: pd.DataFrame, file: str | None) -> None:
    """Warn when two posture or movement phases (static or dynamic) overlap.

    Phases may nest (a phase inside a trial, a calibration, a label outside the vocabulary), but
    a body is in one posture or movement at a time: two of those at once is a labelling error,
    and each would be analysed with the other's samples.
    """
    body = table[table["phase"].isin(STATIC + DYNAMIC)].sort_values("onset", kind="stable")
    if len(body) < 2:
        return
    onset = body["onset"].to_numpy(float)
    end = onset + body["duration"].to_numpy(float)
    running = np.maximum.accumulate(end)
    prev_end = running[:-1]
    # the phase holding the running maximum of the ends so far (the one each phase would overlap)
    prev_at = np.maximum.accumulate(np.where(end == running, np.arange(end.size), 0))[:-1]
    hit = np.flatnonzero(onset[1:] < prev_end - OVERLAP_TOLERANCE) + 1
    if not hit.size:
        return
    lab, pos = body["phase"].to_numpy(), body["onset"].to_numpy(float)
    pairs = [f"{lab[prev_at[i - 1]]!r} at {pos[prev_at[i - 1]]:g} s and {lab[i]!r} at {pos[i]:g} s "
             f"({min(prev_end[i - 1], end[i]) - onset[i]:.3g} s)" for i in hit[:4]]
    where = f"{file}: " if file else ""
    warnings.warn(f"{where}{hit.size} pair(s) of posture/movement phases overlap: {'; '.join(pairs)}"
                  f"{' ...' if hit.size > 4 else ''}. A body is in one posture or movement at a time (a phase may "
                  "nest in a trial, not in another movement); each is analysed as given: check the labels",
                  ParaspinalWarning, stacklevel=4)


# ----------------------------------------------------------------------------- cycles from a phase sequence
#: The movement phases of a flexion-relaxation cycle, in order.
CYCLE_PHASES: tuple[str, ...] = ("flexion", "full_flexion", "extension")
_STAGE = {p: i for i, p in enumerate(CYCLE_PHASES)}


def _candidates(labels: Sequence[str], use: np.ndarray) -> list[list[int]]:
    """Group the movement rows (indices into ``labels``, time order) into candidate cycles.

    A new candidate starts at a row whose stage (flexion 0, full_flexion 1, extension 2) is
    lower than the current candidate's highest stage (a ``flexion`` after full flexion or
    extension, a ``full_flexion`` after extension), and at a ``flexion`` that follows a
    ``standing`` after the candidate's last movement row. Repeated labels (two ``flexion``
    rows in a row), gaps and other phases (``sitting``, ``rest``...) do not split a candidate.
    """
    out: list[list[int]] = []
    stage = -1
    stood = False
    for i in np.flatnonzero(use):
        lab = labels[i]
        if lab == "standing":
            stood = bool(out)
            continue
        s = _STAGE[lab]
        if not out or s < stage or (s == 0 and stood):
            out.append([])
            stage = -1
        out[-1].append(int(i))
        stage = max(stage, s)
        stood = False
    return out


def _cycle_sequence(labels: Sequence[str], duration: np.ndarray) -> tuple[list[int | None], list[dict[str, Any]]]:
    """Cycle numbers inferred from a time-ordered phase sequence, and the candidates left unnumbered.

    Rules (the docstring of :func:`infer_cycles` states them for users): a candidate (see
    :func:`_candidates`) is a cycle when it has a ``flexion`` and, after it, an ``extension``;
    cycles are numbered 1, 2, ... in time order. Standing rows go to candidates by position
    alone: between two candidates a single one opens the next; with two or more, the first
    closes the previous candidate and the others open the next; standing before the first
    candidate belongs to it, standing after the last candidate to the last one. Standing
    given to an unnumbered candidate stays unnumbered, so a cycle's rows do not depend on
    whether its neighbours are complete. Zero-length rows (point events) and other phases
    stay unnumbered.
    """
    n = len(labels)
    use = np.array([(lab in _STAGE or lab == "standing") for lab in labels], bool) & (np.asarray(duration) > 0)
    cands = _candidates(labels, use)
    number: list[int | None] = []
    dropped = []
    k = 0
    for j, c in enumerate(cands):
        has = {labels[i] for i in c}
        if "flexion" in has and "extension" in has:
            k += 1
            number.append(k)
        else:
            number.append(None)
            where = ("leading partial" if j == 0 and "flexion" not in has else
                     "trailing incomplete" if j == len(cands) - 1 and "extension" not in has else "incomplete")
            dropped.append(dict(kind=where, first=c[0], last=c[-1], labels=[labels[i] for i in c],
                                missing=[p for p in ("flexion", "extension") if p not in has]))
    cyc: list[int | None] = [None] * n
    first = [c[0] for c in cands]
    last = [c[-1] for c in cands]
    for c, num in zip(cands, number):
        for i in range(c[0], c[-1] + 1):
            if use[i]:
                cyc[i] = num
    stand = [i for i in np.flatnonzero(use)
             if labels[i] == "standing" and not any(a < i < b for a, b in zip(first, last))]
    # standing rows grouped by the gap between candidates they fall in (gap j: before candidate j)
    gaps: dict[int, list[int]] = {}
    for i in stand:
        gaps.setdefault(int(np.searchsorted(np.asarray(first, dtype=np.int64), i)), []).append(int(i))
    for j, rows in gaps.items():
        if not cands:
            break
        if j == 0 or j == len(cands):  # before the first / after the last candidate
            for i in rows:
                cyc[i] = number[min(j, len(cands) - 1)]
            continue
        split = 1 if len(rows) >= 2 else 0
        for r_, i in enumerate(rows):
            cyc[i] = number[j - 1] if r_ < split else number[j]
    return cyc, dropped


def infer_cycles(phases: pd.DataFrame, *, file: str | None = None) -> pd.DataFrame:
    """Number the flexion-relaxation cycles of a phase table from its sequence of phases.

    Labs' annotations (BIDS ``events.tsv``, EDF+/BDF+ annotations, C3D events, viewer
    sidecars) rarely number cycles. A cycle is the sequence ``flexion`` -> ``full_flexion``
    -> ``extension`` with ``standing`` around it; :func:`validate` (and so
    :func:`from_annotations`, :func:`detect` and the feature table) calls this for every
    phase table. Rules:

    * the ``flexion``, ``full_flexion``, ``extension`` and ``standing`` rows of non-zero
      duration are read in time order; other phases (``sitting``, ``rest``, unknown labels)
      and zero-length point events are skipped and stay unnumbered;
    * a candidate cycle starts at a ``flexion`` (or at a later-stage row, for a partial
      one) and goes on while the stages do not go back: repeated labels (two ``flexion``
      rows), gaps between phases and interleaved other phases are tolerated; a ``standing``
      followed by a new ``flexion`` also starts a new candidate (an aborted bend);
    * a candidate with a ``flexion`` and an ``extension`` is a cycle, numbered 1, 2, ... (a
      cycle without ``full_flexion`` is numbered but gives no flexion-relaxation ratio, see
      :func:`frp_cycle_problems`); one without them (a recording that starts in full
      flexion: leading partial; one that ends before the extension: trailing incomplete)
      is left unnumbered with a :class:`~paraspinal.errors.ParaspinalWarning` naming the
      file and the times;
    * standing: the standing before the first cycle belongs to cycle 1, the standing after
      the last extension to the last cycle; between two cycles a single standing opens the
      next cycle, and of two or more the first closes the previous cycle and the others
      open the next (the same rules place standing next to an unnumbered candidate, which
      then stays unnumbered: a cycle's rows do not depend on whether its neighbours are
      complete). This is what :func:`from_protocol` does for a protocol written as
      ``standing, flexion, full_flexion, extension, standing`` per cycle, and what
      :func:`from_angle` does (it splits the standing between cycles in two), so a
      study whose ``events.tsv`` drops the ``cycle`` column gives the same features;
    * when the table already numbers any movement row, nothing is renumbered or filled:
      the numbers are checked against the sequence and a warning lists the
      contradictions (one numbered cycle over two inferred ones, two numbers in one
      inferred cycle, numbers going back in time, movement rows left unnumbered).

    Parameters
    ----------
    phases : pandas.DataFrame
        ``onset, duration, phase`` (vocabulary names, e.g. from :func:`validate`) and
        optionally ``cycle``, ``source``.
    file : str, optional
        File name for messages.

    Returns
    -------
    pandas.DataFrame
        A copy sorted by onset with the ``cycle`` column filled (nullable integer) and
        ``source`` suffixed ``"+cycles-inferred"`` when numbers were added.
    """
    df = phases.sort_values("onset", kind="stable").reset_index(drop=True).copy()
    if "source" not in df:
        df["source"] = "annotations"
    if "cycle" not in df:
        df["cycle"] = pd.array([None] * len(df), dtype="Int64")
    out, record = _number_cycles(df, file)
    if record is not None:
        out.attrs["phase_check"] = {**out.attrs.get("phase_check", {}), "cycles": record}
    return out


def _span(df: pd.DataFrame, a: int, b: int) -> str:
    t0 = float(df["onset"].iat[a])
    t1 = float(df["onset"].iat[b] + df["duration"].iat[b])
    return f"{t0:.3f}-{t1:.3f} s"


def _number_cycles(df: pd.DataFrame, file: str | None) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Infer (or check) the cycle numbers of a sorted, validated phase table; warn; say what was done."""
    labels = df["phase"].astype(str).tolist()
    dur = df["duration"].to_numpy(float)
    given = df["cycle"]
    moving = np.array([lab in _STAGE for lab in labels]) & (dur > 0)
    where = f"{file}: " if file else ""
    if not moving.any():
        points = [lab for lab, d in zip(labels, dur) if lab in _STAGE and d == 0]
        if not points or df["cycle"].notna().any():
            return df, None
        note = (f"{len(points)} {'/'.join(sorted(set(points)))} mark(s) have zero duration: point events are not "
                "phases, so no cycle is numbered (give each phase its duration, e.g. the time to the next mark)")
        warnings.warn(where + note, ParaspinalWarning, stacklevel=4)
        return df, {"mode": "inferred", "n_cycles": 0, "unnumbered": [note]}
    inferred, dropped = _cycle_sequence(labels, dur)
    if given[moving].notna().any():
        problems = _contradictions(df, given, inferred, moving)
        if problems:
            warnings.warn(f"{where}the file's cycle numbers contradict the sequence of phases ("
                          + "; ".join(problems) + "); the file's numbers are kept", ParaspinalWarning, stacklevel=4)
        return df, {"mode": "checked", "n_cycles": int(given[moving].dropna().nunique()), "contradictions": problems}
    fill = [g if not pd.isna(g) else c for g, c in zip(given, inferred)]
    out = df.copy()
    out["cycle"] = pd.array([None if c is None or pd.isna(c) else int(c) for c in fill], dtype="Int64")
    n_cyc = int(max((c for c in inferred if c is not None), default=0))
    notes = [f"{d['kind']} cycle at {_span(df, d['first'], d['last'])} ({', '.join(d['labels'])}: no "
             f"{' or '.join(d['missing'])}) left unnumbered" for d in dropped]
    if notes:
        warnings.warn(f"{where}" + "; ".join(notes) + f"; {n_cyc} complete cycle(s) numbered", ParaspinalWarning,
                      stacklevel=4)
    if n_cyc:
        out["source"] = [s if str(s).endswith("+cycles-inferred") else f"{s}+cycles-inferred" for s in out["source"]]
    return out, {"mode": "inferred", "n_cycles": n_cyc, "unnumbered": notes}


def _contradictions(df: pd.DataFrame, given: pd.Series, inferred: list[int | None], moving: np.ndarray) -> list[str]:
    """Where a table's own cycle numbers disagree with the ones the phase sequence implies."""
    out = []
    idx = np.flatnonzero(moving)
    g = [None if pd.isna(given.iat[i]) else int(given.iat[i]) for i in idx]
    f = [inferred[i] for i in idx]
    pairs = [(a, b) for a, b in zip(g, f) if a is not None and b is not None]
    for a in sorted({a for a, _ in pairs}):
        seq = sorted({b for a2, b in pairs if a2 == a})
        if len(seq) > 1:
            rows = [i for i, a2 in zip(idx, g) if a2 == a]
            out.append(f"cycle {a} spans the sequence's cycles {seq} ({_span(df, rows[0], rows[-1])})")
    for b in sorted({b for _, b in pairs}):
        nums = sorted({a for a, b2 in pairs if b2 == b})
        if len(nums) > 1:
            rows = [i for i, b2 in zip(idx, f) if b2 == b]
            out.append(f"the cycle at {_span(df, rows[0], rows[-1])} carries the numbers {nums}")
    nums = [a for a in g if a is not None]
    back = [i for i, (a, b) in enumerate(zip(nums, nums[1:])) if b < a]
    if back:
        out.append(f"cycle numbers go back in time ({nums[back[0]]} then {nums[back[0] + 1]})")
    loose = [i for i, a, b in zip(idx, g, f) if a is None and b is not None]
    if loose:
        out.append(f"{len(loose)} movement row(s) of a complete cycle have no number (the first "
                   f"{df['phase'].iat[loose[0]]} at {df['onset'].iat[loose[0]]:.3f} s)")
    return out


def frp_cycle_problems(phases: pd.DataFrame, *, sfreq: float | None = None,
                       n_samples: int | None = None) -> list[str]:
    """Why a phase table gives no (or not every) flexion-relaxation cycle.

    The feature table computes FRR, ERR, FER and ``frp_present`` for each numbered cycle
    that has ``flexion``, ``full_flexion`` and ``extension`` rows of non-zero length. This
    lists, in words, what stands in the way; an empty list means every numbered cycle can
    give them. Pass the table the features use (after :func:`validate`, which numbers the
    cycles): this function only inspects, it neither infers nor warns.

    Parameters
    ----------
    phases : pandas.DataFrame
        ``onset, duration, phase, cycle`` (seconds).
    sfreq, n_samples : optional
        The signal's sampling rate (Hz) and length; when given, rows that fall outside
        the signal or round to zero samples count as missing (as :func:`segments` clips).

    Returns
    -------
    list of str
        E.g. ``["no full_flexion phase"]``, ``["no numbered cycle (...)"]``,
        ``["cycle 3 incomplete: no extension phase"]``.

    Examples
    --------
    >>> t = pd.DataFrame({"onset": [0, 3, 6], "duration": [3, 3, 3], "phase": ["standing", "flexion", "FF"]})
    >>> frp_cycle_problems(t)
    ['no extension phase']
    """
    if not len(phases):
        return ["no phases"]
    lab = np.array([canonical_phase(p) or str(p) for p in phases["phase"]], dtype=object)
    ok = np.asarray(phases["duration"], dtype=float) > 0
    if sfreq is not None and n_samples is not None:
        seg = segments(phases, sfreq, n_samples)
        ok &= seg[:, 1] > seg[:, 0]
    missing = [f"no {p} phase" for p in CYCLE_PHASES if not (ok & (lab == p)).any()]
    if missing:
        return missing
    cyc = phases["cycle"] if "cycle" in phases else pd.Series([pd.NA] * len(phases))
    cyc = pd.array([None if pd.isna(c) else int(c) for c in cyc], dtype="Int64")
    move = ok & np.isin(lab, CYCLE_PHASES)
    numbered = sorted({int(c) for c, m in zip(cyc, move) if m and not pd.isna(c)})
    if not numbered:
        return ["no numbered cycle (the flexion, full_flexion and extension phases carry no cycle number)"]
    out = []
    has_by_cycle: dict[int, set[str]] = {}  # one pass over the rows (not one per cycle)
    for p, m, cc in zip(lab, move, cyc):
        if m and not pd.isna(cc):
            has_by_cycle.setdefault(int(cc), set()).add(p)
    for c in numbered:
        has = has_by_cycle[c]
        lack = [p for p in CYCLE_PHASES if p not in has]
        if lack:
            out.append(f"cycle {c} incomplete: no {' or '.join(lack)} phase")
    loose = [i for i in np.flatnonzero(move) if pd.isna(cyc[i])]
    if loose:
        t = float(phases["onset"].iat[loose[0]])
        out.append(f"{len(loose)} flexion/full_flexion/extension row(s) outside any numbered cycle "
                   f"(the first {lab[loose[0]]} at {t:.3f} s)")
    return out


# ----------------------------------------------------------------------------- check against an angle
#: Largest difference (s) between the annotated and the angle's full-flexion onset or offset
#: before :func:`check_with_angle` warns (a toolkit choice: well above the angle
#: segmentation's own error, under 0.1 s on synthetic data, and below a typical 3-5 s hold).
ANGLE_CHECK_TOLERANCE: float = 1.0


def check_with_angle(phases: pd.DataFrame, angle: Recording | np.ndarray, sfreq: float | None = None, *,
                     channel: str | None = None, tolerance: float = ANGLE_CHECK_TOLERANCE,
                     file: str | None = None, rate: float = 100.0, **angle_options: Any) -> dict[str, Any]:
    """Cross-check annotated full-flexion phases against the ones a trunk angle gives.

    The angle is block-averaged to about ``rate`` Hz (cheap: an hour at 2 kHz takes well
    under a second) and segmented with :func:`from_angle` (full flexion = angle >= 95 % of
    the cycle's excursion with abs(velocity) < 5 deg/s). Each annotated ``full_flexion`` row is
    paired with the angle's full flexion that overlaps it most (else the nearest); a
    :class:`~paraspinal.errors.ParaspinalWarning` naming both sources and the times is
    issued when an onset or an offset differs by more than ``tolerance`` seconds, when an
    annotated full flexion has no counterpart in the angle, or when the angle shows a full
    flexion the annotations lack.

    Parameters
    ----------
    phases : pandas.DataFrame
        Annotation phases (vocabulary names).
    angle : Recording or ndarray
        A Recording with a trunk-angle channel (degrees), or the angle itself (deg).
    sfreq : float, optional
        Sampling rate of an array angle (Hz).
    channel : str, optional
        Angle channel name (default ``TRUNK_ANGLE``).
    tolerance : float
        Seconds (default :data:`ANGLE_CHECK_TOLERANCE`, 1.0 s).
    file : str, optional
        For messages.
    rate : float
        Rate (Hz) the angle is averaged down to before segmentation.
    **angle_options
        Passed to :func:`from_angle`.

    Returns
    -------
    dict
        ``status`` (``"agree"``, ``"disagree"`` or ``"skipped: <why>"``), ``channel``,
        ``tolerance_s``, ``n_annotated``, ``n_angle``, ``max_abs_diff_s`` and
        ``disagreements`` (list of str); JSON-safe.
    """
    ff = phases[(phases["phase"] == "full_flexion") & (np.asarray(phases["duration"], float) > 0)]
    rec: dict[str, Any] = {"channel": channel, "tolerance_s": float(tolerance), "n_annotated": int(len(ff))}
    if not len(ff):
        return {**rec, "status": "skipped: no annotated full_flexion phase"}
    if isinstance(angle, Recording):
        theta, rec["channel"] = angle_signal(angle, channel)
        fs = angle.sfreq
    else:
        theta, fs = np.asarray(angle, dtype=float), float(sfreq) if sfreq else 0.0
        if fs <= 0:
            raise ParameterError("check_with_angle needs sfreq for an array", hint="pass sfreq=... in Hz")
    step = max(1, int(fs // rate))
    m = theta.size // step
    if m < 3:
        return {**rec, "status": "skipped: the angle signal is too short"}
    small = theta[: m * step].reshape(m, step).mean(axis=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = from_angle(small, fs / step, **angle_options)
    shift = (step - 1) / (2 * fs)
    aff = got[got["phase"] == "full_flexion"]
    a_on = aff["onset"].to_numpy(float) + shift
    a_off = a_on + aff["duration"].to_numpy(float)
    rec["n_angle"] = int(len(aff))
    name = rec["channel"] or "the angle"
    problems, diffs, matched = [], [], set()
    for on, off in zip(ff["onset"].to_numpy(float), (ff["onset"] + ff["duration"]).to_numpy(float)):
        if not a_on.size:
            problems.append(f"annotated full_flexion {on:.2f}-{off:.2f} s: {name} shows no full flexion")
            continue
        overlap = np.minimum(off, a_off) - np.maximum(on, a_on)
        j = int(np.argmax(overlap)) if overlap.max() > 0 else int(np.argmin(np.abs((a_on + a_off) - (on + off))))
        matched.add(j)
        d = max(abs(a_on[j] - on), abs(a_off[j] - off))
        diffs.append(d)
        if d > tolerance:
            problems.append(f"annotated full_flexion {on:.2f}-{off:.2f} s, {name} {a_on[j]:.2f}-{a_off[j]:.2f} s")
    for j in sorted(set(range(a_on.size)) - matched):
        problems.append(f"{name} shows a full flexion at {a_on[j]:.2f}-{a_off[j]:.2f} s that the annotations lack")
    rec["max_abs_diff_s"] = float(max(diffs)) if diffs else None
    rec["disagreements"] = problems
    rec["status"] = "disagree" if problems else "agree"
    if problems:
        why = f" ({'; '.join(str(w.message) for w in caught)})" if caught and not a_on.size else ""
        where = f"{file}: " if file else ""
        warnings.warn(f"{where}annotations and {name} disagree on full flexion by more than {tolerance:g} s: "
                      + "; ".join(problems) + why, ParaspinalWarning, stacklevel=3)
    return rec


def from_annotations(rec: Recording, *, on_unknown: str = "warn", synonyms: Mapping[str, str] | None = None,
                     cycles: str = "infer", angle_check: bool = True,
                     angle_tolerance: float = ANGLE_CHECK_TOLERANCE) -> pd.DataFrame:
    """Phases from a Recording's annotations (the file's own or a BIDS ``events.tsv``).

    Readers load annotations (EDF+/BDF+ annotations, BIDS events, C3D events, viewer
    sidecars) into ``rec.phases`` as the file writes them; this validates the labels, maps
    the spellings labs use to the vocabulary (:data:`SYNONYMS`), numbers the cycles when the
    file does not (:func:`infer_cycles`) and, when the recording has a ``TRUNK_ANGLE``
    channel, cross-checks the annotated full flexion against the angle
    (:func:`check_with_angle`).

    Parameters
    ----------
    rec : Recording
    on_unknown : {"warn", "error", "keep", "drop"}
    synonyms : mapping, optional
    cycles : {"infer", "keep"}
        See :func:`validate`.
    angle_check : bool
        Cross-check with the ``TRUNK_ANGLE`` channel when there is one (default True). A raw
        IMU is not checked: derive the angle first (:func:`inclination_from_imu`) and store
        it as ``TRUNK_ANGLE``.
    angle_tolerance : float
        Seconds, see :func:`check_with_angle`.

    Returns
    -------
    pandas.DataFrame
        ``onset, duration, phase, cycle, source``; ``source`` is ``"annotations"``, or
        ``"annotations+cycles-inferred"`` when the cycles were numbered here.
        ``attrs["phase_check"]`` records the cycle inference (``"cycles"``) and the angle
        check (``"angle"``); :func:`set_phases` copies it to ``meta["phase_check"]``.
    """
    df = rec.phases.copy()
    df["source"] = "annotations"
    file = rec.meta.get("source")
    out = validate(df, on_unknown=on_unknown, synonyms=synonyms, file=file, cycles=cycles)
    if angle_check and "TRUNK_ANGLE" in rec.ch_names and len(out):
        try:
            check = check_with_angle(out, rec, tolerance=angle_tolerance, file=file)
        except ChannelError as err:
            check = {"channel": "TRUNK_ANGLE", "status": f"skipped: {err}"}
            warnings.warn(f"{file + ': ' if file else ''}annotation phases not cross-checked with TRUNK_ANGLE: {err}",
                          ParaspinalWarning, stacklevel=2)
        out.attrs["phase_check"] = {**out.attrs.get("phase_check", {}), "angle": check}
    return out


def from_protocol(protocol: Sequence[tuple], start: float = 0.0, *, cycles: bool = True) -> pd.DataFrame:
    """Phases from protocol timing: consecutive ``(phase, duration[, cycle])`` from ``start``.

    Parameters
    ----------
    protocol : sequence of tuples
        ``(phase, duration)`` or ``(phase, duration, cycle)``, durations in seconds.
    start : float
        Onset of the first phase, seconds from the first sample.
    cycles : bool
        When no cycle is given, number flexion-relaxation cycles automatically: a new cycle
        starts at each ``standing`` that precedes a ``flexion`` (or at each ``flexion``
        when no standing precedes it); the standing after extension ends the cycle.

    Returns
    -------
    pandas.DataFrame
        ``source == "protocol"``.

    Examples
    --------
    >>> from_protocol([("standing", 3), ("flexion", 3), ("full_flexion", 3), ("extension", 3)]).phase.tolist()
    ['standing', 'flexion', 'full_flexion', 'extension']
    """
    if not np.isfinite(start) or start < 0:
        raise ParameterError(f"start={start} must be a finite time >= 0 s")
    rows = []
    t = float(start)
    labels = []
    for item in protocol:
        if len(item) < 2:
            raise ParameterError(f"a protocol item needs (phase, duration), got {item!r}")
        canon = canonical_phase(item[0])
        if canon is None:
            raise ParameterError(f"unknown phase {item[0]!r} in the protocol", hint=f"use one of {list(PHASES)}")
        labels.append(canon)
    cyc_auto: list[int | None] = [None] * len(labels)
    if cycles and not any(len(it) > 2 for it in protocol):
        c = 0
        for i, lab in enumerate(labels):
            prev = labels[i - 1] if i else None
            nxt = labels[i + 1] if i + 1 < len(labels) else None
            if lab == "standing" and nxt == "flexion":
                c += 1
                cyc_auto[i] = c
            elif lab == "flexion" and not (prev == "standing" and cyc_auto[i - 1] == c and c > 0):
                c += 1
                cyc_auto[i] = c
            elif c and lab in ("flexion", "full_flexion", "extension"):
                cyc_auto[i] = c
            elif c and lab == "standing" and prev == "extension":
                cyc_auto[i] = c
    for i, (item, lab) in enumerate(zip(protocol, labels)):
        dur = float(item[1])
        if not np.isfinite(dur) or dur <= 0:
            raise ParameterError(f"phase {lab!r} has a non-positive duration {item[1]!r}")
        cyc = item[2] if len(item) > 2 else cyc_auto[i]
        rows.append(dict(onset=t, duration=dur, phase=lab, cycle=cyc))
        t += dur
    return _table(rows, "protocol")


# ----------------------------------------------------------------------------- angle
def inclination_from_imu(acc: np.ndarray, sfreq: float, gyro: np.ndarray | None = None, *,
                         vertical_axis: int = 0, flexion_axis: int | None = None, alpha: float = 0.98,
                         gyro_unit: str = "deg/s") -> np.ndarray:
    """Trunk inclination from an accelerometer (and optionally a gyroscope), degrees.

    Static tilt from gravity: ``theta_acc = arccos(a_v / |a|)`` in degrees, where ``a_v``
    is the component along the sensor axis that is vertical in upright standing
    (``vertical_axis``) and ``|a|`` the norm of the three axes; 0 deg upright, 90 deg with
    the trunk horizontal. Valid when the sensor's own accelerations are small against
    gravity (slow trunk movements).

    With a gyroscope, a first-order complementary filter fuses the two (Mahony et al.
    2008)::

        theta[n] = alpha * (theta[n-1] + omega[n] / sfreq) + (1 - alpha) * theta_acc[n]

    where ``omega`` is the angular velocity about the flexion axis (``flexion_axis``, deg/s).
    The recursion is run as a linear filter (no sample loop). ``alpha = 0.98`` gives a
    crossover time constant of ``alpha / ((1 - alpha) sfreq)`` s.

    Parameters
    ----------
    acc : ndarray, shape (3, n_samples)
        Accelerations (any unit, e.g. g).
    sfreq : float
        Sampling rate in Hz.
    gyro : ndarray, shape (3, n_samples) or (n_samples,), optional
        Angular velocity; a 1-D array is taken as the flexion-axis rate.
    vertical_axis : int
        Accelerometer row that points along the trunk (vertical when upright).
    flexion_axis : int, optional
        Gyroscope row about which flexion happens (needed for a 3-row ``gyro``).
    alpha : float
        Complementary-filter weight of the integrated gyroscope, in [0, 1).
    gyro_unit : {"deg/s", "rad/s"}

    Returns
    -------
    ndarray, shape (n_samples,)
        Inclination in degrees.
    """
    a = np.asarray(acc, dtype=float)
    if a.ndim != 2 or a.shape[0] != 3:
        raise ChannelError(f"acc must have shape (3, n_samples), got {a.shape}",
                           hint="stack the x, y, z accelerometer channels as rows")
    if not 0 <= vertical_axis < 3:
        raise ParameterError(f"vertical_axis={vertical_axis} must be 0, 1 or 2")
    if not 0 <= alpha < 1:
        raise ParameterError(f"alpha={alpha} must be in [0, 1)")
    norm = np.sqrt((a * a).sum(axis=0))
    norm[norm == 0] = np.nan
    theta_acc = np.degrees(np.arccos(np.clip(a[vertical_axis] / norm, -1.0, 1.0)))
    if np.isnan(theta_acc).any():
        raise ChannelError("the accelerometer norm is zero somewhere", hint="check the accelerometer channels")
    if gyro is None or alpha == 0:
        return theta_acc
    g = np.asarray(gyro, dtype=float)
    if g.ndim == 2:
        if flexion_axis is None:
            raise ParameterError("a 3-axis gyroscope needs flexion_axis", hint="give the row of the flexion axis")
        g = g[flexion_axis]
    if g.shape[-1] != a.shape[1]:
        raise ChannelError("the gyroscope and the accelerometer have different lengths")
    if gyro_unit == "rad/s":
        g = np.degrees(g)
    elif gyro_unit != "deg/s":
        raise ParameterError(f"gyro_unit={gyro_unit!r}", hint="use 'deg/s' or 'rad/s'")
    drive = alpha * g / float(sfreq) + (1 - alpha) * theta_acc
    zi = np.array([alpha * theta_acc[0]])
    out, _ = _sig.lfilter([1.0], [1.0, -alpha], drive, zi=zi)
    return out


def _runs(mask: np.ndarray) -> np.ndarray:
    """Start and stop (exclusive) indices of the True runs of a boolean array, shape (k, 2)."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.flatnonzero(m[1:] != m[:-1])
    return d.reshape(-1, 2)


def angle_signal(rec: Recording, channel: str | None = None) -> tuple[np.ndarray, str]:
    """The trunk-angle channel of a recording, in degrees.

    Parameters
    ----------
    rec : Recording
        A recording with a trunk-angle channel (``TRUNK_ANGLE`` by default).
    channel : str, optional
        Another channel name holding the angle.

    Returns
    -------
    (ndarray, str)
        The angle samples (degrees) and the channel's name.

    Raises
    ------
    ChannelError
        No such channel, or no ``TRUNK_ANGLE`` when ``channel`` is None.
    """
    names = rec.ch_names
    if channel is None:
        if "TRUNK_ANGLE" in names:
            channel = "TRUNK_ANGLE"
        else:
            raise ChannelError("the recording has no TRUNK_ANGLE channel", file=rec.meta.get("source"),
                               hint="name the angle channel with channel=..., or derive one with "
                                    "inclination_from_imu and pass the array")
    if channel not in names:
        raise ChannelError("no such angle channel", file=rec.meta.get("source"), channel=channel,
                           hint=f"available channels are {names}")
    unit = rec.channels.loc[rec.channels["name"] == channel, "unit"].iat[0]
    x = rec.get_data([channel], unit=None)[0]
    if unit in ("rad", "radian", "radians"):
        x = np.degrees(x)
    elif unit not in ("deg", "degree", "degrees", "°", ""):
        raise ChannelError(f"the angle channel's unit is {unit!r}, not degrees", file=rec.meta.get("source"),
                           channel=channel, hint="convert it to degrees")
    return x, channel


def from_angle(angle: Recording | np.ndarray, sfreq: float | None = None, *, channel: str | None = None,
               ff_fraction: float = 0.95, velocity_threshold: float = 5.0, boundary_velocity: float | str = "auto",
               standing_tolerance: float = 5.0, cycle_fraction: float = 0.5, min_excursion: float = 20.0,
               smooth_ms: float = 50.0, min_hold: float = 0.2, baseline_percentile: float = 5.0) -> pd.DataFrame:
    """Flexion-relaxation phases and cycles from a trunk-angle signal (METHODS.md §1.4 item 1).

    Algorithm (all thresholds are parameters; toolkit design choices, not literature values):

    1. Smooth the angle with a centred moving average of ``smooth_ms``; angular velocity
       ``omega = d(theta)/dt`` by central differences (deg/s).
    2. Baseline angle ``theta_0`` = the ``baseline_percentile`` percentile of the angle.
       Cycles = runs where ``theta - theta_0`` exceeds ``cycle_fraction`` of the largest
       excursion (and at least ``min_excursion`` deg), numbered from 1.
    3. Full flexion of a cycle = the longest run inside it where
       ``theta - theta_0 >= ff_fraction * (theta_max - theta_0)`` (``theta_max`` the cycle's
       maximum) and ``|omega| < velocity_threshold``.
       Standing = samples with ``theta - theta_0 <= standing_tolerance`` and
       ``|omega| < velocity_threshold``.
    4. Each still period is trimmed to the samples with ``|omega| < boundary_velocity``, a
       floor that is ``max(0.2 deg/s, 3 x 1.4826 x MAD(omega))`` over the still samples when
       ``"auto"`` (capped at ``velocity_threshold``), so boundaries sit where movement
       really starts or stops.
    5. Flexion runs from the end of standing to the start of full flexion, extension from
       the end of full flexion to the start of the next standing. Quiet standing between two
       cycles is split at its midpoint: the first half closes the previous cycle (the
       protocol's return standing), the second opens the next. Without a full-flexion hold
       the movement is split at the angle's maximum (no ``full_flexion`` row, with a warning).

    Parameters
    ----------
    angle : Recording or ndarray
        A Recording with a trunk-angle channel (degrees), or the angle itself (deg).
    sfreq : float, optional
        Sampling rate in Hz (only for an array).
    channel : str, optional
        Angle channel name (default ``TRUNK_ANGLE``).
    ff_fraction : float
        Fraction of the cycle's excursion that counts as full flexion (default 0.95).
    velocity_threshold : float
        deg/s below which the trunk is still (default 5).
    boundary_velocity : float or "auto"
        deg/s floor used to place the boundaries (step 4).
    standing_tolerance : float
        deg above the baseline angle that still counts as upright (default 5).
    cycle_fraction : float
        Fraction of the largest excursion that defines a cycle (default 0.5).
    min_excursion : float
        Smallest excursion in deg that makes a cycle (default 20).
    smooth_ms : float
        Moving-average length in ms (default 50).
    min_hold : float
        Shortest full-flexion or standing period in s (default 0.2).
    baseline_percentile : float
        Percentile of the angle taken as the upright baseline (default 5).

    Returns
    -------
    pandas.DataFrame
        ``onset, duration, phase, cycle, source`` with ``source == "angle"``; phases
        ``standing``, ``flexion``, ``full_flexion``, ``extension``.
    """
    if isinstance(angle, Recording):
        theta, _ = angle_signal(angle, channel)
        fs = angle.sfreq
    else:
        theta = np.asarray(angle, dtype=float)
        if sfreq is None:
            raise ParameterError("from_angle needs sfreq for an array", hint="pass sfreq=... in Hz")
        fs = float(sfreq)
    if theta.ndim != 1 or theta.size < 3:
        raise ChannelError("the angle must be a 1-D signal of at least 3 samples")
    if not np.isfinite(theta).all():
        raise ChannelError("the angle holds NaN or inf", hint="interpolate the gaps first")
    if not 0 < ff_fraction <= 1 or velocity_threshold <= 0 or not 0 < cycle_fraction < 1:
        raise ParameterError("need 0 < ff_fraction <= 1, velocity_threshold > 0 and 0 < cycle_fraction < 1")
    n = theta.size
    w = max(1, int(round(smooth_ms * fs / 1000.0)))
    if w > 1:
        c = np.concatenate([[0.0], np.cumsum(theta)])
        idx = np.arange(n)
        lo, hi = np.maximum(idx - w // 2, 0), np.minimum(idx - w // 2 + w, n)
        th = (c[hi] - c[lo]) / (hi - lo)
    else:
        th = theta
    omega = np.gradient(th) * fs
    base = float(np.percentile(th, baseline_percentile))
    rel = th - base
    top = float(rel.max())
    if top < min_excursion:
        warnings.warn(f"the trunk angle never moves more than {min_excursion} deg from upright: no cycles found",
                      ParaspinalWarning, stacklevel=2)
        return _empty()
    cyc_runs = _runs(rel > cycle_fraction * top)
    cyc_runs = cyc_runs[[rel[a:b].max() >= min_excursion for a, b in cyc_runs]] if len(cyc_runs) else cyc_runs
    still = np.abs(omega) < velocity_threshold
    if boundary_velocity == "auto":
        ws = np.abs(omega[still])
        mad = float(np.median(np.abs(ws - np.median(ws)))) if ws.size else 0.0
        vb = min(velocity_threshold, max(0.2, 3 * 1.4826 * mad))
    else:
        vb = float(boundary_velocity)
    very_still = np.abs(omega) < vb
    min_len = max(1, int(round(min_hold * fs)))
    upright = (rel <= standing_tolerance) & still

    def trim(a: int, b: int) -> tuple[int, int]:
        idx = np.flatnonzero(very_still[a:b])
        return (a + int(idx[0]), a + int(idx[-1]) + 1) if idx.size else (a, b)

    cycles = []
    for k, (a, b) in enumerate(cyc_runs):
        peak = a + int(np.argmax(rel[a:b]))
        amax = rel[peak]
        ff_runs = _runs((rel[a:b] >= ff_fraction * amax) & still[a:b]) + a
        ff_runs = ff_runs[(ff_runs[:, 1] - ff_runs[:, 0]) >= min_len] if len(ff_runs) else ff_runs
        if len(ff_runs):
            best = ff_runs[np.argmax(ff_runs[:, 1] - ff_runs[:, 0])]
            ff = trim(int(best[0]), int(best[1]))
        else:
            ff = None
            warnings.warn(f"cycle {k + 1}: no full-flexion hold (angle >= {ff_fraction:.0%} of the maximum with "
                          f"|velocity| < {velocity_threshold} deg/s for {min_hold} s); split at the maximum",
                          ParaspinalWarning, stacklevel=2)
        cycles.append(dict(a=int(a), b=int(b), peak=peak, ff=ff))
    if not cycles:
        return _empty()
    # upright still periods before, between and after cycles
    bounds = [0] + [c["b"] for c in cycles]
    ends = [c["a"] for c in cycles] + [n]
    std_periods = []
    for lo_, hi_ in zip(bounds, ends):
        runs = _runs(upright[lo_:hi_]) + lo_
        runs = runs[(runs[:, 1] - runs[:, 0]) >= min_len] if len(runs) else runs
        if len(runs):
            s0, s1 = trim(int(runs[0, 0]), int(runs[-1, 1]))
            std_periods.append((s0, s1))
        else:
            std_periods.append(None)
    rows = []
    for k, c in enumerate(cycles):
        cyc = k + 1
        before, after = std_periods[k], std_periods[k + 1]
        flx_start = before[1] if before else (cycles[k - 1]["b"] if k else 0)
        ext_end = after[0] if after else (cycles[k + 1]["a"] if k + 1 < len(cycles) else n)
        if before:
            s0 = before[0] if k == 0 else (before[0] + before[1]) // 2
            if k == 0:
                s0 = 0
            rows.append(dict(onset=s0, stop=before[1], phase="standing", cycle=cyc))
        if c["ff"] is not None:
            rows.append(dict(onset=flx_start, stop=c["ff"][0], phase="flexion", cycle=cyc))
            rows.append(dict(onset=c["ff"][0], stop=c["ff"][1], phase="full_flexion", cycle=cyc))
            rows.append(dict(onset=c["ff"][1], stop=ext_end, phase="extension", cycle=cyc))
        else:
            rows.append(dict(onset=flx_start, stop=c["peak"], phase="flexion", cycle=cyc))
            rows.append(dict(onset=c["peak"], stop=ext_end, phase="extension", cycle=cyc))
        if after:
            s1 = after[1] if k + 1 == len(cycles) else (after[0] + after[1]) // 2
            if k + 1 == len(cycles):
                s1 = n
            rows.append(dict(onset=after[0], stop=s1, phase="standing", cycle=cyc))
    out = [dict(onset=r["onset"] / fs, duration=(r["stop"] - r["onset"]) / fs, phase=r["phase"], cycle=r["cycle"])
           for r in rows if r["stop"] > r["onset"]]
    return _table(out, "angle")


# ----------------------------------------------------------------------------- envelope
def from_envelope(rec: Recording, *, picks: Iterable[str] | None = None, window_ms: float = 250.0,
                  smooth_s: float = 0.5, threshold: float = 0.5, central_fraction: float = 0.5,
                  min_burst: float = 0.5) -> pd.DataFrame:
    """Flexion-relaxation phases from the EMG envelope alone: a flagged last resort (METHODS.md §1.4 item 3).

    The mean of the extensor channels' moving-RMS envelopes (each divided by its median,
    then smoothed over ``smooth_s``) is split into bursts where it exceeds
    ``low + threshold * (high - low)`` (``low``/``high`` its 10th/95th percentiles). Two
    successive bursts are taken as flexion and extension and the gap between them as the
    minimum-envelope plateau; full flexion is its central ``central_fraction``; the rest of
    the gap is split between flexion and extension. Everything else is standing. This
    fails when there is no silence at full flexion (often in low-back pain): prefer a trunk
    angle or protocol timing. A :class:`~paraspinal.errors.ParaspinalWarning` says so
    every time.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG.
    picks : list of str, optional
        Channels (default: extensor channels, else all EMG).
    window_ms : float
        Moving-RMS window (ms).
    smooth_s : float
        Extra moving-average smoothing of the mean envelope (s).
    threshold : float
        Burst threshold between the 10th and 95th percentiles (0-1).
    central_fraction : float
        Part of the plateau labelled full flexion (0-1).
    min_burst : float
        Shortest burst in s.

    Returns
    -------
    pandas.DataFrame
        ``source == "envelope"``.
    """
    from .channels import EXTENSORS
    from .preprocessing import moving_rms_array

    warnings.warn("phases from the EMG envelope alone are a last resort (METHODS.md 1.4): they fail when there is "
                  "no flexion-relaxation silence; use a trunk angle, annotations or protocol timing when you can",
                  ParaspinalWarning, stacklevel=2)
    if picks is None:
        ch = rec.channels
        picks = list(ch.loc[(ch["type"] == "emg") & ch["muscle"].isin(EXTENSORS), "name"]) or rec.emg_names
    picks = list(picks)
    if not picks:
        raise ChannelError("no EMG channel to take phases from", file=rec.meta.get("source"))
    fs = rec.sfreq
    # one channel at a time (no channels x samples temporaries): each envelope over its median,
    # added in channel order, then divided by the count (the mean over channels, same sums)
    buf, env, e = np.empty((1, rec.n_samples)), np.empty(rec.n_samples), None
    for nm in picks:
        moving_rms_array(rec.get_data([nm], unit="uV", out=buf)[0], fs, window_ms, out=env)
        med = np.median(env)
        env /= 1.0 if med <= 0 else med
        if e is None:
            e = env.copy()
        else:
            e += env
    e /= len(picks)
    w = max(1, int(round(smooth_s * fs)))
    c = np.concatenate([[0.0], np.cumsum(e)])
    n = e.size
    idx = np.arange(n)
    lo, hi = np.maximum(idx - w // 2, 0), np.minimum(idx - w // 2 + w, n)
    e = (c[hi] - c[lo]) / (hi - lo)
    p10, p95 = np.percentile(e, [10, 95])
    bursts = _runs(e > p10 + threshold * (p95 - p10))
    bursts = bursts[(bursts[:, 1] - bursts[:, 0]) >= min_burst * fs] if len(bursts) else bursts
    rows = []
    pos = 0
    cyc = 0
    i = 0
    while i + 1 < len(bursts):
        f0, f1 = bursts[i]
        e0, e1 = bursts[i + 1]
        gap = e0 - f1
        cyc += 1
        ff0 = f1 + int(round(gap * (1 - central_fraction) / 2))
        ff1 = e0 - int(round(gap * (1 - central_fraction) / 2))
        for a, b, ph in ((pos, f0, "standing"), (f0, ff0, "flexion"), (ff0, ff1, "full_flexion"),
                         (ff1, e1, "extension")):
            if b > a:
                rows.append(dict(onset=a / fs, duration=(b - a) / fs, phase=ph, cycle=cyc))
        pos = e1
        i += 2
    if rows and pos < n:
        rows.append(dict(onset=pos / fs, duration=(n - pos) / fs, phase="standing", cycle=cyc))
    return _table(rows, "envelope")


# ----------------------------------------------------------------------------- choose / store
def detect(rec: Recording, method: str = "auto", *, protocol: Sequence[tuple] | None = None,
           start: float = 0.0, **options: Any) -> pd.DataFrame:
    """Phases from the most trusted source available.

    Parameters
    ----------
    rec : Recording
    method : {"auto", "annotations", "angle", "protocol", "envelope"}
        ``"auto"`` takes annotations when the recording has any, else the ``TRUNK_ANGLE``
        channel, else ``protocol`` when given, else the envelope (with a warning).
    protocol : sequence of (phase, duration), optional
        For ``"protocol"``.
    start : float
        Protocol start time in s.
    **options
        Passed to the chosen function.

    Returns
    -------
    pandas.DataFrame
        With a ``source`` column.
    """
    if method == "auto":
        if len(rec.phases):
            method = "annotations"
        elif "TRUNK_ANGLE" in rec.ch_names:
            method = "angle"
        elif protocol is not None:
            method = "protocol"
        else:
            method = "envelope"
    if method == "annotations":
        return from_annotations(rec, **options)
    if method == "angle":
        return from_angle(rec, **options)
    if method == "protocol":
        if protocol is None:
            raise ParameterError("method='protocol' needs protocol=[(phase, duration), ...]",
                                 file=rec.meta.get("source"))
        return from_protocol(protocol, start, **options)
    if method == "envelope":
        return from_envelope(rec, **options)
    raise ParameterError(f"unknown phase method {method!r}", hint=f"use 'auto' or one of {list(SOURCES)}")


def set_phases(rec: Recording, phases: pd.DataFrame) -> Recording:
    """A new Recording whose phases are ``phases``; ``meta["phase_source"]`` says where they came from.

    ``meta["phase_check"]`` gets what :func:`validate` / :func:`from_annotations` recorded in
    ``phases.attrs["phase_check"]`` (cycle inference, angle cross-check), when there is any.

    Parameters
    ----------
    rec : Recording
        Not modified.
    phases : pandas.DataFrame
        A phase table (``source`` column optional).

    Returns
    -------
    Recording
    """
    out = rec.with_phases(phases[["onset", "duration", "phase", "cycle"]] if "cycle" in phases
                          else phases[["onset", "duration", "phase"]])
    srcs = sorted(set(phases["source"])) if "source" in phases and len(phases) else ["annotations"]
    out.meta["phase_source"] = srcs[0] if len(srcs) == 1 else srcs
    check = phases.attrs.get("phase_check")
    if isinstance(check, dict) and check:
        out.meta["phase_check"] = _copy.deepcopy(check)
    else:
        out.meta.pop("phase_check", None)
    return out


def segments(phases: pd.DataFrame, sfreq: float, n_samples: int) -> np.ndarray:
    """Sample bounds ``[start, stop)`` of each phase row, clipped to the signal, shape (k, 2).

    Parameters
    ----------
    phases : pandas.DataFrame
        ``onset, duration`` in seconds.
    sfreq : float
        Hz.
    n_samples : int

    Returns
    -------
    ndarray of int
    """
    on = np.asarray(phases["onset"], dtype=float)
    du = np.asarray(phases["duration"], dtype=float)
    a = np.clip(np.round(on * sfreq).astype(np.int64), 0, n_samples)
    b = np.clip(np.round((on + du) * sfreq).astype(np.int64), 0, n_samples)
    return np.stack([a, np.maximum(a, b)], axis=1) if len(on) else np.zeros((0, 2), np.int64)


# ----------------------------------------------------------------------------- FRP angles
def frp_angles(env: np.ndarray, angle: np.ndarray, sfreq: float, phases: pd.DataFrame, *,
               threshold: str = "peak", p: float = 25.0, k: float = 3.0, baseline: tuple[float, float] | None = None,
               t_min: float = 0.25) -> list[dict[str, Any]]:
    """Trunk angle at EMG-off (FRP onset) and EMG-on (FRP cessation), per channel and cycle.

    METHODS.md §1.4 item 2 (after Jin, Ning & Mirka 2012; Schinkel-Ivy et al. 2014):
    EMG-off = the first time, during flexion and full flexion, that the envelope stays
    below ``thr`` for at least ``t_min`` s; EMG-on = the first time after EMG-off, up to the
    end of extension, that it stays above ``thr`` for at least ``t_min`` s. The threshold is

    * ``threshold="peak"``: ``p`` % of the cycle's peak flexion envelope (self-reference);
    * ``threshold="baseline"``: ``mean + k * SD`` of the envelope over a resting
      ``baseline`` interval ``(start, stop)`` in s (absolute reference).

    Parameters
    ----------
    env : ndarray, shape (n_channels, n_samples)
        Amplitude envelopes (e.g. 250 ms moving RMS, uV).
    angle : ndarray, shape (n_samples,)
        Trunk angle in degrees.
    sfreq : float
        Hz.
    phases : pandas.DataFrame
        Phase table with ``flexion``, ``full_flexion``, ``extension`` rows and cycles.
    threshold : {"peak", "baseline"}
    p : float
        Percent of the peak flexion envelope (default 25; a design choice).
    k : float
        SDs above the resting mean (default 3).
    baseline : (float, float), optional
        Resting interval in s for ``threshold="baseline"``.
    t_min : float
        Minimum duration in s (default 0.25).

    Returns
    -------
    list of dict
        ``channel`` (row index), ``cycle``, ``off_time``, ``on_time`` (s or NaN),
        ``off_angle``, ``on_angle`` (deg or NaN), ``threshold`` (envelope unit).
    """
    env = np.atleast_2d(env)
    n = env.shape[1]
    if threshold not in ("peak", "baseline"):
        raise ParameterError(f"threshold={threshold!r}", hint="use 'peak' or 'baseline'")
    if threshold == "baseline":
        if baseline is None:
            raise ParameterError("threshold='baseline' needs baseline=(start, stop) in s")
        b0, b1 = (int(np.clip(round(t * sfreq), 0, n)) for t in baseline)
        if b1 - b0 < 2:
            raise ParameterError(f"the baseline interval {baseline} s is too short")
        thr_all = env[:, b0:b1].mean(axis=1) + k * env[:, b0:b1].std(axis=1)
    mlen = max(1, int(round(t_min * sfreq)))
    seg = segments(phases, sfreq, n)
    out = []
    cyc_col = phases["cycle"]
    for cyc in sorted({int(c) for c in cyc_col.dropna()}):
        sel = (cyc_col == cyc).fillna(False).to_numpy()
        ph = phases["phase"].to_numpy()
        fl = seg[sel & (ph == "flexion")]
        ff = seg[sel & (ph == "full_flexion")]
        ex = seg[sel & (ph == "extension")]
        if not len(fl) or not len(ex):
            continue
        s0 = int(fl[:, 0].min())
        s_ff_end = int(ff[:, 1].max()) if len(ff) else int(fl[:, 1].max())
        s_end = int(ex[:, 1].max())
        for ch in range(env.shape[0]):
            thr = (p / 100.0) * env[ch, fl[0, 0]:fl[0, 1]].max() if threshold == "peak" else thr_all[ch]
            below = env[ch, s0:s_ff_end] < thr
            off = _first_run(below, mlen)
            off_i = s0 + off if off is not None else None
            on_i = None
            if off_i is not None:
                above = env[ch, off_i:s_end] > thr
                on = _first_run(above, mlen)
                on_i = off_i + on if on is not None else None
            out.append(dict(channel=ch, cycle=cyc, threshold=float(thr),
                            off_time=np.nan if off_i is None else off_i / sfreq,
                            on_time=np.nan if on_i is None else on_i / sfreq,
                            off_angle=np.nan if off_i is None else float(angle[off_i]),
                            on_angle=np.nan if on_i is None else float(angle[min(on_i, n - 1)])))
    return out


def _first_run(mask: np.ndarray, length: int) -> int | None:
    runs = _runs(mask)
    if not len(runs):
        return None
    ok = runs[(runs[:, 1] - runs[:, 0]) >= length]
    return int(ok[0, 0]) if len(ok) else None
