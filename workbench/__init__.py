"""workbench: SQL and pandas over OLTP databases, DuckDB and file lakes, from Jupyter.

``import workbench as wb`` and use the functions below; they work on the project's
``workbench.toml`` (found from the working directory upward), or on the embedded demo
defaults when there is none.
"""

from .errors import (
    ConfigError,
    ParameterError,
    QueryCancelledError,
    QueryError,
    QueryTimeoutError,
    ReadOnlySourceError,
    ReportError,
    RowLimitError,
    SourceError,
    UsageError,
    WorkbenchError,
)

__version__ = "0.1.0"
from .core import (
    Workbench,
    columns,
    export,
    get_workbench,
    load,
    reset,
    sources,
    sql,
    sql_arrow,
    sql_batches,
    sync,
    tables,
    use,
)
