"""wb.sql(..., cache=True): a hit runs no query, any change of the data behind it misses.

"No query ran" is proven with PostgreSQL: the statement reads a per-database setting
(``current_setting('wb.flag')``) that the test changes without changing any data, so a
fresh query would see the new value and only a cache hit can return the old one.
"""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from workbench.api import Workbench
from workbench.errors import RowLimitError

from tests.support.projects import write_config
from tests.support.servers import admin_execute, kind_of

FLAG = "select id, title, current_setting('wb.flag', true) as flag from photos order by id"


def make_project(root, app_url: str, **settings):
    (root / "data" / "lake" / "events" / "day=2026-11-01").mkdir(parents=True)
    (root / "data" / "lake" / "events" / "day=2026-11-01" / "e.jsonl").write_text('{"user": 1, "kind": "login"}\n')
    con = duckdb.connect(str(root / "data" / "warehouse.duckdb"))
    con.execute("create table features as select range as user_id, range * 2 as score from range(10)")
    con.close()
    admin_execute(app_url, "create table photos (id integer primary key, title text)",
                  "insert into photos values (1, 'a'), (2, 'b'), (3, 'c')")
    return Workbench(write_config(root, app_url, **settings))


def entries(wb: Workbench) -> list:
    folder = wb.config.cache_dir
    return sorted(folder.glob("*.arrow")) if folder.exists() else []


def set_flag(pg_url: str, value: str) -> None:
    db = pg_url.rsplit("/", 1)[1]
    admin_execute(pg_url, f"alter database \"{db}\" set wb.flag = '{value}'")


@pytest.fixture
def pg_project(tmp_path, pg_url):
    set_flag(pg_url, "one")
    wb = make_project(tmp_path, pg_url)
    yield wb, pg_url
    wb.close()


def test_a_hit_runs_no_query_in_this_process_or_a_new_one(pg_project):
    wb, pg_url = pg_project
    query, source = FLAG, "app"
    first = wb.sql(query, source, cache=True)
    assert list(first["flag"]) == ["one"] * 3 and len(entries(wb)) == 1
    set_flag(pg_url, "two")  # not data: the fingerprints stay, a real query would see it
    assert list(wb.sql(query, source)["flag"]) == ["two"] * 3
    assert list(wb.sql(query, source, cache=True)["flag"]) == ["one"] * 3
    code = ("import sys; from workbench.api import Workbench; "
            f"w = Workbench(sys.argv[1]); print(w.sql({query!r}, {source!r}, cache=True)['flag'].iloc[0])")
    out = subprocess.run([sys.executable, "-c", code, str(wb.config.path)], check=True, capture_output=True,
                         text=True).stdout.strip()
    assert out == "one"  # a new kernel: the entry is on disk
    admin_execute(pg_url, "update photos set title = 'z' where id = 2")  # one changed row: a miss
    again = wb.sql(query, source, cache=True)
    assert list(again["flag"]) == ["two"] * 3 and again["title"].iloc[1] == "z"


def test_an_unknown_fingerprint_is_never_cached(pg_project):
    wb, pg_url = pg_project
    admin_execute(pg_url, "create view v as select * from photos")
    query = "select id, current_setting('wb.flag', true) as flag from v"
    assert wb.sql(query, "app", cache=True)["flag"].iloc[0] == "one"
    set_flag(pg_url, "two")
    assert wb.sql(query, "app", cache=True)["flag"].iloc[0] == "two"  # ran again
    assert entries(wb) == []


def test_different_parameters_miss(pg_project):
    wb, _ = pg_project
    one = wb.sql("select title from photos where id = :id", "app", id=1, cache=True)
    two = wb.sql("select title from photos where id = :id", "app", id=2, cache=True)
    assert (one["title"].iloc[0], two["title"].iloc[0]) == ("a", "b") and len(entries(wb)) == 2
    assert wb.sql("select title from photos where id = :id", "app", params={"id": 1}, cache=True)["title"].iloc[0] == "a"
    assert len(entries(wb)) == 2  # the same key however the parameter is given


def test_a_corrupt_entry_is_a_miss_not_an_error(pg_project):
    wb, pg_url = pg_project
    wb.sql(FLAG, "app", cache=True)
    [entry] = entries(wb)
    data = bytearray(entry.read_bytes())
    data[-40] ^= 0xFF  # a flipped bit in the Arrow body
    entry.write_bytes(bytes(data))
    set_flag(pg_url, "two")
    assert wb.sql(FLAG, "app", cache=True)["flag"].iloc[0] == "two"  # queried again
    entry.write_bytes(b"garbage")
    assert wb.sql(FLAG, "app", cache=True)["flag"].iloc[0] == "two"
    [entry] = entries(wb)
    assert entry.read_bytes() != b"garbage"  # replaced by a good entry


def test_a_hit_is_the_same_frame_dtypes_and_all(tmp_path, oltp_url):
    from tests.query.test_query import MATRIX_DDL

    admin_execute(oltp_url, *MATRIX_DDL[kind_of(oltp_url)])
    wb = make_project(tmp_path, oltp_url)
    for query, source in (("select * from matrix order by id", "app"),
                          ("select m.*, f.score from app.matrix m join warehouse.features f on f.user_id = m.id "
                           "order by m.id", None)):
        miss = wb.sql(query, source, cache=True)
        arrow_miss = wb.sql_arrow(query, source, cache=True)
        hit = wb.sql(query, source, cache=True)
        pd.testing.assert_frame_equal(hit, miss)
        assert list(hit.dtypes) == list(miss.dtypes)
        assert wb.sql_arrow(query, source).schema == arrow_miss.schema
    assert len(entries(wb)) == 2
    wb.close()


def test_one_changed_row_misses_on_every_kind(tmp_path, oltp_url):
    wb = make_project(tmp_path, oltp_url)
    q = "select title from photos where id = 2"
    assert wb.sql(q, "app", cache=True)["title"].iloc[0] == "b"
    assert wb.sql("select title from app.photos where id = 2", cache=True)["title"].iloc[0] == "b"
    admin_execute(oltp_url, "update photos set title = 'B' where id = 2")
    assert wb.sql(q, "app", cache=True)["title"].iloc[0] == "B"
    assert wb.sql("select title from app.photos where id = 2", cache=True)["title"].iloc[0] == "B"
    wb.close()


def test_warehouse_and_lake_changes_miss(tmp_path, sqlite_url):
    wb = make_project(tmp_path, sqlite_url)
    q = "select sum(score) as s, (select count(*) from events) as n from features"
    assert wb.sql(q, cache=True).iloc[0].tolist() == [90, 1]
    n_entries = len(entries(wb))
    assert n_entries == 1 and wb.sql(q, cache=True).iloc[0].tolist() == [90, 1]
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"))
    con.execute("update features set score = 0 where user_id = 9")
    con.close()
    assert wb.sql(q, cache=True).iloc[0].tolist() == [72, 1]
    day = tmp_path / "data" / "lake" / "events" / "day=2026-11-02"
    day.mkdir()
    (day / "e.jsonl").write_text('{"user": 2, "kind": "view"}\n')
    wb.hub.refresh()
    assert wb.sql(q, cache=True).iloc[0].tolist() == [72, 2]
    wb.close()


def test_what_is_never_cached(tmp_path, sqlite_url):
    wb = make_project(tmp_path, sqlite_url)
    recent = pd.DataFrame({"user_id": [1, 2]})  # a DataFrame of the caller's scope
    assert len(wb.sql("select * from recent join features using (user_id)", cache=True)) == 2
    wb.sql("select now() as t, count(*) from features", cache=True)  # volatile
    wb.sql("select 1 as one", cache=True)  # names no table
    wb.sql("select count(*) from range(3)", cache=True)  # a table function
    assert entries(wb) == []
    wb.close()


def test_writes_are_never_cached(tmp_path, sqlite_url):
    root = tmp_path
    wb = make_project(root, sqlite_url)
    text = (root / "workbench.toml").read_text().replace('role = "oltp"', 'role = "oltp"\nread_only = false', 1)
    (root / "workbench.toml").write_text(text)
    wb.close()
    wb = Workbench(root / "workbench.toml")
    for _ in range(2):
        wb.sql("insert into photos values ((select max(id) + 1 from photos), 'new')", "app", cache=True)
    assert wb.sql("select count(*) as n from photos", "app")["n"].iloc[0] == 5
    assert entries(wb) == []
    wb.close()


def test_row_cap_bound_and_clear(tmp_path, sqlite_url):
    wb = make_project(tmp_path, sqlite_url)
    with pytest.raises(RowLimitError):
        wb.sql("select * from features", cache=True, max_rows=5)
    assert entries(wb) == []  # over the cap: nothing stored
    wb.sql("select * from features", cache=True)
    with pytest.raises(RowLimitError):  # a hit obeys the cap of its call
        wb.sql("select * from features", cache=True, max_rows=5)
    assert wb.clear_cache() == 1 and entries(wb) == []
    wb.sql("select * from features where user_id < 5", cache=True)
    size = entries(wb)[0].stat().st_size
    wb.clear_cache()
    wb.close()

    bound = size * 3 // 2  # room for one entry of this size, not two
    small = Workbench(write_config(tmp_path, sqlite_url, cache_max_bytes=bound))
    small.sql("select * from features where user_id < 5", cache=True)
    [first] = entries(small)
    small.sql("select * from features where user_id < 6", cache=True)
    assert first not in entries(small) and len(entries(small)) == 1  # the least recently used went
    big = small.sql("select repeat('x', 100) || a.user_id as s from features a, features b", cache=True)
    assert len(big) == 100 and not any(e.stat().st_size > bound for e in entries(small))  # too big: not stored
    small.close()


def test_the_facade(tmp_path, sqlite_url, monkeypatch):
    import workbench as wb_module

    wb = make_project(tmp_path, sqlite_url)
    monkeypatch.chdir(tmp_path)
    wb_module.reset()
    try:
        assert wb_module.sql("select count(*) as n from features", cache=True)["n"].iloc[0] == 10
        assert json.loads(json.dumps(len(entries(wb)))) == 1
        assert wb_module.clear_cache() == 1
    finally:
        wb_module.reset()
        wb.close()


def test_a_hit_still_tells_lineage_which_sources_it_used(tmp_path, sqlite_url):
    from workbench.query import lineage

    wb = make_project(tmp_path, sqlite_url)
    seen: list[str] = []
    lineage.subscribe(seen.append)
    try:
        q = "select f.user_id, p.title from features f join app.photos p on p.id = f.user_id"
        wb.sql(q, cache=True)
        first = sorted(seen)
        seen.clear()
        wb.sql(q, cache=True)
        assert len(entries(wb)) == 1 and "app" in first and sorted(seen) == first  # as the miss told it
    finally:
        lineage.unsubscribe(seen.append)
        wb.close()


def test_the_warehouse_token_is_the_same_through_an_open_hub(tmp_path, sqlite_url):
    """With the hub open the warehouse is hashed through it (one DuckDB instance per file
    in a process), else on a private connection: both must give the same token."""
    from workbench.connectors import warehouse

    wb = make_project(tmp_path, sqlite_url)
    src = wb.source("warehouse")
    assert not wb.hub.built
    private = [src.fingerprint("features"), src.fingerprint(), src.fingerprint("nosuch")]
    warehouse._memo.clear()
    wb.sql("select 1 from features")
    assert wb.hub.built
    assert [src.fingerprint("features"), src.fingerprint(), src.fingerprint("nosuch")] == private
    assert private[0] is not None and private[2] is None
    wb.close()
