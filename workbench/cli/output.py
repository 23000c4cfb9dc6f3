"""Printing results: a terminal table, CSV or JSON, chosen by ``--format``.

``workbench sql`` prints its Arrow result directly (:func:`print_arrow`), without pandas
(about a third of a second of import): for the scalar types the text of each value is
the one pandas would print for the Arrow-backed column (Python's ``str``/``repr`` of the
value, ``isoformat`` in JSON), and anything else (lists, structs, duplicate column names)
goes through the DataFrame as before, so the output is the same either way.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
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


def _scalar(t) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_string(t) or pa.types.is_boolean(t)
            or pa.types.is_date32(t) or pa.types.is_timestamp(t) or pa.types.is_decimal(t) or pa.types.is_null(t)
            or pa.types.is_binary(t) or pa.types.is_time64(t))


def print_arrow(table, fmt: str, *, title: str | None = None, limit: int | None = None) -> None:
    """Print an Arrow table as :func:`print_frame` prints its DataFrame (``to_pandas``), without pandas."""
    from ..arrow.dtypes import normalize, to_pandas

    table = normalize(table)
    names = table.column_names
    if len(set(names)) != len(names) or not all(_scalar(f.type) for f in table.schema):
        print_frame(to_pandas(table), fmt, title=title, limit=limit)
        return
    rows = table.num_rows
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(names)
        columns = [["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in col.to_pylist()]
                   for col in table.columns]
        w.writerows(zip(*columns))
        return
    if fmt == "json":
        columns = [col.to_pylist() for col in table.columns]
        records = [dict(zip(names, row)) for row in zip(*columns)]
        json.dump(records, sys.stdout, default=_json_default, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=title, show_lines=False, header_style="bold")
    for col in names:
        t.add_column(str(col), overflow="fold")
    shown = table if limit is None else table.slice(0, limit)
    columns = [["∅" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in col.to_pylist()]
               for col in shown.columns]
    for row in zip(*columns):
        t.add_row(*row)
    console.print(t)
    if limit is not None and rows > limit:
        console.print(f"[dim]… {rows - limit:,} more rows; use --format csv or --limit to see them[/dim]")


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


