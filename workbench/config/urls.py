"""The two parts of a database URL that every command needs, without importing SQLAlchemy.

Building a Session reads each source's backend name (which class serves it) and, for the
file kinds (SQLite, DuckDB), its database path; validating ``workbench.toml`` checks each
URL. SQLAlchemy's ``make_url`` answers all of that, but importing it costs about 0.4 s,
more than the rest of ``workbench sql app ...`` on SQLite. :func:`parse` applies the very
pattern ``sqlalchemy.engine.url._parse_url`` applies (same groups, same unquoting), so
the answers are the same; anything it does not match exactly is left to SQLAlchemy.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import unquote

# sqlalchemy/engine/url.py, _parse_url (SQLAlchemy 2.1): keep in step with it.
_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
        """,
    re.X,
)

#: backends whose dialect ships with SQLAlchemy and needs no driver package: a URL of
#: these (without ``+driver``) can be checked without loading the dialect
BUILTIN_FILE_BACKENDS = ("sqlite", "duckdb")


class Parts(NamedTuple):
    drivername: str
    database: str | None
    has_port: bool


def parse(url: str) -> Parts | None:
    """``(drivername, database, has_port)`` as SQLAlchemy reads them, or ``None`` if it would not."""
    m = _URL.match(url)
    if m is None:
        return None
    db = m.group("database")
    return Parts(m.group("name"), unquote(db) if db is not None else None, bool(m.group("port")))


def backend_name(url: str) -> str:
    """SQLAlchemy's ``make_url(url).get_backend_name()``."""
    parts = parse(url)
    if parts is None or parts.has_port:  # the errors (and port checks) are SQLAlchemy's to give
        from sqlalchemy.engine import make_url

        return make_url(url).get_backend_name()
    return parts.drivername.split("+")[0]


def database(url: str) -> str | None:
    """SQLAlchemy's ``make_url(url).database``."""
    parts = parse(url)
    if parts is None or parts.has_port:
        from sqlalchemy.engine import make_url

        return make_url(url).database
    return parts.database


def is_plain_file_url(url: str) -> bool:
    """A ``sqlite://`` or ``duckdb://`` URL that SQLAlchemy reads without complaint and
    without loading a driver: checking it needs no SQLAlchemy."""
    parts = parse(url)
    return parts is not None and not parts.has_port and parts.drivername in BUILTIN_FILE_BACKENDS


#: URL schemes of object stores: a lake there, not a database (storage.remote reads them)
OBJECT_SCHEMES = ("s3",)


def is_object_url(url: str) -> bool:
    """An ``s3://bucket/prefix`` URL: a lake in an object store, not a database URL."""
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.lower() in OBJECT_SCHEMES
