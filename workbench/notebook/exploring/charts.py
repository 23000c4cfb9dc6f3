"""Charts whose aggregate runs in the database: ``wb.chart(target, kind, x, y, ...)``.

Each chart is one statement from :func:`~workbench.exploring.sqlgen.chart` (a group-by, a
binned count, quartiles, a 2-D group-by or a reservoir sample) and a plotly figure
built from its few rows. The figure carries aggregated arrays only, as compact typed
arrays (float32 where exactness does not matter on screen, dates as epoch milliseconds),
so what reaches the browser stays in the tens of kilobytes whatever the table's size.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import sqlgen
from .sqlgen import ChartSpec, Query
from .target import Target, resolve

MAX_TRACES = 12  # colour groups drawn as their own traces; the rest are left out and said so


def chart(target: Any, kind: str = "bar", x: str | None = None, y: str | None = None, *, agg: str = "count",
          color: str | None = None, bucket: str | None = None, z: str | None = None,
          bins: int = sqlgen.DEFAULT_BINS, sample: int = sqlgen.SAMPLE_ROWS, filters=(), title: str | None = None,
          params: dict | None = None, workbench=None, _frame=None) -> go.Figure:
    """A plotly figure of ``target`` (``"app.photos"``, a SQL query or a DataFrame).

    ``kind`` is bar, line, scatter, histogram, box or heatmap; ``agg`` (count,
    count_distinct, sum, avg, min, max, median) of ``y`` is computed per ``x`` (and per
    ``color``); ``bucket`` truncates a temporal ``x`` (day, week, month ...). Scatter
    plots show a reservoir sample of ``sample`` rows taken in the database. ``filters``
    are ``(column, op, value)`` triples (values bound); ``params`` are the values of a
    SQL target's own ``:name`` placeholders.
    """
    t = resolve(target, workbench=workbench, params=params, frame=_frame or sys._getframe(1))
    spec = ChartSpec(kind, x, y, agg, color, bucket, z, bins, sample, tuple(filters))
    return draw(t, spec, title=title)[1]


def chart_sql(target: Any, kind: str = "bar", x: str | None = None, y: str | None = None, *, agg: str = "count",
              color: str | None = None, bucket: str | None = None, z: str | None = None,
              bins: int = sqlgen.DEFAULT_BINS, sample: int = sqlgen.SAMPLE_ROWS, filters=(),
              params: dict | None = None, workbench=None, _frame=None) -> Query:
    """The statement (and bound values) :func:`chart` would run, without running it."""
    t = resolve(target, workbench=workbench, params=params, frame=_frame or sys._getframe(1))
    return sqlgen.chart(t.relation, ChartSpec(kind, x, y, agg, color, bucket, z, bins, sample, tuple(filters)))


def draw(t: Target, spec: ChartSpec, *, title: str | None = None) -> tuple[Query, go.Figure]:
    """Run the chart's statement and build its figure."""
    query = sqlgen.chart(t.relation, spec)
    df = t.run(query)
    fig = _FIGURES[spec.kind](df, spec, t)
    fig.update_layout(title=title or _title(spec, t), template="plotly_white", margin=dict(l=50, r=20, t=50, b=40))
    return query, fig


def _title(spec: ChartSpec, t: Target) -> str:
    what = {"count": "count"}.get(spec.agg, f"{spec.agg}({spec.y})")
    label = t.relation.label
    if spec.kind == "histogram":
        return f"{label}: distribution of {spec.x or spec.y}"
    if spec.kind == "box":
        return f"{label}: {spec.y}" + (f" by {spec.x or spec.color}" if (spec.x or spec.color) else "")
    if spec.kind == "scatter":
        return f"{label}: {spec.y} vs {spec.x} (sample of ≤{spec.sample:,} rows)"
    if spec.kind == "heatmap":
        return f"{label}: {'count' if spec.z is None else f'{spec.agg}({spec.z})'} by {spec.x} and {spec.y}"
    by = spec.x + (f" per {spec.bucket}" if spec.bucket else "")
    return f"{label}: {what} by {by}" + (f" and {spec.color}" if spec.color else "")


EXACT_INTEGERS = 2 ** 53  # integers a float axis shows exactly; bigger ones (ids) go on a category axis


def _label(v: Any) -> str:
    return "NULL" if v is None else str(v).lower() if isinstance(v, bool) else str(v)


def _key(v: Any) -> Any:
    try:
        hash(v)
        return (type(v).__name__, v)
    except TypeError:  # lists, structs
        return (type(v).__name__, repr(v))


def category_labels(values: Any) -> dict[Any, str]:
    """One distinct label per distinct value (keyed by :func:`_key`), for a category axis.

    A category axis merges equal labels: plotly would draw two groups whose labels agree
    (a NULL and the text ``'NULL'``) in one slot, stacked or overlaid, with nothing said.
    A value whose label is taken is quoted (then numbered), so every group keeps its bar.
    """
    out: dict[Any, str] = {}
    taken: set[str] = set()
    for v in sorted(set(map(_key, values)), key=lambda k: (k[1] is not None, repr(k))):
        raw = v[1]
        label = _label(raw)
        if label in taken:
            label = f'"{label}"'
            n = 2
            while label in taken:
                label, n = f'"{_label(raw)}" ({n})', n + 1
        taken.add(label)
        out[v] = label
    return out


def _is_category(s: pd.Series) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s)
    at = arr.type
    if pa.types.is_timestamp(at) or pa.types.is_date(at) or pa.types.is_floating(at) or pa.types.is_decimal(at):
        return False
    if pa.types.is_integer(at):
        lo, hi = (pc.min_max(arr)[k].as_py() for k in ("min", "max"))
        return lo is not None and max(abs(lo), abs(hi)) > EXACT_INTEGERS
    return True


def _axis(s: pd.Series, labels: dict[Any, str] | None = None) -> tuple[np.ndarray | list, str | None]:
    """Values for a plotly axis, compactly: numbers as float arrays, instants as epoch ms on a date axis.

    Categories are labelled by ``labels`` (from :func:`category_labels` over every trace of
    the axis, so the same value has the same label in each), or by their own text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s)
    at = arr.type
    if not _is_category(s):
        if pa.types.is_timestamp(at):
            ms = pc.cast(pc.cast(arr, pa.timestamp("ms", at.tz), safe=False), pa.int64())
            return ms.to_numpy(zero_copy_only=False).astype("float64"), "date"
        if pa.types.is_date(at):
            days = pc.cast(pc.cast(arr, pa.date32()), pa.int32())
            return days.to_numpy(zero_copy_only=False).astype("float64") * 86_400_000, "date"
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), None
    values = arr.to_pylist()
    labels = labels if labels is not None else category_labels(values)
    return [labels[_key(v)] for v in values], "category"


def _labels_for(df: pd.DataFrame, column: str) -> dict[Any, str] | None:
    """The labels of a category axis over all of ``df`` (None when the axis is not one)."""
    if column not in df.columns or not _is_category(df[column]):
        return None
    import pyarrow as pa

    return category_labels(pa.array(df[column]).to_pylist())


def _compact(values):
    return values.astype("float32") if isinstance(values, np.ndarray) else values


def _groups(df: pd.DataFrame, spec: ChartSpec, note: list[str]):
    if "color" not in df.columns:
        yield None, df
        return
    keys = list(dict.fromkeys(df["color"].tolist()))
    if len(keys) > MAX_TRACES:
        note.append(f"{len(keys) - MAX_TRACES} more {spec.color} values not shown")
    for k in keys[:MAX_TRACES]:
        yield ("NULL" if k is None or k is pd.NA else str(k)), df[df["color"].isna() if k is None or k is pd.NA
                                                                    else df["color"] == k]


def _truncated(df: pd.DataFrame, query_limit: int | None, note: list[str], what: str) -> pd.DataFrame:
    if query_limit and len(df) >= query_limit:
        note.append(f"first {query_limit - 1:,} {what} shown")
        return df.iloc[: query_limit - 1]
    return df


def _finish(fig: go.Figure, note: list[str]) -> go.Figure:
    if note:
        fig.add_annotation(text="; ".join(note), xref="paper", yref="paper", x=0, y=1.06, showarrow=False,
                           font=dict(size=11, color="#777"), xanchor="left")
    return fig


def _grouped_fig(df, spec, t) -> go.Figure:
    note: list[str] = []
    limit = sqlgen.MAX_POINTS + 1 if (spec.kind == "line" or t.relation.column(spec.x).family
                                      in ("numeric", "temporal")) else None
    if limit is None:
        limit = sqlgen.MAX_CATEGORIES * (1 if spec.color is None else 20) + 1
    df = _truncated(df, limit, note, "groups")
    fig = go.Figure()
    xtype = None
    labels = _labels_for(df, "x")
    for name, part in _groups(df, spec, note):
        xs, xtype = _axis(part["x"], labels)
        ys, _ = _axis(part["y"])
        if spec.kind == "line":
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers" if len(part) < 60 else "lines", name=name))
        else:
            fig.add_trace(go.Bar(x=xs, y=ys, name=name))
    xaxis = dict(type=xtype, title=spec.x)
    if spec.kind == "bar" and xtype == "category" and spec.color is not None \
            and t.relation.column(spec.x).family not in ("numeric", "temporal"):
        xaxis["categoryorder"] = "total descending"  # as without colour: the biggest group first
    fig.update_layout(xaxis=xaxis, yaxis_title=_ylabel(spec), barmode="group", showlegend=spec.color is not None)
    return _finish(fig, note)


def _ylabel(spec: ChartSpec) -> str:
    return "count" if spec.agg == "count" else f"{spec.agg}({spec.y})"


def _histogram_fig(df, spec, t) -> go.Figure:
    note: list[str] = []
    col = t.relation.column(spec.x or spec.y)
    fig = go.Figure()
    xtype = None
    for name, part in _groups(df, spec, note):
        xs, xtype = _axis(part["x"])
        width = float(part["width"].iloc[0]) if len(part) else 0.0
        width = width * 1000 if col.family == "temporal" else width  # seconds -> ms on a date axis
        fig.add_trace(go.Bar(x=xs, y=_axis(part["y"])[0], width=width or None, offset=0, name=name,
                             opacity=0.75 if spec.color else 1.0))
    fig.update_layout(xaxis=dict(type=xtype, title=col.name), yaxis_title="rows", bargap=0.02,
                      barmode="overlay", showlegend=spec.color is not None)
    return _finish(fig, note)


def _box_fig(df, spec, t) -> go.Figure:
    note: list[str] = []
    df = _truncated(df, sqlgen.MAX_CATEGORIES + 1 if (spec.x or spec.color) else None, note, "groups")
    q = [list(v) if v is not None else [None] * 3 for v in df["q"]]
    q1 = np.array([v[0] for v in q], dtype=float)
    med = np.array([v[1] for v in q], dtype=float)
    q3 = np.array([v[2] for v in q], dtype=float)
    lo = df["lo"].to_numpy(dtype=float, na_value=np.nan)
    hi = df["hi"].to_numpy(dtype=float, na_value=np.nan)
    iqr = q3 - q1
    # Tukey fences, clipped to the data's range (the whiskers' exact end points would
    # need another scan; the fences are what the eye reads)
    lower, upper = np.maximum(lo, q1 - 1.5 * iqr), np.minimum(hi, q3 + 1.5 * iqr)
    xs = _axis(df["x"], _labels_for(df, "x"))[0] if "x" in df.columns else [spec.y]
    fig = go.Figure(go.Box(x=xs, q1=q1, median=med, q3=q3, lowerfence=lower, upperfence=upper,
                           mean=df["mean"].to_numpy(dtype=float, na_value=np.nan), name=spec.y))
    fig.update_layout(xaxis_title=spec.x or spec.color or "", yaxis_title=spec.y, showlegend=False)
    return _finish(fig, note)


def _scatter_fig(df, spec, t) -> go.Figure:
    note: list[str] = []
    fig = go.Figure()
    xtype = ytype = None
    for name, part in _groups(df, spec, note):
        xs, xtype = _axis(part["x"])
        ys, ytype = _axis(part["y"])
        fig.add_trace(go.Scatter(x=_compact(xs) if xtype is None else xs, y=_compact(ys) if ytype is None else ys,
                                 mode="markers", marker=dict(size=4, opacity=0.6), name=name))
    fig.update_layout(xaxis=dict(type=xtype, title=spec.x), yaxis=dict(type=ytype, title=spec.y),
                      showlegend=spec.color is not None)
    return _finish(fig, note)


def _heatmap_fig(df, spec, t) -> go.Figure:
    note: list[str] = []
    df = _truncated(df, sqlgen.MAX_CATEGORIES * sqlgen.MAX_CATEGORIES, note, "cells")
    xs, xtype = _axis(df["x"])
    ys, ytype = _axis(df["y"])
    zs = _axis(df["z"])[0]
    xk, yk = list(dict.fromkeys(_keys(xs))), list(dict.fromkeys(_keys(ys)))
    grid = np.full((len(yk), len(xk)), np.nan)
    xi, yi = {k: i for i, k in enumerate(xk)}, {k: i for i, k in enumerate(yk)}
    for a, b, v in zip(_keys(xs), _keys(ys), zs):
        grid[yi[b], xi[a]] = v
    fig = go.Figure(go.Heatmap(x=np.array(xk) if xtype != "category" else xk,
                               y=np.array(yk) if ytype != "category" else yk,
                               z=grid.astype("float32"), colorscale="Viridis",
                               colorbar=dict(title="count" if spec.z is None else f"{spec.agg}({spec.z})")))
    fig.update_layout(xaxis=dict(type=xtype, title=spec.x), yaxis=dict(type=ytype, title=spec.y))
    return _finish(fig, note)


def _keys(values) -> list:
    return [float(v) for v in values] if isinstance(values, np.ndarray) else list(values)


_FIGURES = {"bar": _grouped_fig, "line": _grouped_fig, "histogram": _histogram_fig, "box": _box_fig,
            "scatter": _scatter_fig, "heatmap": _heatmap_fig}
