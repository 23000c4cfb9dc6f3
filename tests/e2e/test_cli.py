"""The CLI as a user runs it: a subprocess, one-line errors, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.support.hostile import HOSTILE
from tests.support.projects import write_config


def run(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "app.db") as c:
        c.executescript("create table photos (id integer primary key, title text, posted_at timestamp);"
                        "insert into photos values (1, 'Zürich', '2026-11-01T10:00:00+00:00'), (2, NULL, NULL);")
    write_config(tmp_path, "sqlite:///data/app.db")
    return tmp_path


def test_sql_json_with_typed_parameter(project):
    r = run("sql", "app", "select id, title from photos where id = :id", "-p", "id:int", "1", "-f", "json", cwd=project)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"id": 1, "title": "Zürich"}]
    assert r.stderr == ""


def test_sql_old_parameter_form_still_works_with_a_note(project):
    r = run("sql", "app", "select id, title from photos where id = :id", "-p", "id:int=1", "-f", "json", cwd=project)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"id": 1, "title": "Zürich"}]
    assert r.stderr.strip() == "workbench: note: -p id:int=1 is the old form; write -p id:int '1'"


def test_sql_csv_and_hub(project):
    r = run("sql", "hub", "select count(*) as n from app.photos", "-f", "csv", cwd=project)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["n", "2"]


def test_hostile_parameter_is_data(project):
    """Every hostile string through ``-p`` (one process for the corpus) comes back as itself."""
    names = [f"v{i}" for i in range(len(HOSTILE))]
    sql = "select count(*) as n, " + ", ".join(f":{n} as {n}" for n in names) + " from photos where title = :v0"
    args = [a for n, v in zip(names, HOSTILE) for a in ("-p", n, v)]
    r = run("sql", "app", sql, *args, "-f", "json", cwd=project)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"n": 0, **dict(zip(names, HOSTILE))}]
    with sqlite3.connect(project / "data" / "app.db") as c:
        assert c.execute("select count(*) from photos").fetchone()[0] == 2


@pytest.mark.parametrize("args, code, words", [
    (("sql", "app", "delete from photos"), 1, "read-only"),
    (("sql", "app", "select * from nope"), 1, "no such table"),
    (("sql", "nope", "select 1"), 2, "unknown source 'nope'"),
    (("sql", "app", "select :x"), 2, "no value was given; pass x="),
    (("sql", "app", "select 1", "-p", "x:int", "abc"), 2, "x: expected int, got 'abc'"),
    (("sql", "app", "select 1", "-f", "xml"), 2, "use table, csv or json"),
])
def test_errors_are_one_line_with_exit_code(project, args, code, words):
    r = run(*args, cwd=project)
    assert r.returncode == code
    assert words in r.stderr
    assert r.stderr.startswith("workbench: error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_bad_config_is_exit_2(project):
    (project / "workbench.toml").write_text('[sources.app]\nurl = "sqlite:///a.db"\nrole = "olap"\n')
    r = run("sources", cwd=project)
    assert r.returncode == 2 and "sources.app.role: unknown role 'olap'" in r.stderr


def test_debug_shows_traceback(project):
    r = run("--debug", "sql", "nope", "select 1", cwd=project)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_sources_table_and_help(project):
    r = run("sources", "-f", "json", cwd=project)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["app"]["reachable"] is True and rows["warehouse"]["reachable"] is False
    assert "does not exist" in rows["warehouse"]["problem"]
    h = run("sql", "--help", cwd=project)
    assert h.returncode == 0 and "-p NAME VALUE" in h.stdout and "Example" in h.stdout
