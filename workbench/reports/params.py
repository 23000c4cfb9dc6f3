"""A report's parameters as a typed contract: read it, check values against it, pass them as data.

The contract is the notebook's cell tagged ``parameters``, read with :mod:`ast` (never
executed): each ``name: type = default`` line declares one parameter, a trailing
``# comment`` is its help, and a bare ``name: type`` is required. Values from the command
line, a YAML file, ``workbench.toml`` or Python are coerced to the declared types (by
:mod:`workbench.values`),
before any kernel starts, so ``"01234"`` for a ``str`` stays ``"01234"``, a bad date is a
one-line error with exit code 2, and a parameter *name* can never be anything but an
identifier the notebook declared.

Values travel to the kernel as JSON (:func:`encode` / :func:`decode`), read by a fixed
injected cell: no value is ever rendered as Python source.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import itertools
import json
import keyword
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import values as V
from ..errors import ParameterError
from ..values import Type, coerce
from ..values import to_text as format_value

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

# The report vocabulary: values.SCALARS without decimal, which a notebook cannot write as
# a literal default.
SCALARS = ("str", "int", "float", "bool", "date", "datetime")


class _Missing:
    def __repr__(self) -> str:
        return "required"

    def __reduce__(self) -> str:  # stay the one REQUIRED across pickling (worker processes)
        return "REQUIRED"


REQUIRED = _Missing()


@dataclass(frozen=True)
class Parameter:
    name: str
    type: Type
    default: Any = REQUIRED
    help: str = ""
    line: int = 0

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Contract:
    """The parameters a notebook declares, in order, and where its parameters cell is."""

    notebook: str
    parameters: tuple[Parameter, ...]
    cell_index: int | None  # None: the notebook has no cell tagged "parameters"

    def get(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def as_rows(self) -> list[dict[str, str]]:
        return [
            {"name": p.name, "type": str(p.type),
             "default": "(required)" if p.required else format_value(p.default), "help": p.help}
            for p in self.parameters
        ]


# --------------------------------------------------------------------------- reading


def _cell_source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parameters_cell_index(nb: Any) -> int | None:
    for i, cell in enumerate(nb["cells"] if isinstance(nb, dict) else nb.cells):
        if cell.get("cell_type") == "code" and PARAMETERS_TAG in (cell.get("metadata") or {}).get("tags", []):
            return i
    return None


def _read_v4(path: str | Path) -> dict[str, Any]:
    """The notebook's JSON as nbformat would read it (``as_version=4``), for the contract only.

    Plain :mod:`json`: reading the parameters cell needs no validation, and importing
    nbformat costs over a second (jsonschema's format checkers). A notebook in another
    format version goes through nbformat, which converts it.
    """
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such notebook") from None
    except (OSError, ValueError) as e:  # a folder, unreadable, not JSON, not UTF-8
        raise ParameterError(f"{path}: not a readable notebook ({e})") from None
    if (isinstance(nb, dict) and nb.get("nbformat") == 4 and isinstance(nb.get("cells"), list)
            and all(isinstance(c, dict) for c in nb["cells"])):
        return nb
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as e:  # nbformat raises several unrelated types for a bad file
        raise ParameterError(f"{path}: not a readable notebook ({e})") from None


def inspect_notebook(path: str | Path, nb: Any = None) -> Contract:
    """Read the contract of the notebook at ``path`` (or of ``nb`` already read from it)."""
    if nb is None:
        nb = _read_v4(path)
    index = parameters_cell_index(nb)
    if index is None:
        return Contract(str(path), (), None)
    cells = nb["cells"] if isinstance(nb, dict) else nb.cells
    return Contract(str(path), tuple(parse_parameters_cell(_cell_source(cells[index]), str(path))), index)


def parse_parameters_cell(source: str, where: str = "parameters cell") -> list[Parameter]:
    """Parameters from the source of a parameters cell, without running it."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ParameterError(f"{where}: the parameters cell is not valid Python (line {e.lineno}): {e.msg}") from None
    comments = _line_comments(source)
    out: list[Parameter] = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            try:
                typ = Type.parse(ast.unparse(node.annotation), SCALARS)
            except ValueError:
                raise ParameterError(
                    f"{where}: parameter {name!r} has type {ast.unparse(node.annotation)!r}; "
                    f"use one of {', '.join(SCALARS)}, list[...] of them, or add '| None'"
                ) from None
            default = REQUIRED if node.value is None else _literal(node.value, name, where)
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            name = node.targets[0].id
            default = _literal(node.value, name, where)
            typ = _infer_type(default, name, where)
        else:
            continue  # imports and other statements may sit in the cell; they are not parameters
        if default is not REQUIRED:
            try:
                default = coerce(default, typ, name)
            except ParameterError as e:
                raise ParameterError(f"{where}: default of {e}") from None
        out.append(Parameter(name, typ, default, comments.get(node.lineno, ""), node.lineno))
    return out


def _line_comments(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return found


def _literal(node: ast.expr, name: str, where: str) -> Any:
    """A default: a literal, ``date(y, m, d)``/``datetime(...)`` or a list of those."""
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        fname = ast.unparse(node.func).removeprefix("datetime.").removeprefix("dt.")
        if fname in ("date", "datetime") and not node.keywords:
            try:
                args = [ast.literal_eval(a) for a in node.args]
                return (dt.date if fname == "date" else dt.datetime)(*args)
            except (ValueError, TypeError):
                pass
    if isinstance(node, ast.List):
        return [_literal(e, name, where) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ParameterError(
            f"{where}: default of {name!r} ({ast.unparse(node)}) is not a literal; "
            "write a literal, date(y, m, d) or a list of those"
        ) from None


def _infer_type(value: Any, name: str, where: str) -> Type:
    if value is None:
        return Type("str", optional=True)
    for scalar, kind in (("bool", bool), ("int", int), ("float", float), ("datetime", dt.datetime),
                         ("date", dt.date), ("str", str)):
        if type(value) is kind:
            return Type(scalar)
    if isinstance(value, list):
        inner = {_infer_type(v, name, where).scalar for v in value} or {"str"}
        if len(inner) == 1:
            return Type(inner.pop(), is_list=True)
    raise ParameterError(f"{where}: cannot tell the type of {name!r}; annotate it, e.g. {name}: str = ...")


# --------------------------------------------------------------------------- coercion


# format_value and coerce are workbench.values' to_text and coerce (imported above).


def unknown_parameter(name: str, contract: "Contract") -> ParameterError:
    """The error for a parameter the notebook does not declare, with the likely intended name."""
    import difflib

    known = sorted(p.name for p in contract.parameters)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ParameterError(f"{name}: unknown parameter of {contract.notebook}; {hint}known: {', '.join(known)}")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ParameterError(f"{name!r} is not a parameter name; names are Python identifiers like top_n")
    return name


def validate(contract: Contract, *layers: dict[str, Any] | None) -> dict[str, Any]:
    """The full, typed parameter set: declared defaults overlaid by each layer in order.

    Later layers win (e.g. ``workbench.toml`` defaults, then a params file, then ``-p``).
    Every name must be declared; every required parameter must end up with a value.
    """
    given: dict[str, Any] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            check_name(name)
            given[name] = value
    known = {p.name for p in contract.parameters}
    for name in given:
        if name not in known:
            if contract.cell_index is None:
                raise ParameterError(
                    f"{name}: {contract.notebook} declares no parameters; tag a cell 'parameters' to add some"
                )
            raise unknown_parameter(name, contract)
    values: dict[str, Any] = {}
    for p in contract.parameters:
        if p.name in given:
            values[p.name] = coerce(given[p.name], p.type, p.name)
        elif p.required:
            raise ParameterError(f"{p.name}: required parameter ({p.type}) missing; pass -p {p.name} VALUE")
        else:
            values[p.name] = p.default
    return values


def parse_pairs(pairs: list[tuple[str, str]] | None) -> dict[str, str]:
    """``-p name value`` pairs from the command line, kept as text for :func:`coerce`."""
    out: dict[str, str] = {}
    for name, value in pairs or []:
        out[check_name(name)] = value
    return out


def load_file(path: str | Path) -> dict[str, Any]:
    """A ``--params-file``: YAML (or JSON) mapping. Scalars are read as text, so the
    declared type decides what ``01234`` or ``no`` means, not YAML's guessing."""
    import yaml

    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such parameters file") from None
    except yaml.YAMLError as e:
        raise ParameterError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: must be a mapping of name: value")
    return data


def expand_grid(contract: Contract, specs: list[str]) -> list[dict[str, str]]:
    """Every combination of ``--grid name=a,b,c`` / ``--grid day=2026-11-01..2026-11-07``."""
    axes: list[tuple[str, list[str]]] = []
    for spec in specs:
        name, sep, rhs = spec.partition("=")
        name = check_name(name.strip())
        if not sep or not rhs:
            raise ParameterError(f"--grid {spec}: write name=a,b,c or name=FIRST..LAST")
        p = contract.get(name)
        if p is None:
            raise unknown_parameter(name, contract)
        if p.type.is_list:
            raise ParameterError(f"--grid {name}: a list parameter cannot be a grid axis; use --params-file per run")
        if ".." in rhs:
            first, _, last = rhs.partition("..")
            lo, hi = coerce(first, p.type, name), coerce(last, p.type, name)
            if p.type.scalar == "date":
                values = [format_value(lo + dt.timedelta(days=i)) for i in range((hi - lo).days + 1)]
            elif p.type.scalar == "int":
                values = [str(i) for i in range(lo, hi + 1)]
            else:
                raise ParameterError(f"--grid {name}: ranges work for date and int parameters; list the values")
            if not values:
                raise ParameterError(f"--grid {spec}: empty range; FIRST must not be after LAST")
        else:
            values = [v.strip() for v in rhs.split(",")]
        axes.append((name, values))
    names = [a[0] for a in axes]
    if len(set(names)) != len(names):
        raise ParameterError("--grid: each parameter may be given once")
    return [dict(zip(names, combo)) for combo in itertools.product(*(a[1] for a in axes))]


# --------------------------------------------------------------------------- transport


def encode(contract: Contract, values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready ``{name: {"type": ..., "value": ...}}`` for the kernel and ``params.json``."""
    return {name: V.encode(value, contract.get(name).type)  # type: ignore[union-attr]
            for name, value in values.items()}


def decode(encoded: dict[str, Any]) -> dict[str, Any]:
    """The typed values back from :func:`encode`'s output (dates as dates)."""
    return {check_name(name): V.decode(item, name) for name, item in encoded.items()}


def load(path: str | Path) -> dict[str, Any]:
    """Typed values from a ``params.json`` written by the runner."""
    return decode(json.loads(Path(path).read_text(encoding="utf-8"))["parameters"])
