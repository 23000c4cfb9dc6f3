"""The explorer's SQL builders on an in-memory DuckDB table, checked against pandas.

The builders are tested by what their SQL *computes* (the same numbers pandas gets from
the same rows), not by their text, so a rewrite of a statement that keeps its meaning
keeps the tests green; and by two rules of their text that are about safety: names are
quoted identifiers, values are bound parameters.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from workbench.errors import UsageError
from workbench.notebook.exploring import sqlgen as G
from workbench.sqltext import placeholders, quote_ident

from tests.support import hostile


def relation(con: duckdb.DuckDBPyConnection, table: str) -> G.Relation:
    """The Relation the explorer would build: the hub's own description of the columns."""
    cols = con.execute(f"describe {quote_ident(table)}").fetchall()
    return G.Relation(quote_ident(table), tuple(G.Column(name, typ) for name, typ, *_ in cols), label=table)


def run(con, q: G.Query) -> pd.DataFrame:
    """Run a builder's query the way the hub does: :name → $name, values bound."""
    sql = q.sql
    for p in reversed(placeholders(sql)):
        sql = sql[:p.start] + "$" + p.name + sql[p.end:]
    return con.execute(sql, q.params).df()


@pytest.fixture
def photos():
    """(connection, relation, frame): a small table with NULLs, a category, numbers and times."""
    df = pd.DataFrame({
        "id": range(1, 41),
        "loc": (["Zürich", "Oslo", "Lima", None] * 10),
        "score": [None if i % 7 == 0 else i * 0.5 for i in range(40)],
        "likes": [i % 5 for i in range(40)],
        "at": pd.date_range("2026-11-01", periods=40, freq="5h"),
        "title": [f"t{i}" for i in range(40)],
    })
    con = duckdb.connect()
    con.register("src", df)
    con.execute("create table photos as select * from src")
    return con, relation(con, "photos"), df


def test_filters_compute_what_pandas_computes(photos):
    con, rel, df = photos
    cases = [
        (("likes", ">=", 3), df["likes"] >= 3),
        (("loc", "=", "Oslo"), df["loc"] == "Oslo"),
        (("loc", "!=", "Oslo"), df["loc"].notna() & (df["loc"] != "Oslo")),  # SQL: NULL is not unequal
        (("loc", "is null", None), df["loc"].isna()),
        (("score", "<", "5"), df["score"] < 5),  # text from a box, cast to the column's type
        (("at", ">", "2026-11-03"), df["at"] > pd.Timestamp("2026-11-03")),
        (("title", "contains", "T1"), df["title"].str.lower().str.contains("t1")),
    ]
    for f, mask in cases:
        q = G.count(rel, filters=[f])
        assert run(con, q)["n"][0] == int(mask.sum()), f


def test_preview_pages_and_sorts_in_the_database(photos):
    con, rel, df = photos
    page = run(con, G.preview(rel, limit=7, offset=5, order_by="score", descending=True))
    want = df.sort_values("score", ascending=False, na_position="last").iloc[5:12]
    assert page["id"].tolist() == want["id"].tolist()


@pytest.mark.parametrize("value", hostile.params())
def test_values_are_bound_never_in_the_text(photos, value):
    con, rel, df = photos
    for op in ("=", "contains"):
        q = G.preview(rel, filters=[("title", op, value)])
        assert q.params["wb_f0"] == value and ":wb_f0" in q.sql
        if value:  # (the empty string is in every text)
            assert value not in q.sql
        got = run(con, G.count(rel, filters=[("title", op, value)]))["n"][0]
        want = (df["title"] == value) if op == "=" else df["title"].str.contains(value.lower(), regex=False)
        assert got == int(want.sum())


@pytest.mark.parametrize("name", hostile.params(hostile.HOSTILE_NAMES))
def test_hostile_column_names_are_quoted_and_work(name):
    con = duckdb.connect()
    con.execute(f"create table t ({quote_ident(name)} integer, g varchar)")
    con.execute("insert into t values (1, 'a'), (2, 'a'), (NULL, 'b')")
    rel = relation(con, "t")
    q = G.chart(rel, G.ChartSpec("bar", x="g", y=name, agg="sum"))
    assert quote_ident(name) in q.sql
    got = dict(run(con, q)[["x", "y"]].itertuples(index=False))
    assert got == {"a": 3, "b": None} or (got["a"] == 3 and pd.isna(got["b"]))
    stats = run(con, G.profile_stats(rel))
    assert stats["c0_nonnull"][0] == 2 and stats["c0_max"][0] == 2


def test_names_not_in_the_relation_are_refused(photos):
    _, rel, _ = photos
    for bad in ['id" = 1 or "1', "nope", *hostile.HOSTILE_NAMES]:  # (order_by='' means no order)
        with pytest.raises(UsageError, match="no column"):
            G.preview(rel, order_by=bad)
        with pytest.raises(UsageError, match="no column"):
            G.chart(rel, G.ChartSpec("bar", x=bad))


@pytest.mark.parametrize("spec, words", [
    (G.ChartSpec("pie", x="loc"), "unknown chart kind"),
    (G.ChartSpec("bar"), "needs x"),
    (G.ChartSpec("bar", x="loc", agg="sum(1); --", y="score"), "unknown aggregate"),
    (G.ChartSpec("bar", x="loc", agg="sum"), "needs a column"),
    (G.ChartSpec("bar", x="loc", agg="avg", y="title"), "needs a numeric y"),
    (G.ChartSpec("line", x="at", bucket="fortnight"), "unknown time bucket"),
    (G.ChartSpec("line", x="likes", bucket="day"), "needs a date or timestamp"),
    (G.ChartSpec("histogram", x="title"), "numeric, date or timestamp"),
    (G.ChartSpec("box", x="loc"), "needs y"),
    (G.ChartSpec("scatter", x="likes"), "needs x and y"),
    (G.ChartSpec("bar", x="loc", filters=(("likes", "; drop", 1),)), "unknown filter operator"),
])
def test_chart_specs_are_validated(photos, spec, words):
    _, rel, _ = photos
    with pytest.raises(UsageError, match=words):
        G.chart(rel, spec)


def test_bar_counts_and_aggregates_match_pandas(photos):
    con, rel, df = photos
    bars = run(con, G.chart(rel, G.ChartSpec("bar", x="loc")))
    want = df["loc"].value_counts(dropna=False)
    assert {(None if pd.isna(k) else k): v for k, v in zip(bars["x"], bars["y"])} == \
        {(None if pd.isna(k) else k): v for k, v in want.items()}
    avg = run(con, G.chart(rel, G.ChartSpec("bar", x="loc", y="score", agg="avg"))).dropna(subset=["x"])
    want = df.groupby("loc")["score"].mean()
    assert dict(zip(avg["x"], avg["y"])) == pytest.approx(want.to_dict())


def test_line_buckets_by_day_like_pandas(photos):
    con, rel, df = photos
    line = run(con, G.chart(rel, G.ChartSpec("line", x="at", bucket="day")))
    want = df.groupby(df["at"].dt.floor("D")).size()
    assert line["y"].tolist() == want.tolist()
    assert [pd.Timestamp(x) for x in line["x"]] == list(want.index)


def test_histogram_counts_every_non_null_value_once(photos):
    con, rel, df = photos
    h = run(con, G.chart(rel, G.ChartSpec("histogram", x="score", bins=6)))
    assert h["y"].sum() == df["score"].notna().sum() and len(h) <= 6
    edges = h["x"].tolist() + [h["x"].iloc[-1] + h["width"].iloc[-1]]
    assert edges[0] == df["score"].min() and edges[-1] == pytest.approx(df["score"].max())


def test_box_quartiles_and_scatter_sample(photos):
    con, rel, df = photos
    box = run(con, G.chart(rel, G.ChartSpec("box", y="score")))
    s = df["score"].dropna()
    assert box["n"][0] == len(s) and box["lo"][0] == s.min() and box["hi"][0] == s.max()
    assert box["mean"][0] == pytest.approx(s.mean())
    pts = run(con, G.chart(rel, G.ChartSpec("scatter", x="likes", y="score", sample=10)))
    assert len(pts) == 10
    assert set(map(tuple, pts[["x", "y"]].dropna().values)) <= set(map(tuple, df[["likes", "score"]].values))


def test_profile_stats_are_exact(photos):
    con, rel, df = photos
    q = G.profile_stats(rel, ["score", "likes", "loc"])
    r = run(con, q)
    assert r["total"][0] == len(df)
    assert r["c0_nonnull"][0] == df["score"].notna().sum()
    assert r["c0_mean"][0] == pytest.approx(df["score"].mean())
    assert (r["c1_min"][0], r["c1_max"][0]) == (df["likes"].min(), df["likes"].max())
    assert r["c2_nonnull"][0] == df["loc"].notna().sum() and r["c2_max"][0] == df["loc"].max()


def test_explorer_parameter_names_are_reserved():
    rel = G.Relation("(select :wb_x as a) t", (G.Column("a", "INTEGER"),), params={"wb_x": 1})
    with pytest.raises(UsageError, match="wb_"):
        G.preview(rel)
