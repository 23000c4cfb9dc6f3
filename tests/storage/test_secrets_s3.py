"""The S3 key and secret are nowhere in what workbench writes, and nothing but the loopback
store is reached: a report run over an s3 lake (executed notebook, HTML, params, run log,
index, stdout, stderr) is grepped for the secret and the key id; the Python sockets
(s3fs/botocore) and DuckDB's own HTTP requests (httpfs, through DuckDB's HTTP log) are
audited while discovery, queries, export and fingerprints run."""

from __future__ import annotations

import sys
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.api import Workbench
from workbench.config import load_config
from workbench.errors import WorkbenchError

from ..support.projects import REPO, write_notebook

_CONNECTS: list = []
_AUDITING = {"on": False}


def _audit(event: str, args) -> None:
    if _AUDITING["on"] and event == "socket.connect":
        _CONNECTS.append(args[1])


sys.addaudithook(_audit)  # (an audit hook cannot be removed: it records only while a test asks)


def _lake(s3, tmp_path):
    t = pa.table({"id": list(range(100)), "kind": ["a", "b"] * 50})
    pq.write_table(t, tmp_path / "part.parquet")
    s3.upload(tmp_path / "part.parquet", "lake/events/day=2026-11-01/part.parquet")
    (tmp_path / "workbench.toml").write_text(
        s3.toml() + f'\n[workbench]\nreports_dir = "reports"\n\n[sources.lake]\nurl = "{s3.url("lake")}"\n')
    return tmp_path / "workbench.toml"


def test_secret_and_key_are_nowhere_in_a_report_run(s3, tmp_path):
    _lake(s3, tmp_path)
    nb = write_notebook(
        tmp_path / "s3report.ipynb", "n: int = 1",
        "import workbench as wb\nwb.sql('select count(*) as n, count(distinct kind) as k from events')",
        "wb.sources()", "wb.tables()",
        "from workbench.api import get_workbench\nfrom workbench.storage import remote\n"
        "cfg = get_workbench().config\nprint(repr(cfg), cfg.storage, remote.S3Options.from_config(cfg))",
        f"wb.sql(\"select * from read_parquet('{s3.url('lake/nope/*.parquet')}')\")",
    )
    proc = subprocess.run([sys.executable, "-m", "workbench", "run", str(nb)], cwd=tmp_path,
                          env=dict(s3.env, PATH="/usr/bin:/bin", PYTHONPATH=str(REPO), HOME=str(tmp_path)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # the last cell fails on purpose
    runs = [p for p in (tmp_path / "reports" / "s3report").iterdir() if p.is_dir() and not p.is_symlink()]
    notebook = (runs[0] / "notebook.ipynb").read_text()
    assert "100" in notebook  # the lake in the bucket was really read
    assert "nope" in (runs[0] / "report.html").read_text()  # and the failing cell reported
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("workbench.toml", "part.parquet")]
    assert any(p.name.startswith("runlog.db") for p in files)
    for text in [proc.stdout, proc.stderr, *(p.read_bytes().decode("utf-8", "replace") for p in files)]:
        assert s3.secret not in text
        assert s3.key_id not in text


def test_config_repr_and_errors_hide_the_secret(s3, tmp_path, monkeypatch):
    cfg = load_config(_lake(s3, tmp_path))
    from workbench.storage import remote

    opts = remote.S3Options.from_config(cfg)
    assert opts.secret == s3.secret  # ${VAR} expanded
    for text in (repr(cfg), str(cfg), repr(cfg.storage), repr(opts), cfg.model_dump_json()):
        assert s3.secret not in text and s3.key_id not in text
    wb = Workbench(cfg)
    with pytest.raises(WorkbenchError) as info:
        wb.sql(f"select * from read_parquet('{s3.url('lake/missing.parquet')}')")
    assert s3.secret not in str(info.value) and s3.key_id not in str(info.value)


def test_nothing_but_the_loopback_store_is_reached(s3, tmp_path):
    from workbench.storage import remote

    cfg = load_config(_lake(s3, tmp_path))
    wb = Workbench(cfg)
    con = wb.hub.connection()
    con.execute("CALL enable_logging('HTTP')")
    _CONNECTS.clear()
    _AUDITING["on"] = True
    try:
        assert list(wb.tables("lake")["table"]) == ["events"]          # s3fs listing
        assert wb.sql("select count(*) as n from lake.events")["n"][0] == 100   # DuckDB httpfs
        wb.export("select * from events", s3.url("out/e.parquet"))    # s3fs upload
        remote.listing_fingerprint(s3.url("lake"), remote.S3Options.from_config(cfg))
    finally:
        _AUDITING["on"] = False
    urls = [r[0] for r in con.execute("select request.url from duckdb_logs_parsed('HTTP')").fetchall()]
    assert urls, "DuckDB logged no HTTP request: the audit saw nothing"
    assert all(u.startswith(s3.endpoint + "/") for u in urls), urls
    hosts = {a[0] if isinstance(a, tuple) else a for a in _CONNECTS}
    assert _CONNECTS, "no Python socket was opened: the audit saw nothing"
    assert hosts == {"127.0.0.1"}, hosts
    ports = {a[1] for a in _CONNECTS if isinstance(a, tuple)}
    assert ports == {s3.server.port}, ports
