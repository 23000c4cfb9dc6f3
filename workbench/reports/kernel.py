"""The kernel side of a report run: ``wb.record(name, value)`` and the injected cell's ``begin``.

(This is the one module of ``reports`` that reaches into the query layer: it subscribes
to :mod:`workbench.query.lineage` so the report's header lists the sources it used.)

This module is imported inside report kernels, so it stays light (stdlib only at import).

A run's injected cell calls :func:`begin` with the path of the run's ``params.json``; from
then on :func:`record` appends one JSON line per value to the run's sidecar file, which
the runner reads into the run log after the kernel is gone. Outside a run (exploring in
JupyterLab) :func:`record` only checks and returns the value, so the same notebook works
both ways.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

SIDECAR_ENV = "WORKBENCH_RUN_VALUES"
MAX_TEXT = 200
MAX_NAME = 64

_sidecar: str | None = None


def begin(params_path: str) -> dict[str, Any]:
    """Start recording for this run and return its typed parameters (for ``globals().update``)."""
    from ..query import lineage
    from .params import decode

    global _sidecar
    data = json.loads(Path(params_path).read_text(encoding="utf-8"))
    values = Path(data["run"]["values_path"])  # relative to params.json's folder (older runs: absolute)
    _sidecar = str(values if values.is_absolute() else Path(params_path).resolve().parent / values)
    os.environ[SIDECAR_ENV] = _sidecar
    lineage.subscribe(note_source)  # the header lists the sources the run's queries used
    _watch_failures()
    _frames_without_row_numbers()
    return decode(data["parameters"])


def retryable(error: BaseException) -> bool:
    """Whether a cell's exception says the same run may succeed later.

    Our own errors say so themselves (``WorkbenchError.retryable``: a source unreachable,
    a connection lost, a database locked); so do Python's connection errors. Anything
    else raised by the notebook's own code is the notebook's failure, not worth repeating.
    """
    flag = getattr(error, "retryable", None)
    if isinstance(flag, bool):
        return flag
    return isinstance(error, ConnectionError)


def _watch_failures() -> None:
    """After each cell, note in the sidecar whether its exception (if any) is retryable."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return

    def after(result: Any) -> None:
        err = getattr(result, "error_in_exec", None)
        path = _sidecar or os.environ.get(SIDECAR_ENV)
        if err is not None and path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"failure": type(err).__name__, "retryable": retryable(err)}) + "\n")

    ip.events.register("post_run_cell", after)


def _frames_without_row_numbers() -> None:
    """Display this run's DataFrames without pandas' row numbers (its unnamed integer index).

    An IPython formatter for every DataFrame the notebook shows (last expression or
    ``display``), so each report table is the same, whoever made the frame. A CSS rule
    could only hide the first column of every table, named index (a group-by's keys,
    dates) and all; here a named or non-integer index is data and stays.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:  # by name: pandas need not be imported yet (3.x says "pandas", 2.x the module)
        html = shell.display_formatter.formatters["text/html"]
        for module in ("pandas", "pandas.core.frame"):
            html.for_type_by_name(module, "DataFrame", frame_html)


def frame_html(df: Any) -> str:
    """``df`` as pandas' notebook HTML (same truncation options), without a row-number index."""
    import pandas as pd

    idx = df.index
    if idx.nlevels > 1 or idx.name is not None or not pd.api.types.is_integer_dtype(idx.dtype):
        return df._repr_html_()
    opt = pd.get_option
    rows = opt("display.max_rows")
    if rows and len(df) > rows:  # pandas' rule: a frame too long for max_rows shows min_rows
        rows = opt("display.min_rows") or rows
    try:
        return df.to_html(index=False, notebook=True, max_rows=rows, max_cols=opt("display.max_columns"),
                          show_dimensions=opt("display.show_dimensions"))
    except Exception:  # a table with its row numbers beats a report without it
        return df._repr_html_()


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # numpy / pandas scalars
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"wb.record: value {value!r} is not a finite number")
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"wb.record: text values are at most {MAX_TEXT} characters; shorten it")
        return value
    raise TypeError(f"wb.record: record a number or a short text, not {type(value).__name__}")


def record(name: str, value: Any) -> Any:
    """Store ``value`` (a number or a short text) as ``name`` for this run; return ``value``.

    Recording the same name twice in a run keeps the last value.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError(f"wb.record: name must be a non-empty text of at most {MAX_NAME} characters")
    plain = _plain(value)
    path = _sidecar or os.environ.get(SIDECAR_ENV)
    if path:
        line = json.dumps({"name": name, "value": plain, "at": time.time()}) + "\n"
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    return value


def note_source(name: str) -> None:
    """Mark source ``name`` as used by this run (shown in the report's header)."""
    path = _sidecar or os.environ.get(SIDECAR_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"source": str(name)}) + "\n")


def read_failure(path: str | Path) -> bool | None:
    """Whether the last cell exception noted in a run's sidecar is retryable; None if none was noted."""
    found = None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "failure" in item:
            found = bool(item.get("retryable"))
    return found


def read_sidecar(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The values (last write wins) and the sources noted in a run's sidecar file."""
    values: dict[str, Any] = {}
    sources: list[str] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return values, sources
    for line in lines:
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill mid-write
        if "source" in item:
            if item["source"] not in sources:
                sources.append(item["source"])
        elif "name" in item:
            values[item["name"]] = item["value"]
    return values, sources
