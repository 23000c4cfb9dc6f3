"""Benchmark: how fast the command line starts, and a single run against the papermill CLI.

Each command runs as a user runs it (a subprocess, in a scratch project holding the demo
data), ``--runs`` times, interleaved with its reference in the same round, so both see the
same machine load:

| command | reference | target |
| --- | --- | --- |
| ``workbench --help`` | ``python -c pass`` | under 0.4 s |
| ``workbench params daily_report`` | ``python -c pass`` | under 0.4 s |
| ``workbench sql app "select count(*) from photos"`` | the ``sqlite3`` CLI | under 0.8 s |
| ``workbench run one.ipynb`` (HTML, run log, index) | ``papermill one.ipynb out.ipynb`` | at most 1.0x |

The one-cell notebook has a parameters cell ``msg = "hi"`` and a cell ``print(msg)``.
The checkout this file belongs to is the one measured (``PYTHONPATH`` points at it).

    .venv/bin/python bench/cli.py [--runs 5] [--scale 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
END_DAY = "2026-11-14"

ONE_CELL = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "parameters", "metadata": {"tags": ["parameters"]},
         "outputs": [], "source": ['msg = "hi"']},
        {"cell_type": "code", "execution_count": None, "id": "print", "metadata": {}, "outputs": [],
         "source": ["print(msg)"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "WORKBENCH_CONFIG"}
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def wb(*args: str) -> list[str]:
    return [sys.executable, "-m", "workbench", *args]


def papermill() -> list[str]:
    exe = BIN / "papermill"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "papermill"]


def sqlite3_cli() -> str | None:
    found = shutil.which("sqlite3")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("installing Debian's sqlite3 CLI (the reference for `workbench sql`) ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "sqlite3"], check=False, capture_output=True)
    return shutil.which("sqlite3")


def setup(project: Path, scale: float) -> None:
    shutil.copy(ROOT / "workbench.toml", project / "workbench.toml")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    (project / "one.ipynb").write_text(json.dumps(ONE_CELL, indent=1), encoding="utf-8")
    subprocess.run(wb("demo", "--scale", str(scale), "--end-day", END_DAY), cwd=project, env=env(),
                   check=True, capture_output=True)


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of each command and of its reference (default 5)")
    ap.add_argument("--scale", type=float, default=0.2, help="demo data scale (default 0.2)")
    args = ap.parse_args()

    sqlite3 = sqlite3_cli()
    with tempfile.TemporaryDirectory(prefix="wb-bench-cli-") as tmp:
        project = Path(tmp)
        setup(project, args.scale)
        count = "select count(*) from photos"
        cases = [  # label, command, reference label, reference, target (absolute seconds or ratio)
            ("workbench --help", wb("--help"), "python -c pass", [sys.executable, "-c", "pass"], ("s", 0.4)),
            ("workbench params daily_report", wb("params", "daily_report"), "python -c pass",
             [sys.executable, "-c", "pass"], ("s", 0.4)),
            (f'workbench sql app "{count}"', wb("sql", "app", count),
             "sqlite3 CLI" if sqlite3 else "(no sqlite3 CLI)",
             [sqlite3, str(project / "data" / "app.db"), count] if sqlite3 else None, ("s", 0.8)),
            ("workbench run one.ipynb", wb("run", "one.ipynb"), "papermill CLI",
             [*papermill(), "one.ipynb", str(project / "out.ipynb")], ("x", 1.0)),
        ]
        times: dict[str, list[float]] = {c[0]: [] for c in cases}
        refs: dict[str, list[float]] = {c[0]: [] for c in cases}
        for label, cmd, _, ref, _ in cases:  # one warm-up round: page cache, .pyc files
            timed(cmd, project)
            if ref:
                timed(ref, project)
        for i in range(args.runs):
            for label, cmd, _, ref, _ in cases:
                # alternate which goes first, so neither always follows the other
                order = [(times, cmd), (refs, ref)] if i % 2 == 0 else [(refs, ref), (times, cmd)]
                for into, c in order:
                    if c:
                        into[label].append(timed(c, project))

    rows = []
    for label, _, ref_label, ref, (kind, target) in cases:
        med, low = statistics.median(times[label]), min(times[label])
        ref_med = statistics.median(refs[label]) if refs[label] else None
        ratio = med / ref_med if ref_med else None
        met = med < target if kind == "s" else (ratio is not None and ratio <= target)
        rows.append((label, f"{med:.2f}", f"{low:.2f}", f"{ref_label} {ref_med:.3f}" if ref_med else ref_label,
                     f"{ratio:.1f}x" if ratio else "-", f"< {target} s" if kind == "s" else f"<= {target}x",
                     "yes" if met else "no"))
    head = ("command", "median s", "min s", "reference median s", "ratio", "target", "met?")
    print(f"{args.runs} runs each, interleaved with the reference; demo scale {args.scale}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("| " + " | ".join(head) + " |")
    print("| --- | ---: | ---: | --- | ---: | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
