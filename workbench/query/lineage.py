"""Which sources a statement used, told to whoever listens (a report's kernel does).

The query layer knows nothing of reports: it announces the sources each statement
touches, and a running report subscribes to list them in its header. Announcing costs
nothing when nobody listens.
"""

from __future__ import annotations

from typing import Callable

from ..config import Config
from ..sqltext import identifiers

_subscribers: list[Callable[[str], None]] = []


def subscribe(fn: Callable[[str], None]) -> None:
    """Call ``fn(source_name)`` for every source a statement uses from now on."""
    if fn not in _subscribers:
        _subscribers.append(fn)


def unsubscribe(fn: Callable[[str], None]) -> None:
    if fn in _subscribers:
        _subscribers.remove(fn)


def used_sources(config: Config, query: str, source: str | None) -> list[str]:
    """The configured sources ``query`` reads: ``source`` itself, or on the hub the source
    and lake dataset names it mentions (unqualified names resolve to the warehouse)."""
    if source is not None:
        return [source]
    words = identifiers(query)
    used = {n for n in config.sources if n in words}
    if any(ds in words for ds in config.lake):
        used.update(n for n, s in config.sources.items() if s.role == "lake")
    if not used:
        used = {n for n, s in config.sources.items() if s.role == "warehouse"}
    return sorted(used)


def announce(config: Config, query: str, source: str | None) -> None:
    if not _subscribers:
        return
    for name in used_sources(config, query, source):
        for fn in list(_subscribers):
            fn(name)
