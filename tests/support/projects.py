"""Projects for the tests: workbench.toml files and demo projects per engine.

Tests that need a project write one through these helpers instead of each spelling its
own TOML, so a change to the config format is made once. The demo at ``scale=0.05``
(500 photos, ~15,000 events) is built once per session for SQLite and, when the servers
are up, once into a PostgreSQL and a MariaDB database created for the session, so the
widget, magic and cross-source tests run against real catalogs of every kind without
rebuilding per test.

Registered as a pytest plugin by ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any, Mapping

import pytest

from .servers import require_server, scratch_database

END_DAY = dt.date(2026, 11, 28)
#: The repository, tests/ and the fault notebooks: computed here once, so a test file
#: that moves to another folder keeps finding them.
TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
NOTEBOOKS = TESTS / "notebooks"


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A notebook at ``path``: a cell tagged ``parameters`` with ``parameters``, then ``cells``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, str(path))
    return path


def source_tables(app_url: str, warehouse: str | None = "data/warehouse.duckdb",
                  lake: str | None = "data/lake") -> str:
    """The TOML of the demo layout's source tables: ``[sources.app]`` (oltp) at ``app_url``,
    ``[sources.warehouse]`` (the DuckDB file ``warehouse``) and ``[sources.lake]`` (the folder
    ``lake``), a blank line between them; ``None`` leaves that table out."""
    tables = [("app", app_url, "oltp")]
    if warehouse is not None:
        tables.append(("warehouse", f"duckdb:///{warehouse}", "warehouse"))
    if lake is not None:
        tables.append(("lake", lake, "lake"))
    return "\n".join(f'[sources.{name}]\nurl = {json.dumps(url)}\nrole = "{role}"\n' for name, url, role in tables)


def write_config(root: Path, app_url: str, extra: str = "", **settings) -> Path:
    """A workbench.toml in ``root`` with ``app`` at ``app_url`` plus the demo layout."""
    lines = [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in settings.items()]
    settings_text = "\n".join(lines).replace("'", '"')
    text = f"[workbench]\n{settings_text}\n\n" + source_tables(app_url) + textwrap.dedent("""
        [lake.events]
        path = "data/lake/events/**/*.jsonl"

        [lake.labels]
        path = "data/lake/labels/*.parquet"
        """) + extra
    path = root / "workbench.toml"
    path.write_text(text)
    return path


def _toml_value(v: Any) -> str:
    """A TOML value for the simple things report configs hold (JSON's string escapes are TOML's)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v), ensure_ascii=False)


def write_reports_config(root: Path, reports: Mapping[str, Mapping[str, Any]] | None = None,
                         sources: Mapping[str, Mapping[str, Any]] | None = None,
                         reports_dir: str | None = "reports") -> Path:
    """A workbench.toml in ``root`` for report tests: ``[reports.NAME]`` tables (notebook,
    description, parameters …) and optional ``[sources.NAME]`` tables; no demo layout."""
    parts = [f"[workbench]\nreports_dir = {_toml_value(reports_dir)}\n"] if reports_dir is not None else []
    for kind, tables in (("sources", sources or {}), ("reports", reports or {})):
        for name, table in tables.items():
            body = "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
            parts.append(f"[{kind}.{name}]\n{body}")
    path = root / "workbench.toml"
    path.write_text("\n".join(parts))
    return path


def build_project(root: Path, app_url: str | None) -> Path:
    from workbench.demo import build

    root.mkdir(parents=True, exist_ok=True)
    build(root, scale=0.05, end_day=END_DAY, app_url=app_url, progress=False)
    return write_config(root, app_url or "sqlite:///data/app.db")


@pytest.fixture(scope="session")
def sqlite_project(tmp_path_factory) -> Path:
    """Root of a demo project whose app database is SQLite."""
    root = tmp_path_factory.mktemp("demo-sqlite")
    build_project(root, None)
    return root


def _server_project(tmp_path_factory, kind: str):
    require_server(kind)
    with scratch_database(kind, "wb_explore") as url:
        root = tmp_path_factory.mktemp(f"demo-{kind}")
        build_project(root, url)
        yield root


@pytest.fixture(scope="session")
def pg_project(tmp_path_factory):
    """Root of a demo project whose app database is PostgreSQL."""
    yield from _server_project(tmp_path_factory, "postgresql")


@pytest.fixture(scope="session")
def mysql_project(tmp_path_factory):
    """Root of a demo project whose app database is MariaDB."""
    yield from _server_project(tmp_path_factory, "mysql")


PROJECT_FIXTURES = {"sqlite": "sqlite_project", "postgresql": "pg_project", "mysql": "mysql_project"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def demo_project(request) -> tuple[str, Path]:
    """(kind, root) of the session's demo project for each OLTP kind in turn."""
    return request.param, request.getfixturevalue(PROJECT_FIXTURES[request.param])


ENGINES = ["sqlite", "postgresql", "mysql", "duckdb"]


@pytest.fixture(params=ENGINES)
def engine(request):
    """(engine, project root, photos table name): the demo's photos on each engine.

    For ``duckdb`` the table is the warehouse's ``photo_features`` (the same photos,
    with their labels), so every check runs on a native DuckDB table too.
    """
    kind = request.param
    root = request.getfixturevalue(PROJECT_FIXTURES.get(kind, "sqlite_project"))
    return kind, root, "warehouse.photo_features" if kind == "duckdb" else "app.photos"
