"""What a fingerprint costs, per source kind, against a ``select count(*)`` on the same data.

    .venv/bin/python bench/fingerprints.py [--rows 1000000] [--files 100] [--repeat 5]

Builds a table of ``--rows`` rows (id, a small int, a text, a timestamp) in a scratch
SQLite file, a DuckDB warehouse file, a PostgreSQL database and a MariaDB database
(created and dropped here), and a lake of ``--files`` JSON-lines files holding the same
rows; then times, in this process and as medians of ``--repeat`` runs, each kind's
fingerprint and a ``select count(*)`` through the same source (the lake's through the
hub), and prints the ratio. Two fingerprint figures where the kind remembers file
digests (SQLite, the warehouse, the lake): ``cold`` (digests forgotten, the file or
files read again, as after a change) and ``warm`` (unchanged and settled: a stat per
file). Results also go to ``bench/out/fingerprints.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from workbench.config import LakeDataset, SourceConfig  # noqa: E402
from workbench.connectors.registry import make_source  # noqa: E402
from workbench.storage import digests  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
MY = "mysql+pymysql://root@127.0.0.1:3306"


def median_time(fn, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def count(src, table: str):
    return lambda: list(src.batches(f"select count(*) from {table}", {}, timeout=600))


def settle(*paths: Path) -> None:
    """Wait until the files' last change is old enough for digests to be remembered (the
    warm case: ctime cannot be set back, so only time settles a file)."""
    last = max(max(os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in paths)
    wait = (last + digests.SETTLED_NS - time.time_ns()) / 1e9 + 0.05
    if wait > 0:
        time.sleep(wait)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, repeat = args.rows, args.repeat
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-fp-"))
    results: dict[str, dict] = {}

    def record(kind: str, fp: float, cnt: float, warm: float | None = None) -> None:
        results[kind] = {"fingerprint_s": fp, "count_s": cnt, "ratio": fp / cnt,
                         **({"warm_s": warm, "warm_ratio": warm / cnt} if warm is not None else {})}
        line = f"{kind:<12} fingerprint {fp * 1000:8.1f} ms   count(*) {cnt * 1000:8.1f} ms   ratio {fp / cnt:7.1f}x"
        if warm is not None:
            line += f"   warm {warm * 1000:7.2f} ms ({warm / cnt:.2f}x)"
        print(line, flush=True)

    # SQLite (WAL mode, as an application would run it)
    db = tmp / "app.db"
    c = sqlite3.connect(db)
    c.execute("pragma journal_mode=wal")
    c.execute("create table t (id integer primary key, k integer, s text, ts text)")
    c.execute("insert into t select value, value % 7, 'title ' || value, datetime('now') "
              "from generate_series(1, ?)" if sqlite3.sqlite_version_info >= (3, 46) else
              "with recursive g(value) as (select 1 union all select value + 1 from g where value < ?) "
              "insert into t select value, value % 7, 'title ' || value, datetime('now') from g", [n])
    c.commit()
    c.close()
    src = make_source(SourceConfig(name="app", url=f"sqlite:///{db}", role="oltp"))
    cold = median_time(lambda: src.fingerprint("t"), repeat, before=digests.forget)
    settle(db)
    src.fingerprint("t")
    warm = median_time(lambda: src.fingerprint("t"), repeat)
    record("sqlite", cold, median_time(count(src, "t"), repeat), warm)
    src.close()

    # DuckDB warehouse
    import duckdb

    wh = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute(f"create table t as select range as id, range % 7 as k, 'title ' || range as s, "
                f"now()::timestamp as ts from range({n})")
    con.close()
    src = make_source(SourceConfig(name="warehouse", url=f"duckdb:///{wh}", role="warehouse"))
    from workbench.connectors import warehouse as wh_module

    cold = median_time(lambda: src.fingerprint("t"), repeat, before=wh_module._memo.clear)
    settle(wh)
    src.fingerprint("t")
    warm = median_time(lambda: src.fingerprint("t"), repeat)

    def wh_count():
        con = duckdb.connect()
        con.execute(f"attach '{wh}' as w (read_only)")
        con.execute("select count(*) from w.t").fetchall()
        con.close()

    record("duckdb", cold, median_time(wh_count, repeat), warm)

    # lake: --files JSON-lines files, the same rows split over them
    lake = tmp / "lake"
    lake.mkdir()
    con = duckdb.connect()
    per = max(1, n // args.files)
    for i in range(args.files):
        con.execute(f"copy (select range as id, range % 7 as k, 'title ' || range as s from range({i * per}, "
                    f"{(i + 1) * per})) to '{lake / f'part-{i:04d}.jsonl'}' (format json)")
    con.close()
    src = make_source(SourceConfig(name="lake", url=str(lake), role="lake"))
    src.datasets = {"events": LakeDataset(name="events", path=str(lake / "*.jsonl"))}
    cold = median_time(lambda: src.fingerprint("events"), repeat, before=digests.forget)
    settle(*lake.glob("*.jsonl"))
    src.fingerprint("events")
    warm = median_time(lambda: src.fingerprint("events"), repeat)

    def lake_count():
        con = duckdb.connect()
        con.execute(f"select count(*) from read_json('{lake / '*.jsonl'}', format = 'newline_delimited')").fetchall()
        con.close()

    record(f"lake/{args.files}", cold, median_time(lake_count, repeat), warm)

    # PostgreSQL
    import psycopg

    name = f"wb_bench_fp_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        with psycopg.connect(f"{PG}/{name}", autocommit=True) as c:
            c.execute(f"create table t as select g as id, g % 7 as k, 'title ' || g as s, now() as ts "
                      f"from generate_series(1, {n}) g")
            c.execute("vacuum analyze t")
        src = make_source(SourceConfig(name="pg", url=f"{PG}/{name}", role="oltp"))
        record("postgresql", median_time(lambda: src.fingerprint("t"), repeat), median_time(count(src, "t"), repeat))
        src.close()
    finally:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')

    # MariaDB
    import pymysql

    admin = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"create database `{name}`")
    try:
        with admin.cursor() as cur:
            cur.execute(f"use `{name}`")  # the seq_ engine needs a current database
            cur.execute(f"create table `{name}`.t (id int primary key, k int, s varchar(40), ts datetime(6))")
            cur.execute(f"insert into `{name}`.t select seq, seq % 7, concat('title ', seq), now(6) "
                        f"from seq_1_to_{n}")
        src = make_source(SourceConfig(name="my", url=f"{MY}/{name}", role="oltp"))
        record("mariadb", median_time(lambda: src.fingerprint("t"), repeat), median_time(count(src, "t"), repeat))
        src.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists `{name}`")
        admin.close()

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "fingerprints.json").write_text(json.dumps({"rows": n, "files": args.files, "results": results}, indent=2))


if __name__ == "__main__":
    main()
