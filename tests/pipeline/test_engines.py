"""The incremental decisions with the OLTP source on each engine: SQLite, PostgreSQL, MariaDB.

The pipeline (SQL tasks only, so a case costs no kernel start):

    photo_copy (reads app.photos) -> photo_titles -> joined <- user_features (reads the lake's events)

``photo_copy`` reads the OLTP table through the source's own fingerprint
(``workbench.connectors.sqlite`` / ``postgres`` / ``mysql``); ``user_features`` is the
unrelated branch: it reads a folder of JSON-lines files in the lake. Each case runs
twice unchanged, changes one row, aborts a transaction (PostgreSQL and MariaDB: BEGIN;
UPDATE; ROLLBACK; SQLite: the same through a connection that rolls back), adds a file
of events, forces one task, edits only a comment of the reader's SQL and changes its
parameter (bound in the query the OLTP engine runs). A missing PostgreSQL or MariaDB fails in CI
(tests/support/servers.py).
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.support.projects import source_tables
from tests.support.servers import admin_execute, require_server, scratch_database
from workbench.config import load_config
from workbench.pipeline.run import run_pipeline

TASKS = ("photo_copy", "photo_titles", "user_features", "joined")


def statuses(result):
    return {t.name: (t.status, t.reason) for t in result.tasks}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def app_url(request, tmp_path):
    """The app source's URL: a photos table of two rows in a fresh database of each kind."""
    create = ["create table photos (id integer primary key, title varchar(40))",
              "insert into photos values (1, 'a'), (2, 'b')"]
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        sqlite3.connect(path).close()
        url = f"sqlite:///{path}"
        admin_execute(url, *create)
        yield url
        return
    require_server(request.param)
    with scratch_database(request.param, prefix="wb_pipe") as url:
        admin_execute(url, *create)
        yield url


def write_events(lake: Path, name: str, rows: list[dict]) -> None:
    (lake / "events" / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def make_project(root: Path, app_url: str) -> Path:
    lake = root / "data" / "lake"
    (lake / "events").mkdir(parents=True)
    write_events(lake, "day1.jsonl", [{"user_id": 1, "kind": "login"}, {"user_id": 2, "kind": "login"}])
    tasks = root / "tasks"
    tasks.mkdir()
    (tasks / "photo_copy.sql").write_text("select id, title from app.photos where id >= :min_id")
    (tasks / "photo_titles.sql").write_text(
        "select count(*) as photos, string_agg(title, ',' order by id) as titles from warehouse.photo_copy")
    (tasks / "user_features.sql").write_text(
        "select user_id, count(*) as logins from events where kind = 'login' group by user_id")
    (tasks / "joined.sql").write_text(
        "select u.user_id, u.logins, t.photos, t.titles from warehouse.user_features u, warehouse.photo_titles t")
    cfg = root / "workbench.toml"
    cfg.write_text('[workbench]\nreports_dir = "reports"\n\n' + source_tables(app_url) + textwrap.dedent("""
        [lake.events]
        path = "data/lake/events/*.jsonl"

        [pipelines.engines]
        retry_delay = "0s"
        parameters = { min_id = 1 }

        [pipelines.engines.tasks.photo_copy]
        sql = "tasks/photo_copy.sql"
        reads = ["app.photos"]
        writes = ["warehouse.photo_copy"]

        [pipelines.engines.tasks.photo_titles]
        sql = "tasks/photo_titles.sql"
        reads = ["warehouse.photo_copy"]
        writes = ["warehouse.photo_titles"]

        [pipelines.engines.tasks.user_features]
        sql = "tasks/user_features.sql"
        reads = ["events"]
        writes = ["warehouse.user_features"]

        [pipelines.engines.tasks.joined]
        sql = "tasks/joined.sql"
        reads = ["warehouse.user_features", "warehouse.photo_titles"]
        writes = ["warehouse.joined"]
        """))
    return cfg


def joined_rows(cfg) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(cfg.root / "data" / "warehouse.duckdb"), read_only=True) as db:
        return db.execute("select user_id, logins, photos, titles from joined order by user_id").fetchall()


def aborted_update(url: str) -> None:
    """BEGIN; UPDATE one row; ROLLBACK, on the app database itself (not through workbench)."""
    if url.startswith("sqlite"):
        db = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
        db.execute("begin")
        db.execute("update photos set title = 'aborted' where id = 2")
        db.execute("rollback")
        db.close()
    else:  # autocommit connections: the explicit BEGIN opens the transaction ROLLBACK ends
        admin_execute(url, "begin", "update photos set title = 'aborted' where id = 2", "rollback")


def test_incremental_runs_on_each_oltp_engine(tmp_path, app_url):
    cfg = load_config(make_project(tmp_path, app_url))
    first = run_pipeline(cfg, "engines")
    assert first.ok, [(t.name, t.status, t.error) for t in first.tasks]
    assert statuses(first) == {n: ("ran", "never succeeded") for n in TASKS}
    assert joined_rows(cfg) == [(1, 1, 2, "a,b"), (2, 1, 2, "a,b")]

    # twice unchanged: all skipped, each with its reason
    again = run_pipeline(cfg, "engines")
    assert statuses(again) == {n: ("skipped", f"unchanged since run {first.run_id}") for n in TASKS}

    # one row of app.photos: its reader and dependants only; the lake branch stays skipped
    admin_execute(app_url, "update photos set title = 'changed' where id = 1")
    row = run_pipeline(cfg, "engines")
    assert statuses(row) == {
        "photo_copy": ("ran", "app.photos changed"),
        "photo_titles": ("ran", "upstream photo_copy wrote new data"),
        "joined": ("ran", "upstream photo_titles wrote new data"),
        "user_features": ("skipped", f"unchanged since run {first.run_id}"),
    }
    assert joined_rows(cfg) == [(1, 1, 2, "changed,b"), (2, 1, 2, "changed,b")]

    # an aborted transaction: a re-run of the reader is allowed (a fingerprint may move for
    # nothing), but it wrote the same rows, so nothing downstream of it runs
    aborted_update(app_url)
    after_abort = statuses(run_pipeline(cfg, "engines"))
    assert after_abort["photo_copy"][0] in ("ran", "skipped"), after_abort
    assert {after_abort[n][0] for n in ("photo_titles", "user_features", "joined")} == {"skipped"}, after_abort
    assert joined_rows(cfg) == [(1, 1, 2, "changed,b"), (2, 1, 2, "changed,b")]
    # ...and a real change after it still re-runs
    admin_execute(app_url, "update photos set title = 'real' where id = 2")
    real = statuses(run_pipeline(cfg, "engines"))
    assert real["photo_copy"] == ("ran", "app.photos changed")
    assert real["photo_titles"][0] == real["joined"][0] == "ran" and real["user_features"][0] == "skipped"
    assert joined_rows(cfg) == [(1, 1, 2, "changed,real"), (2, 1, 2, "changed,real")]

    # a file of events in the lake: its reader and dependants only
    write_events(tmp_path / "data" / "lake", "day2.jsonl", [{"user_id": 1, "kind": "login"}])
    events = run_pipeline(cfg, "engines")
    s = statuses(events)
    assert s["user_features"] == ("ran", "events changed")
    assert s["joined"] == ("ran", "upstream user_features wrote new data")
    assert s["photo_copy"][0] == s["photo_titles"][0] == "skipped"
    assert joined_rows(cfg) == [(1, 2, 2, "changed,real"), (2, 1, 2, "changed,real")]

    # force one task: it runs, writes the same rows, and its dependants are cut off
    forced = statuses(run_pipeline(cfg, "engines", force=["photo_copy"]))
    assert forced["photo_copy"] == ("ran", "forced")
    assert {forced[n][0] for n in ("photo_titles", "user_features", "joined")} == {"skipped"}, forced
    assert forced["joined"] == ("skipped", f"unchanged since run {events.run_id}")

    # a comment in the SQL only: nothing runs
    sql = tmp_path / "tasks" / "photo_copy.sql"
    sql.write_text("-- the photos, as the app has them\n" + sql.read_text() + "  -- bound, never pasted\n")
    assert {t.status for t in run_pipeline(cfg, "engines").tasks} == {"skipped"}

    # a parameter of the reader (bound in the OLTP engine's query): it and its dependants
    narrowed = statuses(run_pipeline(cfg, "engines", params={"min_id": "2"}))
    assert narrowed["photo_copy"] == ("ran", "parameter min_id changed")
    assert narrowed["photo_titles"] == ("ran", "upstream photo_copy wrote new data")
    assert narrowed["joined"] == ("ran", "upstream photo_titles wrote new data")
    assert narrowed["user_features"][0] == "skipped"
    assert joined_rows(cfg) == [(1, 2, 1, "real"), (2, 1, 1, "real")]
