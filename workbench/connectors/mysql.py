"""MySQL / MariaDB through PyMySQL: unbuffered rows into typed Arrow batches.

Read-only is the session characteristic plus an explicit READ ONLY transaction (the
session setting also catches DDL's implicit commit); the statement timeout is the
server's own (``max_statement_time`` on MariaDB, ``max_execution_time`` on MySQL), and
Ctrl-C sends ``KILL QUERY`` from a second connection.

Fingerprint (per table, content-based up to a 32-bit checksum): ``CHECKSUM TABLE``, the
server's own checksum of every row's content (a sum of per-row CRC32s: order-
independent, duplicates add), plus the table's columns (names, types, defaults) from
``information_schema.COLUMNS``, through the source's read-only path. Not
``information_schema.TABLES.UPDATE_TIME``: InnoDB keeps it in memory only (NULL after a
restart, so "unknown" at best) and it has one-second resolution, so two commits in the
same second leave it equal. The checksum reads every row (about 1.5x a ``count(*)`` on
a million rows, ``bench/fingerprints.py``); in exchange the same rows written again
give the same token. Its one weakness is its width: a changed row has a one in 2^32
chance of leaving the sum equal (a CRC never misses a change of up to 32 bits).
Views: ``None``.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.engine import make_url

from ..arrow.rows import batches_from_cursor
from ..errors import QueryError
from ..secrets import one_line, scrub
from ..sqltext import prepare, quote_literal
from .base import Attachable, Fingerprintable, Source


def mysql_connect_args(url: str) -> dict[str, Any]:
    u = make_url(url)
    kw: dict[str, Any] = {"host": u.host or "localhost", "port": u.port or 3306, "user": u.username or "root",
                          "password": str(u.password) if u.password is not None else "",
                          "database": u.database, "charset": "utf8mb4", "connect_timeout": 10}
    return kw


def _mysql_hint(desc) -> pa.DataType | None:
    from pymysql.constants import FIELD_TYPE as F

    name, code, _, length, _, scale, _ = desc
    if code in (F.TINY,) and length == 1:
        return pa.bool_()  # BOOLEAN is TINYINT(1)
    if code in (F.TINY, F.SHORT, F.LONG, F.LONGLONG, F.INT24, F.YEAR):
        return pa.int64()
    if code in (F.FLOAT, F.DOUBLE):
        return pa.float64()
    if code in (F.DECIMAL, F.NEWDECIMAL):
        precision = (length or 0) - 1 - (1 if scale else 0)
        if 0 < precision <= 38 and scale is not None and scale <= precision:
            return pa.decimal128(precision, scale)
        return None
    if code == F.DATE:
        return pa.date32()
    if code == F.DATETIME:
        return pa.timestamp("us")
    if code == F.TIMESTAMP:
        return pa.timestamp("us", tz="UTC")  # stored as an instant; the session zone is UTC
    if code in (F.VARCHAR, F.VAR_STRING, F.STRING, F.JSON, F.ENUM, F.SET):
        return pa.string()
    return None


class MysqlSource(Source, Attachable, Fingerprintable):
    content_based = True
    kind = "mysql"
    paramstyle = "pyformat"
    dialect = "mysql"
    extension = "mysql"

    def _open(self):
        import pymysql

        try:
            conn = pymysql.connect(**mysql_connect_args(self.url), autocommit=True)
        except pymysql.Error as e:
            raise self.unreachable(e) from None
        conn.is_mariadb = "mariadb" in conn.get_server_info().lower()
        with conn.cursor() as c:
            c.execute("SET time_zone = '+00:00'")  # TIMESTAMP values arrive as UTC instants
        return conn

    def _alive(self, conn) -> bool:
        return bool(conn.open)

    def _kill(self, thread_id: int) -> None:
        """Cancel the running statement from a second connection (KILL QUERY)."""
        import pymysql

        try:
            other = pymysql.connect(**mysql_connect_args(self.url))
            with other.cursor() as c:
                c.execute("KILL QUERY %s", [thread_id])
            other.close()
        except pymysql.Error:
            pass

    def _timeout_sql(self, conn, seconds: float) -> tuple[str, list]:
        if conn.is_mariadb:
            return "SET SESSION max_statement_time = %s", [float(seconds)]
        return "SET SESSION max_execution_time = %s", [int(seconds * 1000)]

    def batches(self, query, params, *, timeout):
        import pymysql
        from pymysql.cursors import SSCursor

        sql = prepare(query, params, self.paramstyle, self.dialect)
        with self._connection() as (conn, state):
            try:
                with conn.cursor() as setup:
                    if timeout:
                        setup.execute(*self._timeout_sql(conn, timeout))
                    if self.read_only:
                        # Session characteristic and explicit transaction: DDL's implicit
                        # commit would otherwise leave the read-only transaction.
                        setup.execute("SET SESSION TRANSACTION READ ONLY")
                        setup.execute("START TRANSACTION READ ONLY")
                    else:
                        setup.execute("SET SESSION TRANSACTION READ WRITE")
            except pymysql.Error as e:
                state["broken"] = True
                raise self.unreachable(e) from None
            cur = conn.cursor(SSCursor)  # unbuffered: rows stream, memory stays bounded
            done = False
            try:
                try:
                    cur.execute(sql, dict(params) if params else None)
                except KeyboardInterrupt:
                    self._kill(conn.thread_id())
                    state["broken"] = True
                    raise
                if cur.description is None:
                    yield pa.RecordBatch.from_pydict({"rows_affected": [cur.rowcount]})
                    done = True
                    return
                names = [d[0] for d in cur.description]
                hints = [_mysql_hint(d) for d in cur.description]
                yield from batches_from_cursor(names, cur.fetchmany, hints)
                done = True
            except pymysql.err.OperationalError as e:
                code = e.args[0] if e.args else None
                if code in (1792, 1290):
                    raise self.read_only_error(str(e.args[1] if len(e.args) > 1 else e)) from None
                if code in (1969, 3024):
                    raise self.timeout_error(timeout) from None
                if code == 1317:
                    raise self.cancelled_error() from None
                if code in (2006, 2013, 2003):
                    state["broken"] = True
                    raise self.unreachable(e) from None
                raise self._error(e) from None
            except pymysql.err.ProgrammingError as e:
                code = e.args[0] if e.args else None
                if code == 1064 and self.read_only and ";" in query.strip().rstrip(";"):
                    raise self.read_only_error("one statement per call") from None
                raise self._error(e) from None
            except pymysql.Error as e:
                raise self._error(e) from None
            finally:
                if not done:
                    # An unbuffered result left half-read blocks the connection: start afresh.
                    state["broken"] = True
                else:
                    try:
                        cur.close()
                        with conn.cursor() as c:
                            c.execute("ROLLBACK")
                            if timeout:
                                c.execute(*self._timeout_sql(conn, 0))
                    except Exception:  # noqa: BLE001
                        state["broken"] = True

    def _error(self, e) -> QueryError:
        msg = e.args[1] if len(e.args) > 1 else str(e)
        code = e.args[0] if e.args else None
        # 1205 lock wait timeout, 1213 deadlock: the same statement may pass later
        return QueryError(f"{self.name}: {scrub(one_line(msg), self.secrets)}", retryable=code in (1205, 1213))

    # -- capabilities -------------------------------------------------------------------
    def attach_sql(self, alias: str) -> str:
        a = mysql_connect_args(self.url)
        parts = [f"host={a['host']}", f"port={a['port']}", f"user={a['user']}"]
        if a["password"]:
            parts.append(f"passwd={a['password']}")
        if a["database"]:
            parts.append(f"database={a['database']}")
        ro = ", READ_ONLY" if self.read_only else ""
        return f"ATTACH {quote_literal(' '.join(parts))} AS {alias} (TYPE mysql{ro})"

    def hub_param_problem(self, params):
        """DuckDB's mysql scanner (1.5.5) pushes filter values into the MySQL query as
        literals with quotes doubled but backslashes kept, and MySQL reads a backslash as
        an escape: ``\\' or 1=1 -- `` would become SQL. Until the scanner escapes them,
        such values must be bound by the MySQL driver itself (``source=...``)."""
        risky = [k for k, v in params.items() if isinstance(v, str) and "\\" in v]
        if not risky:
            return None
        return (f"parameter {risky[0]!r} holds a backslash, which DuckDB's mysql scanner cannot pass to "
                f"{self.name!r} safely; run this query on the source itself (source={self.name!r}), where the "
                "driver binds it")

    def fingerprint(self, table: str | None = None) -> str | None:
        """Token of ``table`` (``db.table`` or a table of the URL's database), or of every
        base table of that database when ``None``; ``None`` for a view or a missing table."""
        import hashlib
        import json

        from ..arrow.rows import collect
        from ..errors import WorkbenchError

        def rows(query: str, **params: Any) -> list[dict]:
            return collect(self.batches(query, params, timeout=600)).to_pylist()

        try:
            if table is None:
                names = [(r["schema"], r["table"]) for r in rows(_BASE_TABLES)]
            else:
                schema, _, name = table.rpartition(".")
                names = [(schema or None, name)]
            parts = []
            for schema, name in names:
                found = rows(_TABLE_TYPE, table=name, schema=schema)
                if not found or found[0]["type"] != "BASE TABLE":
                    return None
                schema = found[0]["schema"]
                ref = f"{self.quote(schema)}.{self.quote(name)}"
                checksum = [r for r in rows(f"CHECKSUM TABLE {ref}")][0]
                total = list(checksum.values())[-1]
                if total is None:
                    return None
                cols = [list(r.values()) for r in rows(_COLUMN_SIGNATURE, table=name, schema=schema)]
                parts.append([schema, name, cols, total])
        except WorkbenchError:
            return None  # unreachable, no rights, ...: unknown
        body = json.dumps(parts, default=str).encode()
        return "mysql:" + hashlib.blake2b(body, digest_size=20).hexdigest()

    def catalog_tables(self):
        return self.frame(_TABLES)

    def catalog_columns(self, schema, table):
        return self.frame(_COLUMNS, table=table, schema=schema)

    def primary_key(self, table: str) -> list[str]:
        return [str(v) for v in self.frame(_PRIMARY_KEY, table=table.split(".")[-1])["name"]]


_TABLES = ("select table_schema as `schema`, table_name as `table`, "
           "case table_type when 'VIEW' then 'view' else 'table' end as kind, table_rows as `rows` "
           "from information_schema.tables where table_schema = database() order by 2")
_COLUMNS = ("select column_name as `column`, column_type as type, is_nullable = 'YES' as nullable, "
            "ordinal_position as position from information_schema.columns "
            "where table_name = :table and table_schema = coalesce(:schema, database()) order by ordinal_position")
_PRIMARY_KEY = ("select column_name as name from information_schema.key_column_usage where table_schema = database() "
                "and table_name = :table and constraint_name = 'PRIMARY' order by ordinal_position")
_BASE_TABLES = ("select table_schema as `schema`, table_name as `table` from information_schema.tables "
                "where table_schema = database() and table_type = 'BASE TABLE' order by table_name")
_TABLE_TYPE = ("select table_schema as `schema`, table_type as type from information_schema.tables "
               "where table_name = :table and table_schema = coalesce(:schema, database())")
_COLUMN_SIGNATURE = ("select column_name, column_type, is_nullable, column_default, extra from information_schema.columns "
                     "where table_name = :table and table_schema = :schema order by ordinal_position")
