"""workbench: SQL and pandas over OLTP databases, DuckDB and file lakes, from Jupyter.

``import workbench as wb`` and use the functions below; they work on the project's
``workbench.toml`` (found from the working directory upward), or on the embedded demo
defaults when there is none. Every name is imported on first use, so ``import
workbench`` costs nothing in a script, a report kernel or the command line.
"""

from .errors import (
    ConfigError,
    ExtensionError,
    KernelStartError,
    ParameterError,
    QueryCancelledError,
    QueryError,
    QueryTimeoutError,
    ReadOnlySourceError,
    ReportError,
    Retryable,
    RowLimitError,
    RunFailed,
    SourceError,
    Terminal,
    UsageError,
    WorkbenchError,
)
from .lazy import lazy

__version__ = "0.1.0"

__getattr__, __dir__ = lazy(__name__, {
    **dict.fromkeys(["Workbench", "get_workbench", "use", "reset", "sql", "sql_arrow", "sql_batches", "clear_cache", "sources",
                     "tables", "columns", "load", "export", "sync"], ".api"),
    "explore": ".notebook.exploring", "browse": ".notebook.exploring", "chart": ".notebook.exploring",
    "chart_sql": ".notebook.exploring", "profile": ".notebook.exploring",
    "load_ipython_extension": ".notebook", "unload_ipython_extension": ".notebook",
    "run_report": ".reports.run", "run_many": ".executors.local",
    "record": ".reports.kernel",
})

__all__ = ["ConfigError", "ExtensionError", "KernelStartError", "Retryable", "RunFailed", "Terminal", "ParameterError", "QueryCancelledError", "QueryError", "QueryTimeoutError",
           "ReadOnlySourceError", "ReportError", "RowLimitError", "SourceError", "UsageError", "WorkbenchError",
           "Workbench", "get_workbench", "use", "reset", "sql", "sql_arrow", "sql_batches", "clear_cache", "sources", "tables",
           "columns", "load", "export", "sync", "explore", "browse", "chart", "chart_sql", "profile",
           "run_report", "run_many", "record"]
