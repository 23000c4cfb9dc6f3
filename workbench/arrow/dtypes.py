"""The one dtype policy: every result is Arrow-backed pandas, the same on every source.

Results travel as Arrow and become pandas columns of :class:`pandas.ArrowDtype`, because
that is the only pandas representation that keeps every type users care about without
loss or copies: integers with NULLs stay integers (``int64[pyarrow]``, no float64
surprise), DECIMAL stays exact (``decimal128(p, s)[pyarrow]``, not float and not Python
objects), TIMESTAMP WITH TIME ZONE keeps its instant in UTC, DATE stays a date, text with
NULLs stays text with NULLs, JSON arrives as its text.

The normalisation below makes the same SQL type look the same whichever driver fetched
it: integer widths become int64, floats float64, all text ``string``, timestamps
microseconds (naive, or UTC when the source type had a zone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd


def normal_type(t: pa.DataType) -> pa.DataType:
    """The policy type for Arrow type ``t``."""
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_decimal(t) and t.precision > 38:
        return pa.decimal128(38, min(t.scale, 38))
    if pa.types.is_dictionary(t):
        return normal_type(t.value_type)
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(normal_type(t.value_type))
    return t


def normal_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, normal_type(f.type)) for f in schema])


def normalize(data: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """``data`` cast to the policy types (a no-op when it already has them)."""
    target = normal_schema(data.schema)
    if target == data.schema:
        return data
    if isinstance(data, pa.RecordBatch):
        arrays = [_cast(col, f.type) for col, f in zip(data.columns, target)]
        return pa.RecordBatch.from_arrays(arrays, schema=target)
    return pa.table([_cast(col, f.type) for col, f in zip(data.columns, target)], schema=target)


def _cast(col, to: pa.DataType):
    if col.type == to:
        return col
    if pa.types.is_dictionary(col.type):
        import pyarrow.compute as pc

        col = col.cast(col.type.value_type) if isinstance(col, pa.Array) else pc.cast(col, col.type.value_type)
    return col.cast(to)


def to_pandas(table: pa.Table) -> "pd.DataFrame":
    """A DataFrame with Arrow-backed columns, following the policy."""
    import pandas as pd

    return normalize(table).to_pandas(types_mapper=pd.ArrowDtype)
