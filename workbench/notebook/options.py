"""The magic's line: ``[SOURCE] [-o NAME] [--limit N] [QUERY]``."""

from __future__ import annotations

import re

from ..errors import UsageError

_OPTION = re.compile(r"\s*(\S+)")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


def parse(line: str, sources: set[str], *, cell: bool) -> tuple[str | None, str | None, int | None, str]:
    """``(source, output name, limit, rest of the line)`` from a magic's line."""
    source = out = None
    limit = None
    pos = 0
    while True:
        m = _OPTION.match(line, pos)
        if not m:
            break
        tok = m.group(1)
        if tok in ("-o", "--out", "--limit"):
            n = _OPTION.match(line, m.end())
            if not n:
                raise UsageError(f"{tok} needs a value: %%sql [SOURCE] [-o NAME] [--limit N]")
            val = n.group(1)
            if tok == "--limit":
                if not val.isdigit() or int(val) <= 0:
                    raise UsageError(f"--limit takes a positive number of rows, not {val!r}")
                limit = int(val)
            else:
                if not _IDENTIFIER.match(val):
                    raise UsageError(f"-o takes a Python variable name, not {val!r}")
                out = val
            pos = n.end()
        elif tok.startswith("--limit="):
            return parse(line[:m.start()] + " --limit " + tok.split("=", 1)[1] + line[m.end():], sources, cell=cell)
        elif source is None and tok in sources:
            source = tok
            pos = m.end()
        elif cell:
            raise UsageError(f"%%sql does not know {tok!r}: give a source ({', '.join(sorted(sources))}), "
                             "-o NAME or --limit N")
        else:
            break
    return source, out, limit, line[pos:].strip()


