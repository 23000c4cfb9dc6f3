"""The README's Python examples run as written, on the demo data (docs that stay true)."""

from __future__ import annotations

import re

import workbench as wb

from tests.support.projects import REPO


README = REPO / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_query_tour_runs(sqlite_project, monkeypatch):  # noqa: F811
    monkeypatch.chdir(sqlite_project)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    wb.reset()
    tour = next(b for b in python_blocks() if "wb.sql(" in b and "wb.sources()" in b)
    scope: dict = {}
    try:
        exec(compile(tour, str(README), "exec"), scope)  # noqa: S102 - our own README
        assert len(scope["photos"]) > 0 and set(scope["wanted"].columns) == {"id"}
        top = wb.sql("select * from photos where posted_at >= :since", source="app", since=scope["day"])
        assert len(top) == len(scope["photos"])
    finally:
        wb.reset()


def test_readme_load_and_export_run(sqlite_project, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.chdir(sqlite_project)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    wb.reset()
    block = next(b for b in python_blocks() if "wb.load(" in b)
    import pandas as pd

    scope = {"wb": wb, "df": pd.DataFrame({"photo_id": [1, 2], "score": [0.1, 0.9]})}
    try:
        exec(compile(block.replace("...", "pass"), str(README), "exec"), scope)  # noqa: S102
        assert (sqlite_project / "out" / "photos.parquet").is_file()
        assert wb.sql("select count(*) as n from photo_scores", source="warehouse")["n"][0] == 2
    finally:
        wb.reset()
