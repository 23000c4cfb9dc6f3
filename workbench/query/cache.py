"""The opt-in result cache of ``wb.sql(..., cache=True)``: no second query for unchanged data.

A result is stored under a key made of the SQL text, the source (``None`` = the hub),
the bound parameters (typed, :func:`workbench.values.dump`) and the fingerprint of every
table the statement reads (:func:`workbench.query.fingerprints.statement_fingerprints`).
So a cached result is reused exactly while the data behind it is unchanged, in any
process: the entries live on disk, under ``[workbench] cache_dir`` (default
``.workbench/cache`` in the project), so a re-run report or a pipeline task in a new
kernel finds them.

Nothing is cached when certainty is missing: a fingerprint unknown (a generic source,
a view on PostgreSQL, a remote lake), a statement that may write, one that reads a
table function or a DataFrame of the caller's scope, one that names no table, or one
that calls a function whose value changes by itself (``now()``, ``random()``...).

Each entry is one file, ``<key>.arrow``: the BLAKE2b of the body on the first line,
then the result as an Arrow IPC file, so a hit gives back the very schema (dtypes
included) the query gave. Written beside its name and renamed into place
(:mod:`workbench.storage.atomic`); a file that fails its digest or does not read is a
miss (and is removed), never an error. The folder is bounded by ``cache_max_bytes``:
after each store the least recently used entries go first. ``wb.clear_cache()`` empties it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa

from ..errors import UsageError
from ..sqltext import identifiers
from ..storage.atomic import TEMP_SUFFIX, is_temp, write_bytes
from ..values import dump

#: bump when the key or the file layout changes: old entries are then never read
FORMAT = "workbench-result-cache-1"
SUFFIX = ".arrow"
#: a writer's temp file older than this is a leftover of a killed process
_STALE_TEMP_S = 3600

#: functions whose value changes with no change of data: a statement calling one is not cached
VOLATILE = {
    "now", "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp", "today",
    "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday", "get_current_timestamp",
    "get_current_time", "sysdate", "curdate", "curtime", "utc_timestamp", "utc_date", "utc_time",
    "unix_timestamp", "random", "rand", "uuid", "gen_random_uuid", "uuid_generate_v4", "setseed", "nextval",
    "currval", "txid_current", "pg_backend_pid", "connection_id", "current_user", "session_user",
    "last_insert_id", "row_count", "found_rows",
}


def volatile(query: str) -> bool:
    """Whether ``query`` names a function whose value changes by itself."""
    return any(w.lower() in VOLATILE for w in identifiers(query))


def cache_key(query: str, source: str | None, params: Mapping[str, Any], fingerprints: Mapping[str, str]) -> str | None:
    """The entry name for these inputs, or ``None`` when a parameter has no stable text."""
    try:
        typed = {k: dump(v) for k, v in sorted(params.items())}
    except UsageError:
        return None  # a value dump cannot store (bytes, NaN, ...): not cached
    body = json.dumps([FORMAT, query, source, typed, sorted(fingerprints.items())], ensure_ascii=True)
    return hashlib.blake2b(body.encode(), digest_size=24).hexdigest()


class ResultCache:
    """The entries in one folder, at most ``max_bytes`` of them."""

    def __init__(self, folder: Path, max_bytes: int):
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> pa.Table | None:
        """The stored result, or ``None`` (absent, or damaged: then it is removed)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head, sep, body = data.partition(b"\n")
        try:
            if not sep or head.decode("ascii") != hashlib.blake2b(body, digest_size=20).hexdigest():
                raise ValueError("digest")
            table = pa.ipc.open_file(pa.py_buffer(body)).read_all()
        except (ValueError, UnicodeDecodeError, pa.ArrowException):
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
        return table

    def put(self, key: str, table: pa.Table) -> bool:
        """Store ``table`` (whole or not at all); ``False`` when it is larger than the bound."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        body = sink.getvalue().to_pybytes()
        head = hashlib.blake2b(body, digest_size=20).hexdigest().encode("ascii")
        if len(body) + len(head) + 1 > self.max_bytes:
            return False
        write_bytes(self._path(key), head + b"\n" + body)
        self.evict()
        return True

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        try:
            names = list(self.folder.iterdir())
        except OSError:
            return out
        for p in names:
            try:
                st = p.stat()
            except OSError:
                continue
            if p.name.endswith(SUFFIX) and not p.name.startswith("."):
                out.append((st.st_mtime, st.st_size, p))
            elif is_temp(p) and p.name.endswith(TEMP_SUFFIX) and time.time() - st.st_mtime > _STALE_TEMP_S:
                p.unlink(missing_ok=True)
        return out

    def evict(self) -> None:
        """Remove the least recently used entries until the folder fits ``max_bytes``."""
        entries = sorted(self._entries(), key=lambda e: e[0])
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size

    def clear(self) -> int:
        """Remove every entry; how many there were."""
        entries = self._entries()
        for _, _, path in entries:
            path.unlink(missing_ok=True)
        return len(entries)

    def size(self) -> tuple[int, int]:
        """``(entries, bytes)`` in the folder now."""
        entries = self._entries()
        return len(entries), sum(size for _, size, _ in entries)
