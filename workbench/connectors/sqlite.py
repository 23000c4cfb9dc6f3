"""SQLite: the embedded OLTP source (the demo's ``data/app.db``).

Read-only is SQLite's own ``mode=ro``; the statement timeout and Ctrl-C both go through
the progress handler, which aborts the running statement inside SQLite. SQLite has no
DATE, TIMESTAMP, DECIMAL or BOOLEAN storage: the converters below give declared column
types their meaning on this path (through the hub, DuckDB's scanner reads them its own way).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import sqlite3
import time
from pathlib import Path

import pyarrow as pa

from ..arrow.rows import batches_from_cursor
from ..config import SourceConfig
from ..config.urls import database
from ..errors import QueryError, SourceError
from ..sqltext import prepare, quote_literal
from .base import Attachable, Source

def _sqlite_timestamp(b: bytes) -> dt.datetime | str:
    s = b.decode()
    try:
        return dt.datetime.fromisoformat(s)
    except ValueError:
        return s


def _sqlite_date(b: bytes) -> dt.date | str:
    s = b.decode()
    try:
        return dt.date.fromisoformat(s[:10]) if len(s) >= 10 else dt.date.fromisoformat(s)
    except ValueError:
        return s


def _sqlite_decimal(b: bytes) -> decimal.Decimal | str:
    try:
        return decimal.Decimal(b.decode())
    except decimal.InvalidOperation:
        return b.decode()


def _sqlite_bool(b: bytes) -> bool | str:
    s = b.decode().strip().lower()
    if s in ("1", "true", "t"):
        return True
    if s in ("0", "false", "f"):
        return False
    return s


# SQLite has no DATE, TIMESTAMP, DECIMAL or BOOLEAN storage; these converters give the
# declared types of table columns their meaning (sqlite3's PARSE_DECLTYPES).
_SQLITE_CONVERTERS = {
    "DATE": _sqlite_date,
    "TIMESTAMP": _sqlite_timestamp,
    "DATETIME": _sqlite_timestamp,
    "TIMESTAMPTZ": _sqlite_timestamp,
    "DECIMAL": _sqlite_decimal,
    "NUMERIC": _sqlite_decimal,
    "BOOLEAN": _sqlite_bool,
    "BOOL": _sqlite_bool,
}
for _name, _conv in _SQLITE_CONVERTERS.items():
    sqlite3.register_converter(_name, _conv)


class SqliteSource(Source, Attachable):
    kind = "sqlite"
    paramstyle = "named"
    extension = "sqlite"
    has_schemas = False

    def __init__(self, cfg: SourceConfig):
        super().__init__(cfg)
        db = database(cfg.url) or ""
        self.path = Path(db) if db and db != ":memory:" else None

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            raise SourceError(f"source {self.name!r}: an in-memory SQLite database has no data; name a file")
        if not self.path.exists():
            raise SourceError(
                f"source {self.name!r}: {self.path} does not exist; run `make demo` "
                "(or `workbench demo`) to build it, or fix the url in workbench.toml"
            )
        mode = "ro" if self.read_only else "rw"
        return sqlite3.connect(
            f"file:{self.path.as_posix()}?mode={mode}", uri=True, detect_types=sqlite3.PARSE_DECLTYPES,
            check_same_thread=False, isolation_level=None,
        )

    def batches(self, query, params, *, timeout):
        sql = prepare(query, params, self.paramstyle, self.dialect)
        with self._connection() as (conn, _state):
            deadline = time.monotonic() + timeout if timeout else None
            timed_out = False

            def progress() -> int:
                nonlocal timed_out
                if deadline is not None and time.monotonic() > deadline:
                    timed_out = True
                    return 1
                return 0

            conn.set_progress_handler(progress, 20_000)
            cur = conn.cursor()
            try:
                try:
                    cur.execute(sql, dict(params))
                except sqlite3.ProgrammingError as e:
                    if "one statement at a time" in str(e):
                        raise (self.read_only_error("one statement per call") if self.read_only else
                               QueryError(f"{self.name}: one statement per call; split the statements")) from None
                    raise self.query_error(e) from None
                if cur.description is None:
                    yield pa.RecordBatch.from_pydict({"rows_affected": [cur.rowcount]})
                    return
                names = [d[0] for d in cur.description]
                yield from batches_from_cursor(names, cur.fetchmany, [None] * len(names))
            except sqlite3.OperationalError as e:
                msg = str(e)
                if "readonly" in msg or "read-only" in msg:
                    raise self.read_only_error(msg) from None
                if "locked" in msg or "busy" in msg:  # another writer holds the file: may pass later
                    raise QueryError(f"{self.name}: {self.describe_error(e)}", retryable=True) from None
                if "interrupted" in msg:
                    if timed_out:
                        raise self.timeout_error(timeout) from None
                    # Ctrl-C reached the progress handler, which aborted the statement.
                    raise KeyboardInterrupt from None
                raise self.query_error(e) from None
            except sqlite3.Error as e:
                raise self.query_error(e) from None
            finally:
                cur.close()
                conn.set_progress_handler(None, 0)
                if conn.in_transaction:
                    conn.rollback()

    # -- capabilities -------------------------------------------------------------------
    def attach_sql(self, alias: str) -> str:
        path = str(self.path) if self.path else ""
        if not os.path.exists(path):
            raise SourceError(f"{path or 'an in-memory database'} does not exist; run `make demo` to build it")
        ro = ", READ_ONLY" if self.read_only else ""
        return f"ATTACH {quote_literal(path)} AS {alias} (TYPE sqlite{ro})"

    def scanner_casts(self) -> dict[str, dict[str, str]]:
        """Columns declared BOOLEAN (or BOOL): DuckDB's sqlite scanner reads them as BIGINT
        0/1; cast back in the hub they are booleans there too, as on this path."""
        rows = self.frame(_BOOLEANS)
        casts: dict[str, dict[str, str]] = {}
        for table, column in zip(rows["table"], rows["column"]):
            casts.setdefault(str(table), {})[str(column)] = "BOOLEAN"
        return casts

    def catalog_tables(self):
        stats = self.frame("select count(*) as n from sqlite_master where name = 'sqlite_stat1'")
        return self.frame(_TABLES.format(rows=_STAT_ROWS if stats["n"].iloc[0] else "null"))

    def catalog_columns(self, schema, table):
        return self.frame(_COLUMNS, table=table)

    def primary_key(self, table: str) -> list[str]:
        return [str(v) for v in self.frame(_PRIMARY_KEY, table=table.split(".")[-1])["name"]]


# SQLite keeps no row estimate unless ANALYZE has filled sqlite_stat1.
_TABLES = ("select 'main' as schema, m.name as \"table\", m.type as kind, {rows} as rows "
           "from sqlite_master m where m.type in ('table', 'view') and m.name not like 'sqlite_%' order by m.name")
_STAT_ROWS = ("(select cast(substr(stat, 1, instr(stat || ' ', ' ') - 1) as integer) from sqlite_stat1 s "
              "where s.tbl = m.name limit 1)")
_COLUMNS = ("select name as \"column\", type, not \"notnull\" as nullable, cid + 1 as position "
            "from pragma_table_info(:table) order by cid")
_BOOLEANS = ("select m.name as \"table\", c.name as \"column\" from sqlite_master m, pragma_table_info(m.name) c "
             "where m.type in ('table', 'view') and upper(trim(c.type)) in ('BOOLEAN', 'BOOL') order by m.name, c.cid")
_PRIMARY_KEY = "select name from pragma_table_info(:table) where pk > 0 order by pk"
