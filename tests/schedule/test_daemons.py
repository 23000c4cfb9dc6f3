"""Daemons, ticks and crashes on one run log: real processes, the clock moved by --now.

- exactly once across a mix of ``workbench schedule`` daemons and ``schedule tick``s;
- SIGTERM/SIGINT to the foreground daemon: it waits for the run in flight, or (a second
  signal) stops it and records it as interrupted; nothing left running, no kernel left;
- SIGKILL at the named crash points (``workbench.reports.faults``): after claiming, with
  the run's folder staged, after publishing but before the log knew; the next tick leaves
  nothing stuck, one published folder per slot, the slot retried once when it may be.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.config import load_config
from workbench.reports.runlog import RunLog

from tests.support.projects import REPO, write_reports_config, write_notebook

pytestmark = pytest.mark.slow

NOW = "2026-11-05T05:30:10Z"  # 06:30:10 in Berlin: the 06:30 slot of the 5th is on time
SLOT = "2026-11-05T05:30:00Z"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
ENV.pop("WORKBENCH_CRASH_AT", None)


def notebook(path: Path) -> Path:
    """``mode``: 'ok' records; 'hold_once' waits for a file named 'release' on its first run.
    Every kernel appends its pid to kernels.txt (to check none outlives what should end it)."""
    return write_notebook(path, "from datetime import date\nday: date = date(2026, 1, 1)\nmode: str = 'ok'\n",
        "import os, time, pathlib, workbench.reports.kernel as k\n"
        "here = pathlib.Path(os.environ.get('WB_TEST_ROOT', '.'))\n"
        "with open(here / 'kernels.txt', 'a') as f:\n    f.write(f'{os.getpid()}\\n')\n"
        "flags = here / 'flags'; flags.mkdir(exist_ok=True)\n"
        "first = not (flags / mode).exists(); (flags / mode).touch()\n"
        "if mode == 'hold_once' and first:\n"
        "    deadline = time.monotonic() + 300\n"
        "    while not (here / 'release').exists() and time.monotonic() < deadline:\n"
        "        time.sleep(0.1)\n"
        "k.record('day', day.isoformat())\n")


def project(root: Path, **report) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    notebook(root / "slotted.ipynb")
    base = {"notebook": "slotted.ipynb", "schedule": "30 6 * * *", "timezone": "Europe/Berlin",
            "slot_parameter": "day", "slot_offset": "-1d", "retry_delay": "0s", "retries": 1}
    return write_reports_config(root, {"daily": {**base, **report}})


def start(cfg: Path, *args: str, crash: str | None = None, stderr=subprocess.PIPE) -> subprocess.Popen:
    env = {**ENV, "WB_TEST_ROOT": str(cfg.parent)}
    if crash:
        env["WORKBENCH_CRASH_AT"] = crash
    # a session of its own: a crash point kills the process group, never pytest's
    return subprocess.Popen([sys.executable, "-m", "workbench", "-c", str(cfg), *args], env=env, cwd=cfg.parent,
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True, start_new_session=True)


def tick(cfg: Path, crash: str | None = None) -> subprocess.Popen:
    return start(cfg, "schedule", "tick", "--now", NOW, "--jobs", "1", crash=crash)


def daemon(cfg: Path, stderr) -> subprocess.Popen:
    return start(cfg, "schedule", "--now", NOW, "--jobs", "1", stderr=stderr)


def runlog(cfg: Path) -> RunLog:
    return RunLog(load_config(cfg).runlog_path)


def wait_for(what, timeout: float = 300.0, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        for p in procs:
            assert p.poll() is None, f"process {p.args} ended early with {p.returncode}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def published(cfg: Path) -> list[str]:
    d = cfg.parent / "reports" / "daily"
    return sorted(p.name for p in d.iterdir() if p.is_dir() and not p.is_symlink()
                  and not p.name.startswith(".")) if d.is_dir() else []


def attempts(cfg: Path) -> list[tuple]:
    return [(r.attempt, r.status, r.failure_class) for r in runlog(cfg).slot_runs("daily", SLOT)]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kernels(cfg: Path) -> list[int]:
    f = cfg.parent / "kernels.txt"
    return [int(x) for x in f.read_text().split()] if f.exists() else []


def no_process_left(cfg: Path) -> None:
    """No kernel that ran a cell of this project is alive, nor any process whose command names it."""
    deadline = time.monotonic() + 15  # PR_SET_PDEATHSIG is asynchronous: give the kernel a moment to go
    while True:
        left = [pid for pid in kernels(cfg) if alive(pid)]
        ps = [line for line in subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True,
                                              text=True).stdout.splitlines()
              if str(cfg.parent) in line and " Z" not in line]
        if not left and not ps:
            return
        assert time.monotonic() < deadline, f"processes left: kernels {left}, {ps}"
        time.sleep(0.2)


def nothing_stuck(cfg: Path) -> None:
    assert not [r.id for r in runlog(cfg).runs() if r.status in ("running", "queued")]
    assert not list((cfg.parent / "reports" / "daily").glob(".staging-*"))


def test_two_daemons_and_two_ticks_on_one_run_log_run_the_slot_once(tmp_path):
    cfg = project(tmp_path / "p", parameters={"mode": "ok"})
    logs = [open(tmp_path / f"daemon{i}.log", "w+") for i in range(2)]
    procs = [daemon(cfg, logs[0]), tick(cfg), daemon(cfg, logs[1]), tick(cfg)]
    daemons, ticks = procs[0::2], procs[1::2]
    try:
        for t in ticks:
            assert t.wait(timeout=600) == 0, t.stderr.read()
        # the ticks waited for the runs they started; a daemon may have won the slot instead
        wait_for(lambda: [a[1] for a in attempts(cfg)] == ["succeeded"], procs=daemons)
        for d in daemons:
            assert d.poll() is None  # still serving: the next slot is tomorrow
            d.send_signal(signal.SIGTERM)
        assert [d.wait(timeout=120) for d in daemons] == [0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert attempts(cfg) == [(1, "succeeded", None)]
    assert len(runlog(cfg).runs()) == 1
    run = runlog(cfg).slot_runs("daily", SLOT)[0]
    assert run.values["day"] == "2026-11-04"
    assert published(cfg) == [run.id]
    assert os.readlink(cfg.parent / "reports" / "daily" / "latest") == run.id
    text = "".join((tmp_path / f"daemon{i}.log").read_text() for i in range(2))
    assert text.count("workbench schedule: stopped") == 2
    nothing_stuck(cfg)
    no_process_left(cfg)


@contextlib.contextmanager
def stopping_with_a_run_in_flight(tmp_path: Path,
                                  first: signal.Signals) -> Iterator[tuple[Path, Path, subprocess.Popen]]:
    """A daemon whose run holds (``mode = hold_once``), sent ``first`` while that run is in
    flight, once it logs that it waits for it: yields (config, daemon log, daemon process)
    and kills the daemon on the way out if it is still alive."""
    cfg = project(tmp_path / "p", parameters={"mode": "hold_once"})
    log = tmp_path / "daemon.log"
    with open(log, "w") as err:
        d = daemon(cfg, err)
    try:
        wait_for(lambda: (cfg.parent / "flags" / "hold_once").exists(), procs=[d])
        d.send_signal(first)
        wait_for(lambda: "stopping: waiting for 1 run(s) in flight" in log.read_text(), procs=[d])
        yield cfg, log, d
    finally:
        if d.poll() is None:
            d.kill()


def test_sigterm_waits_for_the_run_in_flight_then_exits_cleanly(tmp_path):
    with stopping_with_a_run_in_flight(tmp_path, signal.SIGTERM) as (cfg, log, d):
        assert attempts(cfg) == [(1, "running", None)]  # not interrupted: it is let finish
        (cfg.parent / "release").touch()
        assert d.wait(timeout=120) == 0, log.read_text()
    assert attempts(cfg) == [(1, "succeeded", None)]
    assert "workbench schedule: stopped" in log.read_text()
    assert published(cfg) == [runlog(cfg).slot_runs("daily", SLOT)[0].id]
    nothing_stuck(cfg)
    no_process_left(cfg)


def test_a_second_signal_interrupts_the_run_records_it_and_the_next_tick_retries_it(tmp_path):
    with stopping_with_a_run_in_flight(tmp_path, signal.SIGINT) as (cfg, log, d):
        d.send_signal(signal.SIGTERM)  # the second signal: stop the run now
        assert d.wait(timeout=60) == 0, log.read_text()
    (run,) = runlog(cfg).slot_runs("daily", SLOT)
    assert (run.status, run.failure_class) == ("failed", "retryable")
    assert run.error.startswith("interrupted")
    assert published(cfg) == []  # it never published
    no_process_left(cfg)  # the held kernel is gone with the daemon
    t = tick(cfg)
    assert t.wait(timeout=600) == 0, t.stderr.read()
    assert attempts(cfg) == [(1, "failed", "retryable"), (2, "succeeded", None)]
    nothing_stuck(cfg)


@pytest.mark.parametrize("point", ["claimed", "staged", "published"])
def test_sigkill_at_a_crash_point_leaves_one_publish_and_nothing_stuck(tmp_path, point):
    cfg = project(tmp_path / "p", parameters={"mode": "ok"})
    t = tick(cfg, crash=point)
    assert t.wait(timeout=600) == -signal.SIGKILL, t.stderr.read()
    (first,) = runlog(cfg).slot_runs("daily", SLOT)
    assert first.status == "running"  # the log does not know yet
    final = cfg.parent / "reports" / "daily" / first.id
    assert final.is_dir() == (point == "published")
    assert (cfg.parent / "reports" / "daily" / f".staging-{first.id}").is_dir() == (point == "staged")
    no_process_left(cfg)  # the kill took the pool worker, its fork server and kernel with it
    t = tick(cfg)
    assert t.wait(timeout=600) == 0, t.stderr.read()
    runs = runlog(cfg).slot_runs("daily", SLOT)
    if point == "published":  # it ended, and published: recorded from its folder, not run again
        assert attempts(cfg) == [(1, "succeeded", None)]
        assert runs[0].run_dir == f"daily/{first.id}" and runs[0].values["day"] == "2026-11-04"
    else:  # died before publishing: failed, retryable; retried once by the next tick
        assert attempts(cfg) == [(1, "failed", "retryable"), (2, "succeeded", None)]
    good = runs[-1]
    assert published(cfg) == [good.id]
    assert os.readlink(cfg.parent / "reports" / "daily" / "latest") == good.id
    assert json.loads((cfg.parent / "reports" / "daily" / good.id / "run.json").read_text())["status"] == "succeeded"
    nothing_stuck(cfg)
    # another tick (and one with the crash armed) changes nothing: the slot is done
    for crash in (None, point):
        t = tick(cfg, crash=crash)
        assert t.wait(timeout=600) == 0, t.stderr.read()
    assert len(runlog(cfg).slot_runs("daily", SLOT)) == len(runs)
    assert published(cfg) == [good.id]
    index = (cfg.parent / "reports" / "index.html").read_text()
    assert good.id in index
