"""Channel vocabulary and name parsing."""

import warnings

import pandas as pd
import pytest

from paraspinal.channels import (
    agonist_antagonist_pairs,
    bilateral_pairs,
    channel_table,
    parse_channel_name,
)
from paraspinal.errors import ChannelError, ParaspinalWarning


@pytest.mark.parametrize(
    "spelling, name, muscle, side, level",
    [
        ("Left Multifidus L5", "L_MF_L5", "MF", "L", "L5"),
        ("MF_L5_left", "L_MF_L5", "MF", "L", "L5"),
        ("L_MF_L5", "L_MF_L5", "MF", "L", "L5"),
        ("LES", "L_ES", "ES", "L", None),
        ("ESL", "L_ES", "ES", "L", None),
        ("RES", "R_ES", "ES", "R", None),
        ("R_LT_L1", "R_LT_L1", "LT", "R", "L1"),
        ("L_IL_L3", "L_IL_L3", "IL", "L", "L3"),
        ("Right erector spinae", "R_ES", "ES", "R", None),
        ("right iliocostalis lumborum L2", "R_IL_L2", "IL", "R", "L2"),
        ("Left Longissimus T12", "L_LT_T12", "LT", "L", "T12"),
        ("rectus abdominis left", "L_RA", "RA", "L", None),
        ("R RA", "R_RA", "RA", "R", None),
        ("L EO", "L_EO", "EO", "L", None),
        ("External Oblique Right", "R_EO", "EO", "R", None),
        ("IO_R", "R_IO", "IO", "R", None),
        ("L4-5 multifidus right", "R_MF_L4-L5", "MF", "R", "L4-L5"),
        ("MF L4L5 R", "R_MF_L4-L5", "MF", "R", "L4-L5"),
        ("LeftQuadratusLumborum", "L_QL", "QL", "L", None),
        ("gluteus maximus R", "R_GM", "GM", "R", None),
        ("L latissimus dorsi", "L_LD", "LD", "L", None),
        ("transversus abdominis left", "L_TRA", "TRA", "L", None),
        ("L_MF.EMG1", "L_MF", "MF", "L", None),
        ("EMG 3 Right Multifidus", "R_MF", "MF", "R", None),
    ],
)
def test_common_spellings(spelling, name, muscle, side, level):
    info = parse_channel_name(spelling)
    assert (info.name, info.type, info.muscle, info.side, info.level) == (name, "emg", muscle, side, level)
    assert info.source_name == spelling


@pytest.mark.parametrize(
    "spelling",
    ["EMG1", "sEMG1", "Delt_ant.EMG1", "L Rectus femoris", "Mini sensor 10: EMG 10", "Biceps", "multifidus"],
)
def test_unparseable_names_are_kept_without_a_guess(spelling):
    info = parse_channel_name(spelling)
    assert info.name == spelling
    # a muscle without a side, or a muscle word next to an unknown one, is not canonicalised
    assert info.side is None or info.muscle is None


def test_rectus_femoris_is_not_rectus_abdominis():
    assert parse_channel_name("R Rectus femoris").muscle is None


def test_special_channels():
    assert parse_channel_name("ECG").type == "ecg"
    assert parse_channel_name("EKG lead II").name == "ECG"
    assert parse_channel_name("Trunk angle").name == "TRUNK_ANGLE"
    assert parse_channel_name("inclinometer").type == "misc"
    assert parse_channel_name("Mini sensor 10: ACC.X 10").type == "misc"


def test_explicit_mapping():
    info = parse_channel_name("sEMG1", {"sEMG1": "L_LT"})
    assert (info.name, info.muscle, info.side, info.source_name) == ("L_LT", "LT", "L", "sEMG1")
    info = parse_channel_name("ch3", {"ch3": "right multifidus L5"})
    assert info.name == "R_MF_L5"


def test_table_warns_once_for_unparsed():
    with pytest.warns(ParaspinalWarning, match="2 EMG channel") as rec:
        table = channel_table(["EMG1", "EMG2", "L_MF"])
    assert len(rec) == 1
    assert list(table["name"]) == ["EMG1", "EMG2", "L_MF"]
    assert table["muscle"].isna().tolist() == [True, True, False]


def test_table_no_warning_when_all_parse():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = channel_table(["Left Multifidus L5", "Right Multifidus L5", "ECG"])
    assert list(table["name"]) == ["L_MF_L5", "R_MF_L5", "ECG"]
    assert list(table["unit"]) == ["V", "V", "V"]
    assert list(table["source_name"]) == ["Left Multifidus L5", "Right Multifidus L5", "ECG"]


def test_duplicate_names_raise():
    with pytest.raises(ChannelError, match="duplicate"):
        channel_table(["EMG1", "EMG1"], file="x.csv")


def test_canonical_collision_falls_back_to_file_names():
    table = channel_table(["LES", "ESL"])  # both parse to L_ES
    assert list(table["name"]) == ["LES", "ESL"]


def test_mapping_naming_missing_channel_raises():
    with pytest.raises(ChannelError, match="not in the recording"):
        channel_table(["a", "b"], mapping={"c": "L_MF"}, file="x.csv")


def test_pairs():
    table = channel_table(["L_MF", "R_MF", "L_RA", "R_RA", "L_EO", "ECG"])
    assert agonist_antagonist_pairs(table) == [("L_MF", "L_RA"), ("L_MF", "L_EO"), ("R_MF", "R_RA")]
    assert bilateral_pairs(table) == [("L_MF", "R_MF"), ("L_RA", "R_RA")]
    assert isinstance(table, pd.DataFrame)
