"""Pipeline runs: the first, a second with nothing changed, and one after a parameter change.

The project is the pipeline tests' (tests/pipeline/project.py: three SQL tasks and a
notebook task on a DuckDB warehouse and a Parquet lake), run in this process through
:func:`workbench.pipeline.run_pipeline` on the local pool, three trials each in a fresh
folder. The ratio that matters is first / unchanged (target >= 10x, unchanged < 2 s).

    PYTHONPATH=$PWD .venv/bin/python bench/pipeline.py [--trials 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipeline.project import make_project  # noqa: E402
from workbench.config import load_config  # noqa: E402
from workbench.pipeline import run_pipeline  # noqa: E402


def trial() -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    cfg = load_config(make_project(root))
    out = {}
    for label, kw in (("first", {}), ("unchanged", {}), ("parameter changed", {"params": {"n": "3"}})):
        t = time.perf_counter()
        res = run_pipeline(cfg, "demo", jobs=2, **kw)
        out[label] = time.perf_counter() - t
        assert res.ok, [(r.name, r.status, r.error) for r in res.tasks]
        if label == "unchanged":
            assert {r.status for r in res.tasks} == {"skipped"}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=3)
    n = ap.parse_args().trials
    runs = [trial() for _ in range(n)]
    for label in runs[0]:
        med = statistics.median(r[label] for r in runs)
        print(f"{label:>18}: median {med:6.2f} s  ({', '.join(f'{r[label]:.2f}' for r in runs)})")
    ratio = statistics.median(r["first"] / r["unchanged"] for r in runs)
    print(f"first / unchanged: {ratio:.1f}x")


if __name__ == "__main__":
    main()
