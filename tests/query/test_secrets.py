"""No password in a repr, an error, a log line or wb.sources(), with a real PostgreSQL role."""

from __future__ import annotations

import logging

import pytest

import workbench as wb
from workbench.errors import WorkbenchError

from tests.support.projects import write_config


def test_password_never_shown(tmp_path, pg_role_url, caplog, capsys):
    url, password = pg_role_url
    caplog.set_level(logging.DEBUG)
    cfg = write_config(tmp_path, "${APP_URL}", extra=(
        f'\n[sources.down]\nurl = "postgresql://u:{password}@127.0.0.1:1/nowhere"\nrole = "oltp"\n'))
    import os

    os.environ["APP_URL"] = url
    try:
        with wb.Workbench(cfg) as w:
            assert w.sql("select count(*) as n from photos", source="app")["n"][0] == 2
            assert w.sql("select count(*) as n from app.photos")["n"][0] == 2
            seen = [repr(w), repr(w.source("app")), repr(w.config), str(w.config)]
            table = w.sources()
            seen.append(table.to_string())
            assert bool(table.set_index("name").loc["app", "reachable"]) is True
            assert bool(table.set_index("name").loc["down", "reachable"]) is False
            for query, source in [("select * from nope", "app"), ("select 1", "down"),
                                  ("select * from down.x", None), ("delete from photos", "app")]:
                with pytest.raises(WorkbenchError) as info:
                    w.sql(query, source=source)
                seen.append(str(info.value))
            seen.append(w.hub.problem("down") or "")
    finally:
        del os.environ["APP_URL"]
    out = capsys.readouterr()
    seen += [out.out, out.err, caplog.text]
    assert "***" in table.set_index("name").loc["down", "url"]
    for text in seen:
        assert password not in text, text
