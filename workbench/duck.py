"""DuckDB extensions, loaded offline from the pinned PyPI packages.

DuckDB would download ``postgres``/``mysql``/``sqlite`` from its extension repository
on first use; that is a network fetch at run time, which workbench never does. The
packages ``duckdb-extension-postgres`` (and ``-mysql``, ``-sqlite``) ship the binary
for exactly our DuckDB version. DuckDB derives the init symbol from the file name and
the scanner binaries are built as ``<name>_scanner``, so each file is linked under that
name in a small cache folder and loaded from there by path. ``httpfs`` (``s3://`` for
the lake, from ``duckdb-extension-httpfs``) is built under its own name.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import duckdb

from .sqltext import quote_literal
from .errors import ExtensionError

# The extensions workbench loads, by DuckDB's name -> (PyPI package, module).
PACKAGES = {
    "postgres": ("duckdb-extension-postgres", "duckdb_extension_postgres"),
    "mysql": ("duckdb-extension-mysql", "duckdb_extension_mysql"),
    "sqlite": ("duckdb-extension-sqlite", "duckdb_extension_sqlite"),
    "httpfs": ("duckdb-extension-httpfs", "duckdb_extension_httpfs"),
}
#: the name each binary was built under (its init symbol), when not ``<name>_scanner``
BUILT_AS = {"httpfs": "httpfs"}


def built_as(name: str) -> str:
    """DuckDB's own name of extension ``name`` once loaded (``postgres_scanner``, ``httpfs``)."""
    return BUILT_AS.get(name, f"{name}_scanner")

#: Config for every DuckDB connection workbench opens: never fetch or auto-load.
OFFLINE_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "workbench" / f"duckdb-{duckdb.__version__}"


def extension_path(name: str) -> Path:
    """The loadable file for extension ``name``, linked under the name DuckDB expects."""
    if name not in PACKAGES:
        raise ExtensionError(f"workbench does not ship DuckDB extension {name!r}; use one of {', '.join(PACKAGES)}")
    package, module = PACKAGES[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            f"DuckDB's {name} extension is not installed; pip install {package}=={duckdb.__version__}"
        )
    shipped = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not shipped.is_file():
        raise ExtensionError(
            f"{package} does not match DuckDB {duckdb.__version__} (no {shipped.name} for it); "
            f"pip install {package}=={duckdb.__version__}"
        )
    target = _cache_dir() / f"{built_as(name)}.duckdb_extension"
    if not (target.is_symlink() and os.path.realpath(target) == str(shipped.resolve())):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}-")
        os.close(fd)
        os.unlink(tmp)
        os.symlink(shipped.resolve(), tmp)
        os.replace(tmp, target)  # atomic: concurrent processes see the old or the new link
    return target


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load DuckDB extension ``name`` into ``con`` from its PyPI package, offline."""
    loaded = con.execute(
        "select loaded from duckdb_extensions() where extension_name = ?", [built_as(name)]
    ).fetchone()
    if loaded and loaded[0]:
        return
    path = extension_path(name)
    try:
        con.execute(f"LOAD {quote_literal(path.as_posix())}")
    except duckdb.Error as e:
        raise ExtensionError(f"cannot load DuckDB's {name} extension from {path}: {e}") from None


def connect(database: str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never installs or auto-loads extensions from the network."""
    return duckdb.connect(database, read_only=read_only, config=dict(OFFLINE_CONFIG))
