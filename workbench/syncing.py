"""``workbench sync``: copy an OLTP table into the warehouse or the lake, incrementally.

A full sync copies the table. An incremental sync (``incremental_by="updated_at"``)
fetches only the rows whose column is at or past the watermark it recorded last time
and upserts them by primary key; it also fetches the source's key column(s) to remove
the rows deleted there (one narrow column, far cheaper than the table).

Safety: the source is only read (read-only, bound parameters). Into the warehouse, the
change and the new watermark commit in one DuckDB transaction; into the lake, the new
Parquet snapshot is written beside the old one and renamed into place before the
watermark moves. A sync killed at any point leaves the previous state readable, and
the next run picks up from the last committed watermark (upserts make re-fetching
harmless).

Limits: rows whose watermark column is not maintained (an UPDATE that does not touch
``updated_at``), or that commit late with an older value, are only caught by a full
sync (``--full``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from . import extensions
from .catalog import primary_key
from .errors import UsageError
from .binding import quote_ident, quote_literal
from .writes import _peek, _progress, check_ident, warehouse_name, warehouse_writer

if TYPE_CHECKING:
    from .core import Workbench

STATE_TABLE = "_workbench_sync"


@dataclass(frozen=True)
class SyncResult:
    source: str
    table: str
    target: str
    mode: str  # full | incremental
    fetched: int
    deleted: int
    rows: int
    watermark: Any
    seconds: float

    def __str__(self) -> str:
        wm = f", watermark {self.watermark}" if self.watermark is not None else ""
        gone = f", {self.deleted:,} deleted" if self.deleted else ""
        return (f"{self.source}.{self.table} -> {self.target}: {self.mode}, {self.fetched:,} rows fetched{gone}, "
                f"{self.rows:,} rows now{wm} ({self.seconds:.1f} s)")


# -- watermarks keep their exact type, so they bind back to the source unchanged ---------
def _dump(v: Any) -> str | None:
    if v is None:
        return None
    for t, kind in ((dt.datetime, "datetime"), (dt.date, "date"), (bool, "bool"), (int, "int"),
                    (float, "float"), (decimal.Decimal, "decimal"), (str, "str")):
        if isinstance(v, t):
            return json.dumps({"t": kind, "v": v.isoformat() if kind in ("datetime", "date") else str(v)})
    raise UsageError(f"cannot keep a watermark of type {type(v).__name__}; choose a timestamp or integer column")


def _load(text: str | None) -> Any:
    if text is None:
        return None
    d = json.loads(text)
    return {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "int": int, "float": float,
            "decimal": decimal.Decimal, "str": str, "bool": lambda s: s == "True"}[d["t"]](d["v"])


def _source_max(wb: "Workbench", source: str, table_sql: str, col_sql: str) -> Any:
    """The source's own ``max(col)``. On SQLite ``max()`` is an expression with no declared
    type, so it comes back as the stored text, which binds back and compares exactly."""
    return wb.sql_arrow(f"select max({col_sql}) as m from {table_sql}", source=source).column(0)[0].as_py()


def sync(wb: "Workbench", spec: str, *, incremental_by: str | None = None, to: str = "warehouse",
         key: list[str] | None = None, as_name: str | None = None, full: bool = False,
         deletes: bool = True, progress: bool | None = None) -> SyncResult:
    """Copy ``SOURCE.TABLE`` into the warehouse (or the lake), incrementally when asked."""
    started = time.monotonic()
    if "." not in spec:
        raise UsageError(f"{spec!r}: name the table as SOURCE.TABLE, e.g. app.photos")
    source, table = spec.split(".", 1)
    src = wb.source(source)
    if src.kind in ("duckdb", "lake"):
        raise UsageError(f"{source!r} is a {src.role}; sync copies from an OLTP source")
    known = set(wb.tables(source)["table"])
    if table not in known:
        raise UsageError(f"source {source!r} has no table {table!r}; it has: {', '.join(sorted(known))}")
    cols = list(wb.columns(source, table)["column"])
    if incremental_by is not None and incremental_by not in cols:
        raise UsageError(f"--incremental-by {incremental_by!r}: {source}.{table} has no such column; it has: "
                         f"{', '.join(cols)}")
    pk = key or primary_key(wb, source, table)
    if incremental_by and not pk:
        raise UsageError(f"{source}.{table} has no primary key to upsert by; name one with --key COLUMN")
    for c in pk:
        if c not in cols:
            raise UsageError(f"--key {c!r}: {source}.{table} has no such column")
    target_table = check_ident(as_name or table, "target table")
    q = lambda n: quote_ident(n, src.kind)  # noqa: E731 - the source's own dialect
    table_sql = q(table)

    if to == "lake" or to in [n for n, s in wb.config.sources.items() if s.role == "lake"]:
        target = _LakeTarget(wb, to, source, target_table)
    else:
        target = _WarehouseTarget(wb, warehouse_name(wb, None if to == "warehouse" else to), target_table)

    with target:
        state = None if full else target.state(source, table)
        incremental = bool(incremental_by) and state is not None and target.exists()
        new_mark = _source_max(wb, source, table_sql, q(incremental_by)) if incremental_by else None
        if incremental:
            query = f"select * from {table_sql} where {q(incremental_by)} >= :since"
            params = {"since": _load(state)}
        else:
            query, params = f"select * from {table_sql}", {}
        with _progress(None, f"sync {spec}", progress) as bar:
            def counted():
                for b in wb.sql_batches(query, source, params=params):
                    bar.update(b.num_rows)
                    yield b
            reader = _peek(counted())
            keys = None
            if incremental and deletes:
                # Read after the rows: a row inserted in between is then in the keys (kept,
                # picked up next time), never missing from them (which would delete it).
                key_sql = f"select {', '.join(q(c) for c in pk)} from {table_sql}"
                keys = lambda: _peek(wb.sql_batches(key_sql, source))  # noqa: E731
            fetched, deleted, rows = target.apply(reader, keys, pk, incremental)
        mark = new_mark if new_mark is not None else (_load(state) if state else None)
        target.commit(source, table, _dump(mark))
    return SyncResult(source, table, target.label, "incremental" if incremental else "full", fetched, deleted,
                      rows, mark, time.monotonic() - started)


def _key_match(pk: list[str], left: str, right: str) -> str:
    return " and ".join(f"{left}.{quote_ident(c)} = {right}.{quote_ident(c)}" for c in pk)


class _WarehouseTarget:
    """Upserts in one transaction with the watermark: all or nothing."""

    def __init__(self, wb: "Workbench", warehouse: str, table: str):
        self.wb, self.warehouse, self.table = wb, warehouse, table
        self.label = f"{warehouse}.{table}"

    def __enter__(self):
        self._ctx = warehouse_writer(self.wb, self.warehouse)
        self.con = self._ctx.__enter__()
        self.con.execute(f"create table if not exists {STATE_TABLE} (source varchar, source_table varchar, "
                         "target varchar, watermark varchar, synced_at timestamptz, "
                         "primary key (source, source_table, target))")
        self.con.execute("BEGIN TRANSACTION")
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.con.execute("ROLLBACK")
        finally:
            self._ctx.__exit__(exc_type, exc, tb)

    def state(self, source: str, table: str) -> str | None:
        row = self.con.execute(f"select watermark from {STATE_TABLE} where source = ? and source_table = ? "
                               "and target = ?", [source, table, self.table]).fetchone()
        return row[0] if row else None

    def exists(self) -> bool:
        return bool(self.con.execute("select count(*) from duckdb_tables() where table_name = ? and "
                                     "database_name = current_database()", [self.table]).fetchone()[0])

    def apply(self, reader: pa.RecordBatchReader, keys, pk: list[str], incremental: bool) -> tuple[int, int, int]:
        t = quote_ident(self.table)
        con = self.con
        con.register("_wb_new", reader)
        if not incremental:
            con.execute(f"create or replace table {t} as select * from _wb_new")
            fetched = con.execute(f"select count(*) from {t}").fetchone()[0]
            deleted = 0
        else:
            con.execute("create or replace temp table _wb_batch as select * from _wb_new")
            fetched = con.execute("select count(*) from _wb_batch").fetchone()[0]
            con.execute(f"delete from {t} where exists (select 1 from _wb_batch n where {_key_match(pk, t, 'n')})")
            con.execute(f"insert into {t} by name select * from _wb_batch")
            deleted = 0
            if keys is not None:
                con.register("_wb_keys", keys())
                con.execute("create or replace temp table _wb_keyset as select * from _wb_keys")
                before = con.execute(f"select count(*) from {t}").fetchone()[0]
                con.execute(f"delete from {t} where not exists (select 1 from _wb_keyset k where {_key_match(pk, t, 'k')})")
                deleted = before - con.execute(f"select count(*) from {t}").fetchone()[0]
                con.unregister("_wb_keys")
            con.execute("drop table if exists _wb_batch")
        con.unregister("_wb_new")
        rows = con.execute(f"select count(*) from {t}").fetchone()[0]
        return fetched, deleted, rows

    def commit(self, source: str, table: str, watermark: str | None) -> None:
        self.con.execute(f"insert or replace into {STATE_TABLE} values (?, ?, ?, ?, now())",
                         [source, table, self.table, watermark])
        self.con.execute("COMMIT")


class _LakeTarget:
    """A Parquet snapshot in the lake, replaced by rename; the watermark follows it."""

    def __init__(self, wb: "Workbench", to: str, source: str, table: str):
        lakes = [n for n, s in wb.config.sources.items() if s.role == "lake"]
        name = lakes[0] if to == "lake" and len(lakes) == 1 else to
        if name not in lakes:
            raise UsageError(f"--to {to!r}: name a lake source ({', '.join(lakes) or 'none configured'})")
        root = Path(wb.config.sources[name].url)
        self.dir = root / source
        self.path = self.dir / f"{table}.parquet"
        self.state_path = self.dir / f".{table}.sync.json"
        self.label = str(self.path)
        self.table = table

    def __enter__(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.con = extensions.connect()
        self.tmp = None
        return self

    def __exit__(self, exc_type, exc, tb):
        self.con.close()
        if self.tmp and os.path.exists(self.tmp):
            os.unlink(self.tmp)

    def state(self, source: str, table: str) -> str | None:
        if not self.state_path.exists():
            return None
        return json.loads(self.state_path.read_text()).get("watermark")

    def exists(self) -> bool:
        return self.path.exists()

    def apply(self, reader, keys, pk, incremental) -> tuple[int, int, int]:
        con = self.con
        con.register("_wb_new", reader)
        con.execute("create temp table _wb_batch as select * from _wb_new")
        fetched = con.execute("select count(*) from _wb_batch").fetchone()[0]
        deleted = 0
        if incremental:
            old = f"read_parquet({quote_literal(self.path.as_posix())})"
            con.execute(f"create temp table _wb_snapshot as select * from {old} o "
                        f"where not exists (select 1 from _wb_batch n where {_key_match(pk, 'o', 'n')}) "
                        "union all by name select * from _wb_batch")
            if keys is not None:
                con.register("_wb_keys", keys())
                before = con.execute("select count(*) from _wb_snapshot").fetchone()[0]
                con.execute(f"delete from _wb_snapshot where not exists (select 1 from _wb_keys k where "
                            f"{_key_match(pk, '_wb_snapshot', 'k')})")
                deleted = before - con.execute("select count(*) from _wb_snapshot").fetchone()[0]
            source = "_wb_snapshot"
        else:
            source = "_wb_batch"
        fd, self.tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{self.table}.", suffix=".parquet.part")
        os.close(fd)
        con.execute(f"copy (select * from {source}) to {quote_literal(self.tmp)} (format parquet, compression zstd)")
        rows = con.execute(f"select count(*) from {source}").fetchone()[0]
        return fetched, deleted, rows

    def commit(self, source: str, table: str, watermark: str | None) -> None:
        os.replace(self.tmp, self.path)
        self.tmp = None
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{table}.sync.", suffix=".part")
        with os.fdopen(fd, "w") as f:
            json.dump({"source": source, "table": table, "watermark": watermark,
                       "synced_at": dt.datetime.now(dt.timezone.utc).isoformat()}, f)
        os.replace(tmp, self.state_path)
