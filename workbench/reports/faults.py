"""Named crash points, for the tests that kill a scheduler at a given moment.

``WORKBENCH_CRASH_AT=NAME`` makes :func:`crash_point` ``NAME`` SIGKILL the calling
process's whole process group (the scheduler, its pool workers, their fork servers), as
a power cut or an OOM kill of the service would. Start such a process in its own session
(``start_new_session=True``). Unset, a crash point costs one dictionary lookup.

The points: ``claimed`` (a slot and its run are in the log, nothing submitted yet),
``staged`` (a run's folder is complete in staging, not yet renamed), ``published`` (the
folder is renamed to the run id, ``latest`` and the log not yet updated); and for a
pipeline's SQL task, ``task-writing`` (its Parquet output complete beside the target,
not yet renamed) and ``task-written`` (the output in place, its success not yet in the log).
"""

from __future__ import annotations

import os
import signal

ENV = "WORKBENCH_CRASH_AT"
POINTS = ("claimed", "staged", "published", "task-writing", "task-written")


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)
