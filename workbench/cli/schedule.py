"""``workbench schedule [tick | preview | status]`` and ``workbench backfill``: the scheduler's commands.

``schedule`` runs in the foreground until SIGTERM/SIGINT; ``schedule tick`` is one pass
for system cron or a systemd timer (exit 1 if a run it started failed). See
docs/schedule.md for the slot, DST and catch-up rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer

from ..errors import RunFailed, UsageError
from . import app, config

schedule_app = typer.Typer(help="Run reports on their cron schedules (see docs/schedule.md).",
                           invoke_without_command=True, no_args_is_help=False)
app.add_typer(schedule_app, name="schedule")

EXECUTOR_HELP = "Where runs execute: local (a process pool) or dask://HOST:PORT (default: [workbench] executor)."


def _executor(spec: Optional[str]) -> Optional[str]:
    from ..executors import check_spec

    return check_spec(spec)


def _echo(msg: str) -> None:
    typer.echo(msg, err=True)


@schedule_app.callback()
def schedule(
    ctx: typer.Context,
    executor: Optional[str] = typer.Option(None, "--executor", help=EXECUTOR_HELP),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Runs at once (local executor)."),
    now: Optional[str] = typer.Option(None, "--now", help="Start the clock at this instant (ISO 8601 with zone); "
                                      "it runs on in real time from there (for tests and dry runs)."),
) -> None:
    """The foreground scheduler: sleeps until the next slot, runs what is due; SIGTERM/SIGINT stop it."""
    if ctx.invoked_subcommand is not None:
        return
    from ..schedule.loop import Clock, Scheduler, ShiftedClock, install_signals

    clock = ShiftedClock(_instant(now, "--now")) if now else Clock()
    sched = Scheduler(config(), clock=clock, executor=_executor(executor), jobs=jobs, log=_echo)
    if not sched.reports:
        raise UsageError("no report has a schedule; add schedule = \"30 6 * * *\" to a [reports.NAME] table")
    install_signals(sched)
    _echo(f"workbench schedule: {len(sched.reports)} scheduled report(s): {', '.join(sorted(sched.reports))}")
    sched.serve()
    _echo("workbench schedule: stopped")


def _instant(text: str, option: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not an ISO 8601 instant; write e.g. 2026-11-05T06:30:00Z") from None
    if t.tzinfo is None:
        raise UsageError(f"{option} {text!r} has no time zone; add Z or an offset, e.g. 2026-11-05T06:30:00+01:00")
    return t.astimezone(dt.UTC)


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a date; write YYYY-MM-DD") from None


@schedule_app.command("tick")
def tick(
    now: Optional[str] = typer.Option(None, "--now", help="Act as if it were this instant (ISO 8601 with zone)."),
    executor: Optional[str] = typer.Option(None, "--executor", help=EXECUTOR_HELP),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Runs at once (local executor)."),
) -> None:
    """One pass: claim and run every slot due now under each report's catch-up policy, then exit."""
    from ..schedule.loop import Clock, FakeClock, Scheduler

    clock = FakeClock(_instant(now, "--now")) if now else Clock()
    sched = Scheduler(config(), clock=clock, executor=_executor(executor), jobs=jobs, log=_echo)
    results = sched.tick()
    failed = [r for r in results if not r.ok]
    if failed:
        raise RunFailed(f"{len(failed)} of {len(results)} runs did not succeed")


@schedule_app.command("preview")
def preview(
    name: str = typer.Argument(..., help="A scheduled report."),
    start: Optional[str] = typer.Option(None, "--from", help="First local day (YYYY-MM-DD; default today)."),
    days: int = typer.Option(7, "--days", min=1, max=3660, help="How many days."),
) -> None:
    """The next fire times: local time with its UTC offset, the UTC instant; DST days marked."""
    from ..schedule.preview import lines

    cfg = config()
    for line in lines(cfg, name, _date(start, "--from") if start else None, days):
        typer.echo(line)


@schedule_app.command("status")
def status() -> None:
    """Each scheduled report: schedule, zone, last slot and its status, next slot."""
    from ..reports.runlog import RunLog
    from ..schedule.loop import check, schedule_status

    cfg = config()
    reports = check(cfg)
    if not reports:
        typer.echo("no report has a schedule")
        return
    data = schedule_status(cfg, RunLog(cfg.runlog_path), reports, dt.datetime.now(dt.UTC))
    for name, st in data.items():
        typer.echo(f"{name}: {st['schedule']} ({st['timezone']}) · last {st['last_slot'] or '-'} "
                   f"{st['last_status'] or ''} · next {st['next_local'] or '-'} ({st['next'] or '-'})"
                   + (f" · missed {len(st['missed'])}" if st["missed"] else "")
                   + (f" · failed {len(st['failed'])}" if st["failed"] else ""))


@app.command("backfill")
def backfill(
    name: str = typer.Argument(..., help="A scheduled report."),
    start: str = typer.Option(..., "--from", help="First local day, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last local day, YYYY-MM-DD (inclusive)."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Runs at once."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the slots and what would happen; run nothing."),
    rerun: Optional[str] = typer.Option(None, "--rerun", help="Run again slots that failed, or all of them."),
    executor: Optional[str] = typer.Option(None, "--executor", help=EXECUTOR_HELP),
) -> None:
    """Run the slots the schedule would have fired from D1 to D2; slots that succeeded are skipped."""
    from ..schedule.loop import Scheduler, check

    if rerun not in (None, "failed", "all"):
        raise UsageError(f"--rerun {rerun!r}: use failed or all")
    cfg = config()
    check(cfg, name)
    first, last = _date(start, "--from"), _date(end, "--to")
    if last < first:
        raise UsageError(f"--to {end} is before --from {start}; swap them")
    sched = Scheduler(cfg, executor=_executor(executor), jobs=jobs, log=_echo)
    if dry_run:
        for key, what in sched.backfill_plans(name, first, last, rerun):
            typer.echo(f"{key}  {what}")
        return
    results = sched.backfill(name, first, last, rerun)
    ok = sum(r.ok for r in results)
    typer.echo(f"backfill {name}: {len(results)} run(s), {ok} succeeded")
    if ok < len(results):
        raise RunFailed(f"{len(results) - ok} of {len(results)} runs did not succeed")
