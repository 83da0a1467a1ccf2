"""C3D analog channels (paraspinal.io.c3d) against ezc3d and against the file's bytes."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest

import paraspinal as ps
from paraspinal.errors import ChannelError, ParaspinalWarning
from paraspinal.io.c3d import is_emg_channel, read_c3d

ezc3d = pytest.importorskip("ezc3d")

VICON = "pyomeca_tests/markers_analogs.c3d"
BTS = "ezc3d_testFiles/BTS.c3d"
QUALISYS = "ezc3d_testFiles/Qualisys.c3d"
UNIT_TO_V = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}


def _quiet_read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)  # unlabelled muscles
        return ps.read(path, **kw)


# ---------------------------------------------------------------- independent decoding
def _decode_c3d(path, n_frames=3):
    """Decode header, parameters and the first analog samples from the bytes (C3D User Guide).

    Intel processor only (type 84, little-endian), which all test files are. Returns the
    ANALOG parameters and an (n_channels, n_frames * subframes) array of scaled values:
    (raw - OFFSET) * SCALE * GEN_SCALE.
    """
    b = path.read_bytes()
    pblock = b[0]
    assert b[1] == 0x50
    n_points, n_analog_words = struct.unpack("<HH", b[2:6])
    point_scale = struct.unpack("<f", b[12:16])[0]
    data_start, subframes = struct.unpack("<HH", b[16:20])
    ps_ = (pblock - 1) * 512
    n_blocks, processor = b[ps_ + 2], b[ps_ + 3]
    assert processor == 84, "this decoder reads Intel files only"
    section = b[ps_:ps_ + 512 * n_blocks]
    groups, params, pos = {}, {}, 4
    while pos < len(section):
        n_chars = abs(struct.unpack("b", section[pos:pos + 1])[0])
        gid = struct.unpack("b", section[pos + 1:pos + 2])[0]
        if n_chars == 0:
            break
        name = section[pos + 2:pos + 2 + n_chars].decode("latin-1")
        p = pos + 2 + n_chars
        offset = struct.unpack("<h", section[p:p + 2])[0]
        if gid < 0:
            groups[-gid] = name
        else:
            q = p + 2
            dtype, n_dims = struct.unpack("b", section[q:q + 1])[0], section[q + 1]
            dims = list(section[q + 2:q + 2 + n_dims])
            q += 2 + n_dims
            count = int(np.prod(dims)) if n_dims else 1
            raw = section[q:q + count * abs(dtype)]
            if dtype == -1:
                width = dims[0] if dims else len(raw)
                value = [raw[i:i + width].decode("latin-1").strip() for i in range(0, len(raw), width)]
            else:
                value = np.frombuffer(raw, {1: "i1", 2: "<i2", 4: "<f4"}[dtype]).astype(float)
            params[(gid, name)] = value
        if offset == 0:
            break
        pos = p + offset
    analog = {name: v for (gid, name), v in params.items() if groups.get(gid) == "ANALOG"}
    n_ch = n_analog_words // subframes
    is_float = point_scale < 0
    word = 4 if is_float else 2
    unsigned = "UNSIGNED" in "".join(analog.get("FORMAT", []) or [])
    dtype = "<f4" if is_float else ("<u2" if unsigned else "<i2")
    frame_words = 4 * n_points + n_analog_words
    start = (data_start - 1) * 512
    block = np.frombuffer(b[start:start + n_frames * frame_words * word], dtype).reshape(n_frames, frame_words)
    values = block[:, 4 * n_points:].astype(float).reshape(n_frames * subframes, n_ch).T
    scale = np.asarray(analog["SCALE"], float)[:n_ch]
    offset = np.asarray(analog["OFFSET"], float)[:n_ch]
    gen = float(np.ravel(analog["GEN_SCALE"])[0])
    scaled = (values - offset[:, None]) * scale[:, None] * gen
    return analog, values, scaled


@pytest.mark.realdata
@pytest.mark.parametrize("name", [VICON, BTS, QUALISYS])
def test_analog_scaling_matches_independent_decoding(data_dir, name):
    path = data_dir / name
    analog, raw_values, scaled = _decode_c3d(path)
    rec = _quiet_read(path, channels="all", rename=False)
    n = scaled.shape[1]
    unit = np.array([UNIT_TO_V.get(u, 1.0) for u in analog["UNITS"][: scaled.shape[0]]])
    got = rec.get_data(unit=None)[:, :n]
    np.testing.assert_allclose(got, scaled * unit[:, None], rtol=1e-6, atol=0)
    if name == QUALISYS:
        # EMG channels carry SCALE = 1e-6: the stored floats are NOT volts until scaled.
        emg = [i for i, lab in enumerate(analog["LABELS"]) if lab.startswith("EMG")]
        assert np.allclose(np.asarray(analog["SCALE"])[emg], 1e-6)
        assert not np.allclose(raw_values[emg], scaled[emg])


@pytest.mark.realdata
def test_ezc3d_applies_scale_itself(data_dir):
    """ezc3d's analogs are already (raw - offset) * scale * gen_scale (documented in c3d.py)."""
    path = data_dir / QUALISYS
    _, raw_values, scaled = _decode_c3d(path)
    ez = ezc3d.c3d(str(path))["data"]["analogs"][0][:, : scaled.shape[1]]
    np.testing.assert_allclose(ez, scaled, rtol=1e-6)


@pytest.mark.realdata
def test_vicon_delsys(data_dir):
    path = data_dir / VICON
    rec = _quiet_read(path)
    assert rec.sfreq == 2000.0
    assert rec.n_samples == 11600
    assert len(rec.ch_names) == 32
    assert "Delt_ant.EMG1" in rec.ch_names and "Gd_dors.IM EMG13" in rec.ch_names
    assert not any(n.startswith("Voltage") for n in rec.ch_names)
    assert set(rec.channels["type"]) == {"emg"} and set(rec.channels["unit"]) == {"V"}
    assert rec.meta["point_rate"] == 100.0  # analog rate differs from the point rate
    c = ezc3d.c3d(str(path))
    labels = c["parameters"]["ANALOG"]["LABELS"]["value"]
    expected = c["data"]["analogs"][0][[labels.index(n) for n in rec.ch_names]]
    np.testing.assert_allclose(rec.get_data(unit=None), expected, rtol=1e-12)
    everything = _quiet_read(path, channels="all")
    assert len(everything.ch_names) == 38
    volts = everything.channels.set_index("name").loc["Voltage.1"]
    assert volts["type"] == "misc" and volts["unit"] == "V"


@pytest.mark.realdata
def test_channel_list_keeps_order_and_types(data_dir):
    path = data_dir / VICON
    rec = _quiet_read(path, channels=["Trap_sup.EMG6", "Delt_ant.EMG1", "Voltage.2"],
                      channel_map={"Trap_sup.EMG6": "L_ES"})
    assert rec.ch_names == ["L_ES", "Delt_ant.EMG1", "Voltage.2"]
    assert list(rec.channels["muscle"])[0] == "ES"
    with pytest.raises(ChannelError, match="no analog channel labelled"):
        read_c3d(path, channels=["Nope"])


@pytest.mark.realdata
def test_bts_emg_in_mv(data_dir):
    path = data_dir / BTS
    rec = _quiet_read(path)
    assert rec.sfreq == 1000.0 and rec.n_samples == 6750
    assert rec.ch_names == [
        "Left Rectus femoris", "Right Rectus femoris", "Left Semimembranosus", "Right Semimembranosus",
        "Left Tibialis anterior", "Right Tibialis anterior", "Left Gastrocnemius medialis",
        "Right Gastrocnemius medialis",
    ]
    c = ezc3d.c3d(str(path))
    analog = c["parameters"]["ANALOG"]
    idx = [analog["LABELS"]["value"].index(n) for n in rec.ch_names]
    assert {analog["UNITS"]["value"][i] for i in idx} == {"mV"}
    np.testing.assert_allclose(rec.get_data(unit=None), c["data"]["analogs"][0][idx] * 1e-3, rtol=1e-12)
    everything = _quiet_read(path, channels="all")
    assert len(everything.ch_names) == 44
    assert everything.channels.set_index("name").loc["Mx1", "unit"] == "Nmm"


@pytest.mark.realdata
def test_qualisys_emg_and_events(data_dir):
    path = data_dir / QUALISYS
    rec = _quiet_read(path)
    assert rec.sfreq == 2000.0 and rec.n_samples == 3400
    assert rec.ch_names == [f"EMG {i}" for i in range(1, 17)]
    c = ezc3d.c3d(str(path))
    labels = c["parameters"]["ANALOG"]["LABELS"]["value"]
    expected = c["data"]["analogs"][0][[labels.index(n) for n in rec.ch_names]]
    np.testing.assert_allclose(rec.get_data(unit=None), expected, rtol=1e-12)
    # events: TIMES in seconds from frame 1; the file starts at frame 705 of 200 Hz
    ev = c["parameters"]["EVENT"]
    t = np.asarray(ev["TIMES"]["value"])
    expected_onsets = t[0] * 60 + t[1] - (705 - 1) / 200.0
    phases = rec.phases
    assert list(phases["phase"]) == ev["LABELS"]["value"]
    np.testing.assert_allclose(phases["onset"], expected_onsets, atol=0.5 / rec.sfreq)
    assert rec.meta["first_frame"] == 705


@pytest.mark.parametrize(
    "label, unit, expected",
    [
        ("EMG 1", "V", True), ("Delt_ant.EMG1", "V", True), ("Sensor 2.IM EMG2", "V", True),
        ("Right Rectus femoris", "mV", True), ("Left Multifidus L5", "V", True),
        ("Subject:L_ES.EMG3", "V", True), ("Voltage.1", "V", False), ("Fz1", "N", False),
        ("Mx1", "Nmm", False), ("Sync", "V", False), ("EMG 3", "N", False), ("Channel_08", "V", False),
        ("Femg", "V", False),
    ],
)
def test_is_emg_channel(label, unit, expected):
    assert is_emg_channel(label, unit) is expected
