"""Run or skip: a task runs when something its last success depended on is different now.

:func:`decide` compares the fingerprints of the task's last success (from the run log)
with the current ones, in this order, and gives the first reason it finds:

1. ``forced`` (``--force``);
2. ``never succeeded``;
3. ``code changed`` (normalized code: markdown and comments do not count);
4. ``parameter day changed`` (also: added, removed);
5. for each read another task writes: ``upstream photo_metadata wrote new data`` when
   that task's output fingerprint differs from the one this task consumed, or
   ``upstream photo_metadata's output is unknown`` when it cannot be read;
6. for each other read: ``app.photos changed``, or ``input fingerprint unknown:
   app.photos`` when the source cannot tell (unknown means changed);
7. ``output warehouse.x changed since it was written`` (or missing): someone else
   wrote or dropped it.

Otherwise the task is skipped with ``unchanged since run RUN``. The early cut-off
falls out of step 5: an upstream that re-ran but wrote the same content keeps its
output fingerprint, so its dependants skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Current:
    """What a task depends on now: ``code``, ``param:NAME``, ``read:REF`` (None: unknown)."""

    code: str
    params: dict[str, str]
    reads: dict[str, str | None]            # ref -> fingerprint; upstream outputs included
    upstream: dict[str, str] = field(default_factory=dict)   # ref -> the task that writes it

    def fingerprints(self) -> dict[str, str | None]:
        return {"code": self.code, **{f"param:{k}": v for k, v in self.params.items()},
                **{f"read:{k}": v for k, v in self.reads.items()}}


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str


def decide(last: dict[str, str], now: Current, *, forced: bool = False,
           outputs: dict[str, str | None] | None = None) -> Decision:
    """Run or skip, with the reason; ``last`` is :meth:`PipelineLog.last_success`, ``outputs``
    the current content fingerprints of the task's writes (checked last; None: not checked)."""
    if forced:
        return Decision(True, "forced")
    if not last:
        return Decision(True, "never succeeded")
    if last.get("code") != now.code:
        return Decision(True, "code changed")
    before = {k[len("param:"):]: v for k, v in last.items() if k.startswith("param:")}
    for name in sorted(set(before) | set(now.params)):
        if name not in before:
            return Decision(True, f"parameter {name} added")
        if name not in now.params:
            return Decision(True, f"parameter {name} removed")
        if before[name] != now.params[name]:
            return Decision(True, f"parameter {name} changed")
    for ref, fp in now.reads.items():
        up = now.upstream.get(ref)
        if fp is None:
            return Decision(True, f"upstream {up}'s output {ref} is unknown" if up
                            else f"input fingerprint unknown: {ref}")
        if last.get(f"read:{ref}") != fp:
            return Decision(True, f"upstream {up} wrote new data" if up else f"{ref} changed")
    for ref, fp in (outputs or {}).items():
        if fp is None:
            return Decision(True, f"output {ref} is missing")
        if last.get(f"wrote:{ref}") != fp:
            return Decision(True, f"output {ref} changed since it was written")
    return Decision(False, f"unchanged since run {last.get('run', '?')}")
