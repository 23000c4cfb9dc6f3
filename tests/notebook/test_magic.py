"""``%sql`` / ``%%sql`` in a real kernel: notebooks run through nbclient on each OLTP kind."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.errors import UsageError
from workbench.notebook.magic import locate, parse

from tests.support.hostile import HOSTILE
from tests.support.projects import PROJECT_FIXTURES

pytestmark = pytest.mark.slow

CELLS = [
    "%load_ext workbench",
    "%%sql app -o natives\nselect id, title from photos where id <= 5 order by id",
    "import pandas as pd\nassert isinstance(_, pd.DataFrame) and _ is natives and len(natives) == 5\n"
    "print(str(natives['id'].dtype))",
    f"evils = {HOSTILE!r}\nevil = evils[0]",
    "%%sql app\nselect count(*) as n from photos where title = :evil",
    "assert int(_['n'].iloc[0]) == 0",
    "%%sql\nselect count(*) as n, :evil as echoed from app.photos where title <> :evil",
    "assert _['echoed'].iloc[0] == evil and int(_['n'].iloc[0]) > 0\n"
    "for evil in evils:  # the whole corpus, natively and through the hub\n"
    "    r = get_ipython().run_cell_magic('sql', 'app', 'select count(*) as n, :evil as e from photos where title = :evil')\n"
    "    assert r['e'].iloc[0] == evil and int(r['n'].iloc[0]) == 0, evil\n"
    "    try:\n"
    "        h = get_ipython().run_cell_magic('sql', '', 'select :evil as e from app.photos where title <> :evil limit 1')\n"
    "    except Exception as e:  # DuckDB's mysql scanner would paste backslashes: refused, not run\n"
    "        assert KIND == 'mysql' and '\\\\' in evil and 'backslash' in str(e), (evil, repr(e))\n"
    "    else:\n"
    "        assert h['e'].iloc[0] == evil, evil\n"
    "evil = evils[0]",
    "%%sql\nselect '5'::integer + 1 as six, ':not_a_param' as literal",
    "assert int(_['six'].iloc[0]) == 6 and _['literal'].iloc[0] == ':not_a_param'",
    "scores = pd.DataFrame({'photo_id': [1, 2], 'score': [0.5, 0.9]})",
    "%%sql -o joined\nselect p.title, s.score from app.photos p join scores s on s.photo_id = p.id order by p.id",
    "assert list(joined['score']) == [0.5, 0.9]",
    "%%sql --limit 7\nselect * from events",
    "assert len(_) == 7",
    "%%sql\nselect count(*) as n from joined",
    "assert int(_['n'].iloc[0]) == 2",
    "n = %sql app select count(*) as n from photos\nassert int(n['n'].iloc[0]) == 500",
    "%%sql app\nselect id,\n       title\nfrm photos",
    "%%sql\nselect :nope as x",
    "from IPython.core.completer import provisionalcompleter\n"
    "def complete(text, at=None):\n"
    "    with provisionalcompleter():\n"
    "        return sorted({c.text for c in get_ipython().Completer.completions(text, at or len(text))})\n"
    "print(json.dumps([complete('%%sql\\nselect * from app.ph'), complete('%%sql\\nselect loc from app.photos', 16),"
    " complete('%%sql\\nselect * from eve'), complete('%%sql a')]))",
]
ERROR_CELL, MISSING_CELL, COMPLETION_CELL = 18, 19, 20


def run(root, kind):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.cells[0].source += f"\nKIND = {kind!r}"
    nb.cells[-1].source = "import json\n" + nb.cells[-1].source
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(root)}}).execute()
    return nb


def errors(cell) -> list[dict]:
    return [o for o in cell.outputs if o.output_type == "error"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def notebook(request):
    """The magics' notebook, run once per OLTP kind."""
    root = request.getfixturevalue(PROJECT_FIXTURES[request.param])
    return request.param, run(root, request.param)


def test_sql_cells_in_a_kernel(notebook):
    kind, nb = notebook
    for i, cell in enumerate(nb.cells):
        if i not in (ERROR_CELL, MISSING_CELL):
            assert not errors(cell), (i, cell.source, errors(cell))
    preview = nb.cells[1].outputs[0]
    assert preview.output_type == "display_data"  # a bounded preview, shown instead of the DataFrame repr
    html = preview.data["text/html"]
    assert "5 rows" in html and " s · app" in html and html.count("<tr>") == 5
    assert nb.cells[2].outputs[0].text.strip() == "int64[pyarrow]"
    limited = nb.cells[13].outputs[0].data["text/html"]
    assert "7 rows (limit reached)" in limited and "hub" in limited


def test_errors_show_the_database_message_and_position(notebook):
    kind, nb = notebook
    (err,) = errors(nb.cells[ERROR_CELL])
    assert err.ename == "QueryError"
    text = "\n".join(err.traceback)
    assert "workbench/" not in text and "Traceback" not in text  # no trip through our internals
    assert "at line 3, column " in err.evalue and err.evalue.rstrip().endswith("^")  # where the database points
    (missing,) = errors(nb.cells[MISSING_CELL])
    assert missing.ename == "UsageError" and ":nope" in missing.evalue and "notebook variable" in missing.evalue


def test_tab_completion_from_the_catalogs(notebook):
    kind, nb = notebook
    tables, columns, lake, sources = json.loads(nb.cells[COMPLETION_CELL].outputs[-1].text)
    assert "app.photos" in tables
    assert "location" in columns
    assert "events" in lake
    assert "app" in sources


def test_parse_options():
    sources = {"app", "warehouse"}
    assert parse("app -o out --limit 5", sources, cell=True) == ("app", "out", 5, "")
    assert parse("--limit=3", sources, cell=True) == (None, None, 3, "")
    assert parse("app select 1", sources, cell=False) == ("app", None, None, "select 1")
    assert parse("select app from t", sources, cell=False) == (None, None, None, "select app from t")
    with pytest.raises(UsageError):
        parse("-o 1x", sources, cell=True)
    with pytest.raises(UsageError):
        parse("nosuchsource", sources, cell=True)


@pytest.mark.parametrize("message, where", [
    ('hub: Parser Error: syntax error at or near "frm" LINE 3: frm photos ^', (3, 1)),
    ("app: You have an error in your SQL syntax; check the manual near 'frm photos' at line 3", (3, 1)),
    ('app: near "frm": syntax error', (3, 1)),
    ('app: column "nope" does not exist', (2, 8)),
])
def test_locate_error_position(message, where):
    assert locate(message, "select id,\n       nope\nfrm photos") == where
