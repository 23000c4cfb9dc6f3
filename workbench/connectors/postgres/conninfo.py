"""libpq connection strings for a ``postgresql://`` URL, with the secrets they hold.

One place builds them: the fetch path, the source's ping and the hub's ATTACH all
connect with the same session settings (read-only, statement timeout, application
name), so a connection can never be less safe than another.
"""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from ...errors import ParameterError


def conninfo(url: str, *, read_only: bool, timeout: float | None, application_name: str) -> tuple[str, list[str]]:
    """A libpq conninfo string for ``url`` and the secrets in it (to scrub from messages).

    Session settings travel in libpq's ``options``, so they hold on every connection the
    call opens, DuckDB's included, before any statement runs.
    """
    try:
        u = make_url(url)
    except Exception as e:  # noqa: BLE001 - SQLAlchemy raises several kinds here
        raise ParameterError(f"not a database URL: {type(e).__name__}; write postgresql://user@host:port/dbname") from None
    if not u.drivername.startswith("postgresql"):
        raise ParameterError(f"{u.drivername}:// is not PostgreSQL; pgfetch reads postgresql:// URLs")
    kw: dict[str, Any] = {k: v for k, v in u.query.items() if isinstance(v, str)}
    for key, value in (("host", u.host), ("port", u.port), ("user", u.username), ("dbname", u.database)):
        if value:
            kw[key] = str(value)
    secrets = []
    if u.password is not None:
        kw["password"] = str(u.password)
        secrets.append(str(u.password))
    options = [kw.pop("options", "")]
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if timeout:
        options.append(f"-c statement_timeout={max(1, round(timeout * 1000))}")
    kw["options"] = " ".join(o for o in options if o)
    kw.setdefault("connect_timeout", "10")
    kw["application_name"] = application_name
    return psycopg.conninfo.make_conninfo("", **kw), secrets
