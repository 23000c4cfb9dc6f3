"""Each command imports only what it uses: the guard of a fast command line, without timing.

A command runs in a fresh interpreter, as a user runs it; the test then looks at what is
in ``sys.modules``. An eager ``import pandas`` (or DuckDB, nbformat ...) at the top of a
module that ``--help``, ``params`` or ``sql`` reaches fails here at once, where a timing
would only drift. ``bench/cli.py`` measures the times.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.support.projects import write_reports_config

#: runs a command through workbench.cli.main, then writes the top-level packages loaded
PROBE = """
import json, sys
import workbench.cli as cli
code = cli.main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}, f)
"""

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "p", "metadata": {"tags": ["parameters"]},
         "outputs": [], "source": ["day: str = \"2026-11-01\"  # the day\n", "top_n = 10"]},
        {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [],
         "source": ["print(day, top_n)"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}

HEAVY = {"duckdb", "pandas", "pyarrow", "numpy", "sqlalchemy", "nbformat", "nbconvert", "nbclient", "papermill",
         "jupyter_client", "jsonschema", "plotly", "IPython", "ipykernel"}


@pytest.fixture
def project(tmp_path):
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "app.db") as c:
        c.executescript("create table photos (id integer primary key, title text, posted_at timestamp);"
                        "insert into photos values (1, 'Zürich', '2026-11-01T10:00:00+00:00'), (2, NULL, NULL);")
    (tmp_path / "daily.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    write_reports_config(tmp_path, {"daily": {"notebook": "daily.ipynb", "description": "a day"}}, sources={
        "app": {"url": "sqlite:///data/app.db", "role": "oltp"},
        "warehouse": {"url": "duckdb:///data/warehouse.duckdb", "role": "warehouse"},  # built on demand only
        "lake": {"url": "data/lake", "role": "lake"},
    })
    return tmp_path


def loaded(project, *args: str) -> set[str]:
    out = project / "modules.json"
    r = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=project, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    assert result["code"] == 0, (r.stdout, r.stderr)
    return set(result["modules"])


def test_help_imports_nothing_heavy(project):
    mods = loaded(project, "--help")
    assert not mods & (HEAVY | {"pydantic", "dotenv"}), sorted(mods & (HEAVY | {"pydantic", "dotenv"}))


def test_params_reads_the_notebook_as_json(project):
    # pydantic is allowed: typer coerces command arguments with it, and the config is pydantic
    mods = loaded(project, "params", "daily")
    assert not mods & HEAVY, sorted(mods & HEAVY)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_on_sqlite_needs_no_duckdb_pandas_or_sqlalchemy(project, fmt):
    mods = loaded(project, "sql", "app", "select id, title, posted_at from photos", "-f", fmt)
    assert "pyarrow" in mods  # the result is Arrow
    unwanted = HEAVY - {"pyarrow", "numpy"}
    assert not mods & unwanted, sorted(mods & unwanted)
