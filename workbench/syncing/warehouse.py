"""Writing into the warehouse: which one, which table, and a connection the hub lets go of.

The warehouse is the only place workbench writes by default. DuckDB admits one writer
per file and no readers meanwhile, so a writer first makes the hub detach the file and
hands it back when done.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import duckdb

from ..connectors.warehouse import WarehouseSource
from ..errors import UsageError
from ..sqltext import check_ident

if TYPE_CHECKING:
    from ..query.session import Session


@dataclass(frozen=True)
class WriteResult:
    target: str
    rows: int

    def __str__(self) -> str:
        return f"{self.rows:,} rows -> {self.target}"


def warehouse_name(wb: "Session", name: str | None = None) -> str:
    """The warehouse source to write into: ``name``, or the only one configured."""
    names = [n for n, s in wb.config.sources.items() if s.role == "warehouse"]
    if name is not None:
        if name not in names:
            raise UsageError(f"{name!r} is not a warehouse source; the warehouses are: {', '.join(names) or 'none'}")
        return name
    if len(names) != 1:
        raise UsageError(
            "name the warehouse to write into as 'warehouse_name.table'"
            if names else "no source has role = \"warehouse\" in workbench.toml; add one to write into"
        )
    return names[0]


def split_target(wb: "Session", target: str) -> tuple[str, str]:
    """``"warehouse.table"`` or ``"table"`` -> (warehouse source name, table)."""
    if "." in target:
        wh, table = target.split(".", 1)
        return warehouse_name(wb, wh), check_ident(table, "table name")
    return warehouse_name(wb), check_ident(target, "table name")


@contextmanager
def warehouse_writer(wb: "Session", name: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to warehouse ``name``; the hub lets go of the file meanwhile."""
    src = wb.source(name)
    if not isinstance(src, WarehouseSource):
        raise UsageError(f"{name!r} is not a warehouse source")
    wb.hub.refresh()
    try:
        with src.writer() as con:
            yield con
    finally:
        wb.hub.refresh()
