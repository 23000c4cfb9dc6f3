"""The one corpus of hostile strings, for every path that takes text from a user.

Each entry is here for a reason (the comment says which parser it aims at). Every test
of hostile input — bound parameters on each source and through the hub, the CLI's
``-p``, ``%%sql`` in a kernel, the explorer's filters, report parameters, the SQL lexer
and the SQL builders — draws from this list, so a string that once broke one path is
tried on all of them. Add to it; do not start a second list elsewhere.
"""

from __future__ import annotations

import pytest

HOSTILE: list[str] = [
    "'; drop table photos; --",       # close the literal, run a statement, comment out the rest
    "x' or '1'='1",                   # the classic tautology
    "O'Reilly \"quoted\"",            # both quote characters, inside a legitimate value
    'Robert"); --',                   # close a quoted identifier and a call
    "\\",                             # a lone backslash: ends a MySQL literal early ('\')
    "back\\slash \\' \\\\",           # backslash escapes: MySQL and PostgreSQL E'' read them
    "\\' or 1=1 -- ",                 # backslash-quote: a breakout where backslash escapes
    "line one\nline two\r\n\ttab",    # line ends and a tab: comments end at newlines
    "$$ :x $$ $tag$",                 # PostgreSQL dollar quotes, with a placeholder inside
    ":title",                         # a placeholder, as data
    "%s %(x)s %% %",                  # pyformat markers and a bare percent (psycopg, PyMySQL)
    "%",                              # LIKE's wildcard: `contains` must not match every row
    "/* c */ -- d # e",               # comment openers of every dialect
    "{day} {{x}}",                    # str.format fields (papermill, messages)
    "__import__('os')",               # Python code: a parameter must never be rendered as code
    "$(rm -rf /)",                    # shell substitution (the CLI, subprocess arguments)
    "\\x00 \\n",                      # escape sequences as text, not as the characters
    "ünïcødé ✓ 東京 ☕",               # non-ASCII in several scripts, and an emoji
    "01234",                          # looks like a number: must stay text, leading zero kept
    "",                               # the empty string: not NULL
]

#: The hostile strings usable as names (a column, a DataFrame): DuckDB refuses an empty name.
HOSTILE_NAMES: list[str] = [s for s in HOSTILE if s]


def params(values: list[str] = HOSTILE) -> list:
    """``values`` as pytest params with short, stable ids (``h00`` …) instead of escaped text."""
    return [pytest.param(v, id=f"h{i:02d}") for i, v in enumerate(values)]
