"""Pipeline runs on the local pool and on Dask: the first, a second with nothing changed,
and one after one changed row of the OLTP source.

The project is the pipeline tests' (tests/pipeline/project.py: three SQL tasks and a
notebook task on a DuckDB warehouse and a Parquet lake) plus a branch that reads the
SQLite app source: ``photo_copy`` (SQL, reads ``app.photos``) and ``photo_nb`` (a
notebook on the copy), so the changed row re-runs a notebook on the executor under test.
Run in this process through :func:`workbench.pipeline.run_pipeline`, ``--jobs 2``,
each trial in a fresh folder. ``--executor dask`` starts a Dask scheduler and two
workers on loopback (tests/support/dask_cluster.py, the tests' own cluster) and passes
``dask://127.0.0.1:PORT``; ``--executor both`` (the default) runs local then Dask and
prints them side by side. The ratio that matters is first / unchanged (target >= 10x,
unchanged < 2 s); SQL tasks run in the runner's process whichever the executor, so the
executors differ only in the notebook tasks.

    PYTHONPATH=$PWD .venv/bin/python bench/pipeline.py [--trials 3] [--executor local|dask|both]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipeline.project import add_task, make_project  # noqa: E402
from workbench.config import load_config  # noqa: E402
from workbench.pipeline import run_pipeline  # noqa: E402

LABELS = ("first", "unchanged", "one changed row")


def project(root: Path):
    cfg = make_project(root)
    add_task(root, "photo_copy", sql="select id, title from app.photos", reads=["app.photos"],
             writes=["warehouse.photo_copy"])
    out = str(root / "data" / "lake" / "photo_summary.parquet")
    code = ("import workbench as wb\n"
            "df = wb.sql('select count(*) as photos, string_agg(title, \\',\\' order by id) as titles "
            "from warehouse.photo_copy')\n"
            f"df.to_parquet({out!r})\n")
    add_task(root, "photo_nb", notebook=code, lake="photo_summary", reads=["warehouse.photo_copy"],
             writes=["photo_summary"])
    return load_config(cfg)


def trial(executor: str | None) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    cfg = project(root)
    out = {}
    for label in LABELS:
        if label == "one changed row":
            with sqlite3.connect(root / "data" / "app.db") as db:
                db.execute("update photos set title = 'changed' where id = 1")
        t = time.perf_counter()
        res = run_pipeline(cfg, "demo", jobs=2, executor=executor)
        out[label] = time.perf_counter() - t
        assert res.ok, [(r.name, r.status, r.error) for r in res.tasks]
        ran = {r.name for r in res.tasks if r.status == "ran"}
        if label == "unchanged":
            assert not ran, ran
        elif label == "one changed row":
            assert ran == {"photo_copy", "photo_nb"}, ran
    return out


def measure(name: str, trials: int) -> list[dict[str, float]]:
    if name == "local":
        return [trial("local") for _ in range(trials)]
    from tests.support.dask_cluster import LocalDaskCluster

    with LocalDaskCluster(Path(tempfile.mkdtemp(prefix="bench-pipeline-dask-")), workers=2) as cluster:
        spec = "dask://" + cluster.address[len("tcp://"):]
        return [trial(spec) for _ in range(trials)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--executor", choices=("local", "dask", "both"), default="both")
    a = ap.parse_args()
    names = ("local", "dask") if a.executor == "both" else (a.executor,)
    runs = {n: measure(n, a.trials) for n in names}
    med = {n: {lb: statistics.median(r[lb] for r in rs) for lb in LABELS} for n, rs in runs.items()}
    print(f"{'run':>18} | " + " | ".join(f"{n + ' median s':>16}" for n in names)
          + (" | dask / local" if len(names) == 2 else ""))
    for lb in LABELS:
        cells = " | ".join(f"{med[n][lb]:16.2f}" for n in names)
        ratio = f" | {med['dask'][lb] / med['local'][lb]:12.2f}x" if len(names) == 2 else ""
        print(f"{lb:>18} | {cells}{ratio}")
    for n, rs in runs.items():
        first_unchanged = statistics.median(r["first"] / r["unchanged"] for r in rs)
        first_row = statistics.median(r["first"] / r["one changed row"] for r in rs)
        print(f"{n}: first / unchanged {first_unchanged:.1f}x, first / one changed row {first_row:.1f}x; trials: "
              + "; ".join(", ".join(f"{r[lb]:.2f}" for lb in LABELS) for r in rs))


if __name__ == "__main__":
    main()
