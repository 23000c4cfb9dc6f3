"""Scheduler benchmarks: (a) idle cost, (b) slot-to-first-cell delay, (c) backfill vs a papermill loop.

    PYTHONPATH=. python bench/schedule.py [a] [b] [c] [--slots 10] [--backfill 20] [--idle 120]

(a) runs ``workbench schedule`` on a report whose next slot is far away and reads the
process's CPU time (utime + stime from /proc) over ``--idle`` seconds after start-up.
(b) runs the scheduler in this process on a minute schedule with a clock shifted so a
slot falls due 3 s after each run, with warm kernels, and measures the instant the
notebook's first cell runs minus the slot's instant.
(c) backfills ``--backfill`` daily slots of the demo daily report with ``--jobs 2`` and
compares with a shell loop of the papermill CLI over the same days (no HTML).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(seconds: float) -> dict:
    import nbformat

    root = Path(tempfile.mkdtemp(prefix="wb-idle-"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, str(root / "n.ipynb"))
    (root / "workbench.toml").write_text('[reports.yearly]\nnotebook = "n.ipynb"\nschedule = "0 0 1 1 *"\n')
    p = subprocess.Popen([sys.executable, "-m", "workbench", "-c", str(root / "workbench.toml"), "schedule"],
                         env=ENV, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(10)  # start-up (imports, first pass) is not idle time
    c0, t0 = cpu_seconds(p.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(p.pid), time.monotonic()
    p.terminate()
    p.wait(timeout=60)
    per_hour = (c1 - c0) / (t1 - t0) * 3600
    return {"idle_s": round(t1 - t0, 1), "cpu_s": round(c1 - c0, 3), "cpu_s_per_idle_hour": round(per_hour, 3)}


def delay(slots: int) -> dict:
    import nbformat

    from workbench.config import load_config
    from workbench.reports.runlog import RunLog
    from workbench.schedule.loop import Clock, Scheduler

    root = Path(tempfile.mkdtemp(prefix="wb-delay-"))
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell("n: int = 0")
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("import time, workbench.reports.kernel as k\nk.record('t', time.time())")]
    nbformat.write(nb, str(root / "n.ipynb"))
    (root / "workbench.toml").write_text('[reports.minute]\nnotebook = "n.ipynb"\nschedule = "* * * * *"\n')
    cfg = load_config(root / "workbench.toml")

    class Shifted(Clock):
        offset = 0.0

        def now(self):
            return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)

    clock = Shifted()

    def align():  # the next minute slot falls due 3 s from now (real time)
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=clock.offset)
        nxt = (now + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        clock.offset += (nxt - now).total_seconds() - 3.0

    align()
    sched = Scheduler(cfg, clock=clock, jobs=1, log=lambda m: None)
    sched.executor()  # warm kernels, as a running daemon has them
    delays = []
    th = threading.Thread(target=sched.serve, daemon=True)
    log = RunLog(cfg.runlog_path)
    th.start()
    done = 0
    # the first run is a warm-up, not a measurement: a report never scheduled before starts
    # with the slot that is on time, which is the previous minute's (up to 120 s late)
    while done < slots + 1:
        time.sleep(0.2)
        runs = [r for r in log.runs("minute") if r.status == "succeeded"]
        if len(runs) > done:
            r = runs[0]
            slot = dt.datetime.fromisoformat(r.slot.replace("Z", "+00:00")).timestamp() - clock.offset
            if done:
                delays.append(r.values["t"] - slot)
            done = len(runs)
            align()
            sched.wake.set()
    sched.stop()
    th.join(timeout=120)
    return {"slots": len(delays), "median_s": round(statistics.median(delays), 3), "max_s": round(max(delays), 3),
            "each_s": [round(d, 3) for d in delays], "load": os.getloadavg()}


def backfill(n: int) -> dict:
    from workbench.demo import build

    root = Path(tempfile.mkdtemp(prefix="wb-backfill-"))
    build(root, scale=0.05, end_day=dt.date(2026, 11, 28), progress=False)
    text = (root / "workbench.toml").read_text() if (root / "workbench.toml").exists() else ""
    if "[reports.daily_report]" not in text:
        import shutil

        shutil.copy(REPO / "workbench/config/default.toml", root / "workbench.toml")
        (root / "notebooks").mkdir(exist_ok=True)
        shutil.copy(REPO / "notebooks/daily_report.ipynb", root / "notebooks/daily_report.ipynb")
        text = (root / "workbench.toml").read_text()
    text = text.replace('[reports.daily_report]\n', '[reports.daily_report]\nschedule = "0 6 * * *"\n'
                        'slot_parameter = "day"\nslot_offset = "-1d"\n', 1)
    (root / "workbench.toml").write_text(text)
    first = dt.date(2026, 11, 28) - dt.timedelta(days=n - 1)
    days = [first + dt.timedelta(days=i) for i in range(n)]
    import shutil

    droot = root.parent / (root.name + "-dask")  # the same project, its own run log and reports
    shutil.copytree(root, droot, symlinks=True)

    def backfill_cmd(project: Path, *extra: str) -> float:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "workbench", "-c", str(project / "workbench.toml"), "backfill",
                            "daily_report", "--from", str(days[0] + dt.timedelta(days=1)),
                            "--to", str(days[-1] + dt.timedelta(days=1)), "--jobs", "2", *extra],
                           env=ENV, cwd=project, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        assert r.returncode == 0, r.stderr[-2000:]
        assert f"{n} run(s), {n} succeeded" in r.stdout, r.stdout
        return wall

    load0 = os.getloadavg()
    ours = backfill_cmd(root)
    sys.path.insert(0, str(REPO))
    from tests.support.dask_cluster import LocalDaskCluster

    with LocalDaskCluster(root.parent / (root.name + "-cluster"), workers=2,
                          env={"PYTHONPATH": str(REPO)}) as cluster:  # started before the timing
        dask_s = backfill_cmd(droot, "--executor", "dask://" + cluster.address.split("://", 1)[1])
    print(f"backfill --jobs 2: local {ours:.1f} s, dask {dask_s:.1f} s", file=sys.stderr, flush=True)
    out = root / "pm"
    out.mkdir()
    t0 = time.perf_counter()
    for d in days:
        subprocess.run([sys.executable, "-m", "papermill", "-k", "python3", "--no-progress-bar",
                        "notebooks/daily_report.ipynb", str(out / f"{d}.ipynb"), "-p", "day", str(d)], env={**ENV, "WORKBENCH_CONFIG":
                       str(root / "workbench.toml")}, cwd=root, check=True, capture_output=True)
    pm = time.perf_counter() - t0
    return {"slots": n, "backfill_jobs2_s": round(ours, 1), "dask_2_workers_s": round(dask_s, 1),
            "papermill_loop_s": round(pm, 1), "speedup": round(pm / ours, 2), "dask_vs_local": round(dask_s / ours, 2),
            "load_before": load0, "load_after": os.getloadavg()}


def main(argv: list[str]) -> None:
    def opt(name: str, default: int) -> int:
        return int(argv[argv.index(name) + 1]) if name in argv else default

    which = [a for a in argv if a in ("a", "b", "c")] or ["a", "b", "c"]
    results = {}
    if "a" in which:
        results["idle"] = idle(opt("--idle", 120))
        print("idle", results["idle"], flush=True)
    if "b" in which:
        results["delay"] = delay(opt("--slots", 10))
        print("delay", results["delay"], flush=True)
    if "c" in which:
        results["backfill"] = backfill(opt("--backfill", 20))
        print("backfill", results["backfill"], flush=True)
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "schedule.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
