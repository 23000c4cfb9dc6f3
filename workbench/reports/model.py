"""What a run is: a validated :class:`Plan` going in, a :class:`RunResult` coming out.

Both are plain picklable data, so a plan can go to a worker process (or a Dask worker)
and its result come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import params as P
from .runlog import QUEUED, RUNNING, STATUSES  # noqa: F401 - the statuses live with the log

SUCCEEDED, FAILED, TIMED_OUT = "succeeded", "failed", "timed out"


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
    #: for a run that did not succeed: 'retryable' (the world was in the way: a kernel that
    #: died or never started, a lost connection, a lock) or 'terminal' (the run itself is wrong)
    failure_class: str | None = None

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
    #: every report's description, for the index page (no config re-read after a run)
    descriptions: dict[str, str] = field(default_factory=dict)
    #: seconds of lease the process executing the run keeps renewing in the run log
    #: (scheduled runs: a run whose lease lapses is known to be lost); None: no lease
    lease: float | None = None




def shown(pl: Plan) -> dict[str, Any]:
    """The parameter values as JSON (dates as ISO text): what the log and the page show."""
    return {k: v["value"] for k, v in P.encode(pl.contract, pl.values).items()}
