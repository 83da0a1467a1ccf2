"""HTML report of a study run: overview, group comparisons, one page per subject.

:func:`write_report` reads what ``paraspinal study run`` wrote to ``OUT`` (``features.parquet``,
``qc.parquet``, ``errors.csv``, ``provenance.json`` and the per-recording envelopes kept in
``OUT/cache``) and writes::

    OUT/report/index.html              overview: recordings, QC summary, failures, group plots
    OUT/report/subjects/sub-XX.html    per subject: phase-shaded envelopes, flexion-relaxation
                                       plot (envelope with trunk angle), QC table, features
    OUT/report/img/*.png               the figures (matplotlib, Agg backend)

Pages come from Jinja2 templates (``paraspinal/templates``), link only to local files and
load nothing from the network: the folder opens from disk in any browser and can be zipped
and sent. Every file is written atomically. Subject pages are regenerated only when the
cache entries of that subject's recordings change (``report/.state.json``).

Group plots show per-subject values (mean over the extensor channels, all-cycles rows) as
box plots with the individual subjects overlaid, controls beside patients. They describe a
research sample; they are not a diagnostic test.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._files import atomic_path
from ._version import __version__
from ._workers import available_cpus, init_worker, single_thread_env
from .channels import EXTENSORS
from .errors import ReadError

__all__ = ["write_report", "KEY_FEATURES", "group_values"]

#: Features shown as group comparisons (per task and phase where they exist).
KEY_FEATURES: tuple[str, ...] = ("err", "frr", "fer", "rms")
_REPORT_VERSION = 2
_PARALLEL_PAGES = 16
_GROUP_ORDER = ("control", "patient")
_GROUP_COLORS = {"control": "#2b7bba", "patient": "#d9534f"}
_PHASE_COLORS = {
    "standing": "#d9ead3", "sitting": "#d0e0e3", "prone": "#d9d2e9", "rest": "#eeeeee",
    "full_flexion": "#f4cccc", "sorensen_hold": "#ead1dc", "flexion": "#fff2cc", "extension": "#cfe2f3",
    "lifting": "#fce5cd", "lowering": "#c9daf8", "walking": "#e6e6e6", "mvc": "#f9cb9c", "rvc": "#ffe599",
}


@functools.lru_cache(maxsize=1)
def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("paraspinal", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["num"] = _num
    return env


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return str(v)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text))


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _save_fig(fig: Any, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80, pil_kwargs={"compress_level": 3})


def _figure(w: float, h: float, *, margins: tuple[float, float, float, float] | None = None) -> Any:
    """A pyplot-free Figure; ``margins`` (left, right, bottom, top in inches) skip the slower constrained layout."""
    from matplotlib.figure import Figure

    if margins is None:
        return Figure(figsize=(w, h), layout="constrained")
    fig = Figure(figsize=(w, h))
    left, right, bottom, top = margins
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h)
    return fig


# ----------------------------------------------------------------------------- data
def _group_sort(g: Any) -> tuple:
    if g is None or (isinstance(g, float) and np.isnan(g)):
        return (2, "")
    return (0, _GROUP_ORDER.index(g)) if g in _GROUP_ORDER else (1, str(g))


def group_values(features: pd.DataFrame, feature: str, *, muscles: Iterable[str] = EXTENSORS) -> pd.DataFrame:
    """Per-subject values of one feature for group comparisons.

    Takes the rows of ``feature`` on single channels of the given muscles, pooled over
    cycles (``cycle`` missing), and averages over channels (and runs) per subject, task
    and phase.

    Parameters
    ----------
    features : pandas.DataFrame
        The study's tidy feature table.
    feature : str
        Feature name (``"err"``, ``"rms"``, ...).
    muscles : iterable of str
        Muscle codes to average over (default: the trunk extensors).

    Returns
    -------
    pandas.DataFrame
        ``subject, group, task, phase, value, unit, n_channels``.
    """
    muscles = set(muscles)
    f = features[(features["feature"] == feature) & features["cycle"].isna()
                 & features["muscle"].isin(muscles) & ~features["channel"].str.contains("|", regex=False)]
    if not len(f):
        return pd.DataFrame(columns=["subject", "group", "task", "phase", "value", "unit", "n_channels"])
    f = f.assign(group=f["group"].fillna("(none)"), task=f["task"].fillna("(none)"))
    out = (f.groupby(["subject", "group", "task", "phase", "unit"], dropna=False, sort=True)["value"]
           .agg(value="mean", n_channels="size").reset_index())
    return out[["subject", "group", "task", "phase", "value", "unit", "n_channels"]]


def _group_figure(vals: pd.DataFrame, feature: str, path: Path) -> list[dict[str, Any]]:
    """Box + strip plots of one feature, one panel per (task, phase); returns the summary rows."""
    panels = sorted({(t, p) for t, p in zip(vals["task"], vals["phase"])})
    n = len(panels)
    ncol = min(4, n)
    nrow = -(-n // ncol)
    # wide enough for the title even with one panel
    fig = _figure(max(2.6 * ncol + 0.4, 4.6), 2.4 * nrow + 0.4)
    groups = sorted(vals["group"].unique(), key=_group_sort)
    rng = np.random.default_rng(0)
    summary = []
    for i, (task, phase) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        sub = vals[(vals["task"] == task) & (vals["phase"] == phase)]
        data = [sub.loc[sub["group"] == g, "value"].to_numpy(float) for g in groups]
        pos = np.arange(1, len(groups) + 1)
        keep = [k for k, d in enumerate(data) if len(d)]
        if keep:
            ax.boxplot([data[k] for k in keep], positions=pos[keep], widths=0.5, showfliers=False,
                       medianprops={"color": "k"})
        for k, (g, d) in enumerate(zip(groups, data)):
            x = pos[k] + rng.uniform(-0.12, 0.12, len(d))
            ax.scatter(x, d, s=14, alpha=0.8, color=_GROUP_COLORS.get(g, "#777777"), zorder=3)
            if len(d):
                summary.append({"feature": feature, "task": task, "phase": phase, "group": g, "n": len(d),
                                "mean": float(np.mean(d)), "sd": float(np.std(d, ddof=1)) if len(d) > 1 else None,
                                "median": float(np.median(d)), "unit": sub["unit"].iat[0]})
        ax.set_xticks(pos)
        ax.set_xticklabels(groups, fontsize=8)
        ax.set_title(f"{task} / {phase}", fontsize=9)
        unit = sub["unit"].iat[0] if len(sub) else ""
        ax.set_ylabel(f"{feature} [{unit}]" if unit and unit != "1" else feature, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{feature}: per-subject mean over extensor channels", fontsize=10 if ncol > 1 else 9)
    _save_fig(fig, path)
    return summary


def _read_outputs(out: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    prov_path = out / "provenance.json"
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReadError("no provenance.json: this is not the output folder of `paraspinal study run`", file=out,
                        hint="run `paraspinal study run STUDY -o OUT` first, then `paraspinal study report OUT`"
                        ) from None
    except ValueError as err:
        raise ReadError(f"provenance.json is not valid JSON: {err}", file=prov_path,
                        hint="re-run `paraspinal study run` to rewrite it") from None
    try:
        feats = pd.read_parquet(out / "features.parquet")
        qc = pd.read_parquet(out / "qc.parquet")
        errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise ReadError(f"cannot read the study outputs: {err}", file=out,
                        hint="re-run `paraspinal study run` to rewrite them") from None
    return prov, feats, qc, errors


# ----------------------------------------------------------------------------- subject pages
def _load_display(out: Path, key: str) -> tuple[dict[str, np.ndarray] | None, dict[str, Any] | None]:
    entry = out / "cache" / key[:2] / key
    try:
        with open(entry / "info.json", encoding="utf-8") as fh:
            info = json.load(fh)
        with np.load(entry / "display.npz", allow_pickle=False) as z:
            disp = {k: z[k] for k in z.files}
        return disp, info
    except (OSError, ValueError):
        return None, None


def _shade(ax: Any, phases: Sequence[Mapping[str, Any]], *, label: bool) -> None:
    for p in phases:
        ax.axvspan(p["onset"], p["onset"] + p["duration"], color=_PHASE_COLORS.get(p["phase"], "#f0f0f0"), lw=0,
                   zorder=0)
    if label:
        seen = set()
        for p in phases:
            if p["phase"] not in seen:
                seen.add(p["phase"])
                ax.axvspan(0, 0, color=_PHASE_COLORS.get(p["phase"], "#f0f0f0"), label=p["phase"])


def _envelope_figure(disp: Mapping[str, np.ndarray], info: Mapping[str, Any], title: str, path: Path) -> None:
    """Stacked envelopes (each channel scaled to its 99th percentile) over the shaded phases."""
    t = disp["times"]
    env = disp["envelope"]
    names = [str(c) for c in disp["channels"]]
    fig = _figure(9.0, 0.45 * len(names) + 1.4, margins=(0.2, 2.4, 0.5, 0.35))
    ax = fig.add_subplot(1, 1, 1)
    _shade(ax, info.get("phases", []), label=True)
    for i, (nm, y) in enumerate(zip(names, env)):
        scale = float(np.percentile(y, 99)) if y.size else 1.0
        scale = scale if scale > 0 else 1.0
        off = len(names) - 1 - i
        ax.plot(t, off + 0.9 * y / scale, lw=0.7, color="k")
        ax.text(t[-1] if t.size else 0, off + 0.3, f" {nm} ({scale:.0f} uV)", fontsize=7, va="center")
    ax.set_yticks([])
    ax.set_xlim(0, float(t[-1]) if t.size else 1)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(loc="upper left", bbox_to_anchor=(1.09, 1.0), fontsize=7, frameon=False)
    _save_fig(fig, path)


def _frp_figure(disp: Mapping[str, np.ndarray], info: Mapping[str, Any], title: str, path: Path,
                extensors: Sequence[str]) -> None:
    """Extensor envelopes (uV) with the trunk angle (deg) on a second axis, phases shaded."""
    t = disp["times"]
    names = [str(c) for c in disp["channels"]]
    fig = _figure(9.0, 2.8, margins=(0.7, 2.3, 0.5, 0.35))
    ax = fig.add_subplot(1, 1, 1)
    _shade(ax, info.get("phases", []), label=False)
    for nm, y in zip(names, disp["envelope"]):
        if nm in extensors:
            ax.plot(t, y, lw=0.8, label=nm)
    ax.set_ylabel("RMS envelope (uV)", fontsize=8)
    ax.set_xlabel("time (s)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_xlim(0, float(t[-1]) if t.size else 1)
    if "angle" in disp:
        ax2 = ax.twinx()
        ax2.plot(t, disp["angle"], color="0.3", lw=1.0, ls="--", label="trunk angle")
        ax2.set_ylabel("trunk angle (deg)", fontsize=8)
        ax2.tick_params(labelsize=7)
    ax.legend(loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize=7, frameon=False)
    ax.set_title(title, fontsize=9)
    _save_fig(fig, path)


def _feature_tables(feats: pd.DataFrame) -> list[dict[str, Any]]:
    """Wide views (rows: phase, feature; columns: channels) of the all-cycles rows of each recording."""
    tables = []
    f = feats[feats["cycle"].isna()]
    for (task, session, run), g in f.groupby(["task", "session", "run"], dropna=False, sort=True):
        wide = g.pivot_table(index=["phase", "feature", "unit"], columns="channel", values="value", aggfunc="first",
                             sort=True)
        cols = list(wide.columns)
        rows = [{"phase": ph, "feature": fe, "unit": un, "values": [_num(v) for v in r]}
                for (ph, fe, un), r in zip(wide.index, wide.to_numpy())]
        label = " ".join(f"{k}-{v}" for k, v in (("ses", session), ("task", task), ("run", run))
                         if v is not None and not (isinstance(v, float) and np.isnan(v)))
        tables.append({"label": label, "columns": cols, "rows": rows})
    return tables


def _subject_page(out: Path, rdir: Path, subject: str, recs: list[dict[str, Any]],
                  feats: pd.DataFrame, qc: pd.DataFrame, errors: list[dict[str, Any]], nav: dict,
                  guarding: dict[str, Any] | None = None) -> None:
    env = _env()
    slug = _slug(subject)
    figures = []
    for r in recs:
        if r["status"] != "ok" or not r.get("key"):
            continue
        disp, info = _load_display(out, r["key"])
        name = Path(r["path"]).name.split(".")[0]
        entry = {"name": name, "path": r["path"], "phase_source": r.get("phase_source"), "envelope": None,
                 "frp": None, "note": None}
        if disp is None:
            entry["note"] = "envelopes not available (cache entry missing): re-run `paraspinal study run`"
        else:
            img = f"img/sub-{slug}/{_slug(name)}_envelopes.png"
            _envelope_figure(disp, info, f"{name} (phases: {r.get('phase_source')})", rdir / img)
            entry["envelope"] = "../" + img
            phases = {p["phase"] for p in info.get("phases", [])}
            ext = [c for c in (str(x) for x in disp["channels"])
                   if any(c.split("_")[1:2] == [m] for m in EXTENSORS)]
            if ext and "full_flexion" in phases:
                img = f"img/sub-{slug}/{_slug(name)}_frp.png"
                _frp_figure(disp, info, f"{name}: extensor envelopes and trunk angle", rdir / img, ext)
                entry["frp"] = "../" + img
        figures.append(entry)
    q = qc[qc["subject"] == subject]
    qcols = [c for c in q.columns if c not in ("subject", "group")]
    qrows = [[_num(v) for v in row] for row in q[qcols].itertuples(index=False)]
    html = env.get_template("subject.html.j2").render(
        subject=subject, group=recs[0].get("group") if recs else None, recordings=recs, figures=figures,
        qc_columns=qcols, qc_rows=qrows, feature_tables=_feature_tables(feats), errors=errors, nav=nav,
        guarding=guarding, version=__version__)
    _write_text(rdir / "subjects" / f"sub-{slug}.html", html)


# ----------------------------------------------------------------------------- norms
#: Up to this many controls, each control is scored against the others (leave-one-out);
#: above it, against all controls including itself (its z shrinks by at most sqrt(29/30)),
#: because one reference per control would cost O(n_controls) reference builds.
LOO_MAX_CONTROLS = 30


def _guarding_profiles(feats: pd.DataFrame, subjects: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each subject's guarding profile against the study's controls (paraspinal.norms).

    Patients are scored against all controls; a control against the other controls (left
    out of its own reference) while the study has at most :data:`LOO_MAX_CONTROLS`, else
    against all controls. Needs at least two reference controls.
    """
    from . import norms

    out: dict[str, dict[str, Any]] = {}
    if not len(feats) or "group" not in feats:
        return out
    controls = feats[feats["group"] == "control"]
    n_controls = int(controls["subject"].nunique())
    loo = n_controls <= LOO_MAX_CONTROLS
    all_controls_ref = None
    by_subject = dict(tuple(feats.groupby("subject", sort=False)))
    for s in subjects:
        mine = by_subject.get(s)
        if mine is None or not len(mine):
            continue
        is_control = bool((mine["group"] == "control").any())
        n_ref = n_controls - (1 if is_control and loo else 0)
        if n_ref < 2:
            out[s] = {"note": f"no guarding profile: it needs at least 2 reference controls, the study has {n_ref}"}
            continue
        if is_control and loo:
            ref = norms.build_reference(controls[controls["subject"] != s])
            which = f"{n_ref} controls (this subject left out)"
        else:
            all_controls_ref = all_controls_ref or norms.build_reference(controls)
            ref = all_controls_ref
            which = f"{n_ref} controls" + (" (this subject included)" if is_control else "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp = norms.guarding_profile(norms.score(mine, ref, subject=s))
        rows = [{"label": r.label, "flag": bool(r.flag), "strength": _num(r.strength), "reason": r.reason}
                for r in gp.itertuples(index=False)]
        out[s] = {"rows": rows, "disclaimer": gp.attrs.get("disclaimer", "research measure, not a diagnosis"),
                  "reference": which}
    return out


_GROUP_STAT_COLUMNS = ("task", "phase", "channel", "feature", "n_control", "n_patient", "mean_control",
                       "mean_patient", "hedges_g", "g_ci_low", "g_ci_high", "auc", "mwu_p", "q_fdr")


def _result_rows(qc: pd.DataFrame, n: int = 300) -> tuple[list[list[str]], list[list[str]]]:
    """Channels with expected features missing, and channels whose residual artefact is flagged."""
    ids = ["subject", "session", "task", "run", "channel"]
    if not len(qc) or "missing_features" not in qc:
        return [], []
    miss = qc[qc["missing_features"].notna()]
    art = qc[qc["artefact"] == "artefact"]
    return ([[_num(v) for v in r] for r in miss[ids + ["missing_features"]].itertuples(index=False)][:n],
            [[_num(v) for v in r] for r in art[ids + ["ff_artefact_to_emg", "artefact_reason"]].itertuples(index=False)][:n])


def _quality_rows(feats: pd.DataFrame, n: int = 300) -> list[list[str]]:
    """Per recording and channel: the values that carry a ``quality`` flag, by flag (features named)."""
    if not len(feats) or "quality" not in feats:
        return []
    flagged = feats[feats["quality"].notna() & (feats["quality"] != "ok")]
    if not len(flagged):
        return []
    ids = ["subject", "session", "task", "run", "channel", "quality"]
    keyed = flagged.assign(**{c: flagged[c].astype(object).where(flagged[c].notna(), "") for c in ids})
    rows = []
    for key, g in keyed.groupby(ids, sort=True):
        rows.append([_num(v) for v in key] + [str(len(g)), ", ".join(dict.fromkeys(g["feature"]))])
    return rows[:n]


def _group_stat_rows(out: Path, n: int = 30) -> tuple[list[str], list[list[str]], int]:
    """The ``n`` strongest group differences of ``OUT/group_stats.parquet`` (by q, then |g|)."""
    path = out / "group_stats.parquet"
    if not path.is_file():
        return [], [], 0
    gs = pd.read_parquet(path)
    cols = [c for c in _GROUP_STAT_COLUMNS if c in gs.columns]
    order = gs.assign(_abs_g=gs["hedges_g"].abs()).sort_values(["q_fdr", "_abs_g"], ascending=[True, False],
                                                              na_position="last", kind="stable")
    rows = [[_num(v) for v in r] for r in order[cols].head(n).itertuples(index=False)]
    return cols, rows, len(gs)


# ----------------------------------------------------------------------------- main entry
def _page_job(args: tuple) -> None:
    _subject_page(*args)


def _run_pages(jobs_list: list[tuple], jobs: int | None) -> None:
    """Render subject pages, on ``jobs`` spawned processes when there are many."""
    n = available_cpus() if jobs is None else max(1, int(jobs))
    if n <= 1 or len(jobs_list) < _PARALLEL_PAGES:
        for a in jobs_list:
            _subject_page(*a)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with single_thread_env():
        ex = ProcessPoolExecutor(max_workers=min(n, len(jobs_list)), mp_context=mp.get_context("spawn"),
                                 initializer=init_worker)
        futs = [ex.submit(_page_job, a) for a in jobs_list]
    try:
        for f in futs:
            f.result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def write_report(out: str | os.PathLike, *, force: bool = False, features: Sequence[str] = KEY_FEATURES,
                 jobs: int | None = None) -> Path:
    """Write ``OUT/report/`` for a study output folder.

    Parameters
    ----------
    out : path-like
        The ``-o`` folder of ``paraspinal study run``.
    force : bool
        Regenerate every page and figure (by default, subject pages whose recordings did not
        change are kept).
    features : sequence of str
        Features shown as group comparisons (default :data:`KEY_FEATURES`).
    jobs : int, optional
        Processes rendering subject pages (default: the CPUs available; used when at least
        16 pages need rendering, below that start-up costs more than it saves).

    Returns
    -------
    pathlib.Path
        ``OUT/report/index.html``.

    Raises
    ------
    ReadError
        ``out`` does not hold the outputs of a study run.
    """
    # figures are pyplot-free (matplotlib.figure.Figure + the Agg canvas): the caller's
    # backend (a notebook's inline figures, a GUI) is left alone
    out = Path(out)
    prov, feats, qc, errors = _read_outputs(out)
    rdir = out / "report"
    env = _env()
    state_path = rdir / ".state.json"
    try:
        state = {} if force else json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if state.get("version") != _REPORT_VERSION:
        state = {}
    new_state: dict[str, Any] = {"version": _REPORT_VERSION, "subjects": {}}
    recs = prov.get("recordings", [])
    subjects: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        subjects.setdefault(str(r.get("subject")), []).append(r)
    order = sorted(subjects, key=lambda s: (_group_sort(subjects[s][0].get("group")), s))

    # group comparisons (regenerated only when the outputs changed)
    fp = prov.get("outputs", {}).get("fingerprint")
    group_figs: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    cached_groups = state.get("groups") if state.get("outputs") == fp else None
    if cached_groups and all((rdir / g["img"]).is_file() for g in cached_groups["figures"]):
        group_figs, summary = cached_groups["figures"], cached_groups["summary"]
    else:
        for feat in features:
            vals = group_values(feats, feat)
            if not len(vals):
                continue
            img = f"img/group_{_slug(feat)}.png"
            summary += _group_figure(vals, feat, rdir / img)
            group_figs.append({"feature": feat, "img": img, "n_subjects": int(vals["subject"].nunique())})
    new_state["outputs"] = fp
    new_state["groups"] = {"figures": group_figs, "summary": summary}

    # subject pages
    err_by_subject: dict[str, list[dict[str, Any]]] = {}
    for e in errors.to_dict(orient="records"):
        err_by_subject.setdefault(str(e.get("subject") or "None"), []).append(e)
    feats_by_subject = dict(tuple(feats.groupby("subject", sort=False))) if len(feats) else {}
    pages = []
    todo = []
    for i, s in enumerate(order):
        rs = subjects[s]
        # a subject's guarding profile depends on every control: re-render when the outputs change
        stamp = hashlib.sha256(json.dumps([_REPORT_VERSION, fp, [(r.get("path"), r.get("key"), r.get("status"),
                                                                  r.get("reason")) for r in rs]]).encode()).hexdigest()
        page = rdir / "subjects" / f"sub-{_slug(s)}.html"
        nav = {"prev": f"sub-{_slug(order[i - 1])}.html" if i > 0 else None,
               "next": f"sub-{_slug(order[i + 1])}.html" if i + 1 < len(order) else None}
        if state.get("subjects", {}).get(s) != stamp or not page.is_file():
            todo.append((out, rdir, s, rs, feats_by_subject.get(s, feats.iloc[0:0]),
                         qc[qc["subject"] == s] if len(qc) else qc, err_by_subject.get(s, []), nav))
        new_state["subjects"][s] = stamp
        n_ok = sum(r["status"] == "ok" for r in rs)
        qs = qc[qc["subject"] == s]["qc"].value_counts().to_dict() if len(qc) else {}
        pages.append({"subject": s, "group": rs[0].get("group"), "href": f"subjects/sub-{_slug(s)}.html",
                      "n": len(rs), "n_ok": n_ok, "tasks": ", ".join(sorted({str(r.get("task")) for r in rs})),
                      "qc": qs})

    profiles = _guarding_profiles(feats, [t[2] for t in todo])
    todo = [t + (profiles.get(t[2]),) for t in todo]
    _run_pages(todo, jobs)

    # overview
    qc_counts = qc["qc"].value_counts().to_dict() if len(qc) else {}
    flagged = qc[qc["qc"] != "pass"] if len(qc) else qc
    flagged_rows = [[_num(v) for v in r] for r in
                    flagged[["subject", "session", "task", "run", "channel", "qc", "reason"]].itertuples(index=False)
                    ][:300] if len(flagged) else []
    missing_rows, artefact_rows = _result_rows(qc)
    quality_rows = _quality_rows(feats)
    gs_cols, gs_rows, gs_total = _group_stat_rows(out)
    groups = {}
    for p in pages:
        groups.setdefault(p["group"] or "(none)", 0)
        groups[p["group"] or "(none)"] += 1
    html = env.get_template("index.html.j2").render(
        prov=prov, pages=pages, groups=groups, qc_counts=qc_counts, flagged=flagged_rows,
        n_flagged=len(flagged), errors=errors.to_dict(orient="records"), group_figs=group_figs,
        summary=summary, version=__version__, n_rows=len(feats), gs_columns=gs_cols, gs_rows=gs_rows,
        gs_total=gs_total, missing_rows=missing_rows, artefact_rows=artefact_rows,
        quality_rows=quality_rows)
    _write_text(rdir / "index.html", html)
    _write_text(state_path, json.dumps(new_state, indent=1, default=str) + "\n")
    return rdir / "index.html"
