"""Run a report: validate, execute, render, publish, log — for one parameter set or many.

:func:`run_report` and :func:`run_many` are the Python API behind ``workbench run``.
Parameters are checked for every run before any kernel starts. A run that fails is
still published (under its id, with its executed notebook and an HTML page that opens at
the failing cell) and logged; it just does not move ``latest``. Neither function raises
for a failed run: look at :attr:`RunResult.ok` (the CLI turns it into exit code 1).

kernels, execute and render pull in jupyter_client, papermill and nbconvert; they are
imported inside the functions that run reports, so ``import workbench`` inside a report
kernel stays cheap.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any, Callable, Iterable

from ..config import Config, load_config
from ..errors import ParameterError, UsageError
from ..recording import read_sidecar
from . import params as P
from .publish import point_latest, publish, staging_dir, sweep_staging
from .runlog import RUNNING, RunLog
from .site import build_index

DEFAULT_TIMEOUT = 3600.0       # a whole run; a hung notebook ends as "timed out", never hangs
DEFAULT_CELL_TIMEOUT = 1800.0  # one cell
KERNEL_START_ATTEMPTS = 3


@dataclass
class RunResult:
    id: str
    report: str
    status: str
    parameters: dict[str, Any]
    error: str | None = None
    duration: float | None = None
    run_dir: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def report_path(self) -> Path | None:
        return self.run_dir / "report.html" if self.run_dir else None

    @property
    def notebook_path(self) -> Path | None:
        return self.run_dir / "notebook.ipynb" if self.run_dir else None


@dataclass
class Plan:
    """One validated run, ready to execute (picklable, so it can go to a worker)."""

    run_id: str
    report: str
    notebook: str
    description: str
    contract: P.Contract
    values: dict[str, Any]
    config_path: str | None
    root: str
    reports_dir: str
    runlog: str
    timeout: float | None
    cell_timeout: float | None
    show_code: bool
    sources: list[str]


def _version() -> str:
    try:
        return version("workbench")
    except PackageNotFoundError:
        return "unknown"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def resolve(target: str | os.PathLike[str], config: Config) -> tuple[str, Path, dict[str, Any], str, float | None]:
    """``(report name, notebook, default parameters, description, timeout)`` for a name or a path."""
    name = str(target)
    if name in config.reports:
        rc = config.reports[name]
        nb = config.resolve(rc.notebook)
        if not nb.is_file():
            raise UsageError(f"report {name!r}: notebook {nb} does not exist; fix [reports.{name}] notebook")
        return name, nb, dict(rc.parameters), rc.description, rc.timeout
    path = Path(name).expanduser()
    if not path.is_absolute() and not path.exists():
        path = config.resolve(path)
    if path.suffix == ".ipynb" and path.is_file():
        return path.stem, path.resolve(), {}, "", None
    known = ", ".join(sorted(config.reports)) or "none"
    raise UsageError(f"{name!r} is neither a report in workbench.toml (known: {known}) nor a notebook file")


def _source_labels(config: Config) -> list[str]:
    """Configured sources by name and kind; never a URL (URLs can carry passwords)."""
    out = []
    for s in config.sources.values():
        kind = s.url.split(":", 1)[0].split("+", 1)[0] if "://" in s.url else "files"
        out.append(f"{s.name} ({kind})")
    return out


def plan(target: str | os.PathLike[str], params: dict[str, Any] | Iterable[dict[str, Any]] | None = None, *,
         config: Config | None = None, params_file: str | os.PathLike[str] | None = None,
         timeout: float | None = None, cell_timeout: float | None = None, show_code: bool = False) -> list[Plan]:
    """Validate one parameter set (a dict) or many (a list of dicts); no kernel starts here."""
    cfg = config or load_config()
    report, notebook, defaults, description, cfg_timeout = resolve(target, cfg)
    contract = P.inspect_notebook(notebook)
    from_file = P.load_file(params_file) if params_file else {}
    sets = [params or {}] if params is None or isinstance(params, dict) else list(params)
    if not sets:
        raise ParameterError("no parameter sets to run")
    plans = []
    for given in sets:
        values = P.validate(contract, defaults, from_file, given)
        plans.append(Plan(
            run_id=new_run_id(), report=report, notebook=str(notebook), description=description,
            contract=contract, values=values, config_path=str(cfg.path) if cfg.path else None,
            root=str(cfg.root), reports_dir=str(cfg.reports_dir), runlog=str(cfg.runlog_path),
            timeout=timeout or cfg_timeout or DEFAULT_TIMEOUT,
            cell_timeout=cell_timeout or min(DEFAULT_CELL_TIMEOUT, timeout or cfg_timeout or DEFAULT_CELL_TIMEOUT),
            show_code=show_code, sources=_source_labels(cfg),
        ))
    return plans


def shown(pl: Plan) -> dict[str, Any]:
    """The parameter values as JSON (dates as ISO text): what the log and the page show."""
    return {k: v["value"] for k, v in P.encode(pl.contract, pl.values).items()}


def kernel_env(pl: Plan) -> dict[str, str]:
    return {"WORKBENCH_CONFIG": pl.config_path} if pl.config_path else {}


def startup(runlog: RunLog, reports_dir: Path) -> None:
    """Mark runs whose process died as failed and remove their staging folders."""
    runlog.recover()
    sweep_staging(reports_dir, runlog.live_ids())


def _injected_cell(params_path: Path) -> Any:
    from nbformat.v4 import new_code_cell

    source = ("# Parameters of this run, read as data from params.json (injected by workbench)\n"
              "from workbench.recording import begin as _wb_begin\n"
              f"globals().update(_wb_begin({json.dumps(str(params_path))}))\n"
              "del _wb_begin")
    cell = new_code_cell(source, metadata={"tags": [P.INJECTED_TAG]})
    cell["id"] = "workbench-injected-parameters"
    return cell


def execute_plan(pl: Plan, kernels: Any, *, progress: bool = False) -> RunResult:
    """Execute one planned run with kernels from ``kernels`` and publish it.

    Should anything of ours break on the way (a full disk, a bug), the run is logged as
    failed with that reason before the error propagates, instead of staying ``running``.
    """
    runlog = RunLog(pl.runlog)
    started = time.time()
    runlog.start(pl.run_id, started)
    try:
        return _execute(pl, kernels, runlog, started, progress)
    except BaseException as e:
        if runlog.get(pl.run_id).status == RUNNING:
            runlog.finish(pl.run_id, status="failed", ended_at=time.time(), duration=time.time() - started,
                          error=f"workbench failed while running the report: {type(e).__name__}: {e}",
                          run_dir=None, report_path=None, notebook_path=None, values={}, sources=[])
        raise


def _execute(pl: Plan, kernels: Any, runlog: RunLog, started: float, progress: bool) -> RunResult:
    import nbformat

    from .execute import FAILED, Outcome, execute
    from .kernels import KernelStartError
    from .render import Header, bound_outputs, render, render_fallback

    reports_dir = Path(pl.reports_dir)
    report_dir = reports_dir / pl.report
    stage = staging_dir(report_dir, pl.run_id)
    values_path = stage / "values.jsonl"
    params_path = stage / "params.json"
    shown_params = shown(pl)
    params_path.write_text(json.dumps({
        "report": pl.report, "run_id": pl.run_id, "notebook": pl.notebook,
        "parameters": P.encode(pl.contract, pl.values), "run": {"values_path": str(values_path)},
    }, indent=1), encoding="utf-8")

    nb = nbformat.read(pl.notebook, as_version=4)
    at = pl.contract.cell_index + 1 if pl.contract.cell_index is not None else 0
    nb.cells.insert(at, _injected_cell(params_path))
    nb.metadata["workbench"] = {"report": pl.report, "run_id": pl.run_id, "parameters": shown_params}
    input_path = stage / ".input.ipynb"
    output_path = stage / "notebook.ipynb"
    nbformat.write(nb, str(input_path))

    outcome: Outcome | None = None
    last_error = None
    for _ in range(KERNEL_START_ATTEMPTS):
        try:
            kernel = kernels.take()
            outcome = execute(input_path, output_path, kernel, cell_timeout=pl.cell_timeout,
                              run_timeout=pl.timeout, progress=progress, injected_at=at)
            break
        except KernelStartError as e:
            last_error = e
    if outcome is None:
        outcome = Outcome(FAILED, f"no kernel could be started ({last_error}); check the project's environment")

    executed = nbformat.read(str(output_path), as_version=4) if output_path.exists() else nb
    bound_outputs(executed)
    nbformat.write(executed, str(output_path))
    input_path.unlink(missing_ok=True)
    values, used = read_sidecar(values_path)
    ended = time.time()
    header = Header(report=pl.report, run_id=pl.run_id, status=outcome.status, parameters=shown_params,
                    started_at=started, duration=ended - started, sources=used or pl.sources,
                    description=pl.description, error=outcome.error, version=_version())
    try:
        page = render(executed, header, show_code=pl.show_code)
    except Exception as e:  # a page that says why beats a run without one
        page = render_fallback(header, f"{type(e).__name__}: {e}")
    (stage / "report.html").write_text(page, encoding="utf-8")
    final = report_dir / pl.run_id
    publish(stage, final)
    if outcome.status == "succeeded":
        point_latest(report_dir, pl.run_id)
    rel = f"{pl.report}/{pl.run_id}"
    runlog.finish(pl.run_id, status=outcome.status, ended_at=time.time(), duration=ended - started,
                  error=outcome.error, run_dir=rel, report_path=f"{rel}/report.html",
                  notebook_path=f"{rel}/notebook.ipynb", values=values, sources=used)
    build_index(reports_dir, runlog, _descriptions(pl))
    return RunResult(pl.run_id, pl.report, outcome.status, shown_params, outcome.error, ended - started, final, values)


def _descriptions(pl: Plan) -> dict[str, str]:
    cfg = load_config(pl.config_path) if pl.config_path else None
    return {n: r.description for n, r in cfg.reports.items()} if cfg else {pl.report: pl.description}


def run_report(target: str | os.PathLike[str], params: dict[str, Any] | None = None, *,
               config: Config | None = None, params_file: str | os.PathLike[str] | None = None,
               timeout: float | None = None, cell_timeout: float | None = None, show_code: bool = False,
               progress: bool | None = None, kernels: Any = None) -> RunResult:
    """Run a report (a ``[reports.NAME]`` or a notebook path) once; see the module doc.

    ``kernels`` may be a shared :class:`~workbench.reports.kernels.ForkedKernels` (tests,
    services); by default a fresh kernel is started for this run.
    """
    from .kernels import ColdKernels

    (pl,) = plan(target, params, config=config, params_file=params_file, timeout=timeout,
                 cell_timeout=cell_timeout, show_code=show_code)
    runlog = RunLog(pl.runlog)
    startup(runlog, Path(pl.reports_dir))
    runlog.add(pl.run_id, pl.report, pl.notebook, shown(pl), status=RUNNING)
    own = kernels is None
    kernels = kernels or ColdKernels(pl.root, kernel_env(pl))
    try:
        return execute_plan(pl, kernels, progress=sys.stderr.isatty() if progress is None else progress)
    finally:
        if own:
            kernels.close()


# ----------------------------------------------------------------------------- many runs

_worker_kernels: Any = None


def _worker_init(root: str, env: dict[str, str], ahead: int) -> None:
    """Each pool worker keeps its own fork server with one kernel always started ahead."""
    global _worker_kernels
    from .kernels import ForkedKernels

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

    from . import execute, render  # noqa: F401

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

