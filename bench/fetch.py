"""PostgreSQL -> pandas: workbench's path against the usual ways, in the same run.

    .venv/bin/python bench/fetch.py [--rows 2000000] [--repeat 3] [--methods a,b,...]

Builds (once; a marker table says which size it holds) a table ``t`` of mixed columns in
the database ``wb_bench``, then times each method in a fresh process, ``--repeat`` times,
and prints the medians: wall seconds from connecting to having the DataFrame (imports
excluded: a notebook pays them once), the client's CPU seconds over the same span (all
threads; for psql its whole process), rows/s, the child's peak RSS, the DataFrame's
memory, speed-up over the pandas.read_sql baseline, the ratio to psql's own ``\\copy``
(the one-connection floor: the server formatting rows and a client discarding them), and
whether the types survived. Results go to ``bench/out/fetch.json``.

A method is a function in :data:`METHODS` that returns ``(seconds, DataFrame or None,
note)``; add one there (``wb.export`` is one) and it is measured like the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_URL = os.environ.get("WB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/wb_bench")
QUERY = "select * from t"
MARKER_VERSION = 2  # bump when the table's definition below changes

BUILD = """
drop table if exists t;
create table t as
select i::bigint                                          as id,
       case when i % 20 = 0 then null else (i % 100000)::int end as qty,
       (i * 1.37)::double precision                       as x,
       ((i % 1000000) / 100.0)::numeric(12, 2)            as amount,
       'name_' || (i % 5000)                              as label,
       case when i % 10 = 0 then null else 'note ' || md5(i::text) end as note,
       timestamp '2020-01-01' + i * interval '17 seconds' as created,
       timestamptz '2020-01-01 00:00:00+00' + i * interval '13 seconds' as updated_at,
       date '2000-01-01' + (i % 9000)                     as day,
       (i % 3 = 0)                                        as flag
from generate_series(1, {rows}) as s(i);
vacuum analyze t;
drop table if exists bench_marker;
create table bench_marker as select {rows}::bigint as rows, {version}::int as version;
"""


# ----------------------------------------------------------------------------- setup
def _pg(url: str, dbname: str | None = None):
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                           dbname=dbname or u.database, autocommit=True)


def ensure_table(url: str, rows: int) -> None:
    """Create ``wb_bench`` and ``t`` unless the marker says they already hold ``rows`` rows."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    try:
        c = _pg(url)
    except psycopg.OperationalError:
        with _pg(url, "postgres") as admin:
            admin.execute(f'create database "{name}"')
        c = _pg(url)
    with c:
        try:
            if c.execute("select rows, version from bench_marker").fetchone() == (rows, MARKER_VERSION):
                return
        except psycopg.errors.UndefinedTable:
            pass
        print(f"building t with {rows:,} rows in {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        for statement in filter(str.strip, BUILD.format(rows=int(rows), version=MARKER_VERSION).split(";")):
            c.execute(statement)
        print(f"built in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def write_config(url: str, folder: Path) -> Path:
    """A workbench.toml with the bench database as source ``app``."""
    path = folder / "workbench.toml"
    path.write_text(f'[sources.app]\nurl = "{url}"\nrole = "oltp"\n')
    return path


# --------------------------------------------------------------------------- methods
def m_read_sql(url, rows):
    import pandas as pd
    import sqlalchemy

    t0 = time.perf_counter()
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.connect() as c:
        df = pd.read_sql(QUERY, c)
    return time.perf_counter() - t0, df, ""


def _arrow_df(table):
    import pandas as pd

    return table.to_pandas(types_mapper=pd.ArrowDtype)


def m_connectorx(url, rows, partitions=None):
    import connectorx as cx

    kw = dict(partition_on="id", partition_num=partitions) if partitions else {}
    t0 = time.perf_counter()
    df = _arrow_df(cx.read_sql(url, QUERY, return_type="arrow", **kw))
    return time.perf_counter() - t0, df, f"partition_on=id x{partitions}" if partitions else ""


def m_adbc(url, rows):
    import adbc_driver_postgresql.dbapi as adbc

    t0 = time.perf_counter()
    with adbc.connect(url) as c, c.cursor() as cur:
        cur.execute(QUERY)
        df = _arrow_df(cur.fetch_arrow_table())
    return time.perf_counter() - t0, df, ""


def _duckdb_attached(url):
    from workbench import duck as extensions
    from workbench.connectors.postgres import fetch as pgfetch

    con = extensions.connect()
    extensions.load_extension(con, "postgres")
    con.execute("SET TimeZone = 'UTC'")
    dsn, _ = pgfetch.conninfo(url, read_only=True, timeout=None, application_name="wb-bench")
    con.execute(f"ATTACH '{dsn.replace(chr(39), chr(39) * 2)}' AS pg (TYPE postgres, READ_ONLY)")
    return con


def m_duckdb_scan(url, rows):
    t0 = time.perf_counter()
    con = _duckdb_attached(url)
    df = _arrow_df(con.execute("select * from pg.public.t").to_arrow_table())
    return time.perf_counter() - t0, df, "ATTACH + table scan (ctid ranges, 2 threads)"


def m_duckdb_query(url, rows):
    t0 = time.perf_counter()
    con = _duckdb_attached(url)
    df = _arrow_df(con.execute("select * from postgres_query('pg', ?)", [QUERY]).to_arrow_table())
    return time.perf_counter() - t0, df, "postgres_query(), one connection"


def m_pgfetch(url, rows):
    from workbench.connectors.postgres import fetch as pgfetch

    t0 = time.perf_counter()
    df = _arrow_df(pgfetch.read_arrow(url, QUERY, {}))
    return time.perf_counter() - t0, df, f"workbench.connectors.postgres.fetch.read_arrow, {pgfetch.PARALLEL} connections"


def m_wb_source(url, rows):
    import workbench

    t0 = time.perf_counter()
    df = workbench.sql(QUERY, source="app", max_rows=rows + 1)
    return time.perf_counter() - t0, df, "workbench.sql(source='app')"


def m_wb_hub(url, rows):
    import workbench

    t0 = time.perf_counter()
    df = workbench.sql("select * from app.t", max_rows=rows + 1)
    return time.perf_counter() - t0, df, "workbench.sql on the DuckDB hub"


def m_wb_export(url, rows):
    import workbench

    out = Path(tempfile.mkdtemp(prefix="wb-bench-")) / "t.parquet"
    try:
        t0 = time.perf_counter()
        workbench.export(QUERY, out, source="app")
        seconds = time.perf_counter() - t0
        return seconds, None, f"parquet {out.stat().st_size / 1e6:.0f} MB"
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


METHODS = {
    "pandas.read_sql": m_read_sql,
    "connectorx": m_connectorx,
    "connectorx x2": lambda url, rows: m_connectorx(url, rows, partitions=2),
    "adbc": m_adbc,
    "duckdb scanner": m_duckdb_scan,
    "duckdb postgres_query": m_duckdb_query,
    "wb.sql (source=...) path: pgfetch": m_pgfetch,
    "wb.sql(source='app')": m_wb_source,
    "wb.sql hub": m_wb_hub,
    "wb.export parquet": m_wb_export,
    "psql \\copy (floor)": None,  # timed by the parent: it is not Python
}
BASELINE, FLOOR = "pandas.read_sql", "psql \\copy (floor)"


def checks(df) -> dict[str, bool]:
    """Did the types survive? (decimal exact, nullable int, tz kept, text NULL, date, bool)."""
    import decimal

    import pandas as pd
    import pyarrow as pa

    def arrow(col):
        return df[col].dtype.pyarrow_dtype if isinstance(df[col].dtype, pd.ArrowDtype) else None

    amount, qty, upd, day, flag = (arrow(c) for c in ("amount", "qty", "updated_at", "day", "flag"))
    first_amount = df["amount"].dropna().iloc[0]
    tz = getattr(df["updated_at"].dtype, "tz", None) or (upd.tz if upd is not None else None)
    return {
        "decimal": (amount is not None and pa.types.is_decimal(amount))
        or isinstance(first_amount, decimal.Decimal),
        "int_null": (qty is not None and pa.types.is_integer(qty)) or str(df["qty"].dtype) == "Int64",
        "tz": tz is not None and pd.Timestamp("2024-01-01", tz=tz).utcoffset() == pd.Timedelta(0),
        "text_null": int(df["note"].isna().sum()) == len(df) // 10,
        "date": (day is not None and pa.types.is_date(day)),
        "bool": (flag is not None and pa.types.is_boolean(flag)) or str(df["flag"].dtype) == "bool",
    }


def run_one(method: str, url: str, rows: int) -> dict:
    """In the child: run ``method`` once and describe the result."""
    import pandas  # noqa: F401 - imported before timing, as a notebook has it
    import pyarrow  # noqa: F401

    before = resource.getrusage(resource.RUSAGE_SELF)
    seconds, df, note = METHODS[method](url, rows)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    out = {"seconds": seconds, "cpu": cpu, "note": note}
    if df is not None:
        out.update(rows=len(df), df_bytes=int(df.memory_usage(deep=True).sum()), checks=checks(df),
                   dtypes={c: str(t) for c, t in df.dtypes.items()})
    return out


# ---------------------------------------------------------------------------- parent
def child(cmd: list[str], env: dict) -> tuple[float, resource.struct_rusage, str, int]:
    """Run ``cmd``; its wall time, resource usage (of that child alone), stdout, exit status."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        out = json.dumps({"error": (err.strip().splitlines() or ["exit %d" % proc.returncode])[-1]})
    return wall, usage, out, proc.returncode


def psql_command(url: str) -> tuple[list[str], dict]:
    """psql's arguments and environment for ``url`` (the password travels in PGPASSWORD)."""
    u = urlsplit(url)
    cmd = ["psql", "-h", u.hostname or "localhost", "-p", str(u.port or 5432), "-U", unquote(u.username or "postgres"),
           "-d", unquote(u.path.lstrip("/")), "-qc", f"\\copy ({QUERY}) to /dev/null"]
    return cmd, ({"PGPASSWORD": unquote(u.password)} if u.password else {})


def run_method(method: str, url: str, rows: int, env: dict) -> dict:
    """One fresh-process run of ``method``: its result, with the child's peak RSS."""
    if method == FLOOR:
        cmd, extra = psql_command(url)
        wall, usage, out, code = child(cmd, dict(env, **extra))
        result = {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime} if code == 0 else json.loads(out)
    else:
        _, usage, out, _ = child([sys.executable, __file__, "--one", method, "--url", url, "--rows", str(rows)], env)
        result = json.loads(out.strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024
    return result


def measure(methods: list[str], url: str, rows: int, repeat: int, env: dict) -> list[dict]:
    """Median of ``repeat`` rounds; each round runs every method once, so load drifts hit all alike."""
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    errors: dict[str, str] = {}
    for round_ in range(1, repeat + 1):
        for method in methods:
            if method in errors:
                continue
            result = run_method(method, url, rows, env)
            if "error" in result:
                errors[method] = result["error"]
                print(f"  round {round_} {method}: n/a ({result['error']})", file=sys.stderr, flush=True)
                continue
            runs[method].append(result)
            print(f"  round {round_} {method}: {result['seconds']:.2f} s", file=sys.stderr, flush=True)
    results = []
    for method in methods:
        if method in errors:
            results.append({"method": method, "error": errors[method]})
            continue
        done = runs[method]
        summary = {k: v for k, v in done[0].items() if k not in ("seconds", "rss_mb")}
        summary.update(method=method, seconds=statistics.median(r["seconds"] for r in done),
                       cpu=statistics.median(r["cpu"] for r in done),
                       all_seconds=[r["seconds"] for r in done], rss_mb=max(r["rss_mb"] for r in done))
        results.append(summary)
    return results


def report(results: list[dict], rows: int) -> str:
    by = {r["method"]: r for r in results}
    base = by.get(BASELINE, {}).get("seconds")
    floor = by.get(FLOOR, {}).get("seconds")
    head = (f"{'method':36} {'wall s':>7} {'cpu s':>6} {'rows/s':>10} {'RSS MB':>7} {'df MB':>6} "
            f"{'vs base':>8} {'vs psql':>8} {'budget':>7}  types")
    lines = [head, "-" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(f"{r['method']:36} n/a  ({r['error'][:90]})")
            continue
        s = r["seconds"]
        df_mb = f"{r['df_bytes'] / 1e6:6.0f}" if "df_bytes" in r else f"{'-':>6}"
        # the memory budget of issue 12: peak RSS within 1.5 x the frame + 150 MB
        budget = f"{r['rss_mb'] / (1.5 * r['df_bytes'] / 1e6 + 150):6.2f}x" if "df_bytes" in r else f"{'-':>7}"
        c = r.get("checks")
        types = "-" if c is None else ("faithful" if all(c.values()) else "lost: " + ",".join(k for k, v in c.items() if not v))
        lines.append(
            f"{r['method']:36} {s:7.2f} {r['cpu']:6.2f} {rows / s:10,.0f} {r['rss_mb']:7.0f} {df_mb} "
            f"{(f'{base / s:7.1f}x') if base else '       -'} {(f'{s / floor:8.2f}') if floor else '       -'} {budget}  {types}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.url, args.rows)))
        return 0
    if args.build:
        ensure_table(args.url, args.rows)
        return 0
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    # The parent stays small (stdlib only): a child's peak RSS starts at its parent's size
    # when it is forked, so a heavy parent would inflate every measurement.
    subprocess.run([sys.executable, __file__, "--build", "--url", args.url, "--rows", str(args.rows)], check=True)
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    env = dict(os.environ, WORKBENCH_CONFIG=str(write_config(args.url, folder)),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        results = measure(methods, args.url, args.rows, args.repeat, env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = report(results, args.rows)
    load_after = os.getloadavg()
    print(table)
    print(f"\n{args.rows:,} rows, median of {args.repeat}; {os.cpu_count()} cores; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "fetch.json").write_text(json.dumps({
        "started": started, "rows": args.rows, "repeat": args.repeat, "query": QUERY, "cpus": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": load_after, "results": results, "table": table,
    }, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
