"""Many runs on this machine: a process pool, each worker with its own kernel fork server.

Workers are forked, so they inherit papermill and nbconvert imported once in the
parent; each worker keeps a fork server that starts one kernel ahead of need.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import Config, load_config
from ..reports.model import Plan, RunResult, shown
from ..reports.plan import plan
from ..reports.run import execute_plan, kernel_env, startup
from ..reports.runlog import RunLog


_worker_kernels: Any = None


def _worker_init(root: str, env: dict[str, str], ahead: int) -> None:
    """Each pool worker keeps its own fork server with one kernel always started ahead."""
    global _worker_kernels
    from ..reports.execute.kernels import ForkedKernels

    _worker_kernels = ForkedKernels(root, env, ahead=ahead)
    Finalize(None, _worker_kernels.close, exitpriority=10)


def _worker_run(pl: Plan) -> RunResult:
    return execute_plan(pl, _worker_kernels)


def run_many(target: str | os.PathLike[str], grid: dict[str, Iterable[Any]] | list[dict[str, Any]] | None = None, *,
             config: Config | None = None, params: dict[str, Any] | None = None,
             params_file: str | os.PathLike[str] | None = None, jobs: int = 2,
             timeout: float | None = None, cell_timeout: float | None = None, show_code: bool = False,
             on_start: Callable[[], None] | None = None,
             on_done: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run every parameter set of ``grid`` over ``jobs`` worker processes; results in grid order.

    ``grid`` is a list of parameter dicts, or a dict of ``name -> values`` whose every
    combination runs (each combined with ``params``). All sets are validated first.
    Kernels come from a fork server per worker, forked ahead of need, used once.
    ``on_start`` is called once the workers exist (start progress threads there, not
    before: workers are forked), ``on_done`` after each run.
    """
    import itertools

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
        runlog.add(pl.run_id, pl.report, pl.notebook, shown(pl))
    jobs = max(1, min(jobs, len(plans)))
    # Workers are forked, so they inherit papermill and nbconvert imported once here; the
    # pool is made before any thread of ours runs, and each worker's kernel fork server is
    # a fresh process of its own.
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    from ..reports import render  # noqa: F401
    from ..reports.execute import engine  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    results: dict[str, RunResult] = {}
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init,
                             initargs=(plans[0].root, kernel_env(plans[0]), 1)) as pool:
        futures = {pool.submit(_worker_run, pl): pl for pl in plans}
        if on_start:
            on_start()
        for fut in as_completed(futures):
            pl = futures[fut]
            try:
                res = fut.result()
            except Exception as e:  # a worker died (killed, out of memory): the run failed
                res = RunResult(pl.run_id, pl.report, "failed", shown(pl),
                                f"the worker running it died ({type(e).__name__})")
            results[pl.run_id] = res
            if on_done:
                on_done(res)
    startup(runlog, Path(plans[0].reports_dir))
    return [results[pl.run_id] for pl in plans]

