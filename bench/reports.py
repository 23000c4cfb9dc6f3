"""Benchmark: 20 runs of the demo daily report, plain papermill CLI vs ``workbench run --grid``.

(a) a shell loop of the papermill CLI, one process and one cold kernel per run, no HTML;
(b) ``workbench run daily_report --grid day=... --grid top_n=5,10 --jobs 2``: the same 20
    runs, rendered to HTML, published and logged, over two workers whose kernels are
    forked from a warm fork server ahead of need.

Both in the same run of this script, on the same demo data. Reported: wall time of each,
the speed-up, the median per-run overhead (a run's time minus its cells' own execution
time, from papermill's per-cell metadata; for (a) a run is one papermill process, for
(b) one run as timed in the run log, its kernel having been started ahead), and page sizes (the daily report; a report
with 10 charts against plotly.js plus the figures' data).

    .venv/bin/python bench/reports.py [--scale 0.5] [--runs 20] [--jobs 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "reports"
BIN = Path(sys.executable).parent
END = dt.date(2026, 11, 14)


def cells_time(nb_path: Path) -> float:
    nb = nbformat.read(nb_path, as_version=4)
    return sum(c.metadata.get("papermill", {}).get("duration") or 0 for c in nb.cells if c.cell_type == "code")


def setup(scale: float, notebook: Path) -> Path:
    from workbench.demo import build

    project = OUT / "project"
    project.mkdir(parents=True, exist_ok=True)
    build(project, scale=scale, end_day=END, days=14, progress=False)
    (project / "workbench.toml").write_text(
        (ROOT / "workbench.toml").read_text().replace('"notebooks/daily_report.ipynb"', json.dumps(str(notebook))))
    shutil.rmtree(project / "reports", ignore_errors=True)
    return project


def run_papermill(project: Path, notebook: Path, sets: list[dict[str, str]]) -> tuple[float, list[float]]:
    out = OUT / "papermill"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    lines = []
    for i, s in enumerate(sets):
        args = " ".join(f"-p {k} {shlex.quote(v)}" for k, v in s.items())
        lines.append(f"s=$(date +%s.%N); papermill -k python3 --no-progress-bar {shlex.quote(str(notebook))} "
                     f"{out}/{i}.ipynb {args} >/dev/null 2>&1 || echo failed {i}; echo took {i} $s $(date +%s.%N)")
    script = "\n".join(["set -u", *lines])
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "WORKBENCH_CONFIG": str(project / "workbench.toml")}
    t = time.perf_counter()
    proc = subprocess.run(["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if "failed" in proc.stdout:
        sys.exit(f"papermill runs failed: {proc.stdout.strip()}")
    took = {int(i): float(end) - float(start) for _, i, start, end in
            (line.split() for line in proc.stdout.splitlines() if line.startswith("took"))}
    return wall, [took[i] - cells_time(out / f"{i}.ipynb") for i in range(len(sets))]


def run_workbench(project: Path, grid: list[str], jobs: int) -> tuple[float, list[float], list[Path]]:
    from workbench.reports.runlog import RunLog

    env = {**os.environ, "WORKBENCH_CONFIG": str(project / "workbench.toml")}
    cmd = [str(BIN / "workbench"), "run", "daily_report", *sum((["--grid", g] for g in grid), []), "--jobs", str(jobs)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"workbench run failed:\n{proc.stdout}\n{proc.stderr}")
    runs = RunLog(project / "reports" / "runlog.db").runs("daily_report")
    reports = project / "reports"
    overheads = [r.duration - cells_time(reports / r.notebook_path) for r in runs]
    return wall, overheads, [reports / r.report_path for r in runs]


def chart_page(project: Path) -> tuple[int, int, int]:
    """(page bytes, plotly.js bytes, figure data bytes) of a report with 10 charts."""
    from plotly.offline import get_plotlyjs

    from workbench.config import load_config
    from workbench.reports import run_report
    from workbench.reports.render import PLOTLY_MIME

    res = run_report(str(ROOT / "tests" / "notebooks" / "charts.ipynb"), {"n_charts": "10"},
                     config=load_config(project / "workbench.toml"), progress=False)
    nb = nbformat.read(res.notebook_path, as_version=4)
    data = sum(len(json.dumps(o["data"][PLOTLY_MIME]).encode()) for c in nb.cells for o in c.get("outputs", [])
               if PLOTLY_MIME in o.get("data", {}))
    return res.report_path.stat().st_size, len(get_plotlyjs().encode()), data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.5, help="demo data scale (0.5: ~150k log events)")
    ap.add_argument("--runs", type=int, default=20, choices=[10, 20], help="10 days x top_n=5,10 -> 20 runs")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / "daily_report.ipynb")
    args = ap.parse_args()
    notebook = args.notebook.resolve()
    project = setup(args.scale, notebook)
    days = args.runs // 2
    first = END - dt.timedelta(days=days - 1)
    sets = [{"day": (first + dt.timedelta(days=i)).isoformat(), "top_n": n} for i in range(days) for n in ("5", "10")]
    grid = [f"day={first.isoformat()}..{END.isoformat()}", "top_n=5,10"]

    print(f"{len(sets)} runs of {notebook.name}, demo scale {args.scale}, {os.cpu_count()} cores", flush=True)
    a_wall, a_over = run_papermill(project, notebook, sets)
    print(f"(a) papermill CLI loop        {a_wall:7.1f} s", flush=True)
    b_wall, b_over, pages = run_workbench(project, grid, args.jobs)
    print(f"(b) workbench run --grid -j{args.jobs}  {b_wall:7.1f} s  (with HTML)", flush=True)
    page, plotly_js, data = chart_page(project)
    result = {
        "runs": len(sets), "jobs": args.jobs, "cores": os.cpu_count(), "scale": args.scale,
        "a_papermill_s": round(a_wall, 2), "b_workbench_s": round(b_wall, 2), "speedup": round(a_wall / b_wall, 2),
        "a_median_overhead_s": round(statistics.median(a_over), 3),
        "b_median_overhead_s": round(statistics.median(b_over), 3),
        "daily_report_html_bytes": int(statistics.median(p.stat().st_size for p in pages)),
        "charts10_html_bytes": page, "plotly_js_bytes": plotly_js, "charts10_data_bytes": data,
        "charts10_ratio": round(page / (plotly_js + data), 3),
    }
    print(f"speed-up (a)/(b): {result['speedup']}x")
    print(f"median per-run overhead over the cells' own time: (a) {result['a_median_overhead_s']} s, "
          f"(b) {result['b_median_overhead_s']} s (b: kernel started ahead; includes HTML render and publish)")
    print(f"daily report page: {result['daily_report_html_bytes'] / 1e6:.2f} MB; 10-chart page: {page / 1e6:.2f} MB "
          f"= {result['charts10_ratio']} x (plotly.js {plotly_js / 1e6:.2f} MB + data {data / 1e3:.0f} kB)")
    (OUT / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
