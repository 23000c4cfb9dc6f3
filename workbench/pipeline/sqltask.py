"""A SQL task: one statement on the hub, its result written to the task's one ``writes``.

The statement runs through a :class:`~workbench.query.session.Session` of its own (the
runner's session is busy with fingerprints meanwhile), with bound parameters only. The
result goes to:

- ``warehouse.TABLE``: :func:`workbench.syncing.load.load`, one DuckDB transaction (the
  old table stays until the new one is complete);
- a lake dataset whose path is one ``.parquet`` file: streamed into a temp file beside
  it, fsynced and renamed over it (:mod:`workbench.storage.atomic`), so a reader (or a
  runner killed mid-write) sees the old file or the new one, never a part.

Either way the runner records the task's success only after this returns, so a crash
between the write and the record re-runs the task, which rewrites the same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..reports.faults import crash_point
from ..sqltext import placeholders

GLOB = set("*?[")


@dataclass(frozen=True)
class SqlJob:
    """What a worker thread needs to run one SQL task (plain data)."""

    task: str
    statement: str
    params: dict[str, Any]
    target: str
    timeout: float | None


def parameter_names(statement: str) -> list[str]:
    seen: list[str] = []
    for p in placeholders(statement):
        if p.name not in seen:
            seen.append(p.name)
    return seen


def lake_file(config: Config, ref: str) -> Path | None:
    """The one Parquet file a SQL task writes for lake dataset ``ref``; None if ``ref`` is not one."""
    ds = config.lake.get(ref)
    if ds is None:
        return None
    if GLOB & set(ds.path) or not ds.path.lower().endswith(".parquet"):
        raise ConfigError(f"lake.{ref}.path is {ds.path!r}; a SQL task writes one file: give the dataset the path "
                          "of one .parquet file (e.g. data/lake/training/training_set.parquet)")
    return config.resolve(ds.path)


def check_target(config: Config, ref: str, where: str) -> None:
    """ConfigError unless a SQL task can write ``ref`` (warehouse.TABLE or a one-file Parquet dataset)."""
    if lake_file(config, ref) is not None:
        return
    head, _, table = ref.partition(".")
    src = config.sources.get(head)
    if src is None or src.role != "warehouse" or not table or "." in table:
        raise ConfigError(f"{where}: a SQL task writes warehouse.TABLE or a [lake.NAME] dataset of one .parquet "
                          f"file, not {ref!r}")


def run_sql(config: Config, job: SqlJob) -> int:
    """Run ``job`` and write its result; the number of rows written."""
    from ..arrow.rows import collect
    from ..query.session import Session

    with Session(config) as session:
        batches = session.sql_batches(job.statement, params=job.params, timeout=job.timeout)
        out = lake_file(config, job.target)
        if out is None:
            from ..syncing.load import load

            rows = load(session, collect(batches), job.target).rows
        else:
            rows = _write_parquet(batches, out)
    crash_point("task-written")
    return rows


def _write_parquet(batches, out: Path) -> int:
    """Stream ``batches`` into ``out`` beside it and rename (an empty result: a file with the columns)."""
    import pyarrow.parquet as pq

    from ..storage import atomic

    it = iter(batches)
    first = next(it, None)
    if first is None:
        raise ConfigError(f"the statement returned no columns; {out.name} needs a result to write")
    rows = 0
    with atomic.writing(out) as tmp:
        with pq.ParquetWriter(tmp, first.schema) as writer:
            for b in _chain(first, it):
                writer.write_batch(b if b.schema == first.schema else b.cast(first.schema))
                rows += b.num_rows
        crash_point("task-writing")
    return rows


def _chain(first, rest):
    yield first
    yield from rest
