"""paraspinal.report: an offline HTML report from Jinja2 templates, incremental, fast."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from study_helpers import make_study

from paraspinal.errors import ReadError
from paraspinal.report import group_values, write_report
from paraspinal.study import run_study


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = make_study(tmp_path_factory.mktemp("rep") / "bids", n_controls=3, n_patients=3, tasks=("frt", "static"),
                      task_options={"frt": {"protocol_options": {"n_cycles": 2}}})
    # one broken recording, so the report has a failure to show
    broken = root / "sub-06" / "emg" / "sub-06_task-static_emg.edf"
    broken.write_bytes(broken.read_bytes()[:1000])
    o = tmp_path_factory.mktemp("rep") / "out"
    res = run_study(root, o, jobs=1, report=False, progress=False)
    assert res.n_failed == 1
    return o


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


def _links(page: Path) -> list[str]:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p.links


def test_report_pages_and_offline(out):
    t = time.perf_counter()
    index = write_report(out, force=True)
    elapsed = time.perf_counter() - t
    assert index == out / "report" / "index.html"
    assert elapsed < 20
    pages = sorted((out / "report" / "subjects").glob("sub-*.html"))
    assert [p.name for p in pages] == [f"sub-0{i}.html" for i in range(1, 7)]
    for page in [index, *pages]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[a-z]", text.replace("file://", "")), f"network reference in {page}"
        for link in _links(page):
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), f"{page.name}: broken link {link}"
    imgs = list((out / "report" / "img").rglob("*.png"))
    assert imgs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in imgs)
    text = index.read_text()
    for word in ("Failures", "Signal quality", "Group comparisons", "sub-06_task-static_emg.edf", "truncated"):
        assert word in text
    assert {"group_err.png", "group_frr.png", "group_fer.png", "group_rms.png"} <= {p.name for p in imgs}
    sub = (out / "report" / "subjects" / "sub-01.html").read_text()
    assert "envelopes.png" in sub and "frp.png" in sub and "Signal quality" in sub and "err" in sub


def test_report_is_incremental(out):
    write_report(out, force=True)
    page = out / "report" / "subjects" / "sub-02.html"
    m0 = page.stat().st_mtime_ns
    time.sleep(0.01)
    t = time.perf_counter()
    write_report(out)
    assert time.perf_counter() - t < 2.0
    assert page.stat().st_mtime_ns == m0
    write_report(out, force=True)
    assert page.stat().st_mtime_ns != m0


def test_group_values(out):
    feats = pd.read_parquet(out / "features.parquet")
    v = group_values(feats, "err")
    assert set(v["group"]) == {"control", "patient"}
    assert (v["phase"] == "full_flexion").all() and (v["n_channels"] == 3).all()
    one = feats[(feats.subject == "01") & (feats.feature == "err") & feats.cycle.isna()]
    assert v.loc[v.subject == "01", "value"].iat[0] == pytest.approx(one["value"].mean())


def test_report_without_outputs(tmp_path):
    with pytest.raises(ReadError, match="not the output folder"):
        write_report(tmp_path)
