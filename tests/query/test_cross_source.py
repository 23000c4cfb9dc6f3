"""One statement over an OLTP table, the lake, the warehouse and a DataFrame equals pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import Workbench

from tests.support.projects import write_config
from tests.support.servers import admin_execute, require_server, scratch_database


@pytest.fixture
def project(demo_project):
    _, root = demo_project
    with Workbench(root / "workbench.toml") as w:
        yield w


def test_four_way_join_matches_pandas(project):
    w = project
    photos = w.sql("select id, user_id, title from photos", source="app")
    # (Arrow-backed int columns have no % in pandas: astype to NumPy for it)
    picked = photos[photos["id"].astype("int64") % 3 == 0][["id"]].rename(columns={"id": "photo_id"})
    hub = w.sql("""
        select p.id, p.user_id, p.title, l.content_label, count(e.event) as views
        from app.photos p
        join picked d on d.photo_id = p.id
        join warehouse.labels l on l.photo_id = p.id
        left join events e on e.photo_id = p.id and e.event = 'view'
        group by all
        order by p.id, l.content_label
    """)

    labels = w.sql("select photo_id, content_label from labels", source="warehouse")
    views = w.sql("select photo_id from events where event = 'view'")  # the lake view alone
    expected = (photos.merge(picked, left_on="id", right_on="photo_id")
                .drop(columns="photo_id")
                .merge(labels, left_on="id", right_on="photo_id").drop(columns="photo_id"))
    counts = views.groupby("photo_id").size().rename("views")
    expected = (expected.merge(counts, left_on="id", right_index=True, how="left")
                .fillna({"views": 0}).sort_values(["id", "content_label"]).reset_index(drop=True))
    assert len(hub) > 10 and hub["views"].sum() > 0
    got = hub.astype({"views": "int64", "id": "int64", "user_id": "int64"})
    want = expected[["id", "user_id", "title", "content_label", "views"]].astype(
        {"views": "int64", "id": "int64", "user_id": "int64"})
    pd.testing.assert_frame_equal(got.astype(str), want.astype(str), check_dtype=False)


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_filters_and_projections_pushed_into_the_oltp_database(tmp_path, kind):
    """The scan of an attached server table asks it for the needed columns and rows only."""
    require_server(kind)
    with scratch_database(kind) as url:
        admin_execute(url, "create table photos (id int primary key, title text, body text)",
                      "insert into photos values (1, 'a', 'x'), (2, 'b', 'y')")
        with Workbench(write_config(tmp_path, url)) as w:
            assert w.sql("select title from app.photos where id = 2")["title"].tolist() == ["b"]
            plan = w.sql("explain select title from app.photos where id = 2").iloc[0, 1]
    scan = plan[plan.index("_SCAN"):]
    assert "Filters: id=2" in scan          # the WHERE runs in the database
    assert "title" in scan and "body" not in scan  # only the needed columns travel
