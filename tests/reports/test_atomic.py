"""SIGKILL ``workbench run`` at random moments: ``latest`` always points at a complete report,
no half-written file sits under a final name, and the next start marks the run failed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from workbench.config import load_config
from workbench.reports import run_report
from workbench.reports.publish import STAGING_PREFIX
from workbench.reports.runlog import RunLog

from tests.support.projects import NOTEBOOKS, write_reports_config

pytestmark = pytest.mark.slow

NB = NOTEBOOKS
WORKBENCH = [sys.executable, "-m", "workbench"]


def check_published(report_dir: Path) -> None:
    """Every run folder under its final name is whole; latest points at a good one."""
    for run_dir in report_dir.iterdir():
        if not run_dir.is_dir() or run_dir.name.startswith(STAGING_PREFIX) or run_dir.is_symlink():
            continue
        html = (run_dir / "report.html").read_text()
        assert html.rstrip().endswith("</html>"), run_dir
        nbformat.validate(nbformat.read(run_dir / "notebook.ipynb", as_version=4))
        json.loads((run_dir / "params.json").read_text())
    latest = report_dir / "latest"
    target = report_dir / os.readlink(latest)
    assert (target / "report.html").is_file() and "succeeded" in (target / "report.html").read_text()
    assert os.readlink(latest) in (report_dir / "latest.html").read_text()


def test_sigkill_at_random_points(tmp_path):
    cfg = load_config(write_reports_config(
        tmp_path, {"charts": {"notebook": NB / "charts.ipynb", "parameters": {"n_charts": 2}}}))
    first = run_report("charts", config=cfg, progress=False)
    assert first.ok
    report_dir = cfg.reports_dir / "charts"
    rng = random.Random(20261101)
    env = {**os.environ, "WORKBENCH_CONFIG": str(cfg.path)}
    killed = []
    for delay in sorted(rng.uniform(0.5, 7.0) for _ in range(6)):
        proc = subprocess.Popen([*WORKBENCH, "run", "charts"], cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed.append(delay)
        proc.wait()
        check_published(report_dir)
    assert killed, "no run was killed; the delays are too long for this machine"
    # the next start marks the killed runs failed and removes their staging folders
    after = run_report("charts", config=cfg, progress=False)
    assert after.ok
    check_published(report_dir)
    rows = RunLog(cfg.runlog_path).runs("charts")
    assert not [r for r in rows if r.status in ("queued", "running")]
    interrupted = [r for r in rows if r.status == "failed"]
    assert all("interrupted" in r.error for r in interrupted)
    assert not [p for p in report_dir.iterdir() if p.name.startswith((STAGING_PREFIX, ".latest-"))]
    assert os.readlink(report_dir / "latest") == after.id
