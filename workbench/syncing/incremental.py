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

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import values
from ..connectors.base import HubBacked
from ..errors import UsageError
from ..sqltext import check_ident
from .export import _progress
from .load import _peek
from .targets import LakeTarget, WarehouseTarget
from .warehouse import warehouse_name

if TYPE_CHECKING:
    from ..query.session import Session


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
    """The watermark as stored text (:func:`workbench.values.dump`); None stays NULL."""
    if v is None:
        return None
    if isinstance(v, list):  # an array column's max() would not bind back as one value
        raise UsageError("cannot keep a watermark of type list; choose a timestamp or integer column")
    try:
        return values.dump(v)
    except UsageError as e:
        raise UsageError(f"cannot keep the watermark {v!r}: {e}; choose a timestamp or integer column") from None


def _load(text: str | None) -> Any:
    """The watermark back, of its exact type (:func:`workbench.values.load`); NULL is None."""
    return None if text is None else values.load(text)


def _source_max(wb: "Session", source: str, table_sql: str, col_sql: str) -> Any:
    """The source's own ``max(col)``. On SQLite ``max()`` is an expression with no declared
    type, so it comes back as the stored text, which binds back and compares exactly."""
    return wb.sql_arrow(f"select max({col_sql}) as m from {table_sql}", source=source).column(0)[0].as_py()


def sync(wb: "Session", spec: str, *, incremental_by: str | None = None, to: str = "warehouse",
         key: list[str] | None = None, as_name: str | None = None, full: bool = False,
         deletes: bool = True, progress: bool | None = None) -> SyncResult:
    """Copy ``SOURCE.TABLE`` into the warehouse (or the lake), incrementally when asked."""
    started = time.monotonic()
    if "." not in spec:
        raise UsageError(f"{spec!r}: name the table as SOURCE.TABLE, e.g. app.photos")
    source, table = spec.split(".", 1)
    src = wb.source(source)
    if isinstance(src, HubBacked):
        raise UsageError(f"{source!r} is a {src.role}; sync copies from an OLTP source")
    known = set(wb.tables(source)["table"])
    if table not in known:
        raise UsageError(f"source {source!r} has no table {table!r}; it has: {', '.join(sorted(known))}")
    cols = list(wb.columns(source, table)["column"])
    if incremental_by is not None and incremental_by not in cols:
        raise UsageError(f"--incremental-by {incremental_by!r}: {source}.{table} has no such column; it has: "
                         f"{', '.join(cols)}")
    pk = key or wb.primary_key(source, table)
    if incremental_by and not pk:
        raise UsageError(f"{source}.{table} has no primary key to upsert by; name one with --key COLUMN")
    for c in pk:
        if c not in cols:
            raise UsageError(f"--key {c!r}: {source}.{table} has no such column")
    target_table = check_ident(as_name or table, "target table")
    q = src.quote  # the source's own dialect
    table_sql = q(table)

    if to == "lake" or to in [n for n, s in wb.config.sources.items() if s.role == "lake"]:
        target = LakeTarget(wb, to, source, target_table)
    else:
        target = WarehouseTarget(wb, warehouse_name(wb, None if to == "warehouse" else to), target_table)

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


