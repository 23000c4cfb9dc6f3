"""Render an executed notebook to one self-contained, offline HTML page.

nbconvert's ``basic`` template renders the cells (no ``<head>``, so none of the lab/classic
templates' require.js, MathJax or widget scripts from a CDN); this module wraps them in a
page of its own with the run's header, a small stylesheet, and plotly.js from the
installed plotly package embedded once, however many figures there are. Figures come from
their ``application/vnd.plotly.v1+json`` output (kernels run with the JSON-only renderer),
so the data of each figure is in the page once too. plotly.js is stored gzipped (see
:data:`_PLOT_JS`), which keeps a report with charts near 2 MB instead of 5.

What is left out: the injected-parameters cell, papermill's error-marker cells, code
(unless ``show_code``; the failing cell always shows its code), widget views (their
state needs a CDN), and output beyond the bounds below, which is cut with a note.
A failed run's page opens at the failing cell.
"""

from __future__ import annotations

import copy
import functools
import datetime as dt
import html
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from .params import INJECTED_TAG

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
ERROR_MARKER_TAG = "papermill-error-cell-tag"
MAX_TEXT = 100_000        # characters of one text output kept (head and tail)
MAX_HTML = 1_000_000      # characters of one HTML output (a huge table) before it is dropped
MAX_PAGE = 20_000_000     # characters of outputs in the whole page before the rest is dropped


@dataclass
class Header:
    report: str
    run_id: str
    status: str
    parameters: dict[str, Any]
    started_at: float
    duration: float | None
    sources: list[str] = field(default_factory=list)
    description: str = ""
    error: str | None = None
    version: str = ""


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 3 // 4], text[-limit // 4:]
    cut = text.count("\n", len(head), len(text) - len(tail))
    return f"{head}\n… [{cut:,} lines ({len(text) - len(head) - len(tail):,} characters) cut; the full output is in notebook.ipynb] …\n{tail}"


def _coalesce(outputs: list) -> list:
    """Join consecutive stream outputs of the same stream, as Jupyter shows them."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            prev["text"] = prev.get("text", "") + out.get("text", "")
        else:
            merged.append(out)
    return merged


def bound_outputs(nb: Any) -> int:
    """Cut oversized stream/text outputs in place (also used on the saved notebook)."""
    cuts = 0
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = _coalesce(cell.outputs)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and len(out.get("text", "")) > MAX_TEXT:
                out["text"], cuts = _cut(out["text"], MAX_TEXT), cuts + 1
            data = out.get("data", {})
            if isinstance(data.get("text/plain"), str) and len(data["text/plain"]) > MAX_TEXT:
                data["text/plain"], cuts = _cut(data["text/plain"], MAX_TEXT), cuts + 1
    return cuts


def _figure_html(fig: dict[str, Any]) -> str:
    div = f"wbfig-{uuid.uuid4().hex[:12]}"
    payload = json.dumps({"data": fig.get("data", []), "layout": fig.get("layout", {}),
                          "config": {"responsive": True, "displaylogo": False, **fig.get("config", {})}})
    payload = payload.replace("</", "<\\/")
    return (f'<div id="{div}" class="wb-plotly"></div>'
            f'<script type="application/json" id="{div}-data">{payload}</script>'
            f'<script>wbPlot("{div}");</script>')


def _running_cell(nb: Any) -> int | None:
    """The cell a killed or timed-out run was in: the last one papermill had started."""
    started = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "code" and c.get("metadata", {}).get("papermill", {}).get("status", "pending") != "pending"]
    return started[-1] if started else None


def _prepare(nb: Any, show_code: bool, stopped: bool) -> tuple[Any, int | None]:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells
                if not {INJECTED_TAG, ERROR_MARKER_TAG} & set(c.get("metadata", {}).get("tags", []))]
    failed = None
    budget = MAX_PAGE
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if out.get("ename") == "SystemExit" and out.get("evalue") in ("", "0", "None"):
                    out = {"output_type": "stream", "name": "stdout",  # papermill's clean early stop
                           "text": "[the notebook stopped here with sys.exit(0); later cells did not run]\n"}
                elif failed is None:
                    failed = i
            data = out.get("data")
            if data is not None:
                if PLOTLY_MIME in data:
                    out["data"] = {"text/html": _figure_html(data[PLOTLY_MIME])}
                elif WIDGET_MIME in data:
                    out["data"] = {"text/plain": data.get("text/plain", "(an interactive widget; open the notebook)")}
                else:
                    data.pop("application/javascript", None)  # would run code from the kernel's output
                    if len(str(data.get("text/html", ""))) > MAX_HTML:
                        data.pop("text/html")
                        data["text/plain"] = _cut(str(data.get("text/plain", "")), MAX_TEXT) + \
                            "\n[a very large HTML output was left out of the report; see notebook.ipynb]"
            size = len(json.dumps(out.get("data", out.get("text", ""))))
            if size > budget:
                outputs.append({"output_type": "stream", "name": "stdout",
                                "text": "[output left out: the report reached its size limit; see notebook.ipynb]\n"})
                budget = 0
                continue
            budget -= size
            outputs.append(out)
        cell.outputs = outputs
        if not show_code and i != failed:
            cell.metadata.setdefault("transient", {})["remove_source"] = True  # what nbconvert's templates read
    bound_outputs(nb)
    note = "This cell failed:"
    if failed is None and stopped:
        failed, note = _running_cell(nb), "The run stopped while this cell was running."
        if failed is not None:
            nb.cells[failed].metadata.pop("transient", None)
    if failed is not None:
        nb.cells[failed].outputs.insert(0, {"output_type": "display_data", "metadata": {}, "data": {
            "text/html": f'<div id="failed-cell" class="wb-failed">{note}</div>'}})
    return nb, failed


_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1100px;margin:0 auto;padding:0 24px 48px}
header.wb{background:#f6f8fa;border-bottom:1px solid #d0d7de;padding:16px 24px;margin-bottom:16px}
header.wb h1{margin:0 0 4px;font-size:24px} header.wb p{margin:4px 0;color:#59636e}
header.wb table{border-collapse:collapse;margin-top:8px;font-size:13px}
header.wb td,header.wb th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
.wb-status{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:13px}
.wb-succeeded{background:#dafbe1;color:#116329}.wb-failed,.wb-timed-out{background:#ffebe9;color:#a40e26}
.wb-error{background:#ffebe9;border:1px solid #ff818266;padding:8px 12px;border-radius:6px;margin-top:8px}
.wb-failed{font-weight:600;margin:8px 0}
.jp-Cell{margin:12px 0}.jp-InputArea-prompt,.jp-OutputPrompt{display:none}
pre{background:#f6f8fa;padding:8px 12px;border-radius:6px;overflow:auto;font-size:13px;white-space:pre-wrap}
table.dataframe{border-collapse:collapse;font-size:13px;margin:8px 0}
table.dataframe td,table.dataframe th{border:1px solid #d0d7de;padding:3px 8px;text-align:right}
table.dataframe thead th{background:#f6f8fa}table.dataframe tbody tr:nth-child(even){background:#fafbfc}
.jp-RenderedImage img{max-width:100%}.wb-plotly{width:100%;min-height:420px}
.jp-OutputArea-output.jp-OutputArea-executeResult,.jp-RenderedText{overflow:auto}
.ansi-red-fg{color:#c4312b}.ansi-green-fg{color:#116329}.ansi-blue-fg{color:#0550ae}.ansi-cyan-fg{color:#1b7c83}
.ansi-yellow-fg{color:#7d4e00}.ansi-bold{font-weight:600}
footer{color:#59636e;font-size:12px;margin-top:32px}
a.anchor-link{visibility:hidden;margin-left:.3em;color:#8c959f;text-decoration:none;font-weight:400}
:is(h1,h2,h3,h4,h5,h6):hover>a.anchor-link,a.anchor-link:focus{visibility:visible}
"""

# plotly.js travels gzipped and base64-encoded (4.8 MB -> about 1.9 MB) and is unpacked
# in the page with the browser's DecompressionStream; figures are drawn once it is loaded.
_PLOT_JS = """
window.wbPlotly=(async function(){var t=document.getElementById('wb-plotly-js').textContent;
var b=Uint8Array.from(atob(t),function(c){return c.charCodeAt(0);});
var s=new Blob([b]).stream().pipeThrough(new DecompressionStream('gzip'));
(0,eval)(await new Response(s).text());})();
function wbPlot(id){window.wbPlotly.then(function(){var el=document.getElementById(id);
var f=JSON.parse(document.getElementById(id+'-data').textContent);
Plotly.newPlot(el,f.data,f.layout,f.config);});}
"""


@functools.cache
def _plotly_packed() -> str:
    """plotly.js of the installed plotly package, gzipped and base64-encoded (once per process)."""
    import base64
    import gzip

    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), 9, mtime=0)).decode("ascii")


def _header_html(h: Header) -> str:
    started = dt.datetime.fromtimestamp(h.started_at).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    duration = "—" if h.duration is None else f"{h.duration:.1f} s"
    params = "".join(
        f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(_shown(v))}</code></td></tr>"
        for k, v in h.parameters.items()
    ) or "<tr><td>(none)</td></tr>"
    status_cls = "wb-" + h.status.replace(" ", "-")
    error = ""
    if h.error:
        jump = ' <a href="#failed-cell">Go to the failing cell</a>' if h.status != "succeeded" else ""
        error = f'<div class="wb-error"><strong>Error:</strong> {html.escape(h.error)}{jump}</div>'
    return f"""<header class="wb">
<h1>{html.escape(h.report)}</h1>
{f'<p>{html.escape(h.description)}</p>' if h.description else ''}
<p><span class="wb-status {status_cls}">{html.escape(h.status)}</span>
 started {html.escape(started)} · took {duration} · run <code>{html.escape(h.run_id)}</code></p>
<table><tr><th colspan="2">Parameters</th></tr>{params}</table>
<p>Sources: {html.escape(', '.join(h.sources) or '—')} · workbench {html.escape(h.version)}</p>
{error}
</header>"""


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return json.dumps(value)
    return "None" if value is None else str(value)


@functools.cache
def _exporter() -> Any:
    """One exporter per process: loading its templates costs more than a render."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True)


@functools.cache
def _code_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


def render(nb: Any, header: Header, *, show_code: bool = False) -> str:
    """The report page for executed notebook ``nb``."""
    prepared, failed = _prepare(nb, show_code, stopped=header.status != "succeeded")
    body, _ = _exporter().from_notebook_node(prepared)
    has_plots = 'class="wb-plotly"' in body
    plotly = ""
    if has_plots:
        plotly = (f'<script type="application/octet-stream" id="wb-plotly-js">{_plotly_packed()}</script>'
                  f"<script>{_PLOT_JS}</script>")
    jump = ("<script>window.addEventListener('load',function(){var c=document.getElementById('failed-cell');"
            "if(c&&!location.hash)c.scrollIntoView();});</script>" if failed is not None else "")
    title = f"{header.report} · {header.run_id}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}{_code_css()}</style>
{plotly}
</head><body>
{_header_html(header)}
<main>
{body}
<footer>Rendered by workbench {html.escape(header.version)} from notebook.ipynb in this folder.</footer>
</main>{jump}
</body></html>
"""


def render_fallback(header: Header, problem: str) -> str:
    """A minimal page for a run whose notebook could not be rendered."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(header.report)} · {html.escape(header.run_id)}</title>
<style>{_CSS}</style></head><body>
{_header_html(header)}
<main><p class="wb-error">The executed notebook could not be rendered ({html.escape(problem)});
open notebook.ipynb in this folder.</p></main>
</body></html>
"""
