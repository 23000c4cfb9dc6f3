"""One ``-p`` syntax for every command: ``-p NAME VALUE``, typed as ``-p NAME:TYPE VALUE``.

``workbench run`` types a bare value by the notebook's parameters cell; ``sql`` and
``export`` have no such contract, so a bare value is a string there and ``:int``,
``:date`` ... type it. The form ``-p name:type=value`` of earlier versions is still
read, with a note saying how to write it now.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ..errors import UsageError
from ..sqltext import is_name

FLAGS = ("-p", "--param")
_OLD_KEY = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*(:\s*[A-Za-z_]+\s*)?$")
EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
HELP = ("Parameters: -p NAME VALUE (repeatable), or -p NAME:TYPE VALUE with TYPE one of str, int, float, "
        "decimal, bool, date, datetime. Values are bound by the driver, never pasted into the SQL.")


def _split_key(key: str, flag: str) -> tuple[str, str | None]:
    name, _, typ = key.partition(":")
    name, typ = name.strip(), typ.strip() or None
    if not is_name(name):
        raise UsageError(f"{flag} {key!r}: {name!r} is not a parameter name; use letters, digits and _")
    return name, typ


def triples(args: list[str]) -> list[tuple[str, str | None, str]]:
    """``(name, type or None, text)`` for each ``-p`` in the arguments click left over."""
    out, rest = [], list(args)
    while rest:
        flag = rest.pop(0)
        if flag not in FLAGS:
            raise UsageError(f"unexpected argument {flag!r}; parameters are given as -p NAME VALUE")
        if not rest:
            raise UsageError(f"{flag} needs a name and a value: {flag} NAME VALUE")
        key = rest.pop(0)
        head, sep, value = key.partition("=")
        if sep and _OLD_KEY.match(head):
            name, typ = _split_key(head, flag)
            shown = f"{name}:{typ}" if typ else name
            print(f"workbench: note: {flag} {key} is the old form; write {flag} {shown} {value!r}",
                  file=sys.stderr)
            out.append((name, typ, value))
            continue
        if not rest:
            raise UsageError(f"{flag} needs a name and a value: {flag} NAME VALUE (got only {key!r})")
        name, typ = _split_key(key, flag)
        out.append((name, typ, rest.pop(0)))
    names = [t[0] for t in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise UsageError(f"parameter {dup!r} is given twice; give it once")
    return out


def parse_param(text: str) -> tuple[str, Any]:
    """``name=value`` (a string) or ``name:TYPE=value``, one token: the earlier ``sql -p`` form."""
    from ..values import SCALARS, parse_text

    if "=" not in text:
        raise UsageError(f"-p {text!r}: write -p NAME VALUE (or -p NAME:TYPE VALUE, e.g. -p day:date 2026-11-01)")
    head, _, value = text.partition("=")
    name, typ = _split_key(head, "-p")
    if typ is not None and typ not in SCALARS:
        raise UsageError(f"-p {text!r}: unknown type {typ!r}; use one of {', '.join(SCALARS)}")
    return name, parse_text(value, typ or "str", name)


def typed(args: list[str]) -> dict[str, Any]:
    """Values for a SQL statement: a bare value is a string, ``NAME:TYPE`` converts it."""
    from ..values import SCALARS, parse_text

    out = {}
    for name, typ, text in triples(args):
        if typ is not None and typ not in SCALARS:
            raise UsageError(f"-p {name}:{typ}: unknown type {typ!r}; use one of {', '.join(SCALARS)}")
        out[name] = parse_text(text, typ or "str", name)
    return out


def texts(args: list[str]) -> dict[str, str]:
    """Values for a report (typed later by the notebook's contract); a given TYPE must be the declared one."""
    return {name: text for name, _typ, text in triples(args)}


def declared(args: list[str]) -> dict[str, str]:
    """The ``:TYPE`` each ``-p`` gave, by name (checked against the contract by the caller)."""
    return {name: typ for name, typ, _ in triples(args) if typ}
