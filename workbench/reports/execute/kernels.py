"""Kernels for report runs: started ahead, used once, killed without waiting.

Every kernel talks over IPC sockets (files in a private temp folder), never TCP ports,
so parallel runs cannot race for a port. A kernel is handed to papermill already
running (:class:`RunKernel`), so papermill never starts or politely shuts one down: the
runner kills it with SIGKILL when the run is over, which takes no time, and a kernel is
never reused, so no state leaks from one run into the next.

Two sources of kernels:

* :class:`ColdKernels` launches ``python -m ipykernel_launcher`` per run (about 0.6 s,
  plus the notebook's own imports). Used for single runs.
* :class:`ForkedKernels` keeps a fork server (:mod:`.forkserver`) that has already imported
  pandas, plotly, duckdb and workbench, and keeps ``ahead`` kernels forked (and their
  DuckDB hub built, :data:`WARMUP`) before they are needed, so a grid run finds its
  kernel ready and its imports done.

A kernel that does not answer within ``start_timeout`` raises :class:`KernelStartError`;
the runner retries with a fresh kernel, because a failed start is not a notebook failure.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from ...errors import KernelStartError
from .processes import pid_alive

PRELOAD = ("pandas", "numpy", "pyarrow", "duckdb", "plotly", "plotly.express", "plotly.graph_objects",
           "plotly.io", "IPython", "workbench", "workbench.reports.kernel")

#: Run in each forked kernel as soon as it is forked: builds the DuckDB hub (attach the
#: OLTP sources, create the lake views) that ``wb.sql`` would otherwise build in the
#: run's first query. Connections cannot be made before the fork (they own threads).
#: It builds the hub without running a query, because a query attaches the warehouse
#: files: a spare kernel warming up would then hold a warehouse that a pipeline's SQL
#: task (or ``workbench sync``) is about to write, and that writer would fail on the lock.
WARMUP = ("import workbench as _wb\ntry:\n    _wb.get_workbench().hub.connection()\n"
          "except Exception:\n    pass\ndel _wb")

#: Environment every report kernel gets: JSON-only plotly output, so the notebook holds
#: each figure's data once and the HTML adds plotly.js once.
KERNEL_ENV = {"PLOTLY_RENDERER": "plotly_mimetype", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
              # no widget frontend in a headless run: wb.explore shows static tables and figures
              "WORKBENCH_WIDGETS": "0"}

#: And the fork server: one BLAS/OpenMP thread per kernel, because thread pools started
#: before a fork are unsafe in the child (and a grid already fills the cores with runs).
FORK_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class RunKernel(AsyncKernelManager):
    """A running kernel process we launched ourselves, as papermill/nbclient expect it."""

    def __init__(self, pid: int, connection_file: str, folder: str, reap: subprocess.Popen | None = None):
        super().__init__(kernel_name="python3")
        self.load_connection_file(connection_file)
        self.connection_file = connection_file
        self.pid = pid
        self._folder = folder
        self._popen = reap
        self._kc: AsyncKernelClient | None = None
        self._killed = False

    def send_ahead(self, code: str) -> None:
        """Queue ``code`` on the kernel now (silently, outside the history), without waiting.

        ZMQ holds the request until the kernel binds its sockets; the run's own requests
        queue behind it, so it is done, in the background, before the first cell runs.
        """
        self._kc = self.client()
        self._kc.start_channels()
        self._kc.execute(code, silent=True, store_history=False)

    @property
    def has_kernel(self) -> bool:  # type: ignore[override]
        return True

    @property
    def owns_kernel(self) -> bool:  # type: ignore[override]
        return True

    async def _async_is_alive(self) -> bool:
        return pid_alive(self.pid)

    is_alive = _async_is_alive  # type: ignore[assignment]

    async def interrupt_kernel(self) -> None:  # type: ignore[override]
        self._signal(signal.SIGINT)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        self.kill()

    def _signal(self, sig: int, group: bool = False) -> None:
        try:
            if group and os.getpgid(self.pid) == self.pid:  # the kernel leads its own group
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def interrupt(self) -> None:
        """SIGINT the kernel (a KeyboardInterrupt in the running cell)."""
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL the kernel's process group (the kernel and what it started) and remove its files; never waits."""
        self._killed = True
        self._signal(signal.SIGKILL, group=True)
        if self._kc is not None and self._kc.channels_running:
            self._kc.stop_channels()
        if self._popen is not None:  # reap our own child off the critical path
            threading.Thread(target=self._popen.wait, daemon=True).start()
        shutil.rmtree(self._folder, ignore_errors=True)
        if self._created_context:
            self.context.destroy(linger=0)

    def connect(self, timeout: float) -> AsyncKernelClient:
        """A client whose shell and IOPub channels are both live, or KernelStartError.

        jupyter_client's ``wait_for_ready`` spends 0.2 s draining IOPub; here the first
        IOPub message after a kernel_info request proves the subscription instead.
        """
        return run_sync(self._connect)(timeout)

    async def _connect(self, timeout: float) -> AsyncKernelClient:
        if self._killed:  # its sockets and context are gone; SIGKILL may not have landed yet
            raise KernelStartError("the kernel was stopped before the run could use it")
        kc = self._kc
        if kc is None:
            kc = self.client()
            kc.start_channels()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(self.pid):
                break
            msg_id = kc.kernel_info()
            try:
                while True:
                    reply = await kc.get_shell_msg(timeout=0.5)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        break
                while True:
                    msg = await kc.get_iopub_msg(timeout=0.5)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        return kc
            except queue.Empty:
                continue
        kc.stop_channels()
        self.kill()
        raise KernelStartError(f"the kernel did not answer within {timeout:g} s")


def _new_connection(folder: str) -> str:
    cf = os.path.join(folder, "kernel.json")
    write_connection_file(cf, transport="ipc", ip=os.path.join(folder, "ipc"))
    return cf


class ColdKernels:
    """One fresh ``ipykernel_launcher`` process per run."""

    def __init__(self, cwd: str | Path, env: dict[str, str] | None = None, start_timeout: float = 60):
        self.cwd = str(cwd)
        self.env = {**os.environ, **KERNEL_ENV, **(env or {})}
        self.start_timeout = start_timeout
        self._next: RunKernel | None = None

    def start(self) -> None:
        """Launch the next kernel now, so that it boots while the caller imports papermill and
        prepares the notebook (a kernel takes a second or more to import ipykernel)."""
        if self._next is None:
            self._next = self._launch()

    def take(self) -> RunKernel:
        """The kernel :meth:`start` launched, else a new one."""
        kernel, self._next = self._next, None
        return kernel if kernel is not None else self._launch()

    def _launch(self) -> RunKernel:
        folder = tempfile.mkdtemp(prefix="wbk-")
        cf = _new_connection(folder)
        popen = subprocess.Popen(
            [sys.executable, "-m", "ipykernel_launcher", "-f", cf, "--HistoryManager.hist_file=:memory:",
             f"--IPKernelApp.parent_handle={os.getpid()}"],
            cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        kernel = RunKernel(popen.pid, cf, folder, reap=popen)
        return kernel

    def close(self) -> None:
        """Kill a kernel launched ahead and never taken."""
        kernel, self._next = self._next, None
        if kernel is not None:
            kernel.kill()

    def __enter__(self) -> "ColdKernels":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ForkedKernels:
    """Kernels forked from a warm fork server, ``ahead`` of them started before they are asked for."""

    def __init__(self, cwd: str | Path, env: dict[str, str] | None = None, *, ahead: int = 1,
                 preload: tuple[str, ...] = PRELOAD, warmup: str | None = WARMUP, start_timeout: float = 60):
        self.cwd = str(cwd)
        self.env = {k: str(v) for k, v in (env or {}).items()}
        self.ahead = max(1, ahead)
        self.start_timeout = start_timeout
        self.warmup = warmup
        self._lock = threading.Lock()
        self._ready: deque[RunKernel] = deque()
        self._server = subprocess.Popen(
            [sys.executable, "-m", "workbench.reports.execute.forkserver", *preload],
            cwd=self.cwd, env={**os.environ, **KERNEL_ENV, **FORK_ENV, **self.env},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, start_new_session=True,
        )
        if self._server.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
            raise KernelStartError("the kernel fork server did not start")
        self._fill()

    def _fork(self) -> RunKernel:
        folder = tempfile.mkdtemp(prefix="wbk-")
        cf = _new_connection(folder)
        req = {"connection_file": cf, "cwd": self.cwd, "env": self.env}
        self._server.stdin.write(json.dumps(req) + "\n")  # type: ignore[union-attr]
        self._server.stdin.flush()  # type: ignore[union-attr]
        line = self._server.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise KernelStartError("the kernel fork server has gone")
        kernel = RunKernel(json.loads(line)["pid"], cf, folder)
        if self.warmup:
            kernel.send_ahead(self.warmup)
        return kernel

    def _fill(self) -> None:
        with self._lock:
            while len(self._ready) < self.ahead:
                self._ready.append(self._fork())

    def take(self) -> RunKernel:
        """A kernel forked earlier (ready by now, or nearly); the next one is forked at once."""
        with self._lock:
            kernel = self._ready.popleft() if self._ready else self._fork()
        self._fill()
        return kernel

    def close(self) -> None:
        with self._lock:
            while self._ready:
                self._ready.popleft().kill()
        if self._server.poll() is None:
            self._server.stdin.close()  # type: ignore[union-attr]
            self._server.kill()
            threading.Thread(target=self._server.wait, daemon=True).start()

    def __enter__(self) -> "ForkedKernels":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
