"""One exception family for everything workbench raises on purpose.

Every message says what was wrong and what to do about it, in one line, so the CLI can
print it as is. ``exit_code`` tells the CLI how to leave: 2 for usage and config
problems (the user must change what they typed or wrote), 1 for a run or query that
failed on its way.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error workbench raises deliberately."""

    exit_code = 1


class ConfigError(WorkbenchError):
    """``workbench.toml`` (or the environment it reads) is wrong."""

    exit_code = 2


class UsageError(WorkbenchError):
    """A call or command line is wrong: bad option, unknown name."""

    exit_code = 2


class SourceError(WorkbenchError):
    """A source cannot be reached or does not exist."""

    exit_code = 1


class ExtensionError(SourceError):
    """A DuckDB extension is not installed as a Python package."""

    exit_code = 2


class ParameterError(UsageError):
    """A query or report parameter is missing, unused, unknown or of the wrong type."""


class QueryError(WorkbenchError):
    """The database refused or failed a query; the message carries its own words."""


class ReadOnlySourceError(QueryError):
    """A statement tried to change a source that is read-only."""


class RowLimitError(QueryError):
    """A result has more rows than the interactive cap allows."""


class QueryTimeoutError(QueryError):
    """A statement ran longer than the statement timeout and was cancelled."""


class QueryCancelledError(QueryError):
    """The user interrupted a statement (Ctrl-C); it was cancelled on the server."""


class ReportError(WorkbenchError):
    """A report run failed: the notebook raised, timed out or its kernel died."""
