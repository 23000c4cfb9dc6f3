"""Names and values in SQL: bound ``:name`` parameters, quoted identifiers and literals.

Every source takes parameters as ``:name`` in the SQL text, whatever its driver's own
style, and values are always passed to the driver separately from the text. This
module finds the placeholders (outside string literals, quoted identifiers, dollar
quotes and comments, and never the ``::`` of a PostgreSQL cast), checks them against
the values given, and rewrites the text into the driver's style. It never puts a value
into SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ParameterError

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Placeholder:
    name: str
    start: int  # index of the colon
    end: int  # index after the name


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index after the closing quote (doubled quotes and backslash escapes skipped)."""
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if c == "\\" and quote == "'":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def placeholders(sql: str) -> list[Placeholder]:
    """Every ``:name`` placeholder in ``sql``, in order (repeats included)."""
    found: list[Placeholder] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i = _skip_quoted(sql, i, c)
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "$":
            m = _DOLLAR_TAG.match(sql, i)
            if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                j = sql.find(m.group(0), m.end())
                i = n if j < 0 else j + len(m.group(0))
            else:
                i += 1
        elif c == ":":
            if sql.startswith("::", i):
                i += 2
                continue
            prev = sql[i - 1] if i else ""
            m = _NAME.match(sql, i + 1)
            if m and not (prev.isalnum() or prev == "_"):
                found.append(Placeholder(m.group(0), i, m.end()))
                i = m.end()
            else:
                i += 1
        else:
            i += 1
    return found


def check(sql: str, params: Mapping[str, Any]) -> list[Placeholder]:
    """The placeholders of ``sql``, after checking each has a value and each value is used."""
    found = placeholders(sql)
    used = {p.name for p in found}
    missing = [p.name for p in found if p.name not in params]
    if missing:
        name = missing[0]
        raise ParameterError(
            f"the query uses :{name} but no value was given; pass {name}=... "
            f"(or params={{'{name}': ...}})"
        )
    unused = [k for k in params if k not in used]
    if unused:
        name = unused[0]
        raise ParameterError(
            f"parameter {name!r} is not used by the query; remove it or write :{name} where it belongs"
        )
    return found


def rewrite(sql: str, found: list[Placeholder], style: str) -> str:
    """``sql`` with each placeholder in the driver's paramstyle.

    ``pyformat`` -> ``%(name)s`` (and every literal ``%`` doubled, as psycopg and
    PyMySQL require), ``named`` -> ``:name``, ``dollar`` -> ``$name`` (DuckDB).
    """
    if style == "named":
        return sql
    out: list[str] = []
    last = 0
    for p in found:
        chunk = sql[last:p.start]
        out.append(chunk.replace("%", "%%") if style == "pyformat" else chunk)
        out.append(f"%({p.name})s" if style == "pyformat" else f"${p.name}")
        last = p.end
    tail = sql[last:]
    out.append(tail.replace("%", "%%") if style == "pyformat" else tail)
    return "".join(out)


def prepare(sql: str, params: Mapping[str, Any], style: str) -> str:
    """Check ``params`` against ``sql`` and return the text in ``style``."""
    return rewrite(sql, check(sql, params), style)


def quote_ident(name: str, dialect: str = "ansi") -> str:
    """``name`` as a quoted identifier: ``"name"`` (DuckDB, PostgreSQL, SQLite) or `` `name` `` (MySQL)."""
    if dialect == "mysql":
        return "`" + str(name).replace("`", "``") + "`"
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a standard SQL string literal, for the few places that take no parameter
    (DuckDB's ATTACH, COPY ... TO and file readers' paths): never for user values."""
    return "'" + str(text).replace("'", "''") + "'"
