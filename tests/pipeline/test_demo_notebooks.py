"""The photo_popularity pipeline's notebooks and SQL, run by hand in order on a fresh demo.

Until the pipeline runner lands, the test does what the runner will: each notebook runs as
a report (papermill, a real kernel) with ``day``, and the SQL task's one statement is run on
the hub and written to ``warehouse.user_features``. The checks are on what the tasks wrote,
compared with the demo's own OLTP tables and lake files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import tomllib

import pandas as pd
import pytest

from workbench.api import Workbench
from workbench.config import load_config
from workbench.demo import build
from workbench.reports import run_report

from tests.support.projects import REPO, write_config

pytestmark = pytest.mark.slow

PIPE = REPO / "notebooks" / "photo_popularity"
NOTEBOOKS = ["photo_metadata", "classifier_outputs", "training_set", "training_report"]
END = dt.date(2026, 11, 28)  # the demo log covers 2026-11-15 .. 2026-11-28
DAY = dt.date(2026, 11, 28)  # the pipeline's day: data before it, the last log day excluded
CUTOFF = dt.datetime(2026, 11, 25)  # DAY - horizon_days (3)
COLUMNS = [
    "photo_id", "day", "cutoff", "posted_at", "age_hours", "posted_hour", "posted_dow", "title_length",
    "has_location", "has_exif", "is_public", "camera", "owner_id", "owner_country", "owner_signup_at",
    "owner_account_age_days", "owner_photos_before", "owner_logins_7d", "owner_views_7d",
    "owner_likes_given_7d", "owner_active_days_7d", "owner_last_seen_at", "model_version", "content_label",
    "content_confidence", "style_label", "style_confidence", "labels_scored_at", "likes_next", "popular",
]
NULLABLE = {"camera", "owner_country", "owner_last_seen_at", "model_version", "content_label",
            "content_confidence", "style_label", "style_confidence", "labels_scored_at"}
FEATURE_TIMES = ["posted_at", "owner_signup_at", "owner_last_seen_at", "labels_scored_at"]


def run(config, name: str, day: dt.date):
    res = run_report(PIPE / f"{name}.ipynb", {"day": day.isoformat()}, config=config, progress=False)
    assert res.ok, res.error
    return res


def user_features(config, day: dt.date):
    """The SQL task as the runner will do it: the one statement, its result replacing the table."""
    wb = Workbench(config)
    try:
        return wb.load((PIPE / "user_features.sql").read_text(), "user_features", params={"day": day})
    finally:
        wb.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("photopipe")
    build(root, scale=0.05, end_day=END, days=14, progress=False)
    write_config(root, "sqlite:///data/app.db")
    config = load_config(root / "workbench.toml")
    results = {"photo_metadata": run(config, "photo_metadata", DAY)}
    user_features(config, DAY)
    for name in NOTEBOOKS[1:]:
        results[name] = run(config, name, DAY)
    folder = root / "data" / "lake" / "training_set" / f"day={DAY}"
    return config, results, folder


def app(config, sql: str, *args):
    with sqlite3.connect(config.root / "data" / "app.db") as c:
        return c.execute(sql, args).fetchall()


def test_committed_without_outputs_and_the_pipeline_block_has_the_issues_shape():
    import nbformat

    for name in NOTEBOOKS:
        nb = nbformat.read(PIPE / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), name
        assert "parameters" in code[0].metadata.get("tags", []) and "day: date" in code[0].source, name
    spec = tomllib.loads((REPO / "workbench" / "config" / "default.toml").read_text())["pipelines"]["photo_popularity"]
    assert spec["slot_parameter"] == "day" and list(spec["tasks"]) == [
        "photo_metadata", "user_features", "classifier_outputs", "training_set", "training_report"]
    for task in spec["tasks"].values():
        assert (REPO / (task.get("notebook") or task["sql"])).is_file()


def test_user_features_sql_is_one_statement_with_day_bound(project):
    config, _, _ = project
    wb = Workbench(config)
    try:
        uf = wb.sql((PIPE / "user_features.sql").read_text(), day=DAY)
        table = wb.sql("select * from warehouse.user_features order by user_id, day")
    finally:
        wb.close()
    assert len(uf) == len(table) > 0
    assert set(uf["day"]) == {DAY - dt.timedelta(days=k) for k in range(1, 8)}  # the 7 days before day
    assert uf["last_event_at"].max() < pd.Timestamp(DAY)  # nothing from day or later
    assert not uf[["user_id", "day", "logins", "views", "likes_given", "active_days_7d"]].isna().any().any()
    assert (uf["active_days_7d"].between(1, 7)).all() and (uf["logins_7d"] >= uf["logins"]).all()
    # logins on one day agree with the log files, counted without the hub
    logins = pd.read_json(config.root / "data/lake/events/day=2026-11-27/events.jsonl", lines=True)
    want = logins[logins.event == "login"].groupby("user_id").size()
    got = uf[(uf["day"] == dt.date(2026, 11, 27)) & (uf["logins"] > 0)].set_index("user_id")["logins"]
    assert got.astype(int).to_dict() == want.to_dict()


def test_training_set_one_row_per_photo_posted_before_the_cutoff(project):
    config, _, folder = project
    ts = pd.read_parquet(folder / "part.parquet")
    assert list(ts.columns) == COLUMNS
    want = [r[0] for r in app(config, "select id from photos where posted_at < ? order by id", CUTOFF.isoformat())]
    assert ts["photo_id"].tolist() == want and len(want) > 100
    assert not ts[[c for c in COLUMNS if c not in NULLABLE]].isna().any().any()
    assert ts["content_label"].notna().mean() > 0.9  # almost every photo was scored before the cutoff
    for column in FEATURE_TIMES:  # no feature from the cutoff on, hence none from day on
        assert ts[column].max() < pd.Timestamp(CUTOFF), column
    assert (ts["day"] == DAY).all() and (ts["cutoff"] == pd.Timestamp(CUTOFF)).all()


def test_target_counts_the_likes_between_cutoff_and_day(project):
    config, _, folder = project
    ts = pd.read_parquet(folder / "part.parquet").set_index("photo_id")
    likes = dict(app(config, "select photo_id, count(*) from likes where created_at >= ? and created_at < ? "
                             "group by photo_id", CUTOFF.isoformat(), DAY.isoformat()))
    assert ts["likes_next"].to_dict() == {p: likes.get(p, 0) for p in ts.index}  # the OLTP agrees with the log
    assert ts["popular"].equals(ts["likes_next"] >= 3)
    assert 0 < ts["popular"].mean() < 0.5


def test_data_card_numbers_are_the_files(project):
    _, _, folder = project
    ts = pd.read_parquet(folder / "part.parquet")
    card = json.loads((folder / "data_card.json").read_text())
    assert card["sha256"] == hashlib.sha256((folder / "part.parquet").read_bytes()).hexdigest()
    assert card["rows"] == len(ts) and [c["name"] for c in card["columns"]] == COLUMNS
    assert {c["name"]: c["nulls"] for c in card["columns"]} == ts.isna().sum().astype(int).to_dict()
    assert {c["name"] for c in card["columns"] if c["nullable"]} == NULLABLE
    assert card["label_balance"] == {"popular": int(ts.popular.sum()), "not_popular": int((~ts.popular).sum()),
                                     "popular_share": round(ts.popular.mean(), 4)}
    assert card["target"]["window"] == ["2026-11-25 00:00:00", "2026-11-28 00:00:00"]
    assert [f["input"] for f in card["freshness"]] == [
        "warehouse.photo_metadata", "warehouse.user_features", "warehouse.classifier_outputs", "events"]
    assert all(f["status"] == "fresh" and 0 < f["lag_hours"] <= 36 for f in card["freshness"])
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files left


def test_report_shows_charts_and_passing_checks(project):
    _, results, _ = project
    res = results["training_report"]
    html = res.report_path.read_text()
    assert html.count('class="wb-plotly"') >= 5
    for text in ("Freshness of the inputs", "Leakage checks", "Rank correlation", "all checks pass",
                 "the file's sha256 is the card's"):
        assert text in html, text
    assert res.values["checks_failed"] == 0 and res.values["checks"] > 20
    assert "FAIL" not in html


def test_a_day_past_the_data_is_reported_stale(project):
    """For a day three days after the demo's last, the inputs are stale: the set is still
    written (its card says so) and the report counts the failed freshness checks."""
    config, _, _ = project
    late = dt.date(2026, 12, 1)
    run(config, "training_set", late)
    card = json.loads((config.root / f"data/lake/training_set/day={late}/data_card.json").read_text())
    assert [f["status"] for f in card["freshness"]] == ["stale"] * 4
    res = run(config, "training_report", late)
    assert res.values["checks_failed"] == 4
    assert "4 of" in res.report_path.read_text() and ">stale<" in res.report_path.read_text()


def test_report_draws_offline_in_chromium(project):
    from tests.support.servers import require_chromium

    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    _, results, _ = project
    blocked, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
                   else (blocked.append(r.request.url), r.abort()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(results["training_report"].report_path.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.wb-plotly')].every(d => d.querySelector('svg.main-svg'))",
            timeout=30_000)
        browser.close()
    assert blocked == [] and errors == []


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_photo_metadata_is_the_same_from_a_server_app_database(project, kind, tmp_path):
    """The same demo in PostgreSQL or MariaDB gives the same photo_metadata as in SQLite
    (timestamps as UTC, booleans as booleans, the camera out of the EXIF JSON)."""
    from tests.support.servers import require_server, scratch_database

    require_server(kind)
    sqlite_config, _, _ = project
    with scratch_database(kind, "wb_photopipe") as url:
        build(tmp_path, scale=0.05, end_day=END, days=14, app_url=url, progress=False)
        write_config(tmp_path, url)
        config = load_config(tmp_path / "workbench.toml")
        run(config, "photo_metadata", DAY)
        frames = []
        for cfg in (sqlite_config, config):
            wb = Workbench(cfg)
            try:
                frames.append(wb.sql("select * from warehouse.photo_metadata order by photo_id"))
            finally:
                wb.close()
    want, got = (f.astype(str) for f in frames)
    assert len(want) > 100 and want.columns.tolist() == got.columns.tolist()
    assert want.equals(got)
