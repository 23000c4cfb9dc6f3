"""PostgreSQL to Arrow: the fastest path that keeps every value's meaning.

Measured on 2,000,000 mixed rows (``bench/fetch.py``): DuckDB's postgres extension reads
PostgreSQL's binary COPY stream straight into Arrow, faster than connectorx and ADBC and
with exact types (ADBC hands NUMERIC over as text, connectorx as decimal128(38, 10) and
neither is faster). The server is the bottleneck on one connection (formatting a row for
COPY costs it about as much as the client spends decoding it), so a query that is a
whole-table scan is split by ``ctid`` page ranges over :data:`PARALLEL` connections that
share one exported snapshot: the same rows as one scan, in the same order, with the
server's work spread over several backends.

How a call goes:

1. A psycopg *control* connection opens a transaction, READ ONLY unless
   ``read_only=False`` (the session also gets ``default_transaction_read_only=on``, so
   every connection of the call is read-only however it begins its transactions). It
   stays open until the data has been read: its locks keep the table from being
   dropped or altered meanwhile, and it exports the snapshot a parallel scan shares.
2. Parameters are rendered into the text by psycopg's own literal quoting
   (``ClientCursor.mogrify``): COPY, which carries the data, cannot take bound
   parameters. A hostile string arrives as a quoted literal, i.e. as data.
3. The statement is described server-side as ``SELECT * FROM (<query>) LIMIT 0`` over the
   extended protocol, which refuses a string with two statements and never runs the
   query. The description gives each column's type and typmod, and, for a plain column,
   the table it comes from.
4. A statement that cannot be described that way (INSERT/UPDATE/DELETE, DDL, a
   data-modifying WITH, EXPLAIN, SHOW, ...) is executed as-is on the control connection
   with server-side bound parameters: in a read-only call the database refuses it with
   its own read-only error; in a writable call it runs and is committed. Its rows
   (RETURNING, EXPLAIN, SHOW) get the same types as below, except interval as text; a
   statement without rows gives one row ``rows_affected``.
5. Otherwise DuckDB runs ``postgres_query`` on the described statement, with a select
   list that applies the dtype policy below on the server. If EXPLAIN says the plan is a
   bare sequential scan of one table and every column is a plain column of it, page
   ranges of that table are read in parallel instead (PostgreSQL >= 14, TID range scans).

Batches stream through a small queue from worker threads (DuckDB releases the GIL), so
memory stays bounded and the main thread only waits on the queue: Ctrl-C and the
statement timeout are seen at once, the statement is cancelled on the server by
``pg_cancel_backend`` on the call's own backends (tagged by ``application_name``), and
every connection is closed, so no transaction stays open.

Types (the project's dtype policy; :mod:`workbench.dtypes` may widen ints/floats):

==========================  ===============================================
PostgreSQL                  Arrow
==========================  ===============================================
smallint/int/bigint         int16/int32/int64, NULLs kept
numeric(p, s), p <= 38      decimal128(p, s) exact; NaN becomes NULL
numeric (no typmod)         decimal128(38, 9): rounded half away from zero to
                            9 places by PostgreSQL; more than 29 integer
                            digits fails with "numeric field overflow"
numeric(p > 38, s)          string (the exact text)
real / double precision     float / double
text, varchar, char, name   string
json / jsonb                string (the JSON text)
uuid                        string
bytea                       binary
date                        date32
timestamp                   timestamp[us]
timestamptz                 timestamp[us, tz=UTC] (the instant, whatever the
                            session time zone)
time / interval             time64[us] / month_day_nano_interval
boolean                     bool
1-D arrays                  list<...> of bool, integers, floats, text, date,
                            timestamp(tz); other arrays as text
anything else               string: the value cast to text by PostgreSQL
==========================  ===============================================

Arrow has no infinite dates/timestamps: DuckDB clamps ``infinity`` to 9999-12-31.
DuckDB's decoder would turn a NUMERIC NaN into 0 and an unbounded NUMERIC into a lossy
double, which is why those are guarded and cast on the server.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterator, Mapping

import duckdb
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.types.string import TextLoader

from ... import duck as extensions
from ...errors import (
    ParameterError,
    QueryError,
    QueryTimeoutError,
    ReadOnlySourceError,
    SourceError,
)

from ...secrets import clean
from ..base import cancelled_error, timeout_error
from .conninfo import conninfo
from .types import _ARRAYS, _NUMERIC, _SCALARS, _TEXT_ON_FALLBACK, _UNBOUNDED_NUMERIC, _NINE_PLACES, _Column  # noqa: F401

#: Rows per record batch handed to the caller.
DEFAULT_BATCH_ROWS = 131_072
#: Connections (each with a decoding thread) that read one table scan in parallel. The
#: server's per-row COPY work is the bottleneck, so this is not tied to the client's cores:
#: on the 2-core bench machine (shared, load 4-8) 2/3/4 connections took 0.95/0.75/0.69x
#: the time of psql's one-connection \copy.
PARALLEL = 4
#: Heap pages (8 kB) per ctid range of a parallel scan, as DuckDB's own table scan uses.
PAGES_PER_RANGE = 1000
#: Tables smaller than this many pages are read on one connection: not worth the setup.
MIN_PARALLEL_PAGES = 2 * PAGES_PER_RANGE
#: Batches a worker may run ahead of the caller (per worker).
QUEUE_BATCHES = 2
#: How often the waiting main thread checks the deadline (seconds).
_POLL = 0.05

# ------------------------------------------------------------------------------ public
def read_arrow_batches(
    url: str,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    read_only: bool = True,
    timeout: float | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Stream the result of ``query`` as Arrow record batches of at most ``batch_rows`` rows.

    ``url`` is a SQLAlchemy-style ``postgresql[+driver]://`` URL. ``query`` uses
    psycopg's ``%(name)s`` placeholders (``%%`` for a literal percent) with values from
    ``params``. ``timeout`` (seconds) is set as ``statement_timeout`` on every connection
    and also bounds the whole call. At least one batch is yielded, so the schema is known
    even for an empty result. Closing the iterator early cancels the statement.
    """
    if batch_rows < 1:
        raise ParameterError("batch_rows must be at least 1")
    call = _Call(url, read_only=read_only, timeout=timeout, batch_rows=batch_rows)
    try:
        yield from call.run(query, dict(params or {}))
    except KeyboardInterrupt:
        call.abort()  # cancelled on the server; Ctrl-C goes on as Ctrl-C
        raise
    finally:
        call.close()


def read_arrow(
    url: str,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    read_only: bool = True,
    timeout: float | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> pa.Table:
    """The whole result of ``query`` as one Arrow table (see :func:`read_arrow_batches`).

    Use ``table.to_pandas(types_mapper=pd.ArrowDtype)`` for the policy's DataFrame: the
    columns stay Arrow memory, no copy.
    """
    batches = read_arrow_batches(url, query, params, read_only=read_only, timeout=timeout, batch_rows=batch_rows)
    try:
        collected = list(batches)
    except KeyboardInterrupt:
        # Ctrl-C between two batches lands here, not in the generator: closing it cancels.
        batches.close()
        raise
    return pa.Table.from_batches(collected)


_duck: duckdb.DuckDBPyConnection | None = None
_duck_pid = 0
_duck_lock = threading.Lock()


def _duckdb() -> duckdb.DuckDBPyConnection:
    """The process's DuckDB instance with the postgres extension loaded.

    Loading the extension costs ~0.1 s per instance, so one in-memory instance is kept
    and every call works on its own cursor with its own ATTACH. A forked child (a
    process pool) makes its own: DuckDB instances do not survive fork.
    """
    global _duck, _duck_pid
    with _duck_lock:
        if _duck is None or _duck_pid != os.getpid():
            con = extensions.connect()
            extensions.load_extension(con, "postgres")
            # Each call's worker threads drive their own queries (postgres_query is one
            # stream each); DuckDB's own pool would only add threads that burn CPU waiting:
            # measured, twice the client CPU for the same scan with threads = 2.
            con.execute("SET threads = 1")
            _duck, _duck_pid = con, os.getpid()
        return _duck


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


_END = object()  # a range is complete


class _Call:
    """One read: the control connection, the DuckDB workers, and their cleanup."""

    def __init__(self, url: str, *, read_only: bool, timeout: float | None, batch_rows: int):
        self.tag = f"workbench-pgfetch-{uuid.uuid4().hex[:12]}"
        self.read_only, self.timeout, self.batch_rows = read_only, timeout, batch_rows
        self.dsn, self.secrets = conninfo(url, read_only=read_only, timeout=timeout, application_name=self.tag)
        self.ctl: psycopg.Connection | None = None
        self.cursors: list[tuple[duckdb.DuckDBPyConnection, str]] = []
        self.threads: list[threading.Thread] = []
        self.stop = threading.Event()
        self.deadline = time.monotonic() + timeout if timeout else None
        self.cancelled = self.done = False

    # ---------------------------------------------------------------- flow
    def run(self, query: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        try:
            self.ctl = psycopg.connect(self.dsn, autocommit=False)
        except psycopg.Error as e:
            raise SourceError(f"cannot connect to PostgreSQL: {self._text(e)}; check the source's URL and that the server is up") from None
        self.ctl.read_only = self.read_only
        try:
            try:
                text = psycopg.ClientCursor(self.ctl).mogrify(query, params)
            except psycopg.ProgrammingError as e:
                raise ParameterError(f"{self._text(e)}; pass every %(name)s the query uses") from None
            body = text.rstrip()
            while body.endswith(";"):
                body = body[:-1].rstrip()
            columns = self._describe(body)
            if columns is None or not columns:
                yield from self._run_as_is(query, params)
            else:
                yield from self._run_duckdb(body, columns)
            self.done = True
        except psycopg.Error as e:
            raise self._psycopg_error(e) from None

    def _describe(self, body: str) -> list[_Column] | None:
        """The result columns, or None when the statement cannot be a subquery."""
        cur = self.ctl.cursor(binary=True)  # binary: always the extended protocol
        try:
            cur.execute(sql.SQL("SELECT * FROM (\n{}\n) AS wb_q LIMIT 0").format(sql.SQL(body)))
        except psycopg.Error as e:
            if e.sqlstate and e.sqlstate[:2] in ("42", "0A"):
                self.ctl.rollback()  # syntax/feature errors: not a query; run it as written
                return None
            raise
        res = cur.pgresult
        return [
            _Column(d.name, d.type_code, res.fmod(i), res.ftable(i), res.ftablecol(i))
            for i, d in enumerate(cur.description)
        ]

    def _run_as_is(self, query: str, params: dict[str, Any]) -> Iterator[pa.RecordBatch]:
        """Execute a statement that is not a plain query, bound server-side, on the control connection."""
        cur = self.ctl.cursor()
        for info in psycopg.adapters.types:  # text for every type outside the policy's native ones
            for oid in (info.oid, info.array_oid):
                if oid and (oid in _TEXT_ON_FALLBACK or (oid not in _SCALARS and oid not in _ARRAYS and oid != _NUMERIC)):
                    cur.adapters.register_loader(oid, TextLoader)
        cur.execute(query, params, prepare=True)  # prepared: one statement, never the simple protocol
        if cur.description is None:
            batch = pa.RecordBatch.from_pydict({"rows_affected": pa.array([cur.rowcount], pa.int64())})
            self.ctl.commit()
            yield batch
            return
        res = cur.pgresult
        columns = [_Column(d.name, d.type_code, res.fmod(i), 0, 0) for i, d in enumerate(cur.description)]
        schema = pa.schema([
            pa.field(c.name, pa.string() if c.oid in _TEXT_ON_FALLBACK else c.arrow_type()) for c in columns
        ])
        batches = []
        while rows := cur.fetchmany(self.batch_rows):
            batches.append(_rows_to_batch(rows, columns, schema))
        self.ctl.commit()
        yield from batches or [pa.RecordBatch.from_pylist([], schema=schema)]

    def _run_duckdb(self, body: str, columns: list[_Column]) -> Iterator[pa.RecordBatch]:
        aliases = [f"c{i}" for i in range(1, len(columns) + 1)]
        ranges = self._table_ranges(body, columns)
        if ranges is None:
            select = sql.SQL(", ").join(
                sql.SQL("{} AS {}").format(c.expression(sql.Identifier("wb_q", a)), sql.Identifier(a))
                for c, a in zip(columns, aliases)
            )
            jobs = [sql.SQL("SELECT {} FROM (\n{}\n) AS wb_q({})").format(
                select, sql.SQL(body), sql.SQL(", ").join(map(sql.Identifier, aliases))
            ).as_string(self.ctl)]
            workers, snapshot = 1, None
        else:
            jobs, snapshot = ranges
            workers = min(PARALLEL, len(jobs))
        names = [c.name for c in columns]
        queues = [queue.Queue(QUEUE_BATCHES) for _ in range(workers)]
        duck = _duckdb()
        for w in range(workers):
            cur, alias = duck.cursor(), f"wb_{self.tag[-12:]}_{w}"
            self.cursors.append((cur, alias))
            cur.execute("SET TimeZone = 'UTC'")  # the zone DuckDB labels timestamptz with in Arrow
            ro = ", READ_ONLY" if self.read_only else ""
            try:
                cur.execute(f"ATTACH '{self.dsn.replace(chr(39), chr(39) * 2)}' AS {alias} (TYPE postgres{ro})")
            except duckdb.Error as e:
                raise self._duckdb_error(e) from None
            t = threading.Thread(
                target=self._work, args=(cur, alias, jobs[w::workers], snapshot, queues[w]),
                name=f"{self.tag}-{w}", daemon=True,
            )
            self.threads.append(t)
            t.start()
        schema, yielded = None, False
        for i in range(len(jobs)):
            q = queues[i % workers]
            while (item := self._get(q)) is not _END:
                if isinstance(item, _Failure):
                    raise self._duckdb_error(item.error)
                if isinstance(item, pa.Schema):
                    schema = item
                    continue
                yielded = True
                yield pa.RecordBatch.from_arrays(item.columns, names=names)
        if not yielded:
            yield pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], names=names)

    def _table_ranges(self, body: str, columns: list[_Column]) -> tuple[list[str], str] | None:
        """Page-range queries over one table and the snapshot they share, when the plan allows."""
        table = columns[0].table
        if (self.ctl.info.server_version < 140000 or not table
                or any(c.table != table or c.attnum <= 0 for c in columns)):
            return None
        cur = self.ctl.cursor(binary=True)
        cur.execute(sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) {}").format(sql.SQL(body)))
        plan = cur.fetchone()[0]
        root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        if root["Node Type"] != "Seq Scan" or "Filter" in root or "Plans" in root or root.get("Parallel Aware"):
            return None
        # Attribute numbers are dense (dropped columns keep theirs), so names index by attnum - 1.
        cur.execute(
            "SELECT n.nspname, c.relname, c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::int,"
            " (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a"
            "  WHERE a.attrelid = c.oid AND a.attnum > 0)::text[]"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s",
            [table],
        )
        row = cur.fetchone()
        if row is None:
            return None
        schema_name, rel, kind, pages, attnames = row
        if ((schema_name, rel) != (root.get("Schema"), root.get("Relation Name"))
                or kind not in ("r", "m") or pages < MIN_PARALLEL_PAGES):
            return None
        select = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(c.expression(sql.Identifier(attnames[c.attnum - 1])), sql.Identifier(f"c{i}"))
            for i, c in enumerate(columns, 1)
        )
        source = sql.SQL("SELECT {} FROM ONLY {} WHERE ").format(select, sql.Identifier(schema_name, rel))
        jobs = []
        for start in range(0, pages, PAGES_PER_RANGE):
            end = start + PAGES_PER_RANGE
            cond = f"ctid >= '({start},0)'::tid" + (f" AND ctid < '({end},0)'::tid" if end < pages else "")
            jobs.append((source + sql.SQL(cond)).as_string(self.ctl))
        snapshot = self.ctl.execute("SELECT pg_export_snapshot()").fetchone()[0]
        return jobs, snapshot

    # ------------------------------------------------------------- workers
    def _work(self, cur: duckdb.DuckDBPyConnection, alias: str, jobs: list[str],
              snapshot: str | None, out: queue.Queue) -> None:
        """Run ``jobs`` on one DuckDB cursor, in order, putting batches then _END per job."""
        try:
            if snapshot:
                cur.execute("BEGIN")
                cur.execute("CALL postgres_execute(?, ?)", [alias, f"SET TRANSACTION SNAPSHOT '{snapshot}'"])
            for job in jobs:
                if self.stop.is_set():
                    return
                reader = cur.execute("SELECT * FROM postgres_query(?, ?)", [alias, job]).to_arrow_reader(self.batch_rows)
                self._put(out, reader.schema)
                for batch in reader:
                    if not self._put(out, batch):
                        return
                self._put(out, _END)
            if snapshot:
                cur.execute("COMMIT")
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self._put(out, _Failure(e))

    def _put(self, out: queue.Queue, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                out.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue) -> Any:
        while True:
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.abort()
                raise QueryTimeoutError(self._timeout_message())
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                continue

    # ------------------------------------------------------------- cleanup
    def abort(self) -> None:
        """Stop the workers and cancel whatever the call's backends are running."""
        self.cancelled = True
        self.stop.set()
        self._cancel_backends()
        for cur, _ in self.cursors:
            cur.interrupt()

    def _cancel_backends(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as c:
                c.execute(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s AND pid <> pg_backend_pid()",
                    [self.tag],
                )
        except psycopg.Error:
            pass  # the server is gone: nothing left to cancel

    def close(self) -> None:
        """Join the workers and close every connection of the call (ends their transactions)."""
        if self.threads and not self.done and not self.cancelled:
            self.abort()  # the caller stopped iterating early, or a worker failed
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        for cur, alias in self.cursors:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass  # no transaction open
            try:
                cur.execute(f"DETACH DATABASE IF EXISTS {alias}")  # closes its PostgreSQL connections
            except duckdb.Error:
                pass  # a worker still stuck on a dead server; the instance drops it at exit
            cur.close()
        if self.ctl is not None:
            self.ctl.close()

    # -------------------------------------------------------------- errors
    def _text(self, e: BaseException) -> str:
        diag = getattr(e, "diag", None)
        msg = (diag.message_primary if diag is not None and diag.message_primary else None) or str(e) or type(e).__name__
        return clean(re.sub(r"password=\S+", "password=***", msg), self.secrets)

    def _timeout_message(self) -> str:
        return str(timeout_error("postgresql", self.timeout)).split(": ", 1)[1]

    def _psycopg_error(self, e: psycopg.Error) -> QueryError:
        msg = self._text(e)
        if e.sqlstate == "25006":
            return ReadOnlySourceError(f"{msg} (the source is read-only; set read_only = false to allow writes)")
        if e.sqlstate == "57014":
            if self.timeout and not self.cancelled:
                return QueryTimeoutError(self._timeout_message())
            return cancelled_error("postgresql")
        if e.sqlstate == "42601" and "multiple commands" in msg:
            return QueryError(f"{msg}: send one statement per call")
        # deadlock, lock not available, serialization failure: the same statement may pass later
        return QueryError(_hint(msg), retryable=e.sqlstate in ("40P01", "55P03", "40001"))

    def _duckdb_error(self, e: BaseException) -> BaseException:
        if isinstance(e, QueryError):
            return e
        raw = str(e)
        m = re.search(r"ERROR:\s+([^\n]*)", raw)
        msg = self._text(Exception(m.group(1) if m else raw.splitlines()[0] if raw else type(e).__name__))
        if self.cancelled:
            return cancelled_error("postgresql")
        if "statement timeout" in msg or (self.deadline is not None and time.monotonic() >= self.deadline):
            return QueryTimeoutError(self._timeout_message())
        if "read-only transaction" in msg:
            return ReadOnlySourceError(f"{msg} (the source is read-only; set read_only = false to allow writes)")
        return QueryError(_hint(msg))


def _hint(msg: str) -> str:
    if msg.startswith("numeric field overflow"):
        return (f"{msg}: a numeric without precision arrives as decimal128(38, 9), at most 29 integer digits; "
                "cast it in the query to numeric(p, s) with p <= 38, or to text")
    return msg


def _rows_to_batch(rows: list[tuple], columns: list[_Column], schema: pa.Schema) -> pa.RecordBatch:
    """psycopg rows as a batch of the same types the DuckDB path gives."""
    arrays = []
    for i, (c, field) in enumerate(zip(columns, schema)):
        values = [r[i] for r in rows]
        if c.oid == _NUMERIC:
            values = [_decimal(v, field.type) for v in values]
        arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _decimal(v: Decimal | None, t: pa.DataType) -> Decimal | str | None:
    """A numeric value as the DuckDB path delivers it: NaN is NULL, unbounded is 9 places."""
    if v is None or v.is_nan():
        return None
    if pa.types.is_string(t):
        return str(v)
    if v.is_infinite():
        raise QueryError(_hint("numeric field overflow (infinity)"))
    if t == _UNBOUNDED_NUMERIC:
        v = v.quantize(_NINE_PLACES, rounding=ROUND_HALF_UP)
        if v.adjusted() >= 29:
            raise QueryError(_hint("numeric field overflow"))
    return v
