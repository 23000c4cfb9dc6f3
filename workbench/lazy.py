"""Names a package hands on, imported on first use.

A package's ``__init__`` runs whenever any of its modules is imported, so an eager
``from .hub import Hub`` there would make ``import workbench.connectors.base`` load
DuckDB. Commands and report kernels must start fast: packages hand names on lazily.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps a name to its submodule."""
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module if not module.startswith(".") else package + module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
