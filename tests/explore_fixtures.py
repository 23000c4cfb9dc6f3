"""Session-wide demo projects for the explorer and magic tests: one build per engine.

The demo at ``scale=0.05`` (500 photos, ~15,000 events) is built once per session for
SQLite and, when the servers are up, once into a PostgreSQL and a MariaDB database
created for the session, so the widget and magic tests run against real catalogs of
every kind without rebuilding per test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from .conftest import require_server, scratch_database, write_config

END_DAY = dt.date(2026, 11, 28)


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


ENGINES = ["sqlite", "postgresql", "mysql", "duckdb"]


@pytest.fixture(params=ENGINES)
def engine(request):
    """(engine, project root, photos table name): the demo's photos on each engine.

    For ``duckdb`` the table is the warehouse's ``photo_features`` (the same photos,
    with their labels), so every check runs on a native DuckDB table too.
    """
    kind = request.param
    fixture = {"sqlite": "sqlite_project", "postgresql": "pg_project", "mysql": "mysql_project",
               "duckdb": "sqlite_project"}[kind]
    root = request.getfixturevalue(fixture)
    return kind, root, "warehouse.photo_features" if kind == "duckdb" else "app.photos"
