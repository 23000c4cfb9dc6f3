"""``wb.load``: a DataFrame, Arrow data or a query's result into a warehouse table, all or nothing.

One DuckDB transaction: a failure leaves the old table as it was. Results stream as
Arrow record batches from the source to the warehouse, so memory stays bounded by a
batch, except when the data comes from the warehouse itself (read it all first: the
hub must let go of the file before the write starts).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import duckdb
import pyarrow as pa

from ..arrow.rows import collect
from ..connectors.base import HubBacked
from ..errors import QueryError, UsageError
from ..secrets import clean
from ..sqltext import quote_ident
from .warehouse import WriteResult, split_target, warehouse_writer

if TYPE_CHECKING:
    from ..query.session import Session


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


def _as_reader(wb: "Session", data: Any, source: str | None, params: Mapping[str, Any], frame) -> pa.RecordBatchReader:
    import pandas as pd

    if isinstance(data, str):
        if source is None or isinstance(wb.source(source), HubBacked):
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


def load(wb: "Session", data: Any, target: str, *, mode: str = "replace", source: str | None = None,
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
        except duckdb.Error as e:
            con.execute("ROLLBACK")
            raise QueryError(f"load into {wh}.{table} failed, the table is as it was: {clean(e)}; "
                             "check that the data's columns and types match the table (or load with "
                             "mode='replace')") from None
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("_wb_incoming")
    return WriteResult(f"{wh}.{table}", rows)


