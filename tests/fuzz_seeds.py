"""Small valid files of every format paraspinal reads, for the fuzz tests (not a test module).

Each seed is written by the test itself (no real recording is needed), as small as the format
allows, so that a mutated copy reads in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import paraspinal as ps


def _recording() -> ps.Recording:
    rng = np.random.default_rng(0)
    return ps.Recording.from_array(rng.normal(0, 50, (2, 1000)), 500, ["L_MF", "R_MF"])


def _brainvision(root: Path) -> Path:
    data = (np.random.default_rng(1).normal(0, 500, (200, 2))).astype("<i2")
    (root / "bv.eeg").write_bytes(data.tobytes())
    (root / "bv.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n[Common Infos]\nDataFile=bv.eeg\n[Marker Infos]\n"
        "Mk1=Comment,standing,10,50,0\n")
    vhdr = root / "bv.vhdr"
    vhdr.write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n[Common Infos]\nDataFile=bv.eeg\nMarkerFile=bv.vmrk\n"
        "DataFormat=BINARY\nDataOrientation=MULTIPLEXED\nNumberOfChannels=2\nSamplingInterval=2000\n"
        "[Binary Infos]\nBinaryFormat=INT_16\n[Channel Infos]\nCh1=L_MF,,0.1,µV\nCh2=R_MF,,0.1,µV\n")
    return vhdr


def _c3d(path: Path) -> Path:
    import ezc3d

    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100]
    c["parameters"]["POINT"]["LABELS"]["value"] = ("m1",)
    c["data"]["points"] = np.ones((4, 1, 10))
    c["parameters"]["ANALOG"]["RATE"]["value"] = [1000]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = ("L_MF", "R_MF")
    c.add_parameter("ANALOG", "UNITS", ["V", "V"])
    c["data"]["analogs"] = np.random.default_rng(2).normal(0, 1e-4, (1, 2, 100))
    c.write(str(path))
    return path


def _wfdb(root: Path) -> Path:
    import wfdb

    sig = np.random.default_rng(3).normal(0, 0.2, (500, 1))
    wfdb.wrsamp("rec", fs=1000, units=["mV"], sig_name=["L_MF"], p_signal=sig, fmt=["16"], write_dir=str(root))
    return root / "rec.hea"


def _mat(path: Path) -> Path:
    import scipy.io

    scipy.io.savemat(path, {"data": np.random.default_rng(4).normal(0, 1e-4, (2, 300)), "fs": 1000.0,
                            "labels": np.array(["L_MF", "R_MF"], dtype=object)})
    return path


def _otb(path: Path) -> Path:
    import scipy.io

    labels = [f"Left erector spinae - MULTIPLE IN 1 (Channel 1->4) - GR04MM1305 ({k})[uV]" for k in range(1, 5)]
    desc = np.empty((len(labels), 1), dtype=object)
    for i, lab in enumerate(labels):
        desc[i, 0] = np.array([lab])
    data = np.random.default_rng(5).standard_normal((300, len(labels))).astype(np.float32)
    scipy.io.savemat(path, {"Data": data, "Description": desc, "SamplingFrequency": np.array([[2048]], np.uint16)})
    return path


def _opensignals_h5(path: Path) -> Path:
    import h5py

    counts = np.random.default_rng(6).integers(0, 4096, 300)
    with h5py.File(path, "w") as f:
        g = f.create_group("00:07:80:00:00:09")
        g.attrs.update({"sampling rate": 1000, "resolution": np.array([12], dtype=np.int32),
                        "channels": np.array([1], dtype=np.int32), "device": "biosignalsplux",
                        "date": "2022-12-01", "time": "13:14:15.5", "nsamples": len(counts)})
        ds = g.create_dataset("raw/channel_1", data=counts.reshape(-1, 1).astype(np.uint16))
        ds.attrs.update({"label": "CH1", "sensor": "EMG"})
        g.create_dataset("raw/nSeq", data=np.arange(len(counts)).reshape(-1, 1).astype(np.uint16))
    return path


def _opensignals_txt(path: Path) -> Path:
    head = {"00:07:80:D8:A8:82": {"sensor": ["EMG"], "column": ["nSeq", "DI", "CH1"], "sampling rate": 1000,
                                  "label": ["CH1"], "resolution": [16], "device": "biosignalsplux",
                                  "convertedValues": 0, "date": "2019-10-14", "time": "16:52:39.448"}}
    rows = "\n".join(f"{i}\t0\t{32768 + (i * 37) % 200}" for i in range(300))
    path.write_text(f"# OpenSignals Text File Format. Version 1\n# {json.dumps(head)}\n# EndOfHeader\n{rows}\n")
    return path


def _delsys(path: Path) -> Path:
    n, fs = 300, 1259.259259
    lines = ["Label: Mini sensor 1: EMG 1 Sampling frequency: 1.259259e+003 Number of points: 300 start: "
             "0.000000e+000 Unit: V Domain Unit: s", "", "X[s],Mini sensor 1: EMG 1"]
    lines += [f"{i / fs:.10f},{np.sin(i) * 1e-4:.8e}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _vicon(path: Path) -> Path:
    lines = ["Devices", "1000", ",,Delsys - EMG1,Delsys - EMG2", "Frame,Sub Frame,EMG1,EMG2", ",,V,V"]
    lines += [f"{i // 10 + 1},{i % 10},{np.sin(i) * 1e-4:.6e},{np.cos(i) * 1e-4:.6e}" for i in range(300)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _text(path: Path) -> Path:
    lines = ["time,L_MF,R_MF"] + [f"{i / 1000:.3f},{np.sin(i) * 1e-4:.6e},{np.cos(i) * 1e-4:.6e}" for i in range(300)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _biosppy(path: Path) -> Path:
    path.write_text("# Sampling Rate (Hz):= 1000.00\n# Resolution:= 12\n# Labels:= EMG\n"
                    + "\n".join(str(2000 + (i * 53) % 300) for i in range(300)) + "\n")
    return path


#: Reader options a seed needs (the MATLAB seed names its variables).
OPTIONS: dict[str, dict] = {"matlab": {"variables": {"data": "data", "sfreq": "fs", "ch_names": "labels"}}}


def write_seeds(root: Path) -> dict[str, Path]:
    """``{format name: path}`` of one small valid file of every format in ``paraspinal.io.FORMATS``
    (and a BioSPPy text file under ``"text_counts"``), each in its own folder under ``root``."""
    def folder(name: str) -> Path:
        p = root / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    rec = _recording()
    seeds = {}
    for fmt in ("edf", "bdf", "fif"):
        path = folder(fmt) / f"seed.{fmt}"
        rec.save(path)
        seeds[fmt] = path
    seeds["brainvision"] = _brainvision(folder("brainvision"))
    seeds["c3d"] = _c3d(folder("c3d") / "seed.c3d")
    seeds["wfdb"] = _wfdb(folder("wfdb"))
    seeds["otb_mat"] = _otb(folder("otb_mat") / "seed.mat")
    seeds["matlab"] = _mat(folder("matlab") / "seed.mat")
    seeds["opensignals_h5"] = _opensignals_h5(folder("opensignals_h5") / "seed.h5")
    seeds["opensignals_txt"] = _opensignals_txt(folder("opensignals_txt") / "seed.txt")
    seeds["delsys"] = _delsys(folder("delsys") / "seed.csv")
    seeds["vicon_csv"] = _vicon(folder("vicon_csv") / "seed.csv")
    seeds["text"] = _text(folder("text") / "seed.csv")
    seeds["text_counts"] = _biosppy(folder("text_counts") / "seed.txt")
    return seeds
