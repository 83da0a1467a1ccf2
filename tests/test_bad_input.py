"""Bad input is never silently wrong and never blows up (issue 20): reading and options.

Each test is one case of the adversarial run: the input, and what paraspinal must give for it
(a ``paraspinal.errors`` exception naming the file, or a ParaspinalWarning and a result that
says what was done). The study-level cases are in ``test_study_bad_input.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import paraspinal as ps
from paraspinal.cli import main
from paraspinal.errors import ParaspinalError, ParaspinalWarning

SUFFIXES = sorted({s for f in ps.io.FORMATS for s in f.suffixes} | {".dat", ".bin", ""})


# ----------------------------------------------------------------------------- 7. a BOM alone
@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", b"\xbb", b"\xef\xbb\xbf\n", b"\xff\xfe"])
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_bom_only_file_is_a_project_error_for_every_suffix(tmp_path, content, suffix):
    p = tmp_path / f"rec{suffix}"
    p.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParaspinalWarning)
        with pytest.raises(ParaspinalError) as info:
            ps.read(p)
    assert p.name in str(info.value)


def test_bom_only_file_info_shows_no_traceback(tmp_path):
    p = tmp_path / "rec.csv"
    p.write_bytes(b"\xef\xbb\xbf")
    res = CliRunner().invoke(main, ["info", str(p)])
    assert res.exit_code == 2
    assert "Traceback" not in res.output and "rec.csv" in res.output
