"""SQLite: the embedded OLTP source (the demo's ``data/app.db``).

Read-only is SQLite's own ``mode=ro``; the statement timeout and Ctrl-C both go through
the progress handler, which aborts the running statement inside SQLite. SQLite has no
DATE, TIMESTAMP, DECIMAL or BOOLEAN storage: the converters below give declared column
types their meaning on this path (through the hub, DuckDB's scanner reads them its own way).

Fingerprint (per database file, not per table: every table of the file shares it):
the BLAKE2b of the main file's bytes (remembered under the file's identity while it
stays settled, :mod:`workbench.storage.digests`) plus, when a ``-wal`` file exists, the
identity of its committed content: the WAL header's salts and checkpoint sequence and
the index and cumulative checksum of the last commit frame that carries those salts.
Why not the obvious signals: ``PRAGMA data_version`` is per connection (a new process
always starts it at the same value), the header's file change counter is not bumped by
a WAL commit (nor by a checkpoint that does not rewrite page 1), and a WAL commit
leaves the main file's size and mtime alone. A commit appends a frame (the index
grows), a WAL restart increments salt-1, a checkpoint rewrites main-file pages (the
digest changes): each change of the data changes the token. It changes also when the
data did not (a checkpoint): that only costs a re-run. Cost: reading the file once
after each change (about 1 GB/s), then a stat and the WAL's frame headers. The main
file is read through a descriptor kept open (closing one would drop the fcntl locks of
this process's SQLite connections to it); the ``-wal`` file carries no locks.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import sqlite3
import struct
import time
from pathlib import Path

import pyarrow as pa

from ..arrow.rows import batches_from_cursor
from ..config import SourceConfig
from ..config.urls import database
from ..errors import QueryError, SourceError
from ..sqltext import prepare, quote_literal
from ..storage.digests import file_digest
from .base import Attachable, Fingerprintable, Source

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


class SqliteSource(Source, Attachable, Fingerprintable):
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

    def fingerprint(self, table: str | None = None) -> str | None:
        """The token of the whole database file (``table`` is not looked at: see the module)."""
        if self.path is None:
            return None
        wal = wal_identity(Path(f"{self.path}-wal"))
        digest = file_digest(self.path, prefix=b"sqlite\0", keep_open=True)  # SQLite's fcntl locks
        if digest is None or wal is None or wal != wal_identity(Path(f"{self.path}-wal")):
            return None  # missing, or written while we looked
        return f"sqlite:{digest}:{wal}"

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


def wal_identity(wal: Path) -> str | None:
    """What identifies the committed content of a SQLite write-ahead log (``none`` without one).

    The log is a 32-byte header (magic, version, page size, checkpoint sequence, salt-1,
    salt-2, checksum) and frames of a 24-byte header (page number, database size after
    commit or 0, salt-1, salt-2, cumulative checksum-1, -2) and a page. Frames after a
    restart of the log carry the new salts; older frames behind them keep the old ones,
    so the scan stops at the first frame whose salts differ.
    """
    try:
        with open(wal, "rb") as f:
            head = f.read(32)
            if len(head) < 32:
                return "none"  # no header (a reader's empty log): SQLite reads the main file only
            _magic, _version, page_size, seq, salt1, salt2, _c1, _c2 = struct.unpack(">8I", head)
            frame = 24 + page_size
            last = "-"
            i = 0
            while True:
                f.seek(32 + i * frame)
                fh = f.read(24)
                if len(fh) < 24:
                    break
                _pgno, commit, s1, s2, c1, c2 = struct.unpack(">6I", fh)
                if (s1, s2) != (salt1, salt2):
                    break
                if commit:
                    last = f"{i}.{c1:08x}{c2:08x}"
                i += 1
    except FileNotFoundError:
        return "none"
    except OSError:
        return None
    if last == "-":
        return "none"  # no committed frame of this log's generation: the data is the main file's
    return f"{seq}.{salt1:08x}{salt2:08x}.{last}"


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
