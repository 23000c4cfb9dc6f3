"""The scheduler: one pass (``schedule tick``) and the foreground loop (``schedule``).

The run log is the only state. A pass, at ``now``:

1. recovers: runs whose process died on this host, and runs elsewhere whose lease
   lapsed, become ``failed`` with class ``retryable`` (:meth:`RunLog.recover`,
   :meth:`RunLog.expire_leases`);
2. retries: a slot whose latest attempt failed retryably, with attempts left and its
   backoff elapsed, gets its next attempt, added by :meth:`RunLog.claim_attempt` in one
   immediate transaction (so of many schedulers one adds it); a slot claimed by a
   scheduler that died before adding its run gets its first attempt the same way;
3. claims: the slots due under the report's catch-up policy (:mod:`.slots`) are claimed
   with :meth:`RunLog.claim_slot` (the primary key decides: each slot runs once, whatever
   mix of daemons and ticks share the log), subject to ``overlap``.

Each run is submitted to the executor with a lease the executing process renews;
``slot_parameter`` receives the slot's local date or datetime. When a run ends for
good (succeeded, or failed with no retry to come) its notifiers are called.

The foreground loop sleeps until the next slot or retry is due (at most :data:`NAP`
seconds at a time, so a wall-clock jump is noticed; no polling in between) or until a
run ends, and stops on SIGTERM/SIGINT: it claims nothing more, waits for the runs in
flight (a second signal stops them, and they are recorded as interrupted), and exits.
The clock is injectable (:class:`Clock`), so tests move time instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from ..config import Config, ReportConfig
from ..errors import ConfigError, WorkbenchError
from ..executors import get_executor
from ..reports.model import Plan, RunResult, shown
from ..reports.plan import new_run_id, plan, resolve
from ..reports.publish import write_atomic
from ..reports.faults import crash_point
from ..reports.run import published_outcome, startup
from ..reports.runlog import RUNNING, Run, RunLog, slot_text
from ..executors import retry as R
from .cron import Schedule, slot_value
from .notify import notify
from .pipelines import start_due
from .slots import due

LEASE = 60.0          # seconds; the executing process renews every third of it
NAP = 60.0            # longest sleep of the foreground loop (to notice wall-clock jumps)
RECHECK = 600.0       # seconds between full passes while nothing is due (others' lapsed leases)
STALE_CLAIM = 2 * LEASE
SCHEDULES_FILE = ".schedules.json"  # what the index page shows per scheduled report


class Clock:
    """Wall time for slots, a monotonic clock for durations, and waiting on an event."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class ShiftedClock(Clock):
    """The real clock, moved to start at ``start`` (``workbench schedule --now``): it runs on in real time."""

    def __init__(self, start: dt.datetime):
        self.offset = start.astimezone(dt.UTC) - dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


class FakeClock(Clock):
    """A clock tests move: ``wait`` advances it instead of sleeping (unless the event is set)."""

    def __init__(self, now: dt.datetime):
        self._now = now.astimezone(dt.UTC)
        self._mono = 1000.0

    def now(self) -> dt.datetime:
        return self._now

    def set(self, now: dt.datetime) -> None:  # a wall-clock jump: the monotonic clock does not move
        self._now = now.astimezone(dt.UTC)

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)
        self._mono += seconds

    def monotonic(self) -> float:
        return self._mono

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        if event.wait(0.05):  # a run ending (real) still wakes the loop
            return True
        self.advance(max(0.0, seconds))
        return event.is_set()


@dataclasses.dataclass
class Scheduled:
    """A scheduled report, checked against its notebook."""

    name: str
    rc: ReportConfig
    schedule: Schedule
    slot_kind: str | None  # 'date' or 'datetime' when slot_parameter is set


def check(cfg: Config, only: str | None = None) -> dict[str, Scheduled]:
    """The scheduled reports of ``cfg``; a ConfigError (one line: the key and the fix) for a bad one."""
    from ..reports.params import inspect_notebook

    out: dict[str, Scheduled] = {}
    where = cfg.path or "workbench.toml"
    for name, rc in cfg.reports.items():
        if only is not None and name != only:
            continue
        if not rc.schedule:
            if only is not None:
                raise ConfigError(f"{where}: reports.{name}.schedule: missing; add schedule = \"30 6 * * *\" "
                                  "(cron: minute hour day month weekday)")
            continue
        sched = Schedule(rc.schedule, rc.timezone)
        kind = None
        if rc.slot_parameter:
            _, notebook, *_ = resolve(name, cfg)
            contract = inspect_notebook(notebook)
            p = contract.get(rc.slot_parameter)
            if p is None:
                raise ConfigError(f"{where}: reports.{name}.slot_parameter: {notebook.name} declares no parameter "
                                  f"{rc.slot_parameter!r}; declare `{rc.slot_parameter}: date` in its parameters "
                                  "cell or name one it declares")
            if p.type.is_list or p.type.scalar not in ("date", "datetime"):
                raise ConfigError(f"{where}: reports.{name}.slot_parameter: {rc.slot_parameter!r} is declared as "
                                  f"{p.type}, which cannot take a slot; declare it as date or datetime")
            kind = p.type.scalar
        out[name] = Scheduled(name, rc, sched, kind)
    if only is not None and only not in out:
        known = ", ".join(sorted(cfg.reports)) or "none"
        raise ConfigError(f"{where}: no report {only!r}; the reports are: {known}")
    return out


def _parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Scheduler:
    """Claims and runs due slots of every scheduled report of ``cfg``; see the module doc."""

    def __init__(self, cfg: Config, *, clock: Clock | None = None, executor: str | None = None, jobs: int = 2,
                 log: Callable[[str], None] | None = None, notify_sleep: Callable[[float], None] = time.sleep,
                 on_time: float | None = None):
        self.cfg = cfg
        self.clock = clock or Clock()
        self.spec = executor if executor is not None else cfg.settings.executor
        self.jobs = jobs
        self.log = log or (lambda m: print(m, flush=True))
        self.notify_sleep = notify_sleep
        self.on_time = on_time
        self.reports = check(cfg)
        self.runlog = RunLog(cfg.runlog_path)
        self._executor: Any = None
        self.inflight: dict[str, tuple[Future, Plan]] = {}
        self.ended: queue.Queue[str] = queue.Queue()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.results: list[RunResult] = []
        self._queued: dict[str, list[dt.datetime]] = {}
        self.pipeline_procs: list[Any] = []   # runners of scheduled pipelines (child processes)
        #: the site needs mirroring to ``publish_to`` (at start: a previous publish may have stopped half-way)
        self.publish_pending = bool(cfg.settings.publish_to)

    # ------------------------------------------------------------------ executor
    def executor(self) -> Any:
        if self._executor is None:
            self._executor = get_executor(self.spec, jobs=self.jobs, root=str(self.cfg.root),
                                          env={"WORKBENCH_CONFIG": str(self.cfg.path)} if self.cfg.path else {})
        return self._executor

    def close(self, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait)
            self._executor = None

    # ------------------------------------------------------------------ one pass
    def recover(self) -> None:
        startup(self.runlog, self.cfg.reports_dir)
        # leases are real time, whatever --now says
        self.runlog.expire_leases(time.time(), published=published_outcome(self.cfg.reports_dir))

    def pass_once(self) -> list[str]:
        """Claim and submit what is due now; the run ids started."""
        self.recover()
        now = self.clock.now()
        started: list[str] = []
        for s in self.reports.values():
            started += self._retries(s, now)
            started += self._due(s, now)
        self.pipeline_procs = [p for p in self.pipeline_procs if p.poll() is None]
        if not self.stopping.is_set():
            self.pipeline_procs += start_due(self.cfg, self.runlog, now, self.log, self.on_time)
        self.write_status(now)
        return started

    def _running(self, report: str) -> int:
        return sum(1 for r in self.runlog.runs(report, 200) if r.status == RUNNING)

    def _due(self, s: Scheduled, now: dt.datetime) -> list[str]:
        if self.stopping.is_set():
            return []
        last = self.runlog.last_claim(s.name)
        kw = {} if self.on_time is None else {"on_time": self.on_time}
        waiting = [t for t in self._queued.pop(s.name, []) if self.runlog.slot_claim(s.name, t) is None]
        slots = sorted(set(waiting) | set(due(s.schedule, now, _parse_ts(last) if last else None,
                                              s.rc.catchup, s.rc.max_catchup, **kw)))
        out = []
        for i, slot in enumerate(slots):
            limit = s.rc.overlap_limit or 1
            if self._running(s.name) >= limit:
                if s.rc.overlap == "queue":
                    self._queued[s.name] = slots[i:]
                    break
                if s.rc.overlap == "skip":
                    self._skip(s, slot)
                    continue
                self._queued[s.name] = slots[i:]  # allow:N full: wait for one to end
                break
            rid = self._claim(s, slot, trigger="schedule")
            if rid:
                out.append(rid)
        return out

    def _skip(self, s: Scheduled, slot: dt.datetime) -> None:
        rid = new_run_id()
        if self.runlog.claim_run(s.name, slot, rid, s.rc.notebook, {}, trigger="schedule"):
            now = time.time()
            self.runlog.finish(rid, status="failed", ended_at=now, duration=0.0,
                               error="skipped: the previous run of this report was still running (overlap = skip)",
                               run_dir=None, report_path=None, notebook_path=None, values={}, sources=[],
                               failure_class=R.TERMINAL)
            self.log(f"{s.name} {slot_text(slot)}: skipped (previous run still running)")

    def _plan(self, s: Scheduled, slot: dt.datetime, run_id: str) -> Plan:
        params: dict[str, Any] = {}
        if s.rc.slot_parameter and s.slot_kind:
            params[s.rc.slot_parameter] = slot_value(slot, s.schedule.zone, s.rc.slot_offset, s.slot_kind)
        (pl,) = plan(s.name, params, config=self.cfg)
        return dataclasses.replace(pl, run_id=run_id, lease=LEASE)

    def _claim(self, s: Scheduled, slot: dt.datetime, *, trigger: str) -> str | None:
        rid = new_run_id()
        try:
            pl = self._plan(s, slot, rid)
        except WorkbenchError as e:  # a parameter contract violation: fails once, not retried
            if self.runlog.claim_run(s.name, slot, rid, s.rc.notebook, {}, trigger=trigger):
                self._fail(rid, str(e), R.classify(e))
            return None
        if not self.runlog.claim_run(s.name, slot, rid, pl.notebook, shown(pl), trigger=trigger, lease=LEASE):
            return None  # another scheduler has it
        crash_point("claimed")
        self._submit(pl)
        self.log(f"{s.name} {slot_text(slot)}: started run {rid}")
        return rid

    def _fail(self, rid: str, error: str, fclass: str) -> None:
        self.runlog.finish(rid, status="failed", ended_at=time.time(), duration=0.0, error=error, run_dir=None,
                           report_path=None, notebook_path=None, values={}, sources=[], failure_class=fclass)
        run = self.runlog.get(rid)
        if run is not None:
            self._finished(run)

    def _retries(self, s: Scheduled, now: dt.datetime) -> list[str]:
        """Next attempts of slots that failed retryably (or whose claimer died before adding a run)."""
        if self.stopping.is_set():
            return []
        out = []
        latest: dict[str, Run] = {}
        for r in self.runlog.runs(s.name, 500):
            if r.slot and (r.slot not in latest or r.attempt > latest[r.slot].attempt):
                latest[r.slot] = r
        candidates = [slot for slot, r in latest.items()
                      if R.may_retry(r, s.rc.retries) and R.retry_at(r, s.rc.retry_delay) <= time.time()]
        # claims with no run at all: the claimer died between claiming and adding its run
        for slot, (rid, claimed_at) in self.runlog.claims(s.name, slot_text(now - dt.timedelta(days=2))).items():
            if slot not in latest and claimed_at < time.time() - STALE_CLAIM:
                candidates.append(slot)
        for slot in sorted(candidates):
            rid = new_run_id()
            try:
                pl = self._plan(s, _parse_ts(slot), rid)
            except WorkbenchError:
                continue

            def may(run: Run | None, claimed_at: float | None) -> bool:
                if run is None:
                    return claimed_at is not None and claimed_at < time.time() - STALE_CLAIM
                return R.may_retry(run, s.rc.retries) and R.retry_at(run, s.rc.retry_delay) <= time.time()

            attempt = self.runlog.claim_attempt(rid, s.name, slot, pl.notebook, shown(pl), trigger="schedule",
                                                may=may, lease=LEASE)
            if attempt:
                self._submit(pl)
                self.log(f"{s.name} {slot}: attempt {attempt} started as run {rid}")
                out.append(rid)
        return out

    def next_retry(self) -> float | None:
        """Unix time (real, like the runs' ends) of the earliest retry due, if any slot waits for one."""
        best = None
        for s in self.reports.values():
            latest: dict[str, Run] = {}
            for r in self.runlog.runs(s.name, 200):
                if r.slot and (r.slot not in latest or r.attempt > latest[r.slot].attempt):
                    latest[r.slot] = r
            for r in latest.values():
                if R.may_retry(r, s.rc.retries):
                    t = R.retry_at(r, s.rc.retry_delay)
                    best = t if best is None else min(best, t)
        return best

    # ------------------------------------------------------------------ runs in flight
    def _submit(self, pl: Plan) -> None:
        try:
            fut = self.executor().submit(pl)
        except Exception as e:
            self._fail(pl.run_id, f"the executor refused the run: {type(e).__name__}: {e}", R.classify(e))
            return
        self.inflight[pl.run_id] = (fut, pl)

        def done(_f: Future, rid: str = pl.run_id) -> None:
            self.ended.put(rid)
            self.wake.set()

        fut.add_done_callback(done)

    def reap(self) -> None:
        """Handle the runs that ended: record lost ones, notify final ones."""
        while True:
            try:
                rid = self.ended.get_nowait()
            except queue.Empty:
                return
            fut, pl = self.inflight.pop(rid, (None, None))
            if fut is None:
                continue
            try:
                self.results.append(fut.result())
            except Exception as e:  # the executor lost it (a worker died)
                run = self.runlog.get(rid)
                if run is not None and run.status == RUNNING and not self.runlog.settle(
                        rid, published_outcome(self.cfg.reports_dir)):  # died after publishing: it ended
                    self.runlog.finish(rid, status="failed", ended_at=time.time(), duration=0.0,
                                       error=f"the worker running it died ({type(e).__name__})", run_dir=None,
                                       report_path=None, notebook_path=None, values={}, sources=[],
                                       failure_class=R.RETRYABLE)
                run = self.runlog.get(rid)
                self.results.append(RunResult(rid, pl.report, run.status if run else "failed", shown(pl),
                                              run.error if run else str(e),
                                              failure_class=run.failure_class if run else R.RETRYABLE))
            run = self.runlog.get(rid)
            if run is not None:
                self._finished(run)

    def _finished(self, run: Run) -> None:
        self.publish_pending = bool(self.cfg.settings.publish_to)
        s = self.reports.get(run.report)
        if s is None:
            return
        self.log(f"{run.report} {run.slot}: run {run.id} {run.status}" + (f" ({run.error})" if run.error else ""))
        if not R.is_final(run, s.rc.retries):
            return
        if s.rc.notify and (run.status != "succeeded" or s.rc.notify_success):
            notify(s.rc.notify, run, self.cfg, log=self.log, sleep=self.notify_sleep)

    def wait_inflight(self) -> None:
        while self.inflight:
            self.wake.wait(1.0)
            self.wake.clear()
            self.reap()

    def interrupt_inflight(self) -> None:
        """Stop the runs in flight now; each is recorded as interrupted (retryable)."""
        ex = self._executor
        pool = getattr(ex, "_pool", None)
        for p in list(getattr(pool, "_processes", {}).values()):
            try:
                p.kill()
            except Exception:
                pass
        for rid, (_fut, _pl) in list(self.inflight.items()):
            run = self.runlog.get(rid)
            if run is not None and run.status == RUNNING:
                self.runlog.finish(rid, status="failed", ended_at=time.time(), duration=0.0,
                                   error="interrupted: the scheduler was stopped while the run was going",
                                   run_dir=None, report_path=None, notebook_path=None, values={}, sources=[],
                                   failure_class=R.RETRYABLE)
        self.inflight.clear()
        self.close(wait=False)

    # ------------------------------------------------------------------ the two commands
    def next_due(self, now: dt.datetime) -> dt.datetime | None:
        times = []
        for s in self.reports.values():
            f = s.schedule.next_after(now)
            if f:
                times.append(f.instant)
        r = self.next_retry()
        if r is not None:  # real time, seen on this clock
            times.append(now + dt.timedelta(seconds=max(0.0, r - time.time())))
        return min(times) if times else None

    def tick(self) -> list[RunResult]:
        """One pass at the clock's now; waits for its runs (and their retries) and returns them."""
        try:
            started = set(self.pass_once())
            while self.inflight:
                self.wait_inflight()
                # retries of this tick's slots that fall due while it waits
                retry = self.next_retry()
                if retry is not None and not self.stopping.is_set():
                    mine = {r.slot for r in (self.runlog.get(i) for i in started) if r}
                    pending = [r for s in self.reports.values() for r in self.runlog.runs(s.name, 200)
                               if r.slot in mine and R.may_retry(r, s.rc.retries)
                               and not any(o.slot == r.slot and o.attempt > r.attempt
                                           for o in self.runlog.slot_runs(r.report, r.slot))]
                    if pending:
                        wait_for = retry - time.time()  # backoff is real time (runs end in real time)
                        if wait_for > 0:
                            self.stopping.wait(wait_for)
                        started |= set(self.pass_once())
            for proc in self.pipeline_procs:
                proc.wait()
            if self.publish_pending:
                self.write_status(self.clock.now())  # the index with this tick's runs, then the store
            return self.results
        finally:
            self.close()

    def serve(self, max_passes: int | None = None) -> None:
        """The foreground loop; returns once :attr:`stopping` is set (SIGTERM/SIGINT) and the runs in flight ended.

        Between slots it only sleeps: a wake-up every :data:`NAP` seconds reads the clock
        (to notice a wall-clock jump) and sleeps on; a full pass runs when a slot or a
        retry is due, when a run ended, and every :data:`RECHECK` seconds (leases of
        runs elsewhere).
        """
        passes = 0
        last_full = None
        nxt: dt.datetime | None = None
        try:
            while not self.stopping.is_set():
                ended = not self.ended.empty()
                self.reap()
                now = self.clock.now()
                mono = self.clock.monotonic()
                if (last_full is None or ended or self._queued or (nxt is not None and now >= nxt)
                        or mono - last_full >= RECHECK):
                    self.pass_once()
                    last_full = mono
                    passes += 1
                    now = self.clock.now()
                    nxt = self.next_due(now)
                    if max_passes is not None and passes >= max_passes:
                        break
                nap = NAP if nxt is None else min(NAP, max(0.0, (nxt - now).total_seconds()))
                if self._queued:
                    nap = min(nap, 5.0)
                if not self.ended.empty() or self.stopping.is_set():
                    continue
                self.clock.wait(self.wake, nap)
                self.wake.clear()
            self.stopping.set()
            if self.inflight:
                self.log(f"stopping: waiting for {len(self.inflight)} run(s) in flight")
            self.wait_inflight()
        finally:
            self.close()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def inflight_ended(self) -> bool:
        return not self.ended.empty()

    # ------------------------------------------------------------------ backfill
    def backfill_plans(self, name: str, first: dt.date, last: dt.date, rerun: str | None = None
                       ) -> list[tuple[str, str]]:
        """``(slot, what)`` for each slot of ``name`` on local days first..last: 'run', 'rerun' or why it is skipped."""
        from .slots import in_range

        s = self.reports[name]
        out = []
        for f in in_range(s.schedule, first, last):
            key = slot_text(f.instant)
            runs = self.runlog.slot_runs(name, key)
            claimed = self.runlog.slot_claim(name, key) is not None
            latest = runs[-1] if runs else None
            if not claimed:
                out.append((key, "run"))
            elif latest is None or latest.status not in R.FINAL:
                out.append((key, "skip: running" if latest else "skip: claimed"))
            elif latest.status == "succeeded":
                out.append((key, "rerun" if rerun == "all" else "skip: succeeded"))
            else:
                out.append((key, "rerun" if rerun in ("failed", "all") else f"skip: {latest.status}"))
        return out

    def backfill(self, name: str, first: dt.date, last: dt.date, rerun: str | None = None) -> list[RunResult]:
        """Run the slots of ``name`` on local days first..last that need it; wait; the results."""
        s = self.reports[name]
        self.recover()
        try:
            for key, what in self.backfill_plans(name, first, last, rerun):
                slot = _parse_ts(key)
                if what == "run":
                    self._claim(s, slot, trigger="backfill")
                elif what == "rerun":
                    rid = new_run_id()
                    pl = self._plan(s, slot, rid)

                    def may(run: Run | None, _c: float | None) -> bool:
                        return run is not None and run.status in R.FINAL and (
                            rerun == "all" or run.status != "succeeded")

                    if self.runlog.claim_attempt(rid, name, key, pl.notebook, shown(pl), trigger="backfill",
                                                 may=may, lease=LEASE):
                        self._submit(pl)
            self.wait_inflight()
            self.write_status(self.clock.now())
            return self.results
        finally:
            self.close()

    # ------------------------------------------------------------------ status for the index page
    def status(self, now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
        now = now or self.clock.now()
        return schedule_status(self.cfg, self.runlog, self.reports, now)

    def write_status(self, now: dt.datetime) -> None:
        refresh_index(self.cfg, self.runlog, now, reports=self.reports, log=self.log)
        self.publish_remote()

    def publish_remote(self) -> None:
        """Mirror the site to ``publish_to`` once runs ended; a store that is down is one log line, retried next pass."""
        if not self.publish_pending:
            return
        from ..reports.remote import publish_quietly

        result, error = publish_quietly(self.cfg)
        if error:
            self.log(f"warning: {error}")
            return
        self.publish_pending = False
        if result is not None and result.sent:
            self.log(result.summary())


def refresh_index(cfg: Config, runlog: RunLog | None = None, now: dt.datetime | None = None, *,
                  reports: dict[str, Scheduled] | None = None,
                  log: Callable[[str], None] | None = None) -> Path | None:
    """Write ``reports/.schedules.json`` from ``workbench.toml`` and the run log, and rebuild the index.

    Any command that has the config calls this when it builds the index (``workbench
    index``, ``run``, ``backfill``, each scheduler pass), so the page shows each scheduled
    report's schedule, next slot, missed and failed slots whether or not a scheduler ever
    ran. (A run's own worker rebuilds the index from the last file written: the reports
    layer knows no cron.) A scheduled report whose config is broken is left out; the
    index is never worth a failed command. Returns the index's path, or None.
    """
    from ..reports.site import build_index

    try:
        runlog = runlog or RunLog(cfg.runlog_path)
        if reports is None:
            reports = {}
            for name in cfg.reports:
                try:
                    reports.update(check(cfg, name))
                except ConfigError:
                    continue
        data = schedule_status(cfg, runlog, reports, now or dt.datetime.now(dt.UTC))
        cfg.reports_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(cfg.reports_dir / SCHEDULES_FILE, json.dumps(data, indent=1))
        return build_index(cfg.reports_dir, runlog, cfg.report_descriptions())
    except Exception as e:  # noqa: BLE001 - the index's extra is never worth a failed pass
        (log or (lambda m: None))(f"could not write {SCHEDULES_FILE}: {e}")
        return None


def schedule_status(cfg: Config, runlog: RunLog, reports: dict[str, Scheduled],
                    now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Per scheduled report: schedule, zone, last slot and its status, next slot, missed and failed slots."""
    out = {}
    for name, s in reports.items():
        latest: dict[str, Run] = {}
        for r in runlog.runs(name, 500):
            if r.slot and (r.slot not in latest or r.attempt > latest[r.slot].attempt):
                latest[r.slot] = r
        claims = runlog.claims(name)
        nxt = s.schedule.next_after(now)
        last_slot = max(latest) if latest else None
        first = min(claims) if claims else None
        missed = []
        if first:
            for inst in s.schedule.instants(_parse_ts(first), now - dt.timedelta(seconds=120))[-50:]:
                if slot_text(inst) not in claims:
                    missed.append(slot_text(inst))
        failed = [k for k, r in sorted(latest.items()) if r.status in ("failed", "timed out")
                  and R.is_final(r, s.rc.retries)][-20:]
        out[name] = {
            "schedule": s.rc.schedule, "timezone": s.rc.timezone,
            "next": slot_text(nxt.instant) if nxt else None,
            "next_local": nxt.local(s.schedule.zone).isoformat() if nxt else None,
            "last_slot": last_slot, "last_status": latest[last_slot].status if last_slot else None,
            "missed": missed[-20:], "failed": failed,
        }
    return out


def install_signals(sched: "Scheduler") -> None:
    """SIGTERM/SIGINT: first stop claiming and wait for the runs in flight; a second one interrupts them."""
    count = {"n": 0}

    def handler(signum: int, _frame: Any) -> None:
        count["n"] += 1
        sched.stop()
        if count["n"] > 1:
            sched.interrupt_inflight()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


__all__ = ["Clock", "FakeClock", "ShiftedClock", "Scheduler", "check", "install_signals", "refresh_index",
           "schedule_status", "Path", "os"]
