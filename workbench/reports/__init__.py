"""Headless reports: typed parameters, papermill runs, offline HTML, atomic publish, run log, index."""

from ..recording import record
from .params import Contract, Parameter, inspect_notebook
from .runner import RunResult, run_many, run_report

__all__ = ["Contract", "Parameter", "RunResult", "inspect_notebook", "record", "run_many", "run_report"]
