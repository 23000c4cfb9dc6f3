"""The run log: one row per report run, in SQLite (WAL), the source of truth for the index.

WAL lets a grid's workers write while the index page or ``workbench runs`` reads. Each
row carries the pid and host of the process that owns it, so the next start can tell a
run that is still going from one whose process was killed (SIGKILL, power loss) and
mark the latter failed instead of leaving it ``running`` forever.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .execute.processes import pid_alive

QUEUED, RUNNING = "queued", "running"
STATUSES = (QUEUED, RUNNING, "succeeded", "failed", "timed out")

SCHEMA = """
create table if not exists runs (
    id text primary key,
    report text not null,
    notebook text not null,
    parameters text not null,        -- JSON: the typed values as shown (dates as ISO text)
    status text not null,
    started_at real,                 -- unix seconds
    ended_at real,
    duration real,                   -- seconds
    error text,
    run_dir text,                    -- relative to the reports folder
    report_path text,
    notebook_path text,
    run_values text not null default '{}',  -- JSON: wb.record values
    sources text not null default '[]',
    pid integer,
    host text,
    queued_at real not null
);
create index if not exists runs_report on runs(report, queued_at);
"""


@dataclass
class Run:
    id: str
    report: str
    notebook: str
    parameters: dict[str, Any]
    status: str
    started_at: float | None
    ended_at: float | None
    duration: float | None
    error: str | None
    run_dir: str | None
    report_path: str | None
    notebook_path: str | None
    values: dict[str, Any]
    sources: list[str]
    pid: int | None
    host: str | None
    queued_at: float


class RunLog:
    """A handle on ``runlog.db``; cheap to open, one connection per call."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("pragma journal_mode=wal")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("pragma busy_timeout=30000")
        db.execute("pragma synchronous=normal")
        return db

    def _write(self, sql: str, args: tuple) -> None:
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            db.execute(sql, args)
            db.execute("commit")

    def add(self, run_id: str, report: str, notebook: str, parameters: dict[str, Any], status: str = QUEUED) -> None:
        self._write(
            "insert into runs (id, report, notebook, parameters, status, pid, host, queued_at) values (?,?,?,?,?,?,?,?)",
            (run_id, report, notebook, json.dumps(parameters), status, os.getpid(), socket.gethostname(), time.time()),
        )

    def start(self, run_id: str, started_at: float) -> None:
        self._write("update runs set status=?, started_at=?, pid=?, host=? where id=?",
                    (RUNNING, started_at, os.getpid(), socket.gethostname(), run_id))

    def finish(self, run_id: str, *, status: str, ended_at: float, duration: float, error: str | None,
               run_dir: str | None, report_path: str | None, notebook_path: str | None,
               values: dict[str, Any], sources: list[str]) -> None:
        self._write(
            "update runs set status=?, ended_at=?, duration=?, error=?, run_dir=?, report_path=?, notebook_path=?,"
            " run_values=?, sources=? where id=?",
            (status, ended_at, duration, error, run_dir, report_path, notebook_path,
             json.dumps(values), json.dumps(sources), run_id),
        )

    def recover(self) -> list[str]:
        """Mark runs whose process on this host is gone as failed; return their ids."""
        host = socket.gethostname()
        with closing(self._connect()) as db:
            rows = db.execute("select id, pid from runs where status in (?, ?) and host = ?",
                              (QUEUED, RUNNING, host)).fetchall()
        dead = [rid for rid, pid in rows if not pid_alive(pid)]
        for rid in dead:
            self._write(
                "update runs set status='failed', ended_at=coalesce(ended_at, ?), "
                "error='the run was interrupted: its process died (killed or crashed) before it finished' "
                "where id=? and status in (?, ?)",
                (time.time(), rid, QUEUED, RUNNING),
            )
        return dead

    def live_ids(self) -> set[str]:
        with closing(self._connect()) as db:
            return {r[0] for r in db.execute("select id from runs where status in (?, ?)", (QUEUED, RUNNING))}

    def runs(self, report: str | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        sql = ("select id, report, notebook, parameters, status, started_at, ended_at, duration, error, run_dir,"
               " report_path, notebook_path, run_values, sources, pid, host, queued_at from runs")
        args: tuple = ()
        if report:
            sql, args = sql + " where report = ?", (report,)
        sql += " order by queued_at desc, id desc"
        if limit:
            sql += f" limit {int(limit)}"
        with closing(self._connect()) as db:
            return [_row(r) for r in db.execute(sql, args)]

    def get(self, run_id: str) -> Run | None:
        with closing(self._connect()) as db:
            r = db.execute(
                "select id, report, notebook, parameters, status, started_at, ended_at, duration, error, run_dir,"
                " report_path, notebook_path, run_values, sources, pid, host, queued_at from runs where id=?",
                (run_id,)).fetchone()
        return _row(r) if r else None

    def reports(self) -> Iterator[str]:
        with closing(self._connect()) as db:
            yield from (r[0] for r in db.execute("select distinct report from runs order by report"))


def _row(r: tuple) -> Run:
    return Run(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
               json.loads(r[12]), json.loads(r[13]), r[14], r[15], r[16])
