"""Column profiles computed by two aggregate statements in the database, whatever the table's size.

The exact pass (:func:`~workbench.exploring.sqlgen.profile_stats`) gives the row count
and, for every column at once, the non-null count, min, max and mean: cheap streaming
aggregates, exact for any size. The detail pass
(:func:`~workbench.exploring.sqlgen.profile_details`) gives quartiles, distinct counts,
top values and equal-width histograms (between the exact min and max): over all the rows
when there are at most ``sample_rows`` of them, otherwise over a repeatable Bernoulli
sample of about ``sample_rows`` rows drawn in the database. On a sample, distinct counts
are estimated for the whole relation from how often values repeat in the sample (Chao &
Lin's estimator for sampling without replacement), and top-value and histogram counts are
scaled up to it; the profile says so (:attr:`Profile.note`, the HTML table, the widget).
Nothing but aggregates leaves the database; top values are kept only for columns with at
most ``TOP_LIMIT`` distinct values that repeat.
"""

from __future__ import annotations

import datetime as dt
import html
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from . import sqlgen
from .sqlgen import PROFILE_SAMPLE_ROWS, Query
from .target import Target, resolve

PROFILE_COLUMNS = ["column", "type", "null_share", "distinct", "min", "max", "mean", "q25", "median", "q75", "top"]
SAMPLED_STATS = ("distinct", "q25", "median", "q75", "top", "histogram")  # what a sampled profile estimates


@dataclass
class Histogram:
    """Bin starts, a common width (seconds for dates and times) and counts (estimated when ``sampled``)."""

    column: str
    family: str
    starts: list
    width: float
    counts: list[int]
    sampled: bool = False


@dataclass
class Profile:
    """One row per column (:attr:`table`), histograms and top values, and the SQL that made them.

    ``rows``, null shares, min, max and mean are exact. When ``sample_rows`` is set, the
    statistics named in ``sampled_stats`` come from a random sample of that many rows
    (distinct counts estimated, counts scaled to the whole relation); :attr:`note` says so.
    """

    label: str
    rows: int
    table: pd.DataFrame
    histograms: dict[str, Histogram] = field(default_factory=dict)
    top_values: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    queries: list[Query] = field(default_factory=list)
    sample_rows: int | None = None  # rows in the sample the details come from; None: all rows

    @property
    def sampled(self) -> bool:
        return self.sample_rows is not None

    @property
    def sampled_stats(self) -> tuple[str, ...]:
        return SAMPLED_STATS if self.sampled else ()

    @property
    def note(self) -> str:
        """Which statistics are exact and which come from a sample (empty when none do)."""
        if not self.sampled:
            return ""
        return (f"distinct counts, quartiles, top values and histograms from a random {self.sample_rows:,}-row "
                f"sample of {self.rows:,} rows (distinct counts estimated, counts scaled to all rows); "
                f"row count, nulls, min, max and mean are exact")

    def _repr_html_(self) -> str:
        return profile_html(self)


def _epoch(v: Any) -> float:
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v).timestamp() if v.tzinfo else pd.Timestamp(v, tz="UTC").timestamp()
    if isinstance(v, dt.date):
        return pd.Timestamp(v, tz="UTC").timestamp()
    return pd.Timestamp(v).timestamp()


def estimate_distinct(d: int, f1: int, f2: int, n: int, total: int) -> int:
    """Distinct values among ``total`` rows, from a uniform sample of ``n`` of them.

    ``d`` distinct values were seen in the sample, ``f1`` of them once and ``f2`` twice.
    Chao & Lin (2012), Chao1 for sampling without replacement: unseen values
    ``f1^2 / (2 f2 n/(n-1) + f1 q/(1-q))`` with ``q = n/total``; a unique column
    (``f2 = 0``) gives ``d + f1 (1-q)/q``, i.e. ``total``. Never below ``d`` nor above
    ``d + (total - n)`` (each unseen row a new value).
    """
    if n >= total or d == 0 or f1 == 0:
        return d
    q = n / total
    unseen = f1 * f1 / (2 * f2 * n / max(n - 1, 1) + f1 * q / (1 - q))
    return int(round(min(d + unseen, d + (total - n))))


def profile(target: Any, *, columns: Sequence[str] | None = None, filters=None, bins: int = 20,
            sample_rows: int | None = PROFILE_SAMPLE_ROWS, params: dict | None = None, workbench=None,
            _frame=None) -> Profile:
    """Profile every column (or ``columns``) of ``target``: two aggregate statements in the hub.

    A relation with more than ``sample_rows`` rows (after ``filters``) takes its distinct
    counts, quartiles, top values and histograms from a random sample of about that many
    rows; ``sample_rows=None`` always uses every row (slower on big tables). ``params``
    are the values of a SQL target's own ``:name`` placeholders.
    """
    t = resolve(target, workbench=workbench, params=params, frame=_frame or sys._getframe(1))
    return compute(t, columns=columns, filters=filters, bins=bins, sample_rows=sample_rows)


def compute(t: Target, *, columns: Sequence[str] | None = None, filters=None, bins: int = 20,
            sample_rows: int | None = PROFILE_SAMPLE_ROWS) -> Profile:
    rel = t.relation
    cols = [rel.column(c) for c in (columns or rel.names)]
    names = [c.name for c in cols]
    q1 = sqlgen.profile_stats(rel, names, filters=filters)
    stats = t.run_arrow(q1).to_pylist()[0]
    total = int(stats["total"])
    rows, bounds, nonnulls = [], {}, []
    for i, c in enumerate(cols):
        nonnull = int(stats[f"c{i}_nonnull"])
        nonnulls.append(nonnull)
        lo, hi = stats.get(f"c{i}_min"), stats.get(f"c{i}_max")
        rows.append({
            "column": c.name, "type": c.type,
            "null_share": (1 - nonnull / total) if total else None,
            "distinct": 0 if c.family != "other" and nonnull == 0 else None,
            "min": lo, "max": hi, "mean": stats.get(f"c{i}_mean"),
            "q25": None, "median": None, "q75": None, "top": "",
        })
        if c.family in ("numeric", "temporal") and lo is not None and hi is not None and lo != hi:
            elo, ehi = (_epoch(lo), _epoch(hi)) if c.family == "temporal" else (float(lo), float(hi))
            if ehi > elo:
                bounds[c.name] = (elo, ehi)
    sampled = sample_rows is not None and total > sample_rows
    prof = Profile(rel.label, total, pd.DataFrame(rows, columns=PROFILE_COLUMNS), queries=[q1])
    if total == 0 or not cols:
        return prof
    percent = 100.0 * sample_rows / total if sampled else None
    q2 = sqlgen.profile_details(rel, names, bounds, bins=bins, filters=filters, sample_percent=percent)
    prof.queries.append(q2)
    details = t.run_arrow(q2).to_pylist()[0]
    if sampled:
        prof.sample_rows = int(details["s_rows"])
    for i, (c, row, nonnull) in enumerate(zip(cols, rows, nonnulls)):
        n = int(details[f"c{i}_n"])
        # counts in the sample -> estimated counts in the relation
        scale = (nonnull / n) if sampled and n else 1.0
        quart = details.get(f"c{i}_q") or [None, None, None]
        row["q25"], row["median"], row["q75"] = quart
        if f"c{i}_d" not in details:
            continue
        d = int(details[f"c{i}_d"] or 0)
        if sampled:
            distinct = (estimate_distinct(d, int(details[f"c{i}_f1"] or 0), int(details[f"c{i}_f2"] or 0),
                                          n, nonnull) if n else None)
        else:
            distinct = d
        row["distinct"] = distinct
        # top values only where values repeat: a near-unique column's "top five" is noise
        if distinct is not None and 0 < distinct <= min(sqlgen.TOP_LIMIT, nonnull / 2):
            pairs = zip(details[f"c{i}_topv"] or [], details[f"c{i}_topn"] or [])
            top = sorted(((v, int(round(k * scale))) for v, k in pairs), key=lambda kv: (-kv[1], str(kv[0])))
            top = top[:sqlgen.TOP_VALUES]
            prof.top_values[c.name] = top
            approx = "≈" if sampled else ""
            row["top"] = ", ".join(f"{_short(v)} ({approx}{cnt:,})" for v, cnt in top)
        if c.name in bounds:
            lo, hi = bounds[c.name]
            counts = dict(zip(details[f"c{i}_hb"] or [], details[f"c{i}_hn"] or []))
            width = (hi - lo) / bins
            starts = [lo + b * width for b in range(bins)]
            if c.family == "temporal":
                starts = [pd.Timestamp(s, unit="s", tz="UTC") for s in starts]
            prof.histograms[c.name] = Histogram(c.name, c.family, starts, width,
                                                [int(round(counts.get(b, 0) * scale)) for b in range(bins)],
                                                sampled=sampled)
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

    mark = "*" if p.sampled else ""
    head = "".join(f"<th>{h}</th>" for h in ["column", "type", "nulls", f"distinct{'≈' if p.sampled else ''}{mark}",
                                              "min", "max", "mean", f"q25{mark}", f"median{mark}", f"q75{mark}",
                                              f"histogram{mark}", f"top values{mark}"])
    body = []
    for r in p.table.to_dict("records"):
        share = "" if r["null_share"] is None else f"{r['null_share']:.1%}"
        cells = [html.escape(str(r["column"])), html.escape(str(r["type"])), share, fmt(r["distinct"]),
                 fmt(r["min"]), fmt(r["max"]), fmt(r["mean"]), fmt(r["q25"]), fmt(r["median"]), fmt(r["q75"]),
                 _spark(p.histograms.get(r["column"])), html.escape(r["top"])]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = f'<p class="wb-profile-note">* {html.escape(p.note)}</p>' if p.sampled else ""
    return (f'<div class="wb-profile"><p><b>{html.escape(p.label)}</b>: {p.rows:,} rows, '
            f'{len(p.table)} columns</p>{note}<table class="wb-profile-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')
