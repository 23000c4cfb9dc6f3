"""The hub: one in-process DuckDB where every source is visible by name.

- the warehouse (a DuckDB file) is ATTACHed READ_ONLY under its source name, and its
  tables are also visible unqualified;
- each ``[lake.NAME]`` dataset is a view over its files (Parquet, CSV, JSON lines; hive
  partitions become columns);
- each OLTP source is ATTACHed READ_ONLY under its source name through DuckDB's
  postgres / mysql / sqlite extensions, loaded offline (:mod:`workbench.extensions`),
  so ``app.photos`` can be joined with lake files in one statement, with filters and
  projections pushed down into the OLTP database by the extension;
- pandas / Arrow / polars DataFrames in the caller's scope are tables by variable name.

Sources that cannot be attached (server down, file missing) are remembered with the
reason, so a query that needs them fails with that reason instead of "table not found".

The warehouse file is attached only while queries run and detached when none does:
DuckDB lets one process write a file only when no other process has it open, so an
idle notebook must not hold it (a `workbench sync` elsewhere would be locked out), and
a warehouse rebuilt meanwhile is seen by the next query.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterator, Mapping

import duckdb
import pyarrow as pa

from . import binding, extensions, pgfetch
from .binding import quote_ident, quote_literal
from .config import Config
from .dtypes import normalize
from .errors import ParameterError, QueryCancelledError, QueryError, QueryTimeoutError, ReadOnlySourceError, SourceError
from .connectors import Source, mysql_connect_args, one_line, scrub

BATCH_ROWS = 122_880
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _mysql_dsn(url: str) -> str:
    a = mysql_connect_args(url)
    parts = [f"host={a['host']}", f"port={a['port']}", f"user={a['user']}"]
    if a["password"]:
        parts.append(f"passwd={a['password']}")
    if a["database"]:
        parts.append(f"database={a['database']}")
    return " ".join(parts)


def identifiers(sql: str) -> set[str]:
    """Bare words of ``sql`` outside literals and comments (candidate DataFrame names)."""
    out: set[str] = set()
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            i = binding._skip_quoted(sql, i, "'")
        elif c == '"':
            j = binding._skip_quoted(sql, i, '"')
            out.add(sql[i + 1:j - 1].replace('""', '"'))
            i = j
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            m = _IDENT.match(sql, i)
            if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] in "_.:$")):
                out.add(m.group(0))
                i = m.end()
            else:
                i += 1
    return out


def _frame_tables(sql: str, frame) -> dict[str, Any]:
    """DataFrames (pandas, Arrow, polars) named in ``sql`` and defined in ``frame``."""
    if frame is None:
        return {}
    import pandas as pd

    found = {}
    for name in identifiers(sql):
        obj = frame.f_locals.get(name, frame.f_globals.get(name))
        if obj is None:
            continue
        if isinstance(obj, (pd.DataFrame, pa.Table, pa.RecordBatch, pa.RecordBatchReader)) or (
            type(obj).__module__.startswith("polars") and type(obj).__name__ in ("DataFrame", "LazyFrame")
        ):
            found[name] = obj
    return found


class Hub:
    """The DuckDB connection that sees every source; built lazily, reused."""

    def __init__(self, config: Config, sources: Mapping[str, Source]):
        self.config = config
        self.sources = sources
        self._con: duckdb.DuckDBPyConnection | None = None
        self._problems: dict[str, str] = {}
        self._lock = threading.RLock()
        self.secrets = [s for src in sources.values() for s in src.secrets]
        self.warehouses = [n for n, s in sources.items() if s.kind == "duckdb"]
        self._holders = 0  # queries running that need the warehouse files attached

    # -- building -----------------------------------------------------------------
    def connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                self._con = self._build()
            return self._con

    def _build(self) -> duckdb.DuckDBPyConnection:
        con = extensions.connect()
        self._problems = {}
        for name, src in self.sources.items():
            if src.kind == "duckdb":
                continue  # attached per query: see _hold
            try:
                self._attach(con, name, src)
            except (duckdb.Error, SourceError) as e:
                self._problems[name] = scrub(one_line(str(e)), self.secrets)
        for name, ds in self.config.lake.items():
            try:
                con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM {self._reader(ds)}")
            except duckdb.Error as e:
                self._problems[name] = (
                    f"lake dataset {name!r} ({ds.path}): {one_line(str(e))}; "
                    f"run `make demo` to build the demo lake, or fix [lake.{name}] path in workbench.toml"
                )
        self._holders = 0
        return con

    def _hold(self, con: duckdb.DuckDBPyConnection) -> None:
        """Attach the warehouse files for a query (the first of those running at once)."""
        with self._lock:
            if self._holders == 0:
                for name in self.warehouses:
                    self._problems.pop(name, None)
                    try:
                        self._attach(con, name, self.sources[name])
                    except (duckdb.Error, SourceError) as e:
                        self._problems[name] = scrub(one_line(str(e)), self.secrets)
                self._search_path = ",".join(
                    ["memory.main", *(f"{quote_ident(w)}.main" for w in self.warehouses if w not in self._problems)])
            self._holders += 1

    def _release(self, con: duckdb.DuckDBPyConnection) -> None:
        """Detach the warehouse files when the last running query is done with them."""
        with self._lock:
            if con is not self._con:
                return  # the connection was rebuilt meanwhile
            self._holders -= 1
            if self._holders == 0:
                attached = {r[0] for r in con.execute("select database_name from duckdb_databases()").fetchall()}
                for name in self.warehouses:
                    if name in attached:
                        con.execute(f"DETACH {quote_ident(name)}")

    def _reader(self, ds) -> str:
        path = quote_literal(str(self.config.resolve(ds.path)))
        hive = "true" if ds.hive_partitioning else "false"
        fmt = ds.file_format()
        if fmt == "parquet":
            return f"read_parquet({path}, hive_partitioning = {hive}, union_by_name = true)"
        if fmt == "csv":
            return f"read_csv({path}, hive_partitioning = {hive}, union_by_name = true)"
        return f"read_json({path}, format = 'newline_delimited', hive_partitioning = {hive}, union_by_name = true)"

    def _attach(self, con, name: str, src: Source) -> None:
        kind = src.kind
        alias = quote_ident(name)
        if kind == "duckdb":
            from sqlalchemy.engine import make_url

            path = make_url(src.url).database
            if not path or path == ":memory:":
                return
            import os

            if not os.path.exists(path):
                raise SourceError(f"{path} does not exist; run `make demo` or `workbench sync` to build it")
            con.execute(f"ATTACH {quote_literal(path)} AS {alias} (READ_ONLY)")
        elif kind == "lake":
            return  # its datasets are views, created from [lake.*]
        elif kind == "sqlite":
            extensions.load_extension(con, "sqlite")
            path = str(src.path) if getattr(src, "path", None) else ""
            import os

            if not os.path.exists(path):
                raise SourceError(f"{path} does not exist; run `make demo` to build it")
            ro = ", READ_ONLY" if src.read_only else ""
            con.execute(f"ATTACH {quote_literal(path)} AS {alias} (TYPE sqlite{ro})")
        elif kind == "postgresql":
            extensions.load_extension(con, "postgres")
            ro = ", READ_ONLY" if src.read_only else ""
            dsn, _ = pgfetch.conninfo(src.url, read_only=src.read_only, timeout=None, application_name="workbench-hub")
            con.execute(f"ATTACH {quote_literal(dsn)} AS {alias} (TYPE postgres{ro})")
        elif kind == "mysql":
            extensions.load_extension(con, "mysql")
            ro = ", READ_ONLY" if src.read_only else ""
            con.execute(f"ATTACH {quote_literal(_mysql_dsn(src.url))} AS {alias} (TYPE mysql{ro})")

    def problem(self, name: str) -> str | None:
        """Why source or dataset ``name`` is not usable in the hub, or ``None``."""
        con = self.connection()
        if name in self.warehouses:
            self._hold(con)
            self._release(con)
        return self._problems.get(name)

    def refresh(self) -> None:
        """Forget the connection (after the warehouse or lake changed); rebuilt on use."""
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None

    close = refresh

    # -- querying -----------------------------------------------------------------
    def batches(self, query: str, params: Mapping[str, Any], *, timeout: float | None, frame,
                source: Source | None = None) -> Iterator[pa.RecordBatch]:
        sql = binding.prepare(query, params, "dollar")
        self._check_mysql_params(query, params)
        con = self.connection()
        self._hold(con)
        try:
            yield from self._run(con, sql, query, params, timeout, frame, source)
        finally:
            self._release(con)

    def _run(self, con, sql: str, query: str, params: Mapping[str, Any], timeout: float | None, frame,
             source: Source | None) -> Iterator[pa.RecordBatch]:
        cur = con.cursor()  # settings are per cursor: set them on each
        path = self._search_path
        if source is not None and source.kind == "duckdb":
            path = f"{quote_ident(source.name)}.main,memory.main"
        cur.execute(f"SET search_path = {quote_literal(path)}")
        cur.execute("SET TimeZone = 'UTC'")
        for name, obj in _frame_tables(query, frame).items():
            cur.register(name, obj)
        timer = None
        state = {"timed_out": False}
        if timeout:
            def interrupt() -> None:
                state["timed_out"] = True
                cur.interrupt()

            timer = threading.Timer(timeout, interrupt)
            timer.daemon = True
            timer.start()
        try:
            try:
                result = cur.execute(sql, dict(params)) if params else cur.execute(sql)
                reader = result.to_arrow_reader(BATCH_ROWS)
            except duckdb.Error as e:
                raise self._error(e, query, timeout, state["timed_out"]) from None
            empty = True
            try:
                for batch in reader:
                    empty = False
                    yield normalize(batch)
            except duckdb.Error as e:
                raise self._error(e, query, timeout, state["timed_out"]) from None
            if empty:
                yield normalize(pa.RecordBatch.from_pylist([], schema=reader.schema))
        finally:
            if timer is not None:
                timer.cancel()
            cur.close()

    def _check_mysql_params(self, query: str, params: Mapping[str, Any]) -> None:
        """Refuse string values with a backslash on queries that reach a MySQL source.

        DuckDB's mysql scanner (1.5.5) pushes filter values into the MySQL query as
        literals with quotes doubled but backslashes kept, and MySQL reads a backslash
        as an escape: ``\\' or 1=1 -- `` would become SQL. Until the scanner escapes
        them, such values must be bound by the MySQL driver itself (``source=...``).
        """
        risky = [k for k, v in params.items() if isinstance(v, str) and "\\" in v]
        if not risky:
            return
        names = identifiers(query)
        for name, src in self.sources.items():
            if src.kind == "mysql" and name in names:
                raise ParameterError(
                    f"parameter {risky[0]!r} holds a backslash, which DuckDB's mysql scanner cannot pass to "
                    f"{name!r} safely; run this query on the source itself (source={name!r}), where the "
                    "driver binds it"
                )

    def _error(self, e: duckdb.Error, query: str, timeout, timed_out: bool) -> Exception:
        msg = scrub(one_line(str(e)), self.secrets)
        if isinstance(e, duckdb.InterruptException):
            if timed_out:
                return QueryTimeoutError(
                    f"hub: the statement ran longer than {timeout:g} s and was cancelled; "
                    "narrow it, or raise timeout=... (or statement_timeout in workbench.toml)"
                )
            return QueryCancelledError("hub: the statement was cancelled")
        low = msg.lower()
        if "read-only" in low or "read only" in low or "readonly" in low:
            return ReadOnlySourceError(
                f"hub: {msg}; the hub reads every source read-only: write into the warehouse with "
                "wb.load(...) or `workbench sync`"
            )
        if isinstance(e, duckdb.CatalogException):
            for name, why in self._problems.items():
                if re.search(rf"\b{re.escape(name)}\b", query):
                    return SourceError(f"{name} is not available in the hub: {why}")
        return QueryError(f"hub: {msg}")
