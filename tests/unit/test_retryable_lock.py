"""A database lock is a retryable failure; a broken query is not (the scheduler retries by this)."""

from __future__ import annotations

import sqlite3

import pytest

from workbench.api import Workbench
from workbench.errors import QueryError


def _project(tmp_path):
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as c:
        c.execute("create table t (id integer primary key)")
        c.execute("insert into t values (1)")
    (tmp_path / "workbench.toml").write_text(f'[sources.app]\nurl = "sqlite:///{db}"\nread_only = false\n')
    return tmp_path / "workbench.toml", db


def test_a_locked_sqlite_database_is_retryable(tmp_path):
    cfg, db = _project(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("begin exclusive")  # another writer holds the file
    try:
        with Workbench(cfg) as w, pytest.raises(QueryError) as caught:
            w.sql("insert into t values (2)", source="app")
        assert "locked" in str(caught.value) and caught.value.retryable is True
    finally:
        holder.execute("rollback")
        holder.close()
    with Workbench(cfg) as w:  # once the lock is gone the same statement passes
        w.sql("insert into t values (2)", source="app")
        assert list(w.sql("select id from t order by id", source="app")["id"]) == [1, 2]


def test_a_bad_query_is_not_retryable(tmp_path):
    cfg, _ = _project(tmp_path)
    with Workbench(cfg) as w, pytest.raises(QueryError) as caught:
        w.sql("select nope from t", source="app")
    assert caught.value.retryable is False


def test_errors_name_what_they_are_about(tmp_path):
    cfg, _ = _project(tmp_path)
    from workbench.errors import ParameterError

    with Workbench(cfg) as w, pytest.raises(ParameterError) as caught:
        w.sql("select :wanted", source="app")
    assert caught.value.parameter == "wanted" and isinstance(caught.value, ValueError)
