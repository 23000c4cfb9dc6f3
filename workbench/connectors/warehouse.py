"""The warehouse: a DuckDB file, read by the hub READ_ONLY, written only by sync and load.

DuckDB lets a process write a file only when no other process has it open, so the hub
attaches the file only while its queries run (``attach_per_query``), and a writer that
finds the file locked says which process to close.

Fingerprint (per table, content-based): DuckDB has no per-table change counter, so the
table's rows are hashed in DuckDB itself, ``count(*)`` and ``sum(hash(t))`` over the row
as a struct (order-independent; a sum, not a XOR, so duplicate rows do not cancel),
plus the columns' names and types and the DuckDB version (whose ``hash`` may change).
The same rows written again give the same token, which is what lets the pipeline skip
the dependants of a task that re-ran but wrote the same data. The file is attached
READ_ONLY on a private connection for the one query and let go at once, as the hub
does, so fingerprinting never locks a writer out; while a writer holds the file the
answer is ``None``. When this process's hub is open, the queries go through it (one DuckDB instance per
file in a process: a second one closing its descriptor would drop the first's file
locks); both ways give the same token. A token is remembered under the identity of the file and its
``.wal`` (:mod:`workbench.storage.digests`: reused only while both are unchanged and
settled), so asking again for an unchanged warehouse costs two stats.
Cost: a scan of the table, about 35 ms per million rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator


from ..config import SourceConfig
from ..config.urls import database
from ..errors import SourceError, UsageError
from ..sqltext import prepare, quote_ident, quote_literal
from ..storage.digests import identity, settled
from .base import Attachable, Fingerprintable, HubBacked, Source

if TYPE_CHECKING:
    import duckdb

_HUB_TABLES = (
    "select database_name as source, schema_name as schema, table_name as \"table\", 'table' as kind, "
    "estimated_size as rows from duckdb_tables() where database_name = :db "
    "union all select database_name, schema_name, view_name, 'view', null from duckdb_views() "
    "where database_name = :db and not internal order by 2, 3"
)
HUB_COLUMNS = (
    "select column_name as \"column\", data_type as type, is_nullable as nullable, "
    "column_index as position from duckdb_columns() "
    "where database_name = :db and table_name = :table and schema_name = coalesce(:schema, 'main') "
    "order by column_index"
)


_memo: dict[tuple, str] = {}
_memo_lock = threading.Lock()


def _stats(files) -> list[os.stat_result | None] | None:
    """The stat of each file (``None`` for one that does not exist); ``None`` if the first is missing."""
    out = []
    for f in files:
        try:
            out.append(os.stat(f))
        except FileNotFoundError:
            out.append(None)
        except OSError:
            return None
    return out if out[0] is not None else None


class WarehouseSource(HubBacked, Source, Attachable, Fingerprintable):
    content_based = True
    kind = "duckdb"
    attach_per_query = True

    def __init__(self, cfg: SourceConfig):
        super().__init__(cfg)
        db = database(cfg.url)
        self.path = Path(db) if db and db != ":memory:" else None

    def attach_sql(self, alias: str) -> str | None:
        if self.path is None:
            return None
        if not os.path.exists(self.path):
            raise SourceError(f"{self.path} does not exist; run `make demo` or `workbench sync` to build it")
        return f"ATTACH {quote_literal(str(self.path))} AS {alias} (READ_ONLY)"

    def catalog_tables(self):
        return self.frame(_HUB_TABLES, db=self.name).drop(columns=["source"])

    def catalog_columns(self, schema, table):
        return self.frame(HUB_COLUMNS, db=self.name, table=table, schema=schema)

    def fingerprint(self, table: str | None = None) -> str | None:
        """Content token of ``table`` (``schema.table`` or a bare name in ``main``), or of
        every table when ``None``; ``None`` when the file, the table or a lock is in the way."""
        if self.path is None:
            return None
        files = (self.path, Path(f"{self.path}.wal"))
        now = time.time_ns()
        before = _stats(files)
        if before is None:
            return None
        key = (str(self.path), table, tuple(identity(st) if st else None for st in before))
        with _memo_lock:
            if key in _memo:
                return _memo[key]
        token = self._content_token(table)
        after = _stats(files)
        if token is None or after is None or [identity(s) if s else None for s in after] != list(key[2]):
            return None  # written while we hashed: unknown
        if all(st is None or settled(st, now) for st in before):
            with _memo_lock:
                if len(_memo) > 10_000:
                    _memo.clear()
                _memo[key] = token
        return token

    def _content_token(self, table: str | None) -> str | None:
        import duckdb

        from ..errors import WorkbenchError

        if not self.path.exists():
            return None
        hub = self._hub
        if hub is not None and hub.built:
            # this process's hub is open: ask it (it attaches the file for the query and
            # lets go after), rather than a second DuckDB instance opening the same file
            from ..arrow.rows import collect

            def rows(sql: str, params: dict) -> list[tuple]:
                return [tuple(r.values()) for r in collect(
                    hub.batches(sql, params, timeout=None, source=self)).to_pylist()]

            try:
                return self._hash_tables(rows, quote_ident(self.name), self.name, table)
            except WorkbenchError:
                return None
        from .. import duck

        con = duck.connect()
        try:
            try:
                con.execute(f"ATTACH {quote_literal(str(self.path))} AS fp (READ_ONLY)")
            except duckdb.Error:
                return None  # locked by a writer, or not a DuckDB file: unknown
            return self._hash_tables(lambda sql, params: con.execute(prepare(sql, params, "dollar"), params).fetchall(),
                                     "fp", "fp", table)
        except duckdb.Error:
            return None
        finally:
            con.close()

    @staticmethod
    def _hash_tables(rows, alias: str, db: str, table: str | None) -> str | None:
        """The token from ``rows(sql, params)`` (``:name`` placeholders) over the file attached as ``alias``
        (catalog name ``db``); every value comes back as text or int, so the hub's path
        and a private connection give the same token."""
        import duckdb

        if table is None:
            names = rows("select schema_name, table_name from duckdb_tables() where database_name = :db "
                         "order by 1, 2", {"db": db})
        else:
            schema, _, name = table.rpartition(".")
            names = [(schema or "main", name)]
        parts = []
        for schema, name in names:
            found = rows(  # DuckDB's names are case-insensitive
                "select schema_name, table_name, column_name, data_type from duckdb_columns() "
                "where database_name = :db and lower(schema_name) = lower(:schema) "
                "and lower(table_name) = lower(:name) order by column_index", {"db": db, "schema": schema, "name": name})
            if not found:
                return None  # no such table or view
            schema, name = found[0][0], found[0][1]
            cols = [[r[2], r[3]] for r in found]
            ref = f"{alias}.{quote_ident(schema)}.{quote_ident(name)}"
            [(n, total)] = rows(f"select count(*)::varchar, sum(hash(t))::varchar from {ref} t", {})
            parts.append([schema, name, cols, n, total])
        body = json.dumps([duckdb.__version__, parts]).encode()
        return "duckdb:" + hashlib.blake2b(body, digest_size=20).hexdigest()

    @contextmanager
    def writer(self) -> Iterator["duckdb.DuckDBPyConnection"]:
        """A read-write connection to the file; the caller makes the hub let go first."""
        import duckdb

        from .. import duck

        if self.path is None:
            raise UsageError(f"warehouse {self.name!r} has no file to write into; give its url a path")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duck.connect(str(self.path))
        except duckdb.IOException as e:
            if "lock" in str(e).lower():
                raise SourceError(
                    f"warehouse {self.name!r} ({self.path}) is open in another process (a notebook kernel?); "
                    "close it there (wb.reset()) or wait for it to finish, then retry"
                ) from None
            raise SourceError(f"cannot open warehouse {self.name!r} ({self.path}) for writing: {e}") from None
        try:
            yield con
        finally:
            con.close()
