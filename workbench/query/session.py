"""The Session: sources, the hub and the query rules built from one config.

Notebooks, the CLI, reports and the scheduler all reach data through a Session (the
:class:`~workbench.api.Workbench` facade wraps one), so each sees the same sources and
the same rules: bound parameters, the row cap, the statement timeout, read-only sources.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..config import Config, load_config
from ..connectors.base import HubBacked
from ..connectors.registry import make_source
from . import lineage
from .rules import check_query, merge_params, row_limit_error
from .scope import frame_tables

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from ..connectors.base import Source
    from ..connectors.hub import Hub


class Session:
    """Sources, hub and rules from one config."""

    def __init__(self, config: Config | str | Path | None = None):
        self.config = config if isinstance(config, Config) else load_config(config)
        self._sources: dict[str, Source] = {name: make_source(cfg) for name, cfg in self.config.sources.items()}
        self._hub: Hub | None = None
        self._hub_lock = threading.Lock()
        for src in self._sources.values():
            src.bind(self.config)
            if isinstance(src, HubBacked):
                src.hub_factory = lambda: self.hub

    @property
    def hub(self) -> "Hub":
        """The DuckDB hub over every source, made on first use (a query on one source,
        such as ``workbench sql app ...``, never imports DuckDB)."""
        if self._hub is None:
            with self._hub_lock:
                if self._hub is None:
                    from ..connectors.hub import Hub

                    self._hub = Hub(self.config, self._sources)
        return self._hub

    def __repr__(self) -> str:
        names = ", ".join(f"{s.name} ({s.role})" for s in self._sources.values())
        return f"<{type(self).__name__} {self.config.path or 'defaults'}: {names}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()
        for s in self._sources.values():
            s.close()

    # -- sources --------------------------------------------------------------------
    def source(self, name: str) -> "Source":
        if name not in self._sources:
            self.config.source(name)  # raises the ConfigError naming the known sources
        return self._sources[name]

    def sources(self, *, check: bool = True) -> "pd.DataFrame":
        """One row per source: name, role, kind, url (password redacted), read_only, reachable."""
        import pandas as pd

        rows = []
        for s in self._sources.values():
            problem = s.ping() if check else None
            rows.append({
                "name": s.name, "role": s.role, "kind": s.kind, "url": s.redacted_url,
                "read_only": s.read_only, "reachable": (problem is None) if check else None,
                "problem": problem or "",
            })
        return pd.DataFrame(rows, columns=["name", "role", "kind", "url", "read_only", "reachable", "problem"])

    # -- queries --------------------------------------------------------------------
    def _batches(self, query: str, source: str | None, params: Mapping[str, Any],
                 timeout: float | None, frame) -> Iterator["pa.RecordBatch"]:
        check_query(query)
        if timeout is None:
            timeout = self.config.settings.statement_timeout
        lineage.announce(self.config, query, source)
        if source is None:
            return self.hub.batches(query, params, timeout=timeout, tables=frame_tables(query, frame))
        return self.source(source).batches(query, params, timeout=timeout)

    def sql_arrow(self, query: str, source: str | None = None, *, params: Mapping[str, Any] | None = None,
                  max_rows: int | None = None, timeout: float | None = None, cache: bool = False, _frame=None,
                  **kwargs: Any) -> "pa.Table":
        """Like :meth:`sql`, as an Arrow table."""
        frame = _frame or sys._getframe(1)
        cap = max_rows or self.config.settings.max_rows
        merged = merge_params(params, kwargs)
        if not cache:
            return self._collect(query, source, merged, timeout, frame, cap)
        check_query(query)
        from .cache import ResultCache, cache_key, volatile

        frames = frame_tables(query, frame) if source is None else {}
        key = None
        if not volatile(query):
            before = self._fingerprints(query, source, frames)
            key = cache_key(query, source, merged, before) if before is not None else None
        store = ResultCache(self.config.cache_dir, self.config.settings.cache_max_bytes)
        if key is not None:
            hit = store.get(key)
            if hit is not None:
                if hit.num_rows > cap:
                    raise row_limit_error(source or "the hub", cap)
                lineage.announce(self.config, query, source)
                return hit
        table = self._collect(query, source, merged, timeout, frame, cap)
        # stored only if the data did not change while the query ran (else the result
        # could belong to a newer state than its key says)
        if key is not None and self._fingerprints(query, source, frames) == before:
            store.put(key, table)
        return table

    def _fingerprints(self, query: str, source: str | None, frames) -> dict[str, str] | None:
        from .fingerprints import statement_fingerprints

        return statement_fingerprints(self, query, source, frames)

    def _collect(self, query: str, source: str | None, params: Mapping[str, Any], timeout: float | None,
                 frame, cap: int) -> "pa.Table":
        from ..arrow.rows import collect

        it = self._batches(query, source, params, timeout, frame)
        kept: list[pa.RecordBatch] = []
        rows = 0
        try:
            for batch in it:
                rows += batch.num_rows
                if rows > cap:
                    raise row_limit_error(source or "the hub", cap)
                kept.append(batch)
        finally:
            close = getattr(it, "close", None)
            if close:
                close()
        return collect(kept)

    def clear_cache(self) -> int:
        """Empty the result cache of ``sql(..., cache=True)``; the number of entries removed."""
        from .cache import ResultCache

        return ResultCache(self.config.cache_dir, self.config.settings.cache_max_bytes).clear()

    def sql(self, query: str, source: str | None = None, *, params: Mapping[str, Any] | None = None,
            max_rows: int | None = None, timeout: float | None = None, cache: bool = False, _frame=None,
            **kwargs: Any) -> "pd.DataFrame":
        """Run ``query`` and return a DataFrame with Arrow-backed dtypes.

        ``source=None`` runs on the DuckDB hub, where the warehouse, the lake datasets,
        every OLTP source (as ``name.table``) and the DataFrames in your scope are tables.
        ``source="app"`` runs natively on that source, in its own dialect.

        Parameters are ``:name`` in the text and keyword arguments here (or ``params=``
        for names such as ``source``); they are bound by the driver, never pasted in.

        ``cache=True`` reuses the result of the same statement, parameters and source
        while the fingerprints of every table it reads are unchanged, in this process or
        another (stored under ``[workbench] cache_dir``); when any of them is unknown
        the query simply runs. See docs/fingerprints.md.
        """
        from ..arrow.dtypes import to_pandas

        frame = _frame or sys._getframe(1)
        table = self.sql_arrow(query, source, params=params, max_rows=max_rows, timeout=timeout, cache=cache,
                               _frame=frame, **kwargs)
        return to_pandas(table)

    def sql_batches(self, query: str, source: str | None = None, *, params: Mapping[str, Any] | None = None,
                    timeout: float | None = None, _frame=None, **kwargs: Any) -> Iterator["pa.RecordBatch"]:
        """Stream a result of any size as Arrow record batches (no row cap)."""
        frame = _frame or sys._getframe(1)
        return self._batches(query, source, merge_params(params, kwargs), timeout, frame)

    # -- catalog --------------------------------------------------------------------
    def tables(self, source: str | None = None) -> "pd.DataFrame":
        """Tables and views: source, schema, table, kind, estimated rows."""
        from ..connectors import catalog

        if source is not None:
            self.source(source)
        return catalog.tables(self._sources, source)

    def columns(self, source: str, table: str) -> "pd.DataFrame":
        """Columns of ``table`` in ``source``: column, type, nullable, position."""
        from ..connectors import catalog

        return catalog.columns(self.source(source), table)

    def primary_key(self, source: str, table: str) -> list[str]:
        """The primary-key columns of ``table`` (empty when none, or the kind can't tell)."""
        return self.source(source).primary_key(table)
