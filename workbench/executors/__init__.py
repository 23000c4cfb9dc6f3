"""Many runs: the executor seam, a local process pool, Dask distributed.

:func:`get_executor` turns ``--executor`` / ``[workbench] executor`` into an
:class:`~workbench.executors.base.Executor`: ``None`` or ``"local"`` → the local pool
(:class:`~workbench.executors.local.LocalExecutor`), ``"dask://HOST:PORT"`` → a Dask
distributed cluster (``workbench.executors.dask``). Other names are handed on lazily.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..lazy import lazy

if TYPE_CHECKING:
    from .base import Executor

__getattr__, __dir__ = lazy(__name__, {"run_many": ".local", "LocalExecutor": ".local", "Executor": ".base",
                                      "DaskExecutor": ".dask"})
__all__ = ["run_many", "LocalExecutor", "DaskExecutor", "Executor", "get_executor", "check_spec"]


def check_spec(spec: str | None) -> str | None:
    """``spec`` if it names an executor we know how to make, else a UsageError naming the fix."""
    if spec is None or spec == "local":
        return spec
    if spec.startswith("dask://"):
        hostport = spec[len("dask://"):]
        host, sep, port = hostport.rpartition(":")
        if sep and host and port.isdigit():
            return spec
    raise UsageError(f"unknown executor {spec!r}; use local or dask://HOST:PORT (e.g. dask://127.0.0.1:8786)")


def get_executor(spec: str | None, *, jobs: int, root: str | os.PathLike[str], env: dict[str, str]) -> "Executor":
    """The executor ``spec`` names: ``None``/``"local"`` or ``"dask://host:port"``."""
    check_spec(spec)
    if spec is None or spec == "local":
        from .local import LocalExecutor

        return LocalExecutor(jobs, root, env)
    address = "tcp://" + spec[len("dask://"):]
    try:
        from .dask import DaskExecutor  # type: ignore[import-not-found]
    except ImportError as e:
        raise UsageError(f"dask executor not installed ({e}); install workbench with Dask support, "
                         "or use --executor local") from None
    return DaskExecutor(address=address, root=root, env=env)
