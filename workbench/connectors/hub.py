"""The hub: one in-process DuckDB where every source is visible by name.

- the warehouse (a DuckDB file) is ATTACHed READ_ONLY under its source name, and its
  tables are also visible unqualified;
- each ``[lake.NAME]`` dataset is a view over its files (Parquet, CSV, JSON lines; hive
  partitions become columns);
- each OLTP source is ATTACHed READ_ONLY under its source name through DuckDB's
  postgres / mysql / sqlite extensions, loaded offline (:mod:`workbench.duck`),
  so ``app.photos`` can be joined with lake files in one statement, with filters and
  projections pushed down into the OLTP database by the extension;
- DataFrames the caller names (found in its scope by :mod:`workbench.query.scope`) are
  registered as tables for the duration of one query.

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

from .. import duck
from ..arrow.dtypes import normalize
from ..config import Config
from ..errors import ParameterError, QueryError, ReadOnlySourceError, SourceError
from ..secrets import clean
from ..sqltext import identifiers, prepare, quote_ident, quote_literal
from .base import Attachable, HubBacked, Source, cancelled_error, timeout_error
from .lake import LakeSource, reader_sql

BATCH_ROWS = 122_880
SCAN_SUFFIX = "$scan"  # a source shown through typed views is attached as NAME$scan beneath them


class Hub:
    """The DuckDB connection that sees every source; built lazily, reused."""

    def __init__(self, config: Config, sources: Mapping[str, Source]):
        self.config = config
        self.sources = sources
        self._con: duckdb.DuckDBPyConnection | None = None
        self._problems: dict[str, str] = {}
        self._lock = threading.RLock()
        self.secrets = [s for src in sources.values() for s in src.secrets]
        self.warehouses = [n for n, s in sources.items() if isinstance(s, Attachable) and s.attach_per_query]
        for src in sources.values():
            if isinstance(src, HubBacked):
                src.hub = self
            if isinstance(src, LakeSource):
                src.datasets = dict(config.lake)
        self._holders = 0  # queries running that need the warehouse files attached

    # -- building -----------------------------------------------------------------
    @property
    def built(self) -> bool:
        """Whether the DuckDB connection exists (asking must not build it)."""
        return self._con is not None

    def connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                self._con = self._build()
            return self._con

    def _build(self) -> duckdb.DuckDBPyConnection:
        con = duck.connect()
        self._problems = {}
        for name, src in self.sources.items():
            if not isinstance(src, Attachable) or src.attach_per_query:
                continue  # the warehouse is attached per query: see _hold
            try:
                self._attach(con, name, src)
            except (duckdb.Error, SourceError) as e:
                self._problems[name] = clean(e, self.secrets)
        for name, ds in self.config.lake.items():
            try:
                reader = reader_sql(ds, str(self.config.resolve(ds.path)))
                con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM {reader}")
            except duckdb.Error as e:
                self._problems[name] = (
                    f"lake dataset {name!r} ({ds.path}): {clean(e)}; "
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
                        self._problems[name] = clean(e, self.secrets)
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

    def _attach(self, con, name: str, src: Attachable) -> None:
        # typed views only over a read-only source: a writable one stays attached as is,
        # so a write through the hub still reaches it (its scanner's types and all)
        casts = src.scanner_casts() if src.read_only and not src.attach_per_query else {}
        scanned = f"{name}{SCAN_SUFFIX}" if casts else name
        sql = src.attach_sql(quote_ident(scanned))
        if sql is None:
            return
        if src.extension:
            duck.load_extension(con, src.extension)
        con.execute(sql)
        if casts:
            self._typed_views(con, name, scanned, casts)

    def _typed_views(self, con, name: str, scanned: str, casts: Mapping[str, Mapping[str, str]]) -> None:
        """Show the source attached as ``scanned`` under ``name`` through views that cast the
        columns its scanner reads with the wrong type.

        ``name.table`` and ``name.main.table`` work as before, and DuckDB inlines the views,
        so projections still reach the scanner. The views live in a DuckDB file made for
        them and attached READ_ONLY (an in-memory catalog would take writes), then unlinked
        (the open handle keeps it readable). They are made from the catalog when the hub is
        built: a table created later is seen after ``refresh()``.
        """
        import os
        import tempfile

        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? order by table_name",
            [scanned]).fetchall()]
        tables = {t: [d[0] for d in con.execute(  # (information_schema.columns leaves out SQLite views)
            f"select * from {quote_ident(scanned)}.main.{quote_ident(t)} limit 0").description] for t in names}
        folder = tempfile.mkdtemp(prefix="workbench-hub-")
        path = os.path.join(folder, "views.duckdb")
        building = quote_ident(f"{name}$views")
        try:
            con.execute(f"ATTACH {quote_literal(path)} AS {building}")
            for table, columns in tables.items():
                cast = casts.get(table, {})
                select = ", ".join(f"cast({quote_ident(c)} as {cast[c]}) as {quote_ident(c)}" if c in cast
                                   else quote_ident(c) for c in columns)
                con.execute(f"CREATE VIEW {building}.main.{quote_ident(table)} AS "
                            f"SELECT {select} FROM {quote_ident(scanned)}.main.{quote_ident(table)}")
            con.execute(f"DETACH {building}")
            con.execute(f"ATTACH {quote_literal(path)} AS {quote_ident(name)} (READ_ONLY)")
        finally:
            for leftover in (path, path + ".wal"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
            os.rmdir(folder)

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
    def batches(self, query: str, params: Mapping[str, Any], *, timeout: float | None,
                tables: Mapping[str, Any] | None = None, source: Source | None = None) -> Iterator[pa.RecordBatch]:
        """Run ``query`` on the hub; ``tables`` are DataFrames registered by name for it."""
        sql = prepare(query, params, "dollar")
        self._check_scanner_params(query, params)
        con = self.connection()
        self._hold(con)
        try:
            yield from self._run(con, sql, query, params, timeout, tables, source)
        finally:
            self._release(con)

    def _run(self, con, sql: str, query: str, params: Mapping[str, Any], timeout: float | None, tables,
             source: Source | None) -> Iterator[pa.RecordBatch]:
        cur = con.cursor()  # settings are per cursor: set them on each
        path = self._search_path
        if source is not None and source.name in self.warehouses and source.name not in self._problems:
            path = f"{quote_ident(source.name)}.main,memory.main"
        cur.execute(f"SET search_path = {quote_literal(path)}")
        cur.execute("SET TimeZone = 'UTC'")
        for name, obj in (tables or {}).items():
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

    def _check_scanner_params(self, query: str, params: Mapping[str, Any]) -> None:
        """Refuse values that a scanner of a source the query names cannot pass on safely."""
        if not params:
            return
        names = identifiers(query)
        for name, src in self.sources.items():
            if name in names:
                problem = src.hub_param_problem(params)
                if problem:
                    raise ParameterError(problem)

    def _error(self, e: duckdb.Error, query: str, timeout, timed_out: bool) -> Exception:
        msg = clean(e, self.secrets)
        if isinstance(e, duckdb.InterruptException):
            return timeout_error("hub", timeout) if timed_out else cancelled_error("hub")
        low = msg.lower()
        if ("read-only" in low or "read only" in low or "readonly" in low
                or re.search(r"\bis not an? table\b|can only (update|delete from) base table", low)):
            # (the last two: a write into a view of the hub: a lake dataset, typed views)
            return ReadOnlySourceError(
                f"hub: {msg}; the hub reads every source read-only: write into the warehouse with "
                "wb.load(...) or `workbench sync`"
            )
        if isinstance(e, duckdb.CatalogException):
            for name, why in self._problems.items():
                if re.search(rf"\b{re.escape(name)}\b", query):
                    return SourceError(f"{name} is not available in the hub: {why}")
        return QueryError(f"hub: {msg}")
