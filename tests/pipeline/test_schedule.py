"""A scheduled pipeline runs each slot once, through the scheduler's slot claim, with the slot as its parameter."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from tests.pipeline.project import add_task, make_project
from workbench.config import load_config
from workbench.schedule.loop import FakeClock, Scheduler

REPO = Path(__file__).resolve().parents[2]


def test_a_slot_runs_once_with_its_day(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    toml = make_project(tmp_path)
    add_task(tmp_path, "daily", sql="select :day as day", lake="daily", writes=["daily"])
    toml.write_text(toml.read_text().replace('retry_delay = "0s"', 'retry_delay = "0s"\nschedule = "0 5 * * *"\n'
                                             'timezone = "Europe/Berlin"\nslot_parameter = "day"'))
    cfg = load_config(toml)
    at = dt.datetime(2026, 11, 5, 4, 0, 30, tzinfo=dt.UTC)  # 05:00 in Berlin
    logs: list[str] = []
    Scheduler(cfg, clock=FakeClock(at), log=logs.append).tick()
    Scheduler(cfg, clock=FakeClock(at + dt.timedelta(seconds=20)), log=logs.append).tick()
    assert logs == ["pipeline demo 2026-11-05T04:00:00Z: started"]

    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "data" / "lake" / "daily.parquet").to_pylist() == [{"day": dt.date(2026, 11, 5)}]
    with sqlite3.connect(cfg.runlog_path) as db:
        runs = db.execute("select status, slot, \"trigger\" from pipeline_runs").fetchall()
        claims = db.execute("select task, status from task_slots order by task").fetchall()
    assert runs == [("succeeded", "2026-11-05T04:00:00Z", "schedule")]
    assert claims == [("base", "ran"), ("daily", "ran"), ("final", "ran"), ("indep", "ran"), ("nb", "ran")]
