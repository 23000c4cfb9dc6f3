"""Policies with real kernels and an injected clock (FakeClock / --now), never sleeping for a slot.

- ``overlap = skip | queue | allow:N``: a slot falls due while the previous run still runs;
- ``notify_success``: a success is notified only when asked;
- ``backfill --rerun failed|all``;
- the index page shows each scheduled report's schedule, next slot, missed and failed
  slots, computed from workbench.toml by ``workbench index`` (no scheduler ever ran).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.config import load_config
from workbench.reports.runlog import RunLog
from workbench.schedule.cron import Schedule
from workbench.schedule.loop import FakeClock, Scheduler, refresh_index

from tests.support.projects import REPO, write_reports_config, write_notebook

pytestmark = pytest.mark.slow

ENV = {**os.environ, "PYTHONPATH": str(REPO)}
ENV.pop("WORKBENCH_CRASH_AT", None)
T0 = dt.datetime(2026, 11, 5, 5, 30, tzinfo=dt.UTC)  # a slot of */5 * * * *


def slot(i: int) -> str:
    return (T0 + dt.timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def notebook(path: Path) -> Path:
    """'ok' records; 'hold' notes that it started, then waits for the file 'release';
    'fail_if_flagged' raises while a file fail-<day> exists."""
    return write_notebook(path, "from datetime import date\nday: date = date(2026, 1, 1)\nmode: str = 'ok'\n",
        "import os, time, pathlib, workbench.reports.kernel as k\n"
        "if mode == 'hold':\n"
        "    with open('started.txt', 'a') as f:\n        f.write(f'{os.getpid()}\\n')\n"
        "    deadline = time.monotonic() + 300\n"
        "    while not pathlib.Path('release').exists() and time.monotonic() < deadline:\n"
        "        time.sleep(0.05)\n"
        "if mode == 'fail_if_flagged' and pathlib.Path(f'fail-{day}').exists():\n"
        "    raise ValueError(f'flagged {day}')\n"
        "k.record('day', day.isoformat())\n")


def project(root: Path, reports: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    notebook(root / "n.ipynb")
    (root / "notify.sh").write_text("cat >> notified.jsonl\necho >> notified.jsonl\n")
    base = {"notebook": "n.ipynb", "retry_delay": "0s"}
    return write_reports_config(root, {n: {**base, **r} for n, r in reports.items()})


def wb(cfg: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", "-c", str(cfg), *args], capture_output=True, text=True,
                          env=ENV, cwd=cfg.parent, timeout=600)


def wait_for(what, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def started(root: Path) -> int:
    f = root / "started.txt"
    return len(f.read_text().split()) if f.exists() else 0


def statuses(log: RunLog, report: str) -> list[tuple]:
    return sorted((r.slot, r.attempt, r.status) for r in log.runs(report))


def notified(root: Path) -> list[dict]:
    f = root / "notified.jsonl"
    return [json.loads(x) for x in f.read_text().splitlines() if x.strip()] if f.exists() else []


@pytest.mark.parametrize("overlap", ["skip", "queue", "allow:2"])
def test_a_slot_due_while_the_previous_run_still_runs_follows_overlap(tmp_path, overlap):
    root = tmp_path / "p"
    cfg = load_config(project(root, {"m": {"schedule": "*/5 * * * *", "overlap": overlap,
                                           "parameters": {"mode": "hold"}, "notify": ["command:sh notify.sh"],
                                           "notify_success": True}}))
    clock = FakeClock(T0 + dt.timedelta(seconds=10))
    sched = Scheduler(cfg, clock=clock, jobs=2, log=lambda m: None, notify_sleep=lambda s: None)
    log = RunLog(cfg.runlog_path)
    try:
        assert len(sched.pass_once()) == 1
        wait_for(lambda: started(root) == 1)  # slot 0's cell is running
        clock.advance(300)  # slot 1 falls due while slot 0 runs
        new = sched.pass_once()
        if overlap == "skip":
            assert new == []
            assert statuses(log, "m") == [(slot(0), 1, "running"), (slot(1), 1, "failed")]
            (skipped,) = log.slot_runs("m", slot(1))
            assert skipped.error.startswith("skipped") and skipped.failure_class == "terminal"
        elif overlap == "queue":
            assert new == [] and statuses(log, "m") == [(slot(0), 1, "running")]  # waits its turn
        else:
            assert len(new) == 1  # allow:2: both at once
            wait_for(lambda: started(root) == 2)
            assert statuses(log, "m") == [(slot(0), 1, "running"), (slot(1), 1, "running")]
            clock.advance(300)  # a third slot: the limit of 2 is reached, so it waits
            assert sched.pass_once() == []
        (root / "release").touch()
        sched.wait_inflight()
        if overlap in ("queue", "allow:2"):
            assert len(sched.pass_once()) == 1  # the slot that waited starts once one ended
            sched.wait_inflight()
    finally:
        (root / "release").touch()
        sched.close()
    runs = {r.slot: r for r in log.runs("m")}
    if overlap == "skip":
        assert statuses(log, "m") == [(slot(0), 1, "succeeded"), (slot(1), 1, "failed")]
    elif overlap == "queue":
        assert statuses(log, "m") == [(slot(0), 1, "succeeded"), (slot(1), 1, "succeeded")]
        assert runs[slot(1)].started_at >= runs[slot(0)].ended_at  # one after the other
    else:
        assert statuses(log, "m") == [(slot(0), 1, "succeeded"), (slot(1), 1, "succeeded"),
                                      (slot(2), 1, "succeeded")]
        assert runs[slot(1)].started_at < runs[slot(0)].ended_at  # side by side
    # notify_success = true: each success is notified once, with the run as JSON
    ok = sorted(n["slot"] for n in notified(root) if n["status"] == "succeeded")
    assert ok == sorted(s for s, r in runs.items() if r.status == "succeeded")


def test_success_is_notified_only_with_notify_success(tmp_path):
    root = tmp_path / "p"
    cfg = load_config(project(root, {
        "quiet": {"schedule": "*/5 * * * *", "notify": ["command:sh notify.sh"]},
        "loud": {"schedule": "*/5 * * * *", "notify": ["command:sh notify.sh"], "notify_success": True},
        "broken": {"schedule": "*/5 * * * *", "notify": ["command:sh notify.sh"],
                   "parameters": {"mode": "fail_if_flagged"}}}))
    (root / "fail-2026-01-01").touch()
    results = Scheduler(cfg, clock=FakeClock(T0 + dt.timedelta(seconds=5)), jobs=2, log=lambda m: None,
                        notify_sleep=lambda s: None).tick()
    assert sorted((r.report, r.status) for r in results) == [
        ("broken", "failed"), ("loud", "succeeded"), ("quiet", "succeeded")]
    assert sorted((n["report"], n["status"], n["slot"]) for n in notified(root)) == [
        ("broken", "failed", slot(0)), ("loud", "succeeded", slot(0))]


def test_backfill_rerun_failed_and_all(tmp_path):
    root = tmp_path / "p"
    cfg = project(root, {"daily": {"schedule": "30 6 * * *", "timezone": "Europe/Berlin", "slot_parameter": "day",
                                   "slot_offset": "-1d", "parameters": {"mode": "fail_if_flagged"}}})
    s4, s5 = "2026-11-04T05:30:00Z", "2026-11-05T05:30:00Z"
    (root / "fail-2026-11-03").touch()  # the slot of the 4th reports on the 3rd, and fails
    res = wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05")
    assert res.returncode == 1 and "2 run(s), 1 succeeded" in res.stdout, res.stderr
    log = RunLog(load_config(cfg).runlog_path)
    assert statuses(log, "daily") == [(s4, 1, "failed"), (s5, 1, "succeeded")]
    dry = lambda *a: wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05", "--dry-run", *a)
    assert dry().stdout.splitlines() == [f"{s4}  skip: failed", f"{s5}  skip: succeeded"]
    assert dry("--rerun", "failed").stdout.splitlines() == [f"{s4}  rerun", f"{s5}  skip: succeeded"]
    assert dry("--rerun", "all").stdout.splitlines() == [f"{s4}  rerun", f"{s5}  rerun"]
    (root / "fail-2026-11-03").unlink()
    res = wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05", "--rerun", "failed")
    assert res.returncode == 0 and "1 run(s), 1 succeeded" in res.stdout, res.stderr
    assert statuses(log, "daily") == [(s4, 1, "failed"), (s4, 2, "succeeded"), (s5, 1, "succeeded")]
    assert [r.trigger for r in log.slot_runs("daily", s4)] == ["backfill", "backfill"]
    res = wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05", "--rerun", "all")
    assert res.returncode == 0 and "2 run(s), 2 succeeded" in res.stdout, res.stderr
    assert statuses(log, "daily") == [(s4, 1, "failed"), (s4, 2, "succeeded"), (s4, 3, "succeeded"),
                                      (s5, 1, "succeeded"), (s5, 2, "succeeded")]
    assert all(r.parameters["day"] == "2026-11-03" for r in log.slot_runs("daily", s4))
    res = wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05", "--rerun", "failed")
    assert res.returncode == 0 and "0 run(s)" in res.stdout  # nothing failed is left to rerun


def test_the_index_shows_schedule_next_missed_and_failed_slots_from_the_config(tmp_path):
    root = tmp_path / "p"
    cfg = project(root, {
        "daily": {"schedule": "30 6 * * *", "timezone": "Europe/Berlin", "slot_parameter": "day",
                  "slot_offset": "-1d", "catchup": "none", "parameters": {"mode": "fail_if_flagged"},
                  "description": "every morning"},
        "adhoc": {"description": "no schedule"}})
    # no scheduler ever ran: `workbench index` alone computes the schedule block from workbench.toml
    res = wb(cfg, "index")
    assert res.returncode == 0, res.stderr
    page = html.unescape((root / "reports" / "index.html").read_text())
    nxt = Schedule("30 6 * * *", "Europe/Berlin").next_after(dt.datetime.now(dt.UTC))
    assert "30 6 * * *" in page and "(Europe/Berlin)" in page
    assert f"next slot</b> {nxt.local(nxt_zone()).isoformat()}" in page
    assert page.count('class="sched"') == 1  # the unscheduled report has none
    # the 5th runs; the 6th fails (terminal); then the box is down until the 9th (catchup none):
    # the 7th and 8th are missed
    (root / "fail-2026-11-05").touch()
    for now in ("2026-11-05T05:30:10Z", "2026-11-06T05:30:10Z", "2026-11-09T05:30:10Z"):
        wb(cfg, "schedule", "tick", "--now", now)
    log = RunLog(load_config(cfg).runlog_path)
    assert statuses(log, "daily") == [("2026-11-05T05:30:00Z", 1, "succeeded"), ("2026-11-06T05:30:00Z", 1, "failed"),
                                      ("2026-11-09T05:30:00Z", 1, "succeeded")]
    (root / "reports" / ".schedules.json").unlink()  # not the scheduler's file: the config, again
    assert wb(cfg, "index").returncode == 0  # at the real now (weeks later): the failed slot, and missed ones
    page = html.unescape((root / "reports" / "index.html").read_text())
    assert "failed slots</b> 1: 2026-11-06T05:30:00Z" in page
    assert "missed</b> " in page
    assert f"next slot</b> {nxt.local(nxt_zone()).isoformat()}" in page
    # the same, built as of the 9th just after its slot (the clock injected): exactly the 7th and 8th missed
    (root / "reports" / ".schedules.json").unlink()
    refresh_index(load_config(cfg), now=dt.datetime(2026, 11, 9, 5, 40, tzinfo=dt.UTC))
    page = html.unescape((root / "reports" / "index.html").read_text())
    assert "missed</b> 2: 2026-11-07T05:30:00Z, 2026-11-08T05:30:00Z" in page
    assert "failed slots</b> 1: 2026-11-06T05:30:00Z" in page
    assert "next slot</b> 2026-11-10T06:30:00+01:00" in page


def nxt_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Berlin")
