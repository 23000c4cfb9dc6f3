"""The Dask executor against a real cluster: a ``dask scheduler`` and two ``dask worker``
processes of this venv on 127.0.0.1, started by this module and ended by its last test.

The workers run with a scratch folder of their own (``WORKBENCH_DASK_SCRATCH``), and the
tests check that what they executed there came back to the caller's ``reports/`` as bytes: the caller
publishes and logs, the worker writes nothing of the caller's. A worker killed with
SIGKILL mid-run (both ways Dask reports it: a rerun on another worker, ``KilledWorker``)
leaves the run failed with that reason, retryable, unpublished, never ``running``, and
no kernel behind. In CI a missing dask fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.projects import NOTEBOOKS, REPO, write_reports_config
from tests.support.servers import _unavailable

try:
    import distributed  # noqa: F401
except ImportError as e:  # the optional extra is part of the dev install, so CI has it
    _unavailable("dask/distributed", e, "pip install -e '.[dev]'", module=True)

import psutil

from workbench.config import load_config
from workbench.executors.dask import DaskExecutor, task_key
from workbench.executors.local import run_many
from workbench.reports.model import shown
from workbench.reports.plan import plan
from workbench.reports.run import kernel_env
from workbench.reports.runlog import RunLog

from tests.support.dask_cluster import LocalDaskCluster, set_allowed_failures

pytestmark = pytest.mark.slow

REPORTS = {"echo": {"notebook": NOTEBOOKS / "echo.ipynb", "description": "echoes its parameters",
                    "parameters": {"region": "US"}},
           "raises": {"notebook": NOTEBOOKS / "raises.ipynb"},
           "sleepy": {"notebook": NOTEBOOKS / "sleepy.ipynb"}}
ECHO_SETS = [{"region": "EU", "day": "2026-11-01"}, {"region": "01234", "top_n": "3"}, {"regions": "a,b"}]


def project(root: Path):
    root.mkdir(parents=True)
    return load_config(write_reports_config(root, REPORTS))


@pytest.fixture(scope="module")
def worker_tmp():
    path = Path(tempfile.mkdtemp(prefix="wbd-"))  # short: kernels' IPC socket paths live under it
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, worker_tmp):
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    c = LocalDaskCluster(tmp_path_factory.mktemp("cluster"), workers=2,
                         env={"PYTHONPATH": pythonpath, "TMPDIR": str(worker_tmp),
                              "WORKBENCH_DASK_SCRATCH": str(worker_tmp)})
    yield c
    c.close()


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client

    with Client(cluster.address, timeout=30, set_as_default=False) as c:
        yield c


def logged(cfg, plans):
    log = RunLog(plans[0].runlog)
    for pl in plans:
        log.add(pl.run_id, pl.report, pl.notebook, shown(pl))
    return log


def run_on_dask(cluster, cfg, plans, timeout=600):
    logged(cfg, plans)
    with DaskExecutor(cluster.address, plans[0].root, kernel_env(plans[0])) as ex:
        futures = [ex.submit(pl) for pl in plans]
        return [f.result(timeout=timeout) for f in futures]


def files_of(run_dir: Path | None) -> list[str]:
    return sorted(p.name for p in run_dir.iterdir()) if run_dir else []


def printed(nb_path: Path) -> list[str]:
    nb = json.loads(nb_path.read_text())
    return [o["text"] if isinstance(o["text"], str) else "".join(o["text"])
            for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "stream"]


def shape(cfg) -> list[tuple]:
    """What a run left, minus ids and times: row fields, files, what the notebook printed."""
    out = []
    reports = Path(cfg.reports_dir)
    for r in RunLog(cfg.runlog_path).runs():
        run_dir = reports / r.run_dir if r.run_dir else None
        nb = printed(run_dir / "notebook.ipynb") if run_dir else []
        out.append((r.report, json.dumps(r.parameters, sort_keys=True), r.status, r.error,
                    json.dumps(r.values, sort_keys=True), tuple(r.sources), tuple(files_of(run_dir)), tuple(nb),
                    r.run_dir == f"{r.report}/{r.id}", r.report_path == f"{r.report}/{r.id}/report.html",
                    r.started_at is not None and r.ended_at is not None))
    return sorted(out)


def test_runs_come_back_as_the_local_pool_leaves_them(cluster, tmp_path, worker_tmp):
    local, dask = project(tmp_path / "local"), project(tmp_path / "dask")
    run_many("echo", ECHO_SETS, config=local, jobs=2)
    run_many("raises", [{}], config=local, jobs=1)

    plans = plan("echo", ECHO_SETS, config=dask) + plan("raises", None, config=dask)
    results = run_on_dask(cluster, dask, plans)

    assert [r.id for r in results] == [pl.run_id for pl in plans]
    assert [r.status for r in results] == ["succeeded"] * 3 + ["failed"]
    assert "ValueError: boom in cell" in results[-1].error
    assert results[0].values == {"rows": 10, "region": "EU"}
    assert all(r.report_path.is_file() for r in results)
    assert shape(dask) == shape(local)
    assert len(shape(dask)) == 4

    # latest moved to a run that succeeded, and only for echo; the index lists every run
    latest = Path(dask.reports_dir) / "echo" / "latest"
    assert os.readlink(latest) in {r.id for r in results[:3]}
    assert not (Path(dask.reports_dir) / "raises" / "latest").exists()
    index = (Path(dask.reports_dir) / "index.html").read_text()
    assert "echoes its parameters" in index and all(r.id in index for r in results)
    # the worker executed in its own temp folder and wrote nothing of ours: the params.json
    # path the injected cell read is on the worker's side (params.json itself names its
    # values file relative to the run folder), and no staging is left here
    for r in results:
        assert json.loads((r.run_dir / "params.json").read_text())["run"]["values_path"] == "values.jsonl"
        nb = json.loads((r.run_dir / "notebook.ipynb").read_text())
        (injected,) = [c for c in nb["cells"] if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
        assert str(worker_tmp) in "".join(injected["source"]), injected["source"]
        assert not any(p.name.startswith(".staging-") for p in r.run_dir.parent.iterdir())
    assert not any(worker_tmp.glob("wb-dask-*"))  # and the worker cleaned up after itself


def test_a_run_id_is_one_task_and_runs_once(cluster, client, tmp_path):
    cfg = project(tmp_path / "p")
    (pl,) = plan("echo", {"region": "once"}, config=cfg)
    log = logged(cfg, [pl])
    with DaskExecutor(cluster.address, pl.root, kernel_env(pl)) as ex:
        first, again = ex.submit(pl), ex.submit(pl)  # in flight: the same future, one task
        assert again is first
        assert ex._inflight[pl.run_id][1].key == task_key(pl.run_id) == f"workbench-run-{pl.run_id}"
        res = first.result(timeout=300)
        assert res.ok
        row = log.get(pl.run_id)
        stamp = (res.run_dir / "report.html").stat().st_mtime_ns
        later = ex.submit(pl).result(timeout=60)  # finished in the log: nothing runs or publishes again
    assert (later.status, later.values, later.run_dir) == (res.status, res.values, res.run_dir)
    assert log.get(pl.run_id) == row
    assert (res.run_dir / "report.html").stat().st_mtime_ns == stamp
    assert len(log.runs()) == 1


def _running_on(client, key: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for addr, keys in client.processing().items():
            if key in keys:
                return addr
        time.sleep(0.1)
    raise AssertionError(f"{key} never ran")


def _kill_worker_mid_run(cluster, client, cfg, allowed_failures: int):
    """Start sleepy, SIGKILL the worker process running it once the kernel sleeps; the result."""
    old = client.run_on_scheduler(set_allowed_failures, allowed_failures)
    try:
        (pl,) = plan("sleepy", None, config=cfg, timeout=120)
        log = logged(cfg, [pl])
        with DaskExecutor(cluster.address, pl.root, kernel_env(pl)) as ex:
            fut = ex.submit(pl)
            deadline = time.monotonic() + 180
            while log.get(pl.run_id).status != "running":  # the worker said it started
                assert time.monotonic() < deadline and not fut.done(), "sleepy never started"
                time.sleep(0.1)
            addr = _running_on(client, task_key(pl.run_id))
            pid = client.run(os.getpid, workers=[addr])[addr]
            worker = psutil.Process(pid)
            tree = worker.children(recursive=True)
            deadline = time.monotonic() + 60  # the kernel (forked from the fork server) is there
            while len(tree) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
                tree = worker.children(recursive=True)
            time.sleep(2)  # inside the sleeping cell
            os.kill(pid, signal.SIGKILL)
            res = fut.result(timeout=120)
        # no kernel or fork server of the killed worker lives on
        gone, alive = psutil.wait_procs(tree, timeout=20)
        assert not alive, [p.cmdline()[:4] for p in alive]
        return pl, log, res
    finally:
        cluster.wait_for_workers(2)  # the nanny restarts the killed worker process
        client.run_on_scheduler(set_allowed_failures, old)


@pytest.mark.parametrize("allowed_failures, how", [(3, "Dask started it again"), (0, "KilledWorker")])
def test_a_worker_killed_mid_run_leaves_the_run_failed_and_retryable(cluster, client, tmp_path,
                                                                     allowed_failures, how):
    cfg = project(tmp_path / "p")
    pl, log, res = _kill_worker_mid_run(cluster, client, cfg, allowed_failures)
    assert res.status == "failed" and res.run_dir is None
    assert "the Dask worker running it died" in res.error and how in res.error
    row = log.get(pl.run_id)
    assert (row.status, row.error, row.failure_class) == ("failed", res.error, "retryable")
    assert row.run_dir is None and row.ended_at is not None
    report_dir = Path(cfg.reports_dir) / "sleepy"
    assert not report_dir.exists() or not any(report_dir.iterdir())  # not published, not half
    assert "the Dask worker running it died" in (Path(cfg.reports_dir) / "index.html").read_text()
    # the cluster is whole again and runs the next one
    (again,) = plan("echo", {"region": "after"}, config=cfg)
    (r,) = run_on_dask(cluster, cfg, [again])
    assert r.ok and r.values["region"] == "after"


def test_shutdown_without_waiting_records_the_run_interrupted(cluster, client, tmp_path):
    cfg = project(tmp_path / "p")
    (pl,) = plan("sleepy", None, config=cfg, timeout=6)  # the worker's kernel is stopped by then
    log = logged(cfg, [pl])
    ex = DaskExecutor(cluster.address, pl.root, kernel_env(pl))
    fut = ex.submit(pl)
    deadline = time.monotonic() + 180
    while log.get(pl.run_id).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ex.shutdown(wait=False)
    res = fut.result(timeout=30)
    assert res.status == "failed" and "interrupted" in res.error
    assert log.get(pl.run_id).status == "failed"
    time.sleep(8)  # the worker ends the run (timed out); its result goes nowhere
    assert log.get(pl.run_id).status == "failed"
    assert not (Path(cfg.reports_dir) / "sleepy").exists() or not any((Path(cfg.reports_dir) / "sleepy").iterdir())


def test_shutdown_leaves_no_process(cluster, client):
    client.close()
    cluster.close()
    assert cluster.leftovers() == []
