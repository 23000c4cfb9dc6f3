"""A report run against a PostgreSQL role with a password: the password is nowhere in what
the run leaves behind (executed notebook, HTML, params, run log, index, console output)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.projects import NOTEBOOKS, write_reports_config

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NB = NOTEBOOKS


def test_password_is_nowhere(tmp_path, pg_role_url):
    url, password = pg_role_url
    write_reports_config(tmp_path, sources={"app": {"url": "${APP_URL}", "role": "oltp"}}, reports_dir=None)
    env = {**os.environ, "APP_URL": url}
    env.pop("WORKBENCH_CONFIG", None)
    proc = subprocess.run([sys.executable, "-m", "workbench", "run", str(NB / "secret.ipynb")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # the last cell fails on purpose
    run_dir = next(p for p in (tmp_path / "reports" / "secret").iterdir() if p.is_dir() and not p.is_symlink())
    notebook = (run_dir / "notebook.ipynb").read_text()
    assert '"n": 2' in notebook or ">2<" in notebook  # the source was really used
    assert "no_such_table" in (run_dir / "report.html").read_text()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "workbench.toml"]
    assert any(p.name.startswith("runlog.db") for p in files)
    for text in [proc.stdout, proc.stderr, *(p.read_bytes().decode("utf-8", "replace") for p in files)]:
        assert password not in text
