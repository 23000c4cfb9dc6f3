"""Retries by failure class: what may be tried again, and when.

Here, below the scheduler and the pipeline runner, because both retry by the same rules.

The class is decided where the failure happens and recorded in the run log
(``runs.failure_class``): ``retryable`` when the world was in the way (a kernel that
died or could not start, a source unreachable, a connection lost or refused, a
database locked or busy, a scheduler killed mid-run: :attr:`WorkbenchError.retryable`
and the kernel's note of a cell's exception), ``terminal`` when the run itself is
wrong (the notebook's own exception, a parameter contract violation, a timeout). A
terminal failure is never retried; a retryable one is, up to ``retries`` times, after
``retry_delay · 2^(attempt-1)`` plus up to 25 % jitter, capped at :data:`CAP`. The
jitter comes from the run id, so every process computes the same due time.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..errors import WorkbenchError

CAP = 3600.0
RETRYABLE, TERMINAL = "retryable", "terminal"
FINAL = ("succeeded", "failed", "timed out")


def classify(error: BaseException) -> str:
    """The class of an error raised on our side (before or around a run)."""
    if isinstance(error, WorkbenchError):
        return RETRYABLE if error.retryable else TERMINAL
    return RETRYABLE if isinstance(error, (ConnectionError, TimeoutError, OSError)) else TERMINAL


def backoff(attempt: int, base: float, run_id: str, cap: float = CAP) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, ...) before the next one."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    frac = int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return min(cap, delay * (1 + 0.25 * frac))


def may_retry(run: Any, retries: int) -> bool:
    """Whether ``run`` (the latest attempt at a slot) failed in a way worth another attempt."""
    return (run is not None and run.status in ("failed", "timed out") and run.failure_class == RETRYABLE
            and run.attempt <= retries)


def retry_at(run: Any, base: float) -> float:
    """Unix time at which the next attempt after ``run`` is due."""
    return (run.ended_at or run.queued_at) + backoff(run.attempt, base, run.id)


def is_final(run: Any, retries: int) -> bool:
    """Whether ``run`` is the last word on its slot (succeeded, or failed with no retry to come)."""
    return run.status in FINAL and not may_retry(run, retries)
