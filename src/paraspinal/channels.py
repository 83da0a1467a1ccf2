"""Muscle, side and level vocabulary, channel-name parsing, agonist/antagonist pairs.

Canonical channel names are ``<SIDE>_<MUSCLE>[_<LEVEL>]`` (``L_MF_L5``, ``R_LT_L1``,
``R_RA``), plus ``TRUNK_ANGLE`` and ``ECG``. Parsing accepts the spellings labs use
("Left Multifidus L5", "MF_L5_left", "LES", "ESL", "Right erector spinae") and an
explicit mapping (``{"sEMG1": "L_LT"}``). A name that cannot be parsed keeps its name,
gets ``muscle = None`` and a warning: the parser never guesses.

Electrode sites for these muscles follow SENIAM (Hermens et al. 2000, J Electromyogr
Kinesiol 10:361-374) and De Foa et al. (1989); see ``docs/concepts.md``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from .errors import ChannelError, ParaspinalWarning

__all__ = [
    "MUSCLES",
    "EXTENSORS",
    "FLEXORS",
    "SIDES",
    "CHANNEL_COLUMNS",
    "GRID_COLUMNS",
    "ChannelInfo",
    "parse_channel_name",
    "channel_table",
    "agonist_antagonist_pairs",
    "bilateral_pairs",
]

#: Muscle codes and their full names.
MUSCLES: dict[str, str] = {
    "ES": "erector spinae",
    "LT": "longissimus",
    "IL": "iliocostalis",
    "MF": "multifidus",
    "QL": "quadratus lumborum",
    "LD": "latissimus dorsi",
    "GM": "gluteus maximus",
    "RA": "rectus abdominis",
    "EO": "external oblique",
    "IO": "internal oblique",
    "TRA": "transversus abdominis",
}
#: Trunk extensors (agonists in trunk extension).
EXTENSORS: tuple[str, ...] = ("ES", "LT", "IL", "MF", "QL")
#: Trunk flexors (antagonists of the extensors in the sagittal plane).
FLEXORS: tuple[str, ...] = ("RA", "EO", "IO")
#: Side codes.
SIDES: dict[str, str] = {"L": "left", "R": "right"}
#: Columns of a Recording's channel table.
CHANNEL_COLUMNS: tuple[str, ...] = ("name", "type", "muscle", "side", "level", "unit", "source_name")
#: Optional columns of the channel table of electrode-grid recordings (paraspinal.hdsemg):
#: present only when the recording has a grid, missing for the channels of no grid.
GRID_COLUMNS: tuple[str, ...] = ("grid", "row", "col", "x_mm", "y_mm")

# Multi-word aliases first (matched on the space-joined token string), then single tokens.
_PHRASES: dict[str, str] = {
    "erector spinae": "ES",
    "erector spinae longissimus": "LT",
    "longissimus thoracis": "LT",
    "longissimus lumborum": "LT",
    "iliocostalis lumborum": "IL",
    "iliocostalis thoracis": "IL",
    "lumbar multifidus": "MF",
    "quadratus lumborum": "QL",
    "latissimus dorsi": "LD",
    "gluteus maximus": "GM",
    "glut max": "GM",
    "rectus abdominis": "RA",
    "rectus abd": "RA",
    "external oblique": "EO",
    "obliquus externus": "EO",
    "ext oblique": "EO",
    "internal oblique": "IO",
    "obliquus internus": "IO",
    "int oblique": "IO",
    "transversus abdominis": "TRA",
    "transverse abdominis": "TRA",
}
_WORDS: dict[str, str] = {
    "es": "ES", "erector": "ES", "erectores": "ES", "paraspinal": "ES", "paraspinals": "ES",
    "paravertebral": "ES", "esp": "ES",
    "lt": "LT", "longissimus": "LT", "lon": "LT", "long": "LT", "lg": "LT",
    "il": "IL", "iliocostalis": "IL", "ilc": "IL", "icl": "IL", "ic": "IL",
    "mf": "MF", "multifidus": "MF", "multifidi": "MF",
    "ql": "QL",
    "ld": "LD", "latissimus": "LD", "lat": "LD",
    "gm": "GM", "gmax": "GM",
    "ra": "RA",
    "eo": "EO", "eoa": "EO",
    "io": "IO",
    "tra": "TRA", "transversus": "TRA",
}
_LEFT = {"l", "left", "sin", "sinister", "links", "gauche", "izq", "izquierdo", "sx"}
_RIGHT = {"r", "right", "dx", "dex", "dexter", "rechts", "droit", "der", "derecho"}
_LEVEL_RE = re.compile(r"^(?:(c)([1-7])|(t)(1[0-2]|[1-9])|(l)([1-5])|(s)([1-5]))$")
# "L4-5", "L4L5", "L4/L5": a level between two segments is named by the upper one plus the lower.
_INTERLEVEL_RE = re.compile(r"^([ctls])(\d{1,2})([ctls]?)(\d{1,2})$")
_ECG = {"ecg", "ekg", "heart", "cardiac"}
_ANGLE_PHRASES = ("trunk angle", "trunk_angle", "inclinometer", "inclination", "trunk flexion angle")
_MOTION = {"acc", "accel", "accelerometer", "gyro", "gyroscope", "mag", "imu", "quat"}

_TOKEN_SPLIT = re.compile(r"[^0-9a-zA-Z]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class ChannelInfo:
    """What a channel name says.

    Attributes
    ----------
    name : str
        Canonical name (``L_MF_L5``) when the muscle and side were recognised, otherwise
        the original name.
    type : str
        MNE channel type: ``"emg"``, ``"ecg"`` or ``"misc"``.
    muscle : str or None
        Muscle code (see :data:`MUSCLES`), or None when not recognised.
    side : str or None
        ``"L"``, ``"R"``, or None.
    level : str or None
        Vertebral level (``"L5"``, ``"T12"``, ``"L4-L5"``), or None.
    source_name : str
        The name as found in the file.
    """

    name: str
    type: str
    muscle: str | None
    side: str | None
    level: str | None
    source_name: str


def _tokens(name: str) -> list[str]:
    spaced = _CAMEL.sub(" ", name)
    return [t for t in _TOKEN_SPLIT.split(spaced.lower()) if t]


def _parse_level(tok: str) -> str | None:
    m = _LEVEL_RE.match(tok)
    if m:
        letter = next(g for g in m.groups()[0::2] if g)
        digit = next(g for g in m.groups()[1::2] if g)
        return f"{letter.upper()}{digit}"
    return None


def _split_compound(tok: str) -> tuple[str | None, str | None]:
    """Split tokens like 'les', 'esl', 'rmf', 'mfr' into (side, muscle)."""
    for code in sorted(_WORDS, key=len, reverse=True):
        if len(code) < 2 or not code.isalpha():
            continue
        if tok == "l" + code or tok == code + "l":
            return "L", _WORDS[code]
        if tok == "r" + code or tok == code + "r":
            return "R", _WORDS[code]
    return None, None


def parse_channel_name(name: str, mapping: Mapping[str, str] | None = None) -> ChannelInfo:
    """Parse a channel name into muscle, side and level.

    Parameters
    ----------
    name : str
        The channel name as found in a file (e.g. ``"Left Multifidus L5"``).
    mapping : mapping of str to str, optional
        Explicit map from file names to canonical names or spellings the parser knows,
        e.g. ``{"sEMG1": "L_LT"}``. A mapped name is parsed from its target.

    Returns
    -------
    ChannelInfo
        The canonical name, MNE type, muscle, side and level. When the muscle or the
        side is not recognised, ``name`` is the original name and ``muscle`` is None
        (or the muscle without a side keeps its original name too).

    Examples
    --------
    >>> parse_channel_name("Left Multifidus L5").name
    'L_MF_L5'
    >>> parse_channel_name("ESL").name
    'L_ES'
    >>> parse_channel_name("EMG1").muscle is None
    True
    """
    source = name
    target = name
    if mapping is not None and name in mapping:
        target = mapping[name]
    info = _parse(target)
    return ChannelInfo(info[0] if info[0] else target, info[1], info[2], info[3], info[4], source)


def _parse(name: str) -> tuple[str | None, str, str | None, str | None, str | None]:
    """Return (canonical name or None, type, muscle, side, level)."""
    low = " ".join(_tokens(name))
    toks = low.split()
    if not toks:
        return None, "emg", None, None, None
    if any(p.replace("_", " ") in low for p in _ANGLE_PHRASES) or low in {"angle", "trunk"}:
        return "TRUNK_ANGLE", "misc", None, None, None
    if any(t in _ECG for t in toks):
        return "ECG", "ecg", None, None, None
    if any(t in _MOTION or re.fullmatch(r"(acc|gyro|mag)[xyz]?", t) for t in toks):
        return None, "misc", None, None, None

    muscle = side = level = None
    rest: list[str] = []
    # phrases (longest first)
    for phrase in sorted(_PHRASES, key=len, reverse=True):
        if f" {phrase} " in f" {low} ":
            muscle = _PHRASES[phrase]
            low = f" {low} ".replace(f" {phrase} ", " ").strip()
            break
    toks = low.split()
    i = 0
    while i < len(toks):
        tok = toks[i]
        lvl = _parse_level(tok)
        if lvl is not None and level is None:
            # "l4 5" / "l4 l5" -> interlevel
            if i + 1 < len(toks):
                nxt = _parse_level(toks[i + 1]) or (
                    f"{lvl[0]}{toks[i + 1]}" if toks[i + 1].isdigit() else None
                )
                if nxt is not None and nxt != lvl and _parse_level(nxt.lower()) is not None:
                    level = f"{lvl}-{nxt}"
                    i += 2
                    continue
            level = lvl
        elif (m := _INTERLEVEL_RE.match(tok)) and level is None and _parse_level(m.group(1) + m.group(2)):
            a = _parse_level(m.group(1) + m.group(2))
            b = _parse_level((m.group(3) or m.group(1)) + m.group(4))
            if a and b:
                level = f"{a}-{b}"
            else:
                rest.append(tok)
        elif tok in _LEFT and side is None:
            side = "L"
        elif tok in _RIGHT and side is None:
            side = "R"
        elif tok in _WORDS and muscle is None:
            muscle = _WORDS[tok]
        elif muscle is None and side is None and (sm := _split_compound(tok))[0] is not None:
            side, muscle = sm
        elif re.fullmatch(r"s?emg\d*", tok) or tok.isdigit():
            pass  # "EMG 3", "sEMG": carry no muscle information by themselves
        else:
            rest.append(tok)
        i += 1
    # A token the parser does not know, next to a muscle it does, may change the muscle
    # ("rectus femoris" is not "rectus abdominis"): refuse to guess.
    if muscle is None or side is None or rest:
        return None, "emg", None if rest else muscle, None if rest else side, None if rest else level
    canonical = f"{side}_{muscle}" + (f"_{level}" if level else "")
    return canonical, "emg", muscle, side, level


def _text_name(name: object) -> str:
    """A channel name as text that every writer accepts.

    Readers decode the bytes of a file's labels; bytes that are not UTF-8 come back as lone
    surrogates (``"\\udce9"``), which no table, Parquet file or FIF file can hold. Those
    bytes are read as Latin-1 instead (``b"B\\xedceps"`` is ``"Bíceps"``), as the text
    readers do.
    """
    text = str(name)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return text


def _check_mapping(mapping: object, file: str | None) -> None:
    """A channel map is a mapping of names to names (a string is not one: it would be split into letters)."""
    if not isinstance(mapping, Mapping):
        raise ChannelError(
            f"channel_map={mapping!r} is not a mapping of old to new channel names", file=file,
            hint="pass a dict such as channel_map={'sEMG1': 'L_LT', 'sEMG2': 'R_LT'} "
                 "(on the command line: --channel-map sEMG1=L_LT,sEMG2=R_LT)")
    bad = [(k, v) for k, v in mapping.items() if not isinstance(k, str) or not isinstance(v, str) or not v.strip()]
    if bad:
        raise ChannelError(f"channel_map entry {bad[0][0]!r}: {bad[0][1]!r} is not a pair of channel names",
                           file=file, hint="each entry maps a channel name in the file to a new name (text)")


def channel_table(
    ch_names: Iterable[str],
    *,
    units: Iterable[str] | None = None,
    types: Iterable[str | None] | None = None,
    mapping: Mapping[str, str] | None = None,
    rename: bool = True,
    file: str | None = None,
    warn: bool = True,
) -> pd.DataFrame:
    """Build the channel table of a Recording from channel names.

    Parameters
    ----------
    ch_names : iterable of str
        Channel names as found in the file.
    units : iterable of str, optional
        Unit of each channel as stored (``"V"`` for EMG/ECG, ``"deg"`` for an angle...).
        Defaults to ``"V"`` for EMG and ECG and ``""`` otherwise.
    types : iterable of str or None, optional
        MNE channel types to force (``"emg"``, ``"ecg"``, ``"misc"``); None entries are
        inferred from the name.
    mapping : mapping, optional
        Explicit name map, see :func:`parse_channel_name`.
    rename : bool
        Use canonical names for channels whose muscle and side were recognised.
    file : str, optional
        File name used in warnings and errors.
    warn : bool
        Warn once about EMG channels whose muscle or side could not be recognised.

    Returns
    -------
    pandas.DataFrame
        One row per channel with columns :data:`CHANNEL_COLUMNS`.

    Raises
    ------
    ChannelError
        When two channels end up with the same name.
    """
    ch_names = [_text_name(nm) for nm in ch_names]
    units = list(units) if units is not None else [None] * len(ch_names)
    types = list(types) if types is not None else [None] * len(ch_names)
    if mapping is not None:
        _check_mapping(mapping, file)
        unknown = sorted(set(mapping) - set(ch_names))
        if unknown:
            raise ChannelError(
                f"the channel map names channels that are not in the recording: {unknown}",
                file=file,
                hint=f"available channels are {ch_names}",
            )
    rows = []
    unparsed = []
    for nm, unit, typ in zip(ch_names, units, types):
        info = parse_channel_name(nm, mapping)
        ch_type = typ or info.type
        if ch_type == "emg" and info.muscle is None and typ is None and info.name not in ("ECG", "TRUNK_ANGLE"):
            unparsed.append(nm)
        if unit is None:
            unit = "V" if ch_type in ("emg", "ecg") else ""
        out_name = info.name if rename else nm
        if ch_type != "emg" and info.name not in ("ECG", "TRUNK_ANGLE"):
            out_name = nm if mapping is None or nm not in mapping else mapping[nm]
        rows.append(
            dict(
                name=out_name,
                type=ch_type,
                muscle=info.muscle if ch_type == "emg" else None,
                side=info.side if ch_type == "emg" else None,
                level=info.level if ch_type == "emg" else None,
                unit=unit,
                source_name=nm,
            )
        )
    table = pd.DataFrame(rows, columns=list(CHANNEL_COLUMNS))
    dup = table["name"][table["name"].duplicated()].unique().tolist()
    if dup:
        sources = table.loc[table["name"].isin(dup), "source_name"].tolist()
        if rename and table["source_name"].is_unique:
            # canonical names collide (e.g. two "L_MF" without levels): keep the file's names
            return channel_table(
                ch_names, units=units, types=types, mapping=mapping, rename=False, file=file, warn=warn
            )
        raise ChannelError(
            f"duplicate channel names {dup} (from {sources})",
            file=file,
            hint="give each channel a unique name, e.g. with channel_map={'old': 'new'}",
        )
    if warn and unparsed:
        shown = ", ".join(repr(u) for u in unparsed[:8]) + (" ..." if len(unparsed) > 8 else "")
        where = f"{file}: " if file else ""
        warnings.warn(
            f"{where}{len(unparsed)} EMG channel(s) without a recognised muscle and side: {shown}. "
            "They keep their names with muscle=None; pass channel_map={'name': 'L_MF_L5', ...} to map them.",
            ParaspinalWarning,
            stacklevel=3,
        )
    return table


def _not_grid(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a channel table that are not electrodes of a grid."""
    return table[table["grid"].isna()] if "grid" in table.columns else table


def agonist_antagonist_pairs(channels: pd.DataFrame) -> list[tuple[str, str]]:
    """Extensor/flexor channel pairs on the same side, for co-contraction indices.

    Each extensor (ES, LT, IL, MF, QL) is paired with each flexor (RA, EO, IO) of the same
    side (van Dieen et al. 2003, Spine 28:834; METHODS.md section 3).

    Parameters
    ----------
    channels : pandas.DataFrame
        A Recording's channel table.

    Returns
    -------
    list of (str, str)
        ``(agonist_name, antagonist_name)`` pairs, in channel-table order. Electrodes of a
        grid (a non-missing ``grid`` column) are not paired: a grid is one map, not 64
        muscles (its features are the HD-sEMG family's).
    """
    emg = _not_grid(channels[channels["type"] == "emg"])
    ext = emg[emg["muscle"].isin(EXTENSORS)]
    flx = emg[emg["muscle"].isin(FLEXORS)]
    return [
        (a.name, b.name)
        for a in ext.itertuples(index=False)
        for b in flx.itertuples(index=False)
        if a.side is not None and a.side == b.side
    ]


def bilateral_pairs(channels: pd.DataFrame) -> list[tuple[str, str]]:
    """Left/right channel pairs of the same muscle and level, for asymmetry indices.

    Parameters
    ----------
    channels : pandas.DataFrame
        A Recording's channel table.

    Returns
    -------
    list of (str, str)
        ``(left_name, right_name)`` pairs. Electrodes of a grid are not paired (see
        :func:`agonist_antagonist_pairs`).
    """
    emg = _not_grid(channels[(channels["type"] == "emg") & channels["muscle"].notna()])
    left = emg[emg["side"] == "L"]
    right = emg[emg["side"] == "R"]
    pairs = []
    for a in left.itertuples(index=False):
        for b in right.itertuples(index=False):
            if a.muscle == b.muscle and (a.level or None) == (b.level or None):
                pairs.append((a.name, b.name))
    return pairs
