"""sqltext.reads: every table a statement reads (the result cache's key depends on it)."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.query.cache import cache_key, volatile
from workbench.sqltext import reads


@pytest.mark.parametrize("sql, tables, functions, writes", [
    ("select * from a", ["a"], [], False),
    # FROM's comma list: table_refs sees only the first (a stale hit if the key missed b)
    ("select * from a, b x, c as y join d on true where e in (select 1 from f)", ["a", "b", "c", "d", "f"], [], False),
    ("select * from app.main.photos p, \"Mixed\".\"T\"", ["app.main.photos", "Mixed.T"], [], False),
    ("with x as (select * from t), y(a) as materialized (select 1) select * from x, y, z", ["t", "z"], [], False),
    ("with recursive r as (select 1 union all select 1 from r) select * from r", [], [], False),
    ("select extract(year from ts), substring(s from 2) from t where a is distinct from b", ["t"], [], False),
    ("select * from read_parquet('x.parquet') r, w", ["w"], ["read_parquet"], False),
    ("select * from (select * from q) s, w", ["q", "w"], [], False),
    ("select * from a join b using (id) left join c on c.id = a.id", ["a", "b", "c"], [], False),
    ("from t select 1", ["t"], [], False),
    ("(select 1 from u) union (select 2 from v)", ["u", "v"], [], False),
    ("select 1 -- from hidden\n", [], [], False),
    ("select 'from s' as x from t", ["t"], [], False),
    ("insert into t select * from s", ["s"], [], True),
    ("with x as (select 1) delete from t", ["t"], [], True),
    ("update t set a = 1", [], [], True),
    ("create table t as select * from s", ["s"], [], True),
    ("select * into new_t from s", ["s"], [], True),
    ("pragma table_info('t')", [], [], True),
    ("select * from t for update", ["t"], [], True),
])
def test_reads(sql, tables, functions, writes):
    r = reads(sql)
    assert (sorted(r.tables), list(r.functions), r.writes) == (sorted(tables), functions, writes)


def test_mysql_backslashes_do_not_hide_a_table():
    assert reads(r"select 'it\'s from x' as s from t", "mysql").tables == ("t",)


def test_volatile_functions():
    assert volatile("select now(), * from t") and volatile("select * from t where d = current_date")
    assert volatile("select random() from t") and not volatile("select * from t where day = :day")


def test_cache_key_types_and_order():
    fp = {"app.t": "x"}
    base = cache_key("select 1 from t", "app", {"a": 1, "b": dt.date(2026, 1, 1)}, fp)
    assert base == cache_key("select 1 from t", "app", {"b": dt.date(2026, 1, 1), "a": 1}, fp)
    others = {cache_key("select 1 from t", "app", {"a": "1", "b": dt.date(2026, 1, 1)}, fp),  # str, not int
              cache_key("select 1 from t", "app", {"a": 1.0, "b": dt.date(2026, 1, 1)}, fp),
              cache_key("select 1 from t", None, {"a": 1, "b": dt.date(2026, 1, 1)}, fp),
              cache_key("select 1 from t", "app", {"a": 1, "b": dt.date(2026, 1, 1)}, {"app.t": "y"}),
              cache_key("select 1 from t ", "app", {"a": 1, "b": dt.date(2026, 1, 1)}, fp)}
    assert base not in others and len(others) == 5
    assert cache_key("select 1 from t", "app", {"a": b"bytes"}, fp) is None
    assert cache_key("select 1 from t", "app", {"a": float("nan")}, fp) is None
