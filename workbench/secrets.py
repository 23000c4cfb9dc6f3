"""Secrets never leave in a message: one place redacts URLs and scrubs passwords.

Every error, log line and report header that might carry a connection URL or a driver's
message passes through here. A driver quotes the URL it failed on, so scrubbing the
password text itself (not only the URL shape) is what keeps it out.
"""

from __future__ import annotations

import re
from typing import Iterable


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    if "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read still gets redacted
        return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def secrets_of(url: str) -> list[str]:
    """The secret strings inside ``url`` (its password), to scrub from any message."""
    if "://" not in url or "@" not in url:  # no '@', no password (SQLAlchemy reads one only before an '@')
        return []
    try:
        from sqlalchemy.engine import make_url

        pw = make_url(url).password
    except Exception:  # noqa: BLE001
        return []
    return [str(pw)] if pw else []


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def one_line(text: object) -> str:
    """``text`` folded onto one line (driver messages span several)."""
    return " ".join(str(text).split())


def clean(text: object, secrets: Iterable[str] = ()) -> str:
    """One line, secrets scrubbed: the form every message takes."""
    return scrub(one_line(text), secrets)
