"""workbench: SQL and pandas over OLTP databases, DuckDB and file lakes, from Jupyter.

``import workbench as wb`` and use the functions below; they work on the project's
``workbench.toml`` (found from the working directory upward), or on the embedded demo
defaults when there is none.
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


# Jupyter-facing names load ipywidgets, plotly and papermill: imported on first use so
# that ``import workbench`` stays quick in scripts and report kernels.
_LAZY = {
    "explore": "exploring", "browse": "exploring", "chart": "exploring", "chart_sql": "exploring",
    "profile": "exploring",
    "load_ipython_extension": "magic", "unload_ipython_extension": "magic",
    "run_report": "reports", "run_many": "reports",
    "record": "recording",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
