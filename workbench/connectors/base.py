"""Sources: what every kind of database answers, and the capabilities some add.

A source turns ``(query with :name placeholders, params)`` into a stream of Arrow
record batches under the project's rules:

- read-only unless the config says ``read_only = false``, enforced by the database
  itself (``mode=ro`` for SQLite, a READ ONLY transaction for PostgreSQL and MariaDB,
  ``READ_ONLY`` attach for DuckDB), never by parsing the SQL;
- parameters bound by the driver, one statement per call;
- a statement timeout, and Ctrl-C cancelling the statement on the server;
- errors in the database's own words, with no password anywhere.

Everything about one kind lives in its own module; the rest of workbench asks a source
for a capability (:class:`Attachable` for the hub's ATTACH, :class:`HubBacked` for the
warehouse and the lake, the catalog and primary-key methods, :meth:`Source.quote`) and
never compares a kind string. ``kind`` stays as a label for people (``wb.sources()``).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import pyarrow as pa

from ..config import SourceConfig
from ..errors import QueryCancelledError, QueryError, QueryTimeoutError, ReadOnlySourceError, SourceError
from ..secrets import redact_url, scrub, secrets_of, one_line
from ..sqltext import quote_ident

if TYPE_CHECKING:
    import pandas as pd


def timeout_error(where: str, seconds: float | None) -> QueryTimeoutError:
    """The one message for a statement that ran past its timeout."""
    limit = f" than {seconds:g} s" if seconds else ""
    return QueryTimeoutError(
        f"{where}: the statement ran longer{limit} and was cancelled; "
        "narrow it, or raise timeout=... (or statement_timeout in workbench.toml)", source=where, timeout=seconds,
    )


def cancelled_error(where: str) -> QueryCancelledError:
    """The one message for a statement cancelled on the server (Ctrl-C, KILL QUERY)."""
    return QueryCancelledError(f"{where}: the statement was cancelled", source=where)


class Source(ABC):
    """A named source from the config. Subclasses implement :meth:`batches` and :meth:`_open`."""

    kind = "generic"
    paramstyle = "named"
    #: how this source quotes identifiers and escapes strings (``ansi`` or ``mysql``)
    dialect = "ansi"

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
    @abstractmethod
    def batches(self, query: str, params: Mapping[str, Any], *, timeout: float | None) -> Iterator[pa.RecordBatch]:
        """Run ``query`` (``:name`` placeholders, bound from ``params``) as Arrow batches."""

    def ping(self) -> str | None:
        """``None`` when reachable, else the reason in one line."""
        try:
            for _ in self.batches("select 1", {}, timeout=10):
                pass
            return None
        except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
            return self.describe_error(e)

    def bind(self, config) -> None:
        """Told the whole config by the Session that made it (the lake takes its
        ``[lake.*]`` datasets and the project root from it); nothing by default."""

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

    def timeout_error(self, seconds: float | None) -> QueryTimeoutError:
        return timeout_error(self.name, seconds)

    def cancelled_error(self) -> QueryCancelledError:
        return cancelled_error(self.name)

    def quote(self, name: str) -> str:
        """``name`` as an identifier in this source's own dialect."""
        return quote_ident(name, self.dialect)

    def frame(self, query: str, timeout: float | None = 60, **params: Any):
        """A small result (catalog queries) as a DataFrame with the dtype policy."""
        from ..arrow.dtypes import to_pandas
        from ..arrow.rows import collect

        return to_pandas(collect(self.batches(query, params, timeout=timeout)))

    # -- capabilities (the rest of workbench asks for these, never for a kind) ---------
    def catalog_tables(self) -> "pd.DataFrame":
        """Tables and views: schema, table, kind, rows (estimates)."""
        from .catalog import inspector_tables

        return inspector_tables(self)

    def catalog_columns(self, schema: str | None, table: str) -> "pd.DataFrame":
        """Columns of one table: column, type, nullable, position (empty if no such table)."""
        from .catalog import inspector_columns

        return inspector_columns(self, schema, table)

    def primary_key(self, table: str) -> list[str]:
        """The primary-key columns of ``table``; empty when it has none or the kind can't tell."""
        return []

    def hub_param_problem(self, params: Mapping[str, Any]) -> str | None:
        """Why ``params`` must not reach this source through the hub's scanner, or ``None``."""
        return None

    #: whether tables are named ``schema.table`` (PostgreSQL, MariaDB, DuckDB) or by name alone.
    has_schemas = True

    def unreachable(self, e: BaseException) -> SourceError:
        return SourceError(
            f"cannot connect to source {self.name!r} at {self.redacted_url}: {self.describe_error(e)}; "
            "check that the server runs and the URL in workbench.toml (or its ${VAR}) is right", source=self.name,
        )


class Attachable(ABC):
    """A source the DuckDB hub can ATTACH, so one statement joins it with everything else."""

    #: the DuckDB extension its scanner needs (loaded offline), or ``None``
    extension: str | None = None
    #: attach only while queries run (a DuckDB file another process may want to write)
    attach_per_query = False

    @abstractmethod
    def attach_sql(self, alias: str) -> str | None:
        """The ``ATTACH ... AS alias (...)`` statement, or ``None`` if there is nothing to
        attach; raises SourceError (with the fix) when the source cannot be attached."""

    def scanner_casts(self) -> dict[str, dict[str, str]]:
        """``{table: {column: duckdb_type}}``: columns DuckDB's scanner reads with another
        type than the source declares (SQLite's BOOLEAN arrives as an integer). When not
        empty the hub shows the source through views that cast them."""
        return {}


class HubBacked(ABC):
    """A source whose data lives in the hub (the warehouse file, the lake's views)."""

    _hub = None
    #: set by the Session: builds its hub on first use (whose constructor sets ``hub``), so
    #: a Session that never queries the hub never imports DuckDB
    hub_factory = None

    @property
    def hub(self):
        if self._hub is None and self.hub_factory is not None:
            self.hub_factory()
        return self._hub

    @hub.setter
    def hub(self, hub) -> None:
        self._hub = hub

    def batches(self, query, params, *, timeout):
        return self.hub.batches(query, params, timeout=timeout, source=self)

    def ping(self) -> str | None:
        return self.hub.problem(self.name)

    def _open(self):  # answered by the hub: no connection of its own
        raise NotImplementedError


class Fingerprintable(ABC):
    """A source that can say, cheaply and conservatively, whether a table's data changed.

    The pipeline skips a task whose inputs' fingerprints are unchanged, and
    ``wb.sql(..., cache=True)`` reuses a result on the same condition, so a fingerprint
    must never stay equal when the data changed; it may change when the data did not
    (that only costs a re-run). Each kind documents in its module what it reads and which
    traps of its database it avoids. The kinds a pipeline writes into (the warehouse, the
    lake's files) are content-based: the same data written again gives the same token, so
    dependants of a task that re-ran without changing its output can be skipped; the OLTP
    kinds other than MariaDB only detect change (docs/fingerprints.md has the table).
    """

    #: the same rows written again give the same token (``True`` for the warehouse, the
    #: lake and MariaDB's CHECKSUM TABLE): the pipeline's early cut-off may trust it
    content_based = False

    @abstractmethod
    def fingerprint(self, table: str | None = None) -> str | None:
        """A token of the data in ``table`` (``schema.table`` or a bare name; the whole
        source when ``None``): equal tokens mean unchanged data. ``None`` means unknown,
        which callers treat as changed."""
