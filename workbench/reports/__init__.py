"""One run: params -> execute -> render -> publish -> run log -> site (names only).

Many runs (process pools, Dask) are :mod:`workbench.executors`, one layer up.
"""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {
    "record": ".kernel", "Contract": ".params", "Parameter": ".params", "inspect_notebook": ".params",
    "RunResult": ".model", "Plan": ".model", "run_report": ".run",
})
__all__ = ["Contract", "Parameter", "Plan", "RunResult", "inspect_notebook", "record", "run_report"]
