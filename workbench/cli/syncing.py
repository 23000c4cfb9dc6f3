"""``workbench sync``: OLTP tables into the warehouse or the lake."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..errors import UsageError
from . import app, session


@app.command("sync")
def sync_cmd(
    tables: List[str] = typer.Argument(..., help="SOURCE.TABLE, one or more (e.g. app.photos app.likes)."),
    incremental_by: Optional[str] = typer.Option(None, "--incremental-by", help="Column that grows on every insert/update (e.g. updated_at): fetch only rows at or past the last watermark and upsert them by primary key."),
    to: str = typer.Option("warehouse", "--to", help="warehouse (a DuckDB table) or lake (a Parquet snapshot under the lake folder), or a source name of that role."),
    key: List[str] = typer.Option([], "--key", help="Primary-key column(s) to upsert by, when the catalog has none."),
    as_name: Optional[str] = typer.Option(None, "--as", help="Target table name (default: the source table's)."),
    full: bool = typer.Option(False, "--full", help="Copy the whole table even when a watermark exists."),
    keep_deleted: bool = typer.Option(False, "--keep-deleted", help="Do not remove rows deleted at the source."),
) -> None:
    """Copy OLTP tables into the warehouse or the lake, incrementally with --incremental-by.

    Example: workbench sync app.photos app.likes --incremental-by updated_at
    """
    from ..syncing.incremental import sync

    if as_name and len(tables) > 1:
        raise UsageError("--as names one target table; sync one SOURCE.TABLE at a time with it")
    wb = session()
    for spec in tables:
        result = sync(wb, spec, incremental_by=incremental_by, to=to, key=key or None, as_name=as_name,
                      full=full, deletes=not keep_deleted, progress=sys.stderr.isatty())
        typer.echo(str(result))


