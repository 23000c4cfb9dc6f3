"""Many runs on this machine: a process pool, each worker with its own kernel fork server.

:class:`LocalExecutor` is the :class:`~workbench.executors.base.Executor` of this
machine. Workers are forked, so they inherit papermill and nbconvert imported once in
the parent; each worker keeps a fork server that starts one kernel ahead of need, and
dies with the process that made the pool (``PR_SET_PDEATHSIG``), so a killed scheduler
or CLI leaves no worker, fork server or kernel behind (the run log's recovery marks
their runs interrupted). :func:`run_many` is a grid over it.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import Config, load_config
from ..reports.model import Plan, RunResult, shown
from ..reports.plan import plan
from ..reports.run import execute_plan, kernel_env, startup
from ..reports.runlog import RunLog

_worker_kernels: Any = None
PR_SET_PDEATHSIG = 1


def _worker_init(root: str, env: dict[str, str], ahead: int) -> None:
    """Each pool worker keeps its own fork server with one kernel always started ahead."""
    global _worker_kernels
    try:  # die with the parent: no worker (and so no fork server, no kernel) outlives it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from ..reports.execute.kernels import ForkedKernels

    _worker_kernels = ForkedKernels(root, env, ahead=ahead)
    Finalize(None, _worker_kernels.close, exitpriority=10)


def _worker_run(pl: Plan) -> RunResult:
    return execute_plan(pl, _worker_kernels)


def _ready() -> int:
    return os.getpid()


def _preimport() -> None:
    # Workers are forked, so they inherit papermill and nbconvert imported once here.
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    from ..reports import render  # noqa: F401
    from ..reports.execute import engine  # noqa: F401


class LocalExecutor:
    """``jobs`` forked worker processes, each with a kernel fork server rooted at ``root``.

    The workers are forked when the executor is made (make it before starting threads of
    your own), and it waits until one of them has its fork server up, so the first run
    finds a kernel started ahead. A worker that dies (killed, out of memory) fails the
    futures of its runs; the pool is then made again for the next submit.
    """

    def __init__(self, jobs: int, root: str | os.PathLike[str], env: dict[str, str] | None = None):
        self.jobs = max(1, int(jobs))
        self.root = str(root)
        self.env = dict(env or {})
        self._lock = threading.Lock()
        _preimport()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_init, initargs=(self.root, self.env, 1))
        pool.submit(_ready).result()  # forks every worker now, and waits for one to be warm
        return pool

    def submit(self, plan: Plan) -> "concurrent.futures.Future[RunResult]":
        """Run ``plan`` (already in the run log) on a worker; the future's result is its RunResult."""
        with self._lock:
            try:
                return self._pool.submit(_worker_run, plan)
            except BrokenProcessPool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return self._pool.submit(_worker_run, plan)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def lost(pl: Plan, e: BaseException) -> RunResult:
    """The result of a run whose executor lost it (its worker died): failed, retryable."""
    return RunResult(pl.run_id, pl.report, "failed", shown(pl),
                     f"the worker running it died ({type(e).__name__})", failure_class="retryable")


def run_many(target: str | os.PathLike[str], grid: dict[str, Iterable[Any]] | list[dict[str, Any]] | None = None, *,
             config: Config | None = None, params: dict[str, Any] | None = None,
             params_file: str | os.PathLike[str] | None = None, jobs: int = 2,
             timeout: float | None = None, cell_timeout: float | None = None, show_code: bool = False,
             on_start: Callable[[], None] | None = None,
             on_done: Callable[[RunResult], None] | None = None,
             executor: str | None = None) -> list[RunResult]:
    """Run every parameter set of ``grid`` over ``jobs`` worker processes; results in grid order.

    ``grid`` is a list of parameter dicts, or a dict of ``name -> values`` whose every
    combination runs (each combined with ``params``). All sets are validated first.
    Kernels come from a fork server per worker, forked ahead of need, used once.
    ``on_start`` is called once the workers exist (start progress threads there, not
    before: workers are forked), ``on_done`` after each run. ``executor`` is an
    executor spec (``local``, ``dask://HOST:PORT``); default: the config's, else local.
    """
    import itertools

    from . import get_executor

    if isinstance(grid, dict):
        names = list(grid)
        sets = [dict(zip(names, combo)) for combo in itertools.product(*(list(grid[n]) for n in names))]
    else:
        sets = list(grid or [{}])
    sets = [{**(params or {}), **s} for s in sets]
    cfg = config or load_config()
    plans = plan(target, sets, config=cfg, params_file=params_file, timeout=timeout,
                 cell_timeout=cell_timeout, show_code=show_code)
    runlog = RunLog(plans[0].runlog)
    startup(runlog, Path(plans[0].reports_dir))
    for pl in plans:
        runlog.add(pl.run_id, pl.report, pl.notebook, shown(pl), trigger="grid" if len(plans) > 1 else "manual")
    jobs = max(1, min(jobs, len(plans)))
    # The pool is made before any thread of ours runs (workers are forked), and each
    # worker's kernel fork server is a fresh process of its own.
    spec = executor if executor is not None else getattr(cfg.settings, "executor", None)
    ex = get_executor(spec, jobs=jobs, root=plans[0].root, env=kernel_env(plans[0]))
    results: dict[str, RunResult] = {}
    try:
        futures = {ex.submit(pl): pl for pl in plans}
        if on_start:
            on_start()
        for fut in as_completed(futures):
            pl = futures[fut]
            try:
                res = fut.result()
            except Exception as e:  # a worker died (killed, out of memory): the run failed
                res = lost(pl, e)
            results[pl.run_id] = res
            if on_done:
                on_done(res)
    finally:
        ex.shutdown()
    startup(runlog, Path(plans[0].reports_dir))
    return [results[pl.run_id] for pl in plans]
