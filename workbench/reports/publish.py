"""Atomic publishing: a run is built in a staging folder and appears under its final name whole.

Layout under the reports folder::

    <report>/.staging-<run-id>/      being written; never linked from anywhere
    <report>/<run-id>/               report.html, notebook.ipynb, params.json (complete, fsynced)
    <report>/latest -> <run-id>      symlink, replaced by renaming a new symlink over it
    <report>/latest.html             a tiny redirect to <run-id>/report.html, for static hosts
                                     that do not follow symlinks (also replaced by rename)

Every replacement is a ``rename`` of something complete, so a SIGKILL at any moment
leaves either the old state or the new one. ``latest`` moves only for a run that
succeeded; a failed run is published under its id and the previous good report stays.
Staging folders left by a killed process are removed on the next start.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from ..storage import atomic

STAGING_PREFIX = ".staging-"


def staging_dir(report_dir: Path, run_id: str) -> Path:
    path = report_dir / f"{STAGING_PREFIX}{run_id}"
    path.mkdir(parents=True, exist_ok=False)
    return path


_fsync_dir = atomic.fsync_dir
write_atomic = atomic.write_bytes


def publish(staging: Path, final: Path) -> None:
    """fsync every file of ``staging`` and rename it to ``final`` in one step."""
    for p in staging.iterdir():
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(staging)
    os.rename(staging, final)
    _fsync_dir(final.parent)


def point_latest(report_dir: Path, run_id: str) -> None:
    """Move ``latest`` (symlink) and ``latest.html`` (redirect) to ``run_id``."""
    tmp = report_dir / f".latest-{uuid.uuid4().hex[:8]}"
    os.symlink(run_id, tmp)
    os.replace(tmp, report_dir / "latest")
    write_atomic(
        report_dir / "latest.html",
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={run_id}/report.html">'
        f'<title>latest report</title><a href="{run_id}/report.html">latest report ({run_id})</a>\n',
    )
    _fsync_dir(report_dir)


def sweep_staging(reports_dir: Path, live: set[str]) -> list[Path]:
    """Remove staging folders and temp files of runs that are no longer live."""
    removed = []
    if not reports_dir.is_dir():
        return removed
    for report_dir in reports_dir.iterdir():
        if not report_dir.is_dir():
            continue
        for p in report_dir.iterdir():
            if p.name.startswith(STAGING_PREFIX) and p.name[len(STAGING_PREFIX):] not in live:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
            elif p.name.startswith(".latest-") or atomic.is_temp(p, "latest.html"):
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed
