"""Execute a prepared notebook with papermill in a kernel we own, and say how it ended.

papermill runs the cells (its progress bar, per-cell metadata, saving after each cell).
It gets a kernel that is already running (:mod:`.kernels`) through a small papermill
engine, so it neither starts nor waits for the shutdown of one. Two clocks bound a run:
the per-cell timeout (nbclient's) and the whole-run timeout, a timer that kills the
kernel; either way the run ends as ``timed out`` with the reason, never as a hang.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .kernels import KernelStartError, RunKernel

SUCCEEDED, FAILED, TIMED_OUT = "succeeded", "failed", "timed out"


@dataclass
class Outcome:
    status: str
    error: str | None = None
    failed_cell: int | None = None  # index of the cell that failed, in the executed notebook
    retryable: bool | None = None   # None: decided by what the kernel recorded about its exception
    ename: str | None = None        # the exception class name of a cell that raised

#: Seconds a timed-out kernel gets to stop after SIGINT before its process group is killed.
INTERRUPT_GRACE = 5.0


def _engine() -> type:
    """A papermill engine that runs on a given, already-running kernel and client."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WorkbenchEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, start_timeout=60,
                                     execution_timeout=None, run_kernel=None, run_client=None, **kwargs):
            client = PapermillNotebookClient(
                nb_man, km=run_kernel, timeout=execution_timeout, startup_timeout=start_timeout,
                kernel_name=kernel_name, log_output=log_output, stdout_file=None, stderr_file=None,
                allow_errors=False, iopub_timeout=10,
            )
            client.kc = run_client
            return client.execute()

    papermill_engines.register("workbench", WorkbenchEngine)
    return WorkbenchEngine


_ENGINE: type | None = None


def skip_iri_grammar() -> None:
    """Spare this process the IRI grammar jsonschema compiles when nbformat is imported.

    nbformat imports jsonschema, whose format checkers import ``rfc3987_syntax`` when it is
    installed; that module compiles an Earley grammar at import, over a second on a 2-core
    machine, for the ``iri``/``iri-reference`` formats, which no notebook schema uses
    (nbformat validates with fastjsonschema). Marking the module absent makes jsonschema
    skip those two checkers, as it does when the package is not installed. For processes
    that only run reports (the CLI's ``run``); a no-op once jsonschema is imported.
    """
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def execute(input_path: Path, output_path: Path, kernel: RunKernel, *, cell_timeout: float | None,
            run_timeout: float | None, progress: bool, injected_at: int, start_timeout: float = 60) -> Outcome:
    """Run ``input_path`` into ``output_path`` on ``kernel``; the kernel is killed at the end.

    ``injected_at`` is the index of the injected-parameters cell, so errors can name the
    failing cell by its number in the user's notebook. Raises :class:`KernelStartError` only when the kernel never answered (retry elsewhere);
    every other way a run can end is an :class:`Outcome`.
    """
    global _ENGINE
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if _ENGINE is None:
        _ENGINE = _engine()
    client = kernel.connect(start_timeout)  # KernelStartError: nothing ran yet
    fired = threading.Event()
    done = threading.Event()

    def stop() -> None:
        fired.set()
        kernel.interrupt()
        if not done.wait(INTERRUPT_GRACE):
            kernel.kill()  # the whole process group: native code does not get to run on

    timer = threading.Timer(run_timeout, stop) if run_timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        pm.execute_notebook(
            str(input_path), str(output_path), engine_name="workbench", kernel_name="python3",
            progress_bar=progress, log_output=False, request_save_on_cell_execute=True,
            execution_timeout=cell_timeout, start_timeout=start_timeout,
            run_kernel=kernel, run_client=client,
        )
        return Outcome(SUCCEEDED)
    except PapermillExecutionError as e:
        if fired.is_set():
            return Outcome(TIMED_OUT, f"the run took longer than its timeout ({run_timeout:g} s) and was stopped; "
                                      "raise --timeout or make the notebook faster", e.cell_index, False)
        where = "a cell"
        if e.cell_index is not None:
            where = f"cell {e.cell_index + (0 if e.cell_index < injected_at else -1) + 1} of the notebook"
        return Outcome(FAILED, f"{e.ename}: {_first_line(e.evalue)} ({where})", e.cell_index, None, e.ename)
    except CellTimeoutError:
        if fired.is_set():  # the run's timeout fired first (its interrupt ends the cell too)
            return Outcome(TIMED_OUT, f"the run took longer than its timeout ({run_timeout:g} s) and was stopped; "
                                      "raise --timeout or make the notebook faster", retryable=False)
        return Outcome(TIMED_OUT, f"a cell ran longer than the cell timeout ({cell_timeout:g} s); "
                                  "raise --cell-timeout or make the cell faster", retryable=False)
    except DeadKernelError:
        if fired.is_set():
            return Outcome(TIMED_OUT, f"the run took longer than its timeout ({run_timeout:g} s) and was stopped; "
                                      "raise --timeout or make the notebook faster", retryable=False)
        return Outcome(FAILED, "the kernel died while running the notebook (killed, out of memory, "
                               "or os._exit in a cell)", retryable=True)
    except KernelStartError:
        raise
    except Exception as e:  # nbclient/zmq trouble mid-run: still a failed run, with the reason
        if fired.is_set():
            return Outcome(TIMED_OUT, f"the run took longer than its timeout ({run_timeout:g} s) and was stopped",
                           retryable=False)
        return Outcome(FAILED, f"{type(e).__name__}: {_first_line(str(e))}", retryable=True)
    finally:
        done.set()
        if timer:
            timer.cancel()
        client.stop_channels()
        kernel.kill()


def _first_line(text: Any) -> str:
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= 300 else line[:297] + "..."
