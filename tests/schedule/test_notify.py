"""Notifiers against real local servers: http.server for webhook:, aiosmtpd for email:, a script for command:.

Loopback only (127.0.0.1, port 0); nothing reaches another host.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.support.projects import source_tables
from workbench.config import load_config
from workbench.reports.runlog import RunLog
from workbench.schedule.notify import notify

PASSWORD = "s3cret-smtp-pw"
DB_PASSWORD = "db-pa55word"


class Hook(BaseHTTPRequestHandler):
    got: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Hook.fail_first > 0:
            Hook.fail_first -= 1
            self.send_response(500)
            self.end_headers()
            return
        Hook.got.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def webhook():
    srv = HTTPServer(("127.0.0.1", 0), Hook)
    Hook.got, Hook.fail_first = [], 0
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    srv.shutdown()


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    import socket

    with socket.socket() as sock:  # a free loopback port (the controller's ready check cannot use 0)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    h = Handler()
    ctl = Controller(h, hostname="127.0.0.1", port=port)
    ctl.start()
    yield ctl, h
    ctl.stop()


def project(tmp_path, port, monkeypatch):
    monkeypatch.setenv("PASSWORD", PASSWORD)
    app = source_tables(f"postgresql://u:{DB_PASSWORD}@127.0.0.1:1/db", warehouse=None, lake=None)
    (tmp_path / "workbench.toml").write_text(f"""
[workbench]
reports_dir = "reports"
{app}
[reports.daily]
notebook = "x.ipynb"
[notify.smtp]
host = "127.0.0.1"
port = {port}
from = "workbench@localhost"
password = "${{PASSWORD}}"
""")
    return load_config(tmp_path / "workbench.toml")


def failed_run(cfg):
    log = RunLog(cfg.runlog_path)
    log.add("r1", "daily", "x.ipynb", {"day": "2026-11-04"}, status="running", slot="2026-11-05T05:30:00Z",
            trigger="schedule")
    log.finish("r1", status="failed", ended_at=1.0, duration=1.0,
               error=f"SourceError: could not connect to postgresql://u:{DB_PASSWORD}@127.0.0.1:1/db",
               run_dir=None, report_path=None, notebook_path=None, values={}, sources=[], failure_class="terminal")
    return log.get("r1")


def test_webhook_email_and_command_get_the_run_and_no_secret(tmp_path, monkeypatch, webhook, smtp):
    ctl, handler = smtp
    cfg = project(tmp_path, ctl.port, monkeypatch)
    run = failed_run(cfg)
    out_file = tmp_path / "got.json"
    script = tmp_path / "hook.py"
    script.write_text(f"import sys; open({str(out_file)!r}, 'w').write(sys.stdin.read())\n")
    logs = []
    res = notify([f"command:{sys.executable} {script}", f"webhook:{webhook}", "email:ops@example.com"], run, cfg,
                 log=logs.append, sleep=lambda s: None)
    assert res == {f"command:{sys.executable} {script}": True, f"webhook:{webhook}": True,
                   "email:ops@example.com": True}, logs
    for data in (json.loads(out_file.read_text()), Hook.got[0]):
        assert data["id"] == "r1" and data["status"] == "failed" and data["slot"] == "2026-11-05T05:30:00Z"
        assert data["parameters"] == {"day": "2026-11-04"} and data["attempt"] == 1
        assert DB_PASSWORD not in json.dumps(data)
    (frm, to, text), = handler.messages
    assert to == ["ops@example.com"] and "daily" in text and "failed" in text
    assert PASSWORD not in text and DB_PASSWORD not in text


def test_a_failing_notifier_is_logged_retried_and_never_changes_the_run(tmp_path, monkeypatch, webhook, smtp):
    ctl, _ = smtp
    cfg = project(tmp_path, ctl.port, monkeypatch)
    run = failed_run(cfg)
    Hook.fail_first = 2  # two 500s, then it takes it
    logs = []
    res = notify([f"webhook:{webhook}", "webhook:http://127.0.0.1:9/nothing-listens", "command:false"], run, cfg,
                 log=logs.append, sleep=lambda s: None)
    assert res[f"webhook:{webhook}"] is True and len(Hook.got) == 1
    assert res["webhook:http://127.0.0.1:9/nothing-listens"] is False and res["command:false"] is False
    assert sum("attempt" in m for m in logs) == 2 + 3 + 3
    assert RunLog(cfg.runlog_path).get("r1").status == "failed"
    assert all(PASSWORD not in m for m in logs)


def test_a_pipeline_run_is_mailed_with_each_task_and_no_secret(tmp_path, monkeypatch, smtp):
    from workbench.schedule.notify import pipeline_payload

    ctl, handler = smtp
    cfg = project(tmp_path, ctl.port, monkeypatch)
    tasks = [{"name": "load", "status": "ran", "reason": "app.photos changed", "error": None, "report_run": "r9"},
             {"name": "train", "status": "failed", "reason": "failed", "report_run": None,
              "error": f"SourceError: could not connect to postgresql://u:{DB_PASSWORD}@127.0.0.1:1/db"},
             {"name": "report", "status": "upstream_failed", "reason": "upstream train failed", "error": None}]
    data = pipeline_payload("daily", "p1", "failed", tasks, cfg, slot="2026-11-05T05:00:00Z", trigger="schedule",
                            parameters={"day": "2026-11-05"})
    assert data["error"].startswith("task train failed: SourceError") and DB_PASSWORD not in json.dumps(data)
    assert data["reports"] == {"load": str(cfg.reports_dir / "daily.load" / "r9" / "report.html")}
    assert notify(["email:ops@example.com"], data, cfg, log=print, sleep=lambda s: None) == {
        "email:ops@example.com": True}
    (frm, to, text), = handler.messages
    assert "Subject: [workbench] pipeline daily: failed (slot 2026-11-05T05:00:00Z)" in text
    assert "  train: failed (SourceError: could not connect" in text and "  report: upstream_failed" in text
    assert PASSWORD not in text and DB_PASSWORD not in text
