"""DataFrames in the caller's scope, found by the names a statement uses.

``wb.sql("select * from recent")`` finds ``recent`` among the caller's variables; the
magic hands the notebook's namespace, the explorer a snapshot of it. All of them pass a
frame-like object (``f_locals`` / ``f_globals``) to :func:`frame_tables`, which is the
only place the lookup happens.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

from ..sqltext import identifiers


class Namespace:
    """A stand-in for a frame: names are looked up in ``f_locals`` then ``f_globals``."""

    def __init__(self, f_locals: Mapping[str, Any], f_globals: Mapping[str, Any] | None = None):
        self.f_locals = f_locals
        self.f_globals = f_globals if f_globals is not None else {}


def is_frame_like(obj: Any) -> bool:
    """Whether the hub can scan ``obj`` as a table (pandas, Arrow, polars)."""
    import pyarrow as pa

    pd = sys.modules.get("pandas")  # not imported: nothing here is a pandas DataFrame
    return (pd is not None and isinstance(obj, pd.DataFrame)) or isinstance(
        obj, (pa.Table, pa.RecordBatch, pa.RecordBatchReader)) or (
        type(obj).__module__.startswith("polars") and type(obj).__name__ in ("DataFrame", "LazyFrame"))


def frame_tables(sql: str, frame) -> dict[str, Any]:
    """DataFrames (pandas, Arrow, polars) named in ``sql`` and defined in ``frame``."""
    if frame is None:
        return {}
    found = {}
    for name in identifiers(sql):
        obj = frame.f_locals.get(name, frame.f_globals.get(name))
        if obj is not None and is_frame_like(obj):
            found[name] = obj
    return found
