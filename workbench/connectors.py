"""Sources: one class per kind of database, each answering SQL in its own dialect.

A source turns ``(query with :name placeholders, params)`` into a stream of Arrow
record batches under the project's rules:

- read-only unless the config says ``read_only = false``, enforced by the database
  itself (``mode=ro`` for SQLite, a READ ONLY transaction for PostgreSQL and MariaDB,
  ``READ_ONLY`` attach for DuckDB), never by parsing the SQL;
- parameters bound by the driver, one statement per call;
- a statement timeout, and Ctrl-C cancelling the statement on the server;
- errors in the database's own words, with no password anywhere.

The warehouse (DuckDB) and the lake are answered by the hub (:mod:`workbench.hub`),
which is where they live; the classes here are the OLTP kinds plus a generic
SQLAlchemy path for anything else (Trino, Snowflake, ...).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import pyarrow as pa
from sqlalchemy.engine import make_url

from . import binding
from .config import SourceConfig
from .errors import (
    QueryCancelledError,
    QueryError,
    QueryTimeoutError,
    ReadOnlySourceError,
    SourceError,
)
from .rows import batches_from_cursor


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    if "://" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def secrets_of(url: str) -> list[str]:
    """The secret strings inside ``url`` (its password), to scrub from any message."""
    if "://" not in url:
        return []
    try:
        pw = make_url(url).password
    except Exception:
        return []
    return [str(pw)] if pw else []


def scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def kind_of(url: str) -> str:
    """``sqlite``, ``postgresql``, ``mysql``, ``duckdb``, ``lake`` or ``generic``."""
    if "://" not in url:
        return "lake"
    backend = make_url(url).get_backend_name()
    if backend in ("sqlite", "postgresql", "mysql", "mariadb", "duckdb"):
        return "mysql" if backend == "mariadb" else backend
    return "generic"


class Source:
    """A named source from the config. Subclasses implement :meth:`batches`."""

    kind = "generic"
    paramstyle = "named"

    def __init__(self, cfg: SourceConfig):
        self.cfg = cfg
        self.name = cfg.name
        self.role = cfg.role
        self.read_only = cfg.read_only
        self.url = cfg.url
        self.secrets = secrets_of(cfg.url)
        self._lock = threading.Lock()
        self._conn = None
        self._in_use = False

    def __repr__(self) -> str:
        ro = "read-only" if self.read_only else "writable"
        return f"<{type(self).__name__} {self.name} {self.role} {redact_url(self.url)} {ro}>"

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    # -- to implement -------------------------------------------------------------
    def batches(self, query: str, params: Mapping[str, Any], *, timeout: float | None) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def ping(self) -> str | None:
        """``None`` when reachable, else the reason in one line."""
        try:
            for _ in self.batches("select 1", {}, timeout=10):
                pass
            return None
        except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
            return self.describe_error(e)

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            self._close_quietly(conn)

    # -- connections ------------------------------------------------------------------
    def _open(self):
        raise NotImplementedError

    def _alive(self, conn) -> bool:
        return True

    @staticmethod
    def _close_quietly(conn) -> None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass

    @contextmanager
    def _connection(self):
        """The cached connection, or a private one while the cached one is busy.

        Results stream lazily, so a second query can start before the first is read to
        the end (a sync reads keys while rows are still flowing), and a result may be
        read on another thread (DuckDB's Arrow scan): no lock is held while streaming.
        """
        with self._lock:
            private = self._in_use
            if not private:
                if self._conn is not None and not self._alive(self._conn):
                    self._close_quietly(self._conn)
                    self._conn = None
                self._in_use = True
        state = {"broken": False}
        conn = None
        try:
            if private:
                conn = self._open()
            else:
                if self._conn is None:
                    self._conn = self._open()
                conn = self._conn
            yield conn, state
        finally:
            if private:
                if conn is not None:
                    self._close_quietly(conn)
            else:
                with self._lock:
                    self._in_use = False
                    if state["broken"] and self._conn is not None:
                        self._close_quietly(self._conn)
                        self._conn = None

    # -- helpers ----------------------------------------------------------------------
    def describe_error(self, e: BaseException) -> str:
        return scrub(one_line(str(e)), self.secrets)

    def read_only_error(self, detail: str) -> ReadOnlySourceError:
        return ReadOnlySourceError(
            f"source {self.name!r} is read-only ({scrub(one_line(detail), self.secrets)}); "
            f"write into the warehouse with wb.load(...) or `workbench sync`, or set "
            f"read_only = false under [sources.{self.name}] if this database is yours to change"
        )

    def query_error(self, e: BaseException) -> QueryError:
        return QueryError(f"{self.name}: {self.describe_error(e)}")

    def unreachable(self, e: BaseException) -> SourceError:
        return SourceError(
            f"cannot connect to source {self.name!r} at {self.redacted_url}: {self.describe_error(e)}; "
            "check that the server runs and the URL in workbench.toml (or its ${VAR}) is right"
        )


# --------------------------------------------------------------------------- SQLite
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


class SqliteSource(Source):
    kind = "sqlite"
    paramstyle = "named"

    def __init__(self, cfg: SourceConfig):
        super().__init__(cfg)
        db = make_url(cfg.url).database or ""
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
        sql = binding.prepare(query, params, self.paramstyle)
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
                if "interrupted" in msg:
                    if timed_out:
                        raise QueryTimeoutError(
                            f"{self.name}: the statement ran longer than {timeout:g} s and was cancelled; "
                            "narrow it, or raise timeout=... (or statement_timeout in workbench.toml)"
                        ) from None
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


# ----------------------------------------------------------------------- PostgreSQL
class PostgresSource(Source):
    """PostgreSQL through :mod:`workbench.pgfetch`: binary COPY decoded into Arrow by
    DuckDB's postgres extension, split over several connections for plain table scans,
    in READ ONLY transactions, with statement timeout and server-side cancellation."""

    kind = "postgresql"
    paramstyle = "pyformat"

    def batches(self, query, params, *, timeout):
        from . import pgfetch
        from .dtypes import normalize
        from .errors import ParameterError, WorkbenchError

        sql = binding.prepare(query, params, self.paramstyle)
        try:
            for batch in pgfetch.read_arrow_batches(self.url, sql, params, read_only=self.read_only, timeout=timeout):
                yield normalize(batch)
        except ReadOnlySourceError as e:
            raise self.read_only_error(str(e)) from None
        except SourceError as e:
            raise SourceError(f"source {self.name!r}: {scrub(str(e), self.secrets)}") from None
        except (ParameterError, QueryTimeoutError, QueryCancelledError) as e:
            raise type(e)(f"{self.name}: {scrub(str(e), self.secrets)}") from None
        except WorkbenchError as e:
            if self.read_only and "multiple commands" in str(e):
                raise self.read_only_error("one statement per call") from None
            raise QueryError(f"{self.name}: {scrub(str(e), self.secrets)}") from None

    def ping(self) -> str | None:
        import psycopg

        from . import pgfetch

        try:
            dsn, _ = pgfetch.conninfo(self.url, read_only=True, timeout=None, application_name="workbench")
            psycopg.connect(dsn).close()
            return None
        except psycopg.Error as e:
            return self.describe_error(e)


# -------------------------------------------------------------------- MySQL / MariaDB
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


class MysqlSource(Source):
    kind = "mysql"
    paramstyle = "pyformat"

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

        sql = binding.prepare(query, params, self.paramstyle)
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
                    raise QueryTimeoutError(
                        f"{self.name}: the statement ran longer than {timeout:g} s and was cancelled on the server; "
                        "narrow it, or raise timeout=... (or statement_timeout in workbench.toml)"
                    ) from None
                if code == 1317:
                    raise QueryCancelledError(f"{self.name}: the statement was cancelled on the server") from None
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
        return QueryError(f"{self.name}: {scrub(one_line(msg), self.secrets)}")


# ------------------------------------------------------------------- generic (SQLAlchemy)
class GenericSource(Source):
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

        binding.check(query, params)
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

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class HubSource(Source):
    """The warehouse (DuckDB) and the lake: answered by the hub, where they are attached."""

    def __init__(self, cfg: SourceConfig, kind: str):
        super().__init__(cfg)
        self.kind = kind
        self.hub = None  # set by the Workbench

    def batches(self, query, params, *, timeout):
        return self.hub.batches(query, params, timeout=timeout, frame=None, source=self)

    def ping(self) -> str | None:
        return self.hub.problem(self.name)


CLASSES = {"sqlite": SqliteSource, "postgresql": PostgresSource, "mysql": MysqlSource, "generic": GenericSource}


def make_source(cfg: SourceConfig) -> Source:
    kind = kind_of(cfg.url)
    if kind in ("duckdb", "lake"):
        return HubSource(cfg, kind)
    return CLASSES[kind](cfg)


@contextmanager
def closing_all(sources: Mapping[str, Source]):
    try:
        yield sources
    finally:
        for s in sources.values():
            s.close()
