"""``%load_ext workbench``: the ``%sql`` and ``%%sql`` magics.

``%%sql [SOURCE] [-o NAME] [--limit N]`` runs the cell's SQL on SOURCE in its own dialect,
or on the DuckDB hub without one, where the notebook's DataFrames (and earlier ``-o``
results) are tables by name. ``%sql [SOURCE] [-o NAME] [--limit N] QUERY`` does the same
for one line and can be assigned: ``df = %sql select ...``.

- ``:name`` takes the value of the notebook variable ``name`` and binds it through the
  driver; the value never enters the SQL text, whatever it holds. PostgreSQL ``::casts``
  are not placeholders (:func:`workbench.binding.placeholders`).
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

import html
import re
import time
from typing import Any

import pandas as pd

from . import binding
from .core import get_workbench
from .dtypes import to_pandas
from .errors import UsageError, WorkbenchError
from .exploring.target import Namespace
from .rows import collect

PREVIEW_ROWS = 10
CATALOG_TTL = 60.0  # seconds a completion catalog is reused

_OPTION = re.compile(r"\s*(\S+)")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


class SqlResult(pd.DataFrame):
    """A query result: an ordinary DataFrame that displays as a bounded preview.

    Operations on it return plain DataFrames; only the object a ``%sql`` cell returned
    knows its row count, timing and source.
    """

    _metadata = ["_wb_caption"]

    def _ipython_display_(self) -> None:
        from IPython.display import publish_display_data

        caption = getattr(self, "_wb_caption", f"{len(self):,} rows")
        head = pd.DataFrame(self.head(PREVIEW_ROWS))
        more = f" · first {PREVIEW_ROWS} shown" if len(self) > PREVIEW_ROWS else ""
        body = head.to_html(index=False, na_rep="NULL", border=0, classes="wb-sql-result", max_cols=50)
        publish_display_data({
            "text/plain": f"{head.to_string(index=False, max_cols=20)}\n[{caption}{more}]",
            "text/html": f'<div class="wb-sql">{body}<p class="wb-sql-caption" style="color:#666">'
                         f"{html.escape(caption + more)}</p></div>",
        })


def _caption(rows: int, seconds: float, source: str | None, limited: bool) -> str:
    count = f"{rows:,} row{'s' if rows != 1 else ''}" + (" (limit reached)" if limited else "")
    return f"{count} · {seconds:.2f} s · {source or 'hub'}"


def parse(line: str, sources: set[str], *, cell: bool) -> tuple[str | None, str | None, int | None, str]:
    """``(source, output name, limit, rest of the line)`` from a magic's line."""
    source = out = None
    limit = None
    pos = 0
    while True:
        m = _OPTION.match(line, pos)
        if not m:
            break
        tok = m.group(1)
        if tok in ("-o", "--out", "--limit"):
            n = _OPTION.match(line, m.end())
            if not n:
                raise UsageError(f"{tok} needs a value: %%sql [SOURCE] [-o NAME] [--limit N]")
            val = n.group(1)
            if tok == "--limit":
                if not val.isdigit() or int(val) <= 0:
                    raise UsageError(f"--limit takes a positive number of rows, not {val!r}")
                limit = int(val)
            else:
                if not _IDENTIFIER.match(val):
                    raise UsageError(f"-o takes a Python variable name, not {val!r}")
                out = val
            pos = n.end()
        elif tok.startswith("--limit="):
            return parse(line[:m.start()] + " --limit " + tok.split("=", 1)[1] + line[m.end():], sources, cell=cell)
        elif source is None and tok in sources:
            source = tok
            pos = m.end()
        elif cell:
            raise UsageError(f"%%sql does not know {tok!r}: give a source ({', '.join(sorted(sources))}), "
                             "-o NAME or --limit N")
        else:
            break
    return source, out, limit, line[pos:].strip()


# -- error position ----------------------------------------------------------------------
_NEAR = [
    re.compile(r'at or near "((?:[^"]|"")+)"'),
    re.compile(r"near '(.{1,30})"),  # MySQL: near 'frm x where ...' at line 2
    re.compile(r'near "((?:[^"]|"")+)"'),  # SQLite
    re.compile(r'[Cc]olumn "((?:[^"]|"")+)"'),
    re.compile(r'no such (?:column|table): (\S+)'),
    re.compile(r'Table with name (\S+) does not exist'),
    re.compile(r"Unknown column '([^']+)'"),
    re.compile(r'"((?:[^"]|"")+)"'),
]


def locate(message: str, query: str) -> tuple[int, int] | None:
    """(line, column), 1-based, of the part of ``query`` the database's message points at."""
    want_line = None
    m = re.search(r"at line (\d+)", message)
    if m:
        want_line = int(m.group(1))
    for rx in _NEAR:
        for m in rx.finditer(message):
            token = m.group(1).replace('""', '"').rstrip("'")
            token = token.split("'")[0] if rx.pattern.startswith("near '") else token
            if not token.strip():
                continue
            for i, text in enumerate(query.split("\n"), 1):
                if want_line and i != want_line:
                    continue
                j = text.lower().find(token.lower())
                if j < 0 and "." in token:
                    j = text.lower().find(token.split(".")[-1].lower())
                if j >= 0:
                    return i, j + 1
    return None


def with_position(message: str, query: str) -> str:
    where = locate(message, query)
    if where is None:
        return message
    line, col = where
    text = query.split("\n")[line - 1]
    return f"{message}\n  at line {line}, column {col}:\n    {text}\n    {' ' * (col - 1)}^"


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
    for p in binding.placeholders(query):
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


# -- completion -------------------------------------------------------------------------------
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
        names = list(wb.config.lake)
        for s in wb.config.sources:
            if wb.source(s).kind == "duckdb":
                names += self.tables(s)
        return names

    def columns(self, source: str | None, table: str) -> list[str]:
        wb = get_workbench()
        if source is None:
            if table in wb.config.lake:
                source = next((s for s in wb.config.sources if wb.source(s).kind == "lake"), None)
            else:
                source = next((s for s in wb.config.sources if wb.source(s).kind == "duckdb"
                               and table in self.tables(s)), None)
            if source is None:
                return []
        return self._get(("columns", source, table),
                         lambda: [str(c) for c in get_workbench().columns(source, table)["column"]])


_MATCHERS: dict[int, Any] = {}  # per shell, so unloading removes what loading added
_TABLE_REF = re.compile(r"\b(?:from|join)\s+([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?)", re.IGNORECASE)


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
    for ref in _TABLE_REF.findall(full_text):
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
