"""Where a sync writes: a warehouse table (one transaction with its watermark) or a lake
snapshot (a Parquet file renamed into place, then the watermark).

A lake on ``s3://`` gets the same two steps as objects: the snapshot is written whole to a
local temporary file and uploaded as one object (S3 shows it only once complete; there
is no rename), then the watermark object ``.TABLE.sync.json``. A failure between the two
leaves the new snapshot with the old watermark: the next incremental sync re-reads the
rows since the old watermark and upserts them by key, which changes nothing twice."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from .. import duck
from ..errors import UsageError
from ..storage import atomic, remote
from ..sqltext import quote_ident, quote_literal
from .warehouse import warehouse_writer

if TYPE_CHECKING:
    from ..query.session import Session

STATE_TABLE = "_workbench_sync"


def _key_match(pk: list[str], left: str, right: str) -> str:
    return " and ".join(f"{left}.{quote_ident(c)} = {right}.{quote_ident(c)}" for c in pk)


class WarehouseTarget:
    """Upserts in one transaction with the watermark: all or nothing."""

    def __init__(self, wb: "Session", warehouse: str, table: str):
        self.wb, self.warehouse, self.table = wb, warehouse, table
        self.label = f"{warehouse}.{table}"

    def __enter__(self):
        self._ctx = warehouse_writer(self.wb, self.warehouse)
        self.con = self._ctx.__enter__()
        self.con.execute(f"create table if not exists {STATE_TABLE} (source varchar, source_table varchar, "
                         "target varchar, watermark varchar, synced_at timestamptz, "
                         "primary key (source, source_table, target))")
        self.con.execute("BEGIN TRANSACTION")
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.con.execute("ROLLBACK")
        finally:
            self._ctx.__exit__(exc_type, exc, tb)

    def state(self, source: str, table: str) -> str | None:
        row = self.con.execute(f"select watermark from {STATE_TABLE} where source = ? and source_table = ? "
                               "and target = ?", [source, table, self.table]).fetchone()
        return row[0] if row else None

    def exists(self) -> bool:
        return bool(self.con.execute("select count(*) from duckdb_tables() where table_name = ? and "
                                     "database_name = current_database()", [self.table]).fetchone()[0])

    def apply(self, reader: pa.RecordBatchReader, keys, pk: list[str], incremental: bool) -> tuple[int, int, int]:
        t = quote_ident(self.table)
        con = self.con
        con.register("_wb_new", reader)
        if not incremental:
            con.execute(f"create or replace table {t} as select * from _wb_new")
            fetched = con.execute(f"select count(*) from {t}").fetchone()[0]
            deleted = 0
        else:
            con.execute("create or replace temp table _wb_batch as select * from _wb_new")
            fetched = con.execute("select count(*) from _wb_batch").fetchone()[0]
            con.execute(f"delete from {t} where exists (select 1 from _wb_batch n where {_key_match(pk, t, 'n')})")
            con.execute(f"insert into {t} by name select * from _wb_batch")
            deleted = 0
            if keys is not None:
                con.register("_wb_keys", keys())
                con.execute("create or replace temp table _wb_keyset as select * from _wb_keys")
                before = con.execute(f"select count(*) from {t}").fetchone()[0]
                con.execute(f"delete from {t} where not exists (select 1 from _wb_keyset k where {_key_match(pk, t, 'k')})")
                deleted = before - con.execute(f"select count(*) from {t}").fetchone()[0]
                con.unregister("_wb_keys")
            con.execute("drop table if exists _wb_batch")
        con.unregister("_wb_new")
        rows = con.execute(f"select count(*) from {t}").fetchone()[0]
        return fetched, deleted, rows

    def commit(self, source: str, table: str, watermark: str | None) -> None:
        self.con.execute(f"insert or replace into {STATE_TABLE} values (?, ?, ?, ?, now())",
                         [source, table, self.table, watermark])
        self.con.execute("COMMIT")


class LakeTarget:
    """A Parquet snapshot in the lake, replaced by rename; the watermark follows it."""

    def __init__(self, wb: "Session", to: str, source: str, table: str):
        lakes = [n for n, s in wb.config.sources.items() if s.role == "lake"]
        name = lakes[0] if to == "lake" and len(lakes) == 1 else to
        if name not in lakes:
            raise UsageError(f"--to {to!r}: name a lake source ({', '.join(lakes) or 'none configured'})")
        url = wb.config.sources[name].url
        self.table = table
        self.remote = remote.is_remote(url)
        if self.remote:
            self.store = remote.S3Options.from_config(wb.config)
            base = f"{url.rstrip('/')}/{source}"
            self.url, self.state_url = f"{base}/{table}.parquet", f"{base}/.{table}.sync.json"
            self.label = f"{name}.{source}_{table} ({self.url})"
            return
        root = Path(url)
        self.dir = root / source
        self.path = self.dir / f"{table}.parquet"
        self.state_path = self.dir / f".{table}.sync.json"
        self.label = f"{name}.{source}_{table} ({self.path})"  # the dataset discovery makes of it

    def __enter__(self):
        self.con = duck.connect()
        self.tmp = None
        if self.remote:
            import tempfile

            self._tmpdir = tempfile.TemporaryDirectory(prefix="workbench-sync-")
            self.path = Path(self._tmpdir.name) / f"{self.table}.parquet"  # the old snapshot is read from the store
            remote.configure_duckdb(self.con, self.store)
        else:
            self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.con.close()
        if self.tmp and os.path.exists(self.tmp):
            os.unlink(self.tmp)
        if self.remote:
            self._tmpdir.cleanup()

    def state(self, source: str, table: str) -> str | None:
        if self.remote:
            data = remote.get_bytes(self.state_url, self.store)
            return None if data is None else json.loads(data).get("watermark")
        if not self.state_path.exists():
            return None
        return json.loads(self.state_path.read_text()).get("watermark")

    def exists(self) -> bool:
        if self.remote:
            return remote.exists(self.url, self.store)
        return self.path.exists()

    def apply(self, reader, keys, pk, incremental) -> tuple[int, int, int]:
        con = self.con
        con.register("_wb_new", reader)
        con.execute("create temp table _wb_batch as select * from _wb_new")
        fetched = con.execute("select count(*) from _wb_batch").fetchone()[0]
        deleted = 0
        if incremental:
            old = f"read_parquet({quote_literal(self.url if self.remote else self.path.as_posix())})"
            con.execute(f"create temp table _wb_snapshot as select * from {old} o "
                        f"where not exists (select 1 from _wb_batch n where {_key_match(pk, 'o', 'n')}) "
                        "union all by name select * from _wb_batch")
            if keys is not None:
                con.register("_wb_keys", keys())
                before = con.execute("select count(*) from _wb_snapshot").fetchone()[0]
                con.execute(f"delete from _wb_snapshot where not exists (select 1 from _wb_keys k where "
                            f"{_key_match(pk, '_wb_snapshot', 'k')})")
                deleted = before - con.execute("select count(*) from _wb_snapshot").fetchone()[0]
            source = "_wb_snapshot"
        else:
            source = "_wb_batch"
        self.tmp = str(atomic.temp_beside(self.path))
        con.execute(f"copy (select * from {source}) to {quote_literal(self.tmp)} (format parquet, compression zstd)")
        rows = con.execute(f"select count(*) from {source}").fetchone()[0]
        return fetched, deleted, rows

    def commit(self, source: str, table: str, watermark: str | None) -> None:
        state = json.dumps({"source": source, "table": table, "watermark": watermark,
                            "synced_at": dt.datetime.now(dt.timezone.utc).isoformat()})
        if self.remote:
            remote.put_file(self.tmp, self.url, self.store)
            os.unlink(self.tmp)
            self.tmp = None
            remote.put_bytes(state.encode(), self.state_url, self.store)
            return
        atomic.commit(Path(self.tmp), self.path)
        self.tmp = None
        atomic.write_bytes(self.state_path, state)
