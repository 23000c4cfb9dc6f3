"""A fork server for report kernels: import the heavy modules once, fork a kernel per run.

Run as ``python -m workbench.reports.execute.forkserver MODULE...``. It imports the given modules
(pandas, plotly, duckdb, ...) *before* any ZMQ context or thread exists, says ``ready``,
then reads one JSON request per line on stdin (``connection_file``, ``cwd``, ``env``),
forks, and answers with the child's pid. The child becomes a fresh IPython kernel on
that connection file: it starts in about 0.4 s with every preloaded module already in
memory, and it is used for one run only, so nothing leaks from one report to the next.

The server lives in its own session (no Ctrl-C from the terminal), reaps its children
automatically, and exits when its stdin closes; each kernel is killed by the kernel
itself (PR_SET_PDEATHSIG) when the server goes, so a killed runner leaves no kernels.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _become_kernel(req: dict) -> None:
    os.setsid()  # its own process group: a timeout kills the kernel and whatever it started
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.chdir(req["cwd"])
    os.environ.update(req.get("env", {}))
    if os.getppid() == 1:  # the server died between fork and prctl
        os._exit(1)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", req["connection_file"], "--HistoryManager.hist_file=:memory:",
                    "--IPKernelApp.parent_handle=0"])
    app.start()
    os._exit(0)


def _warm() -> None:
    """Touch what plotly and pandas load lazily on first use (about 2 s in a fresh kernel)."""
    try:
        import pandas as pd
        import plotly.express as px
        import plotly.graph_objects as go
        import plotly.io as pio

        df = pd.DataFrame({"x": [1, 2], "y": [3.0, 4.0], "c": ["a", "b"]})
        df._repr_html_()
        figs = [px.bar(df, x="x", y="y", color="c"), px.line(df, x="x", y="y"), px.pie(df, names="c", values="y"),
                px.histogram(df, x="y"), px.scatter(df, x="x", y="y"), px.area(df, x="x", y="y"),
                go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))]
        for fig in figs:
            pio.to_json(fig)
        pio.renderers[pio.renderers.default]
    except Exception:  # warming is an optimisation only
        pass


def main(modules: list[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module only costs its import later
            pass
    _warm()
    import ipykernel.kernelapp  # noqa: F401  (the kernel itself, imported once here)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the OS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                _become_kernel(req)
            finally:
                os._exit(1)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
