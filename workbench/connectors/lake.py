"""The lake: folders (local or ``s3://bucket/prefix``) of Parquet, CSV and JSON-lines files,
shown in the hub as views.

A lake source exposes the datasets it finds under its URL, without a ``[lake.NAME]``
entry for each (:func:`discover`): one per top-level folder (all its files, recursively,
hive partitions ``key=value`` detected from the folder names) and one per top-level file,
named after the folder or the file's stem, the format from the extension. An explicit
``[lake.NAME]`` entry wins: its name is taken first, and a folder that holds its path is
described by it instead of discovered a second time. Files and folders starting with
``.`` or ``_`` (sync state, ``_SUCCESS``) are not datasets.

Which lake an explicit entry belongs to: the lake source whose URL holds its path (the
first such source in workbench.toml), else the first lake source.

Names in SQL: every dataset is a view ``LAKE.NAME`` (a schema per lake source), and also
a bare ``NAME`` unless an earlier claim has it. The rule for clashes is one: the first
claim wins, in this order: source names, explicit ``[lake.NAME]`` entries, then the
datasets found, lake by lake in workbench.toml order; a dataset that lost its bare name
is still ``LAKE.NAME``.

Fingerprint (per dataset, content-based): the dataset's settings (format, hive) and the
sorted listing of the files its glob matches, each with its size and the BLAKE2b of its
bytes. A file added, removed or renamed changes the listing (a rename matters: hive
partition values live in the path); a file rewritten changes its digest. Timestamps
are not trusted for that: ``cp -p`` keeps a file's mtime. They only decide when a digest
may be reused without reading the file again (:mod:`workbench.storage.digests`: the
identity device, inode, size, mtime_ns and ctime_ns, which ``cp -p`` cannot keep,
unchanged and settled). The same bytes written again give the same token (early
cut-off in the pipeline). Hidden files are listed too, whatever the reader makes of
them: a token may change for nothing, never stay for something. Cost: reading each
new or changed file once, then a stat per file. Remote paths (``s3://``) take the
store's listing instead (key, size, ETag: :func:`workbench.storage.remote.listing_fingerprint`).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from pathlib import Path

from ..config import LakeDataset
from ..errors import UsageError
from ..sqltext import quote_literal
from ..storage import remote
from ..storage.digests import file_digest
from .base import Fingerprintable, HubBacked, Source
from .warehouse import HUB_COLUMNS

#: extension -> format, the longest first (``.csv.gz`` before ``.gz`` would matter)
EXTENSIONS = {".parquet": "parquet", ".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".ndjson": "json",
              ".json": "json"}
_HIVE = re.compile(r"^[^=/]+=[^/]*$")


def reader_sql(ds: LakeDataset, path: str) -> str:
    """The DuckDB table function that reads dataset ``ds`` at ``path``."""
    where = quote_literal(path)
    hive = "true" if ds.hive_partitioning else "false"
    fmt = ds.file_format()
    if fmt == "parquet":
        return f"read_parquet({where}, hive_partitioning = {hive}, union_by_name = true)"
    if fmt == "csv":
        return f"read_csv({where}, hive_partitioning = {hive}, union_by_name = true)"
    return f"read_json({where}, format = 'newline_delimited', hive_partitioning = {hive}, union_by_name = true)"


def _extension(name: str) -> str | None:
    lower = name.lower().removesuffix(".gz")
    for ext in EXTENSIONS:
        if lower.endswith(ext):
            return ext
    return None


def dataset_name(text: str) -> str:
    """A SQL-safe dataset name for a folder or file stem."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if re.match(r"^[A-Za-z_]", name) else f"_{name}"


def under(path: str, root: str) -> bool:
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/")


_SYNC_STATE = re.compile(r"^\.(.+)\.sync\.json$")


def discover(root: str, files: list[str], described: list[str] = ()) -> dict[str, LakeDataset]:
    """The datasets the files under ``root`` make (``files``: full paths or URLs under it).

    ``described``: locations of explicit ``[lake.NAME]`` entries; a top-level folder that
    holds one is left to that entry.
    """
    root = root.rstrip("/")
    groups: dict[str, dict] = {}
    rels = [(f, f[len(root):].lstrip("/").split("/")) for f in sorted(files) if under(f, root)]
    # folders that `workbench sync --to LAKE` writes (SOURCE/TABLE.parquet beside .TABLE.sync.json):
    # each table there is a dataset of its own, SOURCE_TABLE, not one dataset of all the tables
    synced = {parts[0] for _, parts in rels if len(parts) == 2 and _SYNC_STATE.match(parts[1])}
    for f, parts in rels:
        if any(p.startswith((".", "_")) for p in parts):
            continue
        ext = _extension(parts[-1])
        if ext is None:
            continue
        if parts[0] in synced:
            if len(parts) == 2:
                stem = parts[1][: len(parts[1]) - len(ext)]
                groups.setdefault(f"file:{parts[0]}/{parts[1]}", {"name": f"{parts[0]}_{stem}", "path": f,
                                                                  "exts": {ext}, "hive": False})
            continue
        if len(parts) == 1:
            stem = re.sub(r"(\.gz)?$", "", parts[0], flags=re.I)
            stem = stem[: len(stem) - len(ext)]
            groups.setdefault(f"file:{parts[0]}", {"name": stem, "path": f, "exts": {ext}, "hive": False})
        else:
            g = groups.setdefault(f"dir:{parts[0]}", {"name": parts[0], "dir": f"{root}/{parts[0]}",
                                                      "exts": set(), "hive": False})
            g["exts"].add(ext)
            g["hive"] = g["hive"] or any(_HIVE.match(p) for p in parts[1:-1])
    out: dict[str, LakeDataset] = {}
    for key, g in groups.items():
        if "dir" in g and any(under(d, g["dir"]) for d in described):
            continue
        ext = sorted(g["exts"], key=lambda e: EXTENSIONS[e])[0]  # one format per dataset: the first by name
        path = g.get("path") or f"{g['dir']}/**/*{ext}"
        name = dataset_name(g["name"])
        if name in out:
            continue
        out[name] = LakeDataset(name=name, path=path, format=EXTENSIONS[ext], hive_partitioning=g["hive"],
                                description=f"found in {root}")
    return out


def local_pattern(path: str) -> str | None:
    """The local glob of a dataset path, or ``None`` for a remote one.

    An object store (``s3://``...) has no ctime or inode: its datasets are fingerprinted
    by the store's listing instead (:func:`workbench.storage.remote.listing_fingerprint`).
    """
    if "://" in path:
        return None
    return path


def listing_token(pattern: str, *, salt: object = None) -> str | None:
    """The token of the files ``pattern`` matches (recursive ``**``), or ``None`` when a
    file vanished or changed while it was read.

    Each file counts by its path below the pattern's fixed folder, its size and its
    content digest: a project copied or cloned elsewhere keeps its tokens (nothing
    re-runs), while a file added, removed, renamed or rewritten changes them."""
    entries = []
    head = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    base = head if head == pattern and os.path.isdir(head) else os.path.dirname(head)
    for name in sorted(glob.glob(pattern, recursive=True, include_hidden=True)):
        if not os.path.isfile(name):
            continue
        digest = file_digest(name)
        if digest is None:
            return None
        entries.append([os.path.relpath(name, base or "."), os.path.getsize(name), digest])
    body = json.dumps([salt, entries], default=str).encode()
    return "files:" + hashlib.blake2b(body, digest_size=20).hexdigest()


class LakeSource(HubBacked, Source, Fingerprintable):
    content_based = True
    kind = "lake"
    has_schemas = False

    _resolve = staticmethod(Path)  # how a dataset path becomes a file path (the Session's config.resolve)

    def bind(self, config) -> None:
        self._resolve = config.resolve

    @property
    def datasets(self) -> dict[str, LakeDataset]:
        """This lake's datasets: its ``[lake.NAME]`` entries and those found under its URL."""
        return self.hub.datasets_of(self.name)

    def catalog_tables(self):
        import pandas as pd

        rows = [{"schema": "main", "table": name, "kind": "view", "rows": None} for name in self.datasets]
        return pd.DataFrame(rows, columns=["schema", "table", "kind", "rows"])

    def catalog_columns(self, schema, table):
        datasets = self.datasets
        if table not in datasets:
            raise UsageError(f"lake {self.name!r} has no dataset {table!r}; it has: {', '.join(datasets)}")
        return self.frame(HUB_COLUMNS, db="memory", table=table, schema=self.name)

    def fingerprint(self, table: str | None = None) -> str | None:
        """Content token of dataset ``table`` (every dataset when ``None``); ``None`` for
        an unknown dataset or a remote path."""
        names = sorted(self.datasets) if table is None else [table]
        parts = []
        for name in names:
            ds = self.datasets.get(name)
            if ds is None:
                return None
            try:
                fmt = ds.file_format()
            except ValueError:
                return None
            if local_pattern(ds.path) is None:
                try:
                    token = "objects:" + remote.listing_fingerprint(ds.path, self.hub.store)
                except Exception:  # noqa: BLE001 - a store we cannot list: unknown, so "changed"
                    return None
            else:
                token = listing_token(str(self._resolve(ds.path)), salt=[fmt, ds.hive_partitioning])
            if token is None:
                return None
            parts.append([name, token])
        if table is not None:
            return parts[0][1]
        return "lake:" + hashlib.blake2b(json.dumps(parts).encode(), digest_size=20).hexdigest()
