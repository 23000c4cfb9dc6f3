"""The parameter contract: read from the notebook, values coerced or rejected before any kernel."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.cli import main
from workbench.errors import ParameterError
from workbench.reports import params as P

from tests.support.projects import NOTEBOOKS, write_reports_config

NB = NOTEBOOKS


@pytest.fixture
def echo():
    return P.inspect_notebook(NB / "echo.ipynb")


def test_contract_is_read_without_running(echo):
    rows = {r["name"]: r for r in echo.as_rows()}
    assert list(rows) == ["day", "region", "top_n", "ratio", "dry_run", "regions"]
    assert rows["day"] == {"name": "day", "type": "date", "default": "2026-11-01", "help": "the day to report on"}
    assert rows["regions"]["type"] == "list[str]" and rows["regions"]["default"] == "EU,US"
    assert rows["ratio"]["help"] == ""
    assert echo.get("day").default == dt.date(2026, 11, 1)


def test_required_and_optional_and_no_cell():
    c = P.inspect_notebook(NB / "required.ipynb")
    assert c.get("label").required and not c.get("count").required
    assert P.inspect_notebook(NB / "noparams.ipynb").cell_index is None
    ps = P.parse_parameters_cell("x: int | None = None\ny = 1.5\nz: list[int] = [1, 2]\nimport os\n")
    assert [(p.name, str(p.type), p.default) for p in ps] == [
        ("x", "int | None", None), ("y", "float", 1.5), ("z", "list[int]", [1, 2])]


@pytest.mark.parametrize("source, message", [
    ("x: dict = {}", "has type 'dict'"),
    ("x = os.getcwd()", "is not a literal"),
    ("x: int = 'a'", "default of x: expected int"),
    ("x: int = (", "not valid Python"),
])
def test_bad_parameters_cells(source, message):
    with pytest.raises(ParameterError, match=message):
        P.parse_parameters_cell(source)


def test_strings_stay_strings_and_types_are_declared_not_guessed(echo):
    v = P.validate(echo, {"region": "01234", "top_n": "01234", "ratio": "1e3", "dry_run": "No",
                          "day": "2026-02-28", "regions": "a, b ,c"})
    assert v["region"] == "01234" and v["top_n"] == 1234 and v["ratio"] == 1000.0
    assert v["dry_run"] is False and v["day"] == dt.date(2026, 2, 28) and v["regions"] == ["a", "b", "c"]
    assert P.validate(echo)["regions"] == ["EU", "US"]  # the declared defaults
    typed = P.validate(echo, {"day": dt.date(2026, 1, 2), "top_n": 3, "regions": ["x,y"]})
    assert typed["day"] == dt.date(2026, 1, 2) and typed["regions"] == ["x,y"]


def test_layers_later_wins(echo):
    v = P.validate(echo, {"region": "US", "top_n": "3"}, {"region": "APAC"})
    assert (v["region"], v["top_n"]) == ("APAC", 3)


@pytest.mark.parametrize("given, message", [
    ({"nope": "1"}, "nope: unknown parameter"),
    ({"top_n": "1.5"}, "top_n: expected int"),
    ({"top_n": True}, "top_n: expected int"),
    ({"region": 1234}, "region: expected str"),
    ({"dry_run": "maybe"}, "dry_run: expected bool"),
    ({"dry_run": "2"}, "dry_run: expected bool"),
    ({"day": "2026-02-30"}, "no such day"),
    ({"day": "yesterday"}, "write YYYY-MM-DD"),
    ({"day": "2026-02-03T10:00"}, "write YYYY-MM-DD"),
    ({"ratio": "nan"}, "finite"),
    ({"__import__('os')": "1"}, "is not a parameter name"),
    ({"a b": "1"}, "is not a parameter name"),
    ({"class": "1"}, "is not a parameter name"),
    ({"x;import os": "1"}, "is not a parameter name"),
])
def test_rejections_are_one_line_usage_errors(echo, given, message):
    with pytest.raises(ParameterError, match=message) as info:
        P.validate(echo, given)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_missing_required_and_no_parameters_cell():
    with pytest.raises(ParameterError, match="label: required parameter"):
        P.validate(P.inspect_notebook(NB / "required.ipynb"))
    with pytest.raises(ParameterError, match="declares no parameters"):
        P.validate(P.inspect_notebook(NB / "noparams.ipynb"), {"x": "1"})


def test_params_file_reads_text_not_yaml_guesses(tmp_path, echo):
    f = tmp_path / "p.yaml"
    f.write_text("region: 01234\ndry_run: no\ntop_n: 007\nregions: [a, 'b c']\nday: 2026-11-03\n")
    v = P.validate(echo, P.load_file(f))
    assert v == {**P.validate(echo), "region": "01234", "dry_run": False, "top_n": 7, "regions": ["a", "b c"],
                 "day": dt.date(2026, 11, 3)}
    (tmp_path / "bad.yaml").write_text("- a\n- b\n")
    with pytest.raises(ParameterError, match="must be a mapping"):
        P.load_file(tmp_path / "bad.yaml")


def test_grid_expansion(echo):
    sets = P.expand_grid(echo, ["day=2026-11-01..2026-11-03", "region=EU,US"])
    assert len(sets) == 6 and sets[0] == {"day": "2026-11-01", "region": "EU"}
    assert sets[-1] == {"day": "2026-11-03", "region": "US"}
    assert [s["top_n"] for s in P.expand_grid(echo, ["top_n=3..5"])] == ["3", "4", "5"]
    for spec, message in [("day=2026-11-03..2026-11-01", "empty range"), ("regions=a,b", "list parameter"),
                          ("nope=1", "unknown parameter"), ("region", "write name=")]:
        with pytest.raises(ParameterError, match=message):
            P.expand_grid(echo, [spec])


def test_encode_decode_round_trip(echo):
    values = P.validate(echo, {"region": "'; drop table photos; --"})
    assert P.decode(P.encode(echo, values)) == values


@pytest.mark.parametrize("args, message", [
    (["-p", "nope", "1"], "nope: unknown parameter"),
    (["-p", "top_n", "ten"], "top_n: expected int"),
    (["-p", "__import__('os')", "1"], "is not a parameter name"),
    (["-p", "top_n"], "needs a name and a value"),
    (["--grid", "day=2026-11-02..2026-11-01"], "empty range"),
    (["--timeout", "soon"], "is not a duration"),
])
def test_cli_rejects_before_any_kernel(tmp_path, monkeypatch, capsys, args, message):
    write_reports_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    code = main(["run", str(NB / "echo.ipynb"), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "reports" / "echo").exists()  # nothing was started or published


def test_cli_params_prints_the_contract(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    write_reports_config(tmp_path, {"echo": {"notebook": NB / "echo.ipynb", "parameters": {"region": "US"}}})
    assert main(["params", "echo"]) == 0
    out = capsys.readouterr().out
    for text in ("day", "date", "2026-11-01", "the day to report on", "list[str]", "US (workbench.toml)"):
        assert text in out


def test_unknown_name_suggests_the_close_one():
    from workbench.errors import ParameterError
    from workbench.reports.params import inspect_notebook, validate

    contract = inspect_notebook(NB / "echo.ipynb")
    first = contract.parameters[0].name
    typo = first[:-1] + ("x" if first[-1] != "x" else "y")
    with pytest.raises(ParameterError, match=f"did you mean '{first}'"):
        validate(contract, {typo: "1"})
