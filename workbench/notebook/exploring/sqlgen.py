"""SQL for previews, profiles and charts: generated text, bound values, checked names.

Everything the explorer shows is computed by one of the statements built here and run
in the DuckDB hub, so only aggregates and pages leave the database. The hub is the one
engine on purpose: a table of an OLTP source is ``app.photos`` there (DuckDB's
postgres / mysql / sqlite scanners push the projection and the filters into the source
and read in parallel), the warehouse and the lake are native, DataFrames are tables,
and one dialect is generated and tested instead of four half-alike ones.

The rules the generated text follows:

- identifiers (table and column names that reach us from widgets or arguments) are
  checked against the relation's columns, as the hub describes them, and quoted;
- values (filter operands, bin bounds, limits) are ``:name`` parameters, bound by the
  driver, never pasted in;
- the few words that do go into the text (an aggregate, a time bucket, a cast type)
  come from fixed tables below or from the hub's own description of the column.

Every builder returns a :class:`Query`: the text and its parameters, which is also what
the explorer's SQL tab shows, so an exploration can be pasted into a cell as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ...sqltext import quote_ident as quote  # DuckDB identifiers
from ...errors import UsageError

# -- the fixed vocabularies --------------------------------------------------------------
AGGREGATES = {
    "count": "count(*)",
    "count_distinct": "count(distinct {y})",
    "sum": "sum({y})",
    "avg": "avg({y})",
    "min": "min({y})",
    "max": "max({y})",
    "median": "median({y})",
}
BUCKETS = ("second", "minute", "hour", "day", "week", "month", "quarter", "year")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "contains", "is null", "is not null")
KINDS = ("bar", "line", "scatter", "histogram", "box", "heatmap")

MAX_CATEGORIES = 50  # bars / boxes / heatmap rows shown; the rest is reported, not sent
MAX_POINTS = 2_000  # line and bar points over an ordered axis
SAMPLE_ROWS = 5_000  # scatter points (a reservoir sample in the database)
TOP_VALUES = 5
TOP_LIMIT = 1_000  # top values only for columns with at most this many distinct values
PROFILE_SAMPLE_ROWS = 200_000  # profiles of bigger relations take their details from a sample this size
PROFILE_SEED = 42  # the sample is repeatable: the same profile twice shows the same numbers
DEFAULT_BINS = 30

_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|U?HUGEINT|FLOAT|REAL|DOUBLE|DECIMAL.*|NUMERIC.*)$")
_TEMPORAL = re.compile(r"^(DATE|TIMESTAMP.*)$")


def family(duck_type: str) -> str:
    """``numeric``, ``temporal``, ``boolean``, ``text`` or ``other`` for a DuckDB type name."""
    t = duck_type.upper()
    if _NUMERIC.match(t):
        return "numeric"
    if _TEMPORAL.match(t):
        return "temporal"
    if t == "BOOLEAN":
        return "boolean"
    if t in ("VARCHAR", "JSON", "UUID") or t.startswith("ENUM"):
        return "text"
    return "other"


@dataclass(frozen=True)
class Column:
    name: str
    type: str

    @property
    def family(self) -> str:
        return family(self.type)


@dataclass(frozen=True)
class Relation:
    """A FROM item of the hub (``"app"."photos"``, ``(select ...) as t``) and its columns."""

    sql: str
    columns: tuple[Column, ...]
    label: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)  # a SQL target's own :params

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: Any) -> Column:
        """The column called ``name``; anything else (a widget's stale value, an injection) is refused."""
        for c in self.columns:
            if c.name == name:
                return c
        raise UsageError(f"{self.label or 'the relation'} has no column {name!r}; it has: {', '.join(self.names)}")


@dataclass(frozen=True)
class Query:
    """A statement and the values bound to its ``:name`` placeholders."""

    sql: str
    params: dict[str, Any]

    def __str__(self) -> str:
        return self.sql


@dataclass(frozen=True)
class Filter:
    column: str
    op: str = "="
    value: Any = None


def _filters(rel: Relation, filters: Iterable[Filter | Sequence] | None, params: dict[str, Any]) -> list[str]:
    """WHERE conditions, their operands added to ``params`` as ``:wb_f<i>``."""
    out: list[str] = []
    for i, f in enumerate(filters or ()):
        f = f if isinstance(f, Filter) else Filter(*f)
        col = rel.column(f.column)
        if f.op not in OPERATORS:
            raise UsageError(f"unknown filter operator {f.op!r}; use one of: {', '.join(OPERATORS)}")
        q = quote(col.name)
        if f.op in ("is null", "is not null"):
            out.append(f"{q} {f.op}")
            continue
        name = f"wb_f{i}"
        params[name] = f.value
        if f.op == "contains":
            out.append(f"contains(lower(cast({q} as varchar)), lower(cast(:{name} as varchar)))")
        elif col.family in ("numeric", "temporal", "boolean"):
            # the operand is cast to the column's type as the hub reports it, so a date
            # typed in a text box compares as a date, not as text
            out.append(f"{q} {f.op} cast(:{name} as {col.type})")
        else:
            out.append(f"{q} {f.op} :{name}")
    return out


def _where(conds: list[str]) -> str:
    return (" where " + " and ".join(conds)) if conds else ""


def _params(rel: Relation) -> dict[str, Any]:
    clash = [k for k in rel.params if k.startswith("wb_")]
    if clash:
        raise UsageError(f"parameter names starting with wb_ are the explorer's own; rename :{clash[0]}")
    return dict(rel.params)


# -- preview -----------------------------------------------------------------------------
def preview(rel: Relation, *, limit: int = 50, offset: int = 0, order_by: str | None = None,
            descending: bool = False, filters=None) -> Query:
    """One page of rows (LIMIT/OFFSET), optionally sorted and filtered, all in the database."""
    params = _params(rel)
    where = _where(_filters(rel, filters, params))
    order = ""
    if order_by:
        order = f" order by {quote(rel.column(order_by).name)} {'desc' if descending else 'asc'} nulls last"
    params["wb_limit"], params["wb_offset"] = int(limit), int(offset)
    return Query(f"select * from {rel.sql}{where}{order} limit :wb_limit offset :wb_offset", params)


def count(rel: Relation, *, filters=None) -> Query:
    params = _params(rel)
    return Query(f"select count(*) as n from {rel.sql}{_where(_filters(rel, filters, params))}", params)


# -- profile -----------------------------------------------------------------------------
def _sample_clause(percent: float | None, seed: int) -> str:
    """``TABLESAMPLE`` text for a Bernoulli sample of ``percent`` % of the rows (our own numbers, not input)."""
    if percent is None:
        return ""
    return f" tablesample bernoulli({float(percent):.6f}%) repeatable ({int(seed)})"


def profile_stats(rel: Relation, columns: Sequence[str] | None = None, *, filters=None) -> Query:
    """The exact pass, one scan: row count and per column non-null count, min, max and mean.

    These are cheap streaming aggregates (DuckDB answers some from Parquet statistics),
    so they stay exact whatever the table's size. Output columns are ``c<i>_<stat>``
    (i is the column's position in ``columns``), so any column name works.
    """
    params = _params(rel)
    cols = [rel.column(c) for c in (columns or rel.names)]
    parts = ["count(*) as total"]
    for i, c in enumerate(cols):
        q = quote(c.name)
        parts += [f"count({q}) as c{i}_nonnull"]
        if c.family in ("numeric", "temporal", "text", "boolean"):
            parts += [f"min({q}) as c{i}_min", f"max({q}) as c{i}_max"]
        if c.family == "numeric":
            parts += [f"avg({q}) as c{i}_mean"]
    where = _where(_filters(rel, filters, params))
    return Query("select " + ",\n       ".join(parts) + f"\nfrom {rel.sql}{where}", params)


def _axis_value(col: Column) -> str:
    """The column as a number to bin: itself, or seconds since the epoch for dates and times."""
    q = quote(col.name)
    return f"epoch({q})" if col.family == "temporal" else f"{q}::double"


def profile_details(rel: Relation, columns: Sequence[str], bounds: Mapping[str, tuple[float, float]], *,
                    bins: int = 20, filters=None, sample_percent: float | None = None,
                    seed: int = PROFILE_SEED) -> Query:
    """The detail pass: quartiles, value frequencies and histograms, over the rows or a sample of them.

    The rows (``sample_percent`` given: a repeatable Bernoulli sample of that share of
    them, drawn while scanning) are materialized once as ``wb_s`` with the columns
    renamed ``c<i>``; then, per column ``i`` of ``columns``:

    - ``c<i>_n``, ``c<i>_q``: non-null rows in ``wb_s`` and its exact quartiles
      (interpolated for numbers over all rows; on a sample, and for dates and times, the
      values at those ranks: ``quantile_disc`` is about 3x cheaper than ``quantile_cont``);
    - ``c<i>_d``, ``c<i>_f1``, ``c<i>_f2``: distinct values in ``wb_s`` and how many occur
      once and twice (what a distinct-count estimate for the whole relation needs), and
      ``c<i>_topv`` / ``c<i>_topn``: the most frequent values (ties broken by hash, so the
      same data gives the same list) and their counts, all from one ``GROUP BY`` (on 10 M
      rows far cheaper than DuckDB's ``histogram()`` aggregate);
    - ``c<i>_hb`` / ``c<i>_hn``: for the columns in ``bounds`` (name -> exact ``(lo, hi)``, epoch
      seconds for dates and times), the non-empty equal-width bins 0..bins-1 and their counts.

    Plus ``s_rows``, the rows in ``wb_s``.
    """
    params = _params(rel)
    cols = [rel.column(c) for c in columns]
    where = _where(_filters(rel, filters, params))
    inner = ", ".join(f"{quote(c.name)} as c{i}" for i, c in enumerate(cols)) or "1 as c_none"
    cte = (f"with wb_s as materialized (\n  select {inner}\n  from {rel.sql}"
           f"{_sample_clause(sample_percent, seed)}{where}\n)")
    first = ["count(*) as s_rows"]
    subqueries = []
    for i, c in enumerate(cols):
        first.append(f"count(c{i}) as c{i}_n")
        if c.family == "numeric" and sample_percent is None:
            first.append(f"quantile_cont(c{i}, [0.25, 0.5, 0.75])::double[] as c{i}_q")
        elif c.family in ("numeric", "temporal"):
            first.append(f"quantile_disc(c{i}, [0.25, 0.5, 0.75]) as c{i}_q")
        if c.family != "other":
            subqueries.append(
                f"(select count(*) as c{i}_d, count(*) filter (where n = 1) as c{i}_f1, "
                f"count(*) filter (where n = 2) as c{i}_f2, max_by(v, {{'n': n, 'h': hash(v)}}, {TOP_VALUES}) as c{i}_topv, "
                f"max(n, {TOP_VALUES}) as c{i}_topn\n"
                f"   from (select c{i} as v, count(*) as n from wb_s where c{i} is not null group by v) as g) as wb_g{i}")
        if c.name in bounds:
            lo, hi = bounds[c.name]
            params[f"wb_lo{i}"], params[f"wb_w{i}"] = float(lo), (float(hi) - float(lo)) / bins
            v = f"epoch(c{i})" if c.family == "temporal" else f"c{i}::double"
            subqueries.append(
                f"(select list(b order by b) as c{i}_hb, list(n order by b) as c{i}_hn\n"
                f"   from (select least(floor(({v} - :wb_lo{i}) / :wb_w{i}), :wb_bins - 1)::bigint as b, count(*) as n "
                f"from wb_s where c{i} is not null group by b) as h) as wb_h{i}")
    if bounds:
        params["wb_bins"] = int(bins)
    body = ",\n     ".join([f"(select {', '.join(first)} from wb_s) as wb_a", *subqueries])
    return Query(f"{cte}\nselect * from {body}", params)


# -- charts ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartSpec:
    """What a chart shows; every name is checked against the relation when SQL is built."""

    kind: str = "bar"
    x: str | None = None
    y: str | None = None
    agg: str = "count"
    color: str | None = None
    bucket: str | None = None  # date_trunc unit for a temporal x (and heatmap axes)
    z: str | None = None  # heatmap: the column aggregated into each cell (count when None)
    bins: int = DEFAULT_BINS
    sample: int = SAMPLE_ROWS
    filters: tuple = ()


def _agg(spec_agg: str, y: Column | None) -> str:
    if spec_agg not in AGGREGATES:
        raise UsageError(f"unknown aggregate {spec_agg!r}; use one of: {', '.join(AGGREGATES)}")
    if spec_agg != "count" and y is None:
        raise UsageError(f"aggregate {spec_agg!r} needs a column to aggregate (y; z for a heatmap)")
    if spec_agg in ("sum", "avg", "median") and y.family not in ("numeric", "boolean"):
        raise UsageError(f"{spec_agg} needs a numeric y column; {y.name!r} is {y.type}")
    return AGGREGATES[spec_agg].format(y=quote(y.name) if y else "")


def _bucketed(col: Column, bucket: str | None) -> str:
    if bucket is None:
        return quote(col.name)
    if bucket not in BUCKETS:
        raise UsageError(f"unknown time bucket {bucket!r}; use one of: {', '.join(BUCKETS)}")
    if col.family != "temporal":
        raise UsageError(f"a time bucket needs a date or timestamp x; {col.name!r} is {col.type}")
    return f"date_trunc('{bucket}', {quote(col.name)})"


def chart(rel: Relation, spec: ChartSpec) -> Query:
    """The aggregate behind a chart of ``spec``'s kind; its rows are what the figure plots."""
    if spec.kind not in KINDS:
        raise UsageError(f"unknown chart kind {spec.kind!r}; use one of: {', '.join(KINDS)}")
    if spec.x is None and spec.kind not in ("box", "histogram"):
        raise UsageError(f"a {spec.kind} chart needs x")
    params = _params(rel)
    conds = _filters(rel, spec.filters, params)
    x = rel.column(spec.x) if spec.x is not None else None
    y = rel.column(spec.y) if spec.y is not None else None
    color = rel.column(spec.color) if spec.color is not None else None
    return _BUILDERS[spec.kind](rel, spec, x, y, color, conds, params)


def _grouped(rel, spec, x, y, color, conds, params) -> Query:
    xe = _bucketed(x, spec.bucket)
    sel = [f"{xe} as x"]
    if color is not None:
        sel.append(f"{quote(color.name)} as color")
    sel.append(f"{_agg(spec.agg, y)} as y")
    ordered_axis = spec.kind == "line" or x.family in ("numeric", "temporal")
    if ordered_axis:
        order = "order by x" + (", color" if color is not None else "")
        params["wb_limit"] = MAX_POINTS + 1
    else:
        order = "order by y desc nulls last, x" + (", color" if color is not None else "")
        params["wb_limit"] = MAX_CATEGORIES * (1 if color is None else 20) + 1
    return Query(f"select {', '.join(sel)}\nfrom {rel.sql}{_where(conds)}\ngroup by all\n{order}\nlimit :wb_limit",
                 params)


def _histogram(rel, spec, x, y, color, conds, params) -> Query:
    col = x if x is not None else y
    if col is None:
        raise UsageError("a histogram needs x (the column to bin)")
    if col.family not in ("numeric", "temporal"):
        raise UsageError(f"a histogram needs a numeric, date or timestamp column; {col.name!r} is {col.type}; "
                         "use a bar chart of counts for text")
    v = _axis_value(col)
    params["wb_bins"] = int(spec.bins)
    where = _where(conds + [f"{quote(col.name)} is not null"])
    colour = f", {quote(color.name)} as color" if color is not None else ""
    c = ", color" if color is not None else ""
    start = "to_timestamp(lo + bin * w)" if col.family == "temporal" else "lo + bin * w"
    # Each CTE is referenced once and the relation is scanned twice (bounds, then bins):
    # DuckDB 1.5 fails deep-copying an attached SQLite scan when a CTE is inlined twice.
    return Query(
        f"with b as (select min(v) as lo, (max(v) - min(v)) / :wb_bins as w\n"
        f"           from (select {v} as v from {rel.sql}{where}) as s),\n"
        f"     h as (select case when b.w > 0 then least(floor((v.v - b.lo) / b.w), :wb_bins - 1)::bigint else 0 end"
        f" as bin, b.lo, b.w{c}, count(*) as n\n"
        f"           from (select {v} as v{colour} from {rel.sql}{where}) as v, b group by all)\n"
        f"select {start} as x, w as width{c}, n as y\nfrom h order by bin{c}",
        params)


def _box(rel, spec, x, y, color, conds, params) -> Query:
    if y is None:
        raise UsageError("a box plot needs y (the numeric column)")
    if y.family != "numeric":
        raise UsageError(f"a box plot needs a numeric y; {y.name!r} is {y.type}")
    q = quote(y.name)
    key = x if x is not None else color
    sel = [f"{_bucketed(key, spec.bucket) if x is not None else quote(key.name)} as x"] if key is not None else []
    sel += [f"approx_quantile({q}::double, [0.25, 0.5, 0.75]) as q", f"min({q})::double as lo",
            f"max({q})::double as hi", f"avg({q})::double as mean", f"count({q}) as n"]
    params["wb_limit"] = MAX_CATEGORIES + 1
    group = "\ngroup by all\norder by n desc, x\nlimit :wb_limit" if key is not None else ""
    if key is None:
        params.pop("wb_limit")
    return Query(f"select {', '.join(sel)}\nfrom {rel.sql}{_where(conds + [f'{q} is not null'])}{group}", params)


def _scatter(rel, spec, x, y, color, conds, params) -> Query:
    if y is None:
        raise UsageError("a scatter plot needs x and y")
    sel = [f"{quote(x.name)} as x", f"{quote(y.name)} as y"]
    if color is not None:
        sel.append(f"{quote(color.name)} as color")
    # a reservoir sample in the database: any table size, at most `sample` points sent;
    # REPEATABLE makes the same view show the same points
    n = int(spec.sample)
    return Query(f"select * from (select {', '.join(sel)} from {rel.sql}{_where(conds)}) as s\n"
                 f"using sample reservoir({n} rows) repeatable (42)", params)


def _heat_axis(col: Column, name: str, bucket: str | None) -> tuple[str, str | None]:
    """(expression, bounds CTE column) for one heatmap axis: bucketed time, binned number or category."""
    if col.family == "temporal" and bucket:
        return _bucketed(col, bucket), None
    if col.family in ("numeric", "temporal"):
        return _axis_value(col), name
    return quote(col.name), None


def _heatmap(rel, spec, x, y, color, conds, params) -> Query:
    if y is None:
        raise UsageError("a heatmap needs x and y")
    z = rel.column(spec.z) if spec.z is not None else None
    xe, xb = _heat_axis(x, "x", spec.bucket)
    ye, yb = _heat_axis(y, "y", spec.bucket)
    zsel = f", {quote(z.name)} as z" if z is not None else ""
    where = _where(conds + [f"{quote(x.name)} is not null", f"{quote(y.name)} is not null"])
    source = f"(select {xe} as x, {ye} as y{zsel} from {rel.sql}{where})"
    binned = [a for a in (xb, yb) if a]

    def key(a: str, is_binned: bool, temporal: bool) -> str:
        if not is_binned:
            return f"v.{a}"
        b = f"case when b.{a}w > 0 then least(floor((v.{a} - b.{a}lo) / b.{a}w), :wb_bins - 1) else 0 end"
        start = f"b.{a}lo + ({b}) * b.{a}w"
        return f"to_timestamp({start})" if temporal else start

    kx = key("x", bool(xb), x.family == "temporal")
    ky = key("y", bool(yb), y.family == "temporal")
    agg = _agg(spec.agg, Column("z", z.type) if z is not None else None)
    params["wb_limit"] = MAX_CATEGORIES * MAX_CATEGORIES
    if binned:
        params["wb_bins"] = int(spec.bins)
        bounds = ", ".join(f"min({a}) as {a}lo, (max({a}) - min({a})) / :wb_bins as {a}w" for a in binned)
        frm = f"{source} as v, (select {bounds} from {source} as s) as b"
    else:
        frm = f"{source} as v"
    return Query(f"select {kx} as x, {ky} as y, {agg} as z\nfrom {frm}\ngroup by all\norder by x, y\nlimit :wb_limit",
                 params)


_BUILDERS = {"bar": _grouped, "line": _grouped, "histogram": _histogram, "box": _box,
             "scatter": _scatter, "heatmap": _heatmap}
