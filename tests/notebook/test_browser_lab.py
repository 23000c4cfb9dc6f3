"""End to end in a real browser: JupyterLab runs ``notebooks/explore.ipynb`` in headless Chromium.

JupyterLab is started on a free local port with a token, over a demo project; Chromium
(Debian's, driven by Playwright with ``executable_path``, nothing downloaded) opens the
tour notebook and runs every cell. The explorer must render as a live widget (which
also proves the widget frontend is detected) next to plotly charts, and no cell may
show an error. The screenshot is kept under ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.projects import REPO
from tests.support.servers import require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(sqlite_project, tmp_path):  # noqa: F811
    require_chromium()  # before starting JupyterLab for nothing
    shutil.copy(REPO / "notebooks" / "explore.ipynb", sqlite_project / "explore.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={sqlite_project}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")},
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


CELLS_STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext.session) return null;
  const cells = panel.content.model.cells, out = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    out.push({count: c.executionCount, outputs: c.outputs.toJSON()});
  }
  return {kernel: panel.sessionContext.session.kernel.status, cells: out};
}"""


GRID_STATE = """() => {
  const ex = document.querySelector('.wb-explorer');
  if (!ex) return null;
  const heads = [...ex.querySelectorAll('.wb-grid-head button')];
  const table = ex.querySelector('.wb-grid table');
  if (!table || !heads.length) return null;
  const box = el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right}; };
  const rows = [...table.querySelectorAll('tbody tr')];
  const first = rows.length ? [...rows[0].children] : [];
  const column = {};
  heads.forEach((h, i) => { column[h.textContent.replace(/ [▲▼]$/, '').trim()] =
    rows.map(r => r.children[i].textContent.trim()); });
  const num = heads.findIndex(h => h.textContent.trim().startsWith('latitude'));
  return {
    headers: heads.map(box), cells: first.map(box), rows: rows.length, column,
    sorted: (heads.find(h => /[▲▼]$/.test(h.textContent.trim())) || {textContent: ''}).textContent.trim() || null,
    numericRight: rows.length > 0 && getComputedStyle(rows[0].children[num]).textAlign === 'right'
      && getComputedStyle(heads[num]).textAlign === 'right',
    nullCells: ex.querySelectorAll('.wb-grid td .wb-null').length,
  };
}"""


def test_tour_notebook_runs_in_jupyterlab(lab, sqlite_project):
    from playwright.sync_api import sync_playwright

    url, token = lab
    lab_root = sqlite_project
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(f"{url}/lab/tree/explore.ipynb?token={token}")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
                                   "window.jupyterapp.shell.currentWidget.sessionContext && "
                                   "window.jupyterapp.shell.currentWidget.sessionContext.session && "
                                   "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && "
                                   "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status "
                                   "=== 'idle'", timeout=90_000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(f"() => {{ const s = ({CELLS_STATE})(); return s && s.kernel === 'idle' && "
                                   "s.cells.every(c => c.count); }", timeout=180_000)
            page.locator(".wb-explorer").first.wait_for(timeout=30_000)
            page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
            page.locator(".wb-explorer").first.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)  # let plotly finish drawing before the picture
            page.screenshot(path=str(ARTIFACTS / "explore-lab.png"), full_page=True)
            page.locator(".wb-explorer").first.screenshot(path=str(ARTIFACTS / "explore-widget.png"))
            state = page.evaluate(CELLS_STATE)
            explorer_tabs = page.locator(".wb-explorer .lm-TabBar-tab").all_inner_texts()
            charts = page.locator(".js-plotly-plot").count()
            grid_before = page.evaluate(GRID_STATE)
            explorer = page.locator(".wb-explorer").first
            sorted_pages = []
            for _ in range(2):  # ascending, then descending
                explorer.locator(".wb-grid-head button", has_text="latitude").click()
                page.wait_for_function(
                    f"() => {{ const g = ({GRID_STATE})(); if (!g) return false; "
                    f"const v = g.column.latitude.map(Number), s = {1 if not sorted_pages else -1}; "
                    f"return g.sorted === 'latitude' + {json.dumps(' ▲' if not sorted_pages else ' ▼')} && "
                    "v.every((x, i) => i === 0 || s * (x - v[i - 1]) >= 0); }",
                    timeout=30_000)
                sorted_pages.append(page.evaluate(GRID_STATE))
            explorer.screenshot(path=str(ARTIFACTS / "explore-widget-sorted.png"))
        finally:
            browser.close()
    errors = [o for c in state["cells"] for o in c["outputs"]
              if o["output_type"] == "error" or (o["output_type"] == "stream" and "Traceback" in o.get("text", ""))]
    assert not errors, json.dumps(errors)[:2000]
    assert [t.strip() for t in explorer_tabs[:4]] == ["Preview", "Profile", "Chart", "SQL"]
    assert charts >= 4

    # the preview grid: each header sits over its own column, and a click sorts in the database
    for grid in (grid_before, *sorted_pages):
        assert grid["headers"] and len(grid["headers"]) == len(grid["cells"])
        for h, c in zip(grid["headers"], grid["cells"]):
            assert abs(h["left"] - c["left"]) <= 1.5 and abs(h["right"] - c["right"]) <= 1.5, \
                list(zip(grid["headers"], grid["cells"]))
        assert grid["rows"] == 50
    assert grid_before["numericRight"] and grid_before["nullCells"] > 0
    assert set(grid_before["column"]["is_public"]) <= {"true", "false"}
    import sqlite3

    db = sqlite3.connect(lab_root / "data" / "app.db")
    lo, hi = db.execute("select min(latitude), max(latitude) from photos").fetchone()
    db.close()
    up, down = (page_["column"]["latitude"] for page_ in sorted_pages)
    # the first page of the whole table's order (not the page on screen re-sorted), NULLs last
    assert float(up[0]) == lo and float(down[0]) == hi
    assert [float(v) for v in up] == sorted(float(v) for v in up)
    assert [float(v) for v in down] == sorted((float(v) for v in down), reverse=True)
