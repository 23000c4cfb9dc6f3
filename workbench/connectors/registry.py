"""Which class serves a URL: the one place that maps a kind to its code.

Third-party kinds register a class under the entry-point group ``workbench.connectors``
(name = the SQLAlchemy backend name, e.g. ``trino``); without one, any SQLAlchemy URL
gets the generic path.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from ..config import SourceConfig
from ..config.urls import backend_name, is_object_url
from .base import Source

#: backend name -> "module:Class", imported on first use (drivers are heavy)
BUILTIN = {
    "sqlite": "workbench.connectors.sqlite:SqliteSource",
    "postgresql": "workbench.connectors.postgres:PostgresSource",
    "mysql": "workbench.connectors.mysql:MysqlSource",
    "mariadb": "workbench.connectors.mysql:MysqlSource",
    "duckdb": "workbench.connectors.warehouse:WarehouseSource",
    "lake": "workbench.connectors.lake:LakeSource",
    "generic": "workbench.connectors.generic:GenericSource",
}
GROUP = "workbench.connectors"


def backend_of(url: str) -> str:
    """SQLAlchemy's backend name of ``url`` (``postgresql``, ``mysql``, ...); ``lake`` for a path or an ``s3://`` prefix."""
    if "://" not in url or is_object_url(url):
        return "lake"
    return backend_name(url)


def _load(ref: str) -> type[Source]:
    module, _, name = ref.partition(":")
    return getattr(import_module(module), name)


def source_class(url: str) -> type[Source]:
    backend = backend_of(url)
    if backend in BUILTIN:
        return _load(BUILTIN[backend])
    for ep in entry_points(group=GROUP):
        if ep.name == backend:
            return ep.load()
    return _load(BUILTIN["generic"])


def make_source(cfg: SourceConfig) -> Source:
    return source_class(cfg.url)(cfg)
