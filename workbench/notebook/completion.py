"""Tab completion in ``%%sql`` cells: sources, ``source.table`` names and columns, from the catalogs."""

from __future__ import annotations

import time
from typing import Any

from ..errors import WorkbenchError
from ..connectors.warehouse import WarehouseSource
from ..query.default import session as get_workbench
from ..sqltext import table_refs

CATALOG_TTL = 60.0  # seconds a completion catalog is reused


class Catalog:
    """Source, table and column names for completion, cached for ``CATALOG_TTL`` seconds."""

    def __init__(self):
        self._cache: dict[tuple, tuple[float, list[str]]] = {}

    def _get(self, key: tuple, fetch) -> list[str]:
        hit = self._cache.get(key)
        if hit and time.monotonic() - hit[0] < CATALOG_TTL:
            return hit[1]
        try:
            names = fetch()
        except WorkbenchError:
            names = []
        self._cache[key] = (time.monotonic(), names)
        return names

    def sources(self) -> list[str]:
        return list(get_workbench().config.sources)

    def tables(self, source: str) -> list[str]:
        return self._get(("tables", source), lambda: [str(t) for t in get_workbench().tables(source)["table"]])

    def hub_tables(self) -> list[str]:
        """Names that work unqualified on the hub: lake datasets and warehouse tables."""
        wb = get_workbench()
        names = list(wb.hub.lake_datasets())
        for s in wb.config.sources:
            if isinstance(wb.source(s), WarehouseSource):
                names += self.tables(s)
        return names

    def columns(self, source: str | None, table: str) -> list[str]:
        wb = get_workbench()
        if source is None:
            found = wb.hub.lake_datasets().get(table)
            if found is not None:
                source = found[0]
            else:
                source = next((s for s in wb.config.sources if isinstance(wb.source(s), WarehouseSource)
                               and table in self.tables(s)), None)
            if source is None:
                return []
        return self._get(("columns", source, table),
                         lambda: [str(c) for c in get_workbench().columns(source, table)["column"]])


_MATCHERS: dict[int, Any] = {}  # per shell, so unloading removes what loading added


def completions(catalog: Catalog, full_text: str, token: str) -> list[str]:
    """Names for ``token`` inside a ``%%sql`` cell or on a ``%sql`` line."""
    lines = full_text.lstrip().split("\n")
    head = lines[0].split()
    cell_source = next((w for w in head[1:] if w in catalog.sources()), None) if head[:1] == ["%%sql"] else None
    if "." in token:
        prefix, part = token.rsplit(".", 1)
        if prefix in catalog.sources():
            return [f"{prefix}.{t}" for t in catalog.tables(prefix) if t.startswith(part)]
        return []
    names = set(catalog.sources())
    if cell_source:
        names |= set(catalog.tables(cell_source))
    else:
        names |= set(catalog.hub_tables())
    for ref in table_refs(full_text):
        if "." in ref:
            src, table = ref.split(".", 1)
            if src in catalog.sources():
                names |= set(catalog.columns(src, table))
        elif cell_source:
            names |= set(catalog.columns(cell_source, ref))
        else:
            names |= set(catalog.columns(None, ref))
    return sorted(n for n in names if n.startswith(token) and n != token)


def _matcher(catalog: Catalog):
    from IPython.core.completer import SimpleCompletion, completion_matcher

    @completion_matcher(identifier="workbench.sql", api_version=2, priority=1)
    def sql_matcher(context):
        text = context.full_text.lstrip()
        if not (text.startswith("%%sql") or context.line_with_cursor.lstrip().startswith("%sql")):
            return {"completions": [], "suppress": False}
        names = completions(catalog, context.full_text, context.token)
        return {"completions": [SimpleCompletion(n, type="sql") for n in names], "suppress": bool(names)}

    return sql_matcher


