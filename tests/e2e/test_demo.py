"""The demo-data generator: deterministic, consistent across its three sources, atomic, reusable.

Builds run at scale 0.05 (100 users, ~15,000 events) into real SQLite, PostgreSQL and
MariaDB databases, and are checked with SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from workbench import demo
from workbench.errors import SourceError, UsageError

from tests.support.servers import admin_execute

END = dt.date(2025, 3, 14)
DAYS = 14
WINDOW_START = "2025-03-01"
SCALE = 0.05
TABLES = ("users", "photos", "likes", "comments")


def small(root: Path, **kw) -> demo.DemoSummary:
    kw = {"scale": SCALE, "end_day": END, "progress": False} | kw
    return demo.build(root, **kw)


def sqlite_rows(db: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db) as c:
        return c.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def sqlite_one(db: Path, sql: str):
    with sqlite3.connect(db) as c:
        return c.execute(sql).fetchone()[0]


def lake_files(data: Path) -> dict[str, bytes]:
    lake = data / "lake"
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def warehouse_tables(path: Path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as c:
        return {t: c.sql(f"SELECT * FROM {t} ORDER BY ALL").to_arrow_table()
                for t in ("labels", "user_daily", "photo_features")}


def events_sql(data: Path, sql: str) -> list[tuple]:
    """Run ``sql`` with ``events`` as a view over the hive-partitioned log."""
    with duckdb.connect() as c:
        c.execute("SET TimeZone = 'UTC'")
        glob = str(data / "lake" / "events" / "**" / "*.jsonl")
        c.execute(f"CREATE VIEW events AS SELECT * FROM read_json('{glob}', hive_partitioning = true)")
        return c.execute(sql).fetchall()


def mtimes(data: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in data.rglob("*")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[demo.DemoSummary, Path]:
    """One small build shared by the read-only checks."""
    root = tmp_path_factory.mktemp("demo")
    return small(root), root / "data"


# --------------------------------------------------------------------------- layout
def test_build_writes_every_part(built):
    summary, data = built
    assert not summary.reused
    assert summary.app == f"sqlite:///{data / 'app.db'}"
    assert summary.paths["app_db"] == data / "app.db"
    for key in ("app_db", "events", "labels", "warehouse", "manifest"):
        assert summary.paths[key].exists(), key
    days = sorted(p.name for p in (data / "lake" / "events").iterdir())
    assert days == [f"day={END - dt.timedelta(days=i)}" for i in reversed(range(DAYS))]
    assert all((data / "lake" / "events" / d / "events.jsonl").is_file() for d in days)
    assert [p.name for p in (data / "lake" / "labels").iterdir()] == ["labels-000.parquet"]
    assert {"users": 100, "photos": 500, "likes": 3000, "comments": 250}.items() <= summary.counts.items()
    for table in TABLES:
        assert sqlite_one(data / "app.db", f"SELECT count(*) FROM {table}") == summary.counts[table]
    assert not list(data.glob(".demo-build-*")) and not list(data.glob("*.tmp"))


def test_sqlite_schema_has_keys_indexes_and_types(built):
    _, data = built
    with sqlite3.connect(data / "app.db") as c:
        indexes = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        fks = {(t, r[3], r[2]) for t in TABLES for r in c.execute(f"PRAGMA foreign_key_list({t})")}
        types = {(t, r[1]): r[2] for t in TABLES for r in c.execute(f"PRAGMA table_info({t})")}
    assert {"photos_user_id_idx", "photos_posted_at_idx", "likes_photo_user_key", "comments_photo_id_idx"} <= indexes
    assert fks == {("photos", "user_id", "users"), ("likes", "photo_id", "photos"), ("likes", "user_id", "users"),
                   ("comments", "photo_id", "photos"), ("comments", "user_id", "users")}
    assert types["users", "account_balance"] == "DECIMAL(12,2)"
    assert types["users", "birth_date"] == "DATE"
    assert types["photos", "is_public"] == "BOOLEAN"
    assert types["photos", "posted_at"] == "TIMESTAMP"


# --------------------------------------------------------------------------- determinism
def test_same_arguments_give_identical_data(built, tmp_path):
    first, data = built
    second = small(tmp_path)
    other = tmp_path / "data"
    assert second.counts == first.counts
    for table in TABLES:
        assert sqlite_rows(other / "app.db", table) == sqlite_rows(data / "app.db", table), table
    assert lake_files(other) == lake_files(data)  # byte for byte
    assert warehouse_tables(other / "warehouse.duckdb") == warehouse_tables(data / "warehouse.duckdb")


def test_another_seed_gives_other_data(built, tmp_path):
    _, data = built
    small(tmp_path, seed=7)
    assert sqlite_rows(tmp_path / "data" / "app.db", "likes") != sqlite_rows(data / "app.db", "likes")
    assert lake_files(tmp_path / "data") != lake_files(data)


def test_row_counts_scale_linearly(built, tmp_path):
    summary, _ = built
    double = small(tmp_path, scale=2 * SCALE).counts
    for table in TABLES:
        assert double[table] == 2 * summary.counts[table], table
    assert 1.8 < double["events"] / summary.counts["events"] < 2.2


# --------------------------------------------------------------------------- OLTP content
def test_foreign_keys_and_uniqueness_hold(built):
    db = built[1] / "app.db"
    orphans = {
        "photos.user_id": "SELECT count(*) FROM photos WHERE user_id NOT IN (SELECT id FROM users)",
        "likes.photo_id": "SELECT count(*) FROM likes WHERE photo_id NOT IN (SELECT id FROM photos)",
        "likes.user_id": "SELECT count(*) FROM likes WHERE user_id NOT IN (SELECT id FROM users)",
        "comments.photo_id": "SELECT count(*) FROM comments WHERE photo_id NOT IN (SELECT id FROM photos)",
        "comments.user_id": "SELECT count(*) FROM comments WHERE user_id NOT IN (SELECT id FROM users)",
    }
    for what, sql in orphans.items():
        assert sqlite_one(db, sql) == 0, what
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    duplicates = "SELECT count(*) FROM (SELECT photo_id, user_id FROM likes GROUP BY 1, 2 HAVING count(*) > 1)"
    assert sqlite_one(db, duplicates) == 0


def test_times_are_causal(built):
    db = built[1] / "app.db"
    # ISO-8601 text with the same offset everywhere sorts like the instants it names.
    checks = [
        "SELECT count(*) FROM photos p JOIN users u ON u.id = p.user_id WHERE p.posted_at < u.signup_at",
        "SELECT count(*) FROM likes l JOIN photos p ON p.id = l.photo_id WHERE l.created_at < p.posted_at",
        "SELECT count(*) FROM likes l JOIN users u ON u.id = l.user_id WHERE l.created_at < u.signup_at",
        "SELECT count(*) FROM likes l JOIN photos p ON p.id = l.photo_id WHERE l.user_id = p.user_id",
        "SELECT count(*) FROM comments c JOIN photos p ON p.id = c.photo_id WHERE c.created_at < p.posted_at",
        "SELECT count(*) FROM photos WHERE updated_at < created_at",
        f"SELECT count(*) FROM likes WHERE created_at >= '{END + dt.timedelta(days=1)}'",
    ]
    for sql in checks:
        assert sqlite_one(db, sql) == 0, sql
    assert sqlite_one(db, "SELECT min(signup_at) FROM users").endswith("+00:00")


def test_nulls_non_ascii_and_typed_values_are_present(built):
    db = built[1] / "app.db"
    null_share = sqlite_one(db, "SELECT avg(location IS NULL) FROM photos")
    assert 0.05 < null_share < 0.2
    assert sqlite_one(db, "SELECT count(*) FROM photos WHERE location IS NULL AND latitude IS NOT NULL") == 0
    assert sqlite_one(db, "SELECT count(*) FROM users WHERE country IS NULL") > 0
    assert sqlite_one(db, "SELECT count(*) FROM users WHERE birth_date IS NULL") > 0
    with sqlite3.connect(db) as c:
        titles = [r[0] for r in c.execute("SELECT title FROM photos")]
        usernames = [r[0] for r in c.execute("SELECT username FROM users")]
        bodies = [r[0] for r in c.execute("SELECT body FROM comments")]
        exifs = [r[0] for r in c.execute("SELECT exif FROM photos WHERE exif IS NOT NULL")]
        balances = [r[0] for r in c.execute("SELECT account_balance FROM users")]
        flags = {r[0] for r in c.execute("SELECT DISTINCT is_public FROM photos")}
        births = [r[0] for r in c.execute("SELECT birth_date FROM users WHERE birth_date IS NOT NULL")]
    assert any(not t.isascii() for t in titles) and any(t.isascii() for t in titles)
    assert any(ord(ch) > 0xFFFF for t in titles for ch in t)  # emoji, beyond the BMP
    assert any(not u.isascii() for u in usernames)
    assert any("\n" in b for b in bodies) and any('"' in b for b in bodies)
    assert all(set(json.loads(e)) == {"camera", "iso", "focal_length_mm", "f_number"} for e in exifs)
    assert all(Decimal(str(b)) == Decimal(str(b)).quantize(Decimal("0.01")) for b in balances)
    assert any(b > 0 for b in balances)
    assert flags == {0, 1}
    assert all(dt.date.fromisoformat(b) for b in births)


# --------------------------------------------------------------------------- lake
def test_events_are_hive_partitioned_json_lines(built):
    _, data = built
    rows = events_sql(data, "SELECT day, count(*), min(ts)::DATE = day AND max(ts)::DATE = day "
                            "FROM events GROUP BY day ORDER BY day")
    assert [r[0] for r in rows] == [END - dt.timedelta(days=i) for i in reversed(range(DAYS))]
    assert all(r[2] for r in rows)  # every event lies in its partition's day
    assert sum(r[1] for r in rows) == built[0].counts["events"]
    kinds = dict(events_sql(data, "SELECT event, count(*) FROM events GROUP BY 1"))
    assert set(kinds) == {"login", "view", "like"}
    assert kinds["view"] > kinds["like"] + kinds["login"]  # views dominate
    assert events_sql(data, "SELECT count(*) FROM events WHERE (photo_id IS NULL) <> (event = 'login')") == [(0,)]
    first = json.loads((data / "lake" / "events" / f"day={WINDOW_START}" / "events.jsonl").open().readline())
    assert list(first) == ["ts", "user_id", "photo_id", "event", "device", "country", "session_id"]
    assert first["ts"].startswith(WINDOW_START + "T") and first["ts"].endswith("Z")


def test_labels_are_parquet_with_one_row_per_scored_photo(built):
    summary, data = built
    with duckdb.connect() as c:
        labels = c.sql(f"SELECT * FROM read_parquet('{data / 'lake' / 'labels' / '*.parquet'}')").to_arrow_table()
    assert labels.column_names == ["photo_id", "model_version", "content_label", "content_score",
                                   "style_label", "style_score", "scored_at"]
    assert labels.num_rows == summary.counts["labels"] == len(set(labels["photo_id"].to_pylist()))
    assert set(labels["content_label"].to_pylist()) <= set(demo.CONTENT)
    assert set(labels["style_label"].to_pylist()) <= set(demo.STYLE)
    assert all(0 <= s <= 1 for s in labels["content_score"].to_pylist())


def test_log_agrees_with_the_oltp_tables(built):
    _, data = built
    with sqlite3.connect(data / "app.db") as c:
        likes = {(p, u, ts.replace("+00:00", "Z")) for p, u, ts in
                 c.execute(f"SELECT photo_id, user_id, created_at FROM likes WHERE created_at >= '{WINDOW_START}'")}
    logged = events_sql(data, "SELECT photo_id, user_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') "
                              "FROM events WHERE event = 'like'")
    assert len(logged) == len(likes) and set(logged) == likes  # one like event per like row, same instant
    # Every like follows a view of the same photo by the same user; every actor logged in first.
    assert events_sql(data, """
        SELECT count(*) FROM events l WHERE l.event = 'like' AND NOT EXISTS (
            SELECT 1 FROM events v WHERE v.event = 'view' AND v.user_id = l.user_id
               AND v.photo_id = l.photo_id AND v.ts <= l.ts AND v.day = l.day)""") == [(0,)]
    assert events_sql(data, """
        SELECT count(*) FROM (
            SELECT user_id, day, count(*) FILTER (WHERE event = 'login') AS logins,
                   min(ts) FILTER (WHERE event = 'login') AS login_at, min(ts) AS first_at,
                   count(DISTINCT session_id) AS sessions
            FROM events GROUP BY ALL)
        WHERE logins <> 1 OR login_at <> first_at OR sessions <> 1""") == [(0,)]


# --------------------------------------------------------------------------- warehouse
def test_warehouse_is_consistent_with_the_lake(built):
    summary, data = built
    like_events, login_events = events_sql(
        data, "SELECT count(*) FILTER (WHERE event = 'like'), count(*) FILTER (WHERE event = 'login') FROM events")[0]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as c:
        c.execute("SET TimeZone = 'UTC'")
        assert c.sql("SELECT sum(likes_given), sum(logins) FROM user_daily").fetchone() == (like_events, login_events)
        assert c.sql("SELECT count(*) FROM labels").fetchone()[0] == summary.counts["labels"]
        assert c.sql("SELECT count(*) FROM user_daily").fetchone()[0] == summary.counts["user_daily"]
        features = c.sql("SELECT count(*), count(content_label), sum(likes_7d), count(*) FILTER (WHERE complete_7d), "
                         "min(posted_at)::VARCHAR, bool_and(title_length > 0) FROM photo_features").fetchone()
        columns = {r[0] for r in c.sql("DESCRIBE photo_features").fetchall()}
    new_photos = sqlite_one(data / "app.db", f"SELECT count(*) FROM photos WHERE posted_at >= '{WINDOW_START}'")
    n, labelled, likes_7d, complete, first_posted, titled = features
    assert n == new_photos == summary.counts["photo_features"]
    assert labelled >= n - 5  # only the last minutes' uploads await the classifier
    assert 0 < likes_7d <= like_events
    assert 0 < complete < n
    assert first_posted >= WINDOW_START and titled
    assert {"photo_id", "user_id", "posted_at", "title_length", "has_location", "content_label", "style_label",
            "views_7d", "likes_7d", "comments_7d", "author_logins_7d", "complete_7d"} <= columns


# --------------------------------------------------------------------------- reuse
def test_second_build_is_reused_without_touching_files(tmp_path):
    first = small(tmp_path)
    data = tmp_path / "data"
    before = mtimes(data)
    again = small(tmp_path)
    assert again.reused and not first.reused
    assert again.counts == first.counts and again.paths == first.paths
    assert mtimes(data) == before
    assert not small(tmp_path, force=True).reused
    assert not small(tmp_path, seed=1).reused  # other arguments rebuild
    assert small(tmp_path, seed=1).reused


def test_missing_or_changed_files_trigger_a_rebuild(tmp_path):
    small(tmp_path)
    data = tmp_path / "data"
    (data / "lake" / "labels" / "labels-000.parquet").unlink()
    assert not small(tmp_path).reused
    assert (data / "lake" / "labels" / "labels-000.parquet").exists()
    with (data / "lake" / "events" / f"day={WINDOW_START}" / "events.jsonl").open("a") as f:
        f.write("{}\n")
    assert not small(tmp_path).reused
    (data / ".demo.json").write_text("not json")
    assert not small(tmp_path).reused


def test_rebuild_replaces_old_partitions(tmp_path):
    small(tmp_path, days=3)
    small(tmp_path, days=2)
    data = tmp_path / "data"
    assert sorted(p.name for p in (data / "lake" / "events").iterdir()) == ["day=2025-03-13", "day=2025-03-14"]
    assert sorted(p.name for p in data.iterdir()) == [".demo.json", "app.db", "lake", "warehouse.duckdb"]


def test_a_failed_build_leaves_the_previous_files(tmp_path, monkeypatch):
    small(tmp_path)
    data = tmp_path / "data"
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != ".demo.json"}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_put_in_place", broken)  # after every file was written under a temp name
    with pytest.raises(RuntimeError):
        small(tmp_path, seed=3)
    after = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    assert after == before  # old files intact, no temp files, no manifest
    monkeypatch.undo()
    assert not small(tmp_path).reused  # no manifest: the next build redoes the work


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf"), "1", True, 10_000])
def test_bad_scale_is_a_usage_error(tmp_path, scale):
    with pytest.raises(UsageError, match="scale"):
        small(tmp_path, scale=scale)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("kw", [{"days": 0}, {"days": 1.5}, {"seed": -1}, {"end_day": "2025-03-14"}])
def test_bad_arguments_are_usage_errors(tmp_path, kw):
    with pytest.raises(UsageError):
        small(tmp_path, **kw)


@pytest.mark.parametrize("url", ["oracle://scott:{pw}@db.example.com/orcl", "duckdb:///x.duckdb",
                                 "postgresql://me:{pw}@127.0.0.1:5432", "not a url"])
def test_unsupported_app_url_is_a_usage_error(tmp_path, url):
    password = "pw-" + secrets.token_hex(6)
    with pytest.raises(UsageError) as e:
        small(tmp_path, app_url=url.format(pw=password))
    assert password not in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("url", ["postgresql://me:{pw}@127.0.0.1:1/app", "mysql+pymysql://me:{pw}@127.0.0.1:1/app"])
def test_unreachable_server_is_a_source_error(tmp_path, url):
    password = "pw-" + secrets.token_hex(6)  # made at run time: no password is tracked
    with pytest.raises(SourceError) as e:
        small(tmp_path, app_url=url.format(pw=password))
    message = str(e.value)
    assert password not in message and "***" in message and "\n" not in message
    assert "127.0.0.1" in message
    assert not (tmp_path / "data").exists()


# --------------------------------------------------------------------------- other targets
def test_sqlite_url_puts_the_tables_there(tmp_path, sqlite_url):
    summary = small(tmp_path / "proj", app_url=sqlite_url)
    db = Path(sqlite_url.removeprefix("sqlite:///"))
    assert summary.paths["app_db"] == db
    assert sqlite_one(db, "SELECT count(*) FROM likes") == summary.counts["likes"]
    assert not (tmp_path / "proj" / "data" / "app.db").exists()


def _server_matches_sqlite(url: str, summary: demo.DemoSummary, reference: Path) -> None:
    for table in TABLES:
        assert admin_execute(url, f"SELECT count(*) FROM {table}")[0][0] == summary.counts[table]
    got = admin_execute(url, "SELECT id, username, country, birth_date, account_balance FROM users ORDER BY id")
    want = sqlite_rows(reference, "users")
    assert [(r[0], r[1], r[2], r[3] and r[3].isoformat(), r[4]) for r in got] == \
           [(r[0], r[1], r[3], r[4], Decimal(str(r[5])).quantize(Decimal("0.01"))) for r in want]
    titles = admin_execute(url, "SELECT title, exif, is_public FROM photos ORDER BY id")
    assert [(t, e, bool(p)) for t, e, p in titles] == \
           [(r[2], r[8], bool(r[7])) for r in sqlite_rows(reference, "photos")]
    assert [r[0] for r in admin_execute(url, "SELECT body FROM comments ORDER BY id")] == \
           [r[3] for r in sqlite_rows(reference, "comments")]
    orphans = admin_execute(url, "SELECT count(*) FROM likes l LEFT JOIN photos p ON p.id = l.photo_id "
                                 "LEFT JOIN users u ON u.id = l.user_id WHERE p.id IS NULL OR u.id IS NULL")
    assert orphans[0][0] == 0


@pytest.mark.postgres
def test_build_into_postgresql(built, tmp_path, pg_url):
    summary = small(tmp_path, app_url=pg_url)
    assert summary.app == pg_url.replace("postgresql://", "postgresql+psycopg://")
    assert "app_db" not in summary.paths
    _server_matches_sqlite(pg_url, summary, built[1] / "app.db")
    types = dict(admin_execute(pg_url, "SELECT table_name || '.' || column_name, data_type "
                                       "FROM information_schema.columns WHERE table_schema = 'public'"))
    assert types["users.signup_at"] == "timestamp with time zone"
    assert types["users.account_balance"] == "numeric"
    assert types["users.birth_date"] == "date"
    assert types["photos.is_public"] == "boolean"
    fks = admin_execute(pg_url, "SELECT count(*) FROM information_schema.table_constraints "
                                "WHERE constraint_type = 'FOREIGN KEY'")
    assert fks[0][0] == 5
    first_like = admin_execute(pg_url, "SELECT created_at FROM likes WHERE id = 1")[0][0]
    assert first_like == dt.datetime.fromisoformat(sqlite_rows(built[1] / "app.db", "likes")[0][3])  # same instant
    assert small(tmp_path, app_url=pg_url).reused
    admin_execute(pg_url, "DROP TABLE comments")
    assert not small(tmp_path, app_url=pg_url).reused  # the server lost a table: rebuild
    assert admin_execute(pg_url, "SELECT count(*) FROM comments")[0][0] == summary.counts["comments"]


@pytest.mark.mysql
def test_build_into_mariadb(built, tmp_path, mysql_url):
    summary = small(tmp_path, app_url=mysql_url)
    assert summary.app == mysql_url
    _server_matches_sqlite(mysql_url, summary, built[1] / "app.db")
    fks = admin_execute(mysql_url, "SELECT count(*) FROM information_schema.referential_constraints "
                                   "WHERE constraint_schema = database()")
    assert fks[0][0] == 5
    epoch = admin_execute(mysql_url, "SELECT UNIX_TIMESTAMP(created_at) FROM likes WHERE id = 1")[0][0]
    want = dt.datetime.fromisoformat(sqlite_rows(built[1] / "app.db", "likes")[0][3])
    assert epoch == Decimal(str(want.timestamp())).quantize(Decimal("0.001"))  # same instant, whatever the session zone
    assert small(tmp_path, app_url=mysql_url).reused
    admin_execute(mysql_url, "DELETE FROM comments WHERE id = 1")
    assert not small(tmp_path, app_url=mysql_url).reused  # row counts differ: rebuild


# --------------------------------------------------------------------------- command line
def test_command_line_builds_and_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORKBENCH_APP_URL", raising=False)
    from workbench.cli import main

    args = ["demo", "--root", str(tmp_path), "--scale", str(SCALE), "--end-day", END.isoformat()]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "demo data built" in out and "likes" in out
    assert err == ""  # no progress bar when stderr is not a terminal
    assert main(args) == 0
    assert "demo data reused" in capsys.readouterr().out
    assert main([*args, "--scale", "0"]) == 2
    assert capsys.readouterr().err.startswith("workbench: error: demo scale must be a number > 0")
