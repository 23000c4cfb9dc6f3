"""The error family: fields, retryable, builtin bases, and surviving pickle and processes.

Report runs raise these in worker processes and the scheduler decides on ``retryable``,
so what matters is that an error arrives in the parent exactly as it was raised.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import workbench
from workbench import errors
from workbench.errors import (
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
    StorageAuthError,
    StorageError,
)

ROOT = Path(__file__).resolve().parents[2]

RETRYABLE = {
    WorkbenchError: False, ConfigError: False, UsageError: False, SourceError: True, ExtensionError: False,
    ParameterError: False, QueryError: False, ReadOnlySourceError: False, RowLimitError: False,
    QueryTimeoutError: False, QueryCancelledError: False, ReportError: False, RunFailed: False,
    KernelStartError: True, StorageError: True, StorageAuthError: False,
}
EXIT_2 = {ConfigError, UsageError, ParameterError, ExtensionError, StorageAuthError}


def family() -> list[type]:
    found, todo = [], [WorkbenchError]
    while todo:
        cls = todo.pop()
        if cls not in found and cls.__module__.startswith("workbench"):
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


CLASSES = family()
FIELDS = {"source": "app", "parameter": "day", "timeout": 5.0}


def same(a: WorkbenchError, b: WorkbenchError) -> None:
    assert type(a) is type(b)
    assert str(a) == str(b) and a.args == b.args
    assert a.fields == b.fields
    assert a.retryable is b.retryable
    assert a.exit_code == b.exit_code


def test_the_walk_finds_every_class_the_module_defines():
    defined = {v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, WorkbenchError)}
    assert set(CLASSES) == defined == set(RETRYABLE)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_str_is_the_message_with_or_without_fields(cls):
    message = "source 'app': cannot connect (connection refused); start the server"
    assert str(cls(message)) == message
    e = cls(message, retryable=True, **FIELDS)
    assert str(e) == message and e.args == (message,)
    assert e.fields == FIELDS and e.source == "app" and e.timeout == 5.0
    assert f"workbench: error: {e}".count("\n") == 0


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_retryable_default_and_override(cls):
    assert cls("m").retryable is RETRYABLE[cls]
    assert cls("m", retryable=True).retryable is True
    assert cls("m", retryable=False).retryable is False
    assert cls("m").retryable is RETRYABLE[cls]  # the override stayed on its instance
    assert isinstance(cls("m"), Retryable if RETRYABLE[cls] else Terminal) or cls is WorkbenchError


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_exit_codes_unchanged(cls):
    assert cls("m").exit_code == (2 if cls in EXIT_2 else 1)


def test_builtin_bases_for_ordinary_except_clauses():
    e = QueryTimeoutError("app: the statement ran longer than 5 s", source="app", timeout=5.0)
    assert isinstance(e, TimeoutError) and isinstance(e, OSError) and isinstance(e, QueryError)
    assert e.errno is None and e.strerror is None  # not an OS error number, whatever OSError says
    assert isinstance(ParameterError("day: missing", parameter="day"), ValueError)
    assert isinstance(UsageError("unknown source"), ValueError)
    assert isinstance(KernelStartError("no answer"), RuntimeError)
    with pytest.raises(TimeoutError):
        raise e
    with pytest.raises(ValueError):
        raise ParameterError("day: missing")


def test_timeout_keeps_its_message_where_oserror_would_format_it():
    # TimeoutError(1, "x") reads "[Errno 1] x"; ours takes one message and prints it as is
    assert str(TimeoutError(1, "x")) == "[Errno 1] x"
    with pytest.raises(TypeError):
        QueryTimeoutError(1, "x")
    e = pickle.loads(pickle.dumps(QueryTimeoutError("[not an errno] slow", timeout=1.0)))
    assert str(e) == "[not an errno] slow" and e.errno is None
    e.errno, e.strerror = 110, "timed out"  # OSError.__str__ would now read "[Errno 110] timed out"
    assert str(e) == "[not an errno] slow"


def test_a_field_may_not_hide_a_class_attribute():
    with pytest.raises(TypeError, match="exit_code"):
        SourceError("m", exit_code=3)
    with pytest.raises(TypeError, match="errno"):
        QueryTimeoutError("m", errno=110)
    with pytest.raises(AttributeError):
        SourceError("m", source="app").parameter


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("retryable", [None, True, False])
def test_pickle_and_deepcopy_round_trip(cls, retryable):
    e = cls("the message", retryable=retryable, **FIELDS)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(e, protocol))
        same(e, back)
        assert "retryable" not in back.__dict__ if retryable is None else back.__dict__["retryable"] is retryable
    same(e, copy.deepcopy(e))
    same(e, copy.copy(e))


class NeedsSource(SourceError):
    """A subclass whose constructor requires a field: Exception's default pickling cannot rebuild it."""

    def __init__(self, message: str, *, source: str, **kw):
        super().__init__(message, source=source, **kw)


def test_a_subclass_with_a_required_field_round_trips():
    for e in (NeedsSource("m", source="app"), NeedsSource("m", source="app", retryable=False)):
        back = pickle.loads(pickle.dumps(e))
        same(e, back)
        assert back.source == "app"
    with pytest.raises(TypeError):  # what Exception.__reduce__ would do: NeedsSource(*args)
        NeedsSource(*e.args)


def test_notes_survive_pickling():
    e = SourceError("m", source="app")
    e.add_note("while attaching the hub")
    assert pickle.loads(pickle.dumps(e)).__notes__ == ["while attaching the hub"]


def _raise(name: str, retryable, fields: dict) -> None:
    raise getattr(errors, name)(f"{name} from a worker", retryable=retryable, **fields)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_raised_in_a_worker_process_arrives_whole(method):
    cases = [(cls, r) for cls in CLASSES for r in (None, not RETRYABLE[cls])]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [(cls, r, pool.submit(_raise, cls.__name__, r, FIELDS)) for cls, r in cases]
        for cls, r, fut in futures:
            with pytest.raises(WorkbenchError) as info:
                fut.result(timeout=60)
            e = info.value
            assert type(e) is cls and str(e) == f"{cls.__name__} from a worker"
            assert e.fields == FIELDS and e.exit_code == (2 if cls in EXIT_2 else 1)
            assert e.retryable is (RETRYABLE[cls] if r is None else r)


def test_old_import_paths_and_package_exports():
    from workbench.cli import reports as cli
    from workbench.reports.execute import kernels

    assert cli.RunFailed is RunFailed and kernels.KernelStartError is KernelStartError
    for name in ("RunFailed", "KernelStartError", "ExtensionError", "Retryable", "Terminal"):
        assert getattr(workbench, name) is getattr(errors, name)


def test_cli_error_is_still_one_line_with_exit_code_2():
    proc = subprocess.run([sys.executable, "-m", "workbench", "--config", "/nonexistent.toml", "sources"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench: error: "), proc.stderr
