"""``workbench sources | tables | columns | sql | export``: the query commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from . import app, session
from .output import _fmt, print_arrow, print_frame
from .params import EXTRA_ARGS, HELP, typed


@app.command("sources")
def sources_cmd(
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List the configured sources, with reachability (passwords are never shown)."""
    wb = session()
    df = wb.sources()
    print_frame(df, _fmt(fmt), title=f"sources in {wb.config.path or 'the embedded defaults'}")


@app.command("tables")
def tables_cmd(
    source: Optional[str] = typer.Argument(None, help="Source name (default: every source)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List tables and views with the catalog's row estimates."""
    print_frame(session().tables(source), _fmt(fmt))


@app.command("columns")
def columns_cmd(
    source: str = typer.Argument(..., help="Source name."),
    table: str = typer.Argument(..., help="Table name (schema.table where needed)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List the columns of a table: name, type, nullable."""
    print_frame(session().columns(source, table), _fmt(fmt))


@app.command("sql", context_settings=EXTRA_ARGS, epilog=HELP)
def sql_cmd(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Source name, or 'hub' for DuckDB over every source."),
    query: str = typer.Argument(..., help="The SQL; parameters are :name, given as -p NAME VALUE."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    max_rows: Optional[int] = typer.Option(None, "--max-rows", help="Row cap (default: max_rows in workbench.toml)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Statement timeout in seconds."),
    limit: int = typer.Option(100, "--limit", help="Rows shown by --format table."),
) -> None:
    """Run one SQL statement on a source and print the result.

    Example: workbench sql app "select * from photos where user_id = :u" -p u:int 7
    """
    from ..arrow.rows import defer_pandas

    params = typed(ctx.args)
    wb = session()
    fmt = _fmt(fmt)
    defer_pandas()  # rows -> Arrow -> text: pandas only for the types print_arrow hands to it
    table = wb.sql_arrow(query, None if source == "hub" else source, params=params, max_rows=max_rows,
                         timeout=timeout)
    print_arrow(table, fmt, limit=limit)


@app.command("export", context_settings=EXTRA_ARGS, epilog=HELP)
def export_cmd(
    ctx: typer.Context,
    source: str = typer.Argument(..., help="Source name, or 'hub'."),
    query: str = typer.Argument(..., help="The SQL; parameters are :name."),
    path: str = typer.Argument(..., help="Output file: .parquet or .csv (a path, or s3://bucket/key)."),
) -> None:
    """Stream a query's result to a Parquet or CSV file (any size; bounded memory)."""
    from ..syncing.export import export

    params = typed(ctx.args)
    result = export(session(), query, path, source=None if source == "hub" else source, params=params,
                    progress=sys.stderr.isatty())
    typer.echo(str(result))


