"""The run log: one row per report run, in SQLite (WAL), the source of truth for the index.

WAL lets a grid's workers write while the index page or ``workbench runs`` reads. Each
row carries the pid and host of the process that owns it, so the next start can tell a
run that is still going from one whose process was killed (SIGKILL, power loss) and
mark the latter failed instead of leaving it ``running`` forever.

The schema is versioned in ``pragma user_version`` so the file can grow without losing
the history people already have. :data:`MIGRATIONS` is an ordered list of steps, step
``n`` taking a file from version ``n`` to ``n + 1``. Opening a file older than
:data:`VERSION` applies the missing steps in one ``begin immediate`` transaction that
re-reads the version once it holds the write lock, so processes opening an old file
together migrate it once and never see it half-migrated. A brand-new file is made by
running every step from version 0: there is one way to build the schema, and every
fresh file exercises the same SQL an upgrade does. Files made before versions existed
have ``user_version`` 0 and a ``runs`` table; they are version 1 (step 1 is their
schema, unchanged). A file newer than this code, not SQLite, or SQLite without our
tables is refused with one line (:class:`~workbench.errors.ConfigError`: the path comes
from ``runlog`` in ``workbench.toml`` and the fix is there or in the install, not in a
report) before anything is written to it.

Version 2 adds what a scheduler and pipelines need: ``runs.slot`` (the slot's UTC
instant, ISO 8601; NULL for manual runs), ``attempt``, ``trigger``, ``failure_class``
and ``lease_until``; ``slots`` (a report's slot is claimed once, by primary key); and
``fingerprints`` (a pipeline task's last input fingerprints). Code from before versions
still reads and writes a version-2 file: every new column has a default.

Version 3 adds the pipeline tables (``pipeline_runs``, ``pipeline_tasks``,
``task_slots``), read and written by :mod:`.pipelinelog`.
Version 4 adds the remote state of publishing to an object store (``publish_to``):
``published_remote`` (a run's folder is complete under a target) and ``remote_targets``
(the last attempt at a target, its last completion and its error). A run's ``status``
never depends on the store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..errors import ConfigError, UsageError

from .execute.processes import pid_alive

QUEUED, RUNNING = "queued", "running"
STATUSES = (QUEUED, RUNNING, "succeeded", "failed", "timed out")
# Checked here, not by a CHECK constraint: SQLite cannot change a column's CHECK without
# rebuilding the table, and this list will grow.
TRIGGERS = ("manual", "grid", "schedule", "backfill", "pipeline")

# Version 1: the schema of the run log before versions existed, exactly (``if not
# exists`` and all), so step 1 on a fresh file makes what that code made.
V1 = ("""
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
)""", "create index if not exists runs_report on runs(report, queued_at)")

V2 = (
    "alter table runs add column slot text",                      # UTC instant, ISO 8601; NULL: manual
    "alter table runs add column attempt integer not null default 1",
    "alter table runs add column \"trigger\" text not null default 'manual'",  # one of TRIGGERS
    "alter table runs add column failure_class text",             # 'retryable', 'terminal'; NULL
    "alter table runs add column lease_until real",               # unix seconds; renewed while running
    "create index runs_slot on runs(report, slot, attempt)",
    """create table slots (
    report text not null,
    slot text not null,
    run_id text not null,
    claimed_at real not null,
    primary key (report, slot)
)""",
    """create table fingerprints (
    pipeline text not null,
    task text not null,
    input text not null,
    fingerprint text not null,
    recorded_at real not null,
    primary key (pipeline, task, input)
)""",
)

# Version 3: pipelines (workbench.pipeline; read and written by .pipelinelog). A pipeline
# run, the state of each of its tasks, and a task's claim of a slot (so the local
# scheduler and an Airflow DAG calling ``pipeline run --only TASK --slot ...`` run each
# task of a slot once). What a task's last success depended on goes in ``fingerprints``
# (V2), keyed ``code``, ``param:NAME``, ``read:REF``, ``wrote:REF`` and ``run``.
V3 = (
    """create table pipeline_runs (
    id text primary key,
    pipeline text not null,
    status text not null,            -- running, succeeded, failed, interrupted
    parameters text not null default '{}',
    slot text,                       -- UTC instant, ISO 8601; NULL: not a scheduled run
    "trigger" text not null default 'manual',
    started_at real not null,
    ended_at real,
    pid integer,
    host text
)""",
    "create index pipeline_runs_name on pipeline_runs(pipeline, started_at)",
    """create table pipeline_tasks (
    run_id text not null,
    task text not null,
    status text not null,            -- pending, running, ran, skipped, failed, upstream_failed
    reason text not null default '',
    attempt integer not null default 0,
    started_at real,
    ended_at real,
    duration real,
    report_run text,                 -- the runs.id of a notebook task's run
    error text,
    primary key (run_id, task)
)""",
    """create table task_slots (
    pipeline text not null,
    task text not null,
    slot text not null,
    run_id text not null,
    status text not null,            -- running, ran, skipped, failed
    claimed_at real not null,
    pid integer,
    host text,
    primary key (pipeline, task, slot)
)""",
)

V4 = (
    # a run whose folder is complete in an object store (issue 11): the remote state, kept
    # apart from the run's status (a run that succeeded stays succeeded if the store was down)
    """create table published_remote (
    target text not null,            -- s3://bucket/prefix
    run_id text not null,
    published_at real not null,
    primary key (target, run_id)
)""",
    # the last publish to each target: when it was tried, when it last completed, what failed
    """create table remote_targets (
    target text primary key,
    attempted_at real not null,
    completed_at real,
    error text
)""",
)

Step = Sequence[str] | Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Step] = [V1, V2, V3, V4]  # MIGRATIONS[n] takes version n to n + 1; append only
VERSION = len(MIGRATIONS)

# The columns today's code reads, in the order _row expects them.
COLUMNS = ("id, report, notebook, parameters, status, started_at, ended_at, duration, error, run_dir,"
           " report_path, notebook_path, run_values, sources, pid, host, queued_at,"
           " slot, attempt, \"trigger\", failure_class, lease_until")
V1_COLUMNS = {"id", "report", "notebook", "parameters", "status", "started_at", "ended_at", "duration", "error",
              "run_dir", "report_path", "notebook_path", "run_values", "sources", "pid", "host", "queued_at"}


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
    slot: str | None = None           # the slot's UTC instant, ISO 8601 (see slot_text); None: manual
    attempt: int = 1
    trigger: str = "manual"           # one of TRIGGERS
    failure_class: str | None = None  # 'retryable' or 'terminal' once a failed run is classified
    lease_until: float | None = None  # unix seconds; a running run past it has lost its lease; finish clears it


def slot_text(slot: str | dt.datetime) -> str:
    """The one spelling of a slot: UTC, ISO 8601, ``Z`` (``2024-05-01T06:00:00Z``).

    Slots are claimed by text equality, so ``06:00Z``, ``06:00+00:00`` and ``08:00+02:00``
    must become the same key; an instant without a zone means nothing and is refused.
    """
    when = dt.datetime.fromisoformat(slot) if isinstance(slot, str) else slot
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError(f"slot {slot!s} has no time zone; give it in UTC, e.g. 2024-05-01T06:00:00Z")
    when = when.astimezone(dt.UTC)
    return when.isoformat(timespec="microseconds" if when.microsecond else "seconds").replace("+00:00", "Z")


def _version(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, or a ConfigError if it is not a run log we can use."""
    try:
        version = db.execute("pragma user_version").fetchone()[0]
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
        columns = {r[1] for r in db.execute("pragma table_info(runs)")}
    except sqlite3.DatabaseError as e:
        raise _not_sqlite(path, e) from None
    if version == 0 and not tables:
        return 0  # new (or empty) file
    if "runs" not in tables or not V1_COLUMNS <= columns:
        raise ConfigError(f"{path} is an SQLite database but not a workbench run log (no runs table of ours); "
                          "point `runlog` in workbench.toml at another file, or move this one away")
    if version > VERSION:
        raise ConfigError(f"{path} is run log schema version {version}, but this workbench understands up to "
                          f"version {VERSION}; upgrade workbench, or point `runlog` in workbench.toml at another file")
    return max(version, 1)  # user_version 0 with our runs table: made before versions existed


def _wal(db: sqlite3.Connection, wait: float = 30.0) -> None:
    """Put the file in WAL mode (a no-op once it is).

    Switching a rollback-journal file needs an exclusive lock, and SQLite answers "database
    is locked" at once, without its busy handler, while other processes hold theirs (they
    are opening the same file). So retry, for as long as the busy timeout would wait.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            db.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _not_sqlite(path: Path, e: sqlite3.DatabaseError) -> ConfigError:
    # "file is not a database", "database disk image is malformed"
    return ConfigError(f"{path} is not a workbench run log (SQLite says: {e}); point `runlog` in "
                       "workbench.toml at another file, or move this one away")


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file to VERSION; one transaction, decided again under the write lock."""
    db.execute("begin immediate")
    try:
        version = _version(db, path)
        for step in MIGRATIONS[version:]:
            if callable(step):
                step(db)
            else:
                for sql in step:  # one by one: executescript would commit the transaction
                    db.execute(sql)
        if version < VERSION:
            db.execute(f"pragma user_version = {VERSION}")
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise


class RunLog:
    """A handle on ``runlog.db``; cheap to open, one connection per call.

    Opening checks the schema version (a read, no lock, when it is current) and migrates
    an older file; see the module docstring.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
        except sqlite3.DatabaseError as e:
            raise _not_sqlite(self.path, e) from None
        with closing(db):
            current = _version(db, self.path) == VERSION  # before any write: a refused file stays as it was
            _wal(db)
            if not current:
                _migrate(db, self.path)

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

    def add(self, run_id: str, report: str, notebook: str, parameters: dict[str, Any], status: str = QUEUED, *,
            slot: str | dt.datetime | None = None, attempt: int = 1, trigger: str = "manual") -> None:
        """Log a new run. ``slot`` (made UTC by :func:`slot_text`) and ``attempt`` are for scheduled runs."""
        if trigger not in TRIGGERS:
            raise UsageError(f"unknown run trigger {trigger!r}; use one of {', '.join(TRIGGERS)}")
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise UsageError(f"a run's attempt is a whole number from 1, not {attempt!r}")
        self._write(
            "insert into runs (id, report, notebook, parameters, status, pid, host, queued_at,"
            ' slot, attempt, "trigger") values (?,?,?,?,?,?,?,?,?,?,?)',
            (run_id, report, notebook, json.dumps(parameters), status, os.getpid(), socket.gethostname(), time.time(),
             None if slot is None else slot_text(slot), attempt, trigger),
        )

    def start(self, run_id: str, started_at: float) -> None:
        self._write("update runs set status=?, started_at=?, pid=?, host=? where id=?",
                    (RUNNING, started_at, os.getpid(), socket.gethostname(), run_id))

    def finish(self, run_id: str, *, status: str, ended_at: float, duration: float, error: str | None,
               run_dir: str | None, report_path: str | None, notebook_path: str | None,
               values: dict[str, Any], sources: list[str], failure_class: str | None = None) -> None:
        """Record how a run ended; ``failure_class`` ('retryable', 'terminal') tells a scheduler whether to retry."""
        self._write(
            "update runs set status=?, ended_at=?, duration=?, error=?, run_dir=?, report_path=?, notebook_path=?,"
            " run_values=?, sources=?, failure_class=?, lease_until=null where id=?",
            (status, ended_at, duration, error, run_dir, report_path, notebook_path,
             json.dumps(values), json.dumps(sources), failure_class, run_id),
        )

    def claim_slot(self, report: str, slot: str | dt.datetime, run_id: str) -> bool:
        """Claim ``(report, slot)`` for ``run_id``: True for the first claimer only, ever.

        The primary key decides, inside one ``begin immediate`` transaction, so any number
        of schedulers (processes, hosts sharing the file) run a slot once. The slot is
        spelled by :func:`slot_text` first, so one instant is one slot whatever its zone.
        """
        return self._insert_once(("insert into slots (report, slot, run_id, claimed_at) values (?,?,?,?)",
                                  (report, slot_text(slot), run_id, time.time())))

    def _insert_once(self, *statements: tuple[str, tuple]) -> bool:
        """Run ``statements`` in one immediate transaction; False (nothing written) when a
        unique key says another process got there first."""
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            try:
                for sql, args in statements:
                    db.execute(sql, args)
            except sqlite3.IntegrityError:
                db.execute("rollback")
                return False
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")
            return True

    def claim_run(self, report: str, slot: str | dt.datetime, run_id: str, notebook: str,
                  parameters: dict[str, Any], *, trigger: str, lease: float | None = None) -> bool:
        """Claim ``(report, slot)`` and add its first attempt as ``run_id``, in one transaction.

        Like :meth:`claim_slot`, True for the first claimer only; but a claimer killed
        right after it can leave no claim without a run: the run row (this process's
        pid and host, ``running``) is there from the start, and recovery sees it die.
        """
        if trigger not in TRIGGERS:
            raise UsageError(f"unknown run trigger {trigger!r}; use one of {', '.join(TRIGGERS)}")
        key, now = slot_text(slot), time.time()
        return self._insert_once(
            ("insert into slots (report, slot, run_id, claimed_at) values (?,?,?,?)", (report, key, run_id, now)),
            ("insert into runs (id, report, notebook, parameters, status, pid, host, queued_at,"
             ' slot, attempt, "trigger", lease_until) values (?,?,?,?,?,?,?,?,?,?,?,?)',
             (run_id, report, notebook, json.dumps(parameters), RUNNING, os.getpid(), socket.gethostname(),
              now, key, 1, trigger, None if lease is None else now + lease)))

    def slot_claim(self, report: str, slot: str | dt.datetime) -> str | None:
        """The run id that claimed ``(report, slot)``, or None."""
        with closing(self._connect()) as db:
            r = db.execute("select run_id from slots where report=? and slot=?", (report, slot_text(slot))).fetchone()
        return r[0] if r else None

    def renew_lease(self, run_id: str, until: float) -> bool:
        """Extend a running run's lease to ``until``; False if the run is no longer running."""
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            n = db.execute("update runs set lease_until=? where id=? and status=?", (until, run_id, RUNNING)).rowcount
            db.execute("commit")
        return n == 1

    def record_fingerprint(self, pipeline: str, task: str, input: str, fingerprint: str) -> None:
        """Remember ``fingerprint`` as what ``task`` of ``pipeline`` last consumed from ``input``."""
        self._write(
            "insert into fingerprints (pipeline, task, input, fingerprint, recorded_at) values (?,?,?,?,?)"
            " on conflict (pipeline, task, input) do update set fingerprint=excluded.fingerprint,"
            " recorded_at=excluded.recorded_at",
            (pipeline, task, input, fingerprint, time.time()),
        )

    def fingerprints(self, pipeline: str, task: str) -> dict[str, str]:
        """``input -> fingerprint`` last recorded for ``task`` of ``pipeline``."""
        with closing(self._connect()) as db:
            return dict(db.execute("select input, fingerprint from fingerprints where pipeline=? and task=?",
                                   (pipeline, task)))

    def recover(self, published: Callable[[Run], dict[str, Any] | None] | None = None) -> list[str]:
        """Mark runs whose process on this host is gone as failed; return their ids.

        ``published(run)`` may return the fields of :meth:`finish` for a run that was
        published before its process died (its folder exists): that run is recorded as
        it ended, not failed, so nobody runs its slot again.
        """
        host = socket.gethostname()
        with closing(self._connect()) as db:
            rows = db.execute("select id, pid from runs where status in (?, ?) and host = ?",
                              (QUEUED, RUNNING, host)).fetchall()
        dead = [rid for rid, pid in rows if not pid_alive(pid)]
        if published is not None:
            dead = [rid for rid in dead if not self.settle(rid, published)]
        for rid in dead:  # a process that died is the world in the way: worth another attempt
            self._write(
                "update runs set status='failed', ended_at=coalesce(ended_at, ?), failure_class='retryable', "
                "lease_until=null, "
                "error='the run was interrupted: its process died (killed or crashed) before it finished' "
                "where id=? and status in (?, ?)",
                (time.time(), rid, QUEUED, RUNNING),
            )
        return dead

    def settle(self, run_id: str, published: Callable[[Run], dict[str, Any] | None]) -> bool:
        """Record a live-looking run from its published folder, if it has one; True if it did."""
        run = self.get(run_id)
        fields = published(run) if run is not None else None
        if not fields:
            return False
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            n = db.execute(
                "update runs set status=?, ended_at=?, duration=?, error=?, run_dir=?, report_path=?, notebook_path=?,"
                " run_values=?, sources=?, failure_class=?, lease_until=null where id=? and status in (?, ?)",
                (fields["status"], fields["ended_at"], fields["duration"], fields["error"], fields["run_dir"],
                 fields["report_path"], fields["notebook_path"], json.dumps(fields["values"]),
                 json.dumps(fields["sources"]), fields["failure_class"], run_id, QUEUED, RUNNING)).rowcount
            db.execute("commit")
        return n == 1

    def expire_leases(self, now: float | None = None,
                      published: Callable[[Run], dict[str, Any] | None] | None = None) -> list[str]:
        """Mark running runs whose lease lapsed as failed (retryable); return their ids.

        A run on this host whose process still lives keeps its row (its own timeout ends
        it); :meth:`recover` handles this host's dead processes at once. The update is
        conditional on the lapsed lease, so of many processes doing this only one wins a run.
        """
        now = time.time() if now is None else now
        host = socket.gethostname()
        with closing(self._connect()) as db:
            rows = db.execute("select id, pid, host from runs where status in (?, ?) and lease_until is not null"
                              " and lease_until < ?", (QUEUED, RUNNING, now)).fetchall()
        lost = []
        for rid, pid, h in rows:
            if h == host and pid_alive(pid):
                continue
            if published is not None and self.settle(rid, published):
                continue
            with closing(self._connect()) as db:
                db.execute("begin immediate")
                n = db.execute(
                    "update runs set status='failed', ended_at=?, failure_class='retryable', lease_until=null,"
                    " error='the run was lost: the process running it stopped renewing its lease' "
                    "where id=? and status in (?, ?) and lease_until < ?", (now, rid, QUEUED, RUNNING, now)).rowcount
                db.execute("commit")
            if n:
                lost.append(rid)
        return lost

    def slot_runs(self, report: str, slot: str | dt.datetime) -> list[Run]:
        """The attempts at ``(report, slot)``, first attempt first."""
        with closing(self._connect()) as db:
            return [_row(r) for r in db.execute(f"select {COLUMNS} from runs where report=? and slot=? order by attempt",
                                                (report, slot_text(slot)))]

    def claims(self, report: str, since: str | None = None) -> dict[str, tuple[str, float]]:
        """``slot -> (run id, claimed at)`` of the report's claimed slots (from ``since``, a slot text, on)."""
        sql, args = "select slot, run_id, claimed_at from slots where report=?", (report,)
        if since is not None:
            sql, args = sql + " and slot >= ?", (report, since)
        with closing(self._connect()) as db:
            return {r[0]: (r[1], r[2]) for r in db.execute(sql, args)}

    def last_claim(self, report: str) -> str | None:
        """The report's latest claimed slot (UTC text), or None."""
        with closing(self._connect()) as db:
            r = db.execute("select max(slot) from slots where report=?", (report,)).fetchone()
        return r[0] if r else None

    def claim_attempt(self, run_id: str, report: str, slot: str | dt.datetime, notebook: str,
                      parameters: dict[str, Any], *, trigger: str,
                      may: Callable[[Run | None, float | None], bool], lease: float | None = None) -> int | None:
        """Add the next attempt at a claimed slot if ``may(latest attempt, claimed_at)`` says so.

        All in one ``begin immediate`` transaction: of many processes deciding together
        that a slot needs another attempt (a retry, a rerun, a claim whose claimer died
        before adding its run), exactly one adds it. Returns the new attempt's number.
        """
        if trigger not in TRIGGERS:
            raise UsageError(f"unknown run trigger {trigger!r}; use one of {', '.join(TRIGGERS)}")
        key = slot_text(slot)
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            try:
                r = db.execute(f"select {COLUMNS} from runs where report=? and slot=? order by attempt desc limit 1",
                               (report, key)).fetchone()
                c = db.execute("select claimed_at from slots where report=? and slot=?", (report, key)).fetchone()
                latest = _row(r) if r else None
                if c is None or not may(latest, c[0]):
                    db.execute("rollback")
                    return None
                attempt = latest.attempt + 1 if latest else 1
                now = time.time()
                db.execute(
                    "insert into runs (id, report, notebook, parameters, status, pid, host, queued_at,"
                    ' slot, attempt, "trigger", lease_until) values (?,?,?,?,?,?,?,?,?,?,?,?)',
                    (run_id, report, notebook, json.dumps(parameters), RUNNING, os.getpid(), socket.gethostname(),
                     now, key, attempt, trigger, None if lease is None else now + lease))
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")
            return attempt

    def mark_published(self, target: str, run_ids: Sequence[str]) -> None:
        """Record that every object of ``run_ids``' folders is in ``target``."""
        now = time.time()
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            db.executemany("insert or ignore into published_remote (target, run_id, published_at) values (?,?,?)",
                           [(target, rid, now) for rid in run_ids])
            db.execute("commit")

    def published_runs(self, target: str) -> set[str]:
        """The run ids whose folders are complete in ``target``."""
        with closing(self._connect()) as db:
            return {r[0] for r in db.execute("select run_id from published_remote where target=?", (target,))}

    def publish_targets(self, run_ids: Sequence[str]) -> dict[str, list[str]]:
        """Run id -> the targets its folder is complete in (runs never published left out)."""
        out: dict[str, list[str]] = {}
        if not run_ids:
            return out
        with closing(self._connect()) as db:
            marks = ",".join("?" * len(run_ids))
            for rid, target in db.execute(f"select run_id, target from published_remote where run_id in ({marks})"
                                          " order by run_id, target", tuple(run_ids)):
                out.setdefault(rid, []).append(target)
        return out

    def note_publish(self, target: str, *, error: str | None) -> None:
        """Record an attempt at publishing to ``target``: completed (``error`` None) or what failed."""
        now = time.time()
        self._write(
            "insert into remote_targets (target, attempted_at, completed_at, error) values (?,?,?,?)"
            " on conflict (target) do update set attempted_at=excluded.attempted_at, error=excluded.error,"
            " completed_at=coalesce(excluded.completed_at, remote_targets.completed_at)",
            (target, now, None if error else now, error))

    def publish_state(self, target: str) -> dict[str, Any] | None:
        """``{attempted_at, completed_at, error}`` of the last publish to ``target``, or None."""
        with closing(self._connect()) as db:
            r = db.execute("select attempted_at, completed_at, error from remote_targets where target=?",
                           (target,)).fetchone()
        return None if r is None else {"attempted_at": r[0], "completed_at": r[1], "error": r[2]}

    def live_ids(self) -> set[str]:
        with closing(self._connect()) as db:
            return {r[0] for r in db.execute("select id from runs where status in (?, ?)", (QUEUED, RUNNING))}

    def runs(self, report: str | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        sql = f"select {COLUMNS} from runs"
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
            r = db.execute(f"select {COLUMNS} from runs where id=?", (run_id,)).fetchone()
        return _row(r) if r else None

    def reports(self) -> Iterator[str]:
        with closing(self._connect()) as db:
            yield from (r[0] for r in db.execute("select distinct report from runs order by report"))


def _row(r: tuple) -> Run:
    return Run(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
               json.loads(r[12]), json.loads(r[13]), r[14], r[15], r[16], r[17], r[18], r[19], r[20], r[21])
