"""Run a pipeline: tasks in topological order, independent ones in parallel, each only if needed.

:func:`run_pipeline` is the Python API behind ``workbench pipeline run``. For each task,
once its upstream tasks are done, :func:`.incremental.decide` says run or skip (with the
reason). Notebook tasks run as reports do (a :class:`~workbench.reports.model.Plan` on
an executor: the local pool or Dask), SQL tasks in a thread of this process
(:mod:`.sqltask`). A failed attempt is retried by the scheduler's rules
(:mod:`workbench.executors.retry`: retryable failures only, with backoff); a task that
fails for good marks its dependants ``upstream_failed`` while independent branches go
on. Tasks that read or write the same DuckDB warehouse never run at once: DuckDB lets
one process open a file for writing only when no other has it open.

Crash safety: a task's success (and what it depended on) is recorded only after its
output is in place, in one transaction; a runner killed mid-pipeline leaves its run
``running`` with a dead pid, which the next run marks ``interrupted``. That run then
skips the tasks that finished (their fingerprints are unchanged) and runs the rest.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .. import values as V
from ..config import Config
from ..errors import ParameterError, UsageError
from ..executors import retry as R
from ..reports import params as P
from ..reports.model import Plan, shown
from ..reports.pipelinelog import PipelineLog
from ..reports.plan import new_run_id, plan
from ..reports.runlog import RunLog
from . import fingerprint as F
from .graph import Graph, Task, build
from .incremental import Current, Decision, decide
from .sqltask import SqlJob, parameter_names, run_sql

RAN, SKIPPED, FAILED, UPSTREAM_FAILED = "ran", "skipped", "failed", "upstream_failed"
WOULD_RUN, WOULD_SKIP = "would_run", "would_skip"


@dataclass
class TaskResult:
    name: str
    status: str
    reason: str
    duration: float | None = None
    run_id: str = ""                 # the pipeline run
    attempt: int = 0
    report_run: str | None = None    # a notebook task's report run id
    error: str | None = None
    earlier: list[str] = field(default_factory=list)  # why each earlier attempt failed

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason,
                "duration": None if self.duration is None else round(self.duration, 3), "run_id": self.run_id,
                "attempt": self.attempt, "report_run": self.report_run, "error": self.error,
                "earlier_attempts": list(self.earlier)}


@dataclass
class PipelineResult:
    run_id: str
    pipeline: str
    tasks: list[TaskResult] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not any(t.status in (FAILED, UPSTREAM_FAILED) for t in self.tasks)


def _types(graph: Graph, contracts: dict[str, P.Contract]) -> dict[str, str]:
    """Parameter name -> type for SQL tasks' ``-p`` texts: as a notebook of the pipeline
    declares it, else as the config's value is (``parameters = { n = 10 }``: int)."""
    import datetime as dt
    import decimal

    out: dict[str, str] = {}
    for c in contracts.values():
        for p in c.parameters:
            out.setdefault(p.name, str(p.type).removesuffix(" | None"))
    kinds = ((bool, "bool"), (int, "int"), (float, "float"), (decimal.Decimal, "decimal"),
             (dt.datetime, "datetime"), (dt.date, "date"))
    configured = {**graph.pipeline.parameters, **{k: v for t in graph.tasks.values() for k, v in t.parameters.items()}}
    for name, value in configured.items():
        kind = next((k for cls, k in kinds if isinstance(value, cls)), None)
        if kind:
            out.setdefault(name, kind)
    return out


def _typed(value: Any, name: str, types: dict[str, str]) -> Any:
    if isinstance(value, str) and name in types and types[name] in V.SCALARS:
        return V.parse_text(value, types[name], name)
    return value


class _Prepared:
    """Everything about a task known before anything runs: its plan or SQL job and its hashes."""

    def __init__(self, task: Task, code: str, params: dict[str, Any], plan: Plan | None, job: SqlJob | None):
        self.task, self.code, self.params, self.plan, self.job = task, code, params, plan, job
        self.param_hashes = {k: F.param_hash(v) for k, v in params.items()}


def prepare(config: Config, graph: Graph, given: dict[str, Any],
            slot_values: dict[str, Any] | None = None) -> dict[str, _Prepared]:
    """Validate every task's parameters (one line for the first bad one) before anything runs.

    ``given`` (``-p``) must each be taken by some task; ``slot_values`` (the slot parameter)
    go to the tasks that take them, and to none without complaint."""
    pc = graph.pipeline
    contracts = {t.name: P.inspect_notebook(t.path) for t in graph.tasks.values() if t.kind == "notebook"}
    statements = {t.name: F.read_statement(t.path) for t in graph.tasks.values() if t.kind == "sql"}
    takes = {p.name for c in contracts.values() for p in c.parameters}
    takes |= {n for s in statements.values() for n in parameter_names(s)}
    for name in given:
        if name not in takes:
            raise ParameterError(f"-p {name}: no task of pipeline {graph.name!r} takes parameter {name!r}; "
                                 f"its parameters are: {', '.join(sorted(takes)) or 'none'}")
    types = _types(graph, contracts)
    out = {}
    for t in graph.tasks.values():
        layered = {**pc.parameters, **t.parameters, **given, **(slot_values or {})}
        if t.kind == "notebook":
            contract = contracts[t.name]
            values = {k: v for k, v in layered.items() if contract.get(k) is not None or k in t.parameters}
            (pl,) = plan(t.path, values, config=config, timeout=t.timeout)
            pl = dataclasses.replace(pl, report=f"{graph.name}.{t.name}",
                                     description=pc.task(t.name).description or pc.description)
            out[t.name] = _Prepared(t, F.code_hash("notebook", t.path), dict(pl.values), pl, None)
        else:
            stmt = statements[t.name]
            names = parameter_names(stmt)
            missing = [n for n in names if n not in layered]
            if missing:
                raise ParameterError(f"task {t.name}: {t.path.name} uses :{missing[0]} but no value is given; "
                                     f"add it to [pipelines.{graph.name}] parameters or pass -p {missing[0]} VALUE")
            values = {n: _typed(layered[n], n, types) for n in names}
            job = SqlJob(t.name, stmt, values, t.writes[0], t.timeout or config.settings.statement_timeout)
            out[t.name] = _Prepared(t, F.code_hash("sql", t.path), values, None, job)
    return out


def _warehouses(config: Config, task: Task) -> frozenset[str]:
    names = {r.partition(".")[0] for r in (*task.reads, *task.writes)}
    return frozenset(n for n in names if n in config.sources and config.sources[n].role == "warehouse")


class Runner:
    """One run of one pipeline; see the module doc."""

    def __init__(self, config: Config, name: str, *, params: dict[str, Any] | None = None,
                 force: Iterable[str] | bool = (), only: Iterable[str] | None = None, jobs: int = 2,
                 executor: str | None = None, dry_run: bool = False, slot: str | None = None,
                 trigger: str = "manual", session: Any = None, slot_values: dict[str, Any] | None = None,
                 on_event: Callable[[TaskResult], None] | None = None):
        self.config, self.graph = config, build(config, name)
        self.name = name
        self.only = self.graph.check_tasks(list(only), "--only") if only else None
        if force is True:
            self.forced = set(self.graph.order)
        else:
            self.forced = set(self.graph.check_tasks(list(force or ()), "--force"))
        self.jobs, self.executor_spec, self.dry_run = max(1, jobs), executor, dry_run
        self.slot, self.trigger, self.on_event = slot, trigger, on_event
        self.prepared = prepare(config, self.graph, dict(params or {}), slot_values)
        self.given = dict(params or {})
        self._session, self._own_session = session, session is None
        self.runlog = RunLog(config.runlog_path)
        self.log = PipelineLog(self.runlog)
        self.run_id = new_run_id()
        self.selected = [n for n in self.graph.order if self.only is None or n in self.only]
        self.results: dict[str, TaskResult] = {}
        self.wrote: dict[str, str | None] = {}     # ref -> output fingerprint, as of now
        self._stale_hub = False
        self._executor = None
        self._sql_pool: cf.ThreadPoolExecutor | None = None
        self._why: dict[str, str] = {}
        self._earlier: dict[str, list[str]] = {}   # task -> why its failed attempts failed

    # -- the session (fingerprints) ----------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            from ..query.session import Session

            self._session = Session(self.config)
        if self._stale_hub and self._session._hub is not None:
            self._session.hub.refresh()  # a task wrote: lake views and attached tables are read again
        self._stale_hub = False
        return self._session

    def _upstream_output(self, ref: str) -> str | None:
        if ref not in self.wrote:
            self.wrote[ref] = self.log.last_success(self.name, self.graph.writer[ref]).get(f"wrote:{ref}")
        return self.wrote[ref]

    def current(self, task: Task) -> Current:
        prep = self.prepared[task.name]
        reads: dict[str, str | None] = {}
        upstream = {}
        for ref in task.reads:
            if ref in self.graph.writer and self.graph.writer[ref] != task.name:
                upstream[ref] = self.graph.writer[ref]
                reads[ref] = self._upstream_output(ref)
            else:
                reads[ref] = F.input_fingerprint(self.session, ref)
        return Current(prep.code, prep.param_hashes, reads, upstream)

    def decision(self, task: Task) -> tuple[Decision, Current]:
        now = self.current(task)
        last = self.log.last_success(self.name, task.name)
        d = decide(last, now, forced=task.name in self.forced)
        if not d.run and task.writes:
            outputs = {ref: F.output_fingerprint(self.session, ref) for ref in task.writes}
            d = decide(last, now, outputs=outputs)
        return d, now

    # -- running ---------------------------------------------------------------------
    def _emit(self, res: TaskResult) -> None:
        self.results[res.name] = res
        if self.on_event:
            self.on_event(res)

    def _finish(self, name: str, status: str, reason: str, **kw: Any) -> None:
        res = TaskResult(name, status, reason, run_id=self.run_id, earlier=self._earlier.get(name, []), **kw)
        if not self.dry_run:
            fields = {k: v for k, v in kw.items() if k in ("duration", "attempt", "report_run", "error")}
            self.log.set_task(self.run_id, name, status, reason, ended_at=time.time(), **fields)
            if self.slot:
                self.log.release_task_slot(self.name, name, self.slot, self.run_id,
                                           RAN if status == RAN else SKIPPED if status == SKIPPED else FAILED)
        self._emit(res)

    def _may_run(self) -> bool:
        """Whether any notebook task could run (decided without reading outputs): the pool is
        made before any thread of ours starts, only when it may be needed."""
        could: set[str] = set()
        for n in self.selected:
            t = self.graph.tasks[n]
            if t.needs & could:
                could.add(n)
                continue
            now = self.current(t)
            if decide(self.log.last_success(self.name, n), now, forced=n in self.forced).run:
                could.add(n)
        return any(self.graph.tasks[n].kind == "notebook" for n in could)

    def _make_executor(self):
        if self._executor is None:
            from ..executors import get_executor
            from ..reports.run import kernel_env

            spec = self.executor_spec if self.executor_spec is not None else self.config.settings.executor
            some = next(p.plan for p in self.prepared.values() if p.plan is not None)
            self._executor = get_executor(spec, jobs=self.jobs, root=some.root, env=kernel_env(some))
        return self._executor

    def _submit(self, name: str, attempt: int):
        prep = self.prepared[name]
        if _warehouses(self.config, prep.task) and self._session is not None and self._session._hub is not None:
            # let go of every warehouse file before another process writes it (DuckDB: one
            # writer and no other process with the file open)
            self._session.hub.refresh()
        if prep.plan is not None:
            pl = dataclasses.replace(prep.plan, run_id=new_run_id())
            self.runlog.add(pl.run_id, pl.report, pl.notebook, shown(pl), attempt=attempt, trigger="pipeline")
            self.log.set_task(self.run_id, name, "running", "", attempt=attempt, started_at=time.time(),
                              report_run=pl.run_id)
            return self._make_executor().submit(pl), pl.run_id
        if self._sql_pool is None:
            self._sql_pool = cf.ThreadPoolExecutor(self.jobs, thread_name_prefix="pipeline-sql")
        self.log.set_task(self.run_id, name, "running", "", attempt=attempt, started_at=time.time())
        return self._sql_pool.submit(run_sql, self.config, prep.job), None

    def _outcome(self, name: str, fut: cf.Future) -> tuple[bool, str | None, str]:
        """(succeeded, error, failure class) of a finished attempt."""
        try:
            res = fut.result()
        except Exception as e:  # a SQL task's error, or a worker that died
            from ..secrets import one_line

            if self.prepared[name].plan is not None:
                return False, f"the worker running it died ({type(e).__name__})", R.RETRYABLE
            return False, one_line(f"{type(e).__name__}: {e}"), R.classify(e)
        if hasattr(res, "ok"):
            return res.ok, res.error, res.failure_class or R.TERMINAL
        return True, None, ""

    def run(self) -> PipelineResult:
        from ..reports.run import startup

        result = PipelineResult(self.run_id, self.name, dry_run=self.dry_run)
        if not self.dry_run:
            startup(self.runlog, self.config.reports_dir)
            self.log.recover()
            self.log.start_run(self.run_id, self.name, self.selected, {k: str(v) for k, v in self.given.items()},
                               slot=self.slot, trigger=self.trigger)
        status = "failed"
        try:
            if not self.dry_run and self._may_run():
                self._make_executor()
            self._loop()
            status = "succeeded" if all(r.status in (RAN, SKIPPED) for r in self.results.values()) else "failed"
        except BaseException:
            status = "interrupted"
            raise
        finally:
            if self._sql_pool is not None:
                self._sql_pool.shutdown(wait=True)
            if self._executor is not None:
                self._executor.shutdown(wait=status != "interrupted")
            if not self.dry_run:
                self.log.finish_run(self.run_id, status)
            if self._own_session and self._session is not None:
                self._session.close()
        result.tasks = [self.results[n] for n in self.selected if n in self.results]
        return result

    def _loop(self) -> None:
        running: dict[cf.Future, tuple[str, int, str | None, Current, float, str]] = {}
        waiting: dict[str, tuple[float, int]] = {}       # retries: task -> (due, attempt)
        busy: set[str] = set()                            # warehouses in use
        todo = list(self.selected)
        while todo or running or waiting:
            for name in list(todo):
                t = self.graph.tasks[name]
                ups = [u for u in t.needs if u in self.selected]
                if any(self.results.get(u) and self.results[u].status in (FAILED, UPSTREAM_FAILED) for u in ups):
                    bad = next(u for u in ups if self.results.get(u) and
                               self.results[u].status in (FAILED, UPSTREAM_FAILED))
                    todo.remove(name)
                    self._finish(name, UPSTREAM_FAILED, f"upstream {bad} failed")
                    continue
                if not all(u in self.results for u in ups):
                    continue
                if self.dry_run:
                    todo.remove(name)
                    would = [u for u in ups if self.results[u].status == WOULD_RUN]
                    if would:
                        self._finish(name, WOULD_RUN, f"upstream {would[0]} would run")
                    else:
                        d, _ = self.decision(t)
                        self._finish(name, WOULD_RUN if d.run else WOULD_SKIP, d.reason)
                    continue
                locks = _warehouses(self.config, t)
                if locks & busy or len(running) >= self.jobs:
                    continue
                if self.slot:
                    ok, why = self.log.claim_task_slot(self.name, name, self.slot, self.run_id)
                    if not ok:
                        todo.remove(name)
                        self.results[name] = TaskResult(name, SKIPPED, why or "", run_id=self.run_id)
                        self.log.set_task(self.run_id, name, SKIPPED, why or "")
                        if self.on_event:
                            self.on_event(self.results[name])
                        continue
                d, now = self.decision(t)
                todo.remove(name)
                if not d.run:
                    self._finish(name, SKIPPED, d.reason)
                    continue
                fut, report_run = self._submit(name, 1)
                busy |= locks
                self._why[name] = d.reason
                running[fut] = (name, 1, report_run, now, time.monotonic(), d.reason)
            for name, (due, attempt) in list(waiting.items()):
                t = self.graph.tasks[name]
                locks = _warehouses(self.config, t)
                if due <= time.time() and not (locks & busy) and len(running) < self.jobs:
                    del waiting[name]
                    now = self.current(t)
                    fut, report_run = self._submit(name, attempt)
                    busy |= locks
                    running[fut] = (name, attempt, report_run, now, time.monotonic(), self._why[name])
            if not running:
                if waiting:
                    time.sleep(max(0.05, min(due for due, _ in waiting.values()) - time.time()))
                elif todo:  # nothing can start: only possible with unmet needs outside --only
                    raise UsageError("internal: no task can start")  # pragma: no cover
                continue
            timeout = max(0.05, min(due for due, _ in waiting.values()) - time.time()) if waiting else None
            finished, _ = cf.wait(list(running), timeout=timeout, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                name, attempt, report_run, now, began, reason = running.pop(fut)
                t = self.graph.tasks[name]
                busy -= _warehouses(self.config, t)
                ok, error, fclass = self._outcome(name, fut)
                self._stale_hub = True
                duration = time.monotonic() - began
                if ok:
                    outs = {ref: F.output_fingerprint(self.session, ref) for ref in t.writes}
                    self.wrote.update(outs)
                    fps = {k: v for k, v in now.fingerprints().items() if v is not None}
                    fps.update({f"wrote:{r}": v for r, v in outs.items() if v is not None})
                    why = reason if attempt == 1 else \
                        f"{reason} (attempt {attempt}; attempt {attempt - 1} failed: {self._earlier[name][-1]})"
                    self.log.succeed(self.name, self.run_id, name, fps, reason=why, duration=duration,
                                     attempt=attempt, report_run=report_run)
                    if self.slot:
                        self.log.release_task_slot(self.name, name, self.slot, self.run_id, RAN)
                    self._emit(TaskResult(name, RAN, why, duration, self.run_id, attempt, report_run,
                                          earlier=self._earlier.get(name, [])))
                elif fclass == R.RETRYABLE and attempt <= t.retries:
                    delay = R.backoff(attempt, t.retry_delay, report_run or f"{self.run_id}/{name}")
                    waiting[name] = (time.time() + delay, attempt + 1)
                    self._earlier.setdefault(name, []).append(error or "failed")
                    self.log.set_task(self.run_id, name, "pending", f"attempt {attempt} failed ({error}); retrying")
                else:
                    self._finish(name, FAILED, error or "failed", duration=duration, attempt=attempt,
                                 report_run=report_run, error=error)


def run_pipeline(config: Config, name: str, **kwargs: Any) -> PipelineResult:
    """Run pipeline ``name`` of ``config``; see :class:`Runner` for the keywords."""
    return Runner(config, name, **kwargs).run()

