"""The pipeline side of the run log: pipeline runs, task states, slot claims, last successes.

Same file, same rules as :mod:`.runlog` (one connection per call, ``begin immediate``
for every write). The tables come from its version-3 migration. Two guarantees the
runner builds on:

- a task's success is one transaction: its ``pipeline_tasks`` row becomes ``ran`` and
  the fingerprints of what that success depended on (``code``, ``param:NAME``,
  ``read:REF``, ``wrote:REF``, ``run``) replace the previous set, so a crash leaves the
  old success or the new one, never half of each;
- a task's slot (``task_slots``) is claimed by primary key: of the local scheduler, an
  Airflow task and a person at the command line, one runs it; a claim whose run failed,
  or whose process died, may be taken over by the next attempt.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from .execute.processes import pid_alive
from .runlog import RunLog, slot_text

RUN_STATES = ("running", "succeeded", "failed", "interrupted")
TASK_STATES = ("pending", "running", "ran", "skipped", "failed", "upstream_failed")


@dataclass
class TaskRow:
    run_id: str
    task: str
    status: str
    reason: str
    attempt: int
    started_at: float | None
    ended_at: float | None
    duration: float | None
    report_run: str | None
    error: str | None


_TASK_COLUMNS = "run_id, task, status, reason, attempt, started_at, ended_at, duration, report_run, error"


class PipelineLog:
    """Pipeline records in the run log at ``path`` (migrated on open, like :class:`RunLog`)."""

    def __init__(self, runlog: RunLog):
        self.runlog = runlog
        self.path = runlog.path

    def _connect(self):
        return self.runlog._connect()

    def _tx(self, *statements: tuple[str, tuple]) -> None:
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            try:
                for sql, args in statements:
                    db.execute(sql, args)
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")

    # -- runs ----------------------------------------------------------------------
    def start_run(self, run_id: str, pipeline: str, tasks: list[str], parameters: dict[str, Any], *,
                  slot: str | None = None, trigger: str = "manual") -> None:
        """A new pipeline run, with every task ``pending``, in one transaction."""
        now = time.time()
        self._tx(("insert into pipeline_runs (id, pipeline, status, parameters, slot, \"trigger\", started_at, pid,"
                  " host) values (?,?,?,?,?,?,?,?,?)",
                  (run_id, pipeline, "running", json.dumps(parameters, default=str),
                   None if slot is None else slot_text(slot), trigger, now, os.getpid(), socket.gethostname())),
                 *(("insert into pipeline_tasks (run_id, task, status) values (?,?,?)", (run_id, t, "pending"))
                   for t in tasks))

    def finish_run(self, run_id: str, status: str) -> None:
        self._tx(("update pipeline_runs set status=?, ended_at=? where id=?", (status, time.time(), run_id)))

    def set_task(self, run_id: str, task: str, status: str, reason: str = "", **fields: Any) -> None:
        """Update a task's row: ``status``, ``reason`` and any of attempt, started_at, ended_at,
        duration, report_run, error."""
        allowed = {"attempt", "started_at", "ended_at", "duration", "report_run", "error"}
        cols = [k for k in fields if k in allowed]
        sets = ", ".join(["status=?", "reason=?", *(f"{c}=?" for c in cols)])
        self._tx((f"update pipeline_tasks set {sets} where run_id=? and task=?",
                  (status, reason, *(fields[c] for c in cols), run_id, task)))

    def succeed(self, pipeline: str, run_id: str, task: str, fingerprints: dict[str, str], *, reason: str,
                duration: float, attempt: int, report_run: str | None = None) -> None:
        """Record ``task`` as ran and what its success depended on, in one transaction."""
        now = time.time()
        self._tx(("delete from fingerprints where pipeline=? and task=?", (pipeline, task)),
                 *(("insert into fingerprints (pipeline, task, input, fingerprint, recorded_at) values (?,?,?,?,?)",
                    (pipeline, task, k, v, now)) for k, v in {**fingerprints, "run": run_id}.items()),
                 ("update pipeline_tasks set status='ran', reason=?, ended_at=?, duration=?, attempt=?, report_run=?,"
                  " error=null where run_id=? and task=?", (reason, now, duration, attempt, report_run, run_id, task)))

    def last_success(self, pipeline: str, task: str) -> dict[str, str]:
        """The fingerprints of ``task``'s last success (empty if it never succeeded)."""
        return self.runlog.fingerprints(pipeline, task)

    def runs(self, pipeline: str, limit: int = 20) -> list[dict[str, Any]]:
        with closing(self._connect()) as db:
            rows = db.execute("select id, status, slot, \"trigger\", started_at, ended_at from pipeline_runs"
                              " where pipeline=? order by started_at desc limit ?", (pipeline, limit)).fetchall()
        return [dict(zip(("id", "status", "slot", "trigger", "started_at", "ended_at"), r)) for r in rows]

    def last_parameters(self, pipeline: str) -> dict[str, Any]:
        """The parameters the last run of ``pipeline`` was given (as text: typed again by the
        tasks), so ``pipeline show`` answers "would it run now" for the same values."""
        with closing(self._connect()) as db:
            row = db.execute("select parameters from pipeline_runs where pipeline=? order by started_at desc limit 1",
                             (pipeline,)).fetchone()
        return json.loads(row[0]) if row else {}

    def tasks(self, run_id: str) -> list[TaskRow]:
        with closing(self._connect()) as db:
            return [TaskRow(*r) for r in db.execute(
                f"select {_TASK_COLUMNS} from pipeline_tasks where run_id=? order by rowid", (run_id,))]

    def latest_tasks(self, pipeline: str) -> dict[str, TaskRow]:
        """Each task's row in the newest run that got to it (pending rows left out)."""
        with closing(self._connect()) as db:
            rows = db.execute(
                f"select {', '.join('t.' + c.strip() for c in _TASK_COLUMNS.split(','))} from pipeline_tasks t"
                " join pipeline_runs r on r.id = t.run_id where r.pipeline=? and t.status != 'pending'"
                " order by r.started_at", (pipeline,)).fetchall()
        return {r[1]: TaskRow(*r) for r in rows}  # later rows win

    # -- recovery ------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Mark pipeline runs whose runner died on this host ``interrupted``, their unfinished
        tasks ``failed`` and their slot claims ``failed`` (so the next attempt may take them)."""
        host = socket.gethostname()
        with closing(self._connect()) as db:
            rows = db.execute("select id, pid from pipeline_runs where status='running' and host=?",
                              (host,)).fetchall()
            claims = db.execute("select pipeline, task, slot, pid from task_slots where status='running' and host=?",
                                (host,)).fetchall()
        dead = [rid for rid, pid in rows if not pid_alive(pid)]
        now = time.time()
        for rid in dead:
            self._tx(("update pipeline_runs set status='interrupted', ended_at=? where id=? and status='running'",
                      (now, rid)),
                     ("update pipeline_tasks set status='failed', ended_at=coalesce(ended_at, ?), "
                      "error='interrupted: the pipeline runner died before the task finished' "
                      "where run_id=? and status='running'", (now, rid)),
                     ("update pipeline_tasks set status='failed', reason='not started: the runner died' "
                      "where run_id=? and status='pending'", (rid,)))
        for pipeline, task, slot, pid in claims:
            if not pid_alive(pid):
                self._tx(("update task_slots set status='failed' where pipeline=? and task=? and slot=? "
                          "and status='running'", (pipeline, task, slot)))
        return dead

    # -- slots ---------------------------------------------------------------------
    def claim_task_slot(self, pipeline: str, task: str, slot: str, run_id: str) -> tuple[bool, str | None]:
        """Claim ``task``'s ``slot`` for ``run_id``: ``(True, None)``, or ``(False, why not)``.

        Free, or held by a failed attempt (or one whose process died here): taken. Held
        by a run that ran or skipped it, or by a live process: refused with the reason.
        """
        key, now, host = slot_text(slot), time.time(), socket.gethostname()
        with closing(self._connect()) as db:
            db.execute("begin immediate")
            try:
                row = db.execute("select run_id, status, pid, host from task_slots where pipeline=? and task=? "
                                 "and slot=?", (pipeline, task, key)).fetchone()
                if row is not None:
                    holder, status, pid, h = row
                    taken = status in ("ran", "skipped") or (status == "running" and (h != host or pid_alive(pid)))
                    if taken:
                        db.execute("rollback")
                        what = "done" if status != "running" else "running"
                        return False, f"slot {key} already {what} by pipeline run {holder}"
                    db.execute("update task_slots set run_id=?, status='running', claimed_at=?, pid=?, host=? "
                               "where pipeline=? and task=? and slot=?",
                               (run_id, now, os.getpid(), host, pipeline, task, key))
                else:
                    db.execute("insert into task_slots (pipeline, task, slot, run_id, status, claimed_at, pid, host)"
                               " values (?,?,?,?,?,?,?,?)", (pipeline, task, key, run_id, "running", now,
                                                             os.getpid(), host))
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")
        return True, None

    def release_task_slot(self, pipeline: str, task: str, slot: str, run_id: str, status: str) -> None:
        """How the claimer's attempt at the slot ended: ran, skipped or failed."""
        self._tx(("update task_slots set status=? where pipeline=? and task=? and slot=? and run_id=?",
                  (status, pipeline, task, slot_text(slot), run_id)))
