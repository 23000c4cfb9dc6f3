"""How a ``%sql`` result shows itself: the first rows, the row count, the time, the source."""

from __future__ import annotations

import html

import pandas as pd

PREVIEW_ROWS = 10


class SqlResult(pd.DataFrame):
    """A query result: an ordinary DataFrame that displays as a bounded preview.

    Operations on it return plain DataFrames; only the object a ``%sql`` cell returned
    knows its row count, timing and source.
    """

    _metadata = ["_wb_caption"]

    def _ipython_display_(self) -> None:
        from IPython.display import publish_display_data

        caption = getattr(self, "_wb_caption", f"{len(self):,} rows")
        head = pd.DataFrame(self.head(PREVIEW_ROWS))
        more = f" · first {PREVIEW_ROWS} shown" if len(self) > PREVIEW_ROWS else ""
        body = head.to_html(index=False, na_rep="NULL", border=0, classes="wb-sql-result", max_cols=50)
        publish_display_data({
            "text/plain": f"{head.to_string(index=False, max_cols=20)}\n[{caption}{more}]",
            "text/html": f'<div class="wb-sql">{body}<p class="wb-sql-caption" style="color:#666">'
                         f"{html.escape(caption + more)}</p></div>",
        })


def _caption(rows: int, seconds: float, source: str | None, limited: bool) -> str:
    count = f"{rows:,} row{'s' if rows != 1 else ''}" + (" (limit reached)" if limited else "")
    return f"{count} · {seconds:.2f} s · {source or 'hub'}"


