"""Benchmark: a backfill-like batch of N runs, the local pool vs Dask with two local workers.

(Not named ``bench/dask.py``: run as a script, it would shadow the ``dask`` package.)

(a) ``workbench.executors.local.run_many(..., jobs=2)``: two forked pool workers, each with
    a kernel fork server (started inside the timing, as a backfill starts it);
(b) ``workbench.executors.dask.DaskExecutor`` on a ``dask scheduler`` and two
    ``dask worker --nworkers 1 --nthreads 1`` processes on 127.0.0.1, started before the
    timing (a cluster is long-lived) but with no kernel fork server yet (each worker starts
    its own on its first run, inside the timing); then (c) the same batch again on the now
    warm cluster.

Every run is planned, logged, executed, rendered to HTML, published and indexed on both
sides; on Dask the notebook and page travel back as bytes and the caller publishes.
The batch is one run per day over N days of the notebook's ``day`` parameter.
Target: (b) within 1.3x of (a).

    PYTHONPATH=. .venv/bin/python bench/dask_vs_local.py [--runs 60] [--trials 3] [--notebook NB]

:func:`compare` is the same measurement as a function (for ``bench/schedule.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "dask"
DEFAULT_NOTEBOOK = ROOT / "tests" / "notebooks" / "echo.ipynb"


def _project(folder: Path, notebook: Path):
    from workbench.config import load_config

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workbench.toml").write_text(
        f'[workbench]\nreports_dir = "reports"\n\n[reports.backfill]\nnotebook = {json.dumps(str(notebook))}\n')
    return load_config(folder / "workbench.toml")


def _sets(runs: int) -> list[dict[str, str]]:
    start = dt.date(2026, 1, 1)
    return [{"day": (start + dt.timedelta(days=i)).isoformat()} for i in range(runs)]


def _local(cfg, sets) -> float:
    from workbench.executors.local import run_many

    t = time.perf_counter()
    results = run_many("backfill", sets, config=cfg, jobs=2)
    wall = time.perf_counter() - t
    bad = [r for r in results if not r.ok]
    if bad:
        sys.exit(f"local runs failed: {bad[0].error}")
    return wall


def _dask(address: str, cfg, sets) -> float:
    from workbench.executors.dask import DaskExecutor
    from workbench.reports.model import shown
    from workbench.reports.plan import plan
    from workbench.reports.run import kernel_env, startup
    from workbench.reports.runlog import RunLog

    t = time.perf_counter()
    plans = plan("backfill", sets, config=cfg)
    log = RunLog(plans[0].runlog)
    startup(log, Path(plans[0].reports_dir))
    for pl in plans:
        log.add(pl.run_id, pl.report, pl.notebook, shown(pl), trigger="backfill")
    with DaskExecutor(address, plans[0].root, kernel_env(plans[0])) as ex:
        results = [f.result() for f in [ex.submit(pl) for pl in plans]]
    wall = time.perf_counter() - t
    bad = [r for r in results if not r.ok]
    if bad:
        sys.exit(f"dask runs failed: {bad[0].error}")
    return wall


def compare(runs: int = 60, notebook: Path = DEFAULT_NOTEBOOK, workdir: Path | None = None,
            trials: int = 3) -> dict[str, Any]:
    """The batch over ``trials`` interleaved trials (the box is shared, so each trial runs
    local, then Dask on a fresh cluster, cold then warm, side by side in time): median wall
    seconds ``local``, ``dask`` (cold workers), ``dask_warm``; ``ratio``/``ratio_warm``,
    the median of each trial's Dask/local ratio; and every trial."""
    from tests.support.dask_cluster import LocalDaskCluster

    workdir = Path(workdir or tempfile.mkdtemp(prefix="wb-bench-dask-"))
    shutil.rmtree(workdir, ignore_errors=True)
    sets = _sets(runs)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    all_trials = []
    for t in range(trials):
        local = _local(_project(workdir / f"{t}-local", notebook), sets)
        with LocalDaskCluster(workdir / f"{t}-cluster", workers=2, env={"PYTHONPATH": pythonpath}) as cluster:
            cold = _dask(cluster.address, _project(workdir / f"{t}-dask", notebook), sets)
            warm = _dask(cluster.address, _project(workdir / f"{t}-dask-warm", notebook), sets)
        left = cluster.leftovers()
        if left:
            sys.exit(f"processes left behind: {left}")
        all_trials.append({"local": local, "dask": cold, "dask_warm": warm, "load": os.getloadavg()[0]})
        print(f"trial {t + 1}: local {local:.1f} s, dask {cold:.1f} s, warm {warm:.1f} s "
              f"(load {all_trials[-1]['load']:.1f})", file=sys.stderr)
    med = {k: statistics.median(tr[k] for tr in all_trials) for k in ("local", "dask", "dask_warm")}
    # the ratio is paired: each trial's Dask batch against the local batch just before it
    # (a load spike from the other users of the box hits a trial, not one column)
    each = [tr["dask"] / tr["local"] for tr in all_trials]
    each_warm = [tr["dask_warm"] / tr["local"] for tr in all_trials]
    return {"runs": runs, "trials": all_trials, **med, "ratio": statistics.median(each),
            "ratio_warm": statistics.median(each_warm), "ratio_each": each}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--notebook", type=Path, default=DEFAULT_NOTEBOOK)
    ap.add_argument("--trials", type=int, default=3)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    r = compare(args.runs, args.notebook.resolve(), OUT / "work", args.trials)
    load = os.getloadavg()
    print(f"{r['runs']} runs of {args.notebook.name}, median of {args.trials} interleaved trials "
          f"(load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})\n")
    print("| executor | median wall s | per run s | vs local (median of paired trials) |")
    print("| --- | ---: | ---: | ---: |")
    rows = [("(a) local pool, `run_many(..., jobs=2)`", r["local"]),
            ("(b) Dask, 2 workers x 1 thread (fork servers start on first run)", r["dask"]),
            ("(c) Dask, same cluster, warm", r["dask_warm"])]
    ratios = [1.0, r["ratio"], r["ratio_warm"]]
    for (name, wall), ratio in zip(rows, ratios):
        print(f"| {name} | {wall:.1f} | {wall / r['runs']:.2f} | {ratio:.2f}x |")
    target = "met" if r["ratio"] <= 1.3 else "MISSED"
    each = ", ".join(f"{x:.2f}x (load {tr['load']:.0f})" for x, tr in zip(r["ratio_each"], r["trials"]))
    print(f"\ntarget (b) within 1.3x of (a): {target} ({r['ratio']:.2f}x; per trial {each})")
    (OUT / "results.json").write_text(json.dumps({**r, "load": load}, indent=1))


if __name__ == "__main__":
    main()
