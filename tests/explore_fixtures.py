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

from .conftest import MY_ADMIN, PG_ADMIN, _unavailable, my_admin, new_name, pg_admin, write_config

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


@pytest.fixture(scope="session")
def pg_project(tmp_path_factory):
    try:
        pg_admin().close()
    except Exception as e:  # noqa: BLE001
        _unavailable("PostgreSQL at 127.0.0.1:5432", e)
    name = new_name("wb_explore")
    with pg_admin() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    root = tmp_path_factory.mktemp("demo-pg")
    build_project(root, f"postgresql://{PG_ADMIN['user']}@{PG_ADMIN['host']}:{PG_ADMIN['port']}/{name}")
    yield root
    with pg_admin() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def mysql_project(tmp_path_factory):
    try:
        my_admin().close()
    except Exception as e:  # noqa: BLE001
        _unavailable("MariaDB at 127.0.0.1:3306", e)
    name = new_name("wb_explore")
    with my_admin() as c:
        c.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    root = tmp_path_factory.mktemp("demo-mysql")
    build_project(root, f"mysql+pymysql://{MY_ADMIN['user']}@{MY_ADMIN['host']}:{MY_ADMIN['port']}/{name}")
    yield root
    with my_admin() as c:
        c.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


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
