"""Column profiles computed by two aggregate scans in the database, whatever the table's size.

The first scan (:func:`~workbench.exploring.sqlgen.profile_stats`) gives, for every column
at once, the non-null count, an approximate distinct count (HyperLogLog), min, max,
mean and approximate quartiles. Those decide the second scan
(:func:`~workbench.exploring.sqlgen.profile_details`): equal-width histograms between each
numeric or temporal column's min and max, and exact value counts for the columns known
to have few distinct values. Nothing but these aggregates leaves the database; a column
with more than ``TOP_LIMIT`` distinct values gets no top values rather than a group-by as
big as the table.
"""

from __future__ import annotations

import datetime as dt
import html
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from . import sqlgen
from .sqlgen import Query
from .target import Target, resolve

PROFILE_COLUMNS = ["column", "type", "null_share", "distinct", "min", "max", "mean", "q25", "median", "q75", "top"]


@dataclass
class Histogram:
    """Bin starts, a common width (seconds for dates and times) and counts."""

    column: str
    family: str
    starts: list
    width: float
    counts: list[int]


@dataclass
class Profile:
    """One row per column (:attr:`table`), histograms and top values, and the SQL that made them."""

    label: str
    rows: int
    table: pd.DataFrame
    histograms: dict[str, Histogram] = field(default_factory=dict)
    top_values: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    queries: list[Query] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return profile_html(self)


def _epoch(v: Any) -> float:
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v).timestamp() if v.tzinfo else pd.Timestamp(v, tz="UTC").timestamp()
    if isinstance(v, dt.date):
        return pd.Timestamp(v, tz="UTC").timestamp()
    return pd.Timestamp(v).timestamp()


def profile(target: Any, *, columns: Sequence[str] | None = None, filters=None, bins: int = 20,
            params: dict | None = None, workbench=None, _frame=None) -> Profile:
    """Profile every column (or ``columns``) of ``target``: two aggregate scans in the hub.

    ``params`` are the values of a SQL target's own ``:name`` placeholders.
    """
    t = resolve(target, workbench=workbench, params=params, frame=_frame or sys._getframe(1))
    return compute(t, columns=columns, filters=filters, bins=bins)


def compute(t: Target, *, columns: Sequence[str] | None = None, filters=None, bins: int = 20) -> Profile:
    rel = t.relation
    cols = [rel.column(c) for c in (columns or rel.names)]
    q1 = sqlgen.profile_stats(rel, [c.name for c in cols], filters=filters)
    stats = t.run_arrow(q1).to_pylist()[0]
    total = int(stats["total"])
    rows, plan = [], []
    for i, c in enumerate(cols):
        nonnull = int(stats[f"c{i}_nonnull"])
        distinct = stats.get(f"c{i}_distinct")
        if distinct is not None:
            distinct = min(int(distinct), nonnull)  # HyperLogLog may overshoot on small tables
        lo, hi = stats.get(f"c{i}_min"), stats.get(f"c{i}_max")
        quart = stats.get(f"c{i}_quartiles") or [None, None, None]
        rows.append({
            "column": c.name, "type": c.type,
            "null_share": (1 - nonnull / total) if total else None,
            "distinct": distinct, "min": lo, "max": hi, "mean": stats.get(f"c{i}_mean"),
            "q25": quart[0], "median": quart[1], "q75": quart[2], "top": "",
        })
        # top values only where values repeat: a near-unique column's "top five" is noise
        if distinct is not None and 0 < distinct <= min(sqlgen.TOP_LIMIT, nonnull / 2):
            plan.append((c.name, "values", None, None))
        if c.family in ("numeric", "temporal") and lo is not None and hi is not None and lo != hi:
            elo, ehi = (_epoch(lo), _epoch(hi)) if c.family == "temporal" else (float(lo), float(hi))
            if ehi > elo:
                plan.append((c.name, "bins", elo, ehi))
    prof = Profile(rel.label, total, pd.DataFrame(rows, columns=PROFILE_COLUMNS), queries=[q1])
    q2 = sqlgen.profile_details(rel, plan, bins=bins, filters=filters)
    if q2 is not None:
        prof.queries.append(q2)
        details = t.run_arrow(q2).to_pylist()[0]
        by_name = {r["column"]: r for r in rows}
        for i, (name, what, lo, hi) in enumerate(plan):
            pairs = details[f"d{i}"] or []
            if what == "values":
                top = sorted(pairs, key=lambda kv: (-kv[1], str(kv[0])))[:sqlgen.TOP_VALUES]
                prof.top_values[name] = top
                by_name[name]["top"] = ", ".join(f"{_short(k)} ({n:,})" for k, n in top)
            else:
                counts = dict(pairs)
                width = (hi - lo) / bins
                fam = rel.column(name).family
                starts = [lo + b * width for b in range(bins)]
                if fam == "temporal":
                    starts = [pd.Timestamp(s, unit="s", tz="UTC") for s in starts]
                prof.histograms[name] = Histogram(name, fam, starts, width, [int(counts.get(b, 0)) for b in range(bins)])
        prof.table = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    return prof


def _short(v: Any, n: int = 24) -> str:
    s = "NULL" if v is None else str(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def _spark(h: Histogram | None) -> str:
    """A tiny inline SVG of a histogram: static, no JavaScript, a few hundred bytes."""
    if h is None or not h.counts or max(h.counts) == 0:
        return ""
    top, w = max(h.counts), 3
    bars = "".join(
        f'<rect x="{i * w}" y="{20 - 20 * c / top:.1f}" width="{w - 0.5}" height="{20 * c / top:.1f}"/>'
        for i, c in enumerate(h.counts))
    return f'<svg width="{len(h.counts) * w}" height="20" style="fill:#4c78a8">{bars}</svg>'


def profile_html(p: Profile) -> str:
    """The profile as a static HTML table (what a headless report shows)."""
    def fmt(v: Any) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return ""
        if isinstance(v, float):
            return f"{v:,.4g}"
        if isinstance(v, int):
            return f"{v:,}"
        return html.escape(_short(v, 32))

    head = "".join(f"<th>{h}</th>" for h in ["column", "type", "nulls", "distinct≈", "min", "max", "mean",
                                              "q25", "median", "q75", "histogram", "top values"])
    body = []
    for r in p.table.to_dict("records"):
        share = "" if r["null_share"] is None else f"{r['null_share']:.1%}"
        cells = [html.escape(str(r["column"])), html.escape(str(r["type"])), share, fmt(r["distinct"]),
                 fmt(r["min"]), fmt(r["max"]), fmt(r["mean"]), fmt(r["q25"]), fmt(r["median"]), fmt(r["q75"]),
                 _spark(p.histograms.get(r["column"])), html.escape(r["top"])]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f'<div class="wb-profile"><p><b>{html.escape(p.label)}</b>: {p.rows:,} rows, '
            f'{len(p.table)} columns</p><table class="wb-profile-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')
