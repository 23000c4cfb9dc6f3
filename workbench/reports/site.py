"""``reports/index.html``: every report, its last status, its recent runs and value trends.

Built from the run log alone, as one static page with relative links and inline SVG
sparklines (no script at all), so it works from ``file://`` and from any static host.
Rebuilt after each run (written atomically) and by ``workbench index``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from .publish import write_atomic
from .runlog import Run, RunLog

RECENT = 10
TREND = 30


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "—"


def _params(p: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in p.items())


def sparkline(values: list[float], width: int = 160, height: int = 32) -> str:
    """An inline SVG polyline of ``values`` (oldest first), with the last point marked."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    n = len(values)
    pts = [(2 + (width - 4) * (i / (n - 1) if n > 1 else 0.5), height - 3 - (height - 6) * (v - lo) / span)
           for i, v in enumerate(values)]
    poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    x, y = pts[-1]
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            f'<title>{n} runs: min {lo:g}, max {hi:g}, last {values[-1]:g}</title>'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{poly}"/>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#0969da"/></svg>')


def _link(run: Run, path: str | None, label: str) -> str:
    if not path or not run.run_dir:
        return ""
    return f'<a href="{html.escape(path)}">{label}</a>'


def _day_key(runs: list[Run]) -> str | None:
    """The parameter every run has as an ISO date (or datetime), if one: the axis of the trend."""
    import datetime as dt

    if not runs:
        return None
    for name in runs[0].parameters:
        try:
            for r in runs:
                dt.datetime.fromisoformat(str(r.parameters[name]))
        except (KeyError, ValueError):
            continue
        return name
    return None


def _trends(runs: list[Run]) -> str:
    """The recorded values of the last successful runs as sparklines, in the order of the
    day they are about (the slot, or a date parameter such as ``day``), else in run order:
    a backfilled October run plotted after November's would draw a false drop."""
    series: dict[str, list[Any]] = defaultdict(list)
    good = list(reversed([r for r in runs if r.status == "succeeded"][:TREND]))  # oldest run first
    if good and all(r.slot for r in good):
        good.sort(key=lambda r: r.slot)
    elif (key := _day_key(good)) is not None:
        good.sort(key=lambda r: str(r.parameters[key]))  # stable: reruns of a day keep their run order
    for run in good:
        for name, value in run.values.items():
            series[name].append(value)
    rows = []
    for name, vals in sorted(series.items()):
        nums = [float(v) for v in vals if isinstance(v, (int, float))]
        last = vals[-1]
        chart = sparkline(nums) if len(nums) == len(vals) else ""
        rows.append(f"<tr><th>{html.escape(name)}</th><td>{chart}</td>"
                    f"<td class=num>{html.escape(f'{last:,.4g}' if isinstance(last, float) else str(last))}</td></tr>")
    return f'<table class="trends">{"".join(rows)}</table>' if rows else ""


SCHEDULES_FILE = ".schedules.json"  # written by the scheduler after each pass


def _schedules(reports_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((reports_dir / SCHEDULES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _schedule_block(info: dict[str, Any] | None) -> str:
    """Schedule, next slot, missed and failed slots of a scheduled report (from the scheduler's last pass)."""
    if not info:
        return ""
    parts = [f"<b>schedule</b> <code>{html.escape(info.get('schedule') or '')}</code> "
             f"({html.escape(info.get('timezone') or 'UTC')})",
             f"<b>next slot</b> {html.escape(info.get('next_local') or '—')}"]
    missed, failed = info.get("missed") or [], info.get("failed") or []
    if missed:
        parts.append(f'<span class="err"><b>missed</b> {len(missed)}: {html.escape(", ".join(missed[-5:]))}</span>')
    if failed:
        parts.append(f'<span class="err"><b>failed slots</b> {len(failed)}: {html.escape(", ".join(failed[-5:]))}</span>')
    return f'<p class="sched">{" · ".join(parts)}</p>'


def build_index(reports_dir: Path, runlog: RunLog, descriptions: dict[str, str] | None = None) -> Path:
    """Write ``index.html`` in ``reports_dir`` and return its path."""
    descriptions = descriptions or {}
    schedules = _schedules(reports_dir)
    by_report: dict[str, list[Run]] = defaultdict(list)
    for run in runlog.runs():
        by_report[run.report].append(run)
    names = sorted(set(by_report) | set(descriptions) | set(schedules))
    sections = []
    for name in names:
        runs = by_report.get(name, [])
        last = runs[0] if runs else None
        latest = next((r for r in runs if r.status == "succeeded"), None)
        status = (f'<span class="st st-{last.status.replace(" ", "-")}">{html.escape(last.status)}</span>'
                  if last else '<span class="st">never run</span>')
        sep = " · " if descriptions.get(name) else ""
        latest_link = (f'{sep}<a href="{html.escape(latest.report_path or "")}">latest good report</a> '
                       f'({html.escape(_params(latest.parameters))})' if latest and latest.report_path else "")
        rows = "".join(
            f"<tr><td>{_when(r.started_at or r.queued_at)}</td>"
            f'<td><span class="st st-{r.status.replace(" ", "-")}">{html.escape(r.status)}</span></td>'
            f"<td>{html.escape(_params(r.parameters))}</td>"
            f"<td class=num>{'' if r.duration is None else f'{r.duration:.1f} s'}</td>"
            f"<td>{_link(r, r.report_path, 'report')} {_link(r, r.notebook_path, 'notebook')}</td>"
            f"<td class=err>{html.escape(r.error or '')}</td></tr>"
            for r in runs[:RECENT]
        )
        table = (f"<table class=runs><tr><th>started</th><th>status</th><th>parameters</th><th>duration</th>"
                 f"<th>links</th><th>error</th></tr>{rows}</table>" if rows else "")
        sections.append(
            f'<section id="{html.escape(name)}"><h2>{html.escape(name)} {status}</h2>'
            f"<p>{html.escape(descriptions.get(name, ''))}{latest_link}</p>"
            f"{_schedule_block(schedules.get(name))}{_trends(runs)}{table}</section>"
        )
    body = "".join(sections) or "<p>No reports yet. Run one with <code>workbench run NAME</code>.</p>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reports</title>
<style>
body{{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#1f2328}}
h2{{font-size:19px;margin:28px 0 4px;border-bottom:1px solid #d0d7de;padding-bottom:4px}}
table{{border-collapse:collapse;font-size:13px;margin:8px 0}} td,th{{padding:3px 10px 3px 0;text-align:left;vertical-align:middle}}
table.runs tr:nth-child(even){{background:#f6f8fa}} .num{{text-align:right;font-variant-numeric:tabular-nums}}
.err{{color:#a40e26;max-width:380px}} .st{{padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;background:#eaeef2}}
.st-succeeded{{background:#dafbe1;color:#116329}} .st-failed,.st-timed-out{{background:#ffebe9;color:#a40e26}}
.st-running,.st-queued{{background:#ddf4ff;color:#0550ae}}
</style></head><body>
<h1>Reports</h1>
<p>Updated {_when(dt.datetime.now().timestamp())}.</p>
{body}
</body></html>
"""
    path = reports_dir / "index.html"
    reports_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(path, page)
    return path
