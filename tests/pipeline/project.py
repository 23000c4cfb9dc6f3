"""A small pipeline project for the pipeline tests: SQL and notebook tasks on a real
warehouse (DuckDB), lake (Parquet) and SQLite source.

    base (sql: warehouse.base) -> nb (notebook, reads warehouse.base, writes lake out) -> final (sql: warehouse.final)
    indep (sql: lake indep)                          independent of the others
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path
from typing import Sequence

from tests.support.projects import source_tables, write_notebook

NB_PARAMS = "n: int = 1  # rows to keep\nfail: bool = False"
NB_CODE = textwrap.dedent("""\
    import workbench as wb
    if fail:
        raise RuntimeError("asked to fail")
    df = wb.sql("select i from warehouse.base where i < :n order by i", n=n)
    df.to_parquet(OUT)
    """)


def make_project(root: Path, extra_tasks: str = "", nb_code: str = NB_CODE) -> Path:
    (root / "data" / "lake").mkdir(parents=True)
    with sqlite3.connect(root / "data" / "app.db") as c:
        c.executescript("create table photos (id integer primary key, title text);"
                        "insert into photos values (1, 'a'), (2, 'b');")
    (root / "tasks").mkdir()
    (root / "tasks" / "base.sql").write_text("-- the base rows\nselect i from range(5) t(i)\n")
    (root / "tasks" / "indep.sql").write_text("select 1 as x")
    (root / "tasks" / "final.sql").write_text("select count(*) as rows from out")
    write_notebook(root / "tasks" / "nb.ipynb", NB_PARAMS,
                   f"OUT = {str(root / 'data' / 'lake' / 'out.parquet')!r}\n" + nb_code)
    (root / "workbench.toml").write_text('[workbench]\nreports_dir = "reports"\n\n'
                                         + source_tables("sqlite:///data/app.db") + textwrap.dedent("""
        [lake.out]
        path = "data/lake/out.parquet"

        [lake.indep]
        path = "data/lake/indep.parquet"

        [pipelines.demo]
        description = "a test pipeline"
        retry_delay = "0s"

        [pipelines.demo.tasks.base]
        sql = "tasks/base.sql"
        writes = ["warehouse.base"]

        [pipelines.demo.tasks.nb]
        notebook = "tasks/nb.ipynb"
        reads = ["warehouse.base"]
        writes = ["out"]

        [pipelines.demo.tasks.final]
        sql = "tasks/final.sql"
        reads = ["out"]
        writes = ["warehouse.final"]

        [pipelines.demo.tasks.indep]
        sql = "tasks/indep.sql"
        writes = ["indep"]
        """) + extra_tasks)
    return root / "workbench.toml"


def add_task(root: Path, name: str, *, sql: str | None = None, notebook: str | None = None,
             reads: Sequence[str] = (), writes: Sequence[str] = (), lake: str | None = None) -> None:
    """Task ``name`` in the ``demo`` pipeline of the project at ``root``: ``tasks/NAME.sql``
    holding ``sql``, or else ``tasks/NAME.ipynb``, a notebook of one cell ``notebook`` and no
    parameters; its table is appended to workbench.toml, after a ``[lake.LAKE]`` dataset at
    ``data/lake/LAKE.parquet`` when ``lake`` is given."""
    if sql is not None:
        key, file = "sql", f"tasks/{name}.sql"
        (root / file).write_text(sql)
    else:
        key, file = "notebook", f"tasks/{name}.ipynb"
        write_notebook(root / file, "", notebook or "")
    text = f'\n[lake.{lake}]\npath = "data/lake/{lake}.parquet"\n' if lake else ""
    text += f'\n[pipelines.demo.tasks.{name}]\n{key} = "{file}"\n'
    text += "".join(f"{k} = {json.dumps(list(v))}\n" for k, v in (("reads", reads), ("writes", writes)) if v)
    with (root / "workbench.toml").open("a") as f:
        f.write(text)
