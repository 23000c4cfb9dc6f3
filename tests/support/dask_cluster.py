"""A real Dask cluster on loopback for the tests and bench/dask.py: one ``dask scheduler``
and N ``dask worker`` processes of this venv's ``dask`` CLI, each in a session of its own.

The scheduler picks its port (``--port 0``) and says where in ``--scheduler-file``;
workers run ``--nworkers 1 --nthreads 1 --no-dashboard`` on 127.0.0.1 only. :meth:`close`
ends every process the cluster started (nannies, workers, kernel fork servers, kernels)
and :meth:`leftovers` names any that are still there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

DASK = Path(sys.executable).parent / "dask"


class LocalDaskCluster:
    def __init__(self, folder: Path, workers: int = 2, env: dict[str, str] | None = None,
                 scheduler_env: dict[str, str] | None = None, start_timeout: float = 120):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        #: every process of this cluster (and the kernels its workers fork) inherits the mark
        self.mark = uuid.uuid4().hex
        self.env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "warning", **(env or {}),
                    "WB_TEST_DASK_CLUSTER": self.mark}
        self.scheduler_file = self.folder / "scheduler.json"
        self.scheduler_file.unlink(missing_ok=True)
        self.procs: list[subprocess.Popen] = []
        self._seen: dict[int, psutil.Process] = {}
        self.logs = self.folder / "logs"
        self.logs.mkdir(exist_ok=True)
        self._start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                  "--scheduler-file", str(self.scheduler_file)], {**self.env, **(scheduler_env or {})})
        deadline = time.monotonic() + start_timeout
        while not self.scheduler_file.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start: {self.log('scheduler')}")
            time.sleep(0.1)
        time.sleep(0.2)  # written, then renamed? read it whole
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:"), self.address
        for i in range(workers):
            self.add_worker(f"w{i}")
        self.wait_for_workers(workers, start_timeout)

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "ab")
        self.procs.append(subprocess.Popen(argv, cwd=self.folder, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    def add_worker(self, name: str) -> None:
        self._start(name, [str(DASK), "worker", "--scheduler-file", str(self.scheduler_file), "--host", "127.0.0.1",
                           "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", name,
                           "--local-directory", str(self.folder / f"{name}-scratch")], self.env)

    def log(self, name: str) -> str:
        p = self.logs / f"{name}.log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def _check_alive(self) -> None:
        for p in self.procs:
            if p.poll() is not None:
                raise RuntimeError(f"a dask process exited ({p.args[1]}, rc {p.returncode})")

    def wait_for_workers(self, n: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout, set_as_default=False) as c:
            c.wait_for_workers(n, timeout=timeout)
        self.track()

    def track(self) -> None:
        """Remember every process of the cluster's trees so far (for :meth:`leftovers`)."""
        for p in self.procs:
            try:
                root = psutil.Process(p.pid)
                for q in [root, *root.children(recursive=True)]:
                    self._seen.setdefault(q.pid, q)
            except psutil.NoSuchProcess:
                pass

    def worker_pids(self) -> dict[str, int]:
        """Worker name -> pid of the worker process (the one that runs tasks), from the scheduler."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as c:
            info = c.scheduler_info(n_workers=-1)["workers"]
            return {w["name"]: c.run(os.getpid, workers=[a])[a] for a, w in info.items()}

    def close(self, timeout: float = 30) -> None:
        self.track()
        for p in reversed(self.procs):  # workers first, the scheduler last
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        # what a session kill missed (a kernel in a session of its own): by pid, each one we saw
        gone, alive = psutil.wait_procs(list(self._live()), timeout=max(1.0, deadline - time.monotonic()))
        for q in alive:
            try:
                q.kill()
            except psutil.NoSuchProcess:
                pass

    def _live(self):
        """Processes seen in the cluster's trees, and any carrying its mark, still running."""
        found = {}
        for q in [*self._seen.values(), *psutil.process_iter()]:
            try:
                if q.pid in found or q.pid == os.getpid() or not q.is_running() or q.status() == psutil.STATUS_ZOMBIE:
                    continue
                if q.pid in self._seen or q.environ().get("WB_TEST_DASK_CLUSTER") == self.mark:
                    found[q.pid] = q
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return list(found.values())

    def leftovers(self, timeout: float = 15) -> list[str]:
        """Processes of the cluster still running after ``timeout`` seconds (pid and command)."""
        deadline = time.monotonic() + timeout
        while True:
            live = list(self._live())
            if not live or time.monotonic() > deadline:
                return [f"{q.pid} {' '.join(q.cmdline()[:4])}" for q in live]
            time.sleep(0.2)

    def __enter__(self) -> "LocalDaskCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def set_allowed_failures(n: int, dask_scheduler=None) -> int:
    """For ``client.run_on_scheduler``: how many worker deaths a task survives; returns the old value."""
    old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, n
    return old
