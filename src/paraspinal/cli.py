"""The ``paraspinal`` command: a thin face over the library.

``paraspinal --version``, ``paraspinal info FILE``, ``paraspinal synth study``,
``paraspinal study run|report``; later: ``view``.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections import Counter
from pathlib import Path

import click

from ._version import __version__
from .errors import ParaspinalError, ParaspinalWarning

__all__ = ["main"]


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _reader_options(options: tuple[str, ...], channel_map: str | None) -> dict:
    out = {}
    for item in options:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--option")
        key, value = item.split("=", 1)
        out[key.strip()] = _parse_value(value.strip())
    if channel_map:
        pairs = [p.split("=", 1) for p in channel_map.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise click.BadParameter("use OLD=NEW,OLD2=NEW2", param_hint="--channel-map")
        out["channel_map"] = {a.strip(): b.strip() for a, b in pairs}
    return out


class _Group(click.Group):
    """Turn the project's errors into one clear line and exit status 2; its warnings into ``warning:`` lines."""

    def invoke(self, ctx):
        original = warnings.formatwarning
        warnings.formatwarning = _format_warning
        try:
            return super().invoke(ctx)
        except ParaspinalError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(2)
        finally:
            warnings.formatwarning = original


_PYTHON_FORMAT = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """A ParaspinalWarning on stderr reads ``warning: <message>`` (no file, line or source shown)."""
    if issubclass(category, ParaspinalWarning):
        return f"warning: {message}\n"
    return _PYTHON_FORMAT(message, category, filename, lineno, line)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="paraspinal")
def main() -> None:
    """paraspinal: surface-EMG analysis of the paraspinal muscles for low-back-pain research.

    A research toolkit, not a diagnostic device.
    """


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", default=None, help="Force a reader (edf, bdf, fif, c3d, wfdb, text, ...).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Reader option, e.g. -o sfreq=500 -o units=uV (values parsed as JSON when they can be).")
@click.option("--channel-map", default=None, metavar="OLD=NEW,...", help="Rename channels, e.g. 'sEMG1=L_LT,sEMG2=R_LT'.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of text.")
def info(file: Path, fmt: str | None, options: tuple[str, ...], channel_map: str | None, as_json: bool) -> None:
    """Describe a recording: format, duration, rate, channels, phases and a quality glance."""
    from .io import FORMATS, read
    from .preprocessing.quality import glance

    opts = _reader_options(options, channel_map)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rec = read(file, format=fmt, **opts)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    q = glance(rec).set_index("channel")
    desc = {f.name: f.description for f in FORMATS}.get(rec.meta["format"], rec.meta["format"])
    phases = rec.phases
    if as_json:
        chans = rec.channels.astype(object).where(rec.channels.notna(), None).to_dict(orient="records")
        for c in chans:
            if c["name"] in q.index:
                c["quality"] = {k: (None if isinstance(v, float) and v != v else v)
                                for k, v in q.loc[c["name"]].to_dict().items()}
        doc = {
            "file": str(file), "format": rec.meta["format"], "format_description": desc,
            "sfreq": rec.sfreq, "n_samples": rec.n_samples, "duration_s": rec.duration,
            "meta": {k: v for k, v in rec.meta.items() if isinstance(v, (str, int, float, bool)) or v is None},
            "channels": chans,
            "phases": phases.astype(object).where(phases.notna(), None).to_dict(orient="records"),
            "notes": notes,
        }
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    types = Counter(rec.channels["type"])
    click.echo(f"File:       {file}")
    click.echo(f"Format:     {desc}")
    click.echo(f"Duration:   {rec.duration:.3f} s ({rec.n_samples} samples)")
    click.echo(f"Sampling:   {rec.sfreq:g} Hz")
    who = {k: rec.meta.get(k) for k in ("subject", "group", "session", "task", "run") if rec.meta.get(k)}
    if who:
        click.echo("Meta:       " + ", ".join(f"{k}={v}" for k, v in who.items()))
    click.echo(f"Channels:   {len(rec.ch_names)} (" + ", ".join(f"{n} {t}" for t, n in types.items()) + ")")
    header = f"  {'name':<24} {'type':<5} {'muscle':<6} {'side':<4} {'level':<6} {'unit':<6} {'rms µV':>9} {'p-p µV':>10}  quality"
    click.echo(header)
    for row in rec.channels.itertuples(index=False):
        def s(v):
            return "-" if v is None or (isinstance(v, float) and v != v) else str(v)
        if row.name in q.index:
            qr = q.loc[row.name]
            extra = f"{qr.rms_uv:9.2f} {qr.ptp_uv:10.1f}  {qr.flag}"
        else:
            extra = f"{'':9} {'':10}  -"
        click.echo(f"  {s(row.name)[:24]:<24} {row.type:<5} {s(row.muscle):<6} {s(row.side):<4} {s(row.level):<6} {s(row.unit):<6} {extra}")
    if len(phases):
        counts = Counter(phases["phase"])
        click.echo(f"Phases:     {len(phases)} (" + ", ".join(f"{p} x{n}" for p, n in counts.items()) + ")")
    else:
        click.echo("Phases:     none in the file")
    for n in notes:
        click.echo(f"Note:       {n}")


@main.group()
def synth() -> None:
    """Make synthetic paraspinal sEMG with known ground truth (METHODS.md section 9)."""


@synth.command("study")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--controls", "n_controls", type=click.IntRange(min=0), default=6, show_default=True,
              help="Number of control subjects (flexion-relaxation present).")
@click.option("--patients", "n_patients", type=click.IntRange(min=0), default=6, show_default=True,
              help="Number of patients (guarding signs, METHODS.md section 2.3).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed writes the same bytes.")
@click.option("--powerline", type=click.Choice(["50", "60"]), default="50", show_default=True,
              help="Mains frequency of the simulated interference (Hz).")
@click.option("--sfreq", type=float, default=2000.0, show_default=True, help="Sampling rate (Hz).")
@click.option("--overwrite", is_flag=True, help="Replace a study this command wrote before.")
def synth_study(out: Path, n_controls: int, n_patients: int, seed: int, powerline: str, sfreq: float,
                overwrite: bool) -> None:
    """Write a synthetic BIDS-EMG study to OUT, with its ground truth in OUT/derivatives/groundtruth."""
    from . import synth as _synth

    if n_controls + n_patients == 0:
        raise click.BadParameter("ask for at least one subject", param_hint="--controls/--patients")
    root = _synth.write_study(out, n_controls=n_controls, n_patients=n_patients, seed=seed,
                              powerline=float(powerline), sfreq=sfreq, overwrite=overwrite)
    n_files = len(list(Path(root).rglob("*_emg.edf")))
    click.echo(f"Wrote {n_files} recordings of {n_controls + n_patients} subjects to {root}")
    click.echo(f"Ground truth: {Path(root) / 'derivatives' / 'groundtruth'}")


@main.group()
def study() -> None:
    """Process a whole study: every recording, in parallel, resumable; tables and an HTML report.

    \b
    Exit status of `study run`: 0 all recordings processed, 1 some failed (see
    OUT/errors.csv), 2 usage or fatal error (nothing or not everything written).
    """


@study.command("run")
@click.argument("study_dir", metavar="STUDY", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (created; outside the study folder).")
@click.option("--pipeline", "pipeline_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Pipeline TOML (default: band-pass 20-450 Hz, powerline auto, ECG template).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: the CPUs available]; 1 runs in this process.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the tasks on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Manifest CSV describing the recordings (default: STUDY/manifest.csv if present, else BIDS).")
@click.option("--no-cache", is_flag=True, help="Recompute every recording (the cache is refreshed).")
@click.option("--rehash", is_flag=True,
              help="Hash every input file again, even those whose size, times and inode did not change.")
@click.option("--no-report", is_flag=True, help="Do not write OUT/report/.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def study_run(study_dir: Path, out: Path, pipeline_file: Path | None, jobs: int | None, scheduler: str | None,
              manifest: Path | None, no_cache: bool, rehash: bool, no_report: bool, quiet: bool) -> None:
    """Run read -> QC -> preprocess -> phases -> features on every recording of STUDY.

    STUDY is a BIDS-EMG dataset, a folder with a manifest.csv, or a manifest file. Writes
    OUT/features.parquet (+ .csv), qc.parquet, errors.csv, provenance.json, cache/ and report/.
    """
    from . import study as _study

    st = _study.discover(study_dir, manifest=manifest)
    res = _study.run_study(st, out, pipeline=pipeline_file, jobs=jobs, scheduler=scheduler,
                           use_cache=not no_cache, report=not no_report, progress=not quiet, rehash=rehash)
    if not quiet:
        click.echo(f"{res.n_recordings} recordings: {res.n_ok} ok, {res.n_failed} failed "
                   f"({res.n_cached} from cache, {res.n_computed} computed) in {res.seconds:.1f} s")
        click.echo(f"Features: {res.out / 'features.parquet'}")
        if res.n_failed:
            click.echo(f"Failures: {res.out / 'errors.csv'}")
            for row in res.errors.head(5).itertuples(index=False):
                click.echo(f"  {row.reason}", err=True)
        if res.report is not None:
            click.echo(f"Report:   {res.report}")
    sys.exit(res.exit_code)


@study.command("report")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Regenerate every page and figure.")
def study_report(out: Path, force: bool) -> None:
    """(Re)write OUT/report/index.html from the outputs of `paraspinal study run`."""
    from .report import write_report

    path = write_report(out, force=force)
    click.echo(f"Report: {path}")


@main.group()
def norms() -> None:
    """Normative reference from a study's controls, and group statistics."""


@norms.command("build")
@click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--group", default="control", show_default=True, help="Group whose subjects form the reference.")
@click.option("--envelopes/--no-envelopes", default=True, show_default=True,
              help="Also build the time-normalised envelope bands from the reference group's recordings.")
def norms_build(out: Path, group: str, envelopes: bool) -> None:
    """Build OUT/norms/ (reference statistics and envelope bands) and OUT/group_stats from a processed study OUT."""
    import json as _json

    from . import norms as _norms
    from .study import write_group_statistics

    paths = None
    if envelopes:
        prov_path = out / "provenance.json"
        if not prov_path.is_file():
            raise click.UsageError(f"{out} has no provenance.json: run `paraspinal study run STUDY -o {out}` first")
        prov = _json.loads(prov_path.read_text(encoding="utf-8"))
        root = Path(prov.get("study", {}).get("root", ""))
        paths = [str(Path(r["path"]) if Path(r["path"]).is_absolute() else root / r["path"])
                 for r in prov.get("recordings", []) if r.get("group") == group and r.get("status") == "ok"]
    reference = _norms.build_from_study(out, group=group, envelopes=paths)
    click.echo(f"Normative reference ({group}, {reference.n_subjects} subjects): {out / 'norms'}")
    status = write_group_statistics(out)
    click.echo(f"Group statistics: {out / 'group_stats.parquet'}" if status == "written" else f"Group statistics {status}")


@main.command("view")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--study", "study_out", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Processed study folder (paraspinal study run -o OUT): guarding panel against its controls.")
@click.option("--subject", default=None, help="Subject id in --study, e.g. 07.")
@click.option("--task", default=None, help="Task of the subject's recording (default frt when present).")
@click.option("--window", default=10.0, show_default=True, type=float, help="Seconds shown.")
@click.option("--mode", type=click.Choice(["raw", "conditioned", "envelope"]), default="raw", show_default=True)
def view_cmd(file: Path | None, study_out: Path | None, subject: str | None, task: str | None, window: float,
             mode: str) -> None:
    """Browse a recording, edit its phases (saved to an events.tsv sidecar), see guarding.

    \b
    paraspinal view FILE
    paraspinal view --study OUT --subject ID [--task frt] [FILE]
    """
    from .viewer import open_file, open_study

    if study_out is not None:
        if subject is None:
            raise click.UsageError("--study needs --subject")
        open_study(study_out, subject, task=task, path=file, window=window, mode=mode)
    elif file is None:
        raise click.UsageError("give a FILE, or --study OUT --subject ID")
    else:
        open_file(file, window=window, mode=mode)


if __name__ == "__main__":  # pragma: no cover
    main()
