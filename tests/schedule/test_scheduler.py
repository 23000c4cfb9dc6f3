"""The scheduler end to end: real kernels, real processes, one run log; the clock injected (--now, FakeClock).

Exactly once per slot across concurrent ``schedule tick`` processes; retries by failure
class; a tick SIGKILLed mid-run recovered by the next one; backfill; the hard timeout
killing the kernel's process group; config errors as one line and exit 2.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from workbench.config import load_config
from workbench.reports.runlog import RunLog
from workbench.schedule.loop import FakeClock, Scheduler

from tests.support.projects import REPO, write_reports_config, write_notebook

pytestmark = pytest.mark.slow

NOW = "2026-11-05T05:30:10Z"  # 06:30:10 in Berlin: the 06:30 slot of the 5th is on time
SLOT = "2026-11-05T05:30:00Z"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def notebook(path: Path, extra_params: str = "") -> Path:
    return write_notebook(path, "from datetime import date\nday: date = date(2026, 1, 1)\nmode: str = 'ok'\n"
                                       + extra_params,
        "import os, signal, time, pathlib, workbench.reports.kernel as k\n"
        "flags = pathlib.Path('flags'); flags.mkdir(exist_ok=True)\n"
        "first = not (flags / mode).exists(); (flags / mode).touch()\n"
        "if mode == 'die_once' and first:\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "if mode == 'raise':\n    raise ValueError('the notebook is wrong')\n"
        "if mode == 'slow_once' and first:\n    time.sleep(120)\n"
        "k.record('day', day.isoformat())\n")


def project(root: Path, reports: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    notebook(root / "slotted.ipynb")
    base = {"notebook": "slotted.ipynb", "schedule": "30 6 * * *", "timezone": "Europe/Berlin",
            "slot_parameter": "day", "slot_offset": "-1d", "retry_delay": "0s"}
    return write_reports_config(root, {n: {**base, **r} for n, r in reports.items()})


def wb(cfg: Path, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench", "-c", str(cfg), *args], capture_output=True, text=True,
                          env=ENV, cwd=cfg.parent, timeout=600, **kw)


def test_concurrent_ticks_run_each_slot_once_and_backfill_skips_what_succeeded(tmp_path):
    cfg = project(tmp_path / "p", {"daily": {"parameters": {"mode": "ok"}}})
    procs = [subprocess.Popen([sys.executable, "-m", "workbench", "-c", str(cfg), "schedule", "tick", "--now", NOW,
                               "--jobs", "1"], env=ENV, cwd=cfg.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(4)]
    codes = [p.wait(timeout=600) for p in procs]
    assert codes == [0, 0, 0, 0], [p.stderr.read() for p in procs]
    runs = json.loads(wb(cfg, "runs", "--format", "json").stdout)
    assert [(r["slot"], r["attempt"], r["status"]) for r in runs] == [(SLOT, 1, "succeeded")]
    assert runs[0]["parameters"]["day"] == "2026-11-04"  # the slot's local date, shifted by -1d
    # the same instant again, and an earlier one (a backward clock jump): nothing new
    assert wb(cfg, "schedule", "tick", "--now", NOW).returncode == 0
    assert wb(cfg, "schedule", "tick", "--now", "2026-11-03T05:30:10Z").returncode == 0
    assert len(json.loads(wb(cfg, "runs", "--format", "json").stdout)) == 1
    # backfill: the 4th and 5th; the 5th already succeeded
    dry = wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == ["2026-11-04T05:30:00Z  run", f"{SLOT}  skip: succeeded"]
    res = wb(cfg, "backfill", "daily", "--from", "2026-11-04", "--to", "2026-11-05", "--jobs", "2")
    assert res.returncode == 0, res.stderr
    runs = json.loads(wb(cfg, "runs", "--format", "json").stdout)
    assert sorted((r["slot"], r["attempt"]) for r in runs) == [("2026-11-04T05:30:00Z", 1), (SLOT, 1)]
    assert wb(cfg, "schedule", "status").stdout.startswith("daily: 30 6 * * * (Europe/Berlin)")
    index = (tmp_path / "p" / "reports" / "index.html").read_text()
    assert "30 6 * * *" in index and "next slot" in index


def test_retries_follow_the_failure_class(tmp_path):
    cfg = load_config(project(tmp_path / "p", {"dies": {"parameters": {"mode": "die_once"}, "retries": 2},
                                               "raises": {"parameters": {"mode": "raise"}, "retries": 2}}))
    clock = FakeClock(dt.datetime.fromisoformat(NOW))
    results = Scheduler(cfg, clock=clock, jobs=2, log=lambda m: None).tick()
    log = RunLog(cfg.runlog_path)
    dies = [(r.attempt, r.status, r.failure_class) for r in log.slot_runs("dies", SLOT)]
    raises = [(r.attempt, r.status, r.failure_class) for r in log.slot_runs("raises", SLOT)]
    assert dies == [(1, "failed", "retryable"), (2, "succeeded", None)]  # the kernel died: retried
    assert raises == [(1, "failed", "terminal")]                         # the notebook's own error: once
    assert len(results) == 3


def test_a_tick_killed_mid_run_leaves_nothing_running_and_the_next_tick_retries_once(tmp_path):
    cfg = project(tmp_path / "p", {"slow": {"parameters": {"mode": "slow_once"}, "retries": 1}})
    p = subprocess.Popen([sys.executable, "-m", "workbench", "-c", str(cfg), "schedule", "tick", "--now", NOW,
                          "--jobs", "1"], env=ENV, cwd=cfg.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = RunLog(load_config(cfg).runlog_path)
    flag = tmp_path / "p" / "flags" / "slow_once"
    deadline = time.monotonic() + 300
    while not flag.exists():  # the first attempt's cell is running
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.2)
    run = log.slot_runs("slow", SLOT)[0]
    assert run.status == "running" and run.lease_until is not None
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(1.0)  # the worker, its fork server and the kernel die with it (PR_SET_PDEATHSIG)
    res = wb(cfg, "schedule", "tick", "--now", NOW)
    assert res.returncode == 0, res.stderr
    runs = log.slot_runs("slow", SLOT)
    assert [(r.attempt, r.status, r.failure_class) for r in runs] == [
        (1, "failed", "retryable"), (2, "succeeded", None)]
    assert not [r for r in log.runs() if r.status in ("running", "queued")]
    published = [d.name for d in (tmp_path / "p" / "reports" / "slow").iterdir()
                 if not d.is_symlink() and (d / "report.html").exists()]
    assert published == [runs[1].id]  # the killed attempt never published
    # nothing of the killed run is left: no process still runs the slow cell
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    assert str(tmp_path / "p") not in ps
    # and a third tick does nothing more
    assert wb(cfg, "schedule", "tick", "--now", NOW).returncode == 0
    assert len(log.slot_runs("slow", SLOT)) == 2


def test_config_errors_are_one_line_with_exit_code_2(tmp_path):
    cases = [
        ({"slot_parameter": "nope"}, "reports.r.slot_parameter: slotted.ipynb declares no parameter 'nope'"),
        ({"slot_parameter": "mode"}, "reports.r.slot_parameter: 'mode' is declared as str, which cannot take a slot"),
        ({"schedule": "61 6 * * *"}, "reports.r.schedule: '61 6 * * *' is not a valid cron expression"),
        ({"timezone": "Mars/Olympus"}, "reports.r.timezone: unknown time zone 'Mars/Olympus'"),
        ({"catchup": "sometimes"}, "reports.r.catchup"),
        ({"overlap": "maybe"}, "reports.r.overlap: unknown overlap 'maybe'"),
    ]
    for i, (bad, msg) in enumerate(cases):
        cfg = project(tmp_path / f"p{i}", {"r": bad})
        res = wb(cfg, "schedule", "tick", "--now", NOW)
        assert res.returncode == 2, (bad, res.stderr)
        assert msg in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_executor_spec(tmp_path):
    from workbench.errors import UsageError
    from workbench.executors import check_spec, get_executor

    assert check_spec("dask://127.0.0.1:8786") == "dask://127.0.0.1:8786"
    with pytest.raises(UsageError, match="unknown executor"):
        check_spec("ray://x")
    try:
        import workbench.executors.dask  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="dask executor not installed"):
            get_executor("dask://127.0.0.1:1", jobs=1, root=tmp_path, env={})


def test_the_hard_timeout_interrupts_then_kills_the_kernels_process_group(tmp_path, monkeypatch):
    from workbench.reports import run_report
    from workbench.reports.execute import engine

    monkeypatch.setattr(engine, "INTERRUPT_GRACE", 1.0)
    nb = nbformat.v4.new_notebook()
    marker = f"wb-orphan-{os.getpid()}"
    nb.cells = [nbformat.v4.new_code_cell(
        "import signal, subprocess, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        f"child = subprocess.Popen(['sleep', '1000', '{marker}'][:2])\n"
        f"open('child.pid', 'w').write(str(child.pid))\n"
        "while True:\n    time.sleep(0.1)\n")]
    root = tmp_path / "p"
    root.mkdir()
    nbformat.write(nb, str(root / "stuck.ipynb"))
    cfg = load_config(write_reports_config(root, {"stuck": {"notebook": "stuck.ipynb", "timeout": "4s"}}))
    res = run_report("stuck", config=cfg, progress=False)
    assert res.status == "timed out" and res.failure_class == "terminal"
    child = int((root / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{child}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.1)
    else:
        raise AssertionError("the notebook's child process outlived the timeout")
