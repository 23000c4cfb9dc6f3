"""``workbench run | params | runs | index | publish``: the report commands.

Errors are raised as WorkbenchError subclasses; the main CLI prints them as one line
with their exit code (2 for bad parameters or usage, before any kernel starts). A run
that fails is exit code 1, after its run id, status, reason and report path are printed.

With ``[workbench] publish_to`` set, ``workbench run`` mirrors the site to the object
store after its runs. The runs' outcome comes first: a run that succeeded but could not
be published remotely prints ``warning: ...`` (one line) and exits with
:data:`EXIT_PUBLISH_FAILED` (3), so cron and CI notice without mistaking it for a failed
run; the next ``workbench publish`` (or run) completes the upload.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..config import parse_duration
from ..errors import RunFailed, UsageError
from . import app, config
from .params import EXTRA_ARGS, declared, texts


def _duration(value: Optional[str], option: str) -> Optional[float]:
    try:
        return parse_duration(value, what=option)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _console(err: bool = False):
    from rich.console import Console

    return Console(stderr=err, highlight=False, soft_wrap=True)


def _table(title: str):
    """A compact Rich table: fixed columns stay whole, the details column wraps."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("run", "status", "duration"):
        table.add_column(col, no_wrap=True)
    table.add_column("details", overflow="fold", ratio=1)
    return table


def _row(table, run_id: str, status: str, duration, *details: str) -> None:
    from rich.markup import escape

    style = {"succeeded": "green", "failed": "red", "timed out": "red"}.get(status, "blue")
    table.add_row(run_id, f"[{style}]{escape(status)}[/]", "" if duration is None else f"{duration:.1f} s",
                  escape("\n".join(d for d in details if d)))


def _params_text(parameters: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in parameters.items())


def _short(path) -> str:
    """``path`` relative to the working directory when it is below it (easier to read and click)."""
    import os

    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def _summary(results: list) -> None:
    """The grid's runs: a Rich table on a terminal; one plain line per run otherwise.

    Cron mail and CI logs are read as lines (and grepped); Rich would wrap its table at
    80 columns there, spreading one run over several lines.
    """
    if not sys.stdout.isatty():
        from ..secrets import one_line

        for r in results:
            detail = _short(r.report_path) if r.ok else (r.error or "")
            duration = "-" if r.duration is None else f"{r.duration:.1f}s"
            fields = (r.id, r.status, duration, _params_text(r.parameters) or "-", detail or "-")
            print("  ".join(one_line(f) for f in fields), flush=True)
        return
    table = _table(f"{len(results)} runs")
    for r in results:
        _row(table, r.id, r.status, r.duration, _params_text(r.parameters),
             _short(r.report_path) if r.ok else (r.error or ""))
    _console().print(table)


def _given(args: list[str], contract) -> dict[str, str]:
    """The ``-p`` values as text; a ``NAME:TYPE`` must name the type the notebook declares."""
    from ..errors import ParameterError

    for name, typ in declared(args).items():
        p = contract.get(name)
        if p is not None and str(p.type).removesuffix(" | None") != typ and str(p.type) != typ:
            raise ParameterError(f"-p {name}:{typ}: the notebook declares {name} as {p.type}; "
                                 f"write -p {name} VALUE (or -p {name}:{p.type} VALUE)")
    return texts(args)


#: ``workbench run``: every run succeeded, the remote publish did not (``workbench publish`` completes it)
EXIT_PUBLISH_FAILED = 3


def _publish_after(cfg) -> bool:
    """Mirror the site after runs when ``publish_to`` is set; False (and a warning line) if the store failed."""
    if not cfg.settings.publish_to:
        return True
    from ..reports.remote import publish_quietly

    result, error = publish_quietly(cfg)
    if error:
        typer.echo(f"warning: {error}", err=True)
        return False
    if result is not None:
        typer.echo(result.summary())
    return True


def _schedules_on_index(cfg) -> None:
    """Rebuild the index with the scheduled reports' schedule, next, missed and failed slots."""
    if any(r.schedule for r in cfg.reports.values()):
        from ..schedule.loop import refresh_index

        refresh_index(cfg)


@app.command("run", context_settings=EXTRA_ARGS)
def run(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="A report name from workbench.toml, or a notebook path."),
    params_file: Optional[Path] = typer.Option(None, "--params-file", help="YAML mapping of parameters."),
    grid: Optional[List[str]] = typer.Option(
        None, "--grid", help="Run every combination: --grid day=2026-11-01..2026-11-07 --grid region=EU,US."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Parallel runs for --grid."),
    timeout: Optional[str] = typer.Option(None, "--timeout", help="Whole-run timeout, e.g. 10m (default 1h)."),
    cell_timeout: Optional[str] = typer.Option(None, "--cell-timeout", help="Per-cell timeout (default 30m)."),
    show_code: bool = typer.Option(False, "--show-code", help="Keep the code cells in the HTML report."),
    executor: Optional[str] = typer.Option(
        None, "--executor", help="Where --grid runs execute: local or dask://HOST:PORT (default: [workbench] executor)."),
) -> None:
    """Run a report headless and publish it under reports/<report>/<run-id>/.

    Parameters: -p NAME VALUE (repeatable), typed by the notebook's parameters cell.
    """
    from ..executors.local import run_many
    from ..reports import params as P
    from ..reports.execute.engine import skip_iri_grammar
    from ..reports.plan import resolve
    from ..reports.run import run_report

    skip_iri_grammar()
    cfg = config()
    report, notebook, *_ = resolve(target, cfg)
    contract = P.inspect_notebook(notebook)
    given = _given(ctx.args, contract)
    t, ct = _duration(timeout, "--timeout"), _duration(cell_timeout, "--cell-timeout")
    if not grid:
        res = run_report(target, given, config=cfg, params_file=params_file, timeout=t, cell_timeout=ct,
                         show_code=show_code)
        _schedules_on_index(cfg)
        out = _console()
        style = "green" if res.ok else "red"
        out.print(f"run {res.id}: [{style}]{res.status}[/] in {res.duration:.1f} s")
        if res.error:
            out.print(f"error: {res.error}", markup=False)
        out.print(f"report: {res.report_path}", markup=False)
        published = _publish_after(cfg)
        if not res.ok:
            raise RunFailed(f"run {res.id} {res.status}; see {res.report_path}")
        if not published:
            sys.exit(EXIT_PUBLISH_FAILED)
        return
    sets = [{**given, **combo} for combo in P.expand_grid(contract, grid)]
    progress = None
    if sys.stderr.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        progress = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=_console(err=True), transient=True)
    task = None

    def done(_res) -> None:
        if progress is not None:
            progress.advance(task)

    if progress is not None:
        # the pool is created inside run_many before the first update from this thread
        task = progress.add_task(report, total=len(sets))
    from ..executors import check_spec

    results = run_many(target, sets, config=cfg, params_file=params_file, jobs=jobs, timeout=t,
                       cell_timeout=ct, show_code=show_code, executor=check_spec(executor),
                       on_start=progress.start if progress is not None else None, on_done=done)
    if progress is not None:
        progress.stop()
    _schedules_on_index(cfg)
    _summary(results)
    _console().print(f"index: {cfg.reports_dir / 'index.html'}", markup=False)
    published = _publish_after(cfg)
    failed = [r for r in results if not r.ok]
    if failed:
        raise RunFailed(f"{len(failed)} of {len(results)} runs did not succeed")
    if not published:
        sys.exit(EXIT_PUBLISH_FAILED)


@app.command("params")
def params(ctx: typer.Context,
           target: str = typer.Argument(..., help="A report name or a notebook path.")) -> None:
    """Show a report's parameters: name, type, default and help."""
    from rich.markup import escape
    from rich.table import Table

    from ..reports.params import inspect_notebook
    from ..reports.plan import resolve

    cfg = config()
    report, notebook, defaults, _, _ = resolve(target, cfg)
    contract = inspect_notebook(notebook)
    if contract.cell_index is None:
        _console().print(f"{notebook} has no cell tagged 'parameters'; it takes no parameters.", markup=False)
        return
    table = Table(title=f"{report} ({notebook})")
    for col in ("name", "type", "default", "help"):
        table.add_column(col, overflow="fold")
    for row in contract.as_rows():
        default = row["default"]
        if row["name"] in defaults:
            default = f"{defaults[row['name']]} (workbench.toml)"
        table.add_row(*(escape(str(c)) for c in (row["name"], row["type"], default, row["help"])))
    _console().print(table)


@app.command("runs")
def runs(
    ctx: typer.Context,
    report: Optional[str] = typer.Argument(None, help="Only this report."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many runs to list."),
    fmt: str = typer.Option("table", "--format", help="table, or json: a list of runs for scripts."),
) -> None:
    """List past runs, newest first."""
    from ..reports.runlog import RunLog

    if fmt not in ("table", "json"):
        raise UsageError(f"--format {fmt!r}: use table or json")
    from ..reports.run import published_outcome

    cfg = config()
    log = RunLog(cfg.runlog_path)
    log.recover(published_outcome(cfg.reports_dir))
    found = log.runs(report, limit)
    published = log.publish_targets([r.id for r in found])  # where `workbench publish` put each run
    if fmt == "json":
        import json

        def iso(ts):
            return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z") if ts else None

        typer.echo(json.dumps([
            {"id": r.id, "report": r.report, "slot": r.slot, "attempt": r.attempt, "status": r.status,
             "parameters": r.parameters, "started": iso(r.started_at), "ended": iso(r.ended_at), "error": r.error,
             "published_to": published.get(r.id, [])}
            for r in found], indent=1))
        return
    table = _table(f"runs ({cfg.runlog_path})")
    for r in found:
        started = dt.datetime.fromtimestamp(r.started_at).strftime("%Y-%m-%d %H:%M") if r.started_at else "not started"
        values = " ".join(f"{k}={v}" for k, v in r.values.items())
        where = f"published to {', '.join(published[r.id])}" if r.id in published else ""
        _row(table, r.id, r.status, r.duration, f"{r.report} · {started}" if not report else started,
             _params_text(r.parameters), r.error or values, where)
    _console().print(table)


@app.command("index")
def index(ctx: typer.Context) -> None:
    """Rebuild reports/index.html from the run log."""
    from ..reports.runlog import RunLog
    from ..reports.site import build_index

    from ..reports.run import published_outcome
    from ..schedule.loop import refresh_index

    cfg = config()
    log = RunLog(cfg.runlog_path)
    log.recover(published_outcome(cfg.reports_dir))
    # with each scheduled report's schedule, next slot, missed and failed slots (from workbench.toml)
    path = refresh_index(cfg, log) or build_index(cfg.reports_dir, log, cfg.report_descriptions())
    _console().print(f"index: {path}", markup=False)


@app.command("publish")
def publish(
    ctx: typer.Context,
    reports: Optional[List[str]] = typer.Argument(None, help="Only these reports' runs and latest (default: all)."),
    to: Optional[str] = typer.Option(None, "--to", help="Where: s3://bucket/prefix (default: publish_to in workbench.toml)."),
) -> None:
    """Upload the reports site (run folders, index, latest pointers) to an object store.

    Only what is missing or changed is sent; the latest pointers go last, so the remote latest never names a run whose files are not all there. Run it again after a failure to complete the upload.

    Example: workbench publish --to s3://team-reports/site daily_kpis
    """
    from ..reports.remote import check_target, publish_configured

    cfg = config()
    target = check_target(to) if to else cfg.settings.publish_to
    if not target:
        raise UsageError("nowhere to publish to; pass --to s3://bucket/prefix or set publish_to = "
                         "\"s3://bucket/prefix\" under [workbench] in workbench.toml")
    result = publish_configured(cfg, reports=reports or None, to=target)
    typer.echo(result.summary())
