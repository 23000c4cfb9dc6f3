"""Everything that writes: ``wb.load`` into the warehouse, ``wb.export`` to files.

The warehouse is the only place workbench writes by default, and every write is all or
nothing: a load runs in one DuckDB transaction (a failure leaves the old table as it
was), an export writes a temporary file beside the target and renames it into place
(a failure or a kill leaves no partial file under the final name).

Results stream as Arrow record batches from the source to the destination, so memory
stays bounded by a batch, not by the result.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import duckdb
import pyarrow as pa

from . import extensions
from .binding import quote_ident
from .errors import SourceError, UsageError
from .rows import collect

if TYPE_CHECKING:
    from .core import Workbench

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_ident(name: str, what: str) -> str:
    if not _IDENT.match(name or ""):
        raise UsageError(f"{what} {name!r} is not a plain name; use letters, digits and _")
    return name


@dataclass(frozen=True)
class WriteResult:
    target: str
    rows: int

    def __str__(self) -> str:
        return f"{self.rows:,} rows -> {self.target}"


def warehouse_name(wb: "Workbench", name: str | None = None) -> str:
    """The warehouse source to write into: ``name``, or the only one configured."""
    names = [n for n, s in wb.config.sources.items() if s.role == "warehouse"]
    if name is not None:
        if name not in names:
            raise UsageError(f"{name!r} is not a warehouse source; the warehouses are: {', '.join(names) or 'none'}")
        return name
    if len(names) != 1:
        raise UsageError(
            "name the warehouse to write into as 'warehouse_name.table'"
            if names else "no source has role = \"warehouse\" in workbench.toml; add one to write into"
        )
    return names[0]


def split_target(wb: "Workbench", target: str) -> tuple[str, str]:
    """``"warehouse.table"`` or ``"table"`` -> (warehouse source name, table)."""
    if "." in target:
        wh, table = target.split(".", 1)
        return warehouse_name(wb, wh), check_ident(table, "table name")
    return warehouse_name(wb), check_ident(target, "table name")


@contextmanager
def warehouse_writer(wb: "Workbench", name: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to warehouse ``name``; the hub lets go of the file meanwhile."""
    from sqlalchemy.engine import make_url

    path = make_url(wb.config.sources[name].url).database
    if not path or path == ":memory:":
        raise UsageError(f"warehouse {name!r} has no file to write into; give its url a path")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    wb.hub.refresh()
    try:
        con = extensions.connect(path)
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise SourceError(
                f"warehouse {name!r} ({path}) is open in another process (a notebook kernel?); "
                "close it there (wb.reset()) or wait for it to finish, then retry"
            ) from None
        raise SourceError(f"cannot open warehouse {name!r} ({path}) for writing: {e}") from None
    try:
        yield con
    finally:
        con.close()
        wb.hub.refresh()


def _peek(batches: Iterator[pa.RecordBatch]) -> pa.RecordBatchReader:
    """A reader over ``batches`` (its schema is the first batch's)."""
    it = iter(batches)
    first = next(it, None)
    if first is None:
        raise UsageError("the data to write has no columns")
    schema = first.schema

    def gen():
        yield first
        for b in it:
            yield b if b.schema == schema else b.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, gen())


def _as_reader(wb: "Workbench", data: Any, source: str | None, params: Mapping[str, Any], frame) -> pa.RecordBatchReader:
    import pandas as pd

    if isinstance(data, str):
        if source is None or wb.source(source).kind in ("duckdb", "lake"):
            # The hub reads the warehouse that is about to be written: read it all first.
            table = collect(wb.sql_batches(data, source, params=params, _frame=frame))
            return table.to_reader()
        return _peek(wb.sql_batches(data, source, params=params, _frame=frame))
    if params:
        raise UsageError("parameters go with a SQL string; a DataFrame needs none")
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False).to_reader()
    if isinstance(data, pa.Table):
        return data.to_reader()
    if isinstance(data, pa.RecordBatchReader):
        return data
    raise UsageError(f"cannot load a {type(data).__name__}; pass a DataFrame, an Arrow table or a SQL string")


def load(wb: "Workbench", data: Any, target: str, *, mode: str = "replace", source: str | None = None,
         params: Mapping[str, Any] | None = None, _frame=None) -> WriteResult:
    """Write ``data`` (DataFrame, Arrow, or SQL run on ``source``) into a warehouse table.

    ``mode="replace"`` swaps the whole table, ``"append"`` adds rows (creating the table
    if needed). One transaction: on any failure the old table is left as it was.
    """
    if mode not in ("replace", "append"):
        raise UsageError(f"mode {mode!r}: use 'replace' or 'append'")
    wh, table = split_target(wb, target)
    reader = _as_reader(wb, data, source, dict(params or {}), _frame or sys._getframe(1))
    name = quote_ident(table)
    with warehouse_writer(wb, wh) as con:
        con.register("_wb_incoming", reader)
        con.execute("BEGIN TRANSACTION")
        try:
            exists = con.execute(
                "select count(*) from duckdb_tables() where table_name = ? and schema_name = 'main' "
                "and database_name = current_database()", [table]).fetchone()[0]
            if mode == "replace" or not exists:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _wb_incoming")
            else:
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _wb_incoming")
            rows = con.execute(f"select count(*) from {name}").fetchone()[0]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_wb_incoming")
    return WriteResult(f"{wh}.{table}", rows)


def _progress(total: int | None, desc: str, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, disable=not enabled, file=sys.stderr)


def export(wb: "Workbench", query: str, path: str | os.PathLike[str], *, source: str | None = None,
           format: str | None = None, params: Mapping[str, Any] | None = None, progress: bool | None = None,
           _frame=None) -> WriteResult:
    """Stream the result of ``query`` to a Parquet or CSV file, without a DataFrame.

    Memory stays bounded by one batch. The file appears under its name only when
    complete; a failure removes the partial file.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    dest = Path(path)
    fmt = (format or dest.suffix.lstrip(".")).lower()
    if fmt not in ("parquet", "csv"):
        raise UsageError(f"cannot tell the format of {dest.name!r}; name it .parquet or .csv, or pass format=")
    dest.parent.mkdir(parents=True, exist_ok=True)
    batches = wb.sql_batches(query, source, params=params, _frame=_frame or sys._getframe(1))
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    rows = 0
    writer = None
    try:
        with _progress(None, f"export {dest.name}", progress) as bar:
            for batch in batches:
                if writer is None:
                    schema = batch.schema
                    writer = (pq.ParquetWriter(tmp, schema, compression="zstd") if fmt == "parquet"
                              else pacsv.CSVWriter(tmp, schema))
                elif batch.schema != schema:
                    batch = batch.cast(schema)
                writer.write_batch(batch) if fmt == "csv" else writer.write_batch(batch, row_group_size=batch.num_rows)
                rows += batch.num_rows
                bar.update(batch.num_rows)
        if writer is not None:
            writer.close()
            writer = None
        os.replace(tmp, dest)
    except BaseException:
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return WriteResult(str(dest), rows)
