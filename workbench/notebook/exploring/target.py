"""What is being explored: a table by name, a SQL string or a DataFrame, as a hub relation.

``wb.explore`` and ``wb.chart`` accept three kinds of target and turn each into a
:class:`~workbench.exploring.sqlgen.Relation` of the DuckDB hub:

- ``"app.photos"``, ``"warehouse.labels"``, ``"events"``: a table name, checked against
  the catalog of the source it names (never trusted as text), then quoted;
- ``"select ..."``: any hub query, wrapped as ``(<sql>) as t``; DataFrames it names are
  looked up in the caller's scope, like ``wb.sql`` does;
- a pandas / Arrow / polars DataFrame: handed to the hub as a table for the duration of
  each query (the hub scans it in place, no copy).

The relation's columns come from the hub's own ``DESCRIBE`` of it, so the generated SQL
and the checks agree with what DuckDB will see.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd
import pyarrow as pa

from ...connectors.base import Attachable
from ...connectors.lake import LakeSource
from ...connectors.warehouse import WarehouseSource
from ...errors import SourceError, UsageError
from ...query.default import session as get_workbench
from ...query.scope import Namespace
from ...query.session import Session as Workbench
from ...sqltext import quote_ident as quote
from .sqlgen import Column, Query, Relation

_TABLE_NAME = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}$")


@dataclass
class Target:
    """A relation plus how to run SQL on it (which Workbench, which DataFrames are in scope)."""

    wb: Workbench
    relation: Relation
    frame: Any
    name_in_scope: str | None = None  # how a pasted query can refer to a DataFrame target

    def run(self, query: Query, **kw) -> pd.DataFrame:
        return self.wb.sql(query.sql, params=query.params, _frame=self.frame, **kw)

    def run_arrow(self, query: Query, **kw) -> pa.Table:
        return self.wb.sql_arrow(query.sql, params=query.params, _frame=self.frame, **kw)


def is_dataframe(obj: Any) -> bool:
    return isinstance(obj, (pd.DataFrame, pa.Table)) or (
        type(obj).__module__.startswith("polars") and type(obj).__name__ == "DataFrame")


def resolve(target: Any, *, workbench: Workbench | None = None, params: Mapping[str, Any] | None = None,
            frame=None) -> Target:
    """``target`` as a :class:`Target`; ``frame`` (default: the caller's) is where DataFrames are found."""
    if isinstance(target, Target):
        return target
    wb = workbench or get_workbench()
    frame = frame or sys._getframe(1)
    if is_dataframe(target):
        scope_name = _name_of(target, frame)
        name = f"wb_explore_{id(target):x}"
        ns = Namespace({name: target})
        rel = _describe(wb, quote(name), ns, {}, label=scope_name or "DataFrame")
        return Target(wb, rel, ns, scope_name)
    if not isinstance(target, str) or not target.strip():
        raise UsageError("explore a table name ('app.photos'), a SQL query or a DataFrame; "
                         f"got {type(target).__name__}")
    text = target.strip()
    # a snapshot of the scope, so a widget that lives on keeps seeing the DataFrames
    # its query named when it was created
    ns = Namespace(dict(frame.f_locals), frame.f_globals)
    if _TABLE_NAME.match(text):
        return Target(wb, _describe(wb, table_sql(wb, text), ns, {}, label=text), ns)
    body = text.rstrip().rstrip(";")
    return Target(wb, _describe(wb, f"(\n{body}\n) as t", ns, dict(params or {}), label="query"), ns)


def _name_of(obj: Any, frame) -> str | None:
    for scope in (frame.f_locals, frame.f_globals):
        for k, v in scope.items():
            if v is obj and not k.startswith("_"):
                return k
    return None


def _describe(wb: Workbench, sql: str, frame, params: dict, label: str) -> Relation:
    df = wb.sql(f"describe select * from {sql}", params=params, _frame=frame)
    cols = tuple(Column(str(n), str(t)) for n, t in zip(df["column_name"], df["column_type"]))
    return Relation(sql=sql, columns=cols, label=label, params=params)


def table_sql(wb: Workbench, name: str) -> str:
    """The quoted hub name of table ``name``, after finding it in the catalog."""
    parts = name.split(".")
    sources = wb.config.sources
    if parts[0] in sources and len(parts) > 1:
        src = wb.source(parts[0])
        rest = parts[1:]
        if isinstance(src, LakeSource):
            datasets = src.datasets
            if len(rest) != 1 or rest[0] not in datasets:
                raise UsageError(f"lake {parts[0]!r} has no dataset {'.'.join(rest)!r}; "
                                 f"it has: {', '.join(datasets)}")
            return f"{quote(parts[0])}.{quote(rest[0])}"
        if not isinstance(src, Attachable):
            raise UsageError(f"source {parts[0]!r} ({src.kind}) is not attached to the hub; explore a query "
                             f"on it instead: wb.explore(wb.sql('select ...', source={parts[0]!r}))")
        problem = wb.hub.problem(parts[0])
        if problem:
            raise SourceError(f"{parts[0]} is not available in the hub: {problem}")
        known = wb.tables(parts[0])
        match = known["table"] == rest[-1]
        if len(rest) == 2:
            match &= known["schema"] == rest[0]
        if not match.any():
            raise UsageError(f"source {parts[0]!r} has no table {'.'.join(rest)!r}; "
                             f"list them with wb.tables({parts[0]!r})")
        return ".".join(quote(p) for p in parts)
    if len(parts) == 1:
        if name in wb.hub.lake_datasets():
            return quote(name)
        for source in sources:
            if isinstance(wb.source(source), WarehouseSource) and not wb.hub.problem(source):
                if (wb.tables(source)["table"] == name).any():
                    return f"{quote(source)}.{quote(name)}"
    raise UsageError(f"no table {name!r} in the catalog; name it as source.table (see wb.tables()), "
                     "or pass a SQL query or a DataFrame")
