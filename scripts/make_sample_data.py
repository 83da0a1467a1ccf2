"""Regenerate the bundled synthetic sample study in ``sample_data/`` (bit for bit).

Usage::

    python scripts/make_sample_data.py [OUT]      # default: sample_data/ beside this folder

The study: 6 controls and 6 low-back-pain patients ("mixed" guarding signs), seed 2026,
1000 Hz, 50 Hz mains, six EMG channels (L/R longissimus, L/R multifidus, L/R rectus
abdominis) plus an ECG lead and the trunk angle, two tasks: a 3-cycle flexion-relaxation
test (45 s) and static postures (standing, sitting, prone, 6 s each with 2-s posture
changes, 22 s). See sample_data/README.md.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

from paraspinal import datasets, synth

#: The packages whose versions decide the bytes of the sample study (random streams, EDF
#: and sidecar writers). Recorded in derivatives/groundtruth/generated_with.json.
BYTE_DEFINING = ("paraspinal", "numpy", "scipy", "mne", "mne-bids", "edfio")


def installed_versions() -> dict[str, str]:
    """Versions of the packages in :data:`BYTE_DEFINING` installed here."""
    return {name: version(name) for name in BYTE_DEFINING}

#: Everything that defines the sample study (the package keeps it: ps.datasets.SAMPLE_STUDY).
SAMPLE_STUDY = datasets.SAMPLE_STUDY

README = """\
# paraspinal sample study (SYNTHETIC DATA)

Everything in this folder is **synthetic**: made by `paraspinal.synth`, not recorded from
people. It is for demos, tutorials and tests of the `paraspinal` toolkit, never for clinical
or scientific conclusions about low-back pain.

## How it was made

`scripts/make_sample_data.py` calls `paraspinal.synth.write_study` with:

- 6 controls (`sub-01` to `sub-06`) and 6 low-back-pain patients (`sub-07` to `sub-12`);
  patients show a random mix of the guarding signs of METHODS.md section 2.3 (elevated
  static activity, loss of flexion-relaxation, extension deficit, antagonist co-activation,
  asymmetry, reduced variability, spasm-like bursts, reduced range of motion), each with its
  own strength; `derivatives/groundtruth/subjects.tsv` lists them;
- seed 2026, sampling rate 1000 Hz (enough for the 20-450 Hz EMG band and small enough to
  keep the folder under 15 MB), 50 Hz powerline interference with harmonics;
- channels: `L_LT`, `R_LT` (longissimus), `L_MF`, `R_MF` (multifidus), `L_RA`, `R_RA`
  (rectus abdominis), an `ECG` lead and `TRUNK_ANGLE` (degrees from vertical). Iliocostalis
  and external oblique are left out to keep the size down (`write_study` can make them);
- tasks: `frt`, the standing flexion-relaxation test (3 cycles of standing, flexion, full
  flexion, extension, standing, 3 s each: 45 s) and `static`, static postures (standing,
  sitting, prone, 6 s each, joined by 2-s unlabelled posture changes: 22 s);
- each EMG channel = activation profile x Shwedyk-spectrum Gaussian noise (f_l = 40,
  f_h = 80 Hz, scaled per subject) + 1 uV amplifier noise + volume-conducted ECG + powerline +
  baseline wander + movement artefacts at phase changes (METHODS.md section 9.1).

## What it holds

A BIDS-EMG dataset: `participants.tsv` (with a `group` column: control / patient),
`sub-XX/emg/sub-XX_task-{frt,static}_emg.edf` with `_channels.tsv`, `_events.tsv` (phases)
and `_emg.json`, and, as a BIDS derivative, the ground truth of every recording in
`derivatives/groundtruth/sub-XX/emg/sub-XX_task-*_groundtruth.json`: phase boundaries,
trunk angles, true RMS activation per channel and phase, true mean-based FRR / ERR / FER and
FRP presence, analytic median and mean frequencies, R-peak times, inserted bursts and
artefacts, powerline and baseline parameters, and the subject profile.

## Regenerate

    python scripts/make_sample_data.py

rewrites this folder bit for bit with the package versions listed in
`derivatives/groundtruth/generated_with.json` (`tests/test_synth_study.py` checks it; with
other versions of those packages the bytes may differ, and the test says to regenerate).
"""


def main(argv: list[str] | None = None) -> Path:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "sample_data"
    synth.write_study(out, overwrite=True, readme=README, **SAMPLE_STUDY)
    (out / "derivatives" / "groundtruth" / "generated_with.json").write_text(
        json.dumps(installed_versions(), indent=2, sort_keys=True) + "\n")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 1e6:.2f} MB)")
    return out


if __name__ == "__main__":
    main()
