"""Names and values in SQL text: one lexer for placeholders, identifiers and table names.

Every source takes parameters as ``:name`` in the SQL text, whatever its driver's own
style, and values are always passed to the driver separately from the text. This
module finds the placeholders (outside string literals, quoted identifiers, dollar
quotes and comments, and never the ``::`` of a PostgreSQL cast), checks them against
the values given, and rewrites the text into the driver's style. It never puts a value
into SQL text.

The same scanner answers the other questions callers ask of a statement: which bare
words it names (DataFrames in the caller's scope, sources a report used) and which
tables follow ``FROM``/``JOIN`` (completion). One scanner, so the three can never
disagree about where a string literal ends.

Backslashes: in MySQL a backslash escapes the next character inside ``'...'`` and
``"..."``; in standard SQL (PostgreSQL, SQLite, DuckDB) it is an ordinary character,
except in PostgreSQL's ``E'...'`` strings. ``dialect="mysql"`` switches the former on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from .errors import ParameterError, UsageError

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
#: A plain SQL name: what table, column and parameter names must look like unquoted.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Placeholder:
    name: str
    start: int  # index of the colon
    end: int  # index after the name


@dataclass(frozen=True)
class Token:
    """A piece of SQL text the scanner tells apart: ``word``, ``quoted`` (a ``"..."`` or
    `````...````` identifier, ``text`` unquoted), ``string``, ``comment``, ``placeholder``
    (``text`` is the name) or ``punct`` (any other character, ``.`` included)."""

    kind: str
    start: int
    end: int
    text: str


def _skip_quoted(sql: str, i: int, quote: str, backslash: bool) -> int:
    """Index after the closing quote (doubled quotes, and backslash escapes if asked, skipped)."""
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if c == "\\" and backslash:
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def tokens(sql: str, dialect: str = "ansi") -> Iterator[Token]:
    """The tokens of ``sql`` that matter to workbench, in order (white space dropped)."""
    mysql = dialect == "mysql"
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif c == "'":
            escape = mysql or (i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_")))
            j = _skip_quoted(sql, i, "'", escape)
            yield Token("string", i, j, sql[i:j])
            i = j
        elif c in '"`':
            j = _skip_quoted(sql, i, c, mysql and c == '"')
            body = sql[i + 1:j - 1] if j - i >= 2 and sql[j - 1] == c else sql[i + 1:j]
            yield Token("quoted", i, j, body.replace(c + c, c))
            i = j
        elif sql.startswith("--", i) or (mysql and c == "#"):
            j = sql.find("\n", i)
            j = n if j < 0 else j + 1
            yield Token("comment", i, j, sql[i:j])
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            yield Token("comment", i, j, sql[i:j])
            i = j
        elif c == "$" and (m := _DOLLAR_TAG.match(sql, i)) and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            j = sql.find(m.group(0), m.end())
            j = n if j < 0 else j + len(m.group(0))
            yield Token("string", i, j, sql[i:j])
            i = j
        elif c == ":":
            if sql.startswith("::", i):
                yield Token("punct", i, i + 2, "::")
                i += 2
                continue
            prev = sql[i - 1] if i else ""
            m = NAME.match(sql, i + 1)
            if m and not (prev.isalnum() or prev == "_"):
                yield Token("placeholder", i, m.end(), m.group(0))
                i = m.end()
            else:
                yield Token("punct", i, i + 1, c)
                i += 1
        elif (m := _WORD.match(sql, i)) and not (i and (sql[i - 1].isalnum() or sql[i - 1] in "_$")):
            yield Token("word", i, m.end(), m.group(0))
            i = m.end()
        else:
            yield Token("punct", i, i + 1, c)
            i += 1


def placeholders(sql: str, dialect: str = "ansi") -> list[Placeholder]:
    """Every ``:name`` placeholder in ``sql``, in order (repeats included)."""
    return [Placeholder(t.text, t.start, t.end) for t in tokens(sql, dialect) if t.kind == "placeholder"]


def identifiers(sql: str, dialect: str = "ansi") -> set[str]:
    """Bare and quoted names of ``sql`` outside literals and comments, not after a ``.``
    (candidate DataFrame, source and dataset names)."""
    out: set[str] = set()
    prev: Token | None = None
    for t in tokens(sql, dialect):
        if t.kind in ("word", "quoted") and not (prev is not None and prev.kind == "punct" and prev.text == "."
                                                 and prev.end == t.start):
            out.add(t.text)
        prev = t
    return out


_TABLE_KEYWORDS = {"from", "join"}


def table_refs(sql: str, dialect: str = "ansi") -> list[str]:
    """Dotted names right after ``FROM`` or ``JOIN`` (``photos``, ``app.photos``), in order."""
    toks = [t for t in tokens(sql, dialect) if t.kind != "comment"]
    refs: list[str] = []
    for k, t in enumerate(toks):
        if t.kind == "word" and t.text.lower() in _TABLE_KEYWORDS:
            parts: list[str] = []
            j = k + 1
            while j < len(toks) and toks[j].kind in ("word", "quoted"):
                parts.append(toks[j].text)
                if j + 2 < len(toks) and toks[j + 1].text == "." and toks[j + 1].kind == "punct":
                    j += 2
                    continue
                break
            if parts:
                refs.append(".".join(parts))
    return refs


@dataclass(frozen=True)
class Reads:
    """What a statement reads, as far as its text tells (see :func:`reads`)."""

    #: dotted names in table position: after FROM / JOIN and in FROM's comma lists, CTEs left out
    tables: tuple[str, ...]
    #: table functions in table position (``read_parquet``, ``generate_series``): opaque reads
    functions: tuple[str, ...]
    #: whether the statement may write or change state (not a plain SELECT / WITH / VALUES / FROM / TABLE)
    writes: bool


_READ_STARTS = {"select", "with", "values", "from", "table"}
_WRITE_WORDS = {"insert", "update", "delete", "merge", "create", "drop", "alter", "truncate", "copy", "attach",
                "detach", "call", "set", "pragma", "grant", "revoke", "install", "load", "export", "import",
                "vacuum", "analyze", "checkpoint", "lock", "upsert", "begin", "commit", "rollback", "into",
                "execute", "prepare", "use", "reset"}
#: words that end a FROM item (so they are not its alias)
_CLAUSE_WORDS = {"where", "group", "order", "limit", "having", "join", "inner", "left", "right", "full", "cross",
                 "natural", "on", "using", "union", "except", "intersect", "window", "qualify", "offset", "fetch",
                 "for", "returning", "pivot", "unpivot", "using", "sample", "tablesample", "positional", "asof",
                 "anti", "semi", "lateral", "outer", "into", "values", "select", "straight_join", "force", "ignore",
                 "with", "partition", "lock"}
#: functions whose arguments use FROM as a word (``extract(year from ts)``)
_FROM_IN_ARGS = {"extract", "substring", "trim", "position", "overlay"}


def reads(sql: str, dialect: str = "ansi") -> Reads:
    """The tables ``sql`` reads, for callers that must know every one (the result cache).

    Finer than :func:`table_refs`: FROM's comma lists (``from a, b``) count, names
    defined by ``WITH name AS (...)`` do not, FROM inside ``extract(... from ...)`` and
    ``is distinct from`` is no table, and table functions are listed apart. Callers
    that need certainty treat anything they cannot resolve as unknown.
    """
    toks = [t for t in tokens(sql, dialect) if t.kind != "comment"]
    n = len(toks)
    match: dict[int, int] = {}
    stack: list[int] = []
    opener: dict[int, str] = {}  # index of "(" -> the word before it (lower), "" if none
    for k, t in enumerate(toks):
        if t.kind == "punct" and t.text == "(":
            stack.append(k)
            opener[k] = toks[k - 1].text.lower() if k and toks[k - 1].kind == "word" else ""
        elif t.kind == "punct" and t.text == ")" and stack:
            match[stack.pop()] = k

    def word(k: int) -> str:
        return toks[k].text.lower() if k < n and toks[k].kind == "word" else ""

    def punct(k: int, text: str) -> bool:
        return k < n and toks[k].kind == "punct" and toks[k].text == text

    def name_at(k: int) -> tuple[str, int]:
        parts = [toks[k].text]
        k += 1
        while punct(k, ".") and k + 1 < n and toks[k + 1].kind in ("word", "quoted"):
            parts.append(toks[k + 1].text)
            k += 2
        return ".".join(parts), k

    tables: list[str] = []
    functions: list[str] = []
    ctes: set[str] = set()
    first = next((t for t in toks if not (t.kind == "punct" and t.text == "(")), None)
    writes = first is None or first.kind != "word" or first.text.lower() not in _READ_STARTS
    open_parens: list[int] = []
    for k, t in enumerate(toks):
        if t.kind == "punct" and t.text == "(":
            open_parens.append(k)
        elif t.kind == "punct" and t.text == ")" and open_parens:
            open_parens.pop()
        if t.kind != "word" and t.kind != "quoted":
            continue
        low = t.text.lower() if t.kind == "word" else ""
        if low in _WRITE_WORDS:
            writes = True
        # a CTE: (with | recursive | ,) NAME [(cols)] AS [[NOT] MATERIALIZED] (
        if k and (word(k - 1) in ("with", "recursive") or punct(k - 1, ",")):
            j = k + 1
            if punct(j, "(") and j in match:
                j = match[j] + 1
            if word(j) == "as":
                j += 1
                if word(j) == "not":
                    j += 1
                if word(j) == "materialized":
                    j += 1
                if punct(j, "("):
                    ctes.add(t.text)
        if low not in ("from", "join"):
            continue
        if low == "from" and open_parens and opener.get(open_parens[-1]) in _FROM_IN_ARGS:
            continue
        if low == "from" and word(k - 1) == "distinct":
            continue  # IS [NOT] DISTINCT FROM
        j = k + 1
        while True:
            while word(j) in ("lateral", "only"):
                j += 1
            if punct(j, "(") and j in match:
                j = match[j] + 1  # a subquery or VALUES list: its own FROMs are seen on their own
            elif j < n and toks[j].kind in ("word", "quoted") and word(j) not in _CLAUSE_WORDS:
                name, j = name_at(j)
                if punct(j, "(") and j in match:
                    functions.append(name)
                    j = match[j] + 1
                else:
                    tables.append(name)
            else:
                break
            if word(j) == "as":
                j += 1
            if j < n and toks[j].kind in ("word", "quoted") and word(j) not in _CLAUSE_WORDS:
                j += 1
                if punct(j, "(") and j in match:
                    j = match[j] + 1  # alias (column, list)
            if punct(j, ","):
                j += 1
                continue
            break
    kept = tuple(r for r in tables if r not in ctes)
    return Reads(kept, tuple(functions), writes)


def check(sql: str, params: Mapping[str, Any], dialect: str = "ansi") -> list[Placeholder]:
    """The placeholders of ``sql``, after checking each has a value and each value is used."""
    found = placeholders(sql, dialect)
    used = {p.name for p in found}
    missing = [p.name for p in found if p.name not in params]
    if missing:
        name = missing[0]
        raise ParameterError(
            f"the query uses :{name} but no value was given; pass {name}=... "
            f"(or params={{'{name}': ...}})", parameter=name,
        )
    unused = [k for k in params if k not in used]
    if unused:
        name = unused[0]
        raise ParameterError(
            f"parameter {name!r} is not used by the query; remove it or write :{name} where it belongs",
            parameter=name,
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


def prepare(sql: str, params: Mapping[str, Any], style: str, dialect: str = "ansi") -> str:
    """Check ``params`` against ``sql`` and return the text in ``style``."""
    return rewrite(sql, check(sql, params, dialect), style)


def quote_ident(name: str, dialect: str = "ansi") -> str:
    """``name`` as a quoted identifier: ``"name"`` (DuckDB, PostgreSQL, SQLite) or `` `name` `` (MySQL)."""
    if dialect == "mysql":
        return "`" + str(name).replace("`", "``") + "`"
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a standard SQL string literal, for the few places that take no parameter
    (DuckDB's ATTACH, COPY ... TO and file readers' paths, COPY's rendered statements):
    never for user values."""
    return "'" + str(text).replace("'", "''") + "'"


def is_name(text: Any) -> bool:
    """Whether ``text`` is a plain SQL name (letters, digits, ``_``; not starting with a digit)."""
    return isinstance(text, str) and _PLAIN.fullmatch(text) is not None  # not match: "$" passes "x\n"


def check_ident(name: str, what: str) -> str:
    """``name`` if it is a plain SQL name, else a UsageError naming ``what`` and the rule."""
    if not is_name(name):
        raise UsageError(f"{what} {name!r} is not a plain name; use letters, digits and _")
    return name
