"""Resolve a report and validate its parameter sets: everything that happens before a kernel.

A bad parameter fails here, with one line naming it, before any kernel starts.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from ..config import Config, load_config
from ..errors import ParameterError, UsageError
from . import params as P
from .model import Plan

DEFAULT_TIMEOUT = 3600.0       # a whole run; a hung notebook ends as "timed out", never hangs
DEFAULT_CELL_TIMEOUT = 1800.0  # one cell


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def resolve(target: str | os.PathLike[str], config: Config) -> tuple[str, Path, dict[str, Any], str, float | None]:
    """``(report name, notebook, default parameters, description, timeout)`` for a name or a path."""
    name = str(target)
    if name in config.reports:
        rc = config.reports[name]
        nb = config.resolve(rc.notebook)
        if not nb.is_file():
            raise UsageError(f"report {name!r}: notebook {nb} does not exist; fix [reports.{name}] notebook")
        return name, nb, dict(rc.parameters), rc.description, rc.timeout
    path = Path(name).expanduser()
    if not path.is_absolute() and not path.exists():
        path = config.resolve(path)
    if path.suffix == ".ipynb" and path.is_file():
        return path.stem, path.resolve(), {}, "", None
    known = ", ".join(sorted(config.reports)) or "none"
    raise UsageError(f"{name!r} is neither a report in workbench.toml (known: {known}) nor a notebook file")


def _source_labels(config: Config) -> list[str]:
    """Configured sources by name and kind; never a URL (URLs can carry passwords)."""
    out = []
    for s in config.sources.values():
        kind = s.url.split(":", 1)[0].split("+", 1)[0] if "://" in s.url else "files"
        out.append(f"{s.name} ({kind})")
    return out


def plan(target: str | os.PathLike[str], params: dict[str, Any] | Iterable[dict[str, Any]] | None = None, *,
         config: Config | None = None, params_file: str | os.PathLike[str] | None = None,
         timeout: float | None = None, cell_timeout: float | None = None, show_code: bool = False) -> list[Plan]:
    """Validate one parameter set (a dict) or many (a list of dicts); no kernel starts here."""
    cfg = config or load_config()
    report, notebook, defaults, description, cfg_timeout = resolve(target, cfg)
    contract = P.inspect_notebook(notebook)
    from_file = P.load_file(params_file) if params_file else {}
    sets = [params or {}] if params is None or isinstance(params, dict) else list(params)
    if not sets:
        raise ParameterError("no parameter sets to run")
    plans = []
    for given in sets:
        values = P.validate(contract, defaults, from_file, given)
        plans.append(Plan(
            run_id=new_run_id(), report=report, notebook=str(notebook), description=description,
            contract=contract, values=values, config_path=str(cfg.path) if cfg.path else None,
            root=str(cfg.root), reports_dir=str(cfg.reports_dir), runlog=str(cfg.runlog_path),
            timeout=timeout or cfg_timeout or DEFAULT_TIMEOUT,
            cell_timeout=cell_timeout or min(DEFAULT_CELL_TIMEOUT, timeout or cfg_timeout or DEFAULT_CELL_TIMEOUT),
            show_code=show_code, sources=_source_labels(cfg),
            descriptions=cfg.report_descriptions() or {report: description},
        ))
    return plans


