"""OpenSignals text and HDF5: synthetic files with known counts, and the biosignalsnotebooks samples."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import paraspinal as ps
from paraspinal.errors import FormatError, ParaspinalWarning, SamplingRateError

h5py = pytest.importorskip("h5py")
pytestmark = pytest.mark.filterwarnings("ignore::paraspinal.errors.ParaspinalWarning")


def _emg_volts(counts, bits, vcc, gain):
    """EMG sensor transfer function (PLUX EMG sensor data sheets), written independently."""
    return (np.asarray(counts, dtype=float) / (2**bits) - 0.5) * vcc / gain


def _txt(tmp_path, header: dict, rows, name="os.txt", raw_header=None):
    head = raw_header if raw_header is not None else json.dumps(header)
    body = "\n".join("\t".join(str(int(v)) for v in r) + "\t" for r in rows)
    p = tmp_path / name
    p.write_text(f"# OpenSignals Text File Format. Version 1\n# {head}\n# EndOfHeader\n{body}\n")
    return p


def _plux_header(device="biosignalsplux", rate=1000, sensors=("EMG", "ACC"), res=16):
    labels = [f"CH{i + 1}" for i in range(len(sensors))]
    return {"00:07:80:00:00:01": {
        "sensor": list(sensors), "device": device, "column": ["nSeq", "DI", *labels], "label": labels,
        "sampling rate": rate, "resolution": [res] * len(sensors), "date": "2021-3-4", "time": "9:05:01.25",
        "position": 0, "convertedValues": 0,
    }}


def test_txt_plux_emg_volts_other_sensor_counts(tmp_path, rng):
    counts = rng.integers(30000, 35000, (2, 500))
    rows = np.column_stack([np.arange(500) % 16, np.zeros(500), counts.T])
    p = _txt(tmp_path, _plux_header(), rows)
    with pytest.warns(ParaspinalWarning, match="counts"):
        rec = ps.read(p)
    assert rec.meta["format"] == "opensignals_txt" and rec.sfreq == 1000
    assert rec.ch_names == ["CH1", "CH2"]
    assert rec.channels["type"].tolist() == ["emg", "misc"]
    assert rec.channels["unit"].tolist() == ["V", "counts"]
    np.testing.assert_allclose(rec.get_data(unit=None)[0], _emg_volts(counts[0], 16, 3.0, 1000), rtol=1e-12)
    np.testing.assert_array_equal(rec.get_data(unit=None)[1], counts[1])
    assert rec.meta["recording_datetime"] == "2021-03-04T09:05:01.250000"


def test_txt_bitalino_family_and_column_aligned_resolution(tmp_path, rng):
    counts = rng.integers(0, 1024, 300)
    header = {"20:16:07:18:14:01": {
        "sensor": ["EMG"], "device": "bitalino_rev", "column": ["nSeq", "I1", "I2", "O1", "O2", "A1"],
        "label": ["A1"], "sampling rate": 1000, "resolution": [4, 1, 1, 1, 1, 10], "date": "2020-1-1",
        "time": "10:00:00.0"}}
    rows = np.column_stack([np.arange(300) % 16, np.zeros((300, 4)), counts])
    rec = ps.read(_txt(tmp_path, header, rows))
    np.testing.assert_allclose(rec.get_data(unit=None)[0], _emg_volts(counts, 10, 3.3, 1009), rtol=1e-12)
    forced = ps.read(_txt(tmp_path, header, rows), transfer="plux")
    np.testing.assert_allclose(forced.get_data(unit=None)[0], _emg_volts(counts, 10, 3.0, 1000), rtol=1e-12)


def test_error_malformed_json_header(tmp_path):
    p = _txt(tmp_path, {}, [[0, 0, 1]], raw_header='{"00:07:80": {"sensor": ["EMG"], "column": [')
    with pytest.raises(FormatError, match="JSON header on line 2 is malformed") as e:
        ps.read(p)
    assert str(p) in str(e.value) and e.value.__cause__ is not None


def test_error_json_header_lacks_keys(tmp_path):
    p = _txt(tmp_path, {"00:07": {"sensor": ["EMG"]}}, [[0, 0, 1]])
    with pytest.raises(FormatError, match="no 'column'"):
        ps.read(p)


def test_error_devices_at_different_rates(tmp_path):
    a = _plux_header(sensors=("EMG",))
    b = {"00:07:80:00:00:02": dict(a["00:07:80:00:00:01"], **{"sampling rate": 500, "position": 1})}
    p = _txt(tmp_path, {**a, **b}, [[0, 0, 1, 0, 0, 2]] * 5)
    with pytest.raises(SamplingRateError, match="different rates"):
        ps.read(p)
    rec = ps.read(p, device="00:07:80:00:00:02")
    assert rec.sfreq == 500 and rec.n_samples == 5


def _h5(tmp_path, counts, *, device="biosignalsplux", res=16, name="os.h5"):
    p = tmp_path / name
    with h5py.File(p, "w") as f:
        g = f.create_group("00:07:80:00:00:09")
        g.attrs.update({"sampling rate": 2000, "resolution": np.array([res], dtype=np.int32),
                        "channels": np.array([3], dtype=np.int32), "device": device,
                        "date": "2022-12-01", "time": "13:14:15.5", "nsamples": len(counts)})
        ds = g.create_dataset("raw/channel_3", data=counts.reshape(-1, 1).astype(np.uint16))
        ds.attrs.update({"label": "PORT3_CHN1", "sensor": "EMG"})
        g.create_dataset("raw/nSeq", data=np.arange(len(counts)).reshape(-1, 1).astype(np.uint16))
    return p


def test_h5_synthetic(tmp_path, rng):
    counts = rng.integers(0, 4096, 1000)
    rec = ps.read(_h5(tmp_path, counts, res=12))
    assert rec.meta["format"] == "opensignals_h5" and rec.sfreq == 2000 and rec.ch_names == ["PORT3_CHN1"]
    np.testing.assert_allclose(rec.get_data(unit=None)[0], _emg_volts(counts, 12, 3.0, 1000), rtol=1e-12)
    assert rec.meta["recording_datetime"] == "2022-12-01T13:14:15.500000"


def test_h5_without_device_groups_is_format_error(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    with pytest.raises(FormatError, match="OpenSignals"):
        ps.read(p)


# ----------------------------------------------------------------------------- real files
H5 = {  # name: (samples, resolution, label, device family VCC, gain)
    "emg_fatigue.h5": (126_900, 12, "CH2", 3.0, 1000.0),
    "emg_bursts.h5": (28_519, 16, "PORT3_CHN1", 3.0, 1000.0),
    "emg_1000_hz_16_bits_solo.h5": (87_600, 16, "PORT1_CHN1", 3.0, 1000.0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(H5))
def test_real_h5(data_dir, name):
    n, bits, label, vcc, gain = H5[name]
    f = data_dir / "biosignalsnotebooks" / name
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    rec = ps.read(f)
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before
    with h5py.File(f, "r") as h:
        (mac,) = list(h.keys())
        dev = h[mac]
        (ch,) = [k for k in dev["raw"] if k.startswith("channel_")]
        counts = dev["raw"][ch][:, 0].astype(float)
        assert int(dev.attrs["resolution"][0]) == bits and int(dev.attrs["sampling rate"]) == 1000
    assert rec.sfreq == 1000 and rec.n_samples == n == counts.size
    assert rec.ch_names == [label] and rec.channels["type"].tolist() == ["emg"]
    assert rec.channels["unit"].tolist() == ["V"]
    idx = [0, 1, n // 3, n - 1]
    np.testing.assert_allclose(rec.get_data(unit=None)[0, idx], _emg_volts(counts[idx], bits, vcc, gain), rtol=1e-12)
    assert rec.meta["recording_datetime"].startswith(str(dev_date(f)))


def dev_date(f):
    with h5py.File(f, "r") as h:
        (mac,) = list(h.keys())
        y, m, d = (int(x) for x in str(h[mac].attrs["date"]).split("-"))
    return f"{y:04d}-{m:02d}-{d:02d}"


@pytest.mark.realdata
def test_real_opensignals_txt(data_dir):
    f = data_dir / "biosignalsnotebooks" / "emg_1000_hz_16_bits_solo.txt"
    lines = f.read_text().splitlines()
    header = json.loads(lines[1][2:])
    (spec,) = header.values()
    ref = np.loadtxt(f, comments="#")
    assert ref.shape == (87_600, 3)
    rec = ps.read(f)
    assert rec.sfreq == spec["sampling rate"] == 1000
    assert rec.ch_names == spec["label"] == ["PORT1_CHN1"] and rec.n_samples == 87_600
    np.testing.assert_allclose(rec.get_data(unit=None)[0], _emg_volts(ref[:, 2], 16, 3.0, 1000), rtol=1e-12)
    assert rec.meta["recording_datetime"] == "2019-10-14T16:52:39.448000"
    # the HDF5 twin holds the same samples
    twin = ps.read(data_dir / "biosignalsnotebooks" / "emg_1000_hz_16_bits_solo.h5")
    np.testing.assert_array_equal(twin.get_data(unit=None), rec.get_data(unit=None))
