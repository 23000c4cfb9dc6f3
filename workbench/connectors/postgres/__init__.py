"""PostgreSQL: binary COPY decoded into Arrow by DuckDB (:mod:`.fetch`), READ ONLY."""

from __future__ import annotations

from ...errors import ParameterError, QueryCancelledError, QueryError, QueryTimeoutError, ReadOnlySourceError, SourceError, WorkbenchError
from ...secrets import scrub
from ...sqltext import prepare, quote_literal
from ..base import Attachable, Source
from . import catalog
from .conninfo import conninfo


class PostgresSource(Source, Attachable):
    """PostgreSQL through :mod:`.fetch`: binary COPY decoded into Arrow by
    DuckDB's postgres extension, split over several connections for plain table scans,
    in READ ONLY transactions, with statement timeout and server-side cancellation."""

    kind = "postgresql"
    paramstyle = "pyformat"
    extension = "postgres"

    def batches(self, query, params, *, timeout):
        from ...arrow.dtypes import normalize
        from . import fetch

        sql = prepare(query, params, self.paramstyle, self.dialect)
        try:
            for batch in fetch.read_arrow_batches(self.url, sql, params, read_only=self.read_only, timeout=timeout):
                yield normalize(batch)
        except ReadOnlySourceError as e:
            raise self.read_only_error(str(e)) from None
        except SourceError as e:
            raise SourceError(f"source {self.name!r}: {scrub(str(e), self.secrets)}") from None
        except QueryTimeoutError:
            raise self.timeout_error(timeout) from None
        except QueryCancelledError:
            raise self.cancelled_error() from None
        except ParameterError as e:
            raise ParameterError(f"{self.name}: {scrub(str(e), self.secrets)}") from None
        except WorkbenchError as e:
            if self.read_only and "multiple commands" in str(e):
                raise self.read_only_error("one statement per call") from None
            raise QueryError(f"{self.name}: {scrub(str(e), self.secrets)}", retryable=e.retryable) from None

    def ping(self) -> str | None:
        import psycopg

        try:
            dsn, _ = conninfo(self.url, read_only=True, timeout=None, application_name="workbench")
            psycopg.connect(dsn).close()
            return None
        except psycopg.Error as e:
            return self.describe_error(e)

    # -- capabilities -------------------------------------------------------------------
    def attach_sql(self, alias: str) -> str:
        ro = ", READ_ONLY" if self.read_only else ""
        dsn, _ = conninfo(self.url, read_only=self.read_only, timeout=None, application_name="workbench-hub")
        return f"ATTACH {quote_literal(dsn)} AS {alias} (TYPE postgres{ro})"

    def catalog_tables(self):
        return self.frame(catalog.TABLES)

    def catalog_columns(self, schema, table):
        return self.frame(catalog.COLUMNS, table=table, schema=schema)

    def primary_key(self, table: str) -> list[str]:
        return [str(v) for v in self.frame(catalog.PRIMARY_KEY, table=table)["name"]]
