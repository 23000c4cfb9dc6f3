"""Notifications on a run's final failure (and, with ``notify_success``, on success),
for a report's run and for a pipeline's (its status and each task's).

``command:PATH ARGS`` runs in the project root with the run as JSON on stdin;
``webhook:URL`` POSTs the JSON; ``email:ADDRESS`` sends a short text mail through
``[notify.smtp]``. A notifier that fails is logged and tried again a few times
(:data:`ATTEMPTS`, backing off); it never changes the run's status. The payload holds
what ``workbench runs --format json`` shows plus the report's path; messages pass
through the scrubber, and the mail never carries the SMTP password or a source URL.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import smtplib
import subprocess
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable

from ..config import Config
from ..secrets import clean, secrets_of

ATTEMPTS = 3
TIMEOUT = 15.0


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z") if ts else None


def run_json(run: Any) -> dict[str, Any]:
    """A run as plain JSON data: what ``runs --format json`` prints for it."""
    return {"id": run.id, "report": run.report, "slot": run.slot, "attempt": run.attempt, "status": run.status,
            "parameters": run.parameters, "started": _iso(run.started_at), "ended": _iso(run.ended_at),
            "error": run.error, "trigger": run.trigger, "failure_class": run.failure_class}


def _secrets(cfg: Config) -> list[str]:
    out: list[str] = []
    for s in cfg.sources.values():
        out += secrets_of(s.url)
    if cfg.notify.smtp and cfg.notify.smtp.password:
        out.append(cfg.notify.smtp.password)
    return out


def payload(run: Any, cfg: Config) -> dict[str, Any]:
    data = run_json(run)
    secrets = _secrets(cfg)
    if data["error"]:
        data["error"] = clean(data["error"], secrets)
    if run.report_path:
        data["report_path"] = str(cfg.reports_dir / run.report_path)
    return data


def _command(target: str, body: bytes, cfg: Config) -> None:
    argv = shlex.split(target)
    proc = subprocess.run(argv, input=body, cwd=cfg.root, capture_output=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"exit code {proc.returncode}: {proc.stderr.decode(errors='replace').strip()[:200]}")


def _webhook(url: str, body: bytes, cfg: Config) -> None:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "workbench"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - the user's own URL
        if resp.status >= 300:
            raise RuntimeError(f"HTTP {resp.status}")


def pipeline_payload(pipeline: str, run_id: str, status: str, tasks: list[dict[str, Any]], cfg: Config, *,
                     slot: str | None = None, trigger: str = "manual",
                     parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pipeline run as the notifiers send it: its status, and each task's (as
    ``pipeline run --format json`` prints them), errors scrubbed; ``reports`` maps each
    notebook task that ran to its report page."""
    secrets = _secrets(cfg)
    tasks = [{**t, "error": clean(t["error"], secrets) if t.get("error") else t.get("error"),
              "reason": clean(t.get("reason") or "", secrets)} for t in tasks]
    failed = [t for t in tasks if t["status"] == "failed"]
    return {"kind": "pipeline", "pipeline": pipeline, "id": run_id, "status": status, "slot": slot,
            "trigger": trigger, "parameters": dict(parameters or {}),
            "error": f"task {failed[0]['name']} failed: {failed[0]['error'] or failed[0]['reason']}" if failed else None,
            "tasks": tasks,
            "reports": {t["name"]: str(cfg.reports_dir / f"{pipeline}.{t['name']}" / t["report_run"] / "report.html")
                        for t in tasks if t.get("report_run") and t["status"] == "ran"}}


def _email_lines(data: dict[str, Any]) -> tuple[str, list[str]]:
    slot = f" (slot {data['slot']})" if data["slot"] else ""
    if data.get("kind") == "pipeline":
        lines = [f"pipeline: {data['pipeline']}", f"run: {data['id']}", f"status: {data['status']}",
                 f"slot: {data['slot'] or '-'}", f"parameters: {json.dumps(data['parameters'])}",
                 f"error: {data['error'] or '-'}", "tasks:"]
        lines += [f"  {t['name']}: {t['status']} ({t['error'] or t['reason'] or '-'})" for t in data["tasks"]]
        lines += [f"report page of {name}: {path}" for name, path in data["reports"].items()]
        return f"[workbench] pipeline {data['pipeline']}: {data['status']}{slot}", lines
    lines = [f"report: {data['report']}", f"run: {data['id']} (attempt {data['attempt']})",
             f"status: {data['status']}", f"slot: {data['slot'] or '-'}",
             f"parameters: {json.dumps(data['parameters'])}", f"error: {data['error'] or '-'}"]
    if data.get("report_path"):
        lines.append(f"report page: {data['report_path']}")
    return f"[workbench] {data['report']}: {data['status']}{slot}", lines


def _email(address: str, data: dict[str, Any], cfg: Config) -> None:
    smtp = cfg.notify.smtp
    if smtp is None:
        raise RuntimeError("no [notify.smtp] table in workbench.toml; add host, port and from")
    msg = EmailMessage()
    msg["From"] = smtp.from_
    msg["To"] = address
    subject, lines = _email_lines(data)
    msg["Subject"] = subject
    msg.set_content("\n".join(lines) + "\n")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as s:
        if smtp.starttls:
            s.starttls()
        if smtp.user:
            s.login(smtp.user, smtp.password or "")
        s.send_message(msg)


def notify(targets: list[str], run: Any, cfg: Config, *, log: Callable[[str], None] = print,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, bool]:
    """Send ``run`` (a report run, or a :func:`pipeline_payload`) to each target;
    ``target -> delivered``. Failures are logged, never raised."""
    data = run if isinstance(run, dict) else payload(run, cfg)
    body = json.dumps(data).encode()
    out: dict[str, bool] = {}
    for target in targets:
        kind, _, rest = target.partition(":")
        send = {"command": lambda: _command(rest, body, cfg), "webhook": lambda: _webhook(rest, body, cfg),
                "email": lambda: _email(rest, data, cfg)}.get(kind)
        ok = False
        for attempt in range(1, ATTEMPTS + 1):
            if send is None:
                log(f"notify {target}: unknown kind; use command:, webhook: or email:")
                break
            try:
                send()
                ok = True
                break
            except Exception as e:  # a notifier's failure is logged, and never the run's
                log(f"notify {kind}:{clean(rest, _secrets(cfg))} attempt {attempt}/{ATTEMPTS} failed: "
                    f"{clean(f'{type(e).__name__}: {e}', _secrets(cfg))}")
                if attempt < ATTEMPTS:
                    sleep(0.5 * 2 ** (attempt - 1))
        out[target] = ok
    return out


__all__ = ["notify", "payload", "pipeline_payload", "run_json", "Path"]
