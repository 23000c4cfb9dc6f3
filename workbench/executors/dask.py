"""Many runs on a Dask distributed cluster: ``DaskExecutor(address, root, env)``.

An optional dependency (``pip install 'workbench[dask]'``); ``distributed`` is imported
only when an executor is made, so ``import workbench.executors.dask`` stays cheap.

What goes where (workers need not share the caller's filesystem):

* The **caller** (the publishing host) owns the run log and ``reports/``. It has added
  each plan to the run log (``RunLog.add``) before :meth:`DaskExecutor.submit`, marks the
  run ``running`` when a worker says it started, and, when the result comes back,
  publishes it (staging folder, one atomic rename, ``latest``), finishes the run's row
  and rebuilds the index: the same steps, in the same order, as a local run.
* A **worker** gets the plan and the notebook's bytes, executes into a scratch folder of
  its own (a throwaway run log there too; ``$WORKBENCH_DASK_SCRATCH``, else ``/dev/shm``),
  and returns the executed notebook, the rendered HTML, ``params.json``, the recorded
  values and the outcome as bytes and plain data. It writes nothing of the caller's.
  Its kernels run in ``root`` when that folder exists on the worker (the project's data,
  for notebooks that read relative paths; ``env`` names the config, which the worker
  must have too if notebooks query sources), else in the scratch folder; each worker process keeps one warm kernel fork server, as a local pool
  worker does. Run workers with ``--nthreads 1`` (a run is a process of its own already).

Exactly once, on an at-least-once engine:

* Each run is one task whose **key is its run id** (``workbench-run-<run id>``, never a
  hash of the arguments, never ``pure=True``), so one run id is one task on the cluster.
* Dask runs a task again when the worker holding it dies. The first thing a task does is
  set a Dask ``Event`` named after the run; a task that finds it already set is a rerun
  after a worker died mid-run, and it does not run the notebook again: it reports the
  death, and the caller records the run ``failed`` with that reason and failure class
  ``retryable`` (the scheduler, not Dask, decides on another attempt, counted in the run
  log). A task the scheduler had only *assigned* to the dead worker never set the event
  and runs normally. With ``allowed-failures`` exhausted (or 0) Dask raises
  ``KilledWorker`` instead: recorded the same way. Either way no run stays ``running``.
* Publishing happens once: the caller publishes only a run whose row is still queued or
  running and whose final folder does not exist yet, and ``publish`` is a rename of a
  complete folder, so a run is never published twice or half.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..reports.model import FAILED, Plan, RunResult, shown
from ..reports.publish import point_latest, publish, staging_dir
from ..reports.runlog import QUEUED, RUNNING, RunLog
from ..reports.site import build_index

#: The Dask event topic on which workers say a run started (the caller marks it running).
TOPIC = "workbench-runs"
KEY_PREFIX = "workbench-run-"
WORKER_DIED = ("the Dask worker running it died (killed or out of memory) before the run finished"
               " ({detail}); nothing was published, another attempt may run it")
INTERRUPTED = "the run was interrupted: the Dask executor was shut down before it finished"


def task_key(run_id: str) -> str:
    """The one Dask key of a run: its run id (so a run id is one task, never shared)."""
    return KEY_PREFIX + run_id


def _started_event(run_id: str) -> str:
    return f"workbench-started-{run_id}"


# ---------------------------------------------------------------- worker side

_kernels: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
_kernels_lock = threading.Lock()


def _worker_kernels(cwd: str, env: dict[str, str], ahead: int) -> Any:
    """This worker process's fork server for (cwd, env), made on first use.

    It lives as long as the worker process: the server exits when its stdin (a pipe from
    this process) closes, and its kernels die with it (PR_SET_PDEATHSIG), so a worker
    killed with SIGKILL leaves no kernel behind.
    """
    from ..reports.execute.kernels import ForkedKernels

    key = (cwd, tuple(sorted(env.items())))
    with _kernels_lock:
        ks = _kernels.get(key)
        if ks is None:
            # The server imports pandas, plotly, duckdb while this process imports papermill
            # and nbconvert (a local pool worker inherits those from its parent; a Dask
            # worker imports them on its first run): side by side, not one after the other.
            made: dict[str, Any] = {}

            def start() -> None:
                try:
                    made["kernels"] = ForkedKernels(cwd, env, ahead=ahead)
                except BaseException as e:  # noqa: BLE001 - raised below, in the task
                    made["error"] = e

            starter = threading.Thread(target=start, name="workbench-forkserver-start", daemon=True)
            starter.start()
            _preload()
            starter.join()
            if "error" in made:
                raise made["error"]
            ks = _kernels[key] = made["kernels"]
        return ks


def _preload() -> None:
    try:
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

        from ..reports import render  # noqa: F401
        from ..reports.execute import engine  # noqa: F401
    except Exception:  # noqa: BLE001 - an optimisation only: the run imports them again and says why
        pass


#: Where a worker executes a run (a folder per run, removed when its bytes are packed).
SCRATCH_ENV = "WORKBENCH_DASK_SCRATCH"


def _scratch_base() -> str | None:
    """``$WORKBENCH_DASK_SCRATCH``, else ``/dev/shm`` (the run's fsyncs cost nothing on tmpfs,
    and the folder lives only until its bytes are packed), else the temp folder."""
    if os.environ.get(SCRATCH_ENV):
        return os.environ[SCRATCH_ENV]
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _run_on_worker(pl: Plan, notebook: bytes, root: str, env: dict[str, str]) -> dict[str, Any]:
    """One run on a Dask worker: execute into a temp folder, return everything as data."""
    from distributed import Event, get_worker

    from ..reports.run import execute_plan

    t0 = time.perf_counter()
    worker = get_worker()
    started = Event(_started_event(pl.run_id))
    if started.is_set():  # Dask runs it again because the worker that was running it died
        return {"run_id": pl.run_id, "worker_died": True, "worker": worker.address}
    started.set()
    worker.log_event(TOPIC, {"run_id": pl.run_id, "event": "started", "worker": worker.address,
                             "pid": os.getpid(), "at": time.time()})
    t1 = time.perf_counter()

    tmp = Path(tempfile.mkdtemp(prefix="wb-dask-", dir=_scratch_base()))
    try:
        nb_path = tmp / "notebook" / Path(pl.notebook).name
        nb_path.parent.mkdir()
        nb_path.write_bytes(notebook)
        local = dataclasses.replace(pl, notebook=str(nb_path), reports_dir=str(tmp / "reports"),
                                    runlog=str(tmp / "runlog.db"), descriptions={pl.report: pl.description})
        log = RunLog(local.runlog)
        log.add(pl.run_id, pl.report, local.notebook, shown(pl), status=RUNNING)
        cwd = root if os.path.isdir(root) else str(tmp)
        try:
            execute_plan(local, _worker_kernels(cwd, env, ahead=max(1, worker.state.nthreads)))
        except Exception as e:  # logged as failed in the temp log by execute_plan; say why
            row = log.get(pl.run_id)
            return {"run_id": pl.run_id, "status": FAILED, "error": row.error if row else f"{type(e).__name__}: {e}",
                    "started_at": row.started_at if row else None, "duration": row.duration if row else None,
                    "values": {}, "sources": [], "files": {}, "worker": worker.address}
        t2 = time.perf_counter()
        row = log.get(pl.run_id)
        run_dir = Path(local.reports_dir) / (row.run_dir or "")
        files = {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()} if row.run_dir else {}
        return {"run_id": pl.run_id, "status": row.status, "error": row.error, "started_at": row.started_at,
                "duration": row.duration, "values": row.values, "sources": row.sources, "files": files,
                "worker": worker.address,
                # seconds: claiming the run on the scheduler, executing, packing the result
                "phases": {"claim": t1 - t0, "execute": t2 - t1, "pack": time.perf_counter() - t2}}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- caller side

class DaskExecutor:
    """Submit validated runs to the Dask scheduler at ``address``; publish them here.

    ``root`` and ``env`` are what a local pool worker gets: the kernels' working folder
    and their extra environment (``workbench.reports.run.kernel_env(plan)``).
    ``address`` is ``tcp://host:port`` or ``dask://host:port``.
    """

    def __init__(self, address: str, root: str, env: dict[str, str], *, timeout: float = 30):
        try:
            from distributed import Client
        except ImportError as e:  # pragma: no cover - depends on the install
            from ..errors import ConfigError

            raise ConfigError("the Dask executor needs dask and distributed: pip install 'workbench[dask]'") from e
        if address.startswith("dask://"):
            address = "tcp://" + address[len("dask://"):]
        self.address = address
        self.root = str(root)
        self.env = {str(k): str(v) for k, v in env.items()}
        self._client = Client(address, timeout=timeout, set_as_default=False)
        # One thread publishes, in order: start and finish of a run never race, and the
        # run log sees one writer from this executor.
        self._publisher = cf.ThreadPoolExecutor(1, thread_name_prefix="workbench-dask-publish")
        self._lock = threading.Lock()
        self._inflight: dict[str, tuple[Plan, Any, cf.Future[RunResult]]] = {}
        self._closed = False
        self._client.subscribe_topic(TOPIC, self._on_event)

    # -- the protocol

    def submit(self, plan: Plan) -> cf.Future[RunResult]:
        """Run ``plan`` (already in the run log) on the cluster; the future ends once it is published."""
        if self._closed:
            raise RuntimeError("this DaskExecutor has been shut down")
        out: cf.Future[RunResult] = cf.Future()
        row = RunLog(plan.runlog).get(plan.run_id)
        if row is not None and row.status not in (QUEUED, RUNNING):  # ran already: the log is the truth
            out.set_result(_result_of(plan, row.status, row.error, row.duration, row.values, row.run_dir))
            return out
        if row is None:  # the caller should have added it; a run we cannot log never runs
            RunLog(plan.runlog).add(plan.run_id, plan.report, plan.notebook, shown(plan))
        with self._lock:
            if plan.run_id in self._inflight:  # the same run id twice: one task, one result
                return self._inflight[plan.run_id][2]
            notebook = Path(plan.notebook).read_bytes()
            fut = self._client.submit(_run_on_worker, plan, notebook, self.root, self.env,
                                      key=task_key(plan.run_id), pure=False, retries=0)
            self._inflight[plan.run_id] = (plan, fut, out)
        fut.add_done_callback(lambda f, rid=plan.run_id: self._later(self._finish, rid))
        return out

    def _later(self, fn: Any, *args: Any) -> None:
        """Queue ``fn`` on the publisher thread; after shutdown there is nothing left to do."""
        try:
            self._publisher.submit(fn, *args)
        except RuntimeError:  # shut down: what was in flight is recorded already
            pass

    def shutdown(self, wait: bool = True) -> None:
        """Wait for the runs in flight (``wait``) or cancel them, recorded as interrupted; close."""
        if self._closed:
            return
        self._closed = True
        if wait:
            cf.wait([out for _, _, out in list(self._inflight.values())])
        else:
            with self._lock:
                pending = list(self._inflight.items())
            for rid, (_, fut, _) in pending:
                fut.cancel()
                self._later(self._record_lost, rid, INTERRUPTED, None)
        self._publisher.shutdown(wait=True)
        try:
            self._client.unsubscribe_topic(TOPIC)
        except Exception:  # noqa: BLE001 - the scheduler may be gone already
            pass
        self._client.close()

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=exc[0] is None)

    # -- events and results (on the publisher thread)

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        msg = event[1]
        if isinstance(msg, dict) and msg.get("event") == "started" and not self._closed:
            self._later(self._started, msg["run_id"])

    def _started(self, run_id: str) -> None:
        entry = self._inflight.get(run_id)
        if entry is None:
            return
        log = RunLog(entry[0].runlog)
        row = log.get(run_id)
        if row is not None and row.status == QUEUED:
            log.start(run_id, time.time())

    def _finish(self, run_id: str) -> None:
        entry = self._inflight.get(run_id)
        if entry is None:
            return
        pl, fut, out = entry
        if fut.cancelled():  # by shutdown(wait=False)
            self._record_lost(run_id, INTERRUPTED, None)
            return
        try:
            try:
                payload = fut.result()
            except Exception as e:  # noqa: BLE001 - KilledWorker, a lost scheduler, a bug of ours on the worker
                from distributed import KilledWorker

                detail = f"{type(e).__name__}: {e}".strip()
                if isinstance(e, KilledWorker):  # a worker died with it more than allowed-failures times
                    self._record_lost(run_id, WORKER_DIED.format(detail=detail), "retryable")
                else:  # not ours to classify: the scheduler's rules decide
                    self._record_lost(run_id, f"the run failed on the Dask cluster: {detail}", None)
                return
            if payload.get("worker_died"):
                self._record_lost(run_id, WORKER_DIED.format(detail="Dask started it again on "
                                                             f"{payload.get('worker')}"), "retryable")
                return
            out.set_result(self._publish(pl, payload))
        except BaseException as e:  # noqa: BLE001 - never leave the caller's future hanging
            if not out.done():
                self._record_lost(run_id, f"workbench failed while publishing the run: {type(e).__name__}: {e}", None)
                if not out.done():
                    out.set_exception(e)
        finally:
            self._forget(run_id)

    def _forget(self, run_id: str) -> None:
        with self._lock:
            entry = self._inflight.pop(run_id, None)
        if entry is not None:
            entry[1].release()  # first let the cluster forget the task, then its started flag
            try:
                from distributed import Event

                Event(_started_event(run_id), client=self._client).clear()
            except Exception:  # noqa: BLE001 - a scheduler that is gone keeps nothing
                pass

    def _record_lost(self, run_id: str, error: str, failure_class: str | None) -> None:
        """A run that came back without a result: failed with ``error``, unless the log says it ended."""
        entry = self._inflight.get(run_id)
        if entry is None:
            return
        pl, _, out = entry
        log = RunLog(pl.runlog)
        row = log.get(run_id)
        now = time.time()
        if row is not None and row.status in (QUEUED, RUNNING):
            started = row.started_at or now
            log.finish(run_id, status=FAILED, ended_at=now, duration=now - started, error=error, run_dir=None,
                       report_path=None, notebook_path=None, values={}, sources=[], failure_class=failure_class)
            build_index(Path(pl.reports_dir), log, pl.descriptions or {pl.report: pl.description})
            row = log.get(run_id)
        if not out.done():
            out.set_result(_result_of(pl, row.status, row.error, row.duration, row.values, row.run_dir))
        self._forget(run_id)

    def _publish(self, pl: Plan, payload: dict[str, Any]) -> RunResult:
        """Publish a worker's result here, once: staging folder, rename, latest, log, index."""
        log = RunLog(pl.runlog)
        reports_dir = Path(pl.reports_dir)
        report_dir = reports_dir / pl.report
        final = report_dir / pl.run_id
        rel = f"{pl.report}/{pl.run_id}"
        row = log.get(pl.run_id)
        if row is not None and row.status not in (QUEUED, RUNNING):  # published and logged already
            return _result_of(pl, row.status, row.error, row.duration, row.values, row.run_dir)
        if row is not None and row.status == QUEUED:  # the started event is still on its way
            log.start(pl.run_id, payload.get("started_at") or time.time())
        status, files = payload["status"], payload["files"]
        if files and not final.exists():  # a folder already there was published whole before
            stage = report_dir / f".staging-{pl.run_id}"
            shutil.rmtree(stage, ignore_errors=True)  # left by a publisher killed mid-write
            stage = staging_dir(report_dir, pl.run_id)
            for name, data in files.items():
                (stage / Path(name).name).write_bytes(data)
            publish(stage, final)
            if status == "succeeded":
                point_latest(report_dir, pl.run_id)
        published = final.is_dir()
        log.finish(pl.run_id, status=status, ended_at=time.time(), duration=payload.get("duration") or 0.0,
                   error=payload.get("error"), run_dir=rel if published else None,
                   report_path=f"{rel}/report.html" if published else None,
                   notebook_path=f"{rel}/notebook.ipynb" if published else None,
                   values=payload.get("values") or {}, sources=payload.get("sources") or [])
        build_index(reports_dir, log, pl.descriptions or {pl.report: pl.description})
        return _result_of(pl, status, payload.get("error"), payload.get("duration"), payload.get("values") or {},
                          rel if published else None)


def _result_of(pl: Plan, status: str, error: str | None, duration: float | None, values: dict[str, Any],
               run_dir: str | None) -> RunResult:
    return RunResult(pl.run_id, pl.report, status, shown(pl), error, duration,
                     Path(pl.reports_dir) / run_dir if run_dir else None, dict(values or {}))
