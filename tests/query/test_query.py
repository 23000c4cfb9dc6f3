"""wb.sql against real SQLite, PostgreSQL and MariaDB, natively and through the hub."""

from __future__ import annotations

import datetime as dt
import json
import threading
import signal
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import workbench as wb
from workbench.errors import (
    ParameterError,
    QueryError,
    QueryTimeoutError,
    ReadOnlySourceError,
    RowLimitError,
)

from tests.support import hostile
from tests.support.projects import write_config
from tests.support.servers import admin_execute, kind_of

MATRIX_DDL = {
    "sqlite": (
        "create table matrix (id integer primary key, i_null integer, big bigint, amount numeric(12,2), "
        "f double precision, t text, d date, ts timestamp, tstz timestamptz, b boolean, j json)",
        "insert into matrix values (1, NULL, 9007199254740993, '12345678.90', 1.5, 'Zürich ☕ 東京', "
        "'2026-11-01', '2026-11-01 10:00:00', '2026-11-01T08:00:00+00:00', 1, '{\"a\": 1}')",
        "insert into matrix values (2, 7, -1, '-0.01', NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    ),
    "postgresql": (
        "set timezone = 'America/New_York'",
        "create table matrix (id integer primary key, i_null integer, big bigint, amount numeric(12,2), "
        "f double precision, t text, d date, ts timestamp, tstz timestamptz, b boolean, j jsonb)",
        "insert into matrix values (1, NULL, 9007199254740993, 12345678.90, 1.5, 'Zürich ☕ 東京', "
        "'2026-11-01', '2026-11-01 10:00:00', '2026-11-01 10:00:00+02', true, '{\"a\": 1}')",
        "insert into matrix values (2, 7, -1, -0.01, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    ),
    "mysql": (
        "set time_zone = '+00:00'",
        "create table matrix (id integer primary key, i_null integer, big bigint, amount decimal(12,2), "
        "f double, t text, d date, ts datetime(6), tstz timestamp(6) NULL, b boolean, j json)",
        "insert into matrix values (1, NULL, 9007199254740993, 12345678.90, 1.5, 'Zürich ☕ 東京', "
        "'2026-11-01', '2026-11-01 10:00:00', '2026-11-01 08:00:00', true, '{\"a\": 1}')",
        "insert into matrix values (2, 7, -1, -0.01, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    ),
}


@pytest.fixture
def project(tmp_path, oltp_url):
    """A project whose ``app`` source is an OLTP database of each kind, with the type matrix."""
    admin_execute(oltp_url, *MATRIX_DDL[kind_of(oltp_url)])
    admin_execute(oltp_url, "create table photos (id integer primary key, title text)",
                  "insert into photos values (1, 'first'), (2, 'second'), (3, 'third')")
    cfg = write_config(tmp_path, oltp_url)
    with wb.Workbench(cfg) as w:
        yield w, oltp_url


def check_matrix(df: pd.DataFrame, strict: bool = True) -> None:
    """The documented dtype policy, the same for every source and path."""
    df = df.sort_values("id").reset_index(drop=True)
    dtypes = {c: df[c].dtype.pyarrow_dtype for c in df.columns}
    for c in ("id", "i_null", "big"):
        assert dtypes[c] == pa.int64(), (c, dtypes[c])
    assert pd.isna(df["i_null"][0]) and df["i_null"][1] == 7
    assert df["big"][0] == 9007199254740993  # > 2**53: would be off by one as float
    if strict:
        assert pa.types.is_decimal(dtypes["amount"]), dtypes["amount"]
        assert df["amount"][0] == Decimal("12345678.90") and df["amount"][1] == Decimal("-0.01")
    else:  # SQLite stores NUMERIC as REAL: DuckDB's sqlite scanner reads it as DOUBLE
        assert dtypes["amount"] == pa.float64() and df["amount"][0] == 12345678.90
    assert dtypes["f"] == pa.float64() and df["f"][0] == 1.5 and pd.isna(df["f"][1])
    assert dtypes["t"] == pa.string() and df["t"][0] == "Zürich ☕ 東京" and pd.isna(df["t"][1])
    assert dtypes["d"] == pa.date32() and df["d"][0] == dt.date(2026, 11, 1)
    assert dtypes["ts"] == pa.timestamp("us") and df["ts"][0] == pd.Timestamp("2026-11-01 10:00:00")
    if strict:
        assert dtypes["tstz"] == pa.timestamp("us", tz="UTC"), dtypes["tstz"]
        assert df["tstz"][0] == pd.Timestamp("2026-11-01 08:00:00", tz="UTC")
    else:  # no zoned type in DuckDB's sqlite/mysql scanners: the UTC instant, naive
        assert df["tstz"][0] == pd.Timestamp("2026-11-01 08:00:00")
    assert dtypes["j"] == pa.string() and json.loads(df["j"][0]) == {"a": 1}
    # BOOLEAN is bool on every kind and path (SQLite's declared BOOLEAN and MySQL's
    # tinyint(1) included). (Was `dtypes["b"] == pa.bool_() and x is True or x == True`:
    # `and` binds first, so a value equal to True, such as the integer 1, passed.)
    assert dtypes["b"] == pa.bool_(), dtypes["b"]
    assert df["b"][0] is True or df["b"][0] is np.True_, repr(df["b"][0])  # a bool, not 1
    assert pd.isna(df["b"][1])


def test_type_matrix_native(project):
    w, url = project
    check_matrix(w.sql("select * from matrix", source="app"))


def test_type_matrix_through_hub(project):
    w, url = project
    df = w.sql("select * from app.matrix")
    if kind_of(url) == "mysql":
        assert df["tstz"][0] == pd.Timestamp("2026-11-01 08:00:00")  # TIMESTAMP read in UTC, naive
        df["tstz"] = df["tstz"].dt.tz_localize("UTC")
    check_matrix(df, strict=kind_of(url) != "sqlite")  # (DuckDB's mysql scanner reads TINYINT(1) as BOOLEAN)


@pytest.mark.parametrize("value", hostile.params())
def test_hostile_values_are_bound_as_data(project, value):
    w, url = project
    df = w.sql("select :v as v, count(*) as n from photos where title = :v", source="app", v=value)
    assert df["v"][0] == value and df["n"][0] == 0
    if kind_of(url) == "mysql" and "\\" in value:
        # DuckDB's mysql scanner would paste it into MySQL SQL unescaped: refused, not run.
        with pytest.raises(ParameterError, match="backslash"):
            w.sql("select :v as v from app.photos limit 1", v=value)
    else:
        hub = w.sql("select :v as v from app.photos where title <> :v limit 1", v=value)
        assert hub["v"][0] == value
    assert admin_execute(url, "select count(*) from photos")[0][0] == 3


@pytest.fixture
def pg_photos(tmp_path, pg_url):
    """A project whose ``app`` is a PostgreSQL database with three photos."""
    admin_execute(pg_url, "create table photos (id integer primary key, title text)",
                  "insert into photos values (1, 'first'), (2, 'second'), (3, 'third')")
    with wb.Workbench(write_config(tmp_path, pg_url)) as w:
        yield w, pg_url


def test_postgres_cast_and_colon_in_literal(pg_photos):
    w, _ = pg_photos
    df = w.sql("select :n::int + 1 as m, 'a:b' as s", source="app", n="41")
    assert df["m"][0] == 42 and df["s"][0] == "a:b"


WRITES = [
    "insert into photos (id, title) values (9, 'x')",
    "update photos set title = 'changed'",
    "delete from photos",
    "drop table photos",
    "create table evil (a integer)",
    "select 1; delete from photos",
]


@pytest.mark.parametrize("statement", WRITES)
def test_read_only_enforced_by_database(project, statement):
    w, url = project
    before = admin_execute(url, "select id, title from photos order by id")
    with pytest.raises(ReadOnlySourceError, match="read-only"):
        w.sql(statement, source="app")
    with pytest.raises(ReadOnlySourceError):
        w.sql(statement.replace("photos", "app.photos").replace("table evil", "table app.evil"))
    assert admin_execute(url, "select id, title from photos order by id") == before


def test_data_modifying_cte_refused(pg_photos):
    w, url = pg_photos
    with pytest.raises(ReadOnlySourceError):
        w.sql("with d as (delete from photos returning *) select * from d", source="app")
    assert admin_execute(url, "select count(*) from photos")[0][0] == 3


def test_missing_and_unused_parameters_named(project):
    w, _ = project
    with pytest.raises(ParameterError, match=":since"):
        w.sql("select * from photos where id > :since", source="app")
    with pytest.raises(ParameterError, match="'extra'"):
        w.sql("select * from photos", source="app", extra=1)


def test_row_cap_says_how_to_fix(project):
    w, _ = project
    with pytest.raises(RowLimitError, match="max_rows"):
        w.sql("select * from photos", source="app", max_rows=2)
    assert len(w.sql("select * from photos", source="app", max_rows=3)) == 3


def test_database_error_in_its_own_words(project):
    w, _ = project
    with pytest.raises(QueryError, match="(?i)no_such_table|nosuchtable|no such table|does not exist|doesn't exist"):
        w.sql("select * from no_such_table", source="app")
    # the connection is usable afterwards
    assert len(w.sql("select * from photos", source="app")) == 3


SLOW = {
    "sqlite": "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c",
    "postgresql": "select pg_sleep(5)",
    "mysql": "select sleep(5) from photos",
}


def test_statement_timeout_cancels(project):
    w, url = project
    with pytest.raises(QueryTimeoutError, match="timeout"):
        w.sql(SLOW[kind_of(url)], source="app", timeout=0.5)
    assert len(w.sql("select * from photos", source="app")) == 3


def test_ctrl_c_cancels_on_server(project):
    w, url = project
    kind = kind_of(url)
    main = threading.main_thread().ident
    # A real SIGINT to the main thread, as Ctrl-C sends: it interrupts blocking reads.
    timer = threading.Timer(0.7, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            w.sql(SLOW[kind].replace("5", "30"), source="app", timeout=60)
    finally:
        timer.cancel()
    if kind == "postgresql":
        rows = admin_execute(url, "select state, query from pg_stat_activity where datname = current_database() "
                                  "and pid <> pg_backend_pid() and application_name = 'workbench'")
        assert all("pg_sleep" not in q or s == "idle" for s, q in rows), rows
        assert not any(s.startswith("idle in transaction") for s, _ in rows if s), rows
    if kind == "mysql":
        rows = admin_execute(url, "select info from information_schema.processlist where info like 'select sleep%'")
        assert rows == []
    assert len(w.sql("select * from photos", source="app")) == 3


def test_dataframe_in_scope_joins_oltp_table(project):
    w, _ = project
    scores = pd.DataFrame({"photo_id": [1, 2], "score": [0.5, 0.25]})  # noqa: F841 - used by name in SQL
    df = w.sql("select p.title, s.score from app.photos p join scores s on s.photo_id = p.id order by p.id")
    assert df["title"].tolist() == ["first", "second"] and df["score"].tolist() == [0.5, 0.25]


def test_generic_sqlalchemy_path(tmp_path):
    """Any SQLAlchemy URL works through the generic path (here SQLite via SQLAlchemy itself)."""
    import sqlite3

    from workbench.config import SourceConfig
    from workbench.connectors.generic import GenericSource
    from workbench.arrow.rows import collect

    db = tmp_path / "g.db"
    with sqlite3.connect(db) as c:
        c.executescript("create table t (id integer primary key, name text); insert into t values (1, 'a'), (2, NULL);")
    src = GenericSource(SourceConfig(name="g", url=f"sqlite:///{db}", role="oltp"))
    try:
        table = collect(src.batches("select * from t where id >= :n", {"n": 1}, timeout=None))
        assert table.to_pydict() == {"id": [1, 2], "name": ["a", None]}
        with pytest.raises(ParameterError):
            list(src.batches("select * from t where id = :n", {}, timeout=None))
        with pytest.raises(QueryError, match="no such table"):
            list(src.batches("select * from nope", {}, timeout=None))
    finally:
        src.close()


def test_sqlite_booleans_are_booleans_through_the_hub(tmp_path):
    """DuckDB's sqlite scanner reads a declared BOOLEAN as BIGINT 0/1; the hub casts the
    columns the SQLite catalog declares BOOLEAN/BOOL, so both paths agree."""
    import sqlite3

    db = tmp_path / "app.db"
    con = sqlite3.connect(db)
    con.executescript("""
        create table flags (id integer primary key, "is ""odd"" flag" BOOLEAN, done bool not null, n integer);
        insert into flags values (1, 1, 0, 1), (2, 0, 1, 0), (3, NULL, 1, NULL);
        create table "plain table" (id integer primary key, title text);
        insert into "plain table" values (1, 'a');
        create view open_flags as select id, done from flags where not done;
    """)
    con.commit()
    con.close()
    with wb.Workbench(write_config(tmp_path, f"sqlite:///{db}")) as w:
        hub = w.sql('select * from app.flags order by id')
        native = w.sql('select * from flags order by id', source="app")
        for df in (hub, native):
            assert df['is "odd" flag'].dtype.pyarrow_dtype == pa.bool_()
            assert df["done"].dtype.pyarrow_dtype == pa.bool_()
            assert df["n"].dtype.pyarrow_dtype == pa.int64()  # an integer stays an integer
        assert hub.astype(object).where(hub.notna(), None).values.tolist() == \
            native.astype(object).where(native.notna(), None).values.tolist()
        assert hub['is "odd" flag'].tolist()[:2] == [True, False] and pd.isna(hub['is "odd" flag'][2])
        # a boolean in SQL, joined with the lake-free rest of the hub, under both names
        assert w.sql("select id from app.flags where done order by id")["id"].tolist() == [2, 3]
        assert w.sql("select count(*) as n from app.main.flags where not done")["n"][0] == 1
        assert w.sql("select * from app.open_flags")["done"].tolist() == [False]
        assert w.sql('select title from app."plain table"')["title"].tolist() == ["a"]
        # the projection still reaches the scanner beneath the view
        plan = "\n".join(w.sql("explain select done from app.flags").iloc[:, 1])
        assert "SQLITE_SCAN" in plan and "is \"odd\" flag" not in plan.split("SQLITE_SCAN")[1]
