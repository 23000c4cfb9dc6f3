"""The ``Workbench``: the one object notebooks, the CLI, reports and the scheduler start from.

A Workbench is a :class:`~workbench.query.session.Session` (sources, the DuckDB hub, the
query rules) plus what the layers above it do with one: ``load``, ``export`` and
``sync`` (writes), ``explore``/``browse``/``chart`` (Jupyter), ``run_report`` and
``run_many`` (reports). The module-level ``wb.*`` functions delegate to a default
Workbench built from the ``workbench.toml`` found from the working directory upward.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from .config import Config
from .query import default
from .query.rules import merge_params
from .query.session import Session

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class Workbench(Session):
    """Sources, hub and rules from one config, and everything done with them."""

    # -- writes -----------------------------------------------------------------------
    def load(self, data: Any, target: str, *, mode: str = "replace", source: str | None = None,
             params: Mapping[str, Any] | None = None, _frame=None):
        """Write ``data`` (DataFrame, Arrow, or SQL run on ``source``) into a warehouse table.

        ``mode="replace"`` swaps the whole table, ``"append"`` adds rows (creating the table
        if needed). One transaction: on any failure the old table is left as it was.
        """
        from .syncing.load import load

        return load(self, data, target, mode=mode, source=source, params=params, _frame=_frame or sys._getframe(1))

    def export(self, query: str, path, *, source: str | None = None, format: str | None = None,
               params: Mapping[str, Any] | None = None, progress: bool | None = None, _frame=None, **kwargs: Any):
        """Stream the result of ``query`` to a Parquet or CSV file, without a DataFrame.

        Memory stays bounded by one batch. The file appears under its name only when
        complete; a failure removes the partial file.
        """
        from .syncing.export import export

        return export(self, query, path, source=source, format=format, params=merge_params(params, kwargs),
                      progress=progress, _frame=_frame or sys._getframe(1))

    def sync(self, spec: str, **kwargs: Any):
        """Copy ``SOURCE.TABLE`` into the warehouse (or the lake), incrementally when asked."""
        from .syncing.incremental import sync

        return sync(self, spec, **kwargs)

    # -- Jupyter ----------------------------------------------------------------------
    def explore(self, target: Any, *, params: dict | None = None, static: bool | None = None, _frame=None):
        """Explore a table name, a SQL query or a DataFrame: preview, profile, charts, SQL."""
        from .notebook.exploring.widgets import explore

        return explore(target, params=params, static=static, workbench=self, _frame=_frame or sys._getframe(1))

    def browse(self, *, static: bool | None = None):
        """Sources -> tables -> columns, with a preview."""
        from .notebook.exploring.widgets import browse

        return browse(static=static, workbench=self)

    def chart(self, target: Any, kind: str = "bar", x: str | None = None, y: str | None = None, _frame=None,
              **kwargs: Any):
        """A plotly figure whose aggregate runs where the data lives (see :func:`workbench.chart`)."""
        from .notebook.exploring.charts import chart

        return chart(target, kind, x, y, workbench=self, _frame=_frame or sys._getframe(1), **kwargs)

    # -- reports ------------------------------------------------------------------------
    def run_report(self, target: str | Path, params: dict[str, Any] | None = None, **kwargs: Any):
        """Run a report (a ``[reports.NAME]`` or a notebook path) once with this config.

        With ``publish_to`` set the site is then mirrored to the store; a store that fails
        is a warning (one line), never an exception: the run's result stands.
        """
        from .reports.run import run_report

        result = run_report(target, params, config=self.config, **kwargs)
        self._publish_remote()
        return result

    def run_many(self, target: str | Path, grid: dict[str, Iterable[Any]] | list[dict[str, Any]] | None = None,
                 **kwargs: Any):
        """Run every parameter set of ``grid`` over worker processes; results in grid order (then published, as above)."""
        from .executors.local import run_many

        results = run_many(target, grid, config=self.config, **kwargs)
        self._publish_remote()
        return results

    def _publish_remote(self) -> None:
        if not self.config.settings.publish_to:
            return
        import warnings

        from .reports.remote import publish_quietly

        _result, error = publish_quietly(self.config)
        if error:
            warnings.warn(error, RuntimeWarning, stacklevel=3)


# ------------------------------------------------------------------ the default instance
def get_workbench() -> Workbench:
    """The default Workbench, rebuilt when the config file (or the directory) changes."""
    return default.current(Workbench)


def use(config: Config | str | Path | None = None) -> Workbench:
    """Make the Workbench of ``config`` the default for ``wb.sql`` and friends."""
    return default.use(Workbench, config)


def reset() -> None:
    """Forget the default Workbench (closing its connections)."""
    default.reset()


def sql(query: str, source: str | None = None, **kwargs: Any) -> "pd.DataFrame":
    return get_workbench().sql(query, source, _frame=sys._getframe(1), **kwargs)


def sql_arrow(query: str, source: str | None = None, **kwargs: Any) -> "pa.Table":
    return get_workbench().sql_arrow(query, source, _frame=sys._getframe(1), **kwargs)


def sql_batches(query: str, source: str | None = None, **kwargs: Any) -> Iterator["pa.RecordBatch"]:
    return get_workbench().sql_batches(query, source, _frame=sys._getframe(1), **kwargs)


def clear_cache() -> int:
    return get_workbench().clear_cache()


def sources(*, check: bool = True) -> "pd.DataFrame":
    return get_workbench().sources(check=check)


def tables(source: str | None = None) -> "pd.DataFrame":
    return get_workbench().tables(source)


def columns(source: str, table: str) -> "pd.DataFrame":
    return get_workbench().columns(source, table)


def load(data: Any, target: str, **kwargs: Any):
    return get_workbench().load(data, target, _frame=sys._getframe(1), **kwargs)


def export(query: str, path, **kwargs: Any):
    return get_workbench().export(query, path, _frame=sys._getframe(1), **kwargs)


def sync(spec: str, **kwargs: Any):
    return get_workbench().sync(spec, **kwargs)


for _f in (sql, sql_arrow, sql_batches, clear_cache, sources, tables, columns, load, export, sync):
    _f.__doc__ = getattr(Workbench, _f.__name__).__doc__
del _f

__all__ = ["Workbench", "get_workbench", "use", "reset", "sql", "sql_arrow", "sql_batches", "clear_cache", "sources", "tables",
           "columns", "load", "export", "sync"]
