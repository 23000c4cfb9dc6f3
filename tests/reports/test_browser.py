"""Rendered reports and the index in headless Chromium (Debian's), offline.

Every request that is not ``file://`` is counted and aborted; the pages must make none,
log no console error, and draw every plotly figure (its ``svg.main-svg`` present).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from workbench.config import load_config
from workbench.reports import run_report
from workbench.reports.render import PLOTLY_MIME

from tests.support.projects import NOTEBOOKS, write_reports_config
from tests.support.servers import require_chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NB = NOTEBOOKS
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    cfg = load_config(write_reports_config(root))
    charts = run_report(str(NB / "charts.ipynb"), {"n_charts": "10"}, config=cfg, progress=False)
    failed = run_report(str(NB / "raises.ipynb"), config=cfg, progress=False)
    assert charts.ok and not failed.ok
    return cfg, charts, failed


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = require_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS)
        yield b
        b.close()


def open_offline(browser, path: Path):
    """Open ``path``; return (page, blocked requests, console errors)."""
    page = browser.new_page()
    blocked: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, blocked, errors


def test_report_is_offline_and_draws_every_figure(browser, runs):
    _, charts, _ = runs
    page, blocked, errors = open_offline(browser, charts.report_path)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.wb-plotly')].every(d => d.querySelector('svg.main-svg'))",
        timeout=30_000)
    figures = page.eval_on_selector_all(".wb-plotly", "ds => ds.map(d => !!d.querySelector('svg.main-svg'))")
    assert figures == [True] * 10
    assert page.locator("table.dataframe").count() >= 2
    assert "n_charts" in page.inner_text("header")
    assert page.locator("text=wb_begin").count() == 0  # no injected cell, no code by default
    assert blocked == [] and errors == []
    page.close()


def test_plotly_js_once_and_page_size(runs):
    from plotly.offline import get_plotlyjs

    _, charts, _ = runs
    html = charts.report_path.read_text()
    plotly_js = get_plotlyjs()
    assert html.count('id="wb-plotly-js"') == 1 and html.count("<script") == 2 + 2 * 10
    nb = nbformat.read(charts.notebook_path, as_version=4)
    data = sum(len(json.dumps(o["data"][PLOTLY_MIME])) for c in nb.cells for o in c.get("outputs", [])
               if PLOTLY_MIME in o.get("data", {}))
    assert data > 0 and len(html) <= 1.2 * (len(plotly_js) + data)
    assert len(html) < 0.5 * len(plotly_js)  # plotly.js travels gzipped
    start = html.index('id="wb-plotly-js">')
    outside = (html[:start] + html[html.index("</script>", start):]).lower()  # minus the packed plotly.js
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "require.js", "mathjax", "cdn.plot.ly", "http"):
        assert cdn not in outside


def test_failed_report_opens_at_the_failing_cell(browser, runs):
    _, _, failed = runs
    page, blocked, errors = open_offline(browser, failed.report_path)
    assert page.locator("#failed-cell").count() == 1
    assert page.evaluate("() => { const r = document.getElementById('failed-cell').getBoundingClientRect();"
                         " return r.top >= 0 && r.top < window.innerHeight; }")
    assert "ValueError" in page.inner_text("main") and "boom in cell" in page.inner_text("main")
    assert blocked == [] and errors == []
    page.close()


def test_index_is_offline_and_links_work(browser, runs):
    cfg, charts, failed = runs
    page, blocked, errors = open_offline(browser, cfg.reports_dir / "index.html")
    text = page.inner_text("body")
    assert "charts" in text and "raises" in text and "boom in cell" in text
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
    assert any(h.endswith(f"{charts.id}/report.html") for h in hrefs)
    for h in hrefs:
        assert h.startswith("file://") and Path(h[len("file://"):]).exists(), h
    assert blocked == [] and errors == []
    page.close()


def test_headings_and_tables_read_clean(browser, tmp_path):
    """No '¶' beside the headings (the anchors stay, shown on hover, and their links work),
    and DataFrames without pandas' row numbers; a named index is data and stays."""
    cfg = load_config(write_reports_config(tmp_path))
    res = run_report(str(NB / "tables.ipynb"), {"rows": "6"}, config=cfg, progress=False)
    assert res.ok, res.error
    page, blocked, errors = open_offline(browser, res.report_path)
    assert "¶" not in page.inner_text("main")
    anchors = page.locator("a.anchor-link")
    assert anchors.count() == 4
    for i in range(anchors.count()):
        a = anchors.nth(i)
        assert not a.is_visible()
        target = a.get_attribute("href")
        assert target.startswith("#") and page.locator(f"[id='{target[1:]}']").count() == 1
        a.locator("xpath=..").hover()  # the heading: its anchor shows
        assert a.is_visible()
    page.mouse.move(0, 0)

    tables = page.evaluate("""() => [...document.querySelectorAll('main table.dataframe')].map(t => ({
        head: [...t.querySelectorAll('thead tr:last-child th')].map(c => c.textContent.trim()),
        rowHeads: [...t.querySelectorAll('tbody th')].map(c => c.textContent.trim()),
        rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.children].map(c => c.textContent.trim())),
        after: t.parentElement.textContent.includes('500 rows')}))""")
    assert len(tables) == 4
    frame, filtered, grouped, long = tables
    assert frame["head"] == ["name", "score"] and frame["rowHeads"] == []
    assert frame["rows"] == [[f"n{i}", f"{i * 1.5:.1f}"] for i in range(6)]
    assert filtered["head"] == ["name", "score"] and filtered["rowHeads"] == []
    assert [r[0] for r in filtered["rows"]] == [f"n{i}" for i in range(5, 0, -1)]
    assert grouped["rowHeads"] == ["a", "b"] and grouped["rows"] == [["a", "4"], ["b", "2"]]
    assert long["rowHeads"] == [] and long["head"] == ["i"] and 10 <= len(long["rows"]) <= 61  # truncated
    assert long["after"]  # pandas' "500 rows × 1 columns" stays
    assert blocked == [] and errors == []
    page.close()
