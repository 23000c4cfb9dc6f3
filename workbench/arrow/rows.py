"""Rows from a DB-API cursor into Arrow record batches, in bounded chunks.

Drivers without an Arrow path hand back Python tuples. They are turned into Arrow one
chunk at a time (never the whole result as Python objects at once) with the column
types the driver reported, so that a column that is all NULL in one chunk still gets
its real type and every chunk of a result has the same schema.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, Iterable, Iterator, Sequence

import pyarrow as pa

from .dtypes import normal_type

CHUNK_ROWS = 65_536


class _NoPandasYet:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not imported in this process yet")
        return None


def defer_pandas() -> None:
    """Let pyarrow convert Python rows without importing pandas (about 0.4 s).

    pyarrow imports pandas on its first conversion of a Python list, only to ask whether
    the list is a pandas object. A process that has not imported pandas holds no pandas
    object, so the answer is no: this makes pyarrow's first look find no pandas (it
    remembers that for those questions), and any later call that needs pandas
    (``Table.to_pandas``) imports it as usual. For processes that never hand pyarrow a
    pandas object (the CLI's ``sql``); a no-op once pandas is imported.
    """
    import sys

    if "pandas" in sys.modules:
        return
    blocker = _NoPandasYet()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(blocker)


def _utc(values: list[Any]) -> list[Any]:
    """Aware datetimes to UTC; naive ones are taken as UTC when the column is aware."""
    out = []
    for v in values:
        if isinstance(v, dt.datetime):
            v = v.replace(tzinfo=dt.timezone.utc) if v.tzinfo is None else v.astimezone(dt.timezone.utc)
        out.append(v)
    return out


def column_array(values: list[Any], hint: pa.DataType | None) -> pa.Array:
    """One Arrow column from Python values, using ``hint`` when the driver gave one."""
    if hint is not None and pa.types.is_timestamp(hint) and hint.tz:
        values = _utc(values)
    elif hint is None:
        aware = any(isinstance(v, dt.datetime) and v.tzinfo is not None for v in values)
        if aware:
            values = _utc(values)
            hint = pa.timestamp("us", tz="UTC")
    if hint is not None and pa.types.is_boolean(hint) and all(v in (0, 1, None) for v in values):
        values = [None if v is None else bool(v) for v in values]  # MySQL BOOLEAN is tinyint(1): 0/1
    if hint is not None:
        try:
            return pa.array(values, type=hint, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, decimal.InvalidOperation):
            pass  # the driver's type and the values disagree (SQLite): infer below
    try:
        arr = pa.array(values, from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    return arr.cast(normal_type(arr.type)) if normal_type(arr.type) != arr.type else arr


def rows_to_batch(names: Sequence[str], rows: Sequence[Sequence[Any]], hints: Sequence[pa.DataType | None]) -> pa.RecordBatch:
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    arrays = [column_array(list(c), h if rows else (h or pa.string())) for c, h in zip(cols, hints)]
    return pa.RecordBatch.from_arrays(arrays, names=_unique(names))


def _unique(names: Sequence[str]) -> list[str]:
    """Column names made unique (``a``, ``a_1``) as pandas users expect from a join."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            out.append(f"{n}_{seen[n]}")
        else:
            seen[n] = 0
            out.append(n)
    return out


def batches_from_cursor(names: Sequence[str], fetchmany, hints: Sequence[pa.DataType | None], chunk: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """Record batches from ``fetchmany(n)`` calls; the first batch fixes the schema."""
    schema: pa.Schema | None = None
    while True:
        rows = fetchmany(chunk)
        if not rows and schema is not None:
            return
        batch = rows_to_batch(names, rows, hints)
        if schema is None:
            # Only the driver's hints type later chunks: a type inferred from the first chunk
            # (int64 for 1, 2) would truncate a later 3.5 without a word; such a chunk widens.
            schema = batch.schema
        elif batch.schema != schema:
            batch = _conform(batch, schema)
            if batch.schema != schema:  # a later chunk needs a wider type: widen both
                schema = batch.schema
        yield batch
        if not rows:
            return


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for arr, field in zip(batch.columns, schema):
        if arr.type == field.type:
            arrays.append(arr)
            continue
        try:
            arrays.append(arr.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def collect(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    """One table from batches whose types may have widened along the way."""
    batches = list(batches)
    if not batches:
        return pa.table({})
    try:
        return pa.Table.from_batches(batches)
    except pa.ArrowInvalid:
        tables = [pa.Table.from_batches([b]) for b in batches]
        return pa.concat_tables(tables, promote_options="permissive")
