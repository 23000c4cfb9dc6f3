"""The ipywidgets UI: ``wb.explore(target)`` and ``wb.browse()``.

Widgets only ever hold a page of rows, a profile and aggregated chart arrays: every
control change becomes a statement from :mod:`~workbench.exploring.sqlgen` run in the hub,
and the statement is shown in the SQL tab so the view can be pasted into a cell.

Without a widget frontend (a notebook run by papermill or nbclient, a plain Python
shell) widgets would render as nothing, so ``explore`` and ``browse`` show static
output instead: the profile table and plotly figures, which a report keeps.
"""

from __future__ import annotations

import html
import json
import os
import sys
from typing import Any

import ipywidgets as W
import pandas as pd

from ...errors import UsageError, WorkbenchError
from . import charts, profiling, sqlgen
from .sqlgen import ChartSpec, Filter, Query
from .target import Target, resolve

PAGE_ROWS = 50
STATIC_CHARTS = 6  # figures a headless explore shows, after the profile table


def widgets_available() -> bool:
    """Whether a widget frontend is attached to this kernel.

    ``WORKBENCH_WIDGETS=0/1`` decides when set (report runners set 0). Otherwise widgets
    need an IPython kernel with a frontend: one a Jupyter server started for a notebook
    session (it sets ``JPY_SESSION_NAME``; JupyterLab creates its widget manager lazily,
    so the kernel cannot wait to hear from it), or one whose frontend has already opened
    ipywidgets' control channel. papermill and nbclient start kernels with neither.
    """
    env = os.environ.get("WORKBENCH_WIDGETS", "").strip().lower()
    if env:
        return env not in ("0", "false", "no", "off")
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    return bool(os.environ.get("JPY_SESSION_NAME")) or W.Widget._control_comm is not None


def figure_output(fig) -> dict:
    """A display_data output of ``fig`` as plotly's own mimetype (rendered offline by jupyterlab-plotly)."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.plotly.v1+json": {**json.loads(fig.to_json()), "config": {"displaylogo": False}},
                     "text/plain": f"<plotly figure: {fig.layout.title.text or ''}>"}}


CELL_CHARS = 60  # longer values are cut in previews (the full value is one query away)
CHAR_PX = 8  # column widths are set in pixels from the longest value on the page, so the
PAD_PX = 18  # header buttons (widgets of their own) and the table's columns line up
MAX_COL_PX = 360

#: the grid's look; the header buttons and the table use the same widths and borders
GRID_CSS = """<style>
.wb-grid table{border-collapse:separate;border-spacing:0;table-layout:fixed;margin:0;
  font:12px/1.45 var(--jp-code-font-family,monospace)}
.wb-grid td,.wb-grid th{box-sizing:border-box;border:solid var(--jp-border-color2,#ddd);border-width:0 1px 1px 0;
  padding:2px 8px;
  overflow:hidden;text-overflow:ellipsis;white-space:nowrap;text-align:left}
.wb-grid th{background:var(--jp-layout-color2,#f3f3f3);font-weight:600}
.wb-grid tbody tr:nth-child(even){background:var(--jp-layout-color1,#fafafa)}
.wb-grid .wb-num{text-align:right;font-variant-numeric:tabular-nums}
.wb-grid .wb-bool{color:#0b5cad}.wb-grid .wb-null{color:#999;font-style:italic}
.wb-grid-head{position:sticky;top:0;z-index:2;gap:0!important}
.wb-grid-head .widget-button,.wb-grid-head button{box-sizing:border-box;margin:0!important;height:24px;
  border:solid var(--jp-border-color2,#ddd);border-width:0 1px 1px 0;border-radius:0;padding:0 8px;
  font:600 12px/22px var(--jp-code-font-family,monospace);text-align:left;overflow:hidden;
  text-overflow:ellipsis;background:var(--jp-layout-color2,#f3f3f3);box-shadow:none}
.wb-grid-head .wb-num{text-align:right}
.wb-grid-head .wb-sorted{background:var(--jp-brand-color3,#d8e8f8)}
</style>"""


def _cell(v: Any, family: str | None) -> tuple[str, str]:
    """(HTML, class) of one value: NULL said as NULL (styled apart), booleans as true/false."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return '<span class="wb-null">NULL</span>', "wb-num" if family == "numeric" else ""
    if isinstance(v, bool):
        return ("true" if v else "false"), "wb-bool"
    text = str(v)
    text = text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"
    return html.escape(text), "wb-num" if family == "numeric" else ""


def _families(df: pd.DataFrame) -> dict[str, str]:
    """Each column's family (numeric, boolean, ...) from its Arrow type, for frames without a relation."""
    import pyarrow as pa

    out = {}
    for c in df.columns:
        try:
            t = pa.array(df[c]).type
        except Exception:
            continue
        out[c] = ("numeric" if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
                  else "boolean" if pa.types.is_boolean(t) else "other")
    return out


def column_widths(df: pd.DataFrame, headers: dict[str, str] | None = None) -> list[int]:
    """A pixel width per column: its header or longest value on the page, clamped."""
    widths = []
    for c in df.columns:
        longest = max([len((headers or {}).get(c, str(c))) + 2,
                       *(min(len(str(v)), CELL_CHARS) for v in df[c].tolist()), 4])
        widths.append(min(MAX_COL_PX, longest * CHAR_PX + PAD_PX))
    return widths


def _table_html(df: pd.DataFrame, *, families: dict[str, str] | None = None, widths: list[int] | None = None,
                header: bool = True) -> str:
    """A page of rows as a typed grid: numbers right-aligned, NULL styled apart, booleans as
    true/false, long values cut; fixed column widths (``widths``) so a header drawn apart
    (the explorer's sort buttons) lines up with its column."""
    families = families if families is not None else _families(df)
    widths = widths or column_widths(df)
    cols = "".join(f'<col style="width:{w}px">' for w in widths)
    head = ""
    if header:
        head = "<thead><tr class=\"wb-head\">" + "".join(
            f'<th class="{"wb-num" if families.get(c) == "numeric" else ""}" title="{html.escape(str(c))}">'
            f"{html.escape(str(c))}</th>" for c in df.columns) + "</tr></thead>"
    body = []
    columns = [df[c].tolist() for c in df.columns]
    for row in zip(*columns):
        cells = []
        for c, v in zip(df.columns, row):
            text, cls = _cell(v, families.get(c))
            cells.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    table = (f'<table class="wb-page" style="width:{sum(widths)}px"><colgroup>{cols}</colgroup>{head}'
             f'<tbody>{"".join(body)}</tbody></table>')
    return f'{GRID_CSS}<div class="wb-grid">{table}</div>'


def _error_html(e: Exception) -> str:
    return f'<div class="wb-error" style="color:#b00020;white-space:pre-wrap">{html.escape(str(e))}</div>'


def snippet(query: Query, target: Target) -> str:
    """Python that reruns ``query`` in a notebook cell: the SQL as text, its values bound."""
    sql = query.sql
    if target.name_in_scope:
        sql = sql.replace(target.relation.sql, target.name_in_scope)
    params = ", ".join(f"{k}={v!r}" for k, v in query.params.items())
    return f'wb.sql("""\n{sql}\n"""' + (f", {params}" if params else "") + ")"


class Explorer(W.VBox):
    """Preview, profile, chart and SQL of one target; drive it by setting its widgets' values."""

    def __init__(self, target: Target, *, page_rows: int = PAGE_ROWS):
        self.target = target
        self.page_rows = page_rows
        self.page = 0
        self.filters: list[Filter] = []
        self.query: Query | None = None  # the statement behind the view on screen
        self.queries: dict[str, list[Query]] = {}
        self.figure = None
        self.profile: profiling.Profile | None = None
        self.total: int | None = None
        rel = target.relation
        names = rel.names
        none = [("—", None)]
        cols = [(n, n) for n in names]
        self.status = W.HTML()

        # preview
        self.sort = W.Dropdown(options=none + cols, value=None, description="sort by")
        self.descending = W.Checkbox(value=False, description="descending", indent=False)
        self.filter_column = W.Dropdown(options=cols, description="filter")
        self.filter_op = W.Dropdown(options=sqlgen.OPERATORS, value="=", layout=W.Layout(width="110px"))
        self.filter_value = W.Text(placeholder="value", layout=W.Layout(width="180px"))
        self.add_filter = W.Button(description="add filter", icon="filter")
        self.clear_filters = W.Button(description="clear filters")
        self.filter_list = W.HTML()
        self.prev_page = W.Button(description="◀ previous", layout=W.Layout(width="110px"))
        self.next_page = W.Button(description="next ▶", layout=W.Layout(width="110px"))
        self.page_label = W.HTML()
        self.table = W.HTML(layout=W.Layout(margin="0", flex="0 0 auto"))
        # the grid's header: one button per column (a click sorts in the database), laid
        # out with the same pixel widths as the table's columns below it
        self.headers = [W.Button(description=n, tooltip=f"{n} ({c.type}): click to sort", layout=W.Layout(
            margin="0", flex="0 0 auto")) for n, c in zip(names, rel.columns)]
        for button, name in zip(self.headers, names):
            button.add_class("wb-grid-header")
            if rel.column(name).family == "numeric":
                button.add_class("wb-num")
            button.on_click(lambda _, name=name: self._run(lambda: self.sort_by_header(name)))
        self.header_row = W.HBox(self.headers, layout=W.Layout(margin="0", flex="0 0 auto", overflow="visible"))
        self.header_row.add_class("wb-grid-head")
        self.grid = W.VBox([self.header_row, self.table], layout=W.Layout(
            overflow="auto", max_height="480px", width="100%", align_items="flex-start"))
        self.grid.add_class("wb-grid-box")
        self._batch = False
        preview = W.VBox([
            W.HBox([self.sort, self.descending]),
            W.HBox([self.filter_column, self.filter_op, self.filter_value, self.add_filter, self.clear_filters]),
            self.filter_list, W.HBox([self.prev_page, self.next_page, self.page_label]), self.grid])

        # profile
        self.profile_table = W.HTML()
        self.profile_column = W.Dropdown(options=none + cols, value=None, description="histogram")
        self.profile_chart = W.Output()
        profile_box = W.VBox([self.profile_table, self.profile_column, self.profile_chart])

        # chart
        self.kind = W.Dropdown(options=sqlgen.KINDS, value="bar", description="kind")
        self.x = W.Dropdown(options=none + cols, value=None, description="x")
        self.y = W.Dropdown(options=none + cols, value=None, description="y")
        self.agg = W.Dropdown(options=list(sqlgen.AGGREGATES), value="count", description="aggregate")
        self.color = W.Dropdown(options=none + cols, value=None, description="colour")
        self.bucket = W.Dropdown(options=none + [(b, b) for b in sqlgen.BUCKETS], value=None, description="time bucket")
        self.chart_output = W.Output()
        chart_box = W.VBox([W.HBox([self.kind, self.x, self.y]), W.HBox([self.agg, self.color, self.bucket]),
                            self.chart_output])

        # sql
        self.sql_text = W.Textarea(layout=W.Layout(width="100%", height="260px"))
        sql_box = W.VBox([W.HTML("The statement behind the current view; paste it into a cell."), self.sql_text])

        self.tabs = W.Tab(children=[preview, profile_box, chart_box, sql_box])
        for i, title in enumerate(("Preview", "Profile", "Chart", "SQL")):
            self.tabs.set_title(i, title)
        header = W.HTML(f"<b>{html.escape(rel.label)}</b> · {len(names)} columns")
        super().__init__([header, self.tabs, self.status])
        self.add_class("wb-explorer")
        self._view = "preview"

        self.sort.observe(self._resort, "value")
        self.descending.observe(self._resort, "value")
        self.add_filter.on_click(lambda _: self._run(lambda: self.add(
            self.filter_column.value, self.filter_op.value, self.filter_value.value)))
        self.clear_filters.on_click(lambda _: self.clear())
        self.prev_page.on_click(lambda _: self.go(self.page - 1))
        self.next_page.on_click(lambda _: self.go(self.page + 1))
        self.profile_column.observe(lambda _: self._show_histogram(), "value")
        for w in (self.kind, self.x, self.y, self.agg, self.color, self.bucket):
            w.observe(lambda _: self.draw(), "value")
        self.tabs.observe(self._tab, "selected_index")
        self.refresh_preview()

    # -- state changes (what the buttons do; callable from Python too) --------------------
    def add(self, column: str, op: str, value: Any = None) -> None:
        """Add a filter (checked against the columns; the value is bound) and refresh every view."""
        if op not in sqlgen.OPERATORS:
            raise UsageError(f"unknown filter operator {op!r}; use one of: {', '.join(sqlgen.OPERATORS)}")
        self.filters.append(Filter(self.target.relation.column(column).name, op, value))
        self._filters_changed()

    def clear(self) -> None:
        self.filters = []
        self._filters_changed()

    def sort_by(self, column: str | None, descending: bool = False) -> None:
        """Sort the preview by ``column`` (checked; ``None``: unsorted), in the database, from the first page."""
        name = None if column is None else self.target.relation.column(column).name
        self._batch = True
        try:
            self.sort.value, self.descending.value = name, bool(descending)
        finally:
            self._batch = False
        self._resort()

    def sort_by_header(self, column: str) -> None:
        """What a click on a column's header does: ascending, then descending, then unsorted."""
        if self.sort.value != column:
            self.sort_by(column)
        elif not self.descending.value:
            self.sort_by(column, descending=True)
        else:
            self.sort_by(None)

    def go(self, page: int) -> None:
        last = max(0, ((self.total or 0) - 1) // self.page_rows)
        self.page = min(max(0, page), last)
        self.refresh_preview()

    # -- views ------------------------------------------------------------------------
    def _filters_changed(self) -> None:
        self.filter_list.value = " and ".join(
            html.escape(f"{f.column} {f.op}" + ("" if f.op.startswith("is") else f" {f.value!r}")) for f in self.filters)
        self.page = 0
        self.profile = None
        self.refresh_preview()
        if self._view == "profile":
            self.refresh_profile()
        if self.figure is not None or self._view == "chart":
            self.draw()

    def _resort(self, _=None) -> None:
        if self._batch:
            return
        self.page = 0
        self.refresh_preview()

    def _run(self, fn) -> bool:
        try:
            fn()
        except WorkbenchError as e:
            self._fail(e)
            return False
        self.status.value = ""
        return True

    def _fail(self, e: Exception) -> None:
        self.status.value = _error_html(e)

    def _show(self, view: str, queries: list[Query]) -> None:
        self.queries[view] = queries
        if view == self._view:
            self.query = queries[-1] if queries else None
            self.sql_text.value = "\n\n".join(snippet(q, self.target) for q in queries)

    def refresh_preview(self) -> None:
        def work():
            rel = self.target.relation
            cq = sqlgen.count(rel, filters=self.filters)
            self.total = int(self.target.run(cq)["n"].iloc[0])
            q = sqlgen.preview(rel, limit=self.page_rows, offset=self.page * self.page_rows,
                               order_by=self.sort.value, descending=self.descending.value, filters=self.filters)
            df = self.target.run(q)
            self._show_page(df)
            first = self.page * self.page_rows
            self.page_label.value = (f"rows {first + 1:,}–{first + len(df):,} of {self.total:,}" if len(df)
                                     else f"no rows (of {self.total:,})")
            self.prev_page.disabled = self.page == 0
            self.next_page.disabled = first + len(df) >= self.total
            self._show("preview", [q])
        self._run(work)

    def _show_page(self, df: pd.DataFrame) -> None:
        rel = self.target.relation
        families = {c.name: c.family for c in rel.columns}
        arrows = {n: "" for n in rel.names}
        if self.sort.value is not None:
            arrows[self.sort.value] = " ▼" if self.descending.value else " ▲"
        labels = {n: f"{n}{arrows[n]}" for n in rel.names}
        widths = column_widths(df, labels)
        for button, name, width in zip(self.headers, rel.names, widths):
            button.description = labels[name]
            button.layout.width = f"{width}px"
            if arrows[name]:
                button.add_class("wb-sorted")
            else:
                button.remove_class("wb-sorted")
        self.table.value = _table_html(df, families=families, widths=widths, header=False)

    def refresh_profile(self) -> None:
        def work():
            self.profile = profiling.compute(self.target, filters=self.filters)
            self.profile_table.value = profiling.profile_html(self.profile)
            self._show("profile", self.profile.queries)
            self._show_histogram()
        self._run(work)

    def _show_histogram(self) -> None:
        name = self.profile_column.value
        if self.profile is None or name is None:
            self.profile_chart.outputs = ()
            return
        self.profile_chart.outputs = (figure_output(profile_figure(self.profile, name)),)

    def spec(self) -> ChartSpec:
        return ChartSpec(self.kind.value, self.x.value, self.y.value, self.agg.value, self.color.value,
                         self.bucket.value, filters=tuple(self.filters))

    def draw(self) -> None:
        """Draw the chart the controls describe (when they describe one)."""
        spec = self.spec()
        if spec.x is None and not (spec.kind in ("box", "histogram") and spec.y is not None):
            return

        def work():
            query, fig = charts.draw(self.target, spec)
            self.figure = fig
            self.chart_output.outputs = (figure_output(fig),)
            self._show("chart", [query])
        self._run(work)

    def _tab(self, change) -> None:
        view = ("preview", "profile", "chart", "sql")[change["new"]]
        if view == "sql":
            return
        self._view = view
        if view == "profile" and self.profile is None:
            self.refresh_profile()
        elif view == "chart" and self.figure is None:
            self.draw()
        self._show(view, self.queries.get(view, []))


def profile_figure(p: profiling.Profile, column: str):
    """A histogram (or top-values bar chart) of one profiled column, from the profile's aggregates."""
    import numpy as np
    import plotly.graph_objects as go

    h = p.histograms.get(column)
    if h is not None:
        if h.family == "temporal":
            xs = np.array([s.timestamp() * 1000 for s in h.starts])
            width, xtype = h.width * 1000, "date"
        else:
            xs, width, xtype = np.array(h.starts, dtype=float), h.width, None
        fig = go.Figure(go.Bar(x=xs, y=np.array(h.counts, dtype=float), width=width, offset=0))
        fig.update_layout(xaxis=dict(type=xtype, title=column), yaxis_title="rows", bargap=0.02)
    else:
        top = p.top_values.get(column, [])
        fig = go.Figure(go.Bar(x=["NULL" if k is None else str(k) for k, _ in top], y=[n for _, n in top]))
        fig.update_layout(xaxis=dict(type="category", title=column), yaxis_title="rows")
    fig.update_layout(title=f"{p.label}: {column}", template="plotly_white", height=300,
                      margin=dict(l=50, r=20, t=40, b=40))
    return fig


class StaticExplore:
    """What ``explore`` shows without a widget frontend: the profile table and plotly figures."""

    def __init__(self, target: Target):
        self.target = target
        self.profile = profiling.compute(target)
        names = [c for c in self.profile.table["column"]
                 if c in self.profile.histograms or self.profile.top_values.get(c)]
        self.figures = [profile_figure(self.profile, c) for c in names[:STATIC_CHARTS]]

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        display(HTML(profiling.profile_html(self.profile)))
        for fig in self.figures:
            display(fig)

    def _repr_html_(self) -> str:
        return profiling.profile_html(self.profile)


def explore(target: Any, *, params: dict | None = None, static: bool | None = None, workbench=None,
            _frame=None) -> Explorer | StaticExplore:
    """Explore ``target`` (``"app.photos"``, a SQL query or a DataFrame) with the work done in the database.

    In JupyterLab: a widget with a paged, sortable, filterable preview, a profile, charts
    and the SQL behind each view. Without a widget frontend (papermill, nbclient, plain
    Python) or with ``static=True``: the profile table and its histograms as plotly figures.
    """
    t = resolve(target, workbench=workbench, params=params, frame=_frame or sys._getframe(1))
    if static if static is not None else not widgets_available():
        return StaticExplore(t)
    return Explorer(t)


class Browser(W.VBox):
    """Sources → schemas → tables → columns (types, row estimates), and a preview of the picked table."""

    def __init__(self, workbench=None):
        from ...query.default import session as get_workbench

        self.wb = workbench or get_workbench()
        self.sources = W.Select(options=list(self.wb.config.sources), description="source", rows=6)
        self.schemas = W.Select(options=[], description="schema", rows=6)
        self.tables = W.Select(options=[], description="table", rows=10, layout=W.Layout(width="340px"))
        self.columns = W.HTML()
        self.preview = W.HTML()
        self.status = W.HTML()
        self.query: Query | None = None
        self._catalog = pd.DataFrame()
        super().__init__([W.HBox([self.sources, self.schemas, self.tables]), self.columns, self.preview, self.status])
        self.add_class("wb-browser")
        self.sources.observe(lambda _: self._source(), "value")
        self.schemas.observe(lambda _: self._schema(), "value")
        self.tables.observe(lambda _: self._table(), "value")
        self.sources.value = None

    def _guard(self, fn) -> None:
        try:
            fn()
            self.status.value = ""
        except WorkbenchError as e:
            self.status.value = _error_html(e)

    def _source(self) -> None:
        def work():
            self.schemas.options, self.tables.options = [], []
            self.columns.value = self.preview.value = ""
            if self.sources.value is None:
                return
            self._catalog = self.wb.tables(self.sources.value)
            schemas = list(dict.fromkeys(self._catalog["schema"].fillna("").tolist()))
            self.schemas.options = schemas
            self.schemas.value = schemas[0] if len(schemas) == 1 else None
        self._guard(work)

    def _schema(self) -> None:
        cat = self._catalog[self._catalog["schema"].fillna("") == (self.schemas.value or "")]
        self.tables.options = [
            (f"{t} · {k}" + ("" if pd.isna(r) else f" · ~{int(r):,} rows"), t)
            for t, k, r in zip(cat["table"], cat["kind"], cat["rows"])]
        self.tables.value = None

    def pick(self, source: str, table: str, schema: str | None = None) -> None:
        """Select ``source`` / ``schema`` / ``table`` as a click would."""
        self.sources.value = source
        if schema is not None:
            self.schemas.value = schema
        elif self.schemas.value is None and len(self.schemas.options):
            self.schemas.value = self.schemas.options[0]
        self.tables.value = table

    def _table(self) -> None:
        def work():
            source, schema, table = self.sources.value, self.schemas.value, self.tables.value
            if table is None:
                self.columns.value = self.preview.value = ""
                return
            flat = not self.wb.source(source).has_schemas
            cols = self.wb.columns(source, table if flat or not schema else f"{schema}.{table}")
            self.columns.value = _table_html(cols)
            name = f"{source}.{table}" if flat else f"{source}.{schema}.{table}"
            t = resolve(name, workbench=self.wb, frame=sys._getframe(0))
            self.query = sqlgen.preview(t.relation, limit=20)
            self.preview.value = f"<p><b>{html.escape(name)}</b>: first rows</p>" + _table_html(t.run(self.query))
        self._guard(work)


class StaticBrowse:
    """What ``browse`` shows without a widget frontend: the catalog as a table."""

    def __init__(self, workbench=None):
        from ...query.default import session as get_workbench

        self.catalog = (workbench or get_workbench()).tables()

    def _repr_html_(self) -> str:
        return _table_html(self.catalog)


def browse(*, static: bool | None = None, workbench=None) -> Browser | StaticBrowse:
    """Browse every source's catalog: sources → schemas → tables → columns, with a preview."""
    if static if static is not None else not widgets_available():
        return StaticBrowse(workbench)
    return Browser(workbench)
