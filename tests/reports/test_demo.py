"""The demo daily report over freshly built demo data: it runs, records its numbers, and its
page draws every chart offline in headless Chromium."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from workbench.config import load_config
from workbench.demo import build
from workbench.executors import run_many
from workbench.reports import run_report

from tests.support.projects import REPO

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = REPO
END = dt.date(2026, 11, 7)
VALUES = {"new_photos", "likes", "logins", "active_users", "top_photo_likes", "labelled_share"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    build(root, scale=0.05, end_day=END, days=7, progress=False)
    (root / "workbench.toml").write_text((ROOT / "workbench.toml").read_text().replace(
        '"notebooks/daily_report.ipynb"', f'"{ROOT / "notebooks" / "daily_report.ipynb"}"'))
    return load_config(root / "workbench.toml")


def test_daily_report_committed_without_outputs():
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "daily_report.ipynb", as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_daily_report_runs_and_draws_offline(demo):
    from playwright.sync_api import sync_playwright

    res = run_report("daily_report", {"day": "2026-11-05"}, config=demo, progress=False)
    assert res.ok, res.error
    assert set(res.values) == VALUES and res.values["new_photos"] > 0
    html = res.report_path.read_text()
    assert 3 <= html.count('class="wb-plotly"') <= 6
    blocked, errors = [], []
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://")
                   else (blocked.append(r.request.url), r.abort()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(res.report_path.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.wb-plotly')].every(d => d.querySelector('svg.main-svg'))",
            timeout=30_000)
        browser.close()
    assert blocked == [] and errors == []


def test_daily_report_grid_for_the_last_days(demo):
    results = run_many("daily_report", {"day": ["2026-11-06", "2026-11-07"]}, config=demo, jobs=2)
    assert [r.status for r in results] == ["succeeded", "succeeded"], [r.error for r in results]
    index = (demo.reports_dir / "index.html").read_text()
    assert "Daily activity of the photo app" in index and index.count("<svg") >= len(VALUES)
