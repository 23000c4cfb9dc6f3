"""Fingerprints of what a statement or a pipeline task reads, by name.

A reference is what a user writes in ``reads = [...]`` or in hub SQL: ``source.table``
(``app.photos``), ``source.schema.table``, a bare source name (the whole source), or a
lake dataset name (``events``). Each resolves to a source and asks its
:class:`~workbench.connectors.base.Fingerprintable` capability; a source without it, or
one that cannot tell, gives ``None`` ("unknown"), which every caller treats as changed.

:func:`statement_fingerprints` does the same for every table a SQL statement reads
(the result cache of ``wb.sql(..., cache=True)``): it finds them with
:func:`workbench.sqltext.reads` and answers ``None`` whenever it cannot be sure it
found them all.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..connectors.base import Fingerprintable
from ..errors import ConfigError
from ..sqltext import reads

#: a :class:`~workbench.query.session.Session` (not imported: the session calls this module)
Session = Any


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


def statement_inputs(session: "Session", query: str, source: str | None,
                     frames: Mapping[str, object] = {}) -> list[tuple[str, str | None]] | None:
    """``[(source, table)]`` for every table ``query`` reads, or ``None`` when that is
    not certain: the statement may write, reads a table function or a caller's
    DataFrame (``frames``), names nothing at all (``select now()``), or names a thing no
    source holds.

    On a source (``source="app"``) every name is one of its tables. On the hub,
    ``app.photos`` is table ``photos`` of source ``app``, a lake dataset's name is that
    dataset, and any other name is a table of the warehouse (the hub's search path).
    """
    dialect = session.source(source).dialect if source is not None else "ansi"
    found = reads(query, dialect)
    if found.writes or found.functions or not found.tables:
        return None
    config = session.config
    out: list[tuple[str, str | None]] = []
    for ref in found.tables:
        if source is not None:
            out.append((source, ref))
            continue
        head, dot, rest = ref.partition(".")
        if dot and head in config.sources:
            out.append((head, rest))
        elif not dot and ref in frames:
            return None
        elif not dot and ref in config.lake:
            lakes = [n for n, s in config.sources.items() if s.role == "lake"]
            if not lakes:
                return None
            out.append((lakes[0], ref))
        else:
            warehouses = [n for n, s in config.sources.items() if s.role == "warehouse"]
            if not warehouses:
                return None
            out.append((warehouses[0], ref))
    return sorted(set(out), key=lambda p: (p[0], p[1] or ""))


def statement_fingerprints(session: "Session", query: str, source: str | None,
                           frames: Mapping[str, object] = {}) -> dict[str, str] | None:
    """``{"source.table": token}`` for everything ``query`` reads, or ``None`` as soon as
    one input is uncertain (:func:`statement_inputs`) or its fingerprint unknown."""
    inputs = statement_inputs(session, query, source, frames)
    if inputs is None:
        return None
    tokens: dict[str, str] = {}
    for name, table in inputs:
        src = session.source(name)
        if not isinstance(src, Fingerprintable):
            return None
        token = src.fingerprint(table)
        if token is None:
            return None
        tokens[f"{name}.{table}" if table else name] = token
    return tokens
