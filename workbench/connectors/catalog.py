"""What exists: tables, views and columns, read from each source's own catalog.

Row counts are the catalog's estimates (``pg_class.reltuples``, MariaDB's
``table_rows``, DuckDB's ``estimated_size``), not ``count(*)``: browsing a catalog must
stay instant on tables of any size. SQLite keeps no estimate, so its column is empty
unless ``ANALYZE`` has filled ``sqlite_stat1``.

Each source answers from its own catalog (``Source.catalog_tables`` /
``catalog_columns``); this module gives every answer the same columns and the same
errors, and holds the SQLAlchemy-inspector answer that any other kind falls back on.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..errors import UsageError

Source = Any  # a connectors.base.Source; not imported, so base may use this module (no cycle)

TABLE_COLUMNS = ["source", "schema", "table", "kind", "rows"]
COLUMN_COLUMNS = ["column", "type", "nullable", "position"]


def split_table(table: str) -> tuple[str | None, str]:
    """``"schema.table"`` -> ``("schema", "table")``; ``"table"`` -> ``(None, "table")``."""
    if "." in table:
        schema, name = table.split(".", 1)
        return schema, name
    return None, table


def tables(sources: Mapping[str, "Source"], source: str | None = None) -> pd.DataFrame:
    """Tables and views of one source (or all): source, schema, table, kind, rows."""
    if source is None:
        frames = [tables(sources, name) for name in sources]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TABLE_COLUMNS)
    df = sources[source].catalog_tables()
    df.insert(0, "source", source)
    return df[TABLE_COLUMNS].reset_index(drop=True)


def columns(src: "Source", table: str) -> pd.DataFrame:
    """Columns of ``table`` (``schema.table`` where the source has schemas)."""
    schema, name = split_table(table)
    if not src.has_schemas:
        schema = None
    df = src.catalog_columns(schema, name)
    if df.empty:
        raise UsageError(f"source {src.name!r} has no table {table!r}; list them with wb.tables({src.name!r})")
    df["nullable"] = df["nullable"].astype("bool[pyarrow]")
    return df[COLUMN_COLUMNS].reset_index(drop=True)


def inspector_tables(src) -> pd.DataFrame:
    """Tables and views through SQLAlchemy's inspector (no row estimates)."""
    from sqlalchemy import inspect

    insp = inspect(src.engine())
    rows = [{"schema": None, "table": t, "kind": "table", "rows": None} for t in insp.get_table_names()]
    rows += [{"schema": None, "table": v, "kind": "view", "rows": None} for v in insp.get_view_names()]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS[1:])


def inspector_columns(src, schema: str | None, table: str) -> pd.DataFrame:
    from sqlalchemy import inspect

    cols = inspect(src.engine()).get_columns(table, schema=schema)
    return pd.DataFrame([{"column": c["name"], "type": str(c["type"]), "nullable": c.get("nullable", True),
                          "position": i + 1} for i, c in enumerate(cols)], columns=COLUMN_COLUMNS)
