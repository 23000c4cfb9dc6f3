"""The default Session behind ``wb.sql`` and friends, rebuilt when the config changes.

Keyed by the config file's path and mtime (or the working directory without one), so
editing ``workbench.toml`` in a running notebook takes effect on the next call.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, TypeVar

from ..config import Config

S = TypeVar("S")

_default = None
_default_key: tuple | None = None
_lock = threading.Lock()


def _key() -> tuple:
    from ..config import find_config

    path = find_config()
    if path is None:
        return (None, str(Path.cwd()))
    return (str(path), path.stat().st_mtime_ns)


def current(factory: Callable[[Config | str | Path | None], S]) -> S:
    """The default object (made by ``factory(None)``), rebuilt when the config file changes
    or when the one there is not a ``factory`` (the notebook layer asks for a Session, the
    facade for a Workbench, which is a Session too)."""
    global _default, _default_key
    with _lock:
        key = _key()
        stale = key != _default_key and _default_key != ("explicit",)
        if _default is None or stale or not isinstance(_default, factory):
            if _default is not None:
                _default.close()
            _default = factory(None)
            _default_key = key
        return _default


def use(factory: Callable[[Config | str | Path | None], S], config: Config | str | Path | None = None) -> S:
    """Make the object of ``config`` the default."""
    global _default, _default_key
    with _lock:
        if _default is not None:
            _default.close()
        _default = factory(config)
        _default_key = ("explicit",) if config is not None else _key()
        return _default


def reset() -> None:
    """Forget the default (closing its connections)."""
    global _default, _default_key
    with _lock:
        if _default is not None:
            _default.close()
        _default, _default_key = None, None


def session():
    """The default :class:`~workbench.query.session.Session` (a Workbench if the facade made it)."""
    from .session import Session

    return current(Session)
