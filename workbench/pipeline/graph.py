"""A pipeline's tasks and edges, from ``[pipelines.NAME]`` in workbench.toml.

An edge ``A -> B`` means B needs A: B names A in ``needs``, or B ``reads`` something A
``writes`` (the usual way: say what a task reads and writes, and the order follows).
Everything a task reads or writes must name a source table (``app.photos``,
``warehouse.photo_metadata``), a source, or a lake dataset, so a typo is found before
anything runs. Every problem is one :class:`~workbench.errors.ConfigError` line naming
the key to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, PipelineConfig
from ..errors import ConfigError
from .sqltask import check_target


@dataclass(frozen=True)
class Task:
    """One node: a notebook or a SQL file, and what it reads and writes."""

    name: str
    kind: str                 # "notebook" | "sql"
    path: Path                # resolved against the project root
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    needs: frozenset[str]     # every upstream task: explicit needs plus the writers of what it reads
    parameters: dict
    retries: int
    retry_delay: float
    timeout: float | None


@dataclass
class Graph:
    """The tasks of one pipeline in a topological order (ties in config order)."""

    pipeline: PipelineConfig
    tasks: dict[str, Task]                      # topological order
    writer: dict[str, str] = field(default_factory=dict)   # ref -> the task that writes it

    @property
    def name(self) -> str:
        return self.pipeline.name

    @property
    def order(self) -> list[str]:
        return list(self.tasks)

    def edges(self) -> list[tuple[str, str]]:
        """``(upstream, downstream)`` pairs, in topological order of the downstream."""
        return [(up, t.name) for t in self.tasks.values() for up in sorted(t.needs, key=self.order.index)]

    def dependants(self, name: str) -> list[str]:
        """Every task downstream of ``name`` (transitively), in topological order."""
        down: set[str] = {name}
        for t in self.tasks.values():
            if t.needs & down:
                down.add(t.name)
        return [n for n in self.order if n in down and n != name]

    def upstream(self, name: str) -> list[str]:
        """Every task ``name`` depends on (transitively), in topological order."""
        up: set[str] = set()
        todo = [name]
        while todo:
            for n in self.tasks[todo.pop()].needs:
                if n not in up:
                    up.add(n)
                    todo.append(n)
        return [n for n in self.order if n in up]

    def check_tasks(self, names: list[str], option: str) -> list[str]:
        """``names`` if each is a task of this pipeline, else one line naming the known ones."""
        for n in names:
            if n not in self.tasks:
                raise ConfigError(f"{option} {n}: pipeline {self.name!r} has no task {n!r}; its tasks are: "
                                  f"{', '.join(self.order)}")
        return names


def ref_known(config: Config, ref: str) -> bool:
    """Whether ``ref`` names a lake dataset, a source, or a table of a source."""
    return ref in config.lake or ref.partition(".")[0] in config.sources


def build(config: Config, name: str) -> Graph:
    """The graph of pipeline ``name``; ConfigError for an unknown task, ref, a double writer or a cycle."""
    pc = config.pipeline(name)
    where = f"pipelines.{name}.tasks"
    writer: dict[str, str] = {}
    for t in pc.tasks.values():
        for ref in t.writes:
            if not ref_known(config, ref):
                raise ConfigError(f"{where}.{t.name}.writes: {ref!r} names no source or lake dataset; write "
                                  "warehouse.TABLE or the name of a [lake.NAME] dataset")
            if ref in writer:
                raise ConfigError(f"{where}.{t.name}.writes: {ref!r} is already written by task {writer[ref]!r}; "
                                  "one task writes each output, rename one")
            writer[ref] = t.name
        if t.kind == "sql":
            check_target(config, t.writes[0], f"{where}.{t.name}.writes")
    needs: dict[str, set[str]] = {}
    for t in pc.tasks.values():
        for ref in t.reads:
            if ref not in writer and not ref_known(config, ref):
                known = sorted(set(config.sources) | set(config.lake) | set(writer))
                raise ConfigError(f"{where}.{t.name}.reads: {ref!r} names no source, lake dataset or task output; "
                                  f"write source.table (known: {', '.join(known)})")
        for n in t.needs:
            if n not in pc.tasks:
                raise ConfigError(f"{where}.{t.name}.needs: no task {n!r} in pipeline {name!r}; its tasks are: "
                                  f"{', '.join(pc.tasks)}")
            if n == t.name:
                raise ConfigError(f"{where}.{t.name}.needs: a task cannot need itself; remove {n!r}")
        derived = {writer[r] for r in t.reads if r in writer and writer[r] != t.name}
        needs[t.name] = set(t.needs) | derived
    order = _topological(needs, list(pc.tasks), name)
    tasks = {}
    for n in order:
        t = pc.tasks[n]
        tasks[n] = Task(
            name=n, kind=t.kind, path=config.resolve(t.path), reads=tuple(t.reads), writes=tuple(t.writes),
            needs=frozenset(needs[n]), parameters=dict(t.parameters),
            retries=pc.retries if t.retries is None else t.retries,
            retry_delay=pc.retry_delay if t.retry_delay is None else t.retry_delay,
            timeout=t.timeout if t.timeout is not None else pc.timeout,
        )
    return Graph(pc, tasks, writer)


def _topological(needs: dict[str, set[str]], names: list[str], pipeline: str) -> list[str]:
    """Kahn's order, ties in config order; a cycle is named task by task."""
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(names):
        ready = [n for n in names if n not in done and needs[n] <= done]
        if not ready:
            cycle = _cycle(needs, [n for n in names if n not in done])
            raise ConfigError(f"pipelines.{pipeline}: the tasks {' -> '.join(cycle)} form a cycle; remove one of "
                              "the needs (or the reads of another task's writes) that closes it")
        order.append(ready[0])
        done.add(ready[0])
    return order


def _cycle(needs: dict[str, set[str]], left: list[str]) -> list[str]:
    """One cycle among ``left`` (every one of them is on or behind a cycle), as a path back to its start."""
    path: list[str] = []
    n = left[0]
    while n not in path:
        path.append(n)
        n = sorted(needs[n] & set(left), key=left.index)[0]
    cycle = path[path.index(n):] + [n]
    return list(reversed(cycle))  # upstream first: a -> b means b needs a
