"""PostgreSQL: binary COPY decoded into Arrow by DuckDB (:mod:`.fetch`), READ ONLY.

Fingerprint (per table, change detection): ``count(*)`` and the sum of a 64-bit hash of
each visible row version's system columns, ``hashtextextended(tableoid || ctid || xmin)``,
plus the table's relfilenode and its columns (names, types, ``attmissingval``: an
``ADD COLUMN ... DEFAULT`` changes what rows read without writing them), read in one
READ ONLY transaction on a connection of its own. Every INSERT and UPDATE writes a
row version stamped with a transaction id never used before, a DELETE lowers the
count, TRUNCATE and rewrites (VACUUM FULL, CLUSTER, ALTER TYPE) change the
relfilenode: a committed change always moves the token, and an aborted transaction,
whose row versions are invisible, does not. Not the statistics counters of
``pg_stat_user_tables``: they count aborted transactions (harmless), but they are
reset by a crash or ``pg_stat_reset()`` and can climb back to the value they had
(an unchanged token for changed data), and since PostgreSQL 15 another backend sees a
commit only after the writer flushes its statistics (up to a second or more later).
Nor ``pg_current_wal_lsn()``: cluster-wide (changes for any database's writes) and blind
to UNLOGGED tables. The token is not content-equal: the same rows written again get
new xmins, so it changes (fine for a source the pipeline reads). Cost: one scan of the
table's heap without reading the columns, about 250 ms per million rows (6x a
``count(*)``; ``bench/fingerprints.py``). Views and foreign tables: ``None``.
"""

from __future__ import annotations

from ...errors import ParameterError, QueryCancelledError, QueryError, QueryTimeoutError, ReadOnlySourceError, SourceError, WorkbenchError
from ...secrets import scrub
from ...sqltext import prepare, quote_literal
from ..base import Attachable, Fingerprintable, Source
from . import catalog
from .conninfo import conninfo


class PostgresSource(Source, Attachable, Fingerprintable):
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

    def fingerprint(self, table: str | None = None) -> str | None:
        """Token of ``table`` (``schema.table`` or a name on the search path), or of every
        table of the database when ``None``; ``None`` for a view or a missing table."""
        import hashlib
        import json

        import psycopg
        from psycopg import sql

        dsn, _ = conninfo(self.url, read_only=True, timeout=FINGERPRINT_TIMEOUT, application_name="workbench-fingerprint")
        try:
            with psycopg.connect(dsn) as conn:
                conn.read_only = True
                with conn.cursor() as cur:
                    if table is None:
                        cur.execute(catalog.ALL_TABLES_OIDS)
                        oids = [r[0] for r in cur.fetchall()]
                    else:
                        cur.execute(catalog.REGCLASS, [_regclass_text(table)])
                        row = cur.fetchone()
                        if (row is None or row[0] is None) and table != table.lower():
                            cur.execute(catalog.REGCLASS, [_regclass_text(table.lower())])
                            row = cur.fetchone()
                        if row is None or row[0] is None:
                            return None
                        oids = [row[0]]
                    parts = []
                    for oid in oids:
                        cur.execute(catalog.RELATION, [oid])
                        rel = cur.fetchone()
                        if rel is None or rel[2] not in ("r", "p", "m"):
                            return None
                        nsp, name = rel[0], rel[1]
                        cur.execute(sql.SQL(catalog.ROW_VERSIONS).format(sql.Identifier(nsp, name)))
                        n, total = cur.fetchone()
                        parts.append([*rel, n, total])
                conn.rollback()
        except psycopg.Error:
            return None  # unreachable, no rights, ...: unknown
        body = json.dumps(parts, default=str).encode()
        return "postgresql:" + hashlib.blake2b(body, digest_size=20).hexdigest()


#: seconds a fingerprint's statements may run
FINGERPRINT_TIMEOUT = 600


def _regclass_text(table: str) -> str:
    """``schema.table`` as the text ``to_regclass`` parses, each part quoted as given."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))
