"""The same study on a real dask.distributed LocalCluster (2 worker processes) gives the same bytes."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from study_helpers import make_study

from paraspinal.cli import main as cli
from paraspinal.study import run_study

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=40)
    try:
        yield lc
    finally:
        lc.close()


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("dask") / "bids", n_controls=3, n_patients=3)


def test_dask_equals_local(cluster, study, tmp_path):
    local = tmp_path / "local"
    run_study(study, local, jobs=1, report=False, progress=False)
    res = CliRunner().invoke(cli, ["study", "run", str(study), "-o", str(tmp_path / "dask"),
                                   "--scheduler", cluster.scheduler_address, "-q", "--no-report"])
    assert res.exit_code == 0, res.output
    dask = tmp_path / "dask"
    for name in ("features.parquet", "features.csv", "qc.parquet", "errors.csv"):
        assert (dask / name).read_bytes() == (local / name).read_bytes(), name
    prov = json.loads((dask / "provenance.json").read_text())
    assert prov["scheduler"].startswith("dask.distributed") and "2 workers" in prov["scheduler"]
    assert prov["n_computed"] == 6
    # the tasks really ran in the workers' processes, not in this (the client's) process
    pids = {r["worker"]["pid"] for r in prov["recordings"]}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_dask_failures_and_cache(cluster, study, tmp_path):
    man = tmp_path / "m" / "manifest.csv"
    man.parent.mkdir()
    files = sorted(study.glob("sub-*/emg/*_emg.edf"))
    (man.parent / "empty.edf").write_bytes(b"")
    man.write_text("path,subject,group,task\n" + "".join(f"{f},S{i},control,frt\n" for i, f in enumerate(files[:2]))
                   + "empty.edf,E,patient,frt\n")
    out = tmp_path / "o"
    with distributed.Client(cluster.scheduler_address) as client:
        res = run_study(man.parent, out, scheduler=client, report=False, progress=False)
        assert (res.n_ok, res.n_failed, res.exit_code) == (2, 1, 1)
        again = run_study(man.parent, out, scheduler=client, report=False, progress=False)
        assert (again.n_cached, again.n_computed) == (2, 1)
