"""Printing results: a terminal table, CSV or JSON, chosen by ``--format``."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from typing import Any

from ..errors import UsageError


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


def _fmt(fmt: str) -> str:
    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"--format {fmt!r}: use table, csv or json")
    return fmt


