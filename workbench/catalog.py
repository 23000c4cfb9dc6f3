"""What exists: tables, views and columns, read from each source's own catalog.

Row counts are the catalog's estimates (``pg_class.reltuples``, MariaDB's
``table_rows``, DuckDB's ``estimated_size``), not ``count(*)``: browsing a catalog must
stay instant on tables of any size. SQLite keeps no estimate, so its column is empty
unless ``ANALYZE`` has filled ``sqlite_stat1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .errors import UsageError

if TYPE_CHECKING:
    from .core import Workbench

TABLE_COLUMNS = ["source", "schema", "table", "kind", "rows"]
COLUMN_COLUMNS = ["column", "type", "nullable", "position"]

_SQL = {
    "sqlite": (
        "select 'main' as schema, m.name as \"table\", m.type as kind, {rows} as rows "
        "from sqlite_master m where m.type in ('table', 'view') and m.name not like 'sqlite_%' order by m.name",
        "select name as \"column\", type, not \"notnull\" as nullable, cid + 1 as position "
        "from pragma_table_info(:table) order by cid",
    ),
    "postgresql": (
        "select t.table_schema as schema, t.table_name as \"table\", "
        "case t.table_type when 'VIEW' then 'view' else 'table' end as kind, "
        "case when c.reltuples < 0 then null else c.reltuples::bigint end as rows "
        "from information_schema.tables t "
        "left join pg_namespace n on n.nspname = t.table_schema "
        "left join pg_class c on c.relnamespace = n.oid and c.relname = t.table_name "
        "where t.table_schema not in ('pg_catalog', 'information_schema') order by 1, 2",
        "select column_name as \"column\", data_type as type, is_nullable = 'YES' as nullable, "
        "ordinal_position as position from information_schema.columns "
        "where table_name = :table and table_schema = coalesce(:schema, current_schema()) order by ordinal_position",
    ),
    "mysql": (
        "select table_schema as `schema`, table_name as `table`, "
        "case table_type when 'VIEW' then 'view' else 'table' end as kind, table_rows as `rows` "
        "from information_schema.tables where table_schema = database() order by 2",
        "select column_name as `column`, column_type as type, is_nullable = 'YES' as nullable, "
        "ordinal_position as position from information_schema.columns "
        "where table_name = :table and table_schema = coalesce(:schema, database()) order by ordinal_position",
    ),
}

_SQLITE_STAT_ROWS = (
    "(select cast(substr(stat, 1, instr(stat || ' ', ' ') - 1) as integer) from sqlite_stat1 s "
    "where s.tbl = m.name limit 1)"
)
_HUB_TABLES = (
    "select database_name as source, schema_name as schema, table_name as \"table\", 'table' as kind, "
    "estimated_size as rows from duckdb_tables() where database_name = :db "
    "union all select database_name, schema_name, view_name, 'view', null from duckdb_views() "
    "where database_name = :db and not internal order by 2, 3"
)
_HUB_COLUMNS = (
    "select column_name as \"column\", data_type as type, is_nullable as nullable, "
    "column_index as position from duckdb_columns() "
    "where database_name = :db and table_name = :table and schema_name = coalesce(:schema, 'main') "
    "order by column_index"
)


def _split(table: str) -> tuple[str | None, str]:
    if "." in table:
        schema, name = table.split(".", 1)
        return schema, name
    return None, table


def tables(wb: "Workbench", source: str | None = None) -> pd.DataFrame:
    if source is None:
        frames = [tables(wb, name) for name in wb.config.sources]
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TABLE_COLUMNS)
    src = wb.source(source)
    if src.kind in ("duckdb", "lake"):
        if src.kind == "lake":
            rows = [{"source": source, "schema": "main", "table": name, "kind": "view", "rows": None}
                    for name in wb.config.lake]
            return pd.DataFrame(rows, columns=TABLE_COLUMNS)
        df = wb.sql(_HUB_TABLES, db=source)
        df["source"] = source
        return df[TABLE_COLUMNS]
    if src.kind not in _SQL:
        return _generic_tables(src, source)
    query = _SQL[src.kind][0]
    if src.kind == "sqlite":
        stats = wb.sql("select count(*) as n from sqlite_master where name = 'sqlite_stat1'", source=source)
        query = query.format(rows=_SQLITE_STAT_ROWS if stats["n"].iloc[0] else "null")
    df = wb.sql(query, source=source)
    df.insert(0, "source", source)
    return df[TABLE_COLUMNS]


def columns(wb: "Workbench", source: str, table: str) -> pd.DataFrame:
    src = wb.source(source)
    schema, name = _split(table)
    if src.kind == "lake":
        if table not in wb.config.lake:
            raise UsageError(f"lake {source!r} has no dataset {table!r}; it has: {', '.join(wb.config.lake)}")
        df = wb.sql(_HUB_COLUMNS, db="memory", table=table, schema=None)
    elif src.kind == "duckdb":
        df = wb.sql(_HUB_COLUMNS, db=source, table=name, schema=schema)
    elif src.kind == "sqlite":
        df = wb.sql(_SQL["sqlite"][1], source=source, table=name)
    elif src.kind in _SQL:
        df = wb.sql(_SQL[src.kind][1], source=source, table=name, schema=schema)
    else:
        return _generic_columns(src, table)
    if df.empty:
        raise UsageError(f"source {source!r} has no table {table!r}; list them with wb.tables({source!r})")
    df["nullable"] = df["nullable"].astype("bool[pyarrow]")
    return df[COLUMN_COLUMNS].reset_index(drop=True)


def _generic_tables(src, source: str) -> pd.DataFrame:
    from sqlalchemy import inspect

    insp = inspect(src.engine())
    rows = [{"source": source, "schema": None, "table": t, "kind": "table", "rows": None} for t in insp.get_table_names()]
    rows += [{"source": source, "schema": None, "table": v, "kind": "view", "rows": None} for v in insp.get_view_names()]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _generic_columns(src, table: str) -> pd.DataFrame:
    from sqlalchemy import inspect

    schema, name = _split(table)
    cols = inspect(src.engine()).get_columns(name, schema=schema)
    return pd.DataFrame([{"column": c["name"], "type": str(c["type"]), "nullable": c.get("nullable", True),
                          "position": i + 1} for i, c in enumerate(cols)], columns=COLUMN_COLUMNS)


_PRIMARY_KEY = {
    "sqlite": "select name from pragma_table_info(:table) where pk > 0 order by pk",
    "postgresql": (
        "select a.attname as name from pg_index i join pg_attribute a "
        "on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
        "where i.indrelid = to_regclass(:table) and i.indisprimary order by array_position(i.indkey, a.attnum)"
    ),
    "mysql": (
        "select column_name as name from information_schema.key_column_usage where table_schema = database() "
        "and table_name = :table and constraint_name = 'PRIMARY' order by ordinal_position"
    ),
}


def primary_key(wb: "Workbench", source: str, table: str) -> list[str]:
    """The primary-key columns of ``table`` (empty when it has none or the kind can't tell)."""
    src = wb.source(source)
    if src.kind not in _PRIMARY_KEY:
        return []
    name = table if src.kind == "postgresql" else _split(table)[1]
    return [str(v) for v in wb.sql(_PRIMARY_KEY[src.kind], source=source, table=name)["name"]]
