"""``workbench demo``: the photo-app demo data (OLTP tables, log lake, classifier labels)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import UsageError
from . import app


def _project_root(given: Optional[Path]) -> Path:
    """``--root``, else the folder holding workbench.toml, else the working directory."""
    if given is not None:
        return given.resolve()
    from ..config import find_config

    found = find_config()
    return found.parent if found else Path.cwd()


@app.command("demo")
def demo_cmd(
    scale: float = typer.Option(1.0, "--scale", help="1 = a few thousand users and ~300k events; 100 = tens of millions."),
    app_url: Optional[str] = typer.Option(None, "--app-url", envvar="WORKBENCH_APP_URL", help="Write the OLTP tables into this PostgreSQL/MariaDB instead of data/app.db."),
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same data."),
    days: int = typer.Option(14, "--days", help="Days of activity to generate."),
    end_day: Optional[str] = typer.Option(None, "--end-day", help="Last day of data, YYYY-MM-DD (default: yesterday, UTC: the last whole day)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the data is already there."),
    root: Optional[Path] = typer.Option(None, "--root", help="Project folder to write data/ into (default: the one holding workbench.toml, else the current folder)."),
) -> None:
    """Build the demo photo-app data: OLTP tables, the log lake, classifier labels, the warehouse."""
    from ..demo import build

    day = None
    if end_day:
        try:
            day = dt.date.fromisoformat(end_day)
        except ValueError:
            raise UsageError(f"--end-day {end_day!r} is not a date; write YYYY-MM-DD") from None
    summary = build(_project_root(root), scale=scale, app_url=app_url, seed=seed, days=days, end_day=day,
                    force=force, progress=sys.stderr.isatty())
    typer.echo(str(summary))


