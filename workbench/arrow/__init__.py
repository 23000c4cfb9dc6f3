"""Data in motion: the one dtype policy and DB-API rows into typed Arrow batches (names only)."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {
    "normal_type": ".dtypes", "normalize": ".dtypes", "to_pandas": ".dtypes",
    "batches_from_cursor": ".rows", "collect": ".rows",
})
__all__ = ["batches_from_cursor", "collect", "normal_type", "normalize", "to_pandas"]
