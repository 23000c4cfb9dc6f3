"""workbench.arrow: the dtype policy and DB-API rows → typed Arrow batches, without a server.

The promise to users is that a column looks the same whichever driver fetched it:
integers with NULLs stay integers, decimals stay exact, zoned timestamps are UTC. The
drivers' rows are imitated here with plain tuples and ``fetchmany`` over a list, which is
all :func:`batches_from_cursor` sees of a cursor.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from workbench.arrow.dtypes import normal_type, normalize, to_pandas
from workbench.arrow.rows import batches_from_cursor, collect, column_array

UTC = dt.timezone.utc


def fetcher(rows):
    """A ``fetchmany`` over ``rows``, as a DB-API cursor would serve them."""
    it = iter(rows)

    def fetchmany(n):
        out = []
        for _ in range(n):
            try:
                out.append(next(it))
            except StopIteration:
                break
        return out

    return fetchmany


@pytest.mark.parametrize("given, policy", [
    (pa.int8(), pa.int64()), (pa.int32(), pa.int64()), (pa.uint16(), pa.int64()), (pa.int64(), pa.int64()),
    (pa.float32(), pa.float64()), (pa.large_string(), pa.string()), (pa.string_view(), pa.string()),
    (pa.large_binary(), pa.binary()), (pa.timestamp("ns"), pa.timestamp("us")),
    (pa.timestamp("s", tz="Europe/Oslo"), pa.timestamp("us", tz="UTC")), (pa.date64(), pa.date32()),
    (pa.decimal128(12, 2), pa.decimal128(12, 2)), (pa.decimal256(50, 4), pa.decimal128(38, 4)),
    (pa.dictionary(pa.int8(), pa.large_string()), pa.string()), (pa.null(), pa.string()),
    (pa.time32("ms"), pa.time64("us")), (pa.list_(pa.int16()), pa.list_(pa.int64())), (pa.bool_(), pa.bool_()),
])
def test_normal_type(given, policy):
    assert normal_type(given) == policy


def test_normalize_keeps_values_and_is_a_no_op_when_normal():
    t = pa.table({
        "i": pa.array([1, None, 3], pa.int16()),
        "s": pa.array(["a", None, "c"], pa.large_string()),
        "z": pa.array([0, 3_600_000_000_000, None], pa.timestamp("ns", tz="Asia/Tokyo")),
        "d": pa.array(["x", "y", "x"]).dictionary_encode(),
    })
    n = normalize(t)
    assert [f.type for f in n.schema] == [pa.int64(), pa.string(), pa.timestamp("us", tz="UTC"), pa.string()]
    assert n.to_pylist() == t.to_pylist()  # the same values and the same instants
    assert normalize(n) is n


def test_to_pandas_keeps_ints_with_nulls_and_exact_decimals():
    t = pa.table({"i": pa.array([2**53 + 1, None], pa.int64()),
                  "m": pa.array([Decimal("12345678.90"), Decimal("-0.01")], pa.decimal128(12, 2))})
    df = to_pandas(t)
    assert df["i"].dtype == pd.ArrowDtype(pa.int64()) and df["i"][0] == 2**53 + 1 and pd.isna(df["i"][1])
    assert df["m"].dtype == pd.ArrowDtype(pa.decimal128(12, 2))
    assert df["m"].tolist() == [Decimal("12345678.90"), Decimal("-0.01")]


def test_rows_with_hints_keep_their_types_when_a_chunk_is_all_null():
    hints = [pa.int64(), pa.decimal128(10, 3), pa.timestamp("us", tz="UTC"), pa.string()]
    rows = [(None, None, None, None)] * 3 + [(7, Decimal("1.125"), dt.datetime(2026, 1, 1, 12), "x")]
    batches = list(batches_from_cursor(["i", "d", "t", "s"], fetcher(rows), hints, chunk=3))
    assert len(batches) == 2 and all(b.schema == batches[0].schema for b in batches)
    table = collect(batches)
    assert [f.type for f in table.schema] == hints
    last = table.to_pylist()[-1]
    # an int stays an int, the decimal is exact, a naive time in a zoned column is taken as UTC
    assert last == {"i": 7, "d": Decimal("1.125"), "t": dt.datetime(2026, 1, 1, 12, tzinfo=UTC), "s": "x"}
    assert table.column("i").null_count == 3


def test_rows_without_hints_infer_and_convert_zones_to_utc():
    oslo = dt.timezone(dt.timedelta(hours=1))
    rows = [(1, dt.datetime(2026, 1, 1, 13, tzinfo=oslo), Decimal("0.1")), (None, None, None)]
    table = collect(batches_from_cursor(["i", "t", "d"], fetcher(rows), [None, None, None]))
    assert table.schema.field("i").type == pa.int64()
    assert table.schema.field("t").type == pa.timestamp("us", tz="UTC")
    assert table.column("t")[0].as_py() == dt.datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert table.column("d")[0].as_py() == Decimal("0.1")  # not 0.1000000000000000055…


def test_a_hint_the_values_disagree_with_is_dropped_not_fatal():
    """SQLite declares a type and stores what it likes: the values win over the hint."""
    arr = column_array(["abc", None], pa.int64())
    assert arr.type == pa.string() and arr.to_pylist() == ["abc", None]
    mixed = column_array([1, "two"], None)  # no common type: text, not an error
    assert mixed.to_pylist() == ["1", "two"]


def test_empty_result_has_the_hinted_schema():
    batches = list(batches_from_cursor(["a", "b"], fetcher([]), [pa.int64(), None]))
    assert len(batches) == 1 and batches[0].num_rows == 0
    assert batches[0].schema.types == [pa.int64(), pa.string()]


def test_duplicate_names_are_made_unique():
    table = collect(batches_from_cursor(["a", "a", "a"], fetcher([(1, 2, 3)]), [None] * 3))
    assert table.column_names == ["a", "a_1", "a_2"] and table.to_pylist() == [{"a": 1, "a_1": 2, "a_2": 3}]


def test_batches_are_bounded_and_every_row_arrives():
    rows = [(i, str(i)) for i in range(1000)]
    batches = list(batches_from_cursor(["i", "s"], fetcher(rows), [None, None], chunk=128))
    assert max(b.num_rows for b in batches) <= 128
    assert collect(batches).to_pydict() == {"i": list(range(1000)), "s": [str(i) for i in range(1000)]}


def test_a_later_chunk_that_needs_a_wider_type_widens_the_result():
    """SQLite: a column of integers in the first chunk may hold 3.5 in a later one."""
    rows = [(1,), (2,), (3.5,)]
    table = collect(batches_from_cursor(["x"], fetcher(rows), [None], chunk=2))
    assert table.column("x").to_pylist() == [1, 2, 3.5]
