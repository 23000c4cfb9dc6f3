"""The ``Workbench``: the one object notebooks, the CLI and the scheduler all start from.

It is built from a :class:`~workbench.config.Config`, owns one :class:`~workbench.sources.Source`
per configured source and the DuckDB hub, and applies the query rules (bound
parameters, row cap, statement timeout) the same way for every caller.

The module-level functions of ``workbench`` (``wb.sql`` ...) use a default Workbench
built from the ``workbench.toml`` found from the working directory upward.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd
import pyarrow as pa

from .config import Config, load_config
from .dtypes import to_pandas
from .errors import ParameterError, RowLimitError, UsageError, WorkbenchError
from .hub import Hub
from .rows import collect
from .connectors import HubSource, Source, make_source

def _merge_params(params: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(params or {})
    for k, v in kwargs.items():
        if k in merged:
            raise ParameterError(f"parameter {k!r} is given twice (as {k}= and in params=); give it once")
        merged[k] = v
    return merged


class Workbench:
    """Sources, hub and rules from one config."""

    def __init__(self, config: Config | str | Path | None = None):
        self.config = config if isinstance(config, Config) else load_config(config)
        self._sources: dict[str, Source] = {name: make_source(cfg) for name, cfg in self.config.sources.items()}
        self.hub = Hub(self.config, self._sources)
        for s in self._sources.values():
            if isinstance(s, HubSource):
                s.hub = self.hub

    def __repr__(self) -> str:
        names = ", ".join(f"{s.name} ({s.role})" for s in self._sources.values())
        return f"<Workbench {self.config.path or 'defaults'}: {names}>"

    def __enter__(self) -> "Workbench":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.hub.close()
        for s in self._sources.values():
            s.close()

    # -- sources --------------------------------------------------------------------
    def source(self, name: str) -> Source:
        if name not in self._sources:
            self.config.source(name)  # raises the ConfigError naming the known sources
        return self._sources[name]

    def sources(self, *, check: bool = True) -> pd.DataFrame:
        """One row per source: name, role, kind, url (password redacted), read_only, reachable."""
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
                 timeout: float | None, frame) -> Iterator[pa.RecordBatch]:
        if not isinstance(query, str) or not query.strip():
            raise UsageError("the query is empty; pass the SQL text as the first argument")
        if timeout is None:
            timeout = self.config.settings.statement_timeout
        self._note_sources(query, source)
        if source is None:
            return self.hub.batches(query, params, timeout=timeout, frame=frame)
        return self.source(source).batches(query, params, timeout=timeout)

    def _note_sources(self, query: str, source: str | None) -> None:
        """Tell a running report which sources it used (its header lists them)."""
        from .recording import note_source

        if source is not None:
            note_source(source)
            return
        from .hub import identifiers

        words = identifiers(query)
        lakes = [n for n, s in self.config.sources.items() if s.role == "lake"]
        used = {n for n in self.config.sources if n in words}
        if any(ds in words for ds in self.config.lake):
            used.update(lakes)
        if not used:  # unqualified names resolve to the warehouse
            used = {n for n, s in self.config.sources.items() if s.role == "warehouse"}
        for name in sorted(used):
            note_source(name)

    def sql_arrow(self, query: str, source: str | None = None, *, params: Mapping[str, Any] | None = None,
                  max_rows: int | None = None, timeout: float | None = None, _frame=None, **kwargs: Any) -> pa.Table:
        """Like :meth:`sql`, as an Arrow table."""
        frame = _frame or sys._getframe(1)
        cap = max_rows or self.config.settings.max_rows
        merged = _merge_params(params, kwargs)
        it = self._batches(query, source, merged, timeout, frame)
        kept: list[pa.RecordBatch] = []
        rows = 0
        try:
            for batch in it:
                rows += batch.num_rows
                if rows > cap:
                    where = source or "the hub"
                    raise RowLimitError(
                        f"the result on {where} has more than {cap:,} rows; aggregate in SQL (GROUP BY, "
                        f"LIMIT), stream it with wb.sql_batches / wb.export, or raise the cap with "
                        f"max_rows=... (or max_rows in workbench.toml)"
                    )
                kept.append(batch)
        finally:
            close = getattr(it, "close", None)
            if close:
                close()
        return collect(kept)

    def sql(self, query: str, source: str | None = None, *, params: Mapping[str, Any] | None = None,
            max_rows: int | None = None, timeout: float | None = None, _frame=None, **kwargs: Any) -> pd.DataFrame:
        """Run ``query`` and return a DataFrame with Arrow-backed dtypes.

        ``source=None`` runs on the DuckDB hub, where the warehouse, the lake datasets,
        every OLTP source (as ``name.table``) and the DataFrames in your scope are tables.
        ``source="app"`` runs natively on that source, in its own dialect.

        Parameters are ``:name`` in the text and keyword arguments here (or ``params=``
        for names such as ``source``); they are bound by the driver, never pasted in.
        """
        frame = _frame or sys._getframe(1)
        table = self.sql_arrow(query, source, params=params, max_rows=max_rows, timeout=timeout,
                               _frame=frame, **kwargs)
        return to_pandas(table)

    def sql_batches(self, query: str, source: str | None = None, *, params: Mapping[str, Any] | None = None,
                    timeout: float | None = None, _frame=None, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        """Stream a result of any size as Arrow record batches (no row cap)."""
        frame = _frame or sys._getframe(1)
        return self._batches(query, source, _merge_params(params, kwargs), timeout, frame)

    # -- catalog --------------------------------------------------------------------
    def tables(self, source: str | None = None) -> pd.DataFrame:
        """Tables and views: schema, name, kind, estimated rows."""
        from .catalog import tables

        return tables(self, source)

    def columns(self, source: str, table: str) -> pd.DataFrame:
        """Columns of ``table`` in ``source``: name, type, nullable."""
        from .catalog import columns

        return columns(self, source, table)


# ------------------------------------------------------------------ the default instance
_default: Workbench | None = None
_default_key: tuple | None = None
_default_lock = threading.Lock()


def _key() -> tuple:
    from .config import find_config

    path = find_config()
    if path is None:
        return (None, str(Path.cwd()))
    return (str(path), path.stat().st_mtime_ns)


def get_workbench() -> Workbench:
    """The default Workbench, rebuilt when the config file (or the directory) changes."""
    global _default, _default_key
    with _default_lock:
        key = _key()
        if _default is None or (key != _default_key and _default_key != ("explicit",)):
            if _default is not None:
                _default.close()
            _default = Workbench()
            _default_key = key
        return _default


def use(config: Config | str | Path | None = None) -> Workbench:
    """Make the Workbench of ``config`` the default for ``wb.sql`` and friends."""
    global _default, _default_key
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Workbench(config)
        _default_key = ("explicit",) if config is not None else _key()
        return _default


def reset() -> None:
    """Forget the default Workbench (closing its connections)."""
    global _default, _default_key
    with _default_lock:
        if _default is not None:
            _default.close()
        _default, _default_key = None, None


def sql(query: str, source: str | None = None, **kwargs: Any) -> pd.DataFrame:
    return get_workbench().sql(query, source, _frame=sys._getframe(1), **kwargs)


def sql_arrow(query: str, source: str | None = None, **kwargs: Any) -> pa.Table:
    return get_workbench().sql_arrow(query, source, _frame=sys._getframe(1), **kwargs)


def sql_batches(query: str, source: str | None = None, **kwargs: Any) -> Iterator[pa.RecordBatch]:
    return get_workbench().sql_batches(query, source, _frame=sys._getframe(1), **kwargs)


def sources(*, check: bool = True) -> pd.DataFrame:
    return get_workbench().sources(check=check)


def tables(source: str | None = None) -> pd.DataFrame:
    return get_workbench().tables(source)


def columns(source: str, table: str) -> pd.DataFrame:
    return get_workbench().columns(source, table)


sql.__doc__ = Workbench.sql.__doc__
sql_arrow.__doc__ = Workbench.sql_arrow.__doc__
sql_batches.__doc__ = Workbench.sql_batches.__doc__
sources.__doc__ = Workbench.sources.__doc__
tables.__doc__ = Workbench.tables.__doc__
columns.__doc__ = Workbench.columns.__doc__
__all__ = ["Workbench", "WorkbenchError", "get_workbench", "use", "reset", "sql", "sql_arrow",
           "sql_batches", "sources", "tables", "columns"]


def load(data: Any, target: str, *, mode: str = "replace", source: str | None = None,
         params: Mapping[str, Any] | None = None):
    from .writes import load as _load

    return _load(get_workbench(), data, target, mode=mode, source=source, params=params, _frame=sys._getframe(1))


def export(query: str, path, *, source: str | None = None, format: str | None = None,
           params: Mapping[str, Any] | None = None, progress: bool | None = None, **kwargs: Any):
    from .writes import export as _export

    return _export(get_workbench(), query, path, source=source, format=format,
                   params=_merge_params(params, kwargs), progress=progress, _frame=sys._getframe(1))


def sync(spec: str, **kwargs: Any):
    from .syncing import sync as _sync

    return _sync(get_workbench(), spec, **kwargs)


from . import syncing as _sync_module, writes as _writes  # noqa: E402

load.__doc__ = _writes.load.__doc__
export.__doc__ = _writes.export.__doc__
sync.__doc__ = _sync_module.sync.__doc__
__all__ += ["load", "export", "sync"]
