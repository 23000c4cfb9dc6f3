"""The executor seam: where one validated run goes to be executed.

An executor takes :class:`~workbench.reports.model.Plan` objects whose run is already
in the run log (the caller adds it, as ``run_many`` does) and answers each with a
future of its :class:`~workbench.reports.model.RunResult`. The run itself is always
:func:`workbench.reports.run.execute_plan`; an executor only decides where it happens
(a local process pool, a Dask cluster). The run log stays the truth: a future that
raises means the executor lost the run (a worker died), and the caller records it.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..reports.model import Plan, RunResult


@runtime_checkable
class Executor(Protocol):
    def submit(self, plan: "Plan") -> "concurrent.futures.Future[RunResult]": ...   # one validated run

    def shutdown(self, wait: bool = True) -> None: ...
