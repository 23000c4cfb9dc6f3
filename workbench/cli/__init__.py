"""``workbench``: the command line over the same Workbench that notebooks use.

Errors are one line on stderr and an exit code (2 for usage and config, 1 for a query
or run that failed); ``--debug`` shows the traceback instead. Each command module
imports what it drives only when its command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import WorkbenchError

app = typer.Typer(
    name="workbench",
    help="Explore OLTP databases, a DuckDB warehouse and a lake of files; run notebooks as reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False, "config": None}


@app.callback()
def _root(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="workbench.toml to use (default: found from the current folder upward, or $WORKBENCH_CONFIG)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    _state["debug"] = debug
    _state["config"] = config


def config():
    """The config of this command line (``--config`` or the default lookup)."""
    from ..config import load_config

    return load_config(_state["config"])


def session():
    """The Workbench of this command line (``--config`` or the default lookup)."""
    from ..api import Workbench

    return Workbench(_state["config"])


from . import demo, pipeline, query, reports, schedule, syncing  # noqa: E402,F401 - register their commands


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning WorkbenchError into one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except WorkbenchError as e:
        if debug:
            raise
        typer.echo(f"workbench: error: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        typer.echo("workbench: interrupted", err=True)
        return 130
    except SystemExit as e:  # typer.Exit inside commands
        return int(e.code or 0)
    except Exception as e:  # click usage errors and the unexpected
        if debug:
            raise
        show = getattr(e, "show", None)
        if callable(show) and hasattr(e, "exit_code"):  # click/typer usage errors
            show()
            return int(e.exit_code)
        if type(e).__name__ == "Abort":
            typer.echo("workbench: aborted", err=True)
            return 130
        typer.echo(f"workbench: internal error: {type(e).__name__}: {e} (run with --debug for the traceback)", err=True)
        return 1


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()


def _entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
