"""One exception family for everything workbench raises on purpose.

Every message says what was wrong and what to do about it, in one line, so the CLI can
print it as is. ``exit_code`` tells the CLI how to leave: 2 for usage and config
problems (the user must change what they typed or wrote), 1 for a run or query that
failed on its way.

Besides the message an error carries structured fields (``SourceError(msg,
source="app")`` → ``e.fields``, ``e.source``) for code that must decide without parsing
words, and it survives pickling, because report runs raise it in worker processes.

``retryable`` tells a scheduler whether the same run, unchanged, may succeed later. It
may when the world was in the way: a source unreachable or its connection lost, a
database locked or busy, a kernel that died or never started. It may not when the run
itself is wrong: the notebook's own exception, a parameter contract, config or usage,
a write to a read-only source, a row cap. Retrying those only repeats the failure and
delays the report. A query timeout is terminal by default (a report's own query does
not get faster), but a call site that knows the server was overloaded can say
``retryable=True``; the class markers :class:`Retryable` and :class:`Terminal` set
the defaults, ``e.retryable`` is the answer.
"""

from __future__ import annotations

from typing import Any


class Retryable:
    """Marks an error class whose instances are retryable unless they say otherwise."""

    retryable = True


class Terminal:
    """Marks an error class whose instances are not retryable unless they say otherwise."""

    retryable = False


def _rebuild(cls: type, message: str, retryable: bool | None, fields: dict[str, Any]) -> "WorkbenchError":
    if retryable is not None:  # only when overridden, so a subclass's own signature need not take it
        fields = {**fields, "retryable": retryable}
    return cls(message, **fields)


class WorkbenchError(Exception):
    """Base of every error workbench raises deliberately.

    ``WorkbenchError(message, *, retryable=None, **fields)``: ``str(e)`` is exactly the
    message; fields are plain data (names, numbers) kept in ``e.fields`` and readable as
    attributes; ``retryable`` overrides the class default for this instance.
    """

    exit_code = 1
    retryable = False  # an error nobody classified is not worth repeating

    def __init__(self, message: str = "", *, retryable: bool | None = None, **fields: Any):
        clash = [k for k in fields if hasattr(type(self), k)]
        if clash:  # e.source must mean the field, never an attribute of the class
            raise TypeError(f"{type(self).__name__}: field names {clash} are taken by the class")
        super().__init__(message)
        self.fields = fields
        if retryable is not None:
            self.retryable = bool(retryable)

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup failed; via __dict__, so an instance made
        # without __init__ (cls.__new__) answers AttributeError instead of recursing
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __str__(self) -> str:
        # explicit, so OSError's "[Errno n] ..." format can never apply to a TimeoutError mix
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):
        # Exception's own reduce calls cls(*args) and then restores __dict__, so a
        # subclass with a required keyword field (``def __init__(self, msg, *, source)``)
        # fails to unpickle. Rebuild through the constructor with the fields instead;
        # the rest of __dict__ (e.g. __notes__) rides along as state.
        state = {k: v for k, v in self.__dict__.items() if k not in ("fields", "retryable")}
        return _rebuild, (type(self), str(self), self.__dict__.get("retryable"), dict(self.fields)), state or None


class ConfigError(Terminal, WorkbenchError):
    """``workbench.toml`` (or the environment it reads) is wrong."""

    exit_code = 2


class UsageError(Terminal, WorkbenchError, ValueError):
    """A call or command line is wrong: bad option, unknown name. Also a ValueError, so
    a notebook's ``except ValueError`` catches a bad argument to ``wb.*`` as Python's own."""

    exit_code = 2


class SourceError(Retryable, WorkbenchError):
    """A source cannot be reached or does not exist."""

    exit_code = 1


class ExtensionError(Terminal, SourceError):
    """A DuckDB extension is not installed as a Python package (config, not the network)."""

    exit_code = 2


class StorageError(Retryable, WorkbenchError):
    """An object store (``s3://``) could not be reached or refused a request."""

    exit_code = 1


class StorageAuthError(Terminal, StorageError):
    """An object store refused the credentials (wrong key or secret, no permission)."""

    exit_code = 2


class ParameterError(UsageError):
    """A query or report parameter is missing, unused, unknown or of the wrong type."""


class QueryError(Terminal, WorkbenchError):
    """The database refused or failed a query; the message carries its own words."""


class ReadOnlySourceError(QueryError):
    """A statement tried to change a source that is read-only."""


class RowLimitError(QueryError):
    """A result has more rows than the interactive cap allows."""


class QueryTimeoutError(QueryError, TimeoutError):
    """A statement ran longer than the statement timeout and was cancelled. Also the
    builtin TimeoutError, so ``except TimeoutError`` around a query works."""


class QueryCancelledError(QueryError):
    """The user interrupted a statement (Ctrl-C); it was cancelled on the server."""


class ReportError(Terminal, WorkbenchError):
    """A report run failed: the notebook raised, timed out or its kernel died."""


class RunFailed(Terminal, WorkbenchError):
    """One or more runs did not succeed (exit code 1); the details were printed above."""


class KernelStartError(Retryable, WorkbenchError, RuntimeError):
    """A kernel did not come up; retry with another one. Still a RuntimeError, as it was."""
