"""``workbench pipeline ...`` as a user runs it: JSON output, exit codes, one-line errors,
a SIGKILL of the runner mid-pipeline, a crash mid-write, the Airflow DAG, --slot claims."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline.project import NB_CODE, make_project

REPO = Path(__file__).resolve().parents[2]


def wb(root: Path, *args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    e = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=root, env=e, capture_output=True,
                          text=True, timeout=300, **kw)


def objects(out: str) -> dict[str, dict]:
    return {o["name"]: o for o in map(json.loads, out.splitlines())}


def test_json_output_and_exit_codes(tmp_path):
    make_project(tmp_path)
    first = wb(tmp_path, "pipeline", "run", "demo", "--format", "json")
    assert first.returncode == 0, first.stderr
    tasks = objects(first.stdout)
    assert list(tasks) == ["base", "nb", "final", "indep"]
    for t in tasks.values():
        assert set(t) >= {"name", "status", "reason", "duration", "run_id"}
        assert t["status"] == "ran" and t["reason"] == "never succeeded" and t["duration"] > 0
    assert len({t["run_id"] for t in tasks.values()}) == 1

    dry = wb(tmp_path, "pipeline", "run", "demo", "--dry-run", "--format", "json", "-p", "n", "2")
    assert {n: t["status"] for n, t in objects(dry.stdout).items()} == {
        "base": "would_skip", "nb": "would_run", "final": "would_run", "indep": "would_skip"}
    assert objects(dry.stdout)["nb"]["reason"] == "parameter n changed"

    failed = wb(tmp_path, "pipeline", "run", "demo", "-p", "fail", "true", "--format", "json")
    assert failed.returncode == 1
    assert objects(failed.stdout)["final"]["status"] == "upstream_failed"
    assert failed.stderr.strip().splitlines()[-1].startswith("workbench: error: pipeline demo run ")

    show = wb(tmp_path, "pipeline", "show", "demo")
    assert show.returncode == 0 and "nb [notebook] <- base: last failed" in show.stdout
    # it failed with fail=true; with the defaults its last success still holds
    assert f"last failed ({objects(failed.stdout)['nb']['run_id']}); now: skip (unchanged since run" in show.stdout


@pytest.mark.parametrize("args, says", [
    (("pipeline", "run", "nope"), "unknown pipeline 'nope'; the pipelines in"),
    (("pipeline", "run", "demo", "--force", "zz"), "--force zz: pipeline 'demo' has no task 'zz'"),
    (("pipeline", "run", "demo", "--only", "zz"), "--only zz: pipeline 'demo' has no task 'zz'"),
    (("pipeline", "run", "demo", "-p", "zz", "1"), "-p zz: no task of pipeline 'demo' takes parameter 'zz'"),
    (("pipeline", "run", "cyc"), "the tasks a -> b -> a form a cycle"),
])
def test_bad_names_are_one_line_and_exit_2(tmp_path, args, says):
    make_project(tmp_path, """
[pipelines.cyc.tasks.a]
sql = "tasks/indep.sql"
writes = ["warehouse.a"]
needs = ["b"]

[pipelines.cyc.tasks.b]
sql = "tasks/indep.sql"
writes = ["warehouse.b"]
needs = ["a"]
""")
    res = wb(tmp_path, *args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench: error: ") and says in lines[0], res.stderr


def _task_status(root: Path, task: str) -> str | None:
    db = root / "reports" / "runlog.db"
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db) as c:
            r = c.execute("select status from pipeline_tasks where task=? order by rowid desc limit 1",
                          (task,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return r[0] if r else None


def test_sigkill_mid_pipeline_then_rerun(tmp_path):
    mark = tmp_path / "go"
    code = f"import pathlib, time\nwhile not pathlib.Path({str(mark)!r}).exists():\n    time.sleep(0.1)\n" + NB_CODE
    make_project(tmp_path, nb_code=code)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "pipeline", "run", "demo", "--format", "json"],
                            cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (_task_status(tmp_path, "nb") == "running" and _task_status(tmp_path, "indep") == "ran"):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "data" / "lake" / "out.parquet").exists()
    mark.touch()

    again = wb(tmp_path, "pipeline", "run", "demo", "--format", "json")
    assert again.returncode == 0, again.stderr
    s = {n: (t["status"], t["reason"]) for n, t in objects(again.stdout).items()}
    assert s["base"][0] == "skipped" and s["indep"][0] == "skipped"
    assert s["nb"] == ("ran", "never succeeded") and s["final"] == ("ran", "never succeeded")
    with sqlite3.connect(tmp_path / "reports" / "runlog.db") as c:
        runs = c.execute("select status from pipeline_runs order by started_at").fetchall()
        killed = c.execute("select status, error from pipeline_tasks where task='nb' order by rowid").fetchall()
    assert runs == [("interrupted",), ("succeeded",)]
    assert killed[0][0] == "failed" and "runner died" in killed[0][1]


def test_a_crash_mid_write_leaves_no_half_file_and_the_task_runs_again(tmp_path):
    make_project(tmp_path)
    crashed = wb(tmp_path, "pipeline", "run", "demo", "--only", "indep", env={"WORKBENCH_CRASH_AT": "task-writing"},
                 start_new_session=True)
    assert crashed.returncode == -signal.SIGKILL
    lake = tmp_path / "data" / "lake"
    assert not (lake / "indep.parquet").exists()  # only the temp file beside it
    assert [p.name for p in lake.iterdir()][0].startswith(".indep.parquet.")
    written = wb(tmp_path, "pipeline", "run", "demo", "--only", "indep", env={"WORKBENCH_CRASH_AT": "task-written"},
                 start_new_session=True)
    assert written.returncode == -signal.SIGKILL and (lake / "indep.parquet").exists()
    again = wb(tmp_path, "pipeline", "run", "demo", "--only", "indep", "--format", "json")
    assert objects(again.stdout)["indep"]["status"] == "ran"  # its success was never recorded
    assert objects(again.stdout)["indep"]["reason"] == "never succeeded"


def test_slot_claims_run_each_task_of_a_slot_once(tmp_path):
    make_project(tmp_path)
    slot = ("--slot", "2026-11-05T05:00:00Z")
    first = wb(tmp_path, "pipeline", "run", "demo", "--only", "indep", *slot, "--format", "json")
    assert objects(first.stdout)["indep"]["status"] == "ran"
    second = wb(tmp_path, "pipeline", "run", "demo", "--only", "indep", "--force", "indep", "--slot",
                "2026-11-05T06:00:00+01:00", "--format", "json")
    assert objects(second.stdout)["indep"] == {**objects(second.stdout)["indep"], "status": "skipped"}
    assert "slot 2026-11-05T05:00:00Z already done by pipeline run" in objects(second.stdout)["indep"]["reason"]
    other = wb(tmp_path, "pipeline", "run", "demo", "--only", "indep", "--force", "indep", "--slot",
               "2026-11-06T05:00:00Z", "--format", "json")
    assert objects(other.stdout)["indep"]["status"] == "ran"


AIRFLOW_PYTHON = os.environ.get("AIRFLOW_PYTHON", "/tmp/airflow-venv/bin/python")


def test_airflow_dag(tmp_path):
    make_project(tmp_path, "")
    toml = tmp_path / "workbench.toml"
    toml.write_text(toml.read_text().replace('retry_delay = "0s"', 'retry_delay = "0s"\nschedule = "0 5 * * *"'))
    res = wb(tmp_path, "pipeline", "airflow", "demo", "-o", "dag.py")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "dag.py").read_text()
    compile(text, "dag.py", "exec")
    for task in ("base", "nb", "final", "indep"):
        assert (f"task_id={task!r}, bash_command='workbench --config {toml} pipeline run demo --only {task} "
                "--slot ' + SLOT") in text
    assert "    base >> nb\n    nb >> final\n" in text and "indep >>" not in text
    assert "schedule='0 5 * * *'" in text and "data_interval_end" in text
    unscheduled = wb(tmp_path.parent, "--config", str(toml).replace("workbench.toml", "x.toml"), "pipeline", "list")
    assert unscheduled.returncode == 2
    if not Path(AIRFLOW_PYTHON).exists():
        pytest.skip(f"Airflow is not installed here (set AIRFLOW_PYTHON to a python with apache-airflow)")
    probe = ("import importlib.util, json, sys\n"
             "spec = importlib.util.spec_from_file_location('dag', sys.argv[1]); m = importlib.util.module_from_spec(spec)\n"
             "spec.loader.exec_module(m)\n"
             "print(json.dumps({t.task_id: sorted(t.upstream_task_ids) for t in m.dag.tasks}))")
    out = subprocess.run([AIRFLOW_PYTHON, "-c", probe, str(tmp_path / "dag.py")], capture_output=True, text=True,
                         timeout=300, env={"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(tmp_path / "af")})
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"base": [], "nb": ["base"], "final": ["nb"],
                                                               "indep": []}


def test_a_slot_run_pings_its_notify_targets_with_each_task(tmp_path):
    """notify / notify_success of [pipelines.NAME]: a slot's run (the scheduler's, Airflow's,
    or by hand with --slot) sends the run and each task's status; a plain manual run does not."""
    make_project(tmp_path)
    notes = tmp_path / "notes.jsonl"
    (tmp_path / "note.py").write_text(f"import sys\nopen({str(notes)!r}, 'a').write(sys.stdin.read() + '\\n')\n")
    toml = tmp_path / "workbench.toml"
    toml.write_text(toml.read_text().replace(
        'retry_delay = "0s"\n', f'retry_delay = "0s"\nnotify = ["command:{sys.executable} note.py"]\n'
                                 'notify_success = true\n', 1))

    def sent() -> list[dict]:
        return [json.loads(line) for line in notes.read_text().splitlines()] if notes.exists() else []

    failed = wb(tmp_path, "pipeline", "run", "demo", "--slot", "2026-11-05T05:00:00Z", "-p", "fail", "true")
    assert failed.returncode == 1, failed.stderr
    (note,) = sent()
    assert note["kind"] == "pipeline" and note["pipeline"] == "demo" and note["status"] == "failed"
    assert note["slot"] == "2026-11-05T05:00:00Z" and note["parameters"] == {"fail": "true"}
    assert note["error"].startswith("task nb failed: RuntimeError: asked to fail")
    assert {t["name"]: t["status"] for t in note["tasks"]} == {
        "base": "ran", "nb": "failed", "final": "upstream_failed", "indep": "ran"}

    manual = wb(tmp_path, "pipeline", "run", "demo", "-p", "fail", "true")
    assert manual.returncode == 1 and len(sent()) == 1  # no slot: the terminal is told, nobody is pinged

    ok = wb(tmp_path, "pipeline", "run", "demo", "--slot", "2026-11-06T05:00:00Z")
    assert ok.returncode == 0, ok.stderr
    note = sent()[-1]
    assert note["status"] == "succeeded" and note["error"] is None
    assert set(note["reports"]) == {"nb"} and Path(note["reports"]["nb"]).is_file()  # the notebook task's page
