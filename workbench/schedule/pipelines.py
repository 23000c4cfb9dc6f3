"""Scheduled pipelines: each slot of a ``[pipelines.NAME]`` with a ``schedule`` starts once.

Kept small on purpose: the slot is claimed in the run log's ``slots`` table (key
``pipeline:NAME``, the same primary-key claim as a report's), then the pipeline runs as
``workbench pipeline run NAME --slot SLOT`` in a child process, which passes the slot's
local date (or datetime) to ``slot_parameter`` and claims each task of the slot in
``task_slots`` (so an Airflow DAG exported from the same pipeline cannot run a task of
that slot twice). A child process, not a thread: the runner makes its own process pool,
and forking from the scheduler's threads is not safe. Retries happen inside the runner
(per task, by failure class); a slot whose runner was killed is not started again by
the scheduler, but its unfinished tasks' claims are released, so ``pipeline run NAME
--slot SLOT`` by hand (or Airflow's next try) finishes it, skipping what succeeded.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Callable

from ..config import Config
from ..reports.plan import new_run_id
from ..reports.runlog import RunLog, slot_text
from .cron import Schedule
from .slots import due

PREFIX = "pipeline:"


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def start_due(cfg: Config, runlog: RunLog, now: dt.datetime, log: Callable[[str], None],
              on_time: float | None = None) -> list[subprocess.Popen]:
    """Claim the due slots of every scheduled pipeline and start a runner for each; the processes."""
    procs = []
    for name, pc in cfg.pipelines.items():
        if not pc.schedule:
            continue
        key = PREFIX + name
        last = runlog.last_claim(key)
        kw = {} if on_time is None else {"on_time": on_time}
        for slot in due(Schedule(pc.schedule, pc.timezone), now, _parse(last) if last else None, pc.catchup,
                        pc.max_catchup, **kw):
            rid = new_run_id()
            if not runlog.claim_slot(key, slot, rid):
                continue  # another scheduler has it
            config = ["--config", str(cfg.path)] if cfg.path else []
            procs.append(subprocess.Popen([sys.executable, "-m", "workbench", *config, "pipeline", "run", name,
                                           "--slot", slot_text(slot)], cwd=cfg.root))
            log(f"pipeline {name} {slot_text(slot)}: started")
    return procs
