"""Any other SQLAlchemy URL (Trino, Snowflake, BigQuery, ...): the way to outgrow one machine.

The catalog comes from SQLAlchemy's inspector; read-only is asked of the connection
where the dialect supports it, otherwise give workbench a read-only database role.

Fingerprint: always ``None`` (unknown, so "changed"). SQLAlchemy offers no portable
signal that a table's data changed, and the cheap ones a dialect has (a warehouse's
``last_modified`` metadata, a snapshot id) each need their own honest reading: a
third-party kind registered under ``workbench.connectors`` can implement
:class:`~workbench.connectors.base.Fingerprintable` itself.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ..arrow.rows import batches_from_cursor
from ..config import SourceConfig
from ..sqltext import check
from .base import Fingerprintable, Source


class GenericSource(Source, Fingerprintable):
    """Any other SQLAlchemy URL. Read-only is asked of the connection where the dialect
    supports it; for the rest, give workbench a read-only database role."""

    kind = "generic"
    paramstyle = "named"

    def __init__(self, cfg: SourceConfig):
        super().__init__(cfg)
        self._engine = None

    def engine(self):
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(self.url, pool_pre_ping=True)
        return self._engine

    def batches(self, query, params, *, timeout):
        from sqlalchemy import exc, text

        check(query, params)
        try:
            conn = self.engine().connect()
        except exc.DBAPIError as e:
            raise self.unreachable(e.orig or e) from None
        try:
            opts: dict[str, Any] = {"stream_results": True}
            if self.read_only:
                opts["postgresql_readonly"] = True
            result = conn.execution_options(**opts).execute(text(query), dict(params))
            if not result.returns_rows:
                yield pa.RecordBatch.from_pydict({"rows_affected": [result.rowcount]})
                return
            names = list(result.keys())
            yield from batches_from_cursor(names, lambda n: [tuple(r) for r in result.fetchmany(n)],
                                           [None] * len(names))
        except exc.DBAPIError as e:
            raise self.query_error(e.orig or e) from None
        finally:
            conn.rollback()
            conn.close()

    def fingerprint(self, table: str | None = None) -> str | None:
        """Unknown: see the module docstring."""
        return None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


