"""wb.load, wb.export and incremental sync against real SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import make_url

import workbench as wb
import workbench.syncing.incremental  # noqa: F401
from workbench.errors import QueryError, UsageError

from tests.support.projects import write_config
from tests.support.servers import admin_execute, kind_of

PHOTOS_DDL = {
    "sqlite": "create table photos (id integer primary key, title text, likes integer, updated_at timestamp)",
    "postgresql": "create table photos (id integer primary key, title text, likes integer, updated_at timestamptz)",
    "mysql": "create table photos (id integer primary key, title text, likes integer, updated_at datetime(6))",
}


def _ts(kind: str, second: int) -> str:
    base = f"2026-11-01 10:00:{second:02d}"
    return base.replace(" ", "T") + "+00:00" if kind == "sqlite" else base


def upsert(url: str, rows: list[tuple[int, str, int, int]]) -> None:
    kind = kind_of(url)
    for id_, title, likes, sec in rows:
        admin_execute(url, f"delete from photos where id = {id_}")
        admin_execute(url, "insert into photos values (%s, %s, %s, %s)".replace("%s", "?" if kind == "sqlite" else "%s"),
                      params=(id_, title, likes, _ts(kind, sec)))


@pytest.fixture
def project(tmp_path, oltp_url):
    admin_execute(oltp_url, PHOTOS_DDL[kind_of(oltp_url)])
    upsert(oltp_url, [(1, "a", 0, 1), (2, "b", 5, 2), (3, "c", 9, 3)])
    cfg = write_config(tmp_path, oltp_url)
    with wb.Workbench(cfg) as w:
        yield w, oltp_url, tmp_path


def source_rows(url):
    return sorted((int(r[0]), r[1], int(r[2])) for r in admin_execute(url, "select id, title, likes from photos"))


def warehouse_rows(w, table="photos"):
    df = w.sql(f"select id, title, likes from {table} order by id", source="warehouse")
    return [(int(a), b, int(c)) for a, b, c in df.itertuples(index=False)]


@pytest.mark.parametrize("to", ["warehouse", "lake"])
def test_incremental_sync_follows_inserts_updates_deletes(project, to):
    from workbench.syncing.incremental import sync

    w, url, root = project
    first = sync(w, "app.photos", incremental_by="updated_at", to=to, progress=False)
    assert first.mode == "full" and first.rows == 3

    def synced():
        if to == "warehouse":
            return warehouse_rows(w)
        t = pq.read_table(root / "data" / "lake" / "app" / "photos.parquet").to_pandas()
        return sorted((int(a), b, int(c)) for a, b, c in t[["id", "title", "likes"]].itertuples(index=False))

    assert synced() == source_rows(url)
    upsert(url, [(4, "d", 1, 10), (2, "b2", 6, 11)])     # insert one, update one
    admin_execute(url, "delete from photos where id = 1")  # delete one
    second = sync(w, "app.photos", incremental_by="updated_at", to=to, progress=False)
    assert second.mode == "incremental"
    assert second.fetched <= 3  # only rows at or past the watermark, not the table
    assert second.deleted == 1
    assert synced() == source_rows(url)
    third = sync(w, "app.photos", incremental_by="updated_at", to=to, progress=False)
    assert third.deleted == 0 and synced() == source_rows(url)


def test_tables_synced_to_the_lake_are_datasets_of_their_own(project):
    """sync writes LAKE/SOURCE/TABLE.parquet for each table: discovery shows SOURCE_TABLE for
    each, not one SOURCE dataset that unions the tables' files."""
    from workbench.syncing.incremental import sync

    w, url, root = project
    admin_execute(url, "create table tags (id integer primary key, tag varchar(20))")
    admin_execute(url, "insert into tags values (1, 'sea'), (2, 'sky')")
    assert "lake.app_photos" in str(sync(w, "app.photos", to="lake", progress=False))  # says what to query
    sync(w, "app.tags", to="lake", progress=False)
    w.hub.refresh()
    lake = w.tables("lake")
    assert {"app_photos", "app_tags"} <= set(lake["table"]) and "app" not in set(lake["table"])
    assert w.sql("select count(*) as n from app_photos")["n"][0] == 3
    assert list(w.sql("select list(tag order by id) as t from lake.app_tags")["t"][0]) == ["sea", "sky"]


def test_load_replace_append_and_failed_load_keeps_old_table(project):
    w, url, _ = project
    from workbench.syncing.load import load

    assert load(w, pd.DataFrame({"a": [1, 2]}), "warehouse.t").rows == 2
    assert load(w, pd.DataFrame({"a": [3]}), "t", mode="append").rows == 3
    assert load(w, "select id as a from photos", "t", source="app", mode="append").rows == 6
    before = w.sql("select a from t order by a", source="warehouse")["a"].tolist()
    with pytest.raises(QueryError):  # fails on the source mid-load: the old table stays
        load(w, "select * from no_such_table", "t", source="app")
    # a type clash on append: nothing appended. (DuckDB's own error class: load does not
    # map it into the family yet, see test_load_type_clash_is_a_query_error.)
    with pytest.raises(QueryError, match="Could not convert string 'not a number' to INT64"):
        load(w, pd.DataFrame({"a": ["not a number"]}), "t", mode="append")
    assert w.sql("select a from t order by a", source="warehouse")["a"].tolist() == before
    with pytest.raises(UsageError, match="plain name"):
        load(w, pd.DataFrame({"a": [1]}), 'warehouse.t; drop table t')


def test_load_type_clash_is_a_query_error(tmp_path, sqlite_url):
    """Every failure of wb.load is a WorkbenchError that names the problem."""
    from workbench.syncing.load import load

    with wb.Workbench(write_config(tmp_path, sqlite_url)) as w:
        load(w, pd.DataFrame({"a": [1]}), "t")
        with pytest.raises(QueryError, match="not a number"):
            load(w, pd.DataFrame({"a": ["not a number"]}), "t", mode="append")


def test_export_parquet_and_csv_atomic(project):
    w, _, root = project
    from workbench.syncing.export import export

    out = root / "out" / "photos.parquet"
    r = export(w, "select * from photos where likes >= :n", out, source="app", params={"n": 1}, progress=False)
    assert r.rows == 2 and pq.read_table(out).num_rows == 2
    csv = root / "out" / "photos.csv"
    export(w, "select id, title from app.photos order by id", csv, progress=False)
    assert csv.read_text().splitlines()[0].replace('"', "") == "id,title"
    with pytest.raises(QueryError):
        export(w, "select * from nope", root / "out" / "bad.parquet", source="app", progress=False)
    assert sorted(p.name for p in (root / "out").iterdir()) == ["photos.csv", "photos.parquet"]


def test_sync_bad_input(project):
    from workbench.syncing.incremental import sync

    w, _, _ = project
    with pytest.raises(UsageError, match="SOURCE.TABLE"):
        sync(w, "photos")
    with pytest.raises(UsageError, match="no table 'nope'"):
        sync(w, "app.nope")
    with pytest.raises(UsageError, match="no such column"):
        sync(w, "app.photos", incremental_by="changed")


KILL_SCRIPT = """
import sys, workbench as wb
w = wb.Workbench(sys.argv[1])
print("start", flush=True)
print(w.sync("app.big", incremental_by="updated_at", progress=False), flush=True)
"""


def _warehouse_big(cfg) -> tuple[int, int, int, int] | None:
    """(rows, distinct ids, rows with v = 'changed', max id) of the warehouse's ``big``, or None
    when there is no such table; opening and reading the warehouse must work either way."""
    with wb.Workbench(cfg) as w:
        if "big" not in set(w.tables("warehouse")["table"]):
            return None
        df = w.sql("select count(*) as n, count(distinct id) as d, count(*) filter (where v = 'changed') as c, "
                   "max(id) as m from big", source="warehouse")
        return tuple(int(df[k][0]) for k in ("n", "d", "c", "m"))


def _start_and_kill(script, cfg, delay: float) -> bool:
    """Run a sync in a subprocess and SIGKILL it ``delay`` s after it starts; whether it had finished."""
    p = subprocess.Popen([sys.executable, str(script), str(cfg)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    time.sleep(delay)
    finished = p.poll() is not None
    p.send_signal(signal.SIGKILL)
    p.wait()
    if finished:
        assert p.returncode == 0
    return finished


def test_sync_killed_midway_then_repaired(tmp_path, sqlite_url):
    """SIGKILL a sync at several points, first a full one, then an incremental one on top of a
    complete table. After every kill the warehouse opens and ``big`` is either absent (only
    while no sync has ever completed) or exactly one whole state: never a partial table, never
    a mix of the old and the new rows. The next run repairs whatever the kill left."""
    import sqlite3

    path = make_url(sqlite_url).database
    with sqlite3.connect(path) as c:
        c.execute("create table big (id integer primary key, v text, updated_at timestamp)")
        c.executemany("insert into big values (?, ?, ?)",
                      ((i, "x" * 50, f"2026-11-01T10:00:{i % 60:02d}+00:00") for i in range(300_000)))
    cfg = write_config(tmp_path, sqlite_url)
    script = tmp_path / "s.py"
    script.write_text(KILL_SCRIPT)
    old = (300_000, 300_000, 0, 299_999)  # the source as it is now, synced whole
    ever_whole = False
    for delay in (0.2, 0.8, 1.5):
        finished = _start_and_kill(script, cfg, delay)
        state = _warehouse_big(cfg)
        if ever_whole or finished:  # a completed sync is never undone by a later kill
            assert state == old, (delay, state)
        else:
            assert state in (None, old), (delay, state)
        ever_whole = state == old

    from workbench.syncing.incremental import sync

    with wb.Workbench(cfg) as w:  # the repair run after the kills: whole, whatever they left
        sync(w, "app.big", incremental_by="updated_at", progress=False)
    assert _warehouse_big(cfg) == old

    with sqlite3.connect(path) as c:
        c.execute("update big set v = 'changed', updated_at = '2026-11-02T00:00:00+00:00' where id < 10")
        c.execute("delete from big where id >= 299990")
    new = (299_990, 299_990, 10, 299_989)
    for delay in (0.3, 1.0):  # kill the incremental run: the old state or the new, never a mix
        finished = _start_and_kill(script, cfg, delay)
        state = _warehouse_big(cfg)
        assert state == new if finished else state in (old, new), (delay, state)
    with wb.Workbench(cfg) as w:
        sync(w, "app.big", incremental_by="updated_at", progress=False)
    assert _warehouse_big(cfg) == new
    assert not [p for p in os.listdir(tmp_path / "data") if p.endswith(".part")]


def test_idle_hub_does_not_lock_the_warehouse(tmp_path, sqlite_url):
    """A notebook that has queried the warehouse does not block a sync from another process,
    and sees its result on the next query."""
    admin_execute(sqlite_url, PHOTOS_DDL["sqlite"])
    upsert(sqlite_url, [(1, "a", 0, 1), (2, "b", 5, 2)])
    cfg = write_config(tmp_path, sqlite_url)
    with wb.Workbench(cfg) as w:
        from workbench.syncing.load import load

        load(w, pd.DataFrame({"a": [1]}), "t")
        assert w.sql("select count(*) as n from t")["n"][0] == 1  # the hub has used the warehouse
        r = subprocess.run([sys.executable, "-m", "workbench", "--config", str(cfg), "sync", "app.photos"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert w.sql("select count(*) as n from photos", source="warehouse")["n"][0] == 2
        assert w.sql("select count(*) as n from t")["n"][0] == 1
