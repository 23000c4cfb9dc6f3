"""What a task's last success depended on, as short hashes: code, parameters, inputs, outputs.

- **code**: a notebook's code cells only, each through Python's :mod:`tokenize` with
  comments and blank lines dropped (markdown cells, outputs, execution counts and cell
  ids never count, nor does a comment or trailing white space); a cell tokenize cannot
  read (a ``%%sql`` cell's SQL) counts line by line, stripped. A SQL file's statement
  goes through :func:`workbench.sqltext.tokens` with comments dropped and white space
  collapsed, so re-indenting or commenting the SQL re-runs nothing.
- **parameters**: one hash per parameter, of its typed value in the codec of
  :mod:`workbench.values` (``dump``: ``date 2026-11-01`` is not the text
  ``"2026-11-01"``), so the reason can name the parameter that changed.
- **inputs**: :func:`workbench.query.fingerprints.fingerprint` per ``reads`` entry that
  no task of the pipeline writes: the source's own cheap, conservative token (``None``,
  unknown, counts as changed). An entry another task writes takes that task's output
  fingerprint instead.
- **outputs**: a content hash of what the task wrote, read back through the hub: row
  count, column names and types, and an order-independent sum of DuckDB row hashes.
  A content hash (not the file's or table's change token) is what makes the early
  cut-off work: an upstream that re-ran and wrote the same rows leaves it equal.
"""

from __future__ import annotations

import hashlib
import io
import json
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import values as V
from ..errors import ConfigError, WorkbenchError
from ..connectors.base import Fingerprintable
from ..query.fingerprints import resolve
from ..sqltext import quote_ident, tokens

if TYPE_CHECKING:
    from ..query.session import Session


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def normalize_python(source: str) -> str:
    """``source`` without comments, blank lines and trailing white space (token by token)."""
    try:
        out = []
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            # a NEWLINE's text is "\n" or "" (last line), INDENT's the spaces: only their kind counts
            structural = tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
            out.append(tokenize.tok_name[tok.type] if structural else f"{tok.type}:{tok.string}")
        return " ".join(out)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines = (line.rstrip() for line in source.splitlines())
        return "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def notebook_code(path: str | Path) -> str:
    """The normalized code of a notebook's code cells, one per line."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = nb["cells"]
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such notebook; fix the task's notebook = in workbench.toml") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a readable notebook ({type(e).__name__}: {e})") from None
    out = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        out.append(normalize_python("".join(source) if isinstance(source, list) else source))
    return "\n".join(c for c in out if c)


def normalize_sql(sql: str) -> str:
    """``sql`` as its tokens without comments, one space apart (a trailing ``;`` dropped)."""
    parts = [t.text if t.kind != "placeholder" else ":" + t.text for t in tokens(sql) if t.kind != "comment"]
    while parts and parts[-1] == ";":
        parts.pop()
    return " ".join(parts)


def read_statement(path: str | Path) -> str:
    """The one statement of a SQL task's file; ConfigError if it is missing, empty or holds two."""
    try:
        sql = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such SQL file; fix the task's sql = in workbench.toml") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not a readable SQL file ({e})") from None
    toks = [t for t in tokens(sql) if t.kind != "comment"]
    while toks and toks[-1].text == ";":
        toks.pop()
    if not toks:
        raise ConfigError(f"{path}: holds no statement; write one SELECT whose result the task writes")
    if any(t.kind == "punct" and t.text == ";" for t in toks):
        raise ConfigError(f"{path}: holds more than one statement; a SQL task runs one (split it into tasks)")
    return sql[toks[0].start:toks[-1].end]


def code_hash(kind: str, path: str | Path) -> str:
    text = notebook_code(path) if kind == "notebook" else normalize_sql(read_statement(path))
    return _digest(kind, text)


def param_hash(value: Any) -> str:
    return _digest(V.dump(value))


def input_fingerprint(session: "Session", ref: str) -> str | None:
    """The source's fingerprint of ``ref``; None (changed) when unknown or when asking failed."""
    from ..query.fingerprints import fingerprint

    try:
        return fingerprint(session, ref)
    except ConfigError:
        raise
    except (WorkbenchError, OSError):
        return None


def relation(session: "Session", ref: str) -> str:
    """The hub's name for ``ref``: a lake dataset's view, or ``source.table``."""
    if ref in session.config.lake:
        return quote_ident(ref)
    return ".".join(quote_ident(p) for p in ref.split("."))


def output_fingerprint(session: "Session", ref: str) -> str | None:
    """A content hash of ``ref`` now; None if it cannot be read (missing).

    A source whose fingerprint is content-based (the warehouse, the lake) answers itself,
    without the hub (an unchanged pipeline run then never builds it: ~1-2 s of extension
    loading and ATTACHes); any other is hashed as the hub reads it."""
    try:
        name, table = resolve(session, ref)
        src = session.source(name)
    except WorkbenchError:
        src = None
    if isinstance(src, Fingerprintable) and src.content_based:
        try:
            token = src.fingerprint(table)
        except (WorkbenchError, OSError):
            return None
        return None if token is None else _digest("source", token)
    rel = relation(session, ref)
    try:
        schema = session.sql_arrow(f"select * from {rel} limit 0").schema
        row = session.sql_arrow(f"select count(*) as n, sum(hash(t))::varchar as h from {rel} t").to_pylist()[0]
    except (WorkbenchError, OSError):
        return None
    cols = ",".join(f"{f.name}:{f.type}" for f in schema)
    return _digest("content", cols, str(row["n"]), str(row["h"]))
