"""PostgreSQL type oids and how each crosses to Arrow under the project's dtype policy.

The table is kept apart from the fetch machinery so the policy can be read (and
reviewed) in one screen: which oids DuckDB's decoder reads faithfully, which are cast
on the server first, and which become text.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
from psycopg import sql

_NUMERIC = 1700
_UNBOUNDED_NUMERIC = pa.decimal128(38, 9)
_NINE_PLACES = Decimal(1).scaleb(-9)

# type oid -> the Arrow type DuckDB's decoder gives it, for the types it decodes faithfully.
_SCALARS: dict[int, pa.DataType] = {
    16: pa.bool_(),
    17: pa.binary(),
    18: pa.string(),  # "char"
    19: pa.string(),  # name
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    114: pa.string(),  # json
    700: pa.float32(),
    701: pa.float64(),
    1042: pa.string(),  # char(n)
    1043: pa.string(),  # varchar
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
    1186: pa.month_day_nano_interval(),
    2950: pa.string(),  # uuid
    3802: pa.string(),  # jsonb
}
# array type oid -> element type oid; multi-dimensional values fail loudly in DuckDB.
_ARRAYS = {1000: 16, 1005: 21, 1007: 23, 1016: 20, 1021: 700, 1022: 701, 1009: 25,
           1014: 1042, 1015: 1043, 1182: 1082, 1115: 1114, 1185: 1184}
# Loaded as text on the fallback path, because psycopg would make them dicts/UUIDs/timedeltas.
_TEXT_ON_FALLBACK = {114, 3802, 2950, 1186}


class _Column:
    """One result column as PostgreSQL describes it, and how it crosses to Arrow."""

    def __init__(self, name: str, oid: int, typmod: int, table: int, attnum: int):
        self.name, self.oid, self.typmod, self.table, self.attnum = name, oid, typmod, table, attnum

    def numeric_shape(self) -> tuple[int, int] | None:
        """(precision, scale) of a bounded numeric that fits decimal128, else None."""
        if self.typmod < 4:
            return None
        precision, scale = ((self.typmod - 4) >> 16) & 0xFFFF, (self.typmod - 4) & 0x7FF
        return (precision, scale) if precision <= 38 and scale <= precision else None

    def expression(self, ref: sql.Composable) -> sql.Composable:
        """The server-side expression that gives DuckDB's decoder a faithful value."""
        if self.oid == _NUMERIC:
            if self.typmod < 4:  # unbounded: cast first, so NaN compares as numeric
                return sql.SQL("NULLIF({}::numeric(38, 9), 'NaN')").format(ref)
            if self.numeric_shape():
                return sql.SQL("NULLIF({}, 'NaN')").format(ref)
            return sql.SQL("{}::text").format(ref)
        if self.oid in _SCALARS or self.oid in _ARRAYS:
            return ref
        return sql.SQL("{}::text").format(ref)

    def arrow_type(self) -> pa.DataType:
        if self.oid == _NUMERIC:
            if self.typmod < 4:
                return _UNBOUNDED_NUMERIC
            shape = self.numeric_shape()
            return pa.decimal128(*shape) if shape else pa.string()
        if self.oid in _SCALARS:
            return _SCALARS[self.oid]
        if self.oid in _ARRAYS:
            return pa.list_(_SCALARS[_ARRAYS[self.oid]])
        return pa.string()
