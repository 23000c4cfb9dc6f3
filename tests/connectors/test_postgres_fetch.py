"""workbench.connectors.postgres.fetch against a real PostgreSQL: types, parameters, read-only, timeout, Ctrl-C.

Every test gets a fresh database from the ``pg_url`` fixture (dropped afterwards); in CI a
missing server fails the test instead of skipping it.
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy.engine import make_url

from workbench.connectors.postgres import fetch as pgfetch
from workbench.errors import (
    ParameterError,
    QueryCancelledError,
    QueryError,
    QueryTimeoutError,
    ReadOnlySourceError,
    SourceError,
)

from tests.support import hostile
from tests.support.servers import admin_execute

pytestmark = pytest.mark.postgres

UTC = dt.timezone.utc

MATRIX_DDL = """
create table matrix (
    id int primary key,
    si smallint, i int, bi bigint,
    nm numeric(12, 2), nu numeric, nbig numeric(50, 3),
    r real, d double precision,
    tx text, vc varchar(20),
    dt date, ts timestamp, tstz timestamptz,
    b boolean, js json, jb jsonb, u uuid, ba bytea,
    iv interval, tm time, ia int[], ta text[], en mood, ip inet
)"""
MATRIX_ROWS = """
insert into matrix values
 (1, -32768, 2147483647, 9223372036854775807,
  1234567890.12, 12345678901234567890.1234567891, 12345678901234567890123456789012345678901234567.891,
  1.5, 2.25,
  'héllo ✓ 😀', 'ascii',
  '2024-02-29', '2024-01-01 12:00:00.123456', '2024-06-01 12:00:00+02',
  true, '{"a": 1}', '{"b": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff',
  '1 mon 2 days 3 us', '12:34:56.5', '{1,NULL,3}', '{a,NULL}', 'happy', '10.0.0.1'),
 (2, null, null, null, null, null, null, null, null, null, null, null, null, null,
  null, null, null, null, null, null, null, null, null, null, null),
 (3, 0, 0, 0, 'NaN', 'NaN', 'NaN', 'NaN', '-Infinity', '', '', '0001-01-01', '1999-12-31 23:59:59',
  '1970-01-01 00:00:00+00', false, 'null', '[]', '00000000-0000-0000-0000-000000000000', '\\x',
  '-1 day', '00:00', '{}', '{}', 'sad', '::1')
"""

EXPECTED_TYPES = {
    "id": pa.int32(),
    "si": pa.int16(), "i": pa.int32(), "bi": pa.int64(),
    "nm": pa.decimal128(12, 2), "nu": pa.decimal128(38, 9), "nbig": pa.string(),
    "r": pa.float32(), "d": pa.float64(),
    "tx": pa.string(), "vc": pa.string(),
    "dt": pa.date32(), "ts": pa.timestamp("us"), "tstz": pa.timestamp("us", tz="UTC"),
    "b": pa.bool_(), "js": pa.string(), "jb": pa.string(), "u": pa.string(), "ba": pa.binary(),
    "iv": pa.month_day_nano_interval(), "tm": pa.time64("us"),
    "ia": pa.list_(pa.int32()), "ta": pa.list_(pa.string()), "en": pa.string(), "ip": pa.string(),
}


@pytest.fixture
def matrix_url(pg_url):
    name = make_url(pg_url).database
    admin_execute(
        pg_url,
        # Not UTC and not a whole hour: a timestamptz must still arrive as its UTC instant.
        f'alter database "{name}" set timezone to \'Asia/Kathmandu\'',
        "create type mood as enum ('happy', 'sad')",
        MATRIX_DDL,
        MATRIX_ROWS,
    )
    return pg_url


def by_id(table: pa.Table) -> dict[int, dict]:
    return {row["id"]: row for row in table.to_pylist()}


def test_type_matrix_has_exact_arrow_types_and_values(matrix_url):
    table = pgfetch.read_arrow(matrix_url, "select * from matrix order by id", {})
    assert {f.name: f.type for f in table.schema} == EXPECTED_TYPES
    rows = by_id(table)
    full = rows[1]
    assert (full["si"], full["i"], full["bi"]) == (-32768, 2147483647, 9223372036854775807)
    assert full["nm"] == Decimal("1234567890.12")
    assert full["nu"] == Decimal("12345678901234567890.123456789")  # rounded half up to 9 places
    assert full["nbig"] == "12345678901234567890123456789012345678901234567.891"
    assert (full["r"], full["d"]) == (1.5, 2.25)
    assert (full["tx"], full["vc"]) == ("héllo ✓ 😀", "ascii")
    assert full["dt"] == dt.date(2024, 2, 29)
    assert full["ts"] == dt.datetime(2024, 1, 1, 12, 0, 0, 123456)
    assert full["tstz"] == dt.datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert full["b"] is True
    assert (full["js"], full["jb"]) == ('{"a": 1}', '{"b": [1, 2]}')
    assert full["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert full["ba"] == b"\x00\xff"
    assert full["iv"] == pa.MonthDayNano([1, 2, 3000])
    assert full["tm"] == dt.time(12, 34, 56, 500000)
    assert (full["ia"], full["ta"]) == ([1, None, 3], ["a", None])
    assert (full["en"], full["ip"]) == ("happy", "10.0.0.1/32")  # the value cast to text
    # Every column keeps its NULL, in its own type.
    assert all(v is None for k, v in rows[2].items() if k != "id")
    edge = rows[3]
    # NaN has no decimal128 value: NULL, never the 0 DuckDB's decoder would make of it.
    assert (edge["nm"], edge["nu"], edge["nbig"]) == (None, None, "NaN")
    assert edge["d"] == float("-inf")
    assert (edge["tx"], edge["vc"]) == ("", "")  # empty text is not NULL
    assert edge["dt"] == dt.date(1, 1, 1)
    assert edge["tstz"] == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert (edge["js"], edge["jb"]) == ("null", "[]")
    assert edge["ba"] == b""
    assert (edge["ia"], edge["ta"]) == ([], [])


def test_dataframe_follows_the_dtype_policy(matrix_url):
    df = pgfetch.read_arrow(matrix_url, "select id, bi, nm, tx, tstz, dt, b from matrix order by id", {}).to_pandas(
        types_mapper=pd.ArrowDtype
    )
    assert str(df["bi"].dtype) == "int64[pyarrow]"
    assert df["bi"].isna().tolist() == [False, True, False]  # NULL kept, still integers
    assert str(df["nm"].dtype) == "decimal128(12, 2)[pyarrow]"
    assert str(df["tstz"].dtype) == "timestamp[us, tz=UTC][pyarrow]"
    assert str(df["dt"].dtype) == "date32[day][pyarrow]"
    assert str(df["b"].dtype) == "bool[pyarrow]"
    assert df["tx"].isna().tolist() == [False, True, False]


def test_aggregates_of_numeric_are_exact_decimals(pg_url):
    admin_execute(pg_url, "create table m (x numeric(12, 2))", "insert into m values (0.10), (0.20), (0.35)")
    table = pgfetch.read_arrow(pg_url, "select sum(x) as s, avg(x) as a, count(*) as n from m", {})
    assert table.schema.field("s").type == pa.decimal128(38, 9)
    assert table.to_pylist() == [{"s": Decimal("0.650000000"), "a": Decimal("0.216666667"), "n": 3}]


def test_unbounded_numeric_too_large_fails_with_advice(pg_url):
    with pytest.raises(QueryError, match="numeric field overflow.*cast it"):
        pgfetch.read_arrow(pg_url, "select 1e30::numeric as big", {})


def test_empty_result_keeps_its_schema(matrix_url):
    table = pgfetch.read_arrow(matrix_url, "select id, nm, tstz from matrix where id < 0", {})
    assert table.num_rows == 0
    assert table.schema.types == [pa.int32(), pa.decimal128(12, 2), pa.timestamp("us", tz="UTC")]


def test_duplicate_column_names_and_trailing_semicolon_or_comment(pg_url):
    table = pgfetch.read_arrow(pg_url, "select 1 as a, 'x' as a; ", {})
    assert table.column_names == ["a", "a"]
    assert [c.to_pylist() for c in table.columns] == [[1], ["x"]]
    assert pgfetch.read_arrow(pg_url, "select 2 as b -- a comment", {}).to_pylist() == [{"b": 2}]


def test_order_by_is_kept(pg_url):
    table = pgfetch.read_arrow(pg_url, "select g from generate_series(1, 5000) g order by g desc", {}, batch_rows=700)
    assert table.column("g").to_pylist() == list(range(5000, 0, -1))


def test_batches_are_bounded_and_stream(pg_url):
    batches = list(pgfetch.read_arrow_batches(pg_url, "select g from generate_series(1, 1000) g", {}, batch_rows=128))
    assert max(b.num_rows for b in batches) <= 128
    assert sum(b.num_rows for b in batches) == 1000


@pytest.mark.parametrize("value", hostile.params())
def test_hostile_parameter_values_arrive_as_data(pg_url, value):
    admin_execute(pg_url, "create table photos (id int, title text)", "insert into photos values (1, 'a')")
    table = pgfetch.read_arrow(
        pg_url,
        "select %(v)s::text as v, count(*) as n from photos where title = %(v)s or title like '%%' || %(v)s escape ''",
        {"v": value},
    )
    assert table.to_pylist()[0]["v"] == value
    assert admin_execute(pg_url, "select count(*) from photos") == [(1,)]


def test_parameters_of_many_types_are_bound(pg_url):
    params = {"i": 7, "d": Decimal("1.25"), "day": dt.date(2024, 1, 2), "n": None, "b": True,
              "at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}
    table = pgfetch.read_arrow(
        pg_url, "select %(i)s + 1 as i, %(d)s * 2 as d, %(day)s as day, %(n)s::int as n, %(b)s as b, %(at)s as at",
        params,
    )
    assert table.to_pylist() == [{"i": 8, "d": Decimal("2.500000000"), "day": dt.date(2024, 1, 2), "n": None,
                                  "b": True, "at": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}]


def test_missing_parameter_is_a_parameter_error(pg_url):
    with pytest.raises(ParameterError):
        pgfetch.read_arrow(pg_url, "select %(missing)s", {})


WRITES = [
    "insert into photos values (9, 'x')",
    "update photos set title = 'changed'",
    "delete from photos",
    "delete from photos returning *",
    "drop table photos",
    "create table other (a int)",
    "truncate photos",
    "with d as (delete from photos returning *) select * from d",
    "select * into copied from photos",
    "select id from photos for update",
    "select write_photo()",  # a volatile function that writes, reached through the fast path
]


@pytest.mark.parametrize("statement", WRITES)
def test_read_only_is_enforced_by_the_database(pg_url, statement):
    admin_execute(
        pg_url,
        "create table photos (id int, title text)",
        "insert into photos values (1, 'a'), (2, 'b')",
        "create function write_photo() returns int volatile language sql as "
        "'insert into photos values (3, ''c'') returning 1'",
    )
    with pytest.raises(ReadOnlySourceError, match="read-only"):
        pgfetch.read_arrow(pg_url, statement, {})
    assert admin_execute(pg_url, "select id, title from photos order by id") == [(1, "a"), (2, "b")]
    assert admin_execute(pg_url, "select count(*) from pg_class where relname in ('other', 'copied')") == [(0,)]


@pytest.mark.parametrize("statement", ["select 1; delete from photos", "delete from photos; select 1",
                                       "select 1; commit; set default_transaction_read_only = off; delete from photos"])
def test_multiple_statements_are_refused(pg_url, statement):
    admin_execute(pg_url, "create table photos (id int)", "insert into photos values (1)")
    with pytest.raises(QueryError):
        pgfetch.read_arrow(pg_url, statement, {})
    assert admin_execute(pg_url, "select count(*) from photos") == [(1,)]


def test_writable_source_runs_writes(pg_url):
    admin_execute(
        pg_url,
        "create table photos (id int, title text)",
        "create function add_photo(n int) returns int volatile language sql as "
        "'insert into photos values (n, ''f'') returning n'",
    )
    url = pg_url.replace("postgresql://", "postgresql+psycopg://", 1)  # any driver suffix
    done = pgfetch.read_arrow(url, "insert into photos values (1, %(t)s)", {"t": "a"}, read_only=False)
    assert done.to_pylist() == [{"rows_affected": 1}]
    returned = pgfetch.read_arrow(url, "insert into photos values (2, 'b') returning id, title", {}, read_only=False)
    assert returned.schema.types == [pa.int32(), pa.string()]
    assert returned.to_pylist() == [{"id": 2, "title": "b"}]
    # A query whose function writes goes the fast path and is committed there.
    assert pgfetch.read_arrow(url, "select add_photo(3) as n", {}, read_only=False).to_pylist() == [{"n": 3}]
    assert admin_execute(pg_url, "select id from photos order by id") == [(1,), (2,), (3,)]


def test_statements_that_are_not_queries_return_their_rows(pg_url):
    plan = pgfetch.read_arrow(pg_url, "explain select 1", {})
    assert plan.column_names == ["QUERY PLAN"] and plan.num_rows >= 1
    assert pgfetch.read_arrow(pg_url, "show default_transaction_read_only", {}).to_pylist() == [
        {"default_transaction_read_only": "on"}
    ]


def test_errors_are_the_database_words_on_one_line(pg_url):
    with pytest.raises(QueryError) as info:
        pgfetch.read_arrow(pg_url, "select * from no_such_table", {})
    assert str(info.value) == 'relation "no_such_table" does not exist'
    with pytest.raises(QueryError) as info:
        pgfetch.read_arrow(pg_url, "select 1 / (g - g) from generate_series(1, 3) g", {})
    assert str(info.value) == "division by zero"


def test_no_password_in_any_message(pg_url):
    secret = "s3cr3t-Pa55word"
    u = make_url(pg_url).set(password=secret)  # trust auth: the password is sent, then ignored
    url = u.render_as_string(hide_password=False)
    for query in ("select * from nowhere", "select 1 / (g - g) from generate_series(1, 3) g", "select 1; select 2"):
        with pytest.raises(QueryError) as info:
            pgfetch.read_arrow(url, query, {})
        assert secret not in str(info.value)
    with pytest.raises(SourceError) as info:
        pgfetch.read_arrow(u.set(database="wb_no_such_db").render_as_string(hide_password=False), "select 1", {})
    assert secret not in str(info.value)


def backends(url: str) -> list[tuple[str, str]]:
    """(state, query) of pgfetch's sessions on the test database, other than the asker."""
    return admin_execute(
        url,
        "select state, query from pg_stat_activity where datname = current_database()"
        " and application_name like 'workbench-pgfetch-%%' and pid <> pg_backend_pid()",
    )


def wait_until_no_backends(url: str) -> list:
    """pgfetch's sessions, polled until they are gone (closing a connection is asynchronous)."""
    for _ in range(100):
        left = backends(url)
        if not left:
            return left
        time.sleep(0.1)
    return left


def test_timeout_cancels_on_the_server(pg_url):
    with pytest.raises(QueryTimeoutError, match="longer than 0.5 s"):
        pgfetch.read_arrow(pg_url, "select pg_sleep(30)", {}, timeout=0.5)
    assert wait_until_no_backends(pg_url) == []


SLOW_CONSTANT = (
    "create function slow_constant() returns int immutable language plpgsql"
    " as 'begin perform pg_sleep(30); return 1; end'"
)


def test_timeout_while_the_statement_is_planned(pg_url):
    # An immutable function is folded while the statement is described, on the control connection.
    admin_execute(pg_url, SLOW_CONSTANT)
    with pytest.raises(QueryTimeoutError):
        pgfetch.read_arrow(pg_url, "select slow_constant()", {}, timeout=0.5)
    assert wait_until_no_backends(pg_url) == []


@pytest.fixture
def interrupt_after():
    """Raise KeyboardInterrupt in the main thread after ``seconds``, as Ctrl-C does."""

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, raise_interrupt)

    def arm(seconds: float):
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_ctrl_c_cancels_the_query_on_the_server(pg_url, interrupt_after):
    interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):  # cancelled on the server, then Ctrl-C goes on
        pgfetch.read_arrow(pg_url, "select pg_sleep(30)", {})
    left = wait_until_no_backends(pg_url)
    assert left == []  # neither the sleep nor an 'idle in transaction' session remains


def test_ctrl_c_while_the_statement_is_planned(pg_url, interrupt_after):
    admin_execute(pg_url, SLOW_CONSTANT)
    interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):  # cancelled on the server, then Ctrl-C goes on
        pgfetch.read_arrow(pg_url, "select slow_constant()", {})
    assert wait_until_no_backends(pg_url) == []


@pytest.fixture
def big_url(pg_url, monkeypatch):
    """A table of ~600 heap pages, read as parallel ranges of 40 pages."""
    admin_execute(
        pg_url,
        "create table big as select g as id, 0 as dropped, (g % 97)::numeric(8, 2) as amount,"
        " case when g % 10 = 0 then null else repeat('x', g % 50) end as note,"
        " timestamptz '2024-01-01 00:00+00' + g * interval '1 minute' as at"
        " from generate_series(1, 40000) g",
        "alter table big drop column dropped",  # later columns keep their attribute numbers
        "update big set amount = 'NaN' where id = 123",
        "vacuum analyze big",
    )
    monkeypatch.setattr(pgfetch, "PAGES_PER_RANGE", 40)
    monkeypatch.setattr(pgfetch, "MIN_PARALLEL_PAGES", 80)
    return pg_url


@pytest.fixture
def parallel_calls(monkeypatch):
    """Record whether each call chose the parallel page-range scan."""
    chosen: list[bool] = []
    original = pgfetch._Call._table_ranges

    def spy(self, body, columns):
        ranges = original(self, body, columns)
        chosen.append(ranges is not None)
        return ranges

    monkeypatch.setattr(pgfetch._Call, "_table_ranges", spy)
    return chosen


def test_parallel_scan_gives_the_same_rows_in_the_same_order(big_url, parallel_calls):
    parallel = pgfetch.read_arrow(big_url, "select * from big", {}, batch_rows=1000)
    ordered = pgfetch.read_arrow(big_url, "select * from big order by ctid", {})
    assert parallel_calls == [True, False]
    assert parallel.schema == ordered.schema
    assert parallel.equals(ordered)
    assert parallel.num_rows == 40000
    amounts = dict(zip(parallel.column("id").to_pylist(), parallel.column("amount").to_pylist()))
    assert amounts[123] is None  # the NaN guard holds on this path too


def test_only_bare_table_scans_go_parallel(big_url, parallel_calls):
    for query in ("select id + 0 as id from big", "select * from big where id > 5", "select * from big limit 10",
                  "select b.id from big b join big c using (id) where c.id < 3"):
        pgfetch.read_arrow(big_url, query, {})
    pgfetch.read_arrow(big_url, "select note, id as renamed from big", {})
    assert parallel_calls == [False, False, False, False, True]


def test_stopping_early_cancels_the_parallel_scan(big_url, parallel_calls):
    batches = pgfetch.read_arrow_batches(big_url, "select * from big", {}, batch_rows=100)
    assert next(batches).num_rows <= 100
    batches.close()
    assert parallel_calls == [True]
    assert wait_until_no_backends(big_url) == []


def test_ctrl_c_during_a_parallel_scan(big_url, interrupt_after):
    batches = pgfetch.read_arrow_batches(big_url, "select * from big", {}, batch_rows=100)
    next(batches)
    interrupt_after(0.2)
    # Ctrl-C lands inside the generator (QueryCancelledError) or in the caller's own code
    # (KeyboardInterrupt, and closing the generator cancels): either way nothing is left.
    with pytest.raises((QueryCancelledError, KeyboardInterrupt)):
        while True:
            next(batches)
            time.sleep(0.05)
    batches.close()
    assert wait_until_no_backends(big_url) == []
