"""Lakes on s3:// against the real loopback S3 server (credentials required).

The same files are laid out in a local folder and under a bucket prefix; two lake
sources (``disk`` and ``bucket``) discover them, and every query on the bucket must
equal the same query on the folder, dtypes included.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import sys as _sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.projects import REPO


def _lay_out(folder: Path) -> None:
    """labels/ (Parquet), events/day=.../ (JSON lines, hive), scores.csv (a top-level file)."""
    (folder / "labels").mkdir(parents=True)
    pq.write_table(pa.table({
        "photo_id": pa.array([1, 2, 3, 4], pa.int64()),
        "label": ["cat", "dog", None, "cat"],
        "score": [0.9, 0.5, 0.1, None],
        "at": pa.array([dt.datetime(2026, 11, d, 12) for d in (1, 2, 3, 4)], pa.timestamp("us", tz="UTC")),
    }), folder / "labels" / "part-0.parquet")
    for day, rows in (("2026-11-01", [(1, "login"), (2, "view")]), ("2026-11-02", [(1, "like")])):
        d = folder / "events" / f"day={day}"
        d.mkdir(parents=True)
        (d / "events.jsonl").write_text("".join(f'{{"user_id": {u}, "event": "{e}"}}\n' for u, e in rows))
    (folder / "scores.csv").write_text("photo_id,points\n1,10\n2,20\n")
    (folder / "labels" / "_SUCCESS").write_text("")


def _upload(s3, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


@pytest.fixture
def lakes(tmp_path, s3):
    """A project with an SQLite app, a local lake ``disk`` and the same files in ``bucket``."""
    import sqlite3

    _lay_out(tmp_path / "files")
    _upload(s3, tmp_path / "files", "lake")
    with sqlite3.connect(tmp_path / "app.db") as c:
        c.execute("create table users (id integer primary key, name text)")
        c.executemany("insert into users values (?, ?)", [(1, "ann"), (2, "bob")])
    (tmp_path / "workbench.toml").write_text(
        s3.toml()
        + f'\n[sources.app]\nurl = "sqlite:///{tmp_path / "app.db"}"\n'
        + f'\n[sources.disk]\nurl = "{tmp_path / "files"}"\nrole = "lake"\n'
        + f'\n[sources.bucket]\nurl = "{s3.url("lake")}"\n')
    return tmp_path


def _wb(root: Path):
    from workbench.api import Workbench
    from workbench.config import load_config

    return Workbench(load_config(root / "workbench.toml"))


def _cli(root: Path, *args: str, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=300)


def test_each_lake_lists_its_own_datasets(lakes, s3):
    wb = _wb(lakes)
    assert sorted(wb.tables("disk")["table"]) == ["events", "labels", "scores"]
    assert sorted(wb.tables("bucket")["table"]) == ["events", "labels", "scores"]
    # one rule for clashes: the first lake in workbench.toml keeps the bare name
    assert wb.hub.lake_datasets()["labels"][0] == "disk"
    r = _cli(lakes, "tables", "bucket")
    assert r.returncode == 0, r.stderr
    assert all(name in r.stdout for name in ("events", "labels", "scores"))


def test_explicit_entry_wins_and_describes_its_folder(lakes, s3):
    toml = lakes / "workbench.toml"
    toml.write_text(toml.read_text() + f'\n[lake.clicks]\npath = "{s3.url("lake/events/**/*.jsonl")}"\n'
                    'description = "app events"\n')
    wb = _wb(lakes)
    assert sorted(wb.tables("bucket")["table"]) == ["clicks", "labels", "scores"]  # events/ is described by clicks
    assert sorted(wb.tables("disk")["table"]) == ["events", "labels", "scores"]
    assert wb.sql("select count(*) as n from clicks")["n"][0] == 3


@pytest.mark.parametrize("dataset", ["labels", "events", "scores"])
def test_queries_on_the_bucket_equal_the_same_files_read_locally(lakes, dataset):
    wb = _wb(lakes)
    order = {"labels": "photo_id", "events": "day, user_id, event", "scores": "photo_id"}[dataset]
    local = wb.sql(f"select * from disk.{dataset} order by {order}")
    remote = wb.sql(f"select * from bucket.{dataset} order by {order}")
    assert len(local) > 0
    pd.testing.assert_frame_equal(remote, local)  # values and dtypes
    if dataset == "events":
        assert "day" in remote.columns  # hive partition found on s3 too


def test_hub_join_of_the_s3_lake_with_the_sqlite_app(lakes):
    wb = _wb(lakes)
    df = wb.sql("select u.name, count(*) as n from bucket.events e join app.users u on u.id = e.user_id "
                "group by u.name order by u.name")
    assert df.to_dict("list") == {"name": ["ann", "bob"], "n": [2, 1]}


def test_explore_profiles_an_s3_dataset(lakes):
    from workbench.notebook.exploring.profiling import profile

    wb = _wb(lakes)
    local, remote = profile("disk.labels", workbench=wb), profile("bucket.labels", workbench=wb)
    assert remote.rows == local.rows == 4
    pd.testing.assert_frame_equal(remote.table, local.table)
    assert remote.top_values == local.top_values


def test_export_to_s3_then_read_back(lakes, s3):
    wb = _wb(lakes)
    result = wb.export("select * from app.users order by id", s3.url("out/users.parquet"))
    assert result.rows == 2
    assert s3.keys("out/") == ["out/users.parquet"]  # one object, no temporary key left behind
    back = wb.sql(f"select * from read_parquet('{s3.url('out/users.parquet')}') order by id")
    pd.testing.assert_frame_equal(back, wb.sql("select * from app.users order by id"))


def test_sync_to_the_s3_lake_then_incremental(lakes, s3):
    import sqlite3

    r = _cli(lakes, "sync", "app.users", "--to", "bucket", "--incremental-by", "id")
    assert r.returncode == 0, r.stderr
    assert "lake/app/users.parquet" in s3.keys("lake/app/")
    with sqlite3.connect(lakes / "app.db") as c:
        c.execute("insert into users values (3, 'cy')")
    r = _cli(lakes, "sync", "app.users", "--to", "bucket", "--incremental-by", "id")
    assert r.returncode == 0, r.stderr
    wb = _wb(lakes)
    back = wb.sql(f"select * from read_parquet('{s3.url('lake/app/users.parquet')}') order by id")
    assert back["name"].tolist() == ["ann", "bob", "cy"]
    assert s3.keys("lake/app/") == ["lake/app/.users.sync.json", "lake/app/users.parquet"]
    assert list(wb.sql("select list(name order by id) as n from app_users")["n"][0]) == ["ann", "bob", "cy"]


def test_a_wrong_secret_is_one_clear_line_without_the_secret(lakes, s3):
    wrong = "WrongSecret-" + "x" * 20
    r = _cli(lakes, "sql", "hub", "select count(*) from bucket.labels", env={"WB_TEST_S3_SECRET": wrong})
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "refused the credentials" in lines[0] and "[storage.s3]" in lines[0]
    for secret in (wrong, s3.secret, s3.key_id):
        assert secret not in r.stderr + r.stdout


def test_a_wrong_secret_on_an_explicit_dataset_is_a_storage_auth_error(lakes, s3, monkeypatch):
    from workbench.errors import StorageAuthError

    toml = lakes / "workbench.toml"
    toml.write_text(toml.read_text() + f'\n[lake.clicks]\npath = "{s3.url("lake/labels/*.parquet")}"\n')
    monkeypatch.setenv("WB_TEST_S3_SECRET", "wrong-" + "y" * 30)
    with pytest.raises(StorageAuthError) as e:
        _wb(lakes).sql("select count(*) from clicks")
    message = str(e.value)
    assert "\n" not in message and "refused the credentials" in message
    assert "wrong-" not in message and s3.secret not in message and s3.key_id not in message


def test_nothing_written_or_printed_holds_the_key_or_secret(lakes, s3):
    outputs = []
    for args in (["tables"], ["tables", "bucket"], ["sql", "hub", "select * from bucket.labels"],
                 ["export", "hub", "select * from bucket.scores", s3.url("out/scores.csv")],
                 ["sync", "app.users", "--to", "bucket"], ["sources"]):
        r = _cli(lakes, *args)
        outputs += [r.stdout, r.stderr]
    r = _cli(lakes, "sql", "hub", "select 1 from bucket.labels", env={"WB_TEST_S3_SECRET": "not-it"})
    outputs += [r.stdout, r.stderr]
    wb = _wb(lakes)
    outputs += [repr(wb.config), repr(wb.config.storage), repr(wb.hub.store), str(wb.sources())]
    written = [p.read_bytes() for p in lakes.rglob("*") if p.is_file()]
    written += [s3.get(k) for k in s3.keys()]
    for secret in (s3.secret, s3.key_id):
        assert all(secret not in text for text in outputs)
        assert all(secret.encode() not in blob for blob in written)


def _own_tcp_peers() -> list[tuple[str, int]]:
    """Remote (address, port) of every TCP socket this process holds (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    peers = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[9] in inodes and cols[3] != "0A":  # not a listener
                    addr, port = cols[2].split(":")
                    peers.append((addr, int(port, 16)))
    return peers


def _loopback(hex_addr: str) -> bool:
    if len(hex_addr) == 8:
        return hex_addr.endswith("7F")  # 127.x.x.x, little-endian
    return hex_addr in ("0" * 31 + "1", "0000000000000000FFFF00000100007F") or hex_addr.endswith("0100007F")


_AUDIT: list | None = None


def _audit(event, args):
    if _AUDIT is not None and event == "socket.connect":
        _AUDIT.append(args[1])


_sys.addaudithook(_audit)  # hooks cannot be removed: this one records only while _AUDIT is a list


def test_nothing_reaches_any_host_but_the_loopback_endpoint(lakes, s3, monkeypatch):
    global _AUDIT
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _AUDIT = []
    try:
        wb = _wb(lakes)
        wb.sql("select * from bucket.labels")
        wb.export("select * from bucket.scores", s3.url("out/x.parquet"))
        from workbench.storage import remote

        remote.listing_fingerprint(s3.url("lake/"), wb.hub.store)
        peers = _own_tcp_peers()  # DuckDB's httpfs connects from C++: seen here, not by the hook
        python_side = list(_AUDIT)
    finally:
        _AUDIT = None
    assert python_side, "the audit hook saw no connection: the check would prove nothing"
    for address in python_side:
        host = address[0] if isinstance(address, tuple) else address
        assert host in ("127.0.0.1", "::1", "localhost"), address
    assert all(_loopback(a) for a, _ in peers), peers


def test_listing_fingerprint_changes_with_an_object_and_only_then(lakes, s3):
    from workbench.storage import remote

    opts = _wb(lakes).hub.store
    first = remote.listing_fingerprint(s3.url("lake/labels/"), opts)
    assert remote.listing_fingerprint(s3.url("lake/labels/"), opts) == first
    s3.put("lake/labels/part-1.parquet", (lakes / "files" / "labels" / "part-0.parquet").read_bytes())
    second = remote.listing_fingerprint(s3.url("lake/labels/"), opts)
    assert second != first
    s3.put("lake/labels/part-1.parquet", b"other bytes")
    assert remote.listing_fingerprint(s3.url("lake/labels/"), opts) != second
    assert remote.listing_fingerprint(s3.url("lake/labels/*.parquet"), opts) != first
