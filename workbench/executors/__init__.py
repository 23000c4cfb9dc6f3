"""Many runs: a local process pool today, Dask distributed next (names only)."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {"run_many": ".local"})
__all__ = ["run_many"]
