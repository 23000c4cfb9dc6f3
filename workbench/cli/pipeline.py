"""``workbench pipeline run | status | show | list | airflow``: pipelines of notebooks and SQL files.

Exit codes: 0 when every task ran or was skipped, 1 when one failed (or was not run
because an upstream failed), 2 for a bad pipeline, task or parameter (one line, before
anything runs). See docs/pipeline.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import RunFailed, UsageError
from . import app, config
from .params import EXTRA_ARGS, triples

pipeline_app = typer.Typer(help="Pipelines: notebooks and SQL files that re-run only what changed (docs/pipeline.md).",
                           no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")

STYLE = {"ran": "green", "skipped": "blue", "failed": "red", "upstream_failed": "red", "would_run": "yellow",
         "would_skip": "blue"}


def _slot_params(cfg, name: str, slot: Optional[str]) -> tuple[Optional[str], dict]:
    """The slot (UTC text) and the slot parameter's value, as the scheduler gives them."""
    if slot is None:
        return None, {}
    import datetime as dt
    import zoneinfo

    from ..reports.params import inspect_notebook
    from ..reports.runlog import slot_text
    from ..schedule.cron import slot_value

    pc = cfg.pipeline(name)
    try:
        key = slot_text(slot)
    except ValueError:
        raise UsageError(f"--slot {slot!r}: write an instant with its zone, e.g. 2026-11-05T05:00:00Z") from None
    if not pc.slot_parameter:
        return key, {}
    kind = "date"
    for t in pc.tasks.values():
        if t.notebook:
            p = inspect_notebook(cfg.resolve(t.notebook)).get(pc.slot_parameter)
            if p is not None:
                kind = "datetime" if "datetime" in str(p.type) else "date"
                break
    instant = dt.datetime.fromisoformat(key.replace("Z", "+00:00"))
    return key, {pc.slot_parameter: slot_value(instant, zoneinfo.ZoneInfo(pc.timezone), pc.slot_offset, kind)}


def _params(args: list[str]) -> dict:
    """``-p NAME VALUE`` as text (typed later by the notebook or the config), ``-p NAME:TYPE VALUE`` typed now."""
    from ..values import SCALARS, parse_text

    out = {}
    for name, typ, text in triples(args):
        if typ is not None and typ not in SCALARS:
            raise UsageError(f"-p {name}:{typ}: unknown type {typ!r}; use one of {', '.join(SCALARS)}")
        out[name] = parse_text(text, typ, name) if typ else text
    return out


def _line(res) -> str:
    from ..secrets import one_line

    duration = "-" if res.duration is None else f"{res.duration:.1f}s"
    return "  ".join((res.name, res.status, duration, one_line(res.reason or "-")))


@pipeline_app.command("run", context_settings=EXTRA_ARGS, epilog="Example: workbench pipeline run photo_popularity "
                      "-p day 2026-11-05 --jobs 3   |   --dry-run   |   --force training_set   |   --format json")
def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A pipeline of workbench.toml (a pipelines.NAME table)."),
    force: Optional[List[str]] = typer.Option(None, "--force", help="Run TASK even if unchanged (repeatable); "
                                              "--force-all for every task."),
    force_all: bool = typer.Option(False, "--force-all", help="Run every task, changed or not."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run only TASK (repeatable): what Airflow calls."),
    slot: Optional[str] = typer.Option(None, "--slot", help="The scheduled instant (UTC) this run is for: each "
                                       "task runs once per slot, and slot_parameter gets its local date."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Tasks at once."),
    executor: Optional[str] = typer.Option(None, "--executor", help="local or dask://HOST:PORT (notebook tasks)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would run and why; run nothing."),
    fmt: str = typer.Option("text", "--format", help="text or json (one object per task)."),
) -> None:
    """Run a pipeline: each task only if its code, parameters or input data changed.

    Parameters: -p NAME VALUE (repeatable) goes to every task that takes NAME.
    """
    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r}: use text or json")
    from ..executors import check_spec
    from ..pipeline.run import Runner

    check_spec(executor)
    cfg = config()
    key, slot_values = _slot_params(cfg, name, slot)
    params = _params(ctx.args)
    progress = _Progress(fmt == "text")
    runner = Runner(cfg, name, params=params, force=True if force_all else (force or ()), only=only, jobs=jobs,
                    executor=executor, dry_run=dry_run, slot=key, trigger="schedule" if key else "manual",
                    slot_values=slot_values, on_event=progress.event)
    progress.start(len(runner.selected), runner.run_id)
    try:
        result = runner.run()
    finally:
        progress.stop()
    if fmt == "json":
        for t in result.tasks:
            print(json.dumps(t.as_json()))
    pc = cfg.pipeline(name)
    if key and not dry_run and pc.notify and (not result.ok or pc.notify_success):
        # a slot's run (the scheduler's, Airflow's, or one by hand with --slot) pings as a scheduled report does
        from ..schedule.notify import notify, pipeline_payload

        data = pipeline_payload(name, result.run_id, "succeeded" if result.ok else "failed",
                                [t.as_json() for t in result.tasks], cfg, slot=key, trigger="schedule",
                                parameters={k: str(v) for k, v in {**params, **slot_values}.items()})
        notify(pc.notify, data, cfg, log=lambda m: print(m, file=sys.stderr))
    if not result.ok:
        bad = [t.name for t in result.tasks if t.status == "failed"]
        raise RunFailed(f"pipeline {name} run {result.run_id}: {', '.join(bad) or 'a task'} failed; "
                        f"see `workbench pipeline status {name}`")


class _Progress:
    """One progress bar on a terminal (stderr), one line per finished task otherwise."""

    def __init__(self, text: bool):
        self.text, self.bar, self.task = text, None, None

    def start(self, total: int, run_id: str) -> None:
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn(f"pipeline {run_id}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task("tasks", total=total)
            self.bar.start()

    def event(self, res) -> None:
        if self.bar is not None:
            from rich.markup import escape

            style = STYLE.get(res.status, "white")
            self.bar.console.print(f"[{style}]{escape(res.status):>15}[/] {escape(res.name)}  "
                                   f"{escape(res.reason or '')}", highlight=False)
            self.bar.advance(self.task)
        elif self.text:
            print(_line(res), flush=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _show(name: str, why: bool, fmt: str, args: list[str] = ()) -> None:
    from ..pipeline.run import Runner
    from ..reports.pipelinelog import PipelineLog
    from ..reports.runlog import RunLog

    if fmt not in ("text", "json"):
        raise UsageError(f"--format {fmt!r}: use text or json")
    cfg = config()
    params = _params(list(args))
    slot_param = cfg.pipelines[name].slot_parameter if name in cfg.pipelines else None
    if slot_param and slot_param not in params:  # "now" for the last run's slot (day) unless -p says
        last = PipelineLog(RunLog(cfg.runlog_path)).last_parameters(name)
        if slot_param in last:
            params[slot_param] = last[slot_param]
    runner = Runner(cfg, name, params=params, dry_run=True)
    graph = runner.graph
    latest = runner.log.latest_tasks(name)
    now = {t.name: t for t in runner.run().tasks} if why else {}
    rows = []
    for n in graph.order:
        t, last = graph.tasks[n], latest.get(n)
        rows.append({"name": n, "kind": t.kind, "description": graph.pipeline.task(n).description,
                     "needs": sorted(t.needs, key=graph.order.index),
                     "reads": list(t.reads), "writes": list(t.writes),
                     "last_status": last.status if last else None, "last_run": last.run_id if last else None,
                     "last_reason": last.reason if last else None,
                     **({"now": now[n].status.removeprefix("would_"), "why": now[n].reason} if why else {})})
    if fmt == "json":
        for r in rows:
            print(json.dumps(r))
        return
    desc = graph.pipeline.description
    print(f"pipeline {name}" + (f": {desc}" if desc else "") +
          (f"  (schedule {graph.pipeline.schedule} {graph.pipeline.timezone})" if graph.pipeline.schedule else ""))
    for r in rows:
        needs = f" <- {', '.join(r['needs'])}" if r["needs"] else ""
        last = f"last {r['last_status']} ({r['last_run']})" if r["last_status"] else "never run"
        now_text = f"; now: {r['now']} ({r['why']})" if why else ""
        print(f"  {r['name']} [{r['kind']}]{needs}: {last}{now_text}")
        if r["description"]:
            print(f"      {r['description']}")


@pipeline_app.command("show", context_settings=EXTRA_ARGS,
                      epilog="Example: workbench pipeline show photo_popularity -p day 2026-11-05")
def show(ctx: typer.Context,
         name: str = typer.Argument(..., help="A pipeline of workbench.toml (a pipelines.NAME table)."),
         fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """The graph: tasks, what each needs, its last status, and whether it would run now and why.

    "Now" means for the last run's slot_parameter (day) and the configured parameters;
    -p NAME VALUE asks about other values.
    """
    _show(name, True, fmt, ctx.args)


@pipeline_app.command("status", epilog="Example: workbench pipeline status photo_popularity --format json")
def status(name: str = typer.Argument(..., help="A pipeline of workbench.toml (a pipelines.NAME table)."),
           fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Each task's last status and reason (reads no data; `show` also says what would run now)."""
    _show(name, False, fmt)


@pipeline_app.command("list")
def list_cmd() -> None:
    """The pipelines of workbench.toml, with their tasks."""
    cfg = config()
    if not cfg.pipelines:
        print("no pipelines; add a [pipelines.NAME] table to workbench.toml (see docs/pipeline.md)")
    for name, pc in cfg.pipelines.items():
        print(f"{name}  {len(pc.tasks)} tasks: {', '.join(pc.tasks)}" + (f"  ({pc.description})" if pc.description
                                                                       else ""))


@pipeline_app.command("airflow", epilog="Example: workbench pipeline airflow photo_popularity -o dags/photo.py")
def airflow(name: str = typer.Argument(..., help="A pipeline of workbench.toml (a pipelines.NAME table)."),
            out: Optional[Path] = typer.Option(None, "--output", "-o", help="DAG file to write (default: stdout)."),
            workbench: str = typer.Option("workbench", "--workbench", help="The command Airflow runs."),
            start: str = typer.Option("2026-01-01", "--start", help="The DAG's start_date (YYYY-MM-DD).")) -> None:
    """Write an Airflow DAG: one task per node, each `workbench pipeline run NAME --only TASK --slot ...`."""
    from ..pipeline.airflow import airflow_dag
    from ..pipeline.graph import build

    cfg = config()
    graph = build(cfg, name)
    if not graph.pipeline.schedule:
        raise UsageError(f"pipeline {name} has no schedule; add schedule = \"0 5 * * *\" to [pipelines.{name}]")
    text = airflow_dag(graph, config_path=str(cfg.path), workbench=workbench, start=start)
    if out is None:
        sys.stdout.write(text)
        return
    from ..storage.atomic import write_bytes

    write_bytes(out, text)
    print(f"wrote {out} ({len(graph.order)} tasks)")
