"""Durations as people write them in a config or on a command line: ``90``, ``"5m"``, ``"1h"``.

The config's timeouts and the CLI's ``--timeout`` share this one parser, so the two
accept exactly the same texts.
"""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, *, what: str = "duration") -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"1h"``, ``"250ms"``; ``None``/0 means none."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number of seconds or a string like '30s', '5m', '1h'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(
                f"{what} {value!r} is not a duration; write seconds or '30s', '5m', '1h'"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if seconds < 0:
        raise ValueError(f"{what} must not be negative")
    return seconds or None


def parse_offset(value: Any, *, what: str = "offset") -> float:
    """Signed seconds: ``"-1d"``, ``"+6h"``, ``"90m"``, ``-3600``; ``None`` is 0."""
    if value is None:
        return 0.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    sign = -1.0 if text.startswith("-") else 1.0
    try:
        seconds = parse_duration(text.lstrip("+-"), what=what)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an offset; write e.g. '-1d', '+6h', '0'") from None
    return sign * (seconds or 0.0)
