"""Write ``tests/data/runlog-v1.db``: a run log made by the code that had no schema version.

The run log's migrations must keep the history of files people already have, so the
fixture is not hand-written SQL: this script takes ``workbench/reports/runlog.py`` as it
was at ``LEGACY_COMMIT`` (the last commit before schema versions; ``git show``, so it is
literally that code, imported from a temp file) and drives its public API to log a few
runs of the kinds that exist in the wild:

* ``legacy-ok``       succeeded, with ``wb.record`` values and sources
* ``legacy-failed``   failed, with an error text
* ``legacy-plain``    succeeded, no values, another report
* ``legacy-running``  left ``running`` by a process that is gone (its pid is dead)

The WAL is checkpointed and the file switched to ``journal_mode=delete`` so the single
``.db`` holds everything (no ``-wal``/``-shm`` to commit). Rerun only if the fixture
must change (run from the repository root)::

    .venv/bin/python tests/reports/make_legacy_runlog.py [OUT]
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

LEGACY_COMMIT = "0299be5d938dfb43930f2fd69c5288f3a7b17387"
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "runlog-v1.db"


def legacy_module():
    """Import runlog.py as it was at ``LEGACY_COMMIT`` under a name of its own."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{LEGACY_COMMIT}:workbench/reports/runlog.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "legacy_runlog.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("legacy_runlog", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _start_and_die(mod, out: str) -> None:
    """In a child: start a run (so it carries this pid) and exit without finishing it."""
    mod.RunLog(out).start("legacy-running", 1_700_000_300.0)


def make(out: Path = OUT) -> Path:
    mod = legacy_module()
    out.parent.mkdir(parents=True, exist_ok=True)
    for p in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
        p.unlink(missing_ok=True)
    log = mod.RunLog(out)

    log.add("legacy-ok", "daily", "notebooks/daily.ipynb", {"day": "2023-11-14", "top_n": 5})
    log.start("legacy-ok", 1_700_000_000.0)
    log.finish("legacy-ok", status="succeeded", ended_at=1_700_000_012.5, duration=12.5, error=None,
               run_dir="daily/legacy-ok", report_path="daily/legacy-ok/report.html",
               notebook_path="daily/legacy-ok/notebook.ipynb",
               values={"rows": 1234, "revenue": 5678.9, "label": "ünïcødé ✓"},
               sources=["warehouse.orders", "lake/events.parquet"])

    log.add("legacy-failed", "daily", "notebooks/daily.ipynb", {"day": "2023-11-15", "top_n": 10})
    log.start("legacy-failed", 1_700_000_100.0)
    log.finish("legacy-failed", status="failed", ended_at=1_700_000_103.25, duration=3.25,
               error="ZeroDivisionError: division by zero (cell 4)", run_dir="daily/legacy-failed",
               report_path="daily/legacy-failed/report.html", notebook_path="daily/legacy-failed/notebook.ipynb",
               values={}, sources=["warehouse.orders"])

    log.add("legacy-plain", "weekly", "notebooks/weekly.ipynb", {})
    log.start("legacy-plain", 1_700_000_200.0)
    log.finish("legacy-plain", status="succeeded", ended_at=1_700_000_201.0, duration=1.0, error=None,
               run_dir="weekly/legacy-plain", report_path="weekly/legacy-plain/report.html",
               notebook_path="weekly/legacy-plain/notebook.ipynb", values={}, sources=[])

    log.add("legacy-running", "daily", "notebooks/daily.ipynb", {"day": "2023-11-16", "top_n": 5},
            status=mod.RUNNING)
    child = multiprocessing.get_context("fork").Process(target=_start_and_die, args=(mod, str(out)))
    child.start()
    child.join()
    assert child.exitcode == 0 and not mod.pid_alive(child.pid)

    with closing(sqlite3.connect(out, isolation_level=None)) as db:
        db.execute("pragma wal_checkpoint(TRUNCATE)")
        assert db.execute("pragma journal_mode=delete").fetchone()[0] == "delete"
    for p in (Path(f"{out}-wal"), Path(f"{out}-shm")):
        assert not p.exists(), p
    return out


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
