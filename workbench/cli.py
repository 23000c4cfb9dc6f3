"""``workbench``: the command line over the same Workbench that notebooks use.

Errors are one line on stderr and an exit code (2 for usage and config, 1 for a query
or run that failed); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from .errors import UsageError, WorkbenchError

app = typer.Typer(
    name="workbench",
    help="Explore OLTP databases, a DuckDB warehouse and a lake of files; run notebooks as reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False, "config": None}


@app.callback()
def _root(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="workbench.toml to use (default: found from the current folder upward, or $WORKBENCH_CONFIG)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    _state["debug"] = debug
    _state["config"] = config


def workbench_from_cli():
    """The Workbench for this command line (``--config`` or the default lookup)."""
    from .core import Workbench

    return Workbench(_state["config"])


_TYPES = {
    "str": str,
    "int": int,
    "float": float,
    "decimal": decimal.Decimal,
    "date": dt.date.fromisoformat,
    "datetime": dt.datetime.fromisoformat,
    "bool": lambda s: {"true": True, "false": False, "1": True, "0": False}[s.lower()],
}


def parse_param(text: str) -> tuple[str, Any]:
    """``name=value`` (a string) or ``name:type=value`` with type int, float, decimal, date, datetime, bool."""
    if "=" not in text:
        raise UsageError(f"-p {text!r}: write -p name=value (or name:int=5, name:date=2026-11-01)")
    key, value = text.split("=", 1)
    name, _, kind = key.partition(":")
    name = name.strip()
    if not name.isidentifier():
        raise UsageError(f"-p {text!r}: {name!r} is not a parameter name; use letters, digits and _")
    kind = kind.strip() or "str"
    if kind not in _TYPES:
        raise UsageError(f"-p {text!r}: unknown type {kind!r}; use one of {', '.join(_TYPES)}")
    try:
        return name, _TYPES[kind](value)
    except (ValueError, KeyError, decimal.InvalidOperation):
        raise UsageError(f"-p {text!r}: {value!r} is not a valid {kind}") from None


def _json_default(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime, dt.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def print_frame(df, fmt: str, *, title: str | None = None, limit: int | None = None) -> None:
    """Print a DataFrame as a terminal table, CSV or JSON lines... as JSON records."""
    if fmt == "csv":
        df.to_csv(sys.stdout, index=False)
        return
    if fmt == "json":
        table = df.astype(object).where(df.notna(), None) if len(df) else df
        json.dump(table.to_dict(orient="records"), sys.stdout, default=_json_default, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=title, show_lines=False, header_style="bold")
    for col in df.columns:
        t.add_column(str(col), overflow="fold")
    shown = df if limit is None else df.head(limit)
    for row in shown.itertuples(index=False):
        t.add_row(*["∅" if v is None or (not isinstance(v, (list, dict)) and _isna(v)) else str(v) for v in row])
    console.print(t)
    if limit is not None and len(df) > limit:
        console.print(f"[dim]… {len(df) - limit:,} more rows; use --format csv or --limit to see them[/dim]")


def _isna(v: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@app.command("sources")
def sources_cmd(
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List the configured sources, with reachability (passwords are never shown)."""
    wb = workbench_from_cli()
    df = wb.sources()
    print_frame(df, _fmt(fmt), title=f"sources in {wb.config.path or 'the embedded defaults'}")


@app.command("tables")
def tables_cmd(
    source: Optional[str] = typer.Argument(None, help="Source name (default: every source)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List tables and views with the catalog's row estimates."""
    print_frame(workbench_from_cli().tables(source), _fmt(fmt))


@app.command("columns")
def columns_cmd(
    source: str = typer.Argument(..., help="Source name."),
    table: str = typer.Argument(..., help="Table name (schema.table where needed)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
) -> None:
    """List the columns of a table: name, type, nullable."""
    print_frame(workbench_from_cli().columns(source, table), _fmt(fmt))


@app.command("sql")
def sql_cmd(
    source: str = typer.Argument(..., help="Source name, or 'hub' for DuckDB over every source."),
    query: str = typer.Argument(..., help="The SQL; parameters are :name."),
    param: List[str] = typer.Option([], "--param", "-p", help="name=value (a string) or name:TYPE=value, TYPE one of int, float, decimal, date, datetime, bool. Bound by the driver, never pasted into the SQL."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json."),
    max_rows: Optional[int] = typer.Option(None, "--max-rows", help="Row cap (default: max_rows in workbench.toml)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Statement timeout in seconds."),
    limit: int = typer.Option(100, "--limit", help="Rows shown by --format table."),
) -> None:
    """Run one SQL statement on a source and print the result.

    Example: workbench sql app "select * from photos where user_id = :u" -p u:int=7
    """
    params = dict(parse_param(p) for p in param)
    wb = workbench_from_cli()
    df = wb.sql(query, None if source == "hub" else source, params=params, max_rows=max_rows, timeout=timeout)
    print_frame(df, _fmt(fmt), limit=limit)


@app.command("demo")
def demo_cmd(
    scale: float = typer.Option(1.0, "--scale", help="1 = a few thousand users and ~300k events; 100 = tens of millions."),
    app_url: Optional[str] = typer.Option(None, "--app-url", envvar="WORKBENCH_APP_URL", help="Write the OLTP tables into this PostgreSQL/MariaDB instead of data/app.db."),
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same data."),
    days: int = typer.Option(14, "--days", help="Days of activity to generate."),
    end_day: Optional[str] = typer.Option(None, "--end-day", help="Last day of data, YYYY-MM-DD (default: today, UTC)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the data is already there."),
    root: Path = typer.Option(Path("."), "--root", help="Project folder to write data/ into."),
) -> None:
    """Build the demo photo-app data: OLTP tables, the log lake, classifier labels, the warehouse."""
    from .demo import build

    day = None
    if end_day:
        try:
            day = dt.date.fromisoformat(end_day)
        except ValueError:
            raise UsageError(f"--end-day {end_day!r} is not a date; write YYYY-MM-DD") from None
    summary = build(root.resolve(), scale=scale, app_url=app_url, seed=seed, days=days, end_day=day,
                    force=force, progress=sys.stderr.isatty())
    typer.echo(str(summary))


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
    from .syncing import sync

    if as_name and len(tables) > 1:
        raise UsageError("--as names one target table; sync one SOURCE.TABLE at a time with it")
    wb = workbench_from_cli()
    for spec in tables:
        result = sync(wb, spec, incremental_by=incremental_by, to=to, key=key or None, as_name=as_name,
                      full=full, deletes=not keep_deleted, progress=sys.stderr.isatty())
        typer.echo(str(result))


@app.command("export")
def export_cmd(
    source: str = typer.Argument(..., help="Source name, or 'hub'."),
    query: str = typer.Argument(..., help="The SQL; parameters are :name."),
    path: Path = typer.Argument(..., help="Output file: .parquet or .csv."),
    param: List[str] = typer.Option([], "--param", "-p", help="name=value or name:TYPE=value, as for `workbench sql`."),
) -> None:
    """Stream a query's result to a Parquet or CSV file (any size; bounded memory)."""
    from .writes import export

    params = dict(parse_param(p) for p in param)
    result = export(workbench_from_cli(), query, path, source=None if source == "hub" else source, params=params,
                    progress=sys.stderr.isatty())
    typer.echo(str(result))


def _fmt(fmt: str) -> str:
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"--format {fmt!r}: use table, csv or json")
    return fmt


def _register_plugins() -> None:
    """Commands that live with the layer they drive (reports, sync, ...)."""
    try:
        from .reports.cli import register
    except ImportError:
        return
    register(app)


_register_plugins()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning WorkbenchError into one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except WorkbenchError as e:
        if debug:
            raise
        typer.echo(f"workbench: error: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        typer.echo("workbench: interrupted", err=True)
        return 130
    except SystemExit as e:  # typer.Exit inside commands
        return int(e.code or 0)
    except Exception as e:  # click usage errors and the unexpected
        if debug:
            raise
        show = getattr(e, "show", None)
        if callable(show) and hasattr(e, "exit_code"):  # click/typer usage errors
            show()
            return int(e.exit_code)
        if type(e).__name__ == "Abort":
            typer.echo("workbench: aborted", err=True)
            return 130
        typer.echo(f"workbench: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", err=True)
        return 1


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
