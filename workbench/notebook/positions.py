"""Where in the query the database's error message points (line, column, a caret)."""

from __future__ import annotations

import re

_NEAR = [
    re.compile(r'at or near "((?:[^"]|"")+)"'),
    re.compile(r"near '(.{1,30})"),  # MySQL: near 'frm x where ...' at line 2
    re.compile(r'near "((?:[^"]|"")+)"'),  # SQLite
    re.compile(r'[Cc]olumn "((?:[^"]|"")+)"'),
    re.compile(r'no such (?:column|table): (\S+)'),
    re.compile(r'Table with name (\S+) does not exist'),
    re.compile(r"Unknown column '([^']+)'"),
    re.compile(r'"((?:[^"]|"")+)"'),
]


def locate(message: str, query: str) -> tuple[int, int] | None:
    """(line, column), 1-based, of the part of ``query`` the database's message points at."""
    want_line = None
    m = re.search(r"at line (\d+)", message)
    if m:
        want_line = int(m.group(1))
    for rx in _NEAR:
        for m in rx.finditer(message):
            token = m.group(1).replace('""', '"').rstrip("'")
            token = token.split("'")[0] if rx.pattern.startswith("near '") else token
            if not token.strip():
                continue
            for i, text in enumerate(query.split("\n"), 1):
                if want_line and i != want_line:
                    continue
                j = text.lower().find(token.lower())
                if j < 0 and "." in token:
                    j = text.lower().find(token.split(".")[-1].lower())
                if j >= 0:
                    return i, j + 1
    return None


def with_position(message: str, query: str) -> str:
    where = locate(message, query)
    if where is None:
        return message
    line, col = where
    text = query.split("\n")[line - 1]
    return f"{message}\n  at line {line}, column {col}:\n    {text}\n    {' ' * (col - 1)}^"


