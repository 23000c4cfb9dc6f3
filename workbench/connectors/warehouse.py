"""The warehouse: a DuckDB file, read by the hub READ_ONLY, written only by sync and load.

DuckDB lets a process write a file only when no other process has it open, so the hub
attaches the file only while its queries run (``attach_per_query``), and a writer that
finds the file locked says which process to close.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator


from ..config import SourceConfig
from ..config.urls import database
from ..errors import SourceError, UsageError
from ..sqltext import quote_literal
from .base import Attachable, HubBacked, Source

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


class WarehouseSource(HubBacked, Source, Attachable):
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
