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
import os
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..config import Config
from . import params as P
from .faults import crash_point
from .kernel import read_failure, read_sidecar
from .model import RUNNING, Plan, RunResult, shown
from .plan import plan
from .publish import point_latest, publish, staging_dir, sweep_staging
from .runlog import RunLog
from .site import build_index

KERNEL_START_ATTEMPTS = 3


def _version() -> str:
    try:
        return version("workbench")
    except PackageNotFoundError:
        return "unknown"


def kernel_env(pl: Plan) -> dict[str, str]:
    return {"WORKBENCH_CONFIG": pl.config_path} if pl.config_path else {}


OUTCOME_FILE = "run.json"  # how the run ended, published with it: what recovery reads


def published_outcome(reports_dir: Path) -> Any:
    """For :meth:`RunLog.recover`: the :meth:`RunLog.finish` fields of a run whose folder was
    published (``<report>/<run id>/run.json`` exists) before its process died; None otherwise.

    Such a run ended: it is recorded from its folder (and ``latest`` moved to it if it
    succeeded and is newer), never failed and run again, so a slot is published once.
    """
    def read(run: Any) -> dict[str, Any] | None:
        final = Path(reports_dir) / run.report / run.id
        try:
            out = json.loads((final / OUTCOME_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if out.get("status") == "succeeded":
            latest = final.parent / "latest"
            current = os.readlink(latest) if latest.is_symlink() else ""
            if current < run.id:
                point_latest(final.parent, run.id)
        rel = f"{run.report}/{run.id}"
        return {"status": out["status"], "ended_at": out.get("ended_at") or time.time(),
                "duration": out.get("duration") or 0.0, "error": out.get("error"), "run_dir": rel,
                "report_path": f"{rel}/report.html", "notebook_path": f"{rel}/notebook.ipynb",
                "values": out.get("values") or {}, "sources": out.get("sources") or [],
                "failure_class": out.get("failure_class")}

    return read


def startup(runlog: RunLog, reports_dir: Path) -> None:
    """Mark runs whose process died as failed (or as they ended, if published) and remove their staging folders."""
    runlog.recover(published_outcome(reports_dir))
    sweep_staging(reports_dir, runlog.live_ids())


def _injected_cell(params_path: Path) -> Any:
    from nbformat.v4 import new_code_cell

    source = ("# Parameters of this run, read as data from params.json (injected by workbench)\n"
              "from workbench.reports.kernel import begin as _wb_begin\n"
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
    lease = _Lease(runlog, pl.run_id, pl.lease) if pl.lease else None
    try:
        return _execute(pl, kernels, runlog, started, progress)
    except BaseException as e:
        if runlog.get(pl.run_id).status == RUNNING:
            runlog.finish(pl.run_id, status="failed", ended_at=time.time(), duration=time.time() - started,
                          error=f"workbench failed while running the report: {type(e).__name__}: {e}",
                          run_dir=None, report_path=None, notebook_path=None, values={}, sources=[],
                          failure_class="retryable" if isinstance(e, (OSError, KeyboardInterrupt)) else "terminal")
        raise
    finally:
        if lease:
            lease.stop()


class _Lease:
    """Renew a run's lease every third of it while this process executes the run."""

    def __init__(self, runlog: RunLog, run_id: str, seconds: float):
        import threading

        self.runlog, self.run_id, self.seconds = runlog, run_id, seconds
        self._stop = threading.Event()
        runlog.renew_lease(run_id, time.time() + seconds)
        self._thread = threading.Thread(target=self._loop, name=f"lease-{run_id}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.runlog.renew_lease(self.run_id, time.time() + self.seconds):
                    return  # finished (or taken over): nothing left to hold
            except Exception:  # a busy log: try again at the next beat
                pass

    def stop(self) -> None:
        self._stop.set()


def failure_class(outcome: Any, values_path: Path) -> str | None:
    """'retryable' or 'terminal' for a run that did not succeed; None for one that did."""
    if outcome.status == "succeeded":
        return None
    retry = outcome.retryable
    if retry is None:
        retry = read_failure(values_path)  # what the kernel noted about the cell's exception
    if retry is None and outcome.ename:  # a kernel too old or broken to note it: the class by name
        from .. import errors

        cls = getattr(errors, outcome.ename, None)
        retry = bool(getattr(cls, "retryable", False)) if isinstance(cls, type) else outcome.ename in (
            "ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "ConnectionAbortedError",
            "BrokenPipeError")
    return "retryable" if retry else "terminal"


def _execute(pl: Plan, kernels: Any, runlog: RunLog, started: float, progress: bool) -> RunResult:
    import nbformat

    from .execute.engine import FAILED, Outcome, execute
    from .execute.kernels import KernelStartError
    from .render import Header, bound_outputs, render, render_fallback

    reports_dir = Path(pl.reports_dir)
    report_dir = reports_dir / pl.report
    stage = staging_dir(report_dir, pl.run_id)
    values_path = stage / "values.jsonl"
    params_path = stage / "params.json"
    shown_params = shown(pl)
    params_path.write_text(json.dumps({
        "report": pl.report, "run_id": pl.run_id, "notebook": pl.notebook,
        # relative to params.json's folder: the staging folder is renamed on publish, and a
        # published params.json must name the run folder's values.jsonl, not a gone path
        "parameters": P.encode(pl.contract, pl.values), "run": {"values_path": values_path.name},
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
        outcome = Outcome(FAILED, f"no kernel could be started ({last_error}); check the project's environment",
                          retryable=True)

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
    fclass = failure_class(outcome, values_path)
    (stage / OUTCOME_FILE).write_text(json.dumps({
        "status": outcome.status, "error": outcome.error, "failure_class": fclass, "ended_at": ended,
        "duration": ended - started, "values": values, "sources": used}, default=str), encoding="utf-8")
    final = report_dir / pl.run_id
    crash_point("staged")
    publish(stage, final)
    crash_point("published")
    if outcome.status == "succeeded":
        point_latest(report_dir, pl.run_id)
    rel = f"{pl.report}/{pl.run_id}"
    runlog.finish(pl.run_id, status=outcome.status, ended_at=time.time(), duration=ended - started,
                  error=outcome.error, run_dir=rel, report_path=f"{rel}/report.html",
                  notebook_path=f"{rel}/notebook.ipynb", values=values, sources=used, failure_class=fclass)
    build_index(reports_dir, runlog, pl.descriptions or {pl.report: pl.description})
    return RunResult(pl.run_id, pl.report, outcome.status, shown_params, outcome.error, ended - started, final, values,
                     failure_class=fclass)


def run_report(target: str | os.PathLike[str], params: dict[str, Any] | None = None, *,
               config: Config | None = None, params_file: str | os.PathLike[str] | None = None,
               timeout: float | None = None, cell_timeout: float | None = None, show_code: bool = False,
               progress: bool | None = None, kernels: Any = None) -> RunResult:
    """Run a report (a ``[reports.NAME]`` or a notebook path) once; see the module doc.

    ``kernels`` may be a shared :class:`~workbench.reports.kernels.ForkedKernels` (tests,
    services); by default a fresh kernel is started for this run.
    """
    from .execute.kernels import ColdKernels

    (pl,) = plan(target, params, config=config, params_file=params_file, timeout=timeout,
                 cell_timeout=cell_timeout, show_code=show_code)
    runlog = RunLog(pl.runlog)
    startup(runlog, Path(pl.reports_dir))
    runlog.add(pl.run_id, pl.report, pl.notebook, shown(pl), status=RUNNING)
    own = kernels is None
    if own:
        kernels = ColdKernels(pl.root, kernel_env(pl))
        kernels.start()  # boots while papermill and nbconvert are imported and the notebook is prepared
    try:
        return execute_plan(pl, kernels, progress=sys.stderr.isatty() if progress is None else progress)
    finally:
        if own:
            kernels.close()


