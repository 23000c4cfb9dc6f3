"""Typed values, converted one way: type names, command-line text, Python values, JSON.

Query parameters (``workbench sql -p name:int=5``), report parameters and sync
watermarks used to be converted in three places with three sets of rules, so the same
text could mean a value in one command and an error in another. They all come here:

- :class:`Type` and :data:`SCALARS`: ``str int float decimal bool date datetime``,
  ``list[T]`` and ``T | None`` (or ``Optional[T]``).
- :func:`parse_text`: a value from command-line text; the rules of every ``-p``.
- :func:`coerce`: a Python value (TOML, YAML, a caller) checked against a type, strictly.
- :func:`to_text`: the text :func:`parse_text` reads back (shown in contracts and grids).
- :func:`dump` / :func:`load`: self-describing JSON text that round-trips exactly
  (sync watermarks), in the ``{"t": ..., "v": ...}`` format watermarks have always had.
- :func:`encode` / :func:`decode`: the ``{"type": ..., "value": ...}`` items of a
  report run's ``params.json``.

A foundation module: it imports the standard library and :mod:`workbench.errors` only,
so anything in workbench may import it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError, UsageError

SCALARS = ("str", "int", "float", "decimal", "bool", "date", "datetime")

_INT = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_NONE_TEXT = ("", "None", "null")

_HINT_BOOL = "; write true/false, yes/no or 1/0"
_HINT_INT = "; write a whole number, e.g. 42"
_HINT_FLOAT = "; write a number, e.g. 1.5"
_HINT_DECIMAL = "; write a decimal number, e.g. 12.50"
_HINT_DATE = "; write YYYY-MM-DD, e.g. 2026-11-01"
_HINT_DATETIME = "; write YYYY-MM-DDTHH:MM[:SS][+HH:MM], e.g. 2026-11-01T10:00:00Z"


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Type:
    """A value type: a scalar, ``list[scalar]``, optionally ``| None``."""

    scalar: str
    is_list: bool = False
    optional: bool = False

    def __str__(self) -> str:
        s = f"list[{self.scalar}]" if self.is_list else self.scalar
        return f"{s} | None" if self.optional else s

    @classmethod
    def parse(cls, text: str, scalars: tuple[str, ...] = SCALARS) -> Type:
        """``"list[str] | None"`` → Type; raises ValueError for anything else.

        ``scalars`` narrows the vocabulary for a caller that supports fewer types
        (report parameters have no ``decimal``).
        """
        t = text.replace(" ", "")
        optional = False
        for pat in ("|None", "None|"):
            if pat in t:
                t, optional = t.replace(pat, ""), True
        m = re.fullmatch(r"Optional\[(.+)\]", t)
        if m:
            t, optional = m.group(1), True
        m = re.fullmatch(r"(?:list|List)\[(\w+)\]", t)
        scalar, is_list = (m.group(1), True) if m else (t, False)
        scalar = {"datetime.date": "date", "datetime.datetime": "datetime"}.get(scalar, scalar)
        if scalar not in scalars:
            raise ValueError(text)
        return cls(scalar, is_list, optional)


def _as_type(typ: Type | str) -> Type:
    return typ if isinstance(typ, Type) else Type.parse(typ)


# --------------------------------------------------------------------------- text and Python values


def parse_text(text: str, typ: Type | str, name: str = "value") -> Any:
    """``text`` (from a command line) as a value of ``typ``, e.g. ``parse_text("5", "int", "top_n")``.

    ``workbench sql``/``export -p name:TYPE=text`` and ``workbench run -p NAME text`` all
    come here, so the same text means the same value in every command. A list is
    comma-separated text; for an optional type ``""``, ``None`` and ``null`` mean None.
    A bad text is a one-line :class:`ParameterError` naming ``name`` and the text.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_text reads text, not {type(text).__name__}; use coerce for Python values")
    return coerce(text, _as_type(typ), name)


def coerce(value: Any, typ: Type | str, name: str = "value") -> Any:
    """``value`` (text, or a typed Python value from TOML, YAML or a caller) as ``typ``.

    Text follows :func:`parse_text`'s rules; a Python value must already be of the type
    (an int is a float, a date is a midnight datetime, nothing else is converted), so
    ``1234`` for a ``str`` is an error rather than a silent ``"1234"``.
    """
    typ = _as_type(typ)
    if value is None or (typ.optional and isinstance(value, str) and value in _NONE_TEXT):
        if typ.optional:
            return None
        raise ParameterError(f"{name}: expected {typ}, got None")
    if typ.is_list:
        if isinstance(value, str):
            items: list[Any] = [] if value.strip() == "" else [v.strip() for v in value.split(",")]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise ParameterError(f"{name}: expected {typ} (a comma list or a YAML list), got {value!r}")
        return [_scalar(v, typ.scalar, name, str(typ)) for v in items]
    return _scalar(value, typ.scalar, name, str(typ))


def _scalar(value: Any, scalar: str, name: str, shown: str) -> Any:
    def bad(hint: str = "") -> ParameterError:
        return ParameterError(f"{name}: expected {shown}, got {value!r}{hint}")

    if isinstance(value, str):
        return _FROM_TEXT[scalar](value, bad)
    return _FROM_PYTHON[scalar](value, bad)


def _text_bool(text: str, bad: Any) -> bool:
    word = text.strip().lower()
    if word in _TRUE | _FALSE:
        return word in _TRUE
    raise bad(_HINT_BOOL)


def _text_int(text: str, bad: Any) -> int:
    if _INT.match(text.strip()):
        return int(text.strip())
    raise bad(_HINT_INT)  # 1.5 and 1e3 are not whole numbers as written


def _text_float(text: str, bad: Any) -> float:
    try:
        f = float(text.strip())
    except ValueError:
        raise bad(_HINT_FLOAT) from None
    if not math.isfinite(f):
        raise bad("; give a finite number, e.g. 1.5")
    return f


def _text_decimal(text: str, bad: Any) -> decimal.Decimal:
    """Exactly the digits written: ``12.50`` keeps its trailing zero. NaN and infinity are
    not numbers a query can compare with, so they are rejected as for float."""
    if _DECIMAL.fullmatch(text.strip()):
        return decimal.Decimal(text.strip())
    raise bad(_HINT_DECIMAL)


def _text_date(text: str, bad: Any) -> dt.date:
    if _DATE.fullmatch(text.strip()):  # not fromisoformat's other forms (20261101, 2026-W44-1)
        try:
            return dt.date.fromisoformat(text.strip())
        except ValueError:
            raise bad("; no such day") from None
    raise bad(_HINT_DATE)


def _text_datetime(text: str, bad: Any) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise bad(_HINT_DATETIME) from None


_FROM_TEXT = {
    "str": lambda text, bad: text,
    "bool": _text_bool, "int": _text_int, "float": _text_float, "decimal": _text_decimal,
    "date": _text_date, "datetime": _text_datetime,
}


def _py_str(value: Any, bad: Any) -> str:
    raise bad("; quote it")  # only text is a str: 01234 from YAML/TOML must not lose its zero


def _py_bool(value: Any, bad: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise bad(_HINT_BOOL)


def _py_int(value: Any, bad: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise bad(_HINT_INT)


def _py_float(value: Any, bad: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise bad(_HINT_FLOAT)


def _py_decimal(value: Any, bad: Any) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return decimal.Decimal(value)
    raise bad("; give it as text, e.g. '12.50', so no digit is lost")  # a float has lost them already


def _py_date(value: Any, bad: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise bad("; give a date without a time")
    if isinstance(value, dt.date):
        return value
    raise bad(_HINT_DATE)


def _py_datetime(value: Any, bad: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise bad(_HINT_DATETIME)


_FROM_PYTHON = {
    "str": _py_str, "bool": _py_bool, "int": _py_int, "float": _py_float, "decimal": _py_decimal,
    "date": _py_date, "datetime": _py_datetime,
}


def to_text(value: Any) -> str:
    """``value`` as the text :func:`parse_text` reads back (lists comma-joined, None as ``None``)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(to_text(v) for v in value)
    return "None" if value is None else str(value)


# --------------------------------------------------------------------------- JSON: dump / load

# datetime before date and bool before int: each is a subclass of the next.
_KINDS = ((dt.datetime, "datetime"), (dt.date, "date"), (bool, "bool"), (int, "int"), (float, "float"),
          (decimal.Decimal, "decimal"), (str, "str"))


def dump(value: Any) -> str:
    """``value`` as JSON text that :func:`load` turns back into an equal value of the same type.

    A scalar is ``{"t": kind, "v": text}`` (bool as ``"True"``/``"False"``), byte for byte
    what sync watermarks have always been; a list is ``{"t": "list", "v": [...]}``; None
    is ``null``. The text is ASCII (JSON escapes), so it stores anywhere.
    """
    return json.dumps(_tagged(value))


def _tagged(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return {"t": "list", "v": [_tagged(v) for v in value]}
    for cls, kind in _KINDS:
        if isinstance(value, cls):
            if kind in ("float", "decimal") and not _finite(value):
                raise UsageError(f"{value!r} is not stored: NaN and infinity compare with nothing")
            return {"t": kind, "v": value.isoformat() if kind in ("datetime", "date") else str(value)}
    raise UsageError(f"a value of type {type(value).__name__} is not stored; "
                     f"store one of {', '.join(SCALARS)} or a list of them")


def _finite(value: float | decimal.Decimal) -> bool:
    return value.is_finite() if isinstance(value, decimal.Decimal) else math.isfinite(value)


def _read_bool(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(f"bool {text!r}")
    return text == "True"


# Lenient where the old writer was: float("nan") reads a NaN watermark stored before
# dump refused them, so every stored value still loads.
_READ = {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "bool": _read_bool, "int": int,
         "float": float, "decimal": decimal.Decimal, "str": str}


def load(text: str) -> Any:
    """The value :func:`dump` wrote as ``text``; a text it could not have written is a UsageError."""
    try:
        return _untagged(json.loads(text))
    except (ValueError, KeyError, TypeError, decimal.InvalidOperation) as e:
        raise UsageError(f"not a stored value ({type(e).__name__}: {e}): {str(text)[:80]!r}") from None


def _untagged(item: Any) -> Any:
    if item is None:
        return None
    kind, v = item["t"], item["v"]
    if kind == "list" and isinstance(v, list):
        return [_untagged(x) for x in v]
    if kind not in _READ or not isinstance(v, str):
        raise ValueError(f"no stored kind {kind!r} with text {v!r}")
    return _READ[kind](v)


# --------------------------------------------------------------------------- JSON: params.json items


def encode(value: Any, typ: Type | str) -> dict[str, Any]:
    """``{"type": "date", "value": "2026-11-01"}``: a value and its type as JSON-ready data,
    the items of a report run's ``params.json`` (dates as ISO text, decimals as text)."""
    return {"type": str(_as_type(typ)), "value": _to_json(value)}


def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    return value


def decode(item: dict[str, Any], name: str = "value") -> Any:
    """The typed value back from an :func:`encode` item (dates as dates)."""
    value = item["value"]
    return None if value is None else coerce(value, Type.parse(item["type"]), name)
