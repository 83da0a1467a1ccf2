"""The feature registry: families, their inputs, their features, and the documentation table."""

import importlib
import warnings
from pathlib import Path

import numpy as np
import pytest

from paraspinal import features, synth
from paraspinal.errors import ParameterError
from paraspinal.features import FEATURES, feature_table_markdown
from paraspinal.features.base import INPUTS
from paraspinal.features.context import build_context
from paraspinal.features.registry import FAMILIES, wanted

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_families_describe_themselves():
    names = [fam.name for fam in FAMILIES]
    assert len(names) == len(set(names))
    for fam in FAMILIES:
        assert fam.features, fam.name
        assert {f.family for f in fam.features} == {fam.name}
        assert set(fam.needs) <= set(INPUTS), fam.name
    # FEATURES is the families' features, in family order, each name once
    listed = [f.name for fam in FAMILIES for f in fam.features]
    assert listed == list(FEATURES) and len(listed) == len(set(listed))


def test_every_family_module_is_registered():
    folder = Path(features.__file__).parent / "families"
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    registered = {fam.rows.__module__.rsplit(".", 1)[-1] for fam in FAMILIES}
    assert modules == registered
    for m in modules:
        mod = importlib.import_module(f"paraspinal.features.families.{m}")
        assert mod.FEATURES and callable(mod.rows)


def test_docs_table_is_the_registry():
    assert feature_table_markdown() in (DOCS / "features.md").read_text(encoding="utf-8"), \
        "docs/features.md: paste paraspinal.features.feature_table_markdown() under 'Feature registry'"
    assert feature_table_markdown().count("\n") == len(FEATURES) + 1


@pytest.fixture(scope="module")
def rec():
    sim = synth.simulate("frt", "patient", sfreq=1000, seed=4, ecg=False, powerline=None,
                         channels=("L_LT", "R_LT", "L_RA", "R_RA"))
    return sim.recording


def test_context_computes_only_what_is_needed(rec):
    opts = dict(features.compute.__kwdefaults__)
    ctx = build_context(rec, rec.emg_names, None, {"mnf"}, opts, {"psd"})
    assert ctx.env is None and ctx.sumsq is None and ctx.angle is None and not ctx.fat_res
    assert ctx.psd.shape[:2] == (4, len(ctx.seg)) and ctx.nwin.sum() > 0
    full = build_context(rec, rec.emg_names, None, {"rms"}, opts, set(INPUTS))
    assert full.env.shape == (4, full.centres.size) and full.angle is not None
    # the pooled RMS of a group is the RMS of its samples (an independent computation)
    ii = full.groups[("extension", 2)]
    a, b = full.seg[ii[0]]
    x = rec.emg("uV", picks=["L_LT"])[0, a:b]
    assert full.rms(ii)[0] == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-12)


def test_each_family_alone_gives_its_rows_of_the_whole_table(rec):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = features.compute(rec)
        for fam in FAMILIES:
            part = features.compute(rec, features=[fam.name])
            own = fam.names(features.compute.__kwdefaults__)
            assert set(part["feature"]) <= own, fam.name
            expect = whole[whole["feature"].isin(own)].reset_index(drop=True)
            if not len(part):  # e.g. no fatigue segment in this protocol
                assert not len(expect), fam.name
                continue
            assert part.equals(expect), fam.name


def test_wanted_names_and_errors():
    fatigue = next(fam for fam in FAMILIES if fam.name == "fatigue")
    assert wanted(["fatigue"], (10, 50, 90)) == {f.name for f in fatigue.features}
    assert wanted(["mdf_slope_pct"], (10, 50, 90)) == {f.name for f in fatigue.features}
    assert "p25" in wanted(None, (25,)) and "p10" not in wanted(None, (25,))
    with pytest.raises(ParameterError, match="unknown feature"):
        wanted(["no_such_feature"], (10,))
