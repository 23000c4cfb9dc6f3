"""The run log's schema version and migrations, against a file made by the code before them.

``tests/data/runlog-v1.db`` was written by ``make_legacy_runlog.py`` through the run log
API as it was before versions existed; every test works on a copy. Races use real
processes released together by a barrier.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
import socket
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from workbench.errors import ConfigError, UsageError
from workbench.reports.runlog import MIGRATIONS, RUNNING, VERSION, RunLog, pid_alive, slot_text

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "runlog-v1.db"
LEGACY = ["id", "report", "notebook", "parameters", "status", "started_at", "ended_at", "duration", "error", "run_dir",
          "report_path", "notebook_path", "run_values", "sources", "pid", "host", "queued_at"]
FORK = multiprocessing.get_context("fork")


@pytest.fixture
def legacy(tmp_path) -> Path:
    path = tmp_path / "runlog.db"
    shutil.copyfile(FIXTURE, path)
    return path


def sql(path: Path, query: str, args: tuple = ()) -> list[tuple]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(query, args).fetchall()


def schema(path: Path) -> dict[str, list[tuple]]:
    """Columns (name, type, notnull, default, pk) and indexes of every table: what code depends on."""
    with closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
        out = {t: db.execute(f"pragma table_info({t})").fetchall() for t in tables}
        for t in tables:
            for idx in db.execute(f"pragma index_list({t})").fetchall():
                out[f"{t}:{idx[1]}"] = db.execute(f"pragma index_info({idx[1]})").fetchall()
        return out


def dead_pid() -> int:
    p = FORK.Process(target=int)
    p.start()
    p.join()
    assert not pid_alive(p.pid)
    return p.pid


def test_fixture_is_a_single_legacy_file():
    assert sql(FIXTURE, "pragma user_version") == [(0,)]
    assert sql(FIXTURE, "pragma journal_mode") == [("delete",)]
    assert not Path(f"{FIXTURE}-wal").exists() and not Path(f"{FIXTURE}-shm").exists()


def test_step_one_is_the_legacy_schema(tmp_path):
    """Version 1 is exactly what the code before versions made."""
    fresh = tmp_path / "v1.db"
    with closing(sqlite3.connect(fresh)) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
    assert schema(fresh) == schema(FIXTURE)


def test_legacy_file_migrates_keeping_every_run(legacy):
    before = sql(legacy, f"select {', '.join(LEGACY)} from runs order by id")
    log = RunLog(legacy)
    assert sql(legacy, "pragma user_version") == [(VERSION,)] == [(4,)]
    assert sql(legacy, f"select {', '.join(LEGACY)} from runs order by id") == before

    runs = {r.id: r for r in log.runs()}
    assert set(runs) == {"legacy-ok", "legacy-failed", "legacy-plain", "legacy-running"}
    ok, failed, running = runs["legacy-ok"], runs["legacy-failed"], runs["legacy-running"]
    assert (ok.status, ok.parameters, ok.values, ok.sources, ok.error) == (
        "succeeded", {"day": "2023-11-14", "top_n": 5}, {"rows": 1234, "revenue": 5678.9, "label": "ünïcødé ✓"},
        ["warehouse.orders", "lake/events.parquet"], None)
    assert (ok.started_at, ok.ended_at, ok.duration) == (1_700_000_000.0, 1_700_000_012.5, 12.5)
    assert (ok.run_dir, ok.report_path) == ("daily/legacy-ok", "daily/legacy-ok/report.html")
    assert (failed.status, failed.error, failed.sources) == (
        "failed", "ZeroDivisionError: division by zero (cell 4)", ["warehouse.orders"])
    assert (failed.started_at, failed.ended_at, failed.duration) == (1_700_000_100.0, 1_700_000_103.25, 3.25)
    assert (running.status, running.ended_at, running.started_at) == (RUNNING, None, 1_700_000_300.0)
    for r in runs.values():
        assert (r.slot, r.attempt, r.trigger, r.failure_class, r.lease_until) == (None, 1, "manual", None, None)
    assert list(log.reports()) == ["daily", "weekly"]
    assert [r.id for r in log.runs("daily", 2)] == ["legacy-running", "legacy-failed"]
    assert log.get("legacy-plain") == runs["legacy-plain"]
    assert log.live_ids() == {"legacy-running"}
    assert sql(legacy, "select count(*) from slots") == sql(legacy, "select count(*) from fingerprints") == [(0,)]


def test_new_file_has_the_migrated_schema(tmp_path, legacy):
    RunLog(tmp_path / "new" / "runlog.db")
    RunLog(legacy)
    assert sql(tmp_path / "new" / "runlog.db", "pragma user_version") == [(VERSION,)]
    assert sql(tmp_path / "new" / "runlog.db", "pragma journal_mode") == [("wal",)]
    assert schema(tmp_path / "new" / "runlog.db") == schema(legacy)
    assert {"runs", "slots", "fingerprints", "published_remote", "remote_targets"} <= set(schema(legacy))


def test_recover_marks_the_dead_legacy_run_failed(legacy):
    # recover() only judges processes of this host; the fixture was made elsewhere, so
    # move its dead run here, with a pid that is certainly dead here.
    with closing(sqlite3.connect(legacy)) as db, db:
        db.execute("update runs set host=?, pid=? where id='legacy-running'", (socket.gethostname(), dead_pid()))
    log = RunLog(legacy)
    assert log.recover() == ["legacy-running"]
    run = log.get("legacy-running")
    assert run.status == "failed" and "process died" in run.error and run.ended_at is not None
    assert log.live_ids() == set() and log.recover() == []
    assert log.get("legacy-ok").status == "succeeded"


def test_new_runs_carry_slot_attempt_trigger(legacy):
    log = RunLog(legacy)
    log.add("s1", "daily", "notebooks/daily.ipynb", {"day": "2024-05-01"},
            slot=dt.datetime(2024, 5, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=2))), attempt=2, trigger="schedule")
    log.add("m1", "daily", "notebooks/daily.ipynb", {})
    s1, m1 = log.get("s1"), log.get("m1")
    assert (s1.slot, s1.attempt, s1.trigger, s1.status) == ("2024-05-01T06:00:00Z", 2, "schedule", "queued")
    assert (m1.slot, m1.attempt, m1.trigger) == (None, 1, "manual")
    assert log.runs()[0].id in {"s1", "m1"} and len(log.runs()) == 6

    log.start("s1", 1_714_543_200.0)
    assert log.renew_lease("s1", 1_714_543_260.0) and log.get("s1").lease_until == 1_714_543_260.0
    log.finish("s1", status="failed", ended_at=1_714_543_230.0, duration=30.0, error="connection reset",
               run_dir=None, report_path=None, notebook_path=None, values={}, sources=[], failure_class="retryable")
    s1 = log.get("s1")
    assert (s1.status, s1.failure_class, s1.lease_until) == ("failed", "retryable", None)
    assert not log.renew_lease("s1", 1_714_543_320.0)  # a finished run has no lease to renew

    with pytest.raises(UsageError, match="unknown run trigger 'cron'"):
        log.add("x", "daily", "nb", {}, trigger="cron")
    with pytest.raises(UsageError, match="attempt"):
        log.add("x", "daily", "nb", {}, attempt=0)
    with pytest.raises(UsageError, match="no time zone"):
        log.add("x", "daily", "nb", {}, slot="2024-05-01T06:00:00")
    assert log.get("x") is None


def test_slot_text_is_one_spelling_per_instant():
    assert slot_text("2024-05-01T06:00:00Z") == slot_text("2024-05-01T08:00:00+02:00") == "2024-05-01T06:00:00Z"
    assert slot_text(dt.datetime(2024, 5, 1, 6, 0, 0, 500, tzinfo=dt.UTC)) == "2024-05-01T06:00:00.000500Z"


def test_claim_slot_once(legacy):
    log = RunLog(legacy)
    assert log.claim_slot("daily", "2024-05-01T06:00:00Z", "r1") is True
    assert log.claim_slot("daily", "2024-05-01T06:00:00Z", "r2") is False
    assert log.claim_slot("daily", "2024-05-01T08:00:00+02:00", "r3") is False  # the same instant
    assert log.claim_slot("weekly", "2024-05-01T06:00:00Z", "r4") is True
    assert log.slot_claim("daily", "2024-05-01T06:00:00Z") == "r1"
    assert log.slot_claim("daily", "2024-05-02T06:00:00Z") is None


def _claim(path: str, run_id: str, barrier, out) -> None:
    log = RunLog(path)
    barrier.wait(timeout=30)
    out.put((run_id, log.claim_slot("daily", "2024-05-01T06:00:00Z", run_id)))


def test_claim_slot_race_between_processes(legacy):
    n = 6
    barrier, out = FORK.Barrier(n), FORK.Queue()
    procs = [FORK.Process(target=_claim, args=(str(legacy), f"r{i}", barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    winners = [rid for rid, won in results.items() if won]
    assert len(results) == n and len(winners) == 1
    assert RunLog(legacy).slot_claim("daily", "2024-05-01T06:00:00Z") == winners[0]


def _open(path: str, barrier, out) -> None:
    barrier.wait(timeout=30)
    try:
        RunLog(path)
        out.put(None)
    except Exception as e:  # noqa: BLE001 -- reported to the test, which asserts there were none
        out.put(f"{type(e).__name__}: {e}")


@pytest.mark.parametrize("start", ["legacy", "new"])
def test_processes_opening_an_old_file_together_migrate_it_once(tmp_path, legacy, start):
    path = legacy if start == "legacy" else tmp_path / "fresh.db"
    n = 6
    barrier, out = FORK.Barrier(n), FORK.Queue()
    procs = [FORK.Process(target=_open, args=(str(path), barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    errors = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert errors == [None] * n
    assert sql(path, "pragma user_version") == [(VERSION,)]
    assert sql(path, "select count(*) from runs") == [(4 if start == "legacy" else 0,)]
    reference = tmp_path / "reference.db"
    RunLog(reference)
    assert schema(path) == schema(reference)


def test_opening_a_current_file_again_changes_nothing(legacy):
    RunLog(legacy)
    before = (legacy.read_bytes(), sql(legacy, "pragma schema_version"))
    RunLog(legacy).runs()
    assert (legacy.read_bytes(), sql(legacy, "pragma schema_version")) == before


def _refused(path: Path) -> str:
    before = path.read_bytes()
    with pytest.raises(ConfigError) as e:
        RunLog(path)
    assert path.read_bytes() == before, "a refused file must be left as it was"
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-journal").exists()
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "workbench.toml" in msg
    return msg


def test_a_newer_schema_is_refused_in_one_line(legacy):
    with closing(sqlite3.connect(legacy)) as db:
        db.execute(f"pragma user_version = {VERSION + 1}")
    msg = _refused(legacy)
    assert f"schema version {VERSION + 1}" in msg and f"up to version {VERSION}" in msg
    assert "upgrade workbench" in msg and "`runlog`" in msg


def test_a_file_that_is_not_sqlite_is_refused_in_one_line(tmp_path):
    path = tmp_path / "runlog.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    assert "is not a workbench run log" in _refused(path)


def test_an_sqlite_file_without_our_tables_is_refused_in_one_line(tmp_path):
    path = tmp_path / "runlog.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("create table photos (id integer primary key, url text)")
    assert "not a workbench run log" in _refused(path)
    with closing(sqlite3.connect(path)) as db:
        db.execute("create table runs (id text, started text)")  # a runs table, but not ours
    assert "not a workbench run log" in _refused(path)


def test_code_from_before_versions_still_works_on_a_migrated_file(legacy):
    """A grid worker of the old code may still be running while a new process migrates."""
    from tests.reports.make_legacy_runlog import legacy_module

    try:
        old = legacy_module()
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        from tests.support.servers import _unavailable

        _unavailable("the legacy commit 0299be5", e, "use a full clone (git fetch --unshallow)")
    RunLog(legacy)
    log = old.RunLog(legacy)
    log.add("old-run", "daily", "nb", {"a": 1})
    log.finish("old-run", status="succeeded", ended_at=2.0, duration=1.0, error=None, run_dir=None,
               report_path=None, notebook_path=None, values={"n": 3}, sources=[])
    assert {r.id for r in log.runs()} >= {"old-run", "legacy-ok"}
    run = RunLog(legacy).get("old-run")
    assert (run.values, run.trigger, run.attempt, run.slot) == ({"n": 3}, "manual", 1, None)
    assert sql(legacy, "pragma user_version") == [(VERSION,)]
    assert os.getpid() == run.pid


def test_index_trends_follow_the_day_not_the_run_order(tmp_path):
    """A backfill runs old days after new ones: the index's sparkline is in day order, so
    its last point is the newest day's value (a run-order line would end on October)."""
    import re

    from workbench.reports.site import build_index

    log = RunLog(tmp_path / "runlog.db")
    days = {"2026-11-02": 20, "2026-11-03": 30, "2026-10-01": 5, "2026-11-01": 10}  # in the order they ran
    for i, (day, likes) in enumerate(days.items()):
        log.add(f"r{i}", "daily", "x.ipynb", {"day": day, "top_n": 10}, status="running")
        log.finish(f"r{i}", status="succeeded", ended_at=float(i + 1), duration=1.0, error=None, run_dir=None,
                   report_path=None, notebook_path=None, values={"likes": likes}, sources=[])
    html = build_index(tmp_path, log).read_text()
    (points,) = re.findall(r'<polyline[^>]* points="([^"]+)"', html)
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert ys == sorted(ys, reverse=True)  # 5, 10, 20, 30 by day: rising all along (SVG y grows downwards)
    assert "4 runs: min 5, max 30, last 30" in html
