"""Sync and writes: OLTP into the warehouse or the lake, ``wb.load``, ``wb.export`` (names only)."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {
    "sync": ".incremental", "SyncResult": ".incremental", "load": ".load", "export": ".export",
    "WriteResult": ".warehouse",
})
__all__ = ["SyncResult", "WriteResult", "export", "load", "sync"]
