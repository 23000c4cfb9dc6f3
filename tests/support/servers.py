"""Real servers for the tests: PostgreSQL and MariaDB databases created and dropped per
test, SQLite files, Chromium, and an admin door that bypasses workbench.

The policy for a missing server lives here and only here: in CI (``CI=true``) a test
that needs it fails, so a broken service can never turn the suite green by skipping;
on a developer's machine it is skipped with the reason and how to start it.

Registered as a pytest plugin by ``tests/conftest.py``: the fixtures are available to
every test without imports; the helpers are imported from ``tests.support.servers``.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN = dict(host=os.environ.get("WB_TEST_PG_HOST", "127.0.0.1"), port=int(os.environ.get("WB_TEST_PG_PORT", 5432)),
                user="postgres", dbname="postgres")
MY_ADMIN = dict(host=os.environ.get("WB_TEST_MY_HOST", "127.0.0.1"), port=int(os.environ.get("WB_TEST_MY_PORT", 3306)),
                user="root", password="")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(what: str, err: Exception, fix: str = "run `bash scripts/services.sh`", *,
                 module: bool = False):
    """Fail in CI, skip elsewhere: the one place a missing dependency of a test is judged."""
    msg = f"{what} is not available ({err}); {fix}"
    if IN_CI:
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg, allow_module_level=module)


def require_chromium() -> str:
    """The path of Debian's chromium; in CI its absence fails the test, elsewhere it skips."""
    import shutil

    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _unavailable("Debian's chromium", FileNotFoundError(path))
    return path


def pg_admin():
    import psycopg

    return psycopg.connect(**PG_ADMIN, autocommit=True, connect_timeout=5)


def my_admin():
    import pymysql

    return pymysql.connect(**MY_ADMIN, autocommit=True, connect_timeout=5)


SERVERS = {"postgresql": ("PostgreSQL at {host}:{port}", PG_ADMIN), "mysql": ("MariaDB at {host}:{port}", MY_ADMIN)}


def require_server(kind: str) -> None:
    """Fail (in CI) or skip (elsewhere) unless the ``postgresql`` or ``mysql`` test server answers."""
    label, admin = SERVERS[kind]
    try:
        (pg_admin if kind == "postgresql" else my_admin)().close()
    except Exception as e:  # noqa: BLE001
        _unavailable(label.format(**admin), e)


@contextmanager
def scratch_database(kind: str, prefix: str = "wb_t"):
    """URL of a fresh, empty database on the ``postgresql`` or ``mysql`` test server, dropped after."""
    name = new_name(prefix)
    if kind == "postgresql":
        with pg_admin() as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://{PG_ADMIN['user']}@{PG_ADMIN['host']}:{PG_ADMIN['port']}/{name}"
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    else:
        with my_admin() as c:
            c.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        url = f"mysql+pymysql://{MY_ADMIN['user']}@{MY_ADMIN['host']}:{MY_ADMIN['port']}/{name}"
        drop = f"DROP DATABASE IF EXISTS `{name}`"
    try:
        yield url
    finally:
        if kind == "postgresql":
            with pg_admin() as c:
                c.execute(drop)
        else:
            with my_admin() as c:
                c.cursor().execute(drop)


@pytest.fixture(scope="session")
def pg_server():
    require_server("postgresql")


@pytest.fixture(scope="session")
def mysql_server():
    require_server("mysql")


def new_name(prefix: str = "wb_t") -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


@pytest.fixture
def pg_url(pg_server):
    """URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    with scratch_database("postgresql") as url:
        yield url


@pytest.fixture
def mysql_url(mysql_server):
    """URL of a fresh, empty MariaDB database (dropped after the test)."""
    with scratch_database("mysql") as url:
        yield url


@pytest.fixture
def pg_role_url(pg_url):
    """(URL, password) of a PostgreSQL role with a real password and SELECT on ``photos`` (two rows)."""
    password = "S3cr3t-" + secrets.token_hex(8)
    role = "wb_role_" + secrets.token_hex(4)
    admin_execute(pg_url, f"create role {role} login password '{password}'",
                  "create table photos (id int primary key, title text)",
                  "insert into photos values (1, 'a'), (2, 'b')",
                  f"grant select on photos to {role}")
    yield pg_url.replace(f"{PG_ADMIN['user']}@", f"{role}:{password}@"), password
    admin_execute(pg_url, "drop owned by " + role, "drop role " + role)


@pytest.fixture
def sqlite_url(tmp_path):
    """URL of a fresh, empty SQLite file."""
    import sqlite3

    path = tmp_path / "app.db"
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def oltp_url(request):
    """An empty database of each OLTP kind in turn."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgresql": "pg_url", "mysql": "mysql_url"}[request.param])


def kind_of(url: str) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` for a source URL (MariaDB counts as mysql)."""
    from sqlalchemy.engine import make_url

    backend = make_url(url).get_backend_name()
    return "mysql" if backend in ("mysql", "mariadb") else backend


def admin_execute(url: str, *statements: str, params=None) -> list:
    """Run statements with full rights (bypassing workbench), returning the last result's rows."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(u.database) as c:
            rows = []
            for s in statements:
                rows = c.execute(s, params or ()).fetchall()
            return rows
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                             dbname=u.database, autocommit=True) as c:
            rows = []
            for s in statements:
                cur = c.execute(s, params)
                rows = cur.fetchall() if cur.description else []
            return rows
    import pymysql

    c = pymysql.connect(host=u.host, port=u.port, user=u.username, password=u.password or "",
                        database=u.database, autocommit=True, charset="utf8mb4")
    try:
        rows = []
        with c.cursor() as cur:
            for s in statements:
                cur.execute(s, params)
                rows = list(cur.fetchall()) if cur.description else []
        return rows
    finally:
        c.close()
