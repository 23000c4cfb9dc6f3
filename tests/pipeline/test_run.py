"""The runner on a real project: kernels, papermill, DuckDB warehouse, Parquet lake, SQLite.

Incremental decisions (run twice, a parameter, --force, a markdown edit, the early
cut-off), faults (a task that raises, a kernel that dies), dry-run, and an input whose
source fingerprints it (SQLite).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.pipeline.project import NB_CODE, add_task, make_project
from workbench.config import load_config
from workbench.pipeline.run import run_pipeline


def statuses(result):
    return {t.name: (t.status, t.reason) for t in result.tasks}


def test_unchanged_parameter_force_markdown_and_early_cutoff(tmp_path):
    cfg = load_config(make_project(tmp_path))
    first = run_pipeline(cfg, "demo")
    assert first.ok and statuses(first) == {n: ("ran", "never succeeded") for n in ("base", "nb", "final", "indep")}
    assert (tmp_path / "data" / "lake" / "out.parquet").exists()
    # the notebook task's report is on the index under PIPELINE.TASK, with the pipeline's description
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "demo.nb" in index and "a test pipeline" in index

    again = run_pipeline(cfg, "demo")
    assert statuses(again) == {n: ("skipped", f"unchanged since run {first.run_id}")
                               for n in ("base", "nb", "final", "indep")}

    changed = run_pipeline(cfg, "demo", params={"n": "3"})
    assert statuses(changed) == {
        "base": ("skipped", f"unchanged since run {first.run_id}"),
        "nb": ("ran", "parameter n changed"),
        "final": ("ran", "upstream nb wrote new data"),
        "indep": ("skipped", f"unchanged since run {first.run_id}"),
    }

    # nb re-runs and writes the same rows: its dependant is cut off
    forced = run_pipeline(cfg, "demo", params={"n": "3"}, force=["nb"])
    s = statuses(forced)
    assert s["nb"] == ("ran", "forced")
    assert s["final"] == ("skipped", f"unchanged since run {changed.run_id}")
    assert s["base"][0] == s["indep"][0] == "skipped"

    # markdown and comments only: nothing runs
    path = tmp_path / "tasks" / "nb.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"].append({"cell_type": "markdown", "id": "md", "metadata": {}, "source": ["## Notes"]})
    nb["cells"][1]["source"] = "# a new comment\n" + "".join(nb["cells"][1]["source"]) + "  # trailing"
    path.write_text(json.dumps(nb))
    assert {t.status for t in run_pipeline(cfg, "demo", params={"n": "3"}).tasks} == {"skipped"}

    # someone overwrote a task's output: that task runs again
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"i": [99]}), tmp_path / "data" / "lake" / "out.parquet")
    s = statuses(run_pipeline(cfg, "demo", params={"n": "3"}))
    assert s["nb"] == ("ran", "output out changed since it was written")
    assert s["final"][0] == "skipped"  # nb wrote back what final consumed


def test_a_task_that_raises_stops_its_dependants_only(tmp_path):
    cfg = load_config(make_project(tmp_path))
    res = run_pipeline(cfg, "demo", params={"fail": "true"})
    s = statuses(res)
    assert not res.ok
    assert s["base"] == ("ran", "never succeeded") and s["indep"] == ("ran", "never succeeded")
    assert s["nb"][0] == "failed" and "asked to fail" in res.tasks[1].error
    assert res.tasks[1].attempt == 1  # the notebook's own exception is terminal: never retried
    assert s["final"] == ("upstream_failed", "upstream nb failed")
    assert not (tmp_path / "data" / "lake" / "out.parquet").exists()
    # the next run picks up where it failed
    s = statuses(run_pipeline(cfg, "demo"))
    assert s["nb"] == ("ran", "never succeeded") and s["final"] == ("ran", "never succeeded")
    assert s["base"][0] == s["indep"][0] == "skipped"


def test_a_kernel_that_dies_is_retried_then_fails(tmp_path):
    code = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n" + NB_CODE
    cfg = load_config(make_project(tmp_path, nb_code=code))
    res = run_pipeline(cfg, "demo")
    nb = next(t for t in res.tasks if t.name == "nb")
    assert nb.status == "failed" and nb.attempt == 2  # retries = 1 (the default): retryable, tried twice
    assert len(nb.earlier) == 1 and "kernel died" in nb.earlier[0]  # why attempt 1 failed is kept
    assert nb.as_json()["earlier_attempts"] == nb.earlier
    assert statuses(res)["final"] == ("upstream_failed", "upstream nb failed")
    assert statuses(res)["indep"][0] == "ran"


def test_dry_run_says_what_and_why_and_runs_nothing(tmp_path):
    cfg = load_config(make_project(tmp_path))
    res = run_pipeline(cfg, "demo", dry_run=True)
    assert statuses(res) == {"base": ("would_run", "never succeeded"), "nb": ("would_run", "upstream base would run"),
                             "final": ("would_run", "upstream nb would run"),
                             "indep": ("would_run", "never succeeded")}
    assert not list((tmp_path / "data" / "lake").iterdir())
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
    with sqlite3.connect(cfg.runlog_path) as db:
        assert db.execute("select count(*) from pipeline_runs").fetchone() == (0,)
        assert db.execute("select count(*) from runs").fetchone() == (0,)


def test_an_input_that_changes_reruns_its_reader_and_dependants(tmp_path):
    """app.photos through the SQLite source's own fingerprint (workbench.connectors.sqlite)."""
    toml = make_project(tmp_path)
    add_task(tmp_path, "copy", sql="select id, title from app.photos order by id", lake="photos_copy",
             reads=["app.photos"], writes=["photos_copy"])
    add_task(tmp_path, "count", sql="select count(*) as n from photos_copy", reads=["photos_copy"],
             writes=["warehouse.photo_count"])
    cfg = load_config(toml)
    first = run_pipeline(cfg, "demo")
    assert first.ok
    assert {t.status for t in run_pipeline(cfg, "demo").tasks} == {"skipped"}
    with sqlite3.connect(tmp_path / "data" / "app.db") as db:
        db.execute("update photos set title = 'changed' where id = 1")
    s = statuses(run_pipeline(cfg, "demo"))
    assert s["copy"] == ("ran", "app.photos changed")
    assert s["count"] == ("ran", "upstream copy wrote new data")
    assert {s[n][0] for n in ("base", "nb", "final", "indep")} == {"skipped"}
    s = statuses(run_pipeline(cfg, "demo", force=["copy"]))
    assert s["copy"] == ("ran", "forced") and s["count"][0] == "skipped"  # the same rows again: cut off


@pytest.mark.parametrize("param", ["zz"])
def test_a_parameter_no_task_takes_is_refused_before_anything_runs(tmp_path, param):
    from workbench.errors import ParameterError

    cfg = load_config(make_project(tmp_path))
    with pytest.raises(ParameterError, match=f"-p {param}: no task of pipeline 'demo' takes parameter"):
        run_pipeline(cfg, "demo", params={param: "1"})
    assert not cfg.runlog_path.exists() or sqlite3.connect(cfg.runlog_path).execute(
        "select count(*) from pipeline_runs").fetchone() == (0,)


def test_a_warming_kernel_leaves_the_warehouse_alone(tmp_path):
    """The spare kernel of the fork server warms up while SQL tasks write the warehouse:
    its warmup builds the hub without attaching the warehouse file, so it neither takes
    the file's lock from a writer nor fails on a writer's lock (CI saw a retried task)."""
    import os
    import subprocess
    import sys

    from workbench import duck
    from workbench.reports.execute.kernels import WARMUP

    cfg = load_config(make_project(tmp_path))
    probe = WARMUP + "\nimport workbench as wb\nhub = wb.get_workbench().hub\n" \
                     "print(json.dumps([hub.built, hub._problems.get('warehouse')]))"
    with duck.connect(str(tmp_path / "data" / "warehouse.duckdb")) as writer:
        writer.execute("create table held as select 1 as x")  # this process writes the file meanwhile
        out = subprocess.run([sys.executable, "-c", "import json\n" + probe], cwd=tmp_path, text=True,
                             capture_output=True, env={**os.environ, "WORKBENCH_CONFIG": str(cfg.path)}, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, None], out.stderr
