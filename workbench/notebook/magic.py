"""``%load_ext workbench``: the ``%sql`` and ``%%sql`` magics.

``%%sql [SOURCE] [-o NAME] [--limit N]`` runs the cell's SQL on SOURCE in its own dialect,
or on the DuckDB hub without one, where the notebook's DataFrames (and earlier ``-o``
results) are tables by name. ``%sql [SOURCE] [-o NAME] [--limit N] QUERY`` does the same
for one line and can be assigned: ``df = %sql select ...``.

- ``:name`` takes the value of the notebook variable ``name`` and binds it through the
  driver; the value never enters the SQL text, whatever it holds. PostgreSQL ``::casts``
  are not placeholders (:func:`workbench.sqltext.placeholders`).
- The result is a pandas DataFrame (Arrow-backed, fetched as Arrow batches) that shows
  itself as a bounded preview: the first rows, the row count, the time taken and the
  source. It is ``_`` (and ``Out[n]``) like any cell result, and ``NAME`` with ``-o``.
- Errors show the database's message and where in the query it points, without a
  traceback through workbench; they still fail the cell, so a report run stops there.
- Tab completes source names, ``source.table`` names and the columns of the tables the
  cell names, from the catalogs (cached briefly: a catalog query per keystroke would be
  felt).

The notebook's namespace is handed to the hub explicitly (a frame-like object whose
``f_locals`` is ``shell.user_ns``), which is exactly what ``wb.sql``'s DataFrame lookup
reads; nothing depends on the magic's own call stack.
"""

from __future__ import annotations

import time
from typing import Any

from ..arrow.dtypes import to_pandas
from ..arrow.rows import collect
from ..errors import UsageError, WorkbenchError
from ..query.default import session as get_workbench
from ..query.scope import Namespace
from ..sqltext import placeholders
from .completion import _MATCHERS, Catalog, _matcher, completions  # noqa: F401
from .display import SqlResult, _caption
from .options import parse
from .positions import locate, with_position  # noqa: F401 - tests and callers import them here


# -- the magics ------------------------------------------------------------------------------
def run_sql(shell, line: str, cell: str | None) -> SqlResult:
    wb = get_workbench()
    source, out, limit, rest = parse(line, set(wb.config.sources), cell=cell is not None)
    query = cell if cell is not None else rest
    if not query or not query.strip():
        raise UsageError("no SQL to run: %sql [SOURCE] [-o NAME] [--limit N] QUERY, or %%sql with the query "
                         "in the cell")
    ns = shell.user_ns
    params: dict[str, Any] = {}
    for p in placeholders(query):
        if p.name not in ns:
            raise UsageError(f":{p.name} in the query is not a notebook variable; set {p.name} = ... in a cell "
                             "first (its value is bound, never pasted into the SQL)")
        params[p.name] = ns[p.name]
    frame = Namespace(ns, ns)
    start = time.perf_counter()
    try:
        if limit:
            batches, rows = [], 0
            it = wb.sql_batches(query, source, params=params, _frame=frame)
            try:
                for b in it:
                    batches.append(b.slice(0, limit - rows))
                    rows += batches[-1].num_rows
                    if rows >= limit:
                        break
            finally:
                it.close()
            table = collect(batches)
        else:
            table = wb.sql_arrow(query, source, params=params, _frame=frame)
    except WorkbenchError as e:
        err = type(e)(with_position(str(e), query))
        err.sql_cell = True
        raise err from None
    elapsed = time.perf_counter() - start
    result = SqlResult(to_pandas(table))
    result._wb_caption = _caption(len(result), elapsed, source, bool(limit) and len(result) >= limit)
    if out:
        ns[out] = result
    return result


def _short_error(shell, etype, value, tb, tb_offset=None):
    """Errors of a SQL cell show as one message; other workbench errors keep their traceback."""
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset,
                        exception_only=getattr(value, "sql_cell", False))
    return []


def load_ipython_extension(shell) -> None:
    """Register ``%sql``/``%%sql``, their error display and their tab completion."""
    from IPython.core.magic import Magics, line_cell_magic, magics_class

    @magics_class
    class SqlMagics(Magics):
        @line_cell_magic
        def sql(self, line: str, cell: str | None = None):
            """%%sql [SOURCE] [-o NAME] [--limit N]: run the cell's SQL (see workbench.magic)."""
            return run_sql(self.shell, line, cell)

    shell.register_magics(SqlMagics)
    shell.set_custom_exc((WorkbenchError,), _short_error)
    matcher = _matcher(Catalog())
    shell.Completer.custom_matchers.append(matcher)
    _MATCHERS[id(shell)] = matcher


def unload_ipython_extension(shell) -> None:
    matcher = _MATCHERS.pop(id(shell), None)
    if matcher in shell.Completer.custom_matchers:
        shell.Completer.custom_matchers.remove(matcher)
    shell.set_custom_exc((), None)
