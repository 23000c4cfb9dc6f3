"""Fingerprints of what a statement or a pipeline task reads, by name.

A reference is what a user writes in ``reads = [...]`` or in hub SQL: ``source.table``
(``app.photos``), ``source.schema.table``, a bare source name (the whole source), or a
lake dataset name (``events``). Each resolves to a source and asks its
:class:`~workbench.connectors.base.Fingerprintable` capability; a source without it, or
one that cannot tell, gives ``None`` ("unknown"), which every caller treats as changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..connectors.base import Fingerprintable
from ..errors import ConfigError

if TYPE_CHECKING:
    from .session import Session


def resolve(session: "Session", ref: str) -> tuple[str, str | None]:
    """``(source name, table or None)`` for ``ref``; ConfigError naming the known names."""
    config = session.config
    if ref in config.lake:
        lakes = [n for n, s in config.sources.items() if s.role == "lake"]
        if lakes:
            return lakes[0], ref
    head, _, rest = ref.partition(".")
    if head in config.sources:
        return head, (rest or None)
    known = sorted(set(config.sources) | set(config.lake))
    raise ConfigError(
        f"{ref!r} names no source or lake dataset; write source.table (known: {', '.join(known)})"
    )


def fingerprint(session: "Session", ref: str) -> str | None:
    """The fingerprint of the data behind ``ref``, or ``None`` when unknown."""
    name, table = resolve(session, ref)
    src = session.source(name)
    if not isinstance(src, Fingerprintable):
        return None
    return src.fingerprint(table)
