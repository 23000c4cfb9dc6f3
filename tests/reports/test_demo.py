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


def test_most_liked_chart_has_one_bar_per_photo_when_titles_repeat(demo):
    """Two of the day's top photos share a title: the chart still shows one bar per photo,
    labelled by title, with the table's values in the table's order (keyed by title,
    plotly stacked them into one bar)."""
    import sqlite3

    from playwright.sync_api import sync_playwright

    day = "2026-11-04"
    top_sql = ("select p.id, p.title, count(*) as likes from likes l join photos p on p.id = l.photo_id "
               "where date(l.created_at) = ? group by p.id, p.title order by likes desc, p.id limit 10")
    db = sqlite3.connect(demo.root / "data" / "app.db")
    rows = db.execute(top_sql, [day]).fetchall()
    assert len(rows) >= 3
    db.execute("update photos set title = ? where id = ?", [rows[0][1], rows[1][0]])  # top two: one title
    db.commit()
    want = db.execute(top_sql, [day]).fetchall()  # (id, title, likes), as the database says
    db.close()
    assert want[0][1] == want[1][1] and want[0][0] != want[1][0]

    res = run_report("daily_report", {"day": day}, config=demo, progress=False)
    assert res.ok, res.error
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.goto(res.report_path.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.wb-plotly')].every(d => d.querySelector('svg.main-svg'))",
            timeout=30_000)
        drawn = page.evaluate("""() => {
            const gd = [...document.querySelectorAll('.wb-plotly')]
                .find(d => (d.layout.title.text || '').includes('photos by likes'));
            const y = el => el.getBoundingClientRect().top + el.getBoundingClientRect().height / 2;
            const bars = [...gd.querySelectorAll('g.trace.bars g.point path')]
                .map(b => ({y: y(b), width: b.getBoundingClientRect().width})).sort((a, b) => a.y - b.y);
            const ticks = [...gd.querySelectorAll('g.ytick text')]
                .map(t => ({y: y(t), text: t.textContent})).sort((a, b) => a.y - b.y);
            // the table under the chart, read by its header names
            const table = gd.closest('.cell').querySelector('table.dataframe');
            const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
            const rows = [...table.querySelectorAll('tbody tr')].map(tr => {
                const cells = [...tr.children].map(c => c.textContent.trim());
                const at = n => cells[cells.length - heads.length + heads.indexOf(n)];
                return {id: Number(at('id')), title: at('title'), likes: Number(at('likes'))};
            });
            return {bars, ticks, rows, traces: gd.data.length};
        }""")
        browser.close()
    assert [(r["id"], r["title"], r["likes"]) for r in drawn["rows"]] == [tuple(r) for r in want]
    bars, ticks = drawn["bars"], drawn["ticks"]
    assert drawn["traces"] == 1 and len(bars) == len(want) and len(ticks) == len(want)
    assert [t["text"] for t in ticks] == [title for _, title, _ in want]  # labelled by title, table order
    for bar, tick in zip(bars, ticks):
        assert abs(bar["y"] - tick["y"]) < 3  # each bar beside its own label
    scale = bars[0]["width"] / want[0][2]
    for bar, (_, _, likes) in zip(bars, want):
        assert abs(bar["width"] - likes * scale) < 1.5, (bar, likes)  # each bar one photo's likes
