"""workbench.values: one codec for -p text, Python values, watermarks and params.json items.

No hypothesis in the venv, so the round trips run over a hand-written table of edge values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from decimal import Decimal

import pytest

from workbench import values as V
from workbench.cli import main
from workbench.cli.params import parse_param
from workbench.errors import ParameterError, UsageError
from workbench.reports import params as P

from tests.support.projects import NOTEBOOKS

NB = NOTEBOOKS
UTC = dt.UTC


def _dump_before_values(v):
    """``syncing._dump`` as it was before workbench.values (commit 0299be5), verbatim."""
    if v is None:
        return None
    for t, kind in ((dt.datetime, "datetime"), (dt.date, "date"), (bool, "bool"), (int, "int"),
                    (float, "float"), (decimal.Decimal, "decimal"), (str, "str")):
        if isinstance(v, t):
            return json.dumps({"t": kind, "v": v.isoformat() if kind in ("datetime", "date") else str(v)})
    raise UsageError(f"cannot keep a watermark of type {type(v).__name__}; choose a timestamp or integer column")


def _load_before_values(text):
    """``syncing._load`` as it was before workbench.values (commit 0299be5), verbatim."""
    if text is None:
        return None
    d = json.loads(text)
    return {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "int": int, "float": float,
            "decimal": decimal.Decimal, "str": str, "bool": lambda s: s == "True"}[d["t"]](d["v"])


SCALAR_EDGES = [
    0, -1, 7, 2**63, -(2**200),
    0.0, -0.0, 1.5, 0.1 + 0.2, 1e16, 1e308, -1.7976931348623157e308, 5e-324, 123456789.123,
    Decimal("1.50"), Decimal("0"), Decimal("-0"), Decimal("0.000"), Decimal("1E+3"), Decimal("1.23E-10"),
    Decimal("-0.00E+5"), Decimal("12345678901234567890.123456789"),
    "", "'", '"', "\\", "\x00", "a\x00b", "Zürich", "😀", "\ud800", "line\nbreak", '{"t": "int", "v": "1"}',
    "True", "None", "null",
    True, False,
    dt.date(2026, 11, 1), dt.date(1, 1, 1), dt.date(9999, 12, 31),
    dt.datetime(2026, 11, 1, 10, 0), dt.datetime(2026, 11, 1, 10, 0, 0, 123456), dt.datetime(2026, 11, 1, 0, 0, 0, 1),
    dt.datetime.min, dt.datetime.max,
    dt.datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
    dt.datetime(2026, 11, 1, 10, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
    dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=15))),
]
LIST_EDGES = [[], [1, "a", None], [[dt.date(2026, 11, 1)], [Decimal("1.0"), -0.0]], [True, 1, 1.0]]


def assert_same(got, want):
    """Equal *and* of the same type and spelling: 1 is not True, -0.0 is not 0.0, 1.50 is not 1.5."""
    assert type(got) is type(want), (got, want)
    if isinstance(want, list):
        assert len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, float):
        assert repr(got) == repr(want)
    elif isinstance(want, Decimal):
        assert got.as_tuple() == want.as_tuple(), (got, want)
    elif isinstance(want, dt.datetime):
        assert (got, got.utcoffset()) == (want, want.utcoffset())
    else:
        assert got == want


# --------------------------------------------------------------------------- dump / load


@pytest.mark.parametrize("value", SCALAR_EDGES + LIST_EDGES + [None], ids=repr)
def test_dump_load_round_trip(value):
    text = V.dump(value)
    assert text.isascii()  # stores in any column, NUL and surrogates included
    assert_same(V.load(text), value)


@pytest.mark.parametrize("value", SCALAR_EDGES, ids=repr)
def test_scalars_dump_as_watermarks_always_did(value):
    old = _dump_before_values(value)
    assert V.dump(value) == old  # byte for byte: main's syncing reads what this branch writes
    assert_same(V.load(old), value)
    assert_same(_load_before_values(V.dump(value)), value)


@pytest.mark.parametrize("text, want", [
    ('{"t": "datetime", "v": "2026-11-01T10:00:00"}', dt.datetime(2026, 11, 1, 10, 0)),
    ('{"t": "datetime", "v": "2026-11-01T10:00:00.000250+00:00"}', dt.datetime(2026, 11, 1, 10, 0, 0, 250, UTC)),
    ('{"t": "date", "v": "2026-11-01"}', dt.date(2026, 11, 1)),
    ('{"t": "bool", "v": "True"}', True),
    ('{"t": "bool", "v": "False"}', False),
    ('{"t": "int", "v": "1700000000000"}', 1700000000000),
    ('{"t": "float", "v": "1e+300"}', 1e300),
    ('{"t": "float", "v": "-0.0"}', -0.0),
    ('{"t": "decimal", "v": "10.500"}', Decimal("10.500")),
    ('{"t": "decimal", "v": "1E+3"}', Decimal("1E+3")),
    ('{"t": "str", "v": "2026-11-01 10:00:00"}', "2026-11-01 10:00:00"),  # SQLite max() of a text column
    ('{"t": "str", "v": "\\u0000\\"\\\\"}', '\x00"\\'),
])
def test_old_watermark_texts_load_exactly(text, want):
    assert_same(V.load(text), want)


def test_a_nan_watermark_stored_before_still_loads():
    """Before, a NaN max() was stored; it must still read (dump refuses new ones)."""
    got = V.load('{"t": "float", "v": "nan"}')
    assert isinstance(got, float) and math.isnan(got)


@pytest.mark.parametrize("value, words", [
    (float("nan"), "NaN and infinity"), (float("inf"), "NaN and infinity"), (-float("inf"), "NaN and infinity"),
    (Decimal("NaN"), "NaN and infinity"), (Decimal("-Infinity"), "NaN and infinity"),
    (b"\x00", "type bytes"), (dt.time(10, 0), "type time"), ((1, 2), "type tuple"), ([1, object()], "type object"),
])
def test_dump_refuses_what_would_not_round_trip(value, words):
    with pytest.raises(UsageError, match=words):
        V.dump(value)


@pytest.mark.parametrize("text", [
    "", "nope", "1", "[]", '{"t": "int"}', '{"t": "int", "v": 1}', '{"t": "uuid", "v": "x"}',
    '{"t": "bool", "v": "yes"}', '{"t": "date", "v": "2026-02-30"}', '{"t": "decimal", "v": "x"}',
    '{"t": "list", "v": "1"}',
])
def test_load_refuses_what_dump_never_wrote(text):
    with pytest.raises(UsageError, match="not a stored value"):
        V.load(text)


def test_sync_watermark_wrappers_use_the_codec():
    from workbench.syncing import incremental as syncing

    mark = dt.datetime(2026, 11, 1, 10, 0, 0, 1, tzinfo=UTC)
    assert syncing._dump(mark) == V.dump(mark) and syncing._dump(None) is None and syncing._load(None) is None
    assert_same(syncing._load(syncing._dump(mark)), mark)
    for bad, words in [(float("nan"), "NaN"), ([1], "type list"), (b"x", "type bytes")]:
        with pytest.raises(UsageError, match=f"cannot keep .*{words}.*choose a timestamp or integer column"):
            syncing._dump(bad)


# --------------------------------------------------------------------------- params.json items


def test_params_json_written_today_decodes(tmp_path):
    """A params.json as the runner writes it before this change (report types only)."""
    f = tmp_path / "params.json"
    f.write_text(json.dumps({"report": "echo", "run_id": "r1", "notebook": "echo.ipynb", "parameters": {
        "day": {"type": "date", "value": "2026-11-01"},
        "at": {"type": "datetime", "value": "2026-11-01T10:00:00.5+01:00"},
        "region": {"type": "str", "value": "01234"},
        "top_n": {"type": "int", "value": 10},
        "ratio": {"type": "float", "value": 0.5},
        "whole": {"type": "float", "value": 2},
        "dry_run": {"type": "bool", "value": False},
        "regions": {"type": "list[str]", "value": ["EU", "a,b"]},
        "days": {"type": "list[date]", "value": ["2026-11-01", "2026-11-02"]},
        "maybe": {"type": "int | None", "value": None},
        "label": {"type": "str | None", "value": ""},
    }, "run": {}}, indent=1))
    got = P.load(f)
    want = {"day": dt.date(2026, 11, 1),
            "at": dt.datetime(2026, 11, 1, 10, 0, 0, 500000, dt.timezone(dt.timedelta(hours=1))),
            "region": "01234", "top_n": 10, "ratio": 0.5, "whole": 2.0, "dry_run": False,
            "regions": ["EU", "a,b"], "days": [dt.date(2026, 11, 1), dt.date(2026, 11, 2)], "maybe": None,
            "label": None}
    assert list(got) == list(want)
    for name in want:
        assert_same(got[name], want[name])


def test_report_encoding_is_unchanged():
    contract = P.inspect_notebook(NB / "echo.ipynb")
    assert P.encode(contract, P.validate(contract)) == {
        "day": {"type": "date", "value": "2026-11-01"}, "region": {"type": "str", "value": "EU"},
        "top_n": {"type": "int", "value": 10}, "ratio": {"type": "float", "value": 0.5},
        "dry_run": {"type": "bool", "value": False}, "regions": {"type": "list[str]", "value": ["EU", "US"]}}


@pytest.mark.parametrize("value, typ", [
    (dt.date(2026, 11, 1), "date"), (dt.datetime(2026, 11, 1, 10, 0, 0, 1, tzinfo=UTC), "datetime"),
    (Decimal("1.50"), "decimal"), (Decimal("-1E+3"), "decimal"), ("", "str"), ("a\x00'\"\\", "str"),
    (-0.0, "float"), (2**70, "int"), (True, "bool"), (None, "date | None"),
    ([dt.date(2026, 1, 1)], "list[date]"), ([Decimal("0.10")], "list[decimal]"),
])
def test_encode_decode_round_trip(value, typ):
    item = V.encode(value, typ)
    assert item["type"] == typ
    assert_same(V.decode(json.loads(json.dumps(item)), "x"), value)


# --------------------------------------------------------------------------- the type vocabulary


@pytest.mark.parametrize("text, want", [
    ("int", V.Type("int")), ("decimal", V.Type("decimal")), ("list[date]", V.Type("date", is_list=True)),
    ("List[str] | None", V.Type("str", True, True)), ("None | float", V.Type("float", optional=True)),
    ("Optional[datetime.datetime]", V.Type("datetime", optional=True)), ("datetime.date", V.Type("date")),
])
def test_type_text(text, want):
    assert V.Type.parse(text) == want
    assert V.Type.parse(str(want)) == want


def test_report_types_are_the_vocabulary_without_decimal():
    assert P.Type is V.Type and set(P.SCALARS) == set(V.SCALARS) - {"decimal"}
    with pytest.raises(ParameterError, match="has type 'decimal'"):
        P.parse_parameters_cell("x: decimal = '1.5'")
    for bad in ("dict", "list[list[int]]", "tuple[int]", "bytes"):
        with pytest.raises(ValueError):
            V.Type.parse(bad)


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize("typ, text, want", [
    ("str", " 01234 ", " 01234 "), ("str", "", ""), ("str", "a=b:c", "a=b:c"),
    ("int", "01234", 1234), ("int", " -5 ", -5), ("int", "+7", 7),
    ("float", "1e3", 1000.0), ("float", "-0.0", -0.0), ("float", "5", 5.0),
    ("decimal", "12.50", Decimal("12.50")), ("decimal", "-1E+3", Decimal("-1E+3")), ("decimal", ".5", Decimal(".5")),
    ("decimal", "0.1000000000000000000000000001", Decimal("0.1000000000000000000000000001")),
    ("bool", "TRUE", True), ("bool", "Yes", True), ("bool", "1", True),
    ("bool", "false", False), ("bool", "NO", False), ("bool", " 0 ", False),
    ("date", "2026-02-28", dt.date(2026, 2, 28)),
    ("datetime", "2026-11-01T10:00", dt.datetime(2026, 11, 1, 10, 0)),
    ("datetime", "2026-11-01 10:00:00.000001", dt.datetime(2026, 11, 1, 10, 0, 0, 1)),
    ("datetime", "2026-11-01T10:00:00Z", dt.datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),
    ("datetime", "2026-11-01T10:00:00-08:00", dt.datetime(2026, 11, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=-8)))),
    ("list[int]", "1, 2,3", [1, 2, 3]), ("list[str]", "", []), ("int | None", "", None), ("int | None", "null", None),
])
def test_parse_text(typ, text, want):
    assert_same(V.parse_text(text, typ, "x"), want)


@pytest.mark.parametrize("typ, text, words", [
    ("int", "1.5", "whole number"), ("int", "1e3", "whole number"), ("int", "1_000", "whole number"),
    ("int", "", "whole number"), ("int", "true", "whole number"),
    ("float", "abc", "a number"), ("float", "nan", "finite"), ("float", "-inf", "finite"),
    ("decimal", "NaN", "decimal number"), ("decimal", "Infinity", "decimal number"), ("decimal", "1,5", "decimal number"),
    ("decimal", "1_000", "decimal number"),
    ("bool", "maybe", "true/false"), ("bool", "2", "true/false"), ("bool", "", "true/false"),
    ("date", "2026-02-30", "no such day"), ("date", "20261101", "YYYY-MM-DD"), ("date", "2026-W44-1", "YYYY-MM-DD"),
    ("date", "2026-11-01T10:00", "YYYY-MM-DD"), ("date", "yesterday", "YYYY-MM-DD"),
    ("datetime", "2026-11-01T25:00", "YYYY-MM-DDTHH:MM"), ("datetime", "soon", "YYYY-MM-DDTHH:MM"),
    ("list[int]", "1,x", r"list\[int\], got 'x'"), ("int", "None", "whole number"),
])
def test_bad_text_is_one_line_naming_parameter_text_and_example(typ, text, words):
    with pytest.raises(ParameterError, match=words) as info:
        V.parse_text(text, typ, "top_n")
    message = str(info.value)
    assert message.startswith("top_n: expected ") and "\n" not in message
    assert repr(text) in message or repr(text.split(",")[-1]) in message
    assert "e.g." in message or "true/false" in message or "no such day" in message
    assert info.value.exit_code == 2


def test_to_text_reads_back():
    """What a contract or a --grid shows is text that means the same value again."""
    for value in [v for v in SCALAR_EDGES if not isinstance(v, str)] + [[1, 2], [dt.date(2026, 1, 1)]]:
        kind = next(k for c, k in V._KINDS if isinstance(value[0] if isinstance(value, list) else value, c))
        typ = f"list[{kind}]" if isinstance(value, list) else kind
        assert_same(V.parse_text(V.to_text(value), typ), value)


# --------------------------------------------------------------------------- Python values


@pytest.mark.parametrize("value, typ, want", [
    ("01234", "str", "01234"), (3, "float", 3.0), (dt.date(2026, 1, 2), "datetime", dt.datetime(2026, 1, 2)),
    (5, "decimal", Decimal(5)), (Decimal("1.10"), "decimal", Decimal("1.10")), ((1, "2"), "list[int]", [1, 2]),
    (None, "str | None", None), (False, "bool", False),
])
def test_coerce_accepts(value, typ, want):
    assert_same(V.coerce(value, typ, "x"), want)


@pytest.mark.parametrize("value, typ, words", [
    (1234, "str", "quote it"), (True, "int", "expected int"), (1.0, "int", "expected int"),
    (True, "float", "expected float"), (1, "bool", "expected bool"), (dt.datetime(2026, 1, 2), "date", "without a time"),
    (1.1, "decimal", "as text"), (True, "decimal", "expected decimal"), (None, "int", "got None"),
    ({"a": 1}, "list[int]", "comma list"), ("x", "date", "YYYY-MM-DD"),
])
def test_coerce_is_strict(value, typ, words):
    with pytest.raises(ParameterError, match=words) as info:
        V.coerce(value, typ, "x")
    assert str(info.value).startswith("x: ")


# --------------------------------------------------------------------------- one set of -p rules

AGREE = [
    ("int", "5"), ("int", "01234"), ("int", "1.5"), ("int", "1e3"), ("int", " 5"),
    ("float", "1e3"), ("float", "nan"), ("float", "x"),
    ("bool", "yes"), ("bool", "No"), ("bool", "TRUE"), ("bool", "0"), ("bool", "maybe"),
    ("date", "2026-11-01"), ("date", "2026-02-30"), ("date", "20261101"),
    ("datetime", "2026-11-01T10:00:00Z"), ("datetime", "2026-11-01T10:00:00.5+02:00"), ("datetime", "later"),
    ("str", "01234"), ("str", "'; drop table photos; --"),
]


def _report(typ: str, text: str):
    """What ``workbench run -p x TEXT`` validates TEXT to, for a notebook declaring ``x: typ``."""
    contract = P.Contract("nb.ipynb", tuple(P.parse_parameters_cell(f"x: {typ}")), 0)
    return P.validate(contract, P.parse_pairs([("x", text)]))["x"]


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except ParameterError as e:
        return ("error", str(e))


@pytest.mark.parametrize("typ, text", AGREE)
def test_sql_p_and_run_p_agree(typ, text):
    cli = _outcome(lambda: parse_param(f"x:{typ}={text}")[1])
    report = _outcome(_report, typ, text)
    assert cli[0] == report[0], (cli, report)
    if cli[0] == "ok":
        assert_same(cli[1], report[1])
    else:
        assert cli[1] == report[1] and cli[1].startswith("x: expected")


def test_sql_p_and_run_p_print_the_same_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "workbench.toml").write_text('[workbench]\nreports_dir = "reports"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    assert main(["run", str(NB / "echo.ipynb"), "-p", "top_n", "1.5"]) == 2
    run_err = capsys.readouterr().err
    assert main(["sql", "app", "select :top_n", "-p", "top_n:int", "1.5"]) == 2
    sql_err = capsys.readouterr().err
    assert run_err == sql_err and "top_n: expected int, got '1.5'; write a whole number, e.g. 42" in sql_err
    assert not (tmp_path / "reports" / "echo").exists()


def test_cli_param_forms():
    assert parse_param("name=a:b=c") == ("name", "a:b=c")
    assert parse_param(" n :int=7") == ("n", 7)
    assert_same(parse_param("d:decimal=0.10")[1], Decimal("0.10"))
    with pytest.raises(UsageError, match="unknown type 'list\\[int\\]'"):
        parse_param("x:list[int]=1,2")
    with pytest.raises(UsageError, match="write -p NAME VALUE"):
        parse_param("x")
