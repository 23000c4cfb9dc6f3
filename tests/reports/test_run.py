"""Report runs against a real kernel and real papermill: values, faults, publishing, run log, index.

One fork server serves the whole module (each kernel is still used for one run only).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import nbformat
import pytest

from workbench.config import load_config
from workbench.executors import run_many
from workbench.reports import run_report
from workbench.reports.execute.kernels import ForkedKernels
from workbench.reports.runlog import RunLog

from tests.support import hostile
from tests.support.projects import NOTEBOOKS, write_reports_config

pytestmark = pytest.mark.slow

NB = NOTEBOOKS
HOSTILE = hostile.HOSTILE


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    return load_config(write_reports_config(root, {"echo": {
        "notebook": NB / "echo.ipynb", "description": "echoes its parameters", "parameters": {"region": "US"}}}))


@pytest.fixture(scope="module")
def kernels(project):
    with ForkedKernels(project.root, {"WORKBENCH_CONFIG": str(project.path)}) as ks:
        yield ks


def run(project, kernels, name, params=None, **kw):
    target = name if name in project.reports else str(NB / f"{name}.ipynb")
    return run_report(target, params, config=project, kernels=kernels, progress=False, **kw)


def stdout_json(res) -> dict:
    nb = nbformat.read(res.notebook_path, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out["text"].startswith("{"):
                return json.loads(out["text"])
    raise AssertionError("no JSON printed")


def test_values_arrive_typed_and_as_given(project, kernels):
    res = run(project, kernels, "echo", {"region": "01234", "day": "2026-11-05", "regions": "a,b"})
    assert res.ok, res.error
    assert stdout_json(res) == {"day": "2026-11-05", "day_type": "date", "region": "01234", "top_n": 10,
                                "ratio": 0.5, "dry_run": False, "regions": ["a", "b"]}
    assert res.values == {"rows": 10, "region": "01234"}
    assert json.loads((res.run_dir / "params.json").read_text())["parameters"]["day"] == {
        "type": "date", "value": "2026-11-05"}
    run_dir = res.run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["notebook.ipynb", "params.json", "report.html", "run.json",
                                                         "values.jsonl"]
    latest = run_dir.parent / "latest"
    assert latest.is_symlink() and os.readlink(latest) == res.id
    assert f"{res.id}/report.html" in (run_dir.parent / "latest.html").read_text()
    # config defaults apply under the given values
    assert stdout_json(run(project, kernels, "echo"))["region"] == "US"


def test_hostile_values_are_data_in_the_kernel_and_in_sql(project, kernels):
    res = run(project, kernels, "hostile", {"value": HOSTILE[0], "values": HOSTILE})
    assert res.ok, res.error
    got = stdout_json(res)
    assert got == {"value": HOSTILE[0], "sql": HOSTILE[0], "values": HOSTILE, "sql_values": HOSTILE}
    nb = nbformat.read(res.notebook_path, as_version=4)
    sources = "\n".join(c.source for c in nb.cells)
    assert "drop table" not in sources and "__import__('os')" not in sources  # never rendered as code
    assert "papermill" not in json.dumps(nb.metadata.get("papermill", {}).get("parameters", {}))
    html = res.report_path.read_text()
    assert "wb_begin" not in html  # the injected cell is not in the report
    assert "drop table photos" in html  # the header shows the values


FAULTS = [
    # notebook, status, part of the error
    ("raises", "failed", "ValueError: boom in cell (cell 3 of the notebook)"),
    ("exit1", "failed", "SystemExit: 1 (cell 2 of the notebook)"),
    ("suicide", "failed", "the kernel died while running the notebook"),
]


@pytest.mark.parametrize("name, status, error", FAULTS)
def test_fault_notebooks(project, kernels, name, status, error):
    res = run(project, kernels, name)
    assert (res.status, res.ok) == (status, False)
    assert error in res.error
    html = res.report_path.read_text()
    assert status in html and error.split(" (")[0] in html
    assert 'id="failed-cell"' in html
    nbformat.validate(nbformat.read(res.notebook_path, as_version=4))
    latest = res.run_dir.parent / "latest"
    assert not latest.exists() or os.readlink(latest) != res.id  # latest never moves to a failure
    row = RunLog(project.runlog_path).get(res.id)
    assert (row.status, row.error) == (status, res.error)


def test_sys_exit_0_is_a_clean_early_stop(project, kernels):
    res = run(project, kernels, "exit0")
    assert res.ok and res.error is None
    nb = nbformat.read(res.notebook_path, as_version=4)
    assert "after exit" not in json.dumps([c.get("outputs") for c in nb.cells])  # later cells did not run
    assert "stopped here with sys.exit(0)" in res.report_path.read_text()


def test_cell_timeout_and_run_timeout(project, kernels):
    res = run(project, kernels, "loop", cell_timeout=2)
    assert res.status == "timed out" and "cell timeout (2 s)" in res.error
    assert 'id="failed-cell"' in res.report_path.read_text()  # opens at the cell that was running
    res = run(project, kernels, "sleepy", timeout=3)
    assert res.status == "timed out" and "took longer than its timeout (3 s)" in res.error
    assert "while this cell was running" in res.report_path.read_text()


def test_output_flood_is_bounded(project, kernels):
    res = run(project, kernels, "flood")
    assert res.ok, res.error
    assert res.values == {"done": 1}
    assert res.report_path.stat().st_size < 1_000_000
    assert res.notebook_path.stat().st_size < 1_000_000
    assert "lines (" in res.report_path.read_text() and "cut" in res.report_path.read_text()


def test_notebook_without_parameters_cell_runs(project, kernels):
    res = run(project, kernels, "noparams")
    assert res.ok and res.parameters == {}


def test_required_parameter_given(project, kernels):
    res = run(project, kernels, "required", {"label": "x"})
    assert res.ok and res.parameters == {"label": "x", "count": 1}


def test_run_log_and_index(project, kernels):
    run(project, kernels, "echo", {"top_n": "3"})
    run(project, kernels, "echo", {"top_n": "4"})
    log = RunLog(project.runlog_path)
    rows = log.runs("echo")
    assert rows[0].parameters["top_n"] == 4 and rows[0].values["rows"] == 4
    assert all(r.status not in ("queued", "running") for r in log.runs())
    index = (project.reports_dir / "index.html").read_text()
    assert "echoes its parameters" in index and "<svg" in index and rows[0].report_path in index
    assert "raises" in index and "boom in cell" in index


def test_run_many_over_a_process_pool(project):
    results = run_many("echo", {"day": ["2026-11-01", "2026-11-02"], "region": ["EU", "US"]},
                       config=project, jobs=2)
    assert [r.status for r in results] == ["succeeded"] * 4
    assert [(r.parameters["day"], r.parameters["region"]) for r in results] == [
        ("2026-11-01", "EU"), ("2026-11-01", "US"), ("2026-11-02", "EU"), ("2026-11-02", "US")]
    assert len({r.id for r in results}) == 4
    assert all(r.report_path.is_file() for r in results)
    assert {stdout_json(r)["day"] for r in results} == {"2026-11-01", "2026-11-02"}


def test_show_code_keeps_the_code(project, kernels):
    hidden = run(project, kernels, "echo").report_path.read_text()
    shown = run(project, kernels, "echo", show_code=True).report_path.read_text()
    assert "class=\"input_area\"" not in hidden  # no code cell on the page
    assert shown.count("class=\"input_area\"") >= 2 and "dumps" in shown
    assert "wb_begin" not in shown  # the injected cell is gone either way


def test_cli_run_runs_and_index(project, capsys):
    from workbench.cli import main

    cfg = str(project.path)
    assert main(["--config", cfg, "run", "echo", "-p", "region", "line\nbreak", "-p", "top_n", "-5"]) == 0
    out = capsys.readouterr().out
    run_id = out.split()[1].rstrip(":")
    assert "succeeded" in out and f"echo/{run_id}/report.html" in out
    row = RunLog(project.runlog_path).get(run_id)
    assert row.parameters["region"] == "line\nbreak" and row.parameters["top_n"] == -5
    assert main(["--config", cfg, "runs", "echo", "-n", "3"]) == 0
    assert run_id[:12] in capsys.readouterr().out
    assert main(["--config", cfg, "run", str(NB / "raises.ipynb")]) == 1
    captured = capsys.readouterr()
    assert "boom in cell" in captured.out and captured.err.count("\n") == 1
    assert main(["--config", cfg, "index"]) == 0
    assert str(project.reports_dir / "index.html") in capsys.readouterr().out


def test_a_kernel_that_fails_to_start_is_replaced(project, kernels):
    class FirstOneDead:
        """Hands out a real kernel that dies (SIGKILL) before the run can use it, then good ones."""

        def __init__(self):
            self.handed = 0

        def take(self):
            kernel = kernels.take()
            self.handed += 1
            if self.handed == 1:
                os.kill(kernel.pid, signal.SIGKILL)
            return kernel

    source = FirstOneDead()
    res = run_report(str(NB / "noparams.ipynb"), config=project, kernels=source, progress=False)
    assert res.ok and source.handed == 2


def _strings(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
    elif isinstance(node, str):
        yield node


def test_published_params_json_names_no_staging_path(project, kernels):
    """params.json is written in the staging folder, which is renamed on publish: what it
    names must be found from the published run folder (the kernel still read the values
    path while the run was staged: the values arrive)."""
    res = run(project, kernels, "echo", {"day": "2026-11-05"})
    assert res.ok, res.error
    assert res.values == {"rows": 10, "region": "US"}  # recorded through the path params.json names
    data = json.loads((res.run_dir / "params.json").read_text())
    assert not [s for s in _strings(data) if ".staging-" in s]
    values = Path(data["run"]["values_path"])
    resolved = values if values.is_absolute() else res.run_dir / values
    assert resolved.resolve() == (res.run_dir / "values.jsonl").resolve() and resolved.is_file()
    assert '"rows"' in resolved.read_text()
    assert Path(data["notebook"]).is_file()
    assert not list(res.run_dir.parent.glob(".staging-*"))


def test_grid_summary_is_one_line_per_run_when_piped(project):
    """Cron mail and CI logs: stdout a pipe, 80 columns; each run is one line with its id,
    status, duration, parameters and report path (or error)."""
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    long = "a-region-code-long-enough-to-wrap-any-80-column-table-" * 2

    def grid(*args):
        proc = subprocess.run([sys.executable, "-m", "workbench", "--config", str(project.path), "run", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=300)
        lines = proc.stdout.splitlines()
        runs = [row for row in RunLog(project.runlog_path).runs() if row.id in proc.stdout]
        return proc, lines, runs

    proc, lines, runs = grid("echo", "--grid", f"region=EU,{long}", "--grid", "top_n=1,2", "-j", "2")
    assert proc.returncode == 0, proc.stderr
    assert len(runs) == 4 and len(lines) == 5 and lines[-1].startswith("index: "), proc.stdout
    for row in runs:
        (line,) = [ln for ln in lines if ln.startswith(row.id + "  ")]
        assert "  succeeded  " in line and f"region={row.parameters['region']}" in line
        assert f"top_n={row.parameters['top_n']}" in line and line.endswith(f"{row.id}/report.html")
    assert max(len(ln) for ln in lines) > 80  # long lines stay whole: nothing was wrapped

    proc, lines, runs = grid(str(NB / "raises.ipynb"), "--grid", "n=1..3")
    assert proc.returncode == 1 and len(runs) == 3 and len(lines) == 4, proc.stdout
    for row in runs:
        (line,) = [ln for ln in lines if ln.startswith(row.id + "  ")]
        assert "  failed  " in line and f"n={row.parameters['n']}" in line and "boom in cell" in line
