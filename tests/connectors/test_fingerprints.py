"""Fingerprints of every source kind, each against the trap its database sets.

A fingerprint may change when nothing changed; it must never stay equal when something
did. Each trap test first shows that the obvious signal is fooled (so the test would
fail on the naive approach), then that the fingerprint is not.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import subprocess
import sys

import duckdb
import pytest

from workbench.config import LakeDataset, SourceConfig
from workbench.connectors.registry import make_source
from workbench.storage import digests

from tests.support.servers import admin_execute


def source(url: str, role: str = "oltp"):
    return make_source(SourceConfig(name="x", url=url, role=role))


def in_other_process(code: str) -> None:
    """Run ``code`` in a fresh Python: a writer that is not us (no shared connection state)."""
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- SQLite
@pytest.fixture
def wal_db(tmp_path):
    path = tmp_path / "app.db"
    c = sqlite3.connect(path)
    c.execute("pragma journal_mode=wal")
    c.execute("create table photos (id integer primary key, title text)")
    c.executemany("insert into photos values (?, ?)", [(i, f"t{i}") for i in range(100)])
    c.commit()
    c.close()  # the last connection: checkpointed, the -wal file removed
    return path


def header(path) -> tuple[int, int]:
    """The SQLite header's file change counter and the file size: the naive signals."""
    with open(path, "rb") as f:
        counter = struct.unpack(">I", f.read(100)[24:28])[0]
    return counter, os.path.getsize(path)


def data_version(path) -> int:
    c = sqlite3.connect(path)
    try:
        return c.execute("pragma data_version").fetchone()[0]
    finally:
        c.close()


def test_sqlite_wal_commit_from_another_process_changes_the_fingerprint(wal_db):
    """A WAL commit leaves the main file's size, mtime and change counter alone, and
    ``PRAGMA data_version`` starts afresh in every connection."""
    version_before = data_version(wal_db)  # a new connection's view, before the change
    naive_before = header(wal_db)  # (read before any connection holds locks: closing a file drops them)
    keep = sqlite3.connect(wal_db)  # an open connection keeps the -wal file (no checkpoint on close)
    keep.execute("select 1 from photos").fetchall()
    src = source(f"sqlite:///{wal_db}")
    before, mtime_before = src.fingerprint("photos"), os.stat(wal_db).st_mtime_ns
    in_other_process(f"import sqlite3; c = sqlite3.connect({str(wal_db)!r}); "
                     "c.execute(\"update photos set title = 'x' where id = 7\"); c.commit()")
    assert header(wal_db) == naive_before and os.stat(wal_db).st_mtime_ns == mtime_before  # the trap
    assert src.fingerprint("photos") != before
    assert data_version(wal_db) == version_before  # per connection: useless across processes
    keep.close()


def test_sqlite_checkpoint_that_skips_page_one_changes_the_fingerprint(wal_db):
    """After a checkpoint (the writer closes, the -wal file goes) the change counter and
    size can be what they were before the change."""
    src = source(f"sqlite:///{wal_db}")
    before, naive_before = src.fingerprint(), header(wal_db)
    assert not os.path.exists(f"{wal_db}-wal")
    in_other_process(f"import sqlite3; c = sqlite3.connect({str(wal_db)!r}); "
                     "c.execute(\"update photos set title = 'y' where id = 3\"); c.commit(); c.close()")
    assert not os.path.exists(f"{wal_db}-wal")
    assert header(wal_db) == naive_before  # the trap
    assert src.fingerprint() != before


def test_sqlite_fingerprint_keeps_the_locks_of_our_own_connections(wal_db):
    """Closing any descriptor of a file drops the process's fcntl locks on it: a
    fingerprint that opened and closed the database would make an open connection of
    ours look absent, and the next writer would checkpoint and delete the -wal under it."""
    keep = sqlite3.connect(wal_db)
    keep.execute("select 1 from photos").fetchall()
    source(f"sqlite:///{wal_db}").fingerprint()
    in_other_process(f"import sqlite3; c = sqlite3.connect({str(wal_db)!r}); "
                     "c.execute(\"update photos set title = 'w' where id = 1\"); c.commit(); c.close()")
    assert os.path.exists(f"{wal_db}-wal")  # the writer saw our connection: no checkpoint-and-delete
    keep.close()


def test_sqlite_unchanged_is_equal_across_sources_and_reads(wal_db):
    first = source(f"sqlite:///{wal_db}").fingerprint("photos")
    src = source(f"sqlite:///{wal_db}")
    list(src.batches("select * from photos", {}, timeout=10))  # a read changes nothing
    src.close()
    digests.forget()
    assert source(f"sqlite:///{wal_db}").fingerprint("photos") == first


def test_sqlite_rollback_journal_commit_changes_the_fingerprint(tmp_path):
    path = tmp_path / "app.db"
    admin_execute(f"sqlite:///{path}", "create table t (a)", "insert into t values (1)")
    src = source(f"sqlite:///{path}")
    before = src.fingerprint("t")
    admin_execute(f"sqlite:///{path}", "update t set a = 2")
    assert src.fingerprint("t") != before


def test_sqlite_missing_file_is_unknown(tmp_path):
    assert source(f"sqlite:///{tmp_path / 'none.db'}").fingerprint() is None


# --------------------------------------------------------------------------- PostgreSQL
def pg_naive(url: str, table: str) -> tuple:
    rows = admin_execute(url, "select pg_stat_clear_snapshot()",
                         f"select n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables where relname = '{table}'")
    return tuple(rows[0])


def test_postgres_stats_reset_trap(pg_url):
    """The statistics counters come back to the same values after pg_stat_reset()."""
    admin_execute(pg_url, "create table t (id int)", "insert into t values (1)", "select pg_stat_force_next_flush()")
    src = source(pg_url)
    before, naive_before = src.fingerprint("t"), pg_naive(pg_url, "t")
    admin_execute(pg_url, "select pg_stat_reset()")
    admin_execute(pg_url, "insert into t values (2)", "select pg_stat_force_next_flush()")
    assert pg_naive(pg_url, "t") == naive_before == (1, 0, 0)  # the trap: counters equal, data not
    assert src.fingerprint("t") != before


def test_postgres_commit_shows_at_once_in_another_backend(pg_url):
    """PostgreSQL 15 flushes statistics at most once a second: a second commit within it is
    invisible to the counters of another backend; the fingerprint reads the rows."""
    admin_execute(pg_url, "create table t (id int, v text)", "insert into t values (1, 'a')")
    src = source(pg_url)
    seen = {src.fingerprint("t")}
    for i in range(5):  # one writer backend, commits back to back
        admin_execute(pg_url, f"update t set v = 'v{i}'")
        seen.add(src.fingerprint("t"))
    assert len(seen) == 6


def test_postgres_aborted_transaction_does_not_change_it_and_ddl_does(pg_url):
    admin_execute(pg_url, "create table t (id int primary key, v text)", "insert into t values (1, 'a'), (2, 'b')")
    src = source(pg_url)
    before = src.fingerprint("t")
    admin_execute(pg_url, "begin", "insert into t values (3, 'c')", "rollback")
    assert src.fingerprint("t") == before  # invisible row versions: exact, not merely conservative
    admin_execute(pg_url, "alter table t add column w int default 5")  # no row is rewritten
    after_ddl = src.fingerprint("t")
    assert after_ddl != before
    admin_execute(pg_url, "truncate t", "insert into t values (1, 'a', 5), (2, 'b', 5)")
    assert src.fingerprint("t") not in (before, after_ddl)
    admin_execute(pg_url, "delete from t where id = 2")
    assert src.fingerprint("t") != after_ddl


def test_postgres_views_and_missing_tables_are_unknown(pg_url):
    admin_execute(pg_url, "create schema s", 'create table s."Mixed" (id int)', "create view v as select 1 as a")
    src = source(pg_url)
    assert src.fingerprint("v") is None
    assert src.fingerprint("nosuch") is None
    assert src.fingerprint('s.Mixed') is not None
    assert src.fingerprint() is not None


# --------------------------------------------------------------------------- MariaDB
def test_mysql_two_writes_in_one_second_trap(mysql_url):
    """UPDATE_TIME has one-second resolution (and is lost on restart)."""
    admin_execute(mysql_url, "create table t (id int primary key, v int) engine=innodb", "insert into t values (1, 0)")
    src = source(mysql_url)
    naive_fooled = False
    for i in range(1, 6):
        admin_execute(mysql_url, f"update t set v = {2 * i}")
        fp1 = src.fingerprint("t")
        t1 = admin_execute(mysql_url, "select update_time from information_schema.tables "
                                      "where table_schema = database() and table_name = 't'")
        admin_execute(mysql_url, f"update t set v = {2 * i + 1}")
        t2 = admin_execute(mysql_url, "select update_time from information_schema.tables "
                                      "where table_schema = database() and table_name = 't'")
        assert src.fingerprint("t") != fp1
        naive_fooled |= t1 == t2
    assert naive_fooled  # commits milliseconds apart share their UPDATE_TIME second


def test_mysql_content_equal_and_unknowns(mysql_url):
    admin_execute(mysql_url, "create table t (id int primary key, v varchar(10))",
                  "insert into t values (1, 'a'), (2, 'b')", "create view w as select * from t")
    src = source(mysql_url)
    before = src.fingerprint("t")
    admin_execute(mysql_url, "update t set v = 'z' where id = 1")
    changed = src.fingerprint("t")
    admin_execute(mysql_url, "update t set v = 'a' where id = 1")
    assert changed != before and src.fingerprint("t") == before  # same rows, same token
    assert src.fingerprint("w") is None and src.fingerprint("nosuch") is None
    assert src.fingerprint() is not None


# --------------------------------------------------------------------------- DuckDB warehouse
@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table m as select range as id, range % 3 as k, 'x' || range as s from range(1000)")
    con.execute("create table dup (a int)")
    con.close()
    return path


def write(path, *statements):
    con = duckdb.connect(str(path))
    for s in statements:
        con.execute(s)
    con.close()


def test_duckdb_duplicates_do_not_cancel(warehouse):
    src = source(f"duckdb:///{warehouse}", "warehouse")
    empty = src.fingerprint("dup")
    write(warehouse, "insert into dup values (7), (7)")
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select bit_xor(hash(t)) from dup t").fetchone()[0] == 0  # the trap of XOR
    con.close()
    assert src.fingerprint("dup") != empty


def test_duckdb_is_content_based_and_lets_go_of_the_file(warehouse):
    src = source(f"duckdb:///{warehouse}", "warehouse")
    before = src.fingerprint("m")
    write(warehouse, "update m set s = 'changed' where id = 500")
    changed = src.fingerprint("m")
    assert changed != before
    # rewritten with the same rows in another order: the same token (early cut-off)
    write(warehouse, "create or replace table m as select range as id, range % 3 as k, 'x' || range as s "
                     "from range(1000) order by random()")
    assert src.fingerprint("m") == before
    assert src.fingerprint("M") == before  # DuckDB's names are case-insensitive
    write(warehouse, "insert into m values (1000, 1, 'x1000')")  # a writer can open it: not held
    assert src.fingerprint("m") not in (before, changed)
    assert src.fingerprint("nosuch") is None and src.fingerprint() is not None


def test_duckdb_held_by_a_writer_is_unknown(warehouse):
    src = source(f"duckdb:///{warehouse}", "warehouse")
    con = duckdb.connect(str(warehouse))
    try:
        assert src.fingerprint("m") is None
    finally:
        con.close()
    assert src.fingerprint("m") is not None


# --------------------------------------------------------------------------- lake
@pytest.fixture
def lake(tmp_path):
    root = tmp_path / "lake"
    for day in ("2026-11-01", "2026-11-02"):
        (root / f"day={day}").mkdir(parents=True)
        (root / f"day={day}" / "events.jsonl").write_text(f'{{"user": 1, "day": "{day}"}}\n')
    return root, lake_source(tmp_path, root, str(root / "**" / "*.jsonl"))


def lake_source(tmp_path, url: str | os.PathLike, path: str, storage: str = ""):
    """The lake source ``lake`` of a project whose one dataset ``events`` is ``path``
    (a lake's datasets come from its Session: [lake.NAME] entries and what it finds)."""
    from workbench.query.session import Session

    cfg = tmp_path / "fp.toml"
    cfg.write_text(f'{storage}\n[sources.lake]\nurl = "{url}"\n[lake.events]\npath = "{path}"\n')
    return Session(cfg).source("lake")


def listing(root):
    return sorted((p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in map(str, root.rglob("*.jsonl")))


def test_lake_cp_p_keeps_mtime_trap(lake):
    root, src = lake
    a, b = root / "day=2026-11-01" / "events.jsonl", root / "day=2026-11-02" / "events.jsonl"
    other = root.parent / "other.jsonl"
    other.write_text(b.read_text().replace("1", "2", 1))  # same size, other bytes
    st = os.stat(a)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    before, naive_before = src.fingerprint("events"), listing(root)
    shutil.copy2(other, a)  # cp -p: the copy keeps the mtime
    assert listing(root) == naive_before  # the trap: paths, sizes, mtimes all equal
    assert src.fingerprint("events") != before


def test_lake_add_remove_rename_rewrite(lake):
    root, src = lake
    f = root / "day=2026-11-01" / "events.jsonl"
    seen = [src.fingerprint("events")]
    f.write_bytes(f.read_bytes())  # the same bytes again (new write): content-equal
    os.replace(f, f.with_name("x"))
    os.replace(f.with_name("x"), f)
    assert src.fingerprint("events") == seen[0]
    (root / "day=2026-11-03").mkdir()
    (root / "day=2026-11-03" / "events.jsonl").write_text('{"user": 3}\n')
    seen.append(src.fingerprint("events"))
    (root / "day=2026-11-03").rename(root / "day=2026-11-04")  # the hive value is in the path
    seen.append(src.fingerprint("events"))
    (root / "day=2026-11-04" / "events.jsonl").unlink()
    seen.append(src.fingerprint("events"))
    assert len(set(seen[:3])) == 3 and seen[3] == seen[0]
    assert src.fingerprint("nosuch") is None
    assert src.fingerprint() is not None


def test_lake_copied_elsewhere_keeps_its_token(lake, tmp_path):
    """A project copied or cloned to another folder (cp -r: new paths, new mtimes) has the
    same data, so the same tokens: its pipeline does not re-run for the move alone."""
    root, src = lake
    copy = tmp_path / "moved" / "lake"
    shutil.copytree(root, copy)
    moved = lake_source(tmp_path / "moved", copy, str(copy / "**" / "*.jsonl"))
    assert moved.fingerprint("events") == src.fingerprint("events")
    (copy / "day=2026-11-02" / "events.jsonl").rename(copy / "day=2026-11-02" / "other.jsonl")
    assert moved.fingerprint("events") != src.fingerprint("events")  # the layout below the folder counts
    one = lake_source(tmp_path, root, str(root / "day=2026-11-01" / "events.jsonl"))
    again = lake_source(tmp_path / "moved", copy, str(copy / "day=2026-11-01" / "events.jsonl"))
    assert one.fingerprint("events") == again.fingerprint("events") is not None  # one file, no glob


def test_lake_remembered_digest_needs_a_settled_file(lake):
    root, src = lake
    f = root / "day=2026-11-01" / "events.jsonl"
    digests.forget()
    src.fingerprint("events")
    assert not digests._memo  # just written: not remembered (a same-tick write would not show)
    old = os.stat(f).st_mtime_ns - 10 * digests.SETTLED_NS
    for p in root.rglob("*.jsonl"):
        os.utime(p, ns=(old, old))
    src.fingerprint("events")
    assert not digests._memo  # utime itself moved ctime: still not settled
    assert digests.settled(os.stat(f), os.stat(f).st_ctime_ns + digests.SETTLED_NS)


def test_remote_lake_datasets_use_the_store_listing_and_generic_sources_are_unknown(tmp_path, s3):
    s3.put("lake/events/a.jsonl", '{"user": 1}\n')
    src = lake_source(tmp_path, s3.url("lake"), s3.url("lake/events/*.jsonl"), s3.toml())
    before = src.fingerprint("events")
    assert before is not None and src.fingerprint("events") == before
    s3.put("lake/events/a.jsonl", '{"user": 2}\n')  # same size, other bytes: another ETag
    assert src.fingerprint("events") not in (None, before)
    s3.stop()
    try:
        assert src.fingerprint("events") is None  # a store we cannot list: unknown
    finally:
        s3.start()
    generic = make_source(SourceConfig(name="g", url="mssql+pyodbc://u@h/db", role="oltp"))
    assert generic.fingerprint("t") is None
