"""The graph from workbench.toml (derived needs, cycles, bad names) and the code hashes."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.pipeline.project import make_project
from tests.support.projects import write_notebook
from workbench.config import load_config
from workbench.errors import ConfigError
from workbench.pipeline import fingerprint as F
from workbench.pipeline.graph import build


def test_needs_are_derived_from_reads_and_writes(tmp_path):
    g = build(load_config(make_project(tmp_path)), "demo")
    assert g.order == ["base", "nb", "final", "indep"]
    assert g.edges() == [("base", "nb"), ("nb", "final")]
    assert g.dependants("base") == ["nb", "final"] and g.dependants("indep") == []
    assert g.upstream("final") == ["base", "nb"]


def _config(tmp_path, tasks: str):
    (tmp_path / "workbench.toml").write_text(textwrap.dedent("""\
        [sources.warehouse]
        url = "duckdb:///wh.duckdb"
        role = "warehouse"
        [lake.out]
        path = "out.parquet"
        """) + textwrap.dedent(tasks))
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.sql").write_text("select 1 as x")
    return load_config(tmp_path / "workbench.toml")


def test_a_cycle_is_one_line_naming_its_tasks(tmp_path):
    cfg = _config(tmp_path, """\
        [pipelines.p.tasks.a]
        sql = "a.sql"
        reads = ["warehouse.c"]
        writes = ["warehouse.a"]
        [pipelines.p.tasks.b]
        sql = "b.sql"
        writes = ["warehouse.b"]
        needs = ["a"]
        [pipelines.p.tasks.c]
        sql = "c.sql"
        writes = ["warehouse.c"]
        needs = ["b"]
        """)
    with pytest.raises(ConfigError) as e:
        build(cfg, "p")
    msg = str(e.value)
    assert "\n" not in msg and "form a cycle" in msg and "remove one of the needs" in msg
    assert "a -> b -> c -> a" in msg


@pytest.mark.parametrize("body, says", [
    ('[pipelines.p.tasks.a]\nsql = "a.sql"\nwrites = ["warehouse.a"]\nneeds = ["zz"]\n', "needs: no task 'zz'"),
    ('[pipelines.p.tasks.a]\nsql = "a.sql"\nwrites = ["warehouse.a"]\nreads = ["nosuch.t"]\n',
     "'nosuch.t' names no source"),
    ('[pipelines.p.tasks.a]\nsql = "a.sql"\nwrites = ["nowhere.t"]\n', "'nowhere.t' names no source"),
    ('[pipelines.p.tasks.a]\nsql = "a.sql"\nwrites = ["warehouse.a"]\n'
     '[pipelines.p.tasks.b]\nsql = "b.sql"\nwrites = ["warehouse.a"]\n', "already written by task 'a'"),
])
def test_bad_references_are_one_line(tmp_path, body, says):
    with pytest.raises(ConfigError) as e:
        build(_config(tmp_path, body), "p")
    assert says in str(e.value) and "\n" not in str(e.value)


def test_notebook_xor_sql_and_unknown_pipeline(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of notebook"):
        _config(tmp_path, '[pipelines.p.tasks.a]\nsql = "a.sql"\nnotebook = "a.ipynb"\nwrites = ["warehouse.a"]\n')
    cfg = _config(tmp_path, '[pipelines.p.tasks.a]\nsql = "a.sql"\nwrites = ["warehouse.a"]\n')
    with pytest.raises(ConfigError, match="unknown pipeline 'q'; the pipelines in .* are: p"):
        build(cfg, "q")


def test_markdown_and_comments_do_not_change_the_code_hash(tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", "day: str = 'x'  # the day", "x = 1\nprint(x)")
    before = F.code_hash("notebook", nb)
    data = json.loads(nb.read_text())
    data["cells"].insert(1, {"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["# A title"]})
    data["cells"][2]["source"] = "x = 1   # one\n\n# a comment line\nprint(x)  \n"
    data["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    data["cells"][2]["execution_count"] = 7
    data["cells"][0]["source"] = "day: str = 'x'  # another help text"
    nb.write_text(json.dumps(data))
    assert F.code_hash("notebook", nb) == before
    data["cells"][2]["source"] = "x = 2\nprint(x)"
    nb.write_text(json.dumps(data))
    assert F.code_hash("notebook", nb) != before


def test_sql_comments_and_white_space_do_not_change_the_code_hash(tmp_path):
    sql = tmp_path / "t.sql"
    sql.write_text("select a, b from t where d = :day")
    before = F.code_hash("sql", sql)
    sql.write_text("-- why\nSELECT  a,\n       b /* both */\n  FROM t\n WHERE d = :day;\n")
    assert F.code_hash("sql", sql) != before  # keywords' case counts (conservative)
    sql.write_text("-- why\nselect  a,\n       b /* both */\n  from t\n where d = :day;\n")
    assert F.code_hash("sql", sql) == before
    sql.write_text("select a, b from t where d = ':day'")
    assert F.code_hash("sql", sql) != before
    sql.write_text("select 1; select 2")
    with pytest.raises(ConfigError, match="more than one statement"):
        F.code_hash("sql", sql)


def test_parameter_hash_is_typed():
    import datetime as dt

    assert F.param_hash(dt.date(2026, 11, 1)) != F.param_hash("2026-11-01")
    assert F.param_hash(1) != F.param_hash(True) and F.param_hash(1) == F.param_hash(1)
