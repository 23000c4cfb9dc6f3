"""The query rules every caller gets: parameters given once, a row cap, a default timeout."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ParameterError, RowLimitError, UsageError


def merge_params(params: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``params=`` and keyword parameters as one dict; a name given both ways is an error."""
    merged = dict(params or {})
    for k, v in kwargs.items():
        if k in merged:
            raise ParameterError(f"parameter {k!r} is given twice (as {k}= and in params=); give it once")
        merged[k] = v
    return merged


def check_query(query: Any) -> None:
    if not isinstance(query, str) or not query.strip():
        raise UsageError("the query is empty; pass the SQL text as the first argument")


def row_limit_error(where: str, cap: int) -> RowLimitError:
    return RowLimitError(
        f"the result on {where} has more than {cap:,} rows; aggregate in SQL (GROUP BY, "
        f"LIMIT), stream it with wb.sql_batches / wb.export, or raise the cap with "
        f"max_rows=... (or max_rows in workbench.toml)"
    )
