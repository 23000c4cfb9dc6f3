"""Object stores (``s3://``): one set of settings, read by fsspec/s3fs and by DuckDB's httpfs.

Files (listing, upload, download, fingerprints) go through fsspec's ``s3fs``; queries go
through DuckDB's httpfs extension (loaded offline by :mod:`workbench.duck`) with a
``CREATE SECRET`` built here from the same :class:`S3Options`. So a lake on
``s3://bucket/prefix`` is read by the same settings whichever side touches it.

``storage`` is a layer of its own, just above the foundation (``config``, ``duck``,
``secrets``), so it can read ``[storage.s3]`` (:meth:`S3Options.from_config`), load
httpfs offline and scrub its messages itself (docs/architecture.md says why); what is
not set falls back to the usual AWS environment variables.

Writes are whole objects: S3 shows an object only once its PUT (or the last call of a
multipart upload) completes, so :func:`put_file` uploads a complete local file and a
reader sees the old object or the new one, never half of one; there is no rename.

Secrets: the key id, the secret and the session token are never in a repr (the
dataclass hides them), and :attr:`S3Options.secrets` lists them for
:func:`workbench.secrets.clean`, which every message built here passes through.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..errors import StorageAuthError, StorageError
from ..secrets import clean
from ..sqltext import quote_literal

if TYPE_CHECKING:
    import duckdb

    from ..config import Config

SCHEMES = ("s3",)
#: DuckDB's name for the secret workbench creates on a hub connection
SECRET_NAME = "workbench_s3"
_GLOB = re.compile(r"[*?\[{]")
#: s3fs/botocore error codes that mean "these credentials do not work here"
_AUTH_CODES = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken",
               "ExpiredToken", "AuthFailure", "403")


def is_remote(url: str | os.PathLike[str]) -> bool:
    """Whether ``url`` names an object in a store (``s3://...``) rather than a local path."""
    text = os.fspath(url)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def has_glob(url: str) -> bool:
    return bool(_GLOB.search(url))


def split(url: str) -> tuple[str, str]:
    """``(bucket, key)`` of ``s3://bucket/key``."""
    rest = url.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3-compatible store; secrets hidden from the repr."""

    endpoint: str | None = None      # as written: host:port, http://host:port or https://host
    region: str | None = None
    url_style: str | None = None     # path | vhost
    use_ssl: bool | None = None
    key_id: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None = None,
                    env: Mapping[str, str] | None = None) -> "S3Options":
        """The options from ``[storage.s3]``'s plain values; the AWS variables fill the gaps."""
        env = os.environ if env is None else env
        given = {k: v for k, v in (values or {}).items() if v not in (None, "")}
        names = {f.name for f in fields(cls)}
        unknown = set(given) - names
        if unknown:
            raise TypeError(f"unknown S3 option(s): {', '.join(sorted(unknown))}")

        def pick(*names: str) -> str | None:
            for n in names:
                if env.get(n):
                    return env[n]
            return None

        given.setdefault("key_id", pick("AWS_ACCESS_KEY_ID"))
        given.setdefault("secret", pick("AWS_SECRET_ACCESS_KEY"))
        given.setdefault("session_token", pick("AWS_SESSION_TOKEN"))
        given.setdefault("region", pick("AWS_REGION", "AWS_DEFAULT_REGION"))
        given.setdefault("endpoint", pick("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"))
        return cls(**given)

    @classmethod
    def from_config(cls, config: "Config | None", env: Mapping[str, str] | None = None) -> "S3Options":
        """The options of ``config``'s ``[storage.s3]`` (the AWS variables fill the gaps)."""
        s3 = config.storage.s3 if config is not None else None
        return cls.from_values(s3.plain() if s3 is not None else None, env)

    # -- derived -------------------------------------------------------------------
    @property
    def secrets(self) -> list[str]:
        """The strings to scrub from any message: key id, secret, session token."""
        return [s for s in (self.key_id, self.secret, self.session_token) if s]

    @property
    def ssl(self) -> bool:
        if self.use_ssl is not None:
            return self.use_ssl
        return not (self.endpoint or "").lower().startswith("http://")

    @property
    def style(self) -> str:
        return self.url_style or ("path" if self.endpoint else "vhost")

    @property
    def region_name(self) -> str:
        return self.region or "us-east-1"

    @property
    def endpoint_host(self) -> str | None:
        """``host:port`` (DuckDB's ENDPOINT)."""
        if not self.endpoint:
            return None
        return self.endpoint.split("://", 1)[-1]

    @property
    def endpoint_url(self) -> str | None:
        """``scheme://host:port`` (botocore's endpoint_url)."""
        host = self.endpoint_host
        if host is None:
            return None
        return f"{'https' if self.ssl else 'http'}://{host}"

    @property
    def where(self) -> str:
        """The store, for messages: its endpoint or "AWS S3"."""
        return self.endpoint_url or "AWS S3"


# -- files (fsspec / s3fs) -----------------------------------------------------------------
def filesystem(options: S3Options | None = None):
    """An ``s3fs.S3FileSystem`` for ``options`` (listings never cached: a listing is a fact now)."""
    import s3fs

    o = options or S3Options.from_values()
    client_kwargs: dict[str, Any] = {"region_name": o.region_name}
    if o.endpoint_url:
        client_kwargs["endpoint_url"] = o.endpoint_url
    return s3fs.S3FileSystem(
        key=o.key_id, secret=o.secret, token=o.session_token, anon=not (o.key_id and o.secret),
        use_ssl=o.ssl, client_kwargs=client_kwargs, use_listings_cache=False, skip_instance_cache=False,
        config_kwargs={"s3": {"addressing_style": "path" if o.style == "path" else "virtual"},
                       "retries": {"max_attempts": 2, "mode": "standard"},
                       "connect_timeout": 10, "read_timeout": 60},
    )


def open_target(url: str | os.PathLike[str], options: S3Options | None = None):
    """``(fsspec filesystem, path)`` for ``url``: s3fs for ``s3://``, the local one otherwise."""
    text = os.fspath(url)
    if is_remote(text):
        return filesystem(options), text.split("://", 1)[1]
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem(), os.path.abspath(text)


def storage_error(e: BaseException, url: str, options: S3Options | None, doing: str) -> StorageError:
    """One clean line for a failure of the store while ``doing`` something with ``url``."""
    o = options or S3Options()
    text = f"{type(e).__name__}: {e}"
    auth = isinstance(e, PermissionError) or any(code in text for code in _AUTH_CODES)
    if auth:
        return StorageAuthError(clean(
            f"{o.where} refused the credentials while {doing} {url} ({_reason(e)}); check key_id and secret "
            "in [storage.s3] (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)", o.secrets))
    if isinstance(e, FileNotFoundError):
        return StorageError(clean(f"{url} does not exist on {o.where} ({_reason(e)}); check the bucket and prefix",
                                  o.secrets), retryable=False)
    return StorageError(clean(
        f"{o.where} failed while {doing} {url} ({_reason(e)}); check that the store is up and "
        "[storage.s3] endpoint is right, then try again", o.secrets))


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text[:300]


def list_files(url: str, options: S3Options | None = None) -> dict[str, dict[str, Any]]:
    """``{path: info}`` of every file under the prefix (or matching the glob) ``url``.

    Paths come back without the scheme (``bucket/key``), as fsspec gives them.
    """
    fs, path = open_target(url, options)
    try:
        if has_glob(path):
            found = fs.glob(path, detail=True)
        else:
            found = fs.find(path, detail=True)
    except Exception as e:  # noqa: BLE001 - s3fs raises OSError subclasses and botocore's own
        if is_remote(url):
            raise storage_error(e, url, options, "listing") from None
        raise
    return {p: info for p, info in found.items() if info.get("type", "file") == "file"}


def listing_fingerprint(url: str, options: S3Options | None = None) -> str:
    """A token of the objects under ``url`` (a prefix or a glob): key, size and ETag of each.

    S3 gives every object an ETag that changes whenever its content does (an MD5 for a
    plain PUT, a hash of the parts for a multipart upload, an opaque value under SSE-KMS,
    which then changes even when the bytes do not: only a spare re-run). Key + size + ETag
    is what a listing can tell honestly without reading the data: equal tokens mean the
    same set of objects with the same content. A new, removed or rewritten object changes
    it. Raises :class:`~workbench.errors.StorageError` when the store cannot be listed.
    """
    files = list_files(url, options)
    h = hashlib.sha256()
    for path in sorted(files):
        info = files[path]
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
        h.update(f"{path}\0{info.get('size')}\0{etag}\n".encode())
    return f"s3-listing:{len(files)}:{h.hexdigest()[:32]}"


def put_file(local: str | os.PathLike[str], url: str, options: S3Options | None = None) -> None:
    """Upload the complete local file ``local`` as the object ``url`` (whole or not at all)."""
    fs, path = open_target(url, options)
    try:
        fs.put_file(os.fspath(local), path)
    except Exception as e:  # noqa: BLE001
        raise storage_error(e, url, options, "writing") from None


def put_bytes(data: bytes, url: str, options: S3Options | None = None) -> None:
    """Write ``data`` as the object ``url`` in one PUT."""
    fs, path = open_target(url, options)
    try:
        fs.pipe_file(path, data)
    except Exception as e:  # noqa: BLE001
        raise storage_error(e, url, options, "writing") from None


def get_bytes(url: str, options: S3Options | None = None) -> bytes | None:
    """The object ``url``'s content, or ``None`` if there is no such object."""
    fs, path = open_target(url, options)
    try:
        return fs.cat_file(path)
    except FileNotFoundError:
        return None
    except Exception as e:  # noqa: BLE001
        raise storage_error(e, url, options, "reading") from None


def exists(url: str, options: S3Options | None = None) -> bool:
    fs, path = open_target(url, options)
    try:
        return fs.exists(path)
    except Exception as e:  # noqa: BLE001
        raise storage_error(e, url, options, "checking") from None


# -- queries (DuckDB httpfs) ---------------------------------------------------------------
def duckdb_secret_sql(options: S3Options, name: str = SECRET_NAME) -> str:
    """``CREATE OR REPLACE SECRET`` for DuckDB's httpfs: the same store and credentials.

    A temporary (in-memory) secret: it lives as long as the connection, never on disk.
    """
    parts = ["TYPE s3", f"REGION {quote_literal(options.region_name)}",
             f"URL_STYLE {quote_literal(options.style)}", f"USE_SSL {'true' if options.ssl else 'false'}"]
    if options.endpoint_host:
        parts.append(f"ENDPOINT {quote_literal(options.endpoint_host)}")
    if options.key_id:
        parts.append(f"KEY_ID {quote_literal(options.key_id)}")
    if options.secret:
        parts.append(f"SECRET {quote_literal(options.secret)}")
    if options.session_token:
        parts.append(f"SESSION_TOKEN {quote_literal(options.session_token)}")
    return f"CREATE OR REPLACE TEMPORARY SECRET {name} ({', '.join(parts)})"


def configure_duckdb(con: "duckdb.DuckDBPyConnection", options: S3Options) -> None:
    """Load httpfs (offline, from its PyPI package) into ``con`` and give it the store's secret."""
    import duckdb

    from .. import duck  # here, not at import: a lake source on local files never loads DuckDB

    duck.load_extension(con, "httpfs")
    try:
        con.execute(duckdb_secret_sql(options))
    except duckdb.Error as e:
        raise StorageError(clean(f"cannot configure DuckDB for {options.where}: {e}", options.secrets),
                           retryable=False) from None


def uses_remote(urls: Iterable[str]) -> bool:
    """Whether any of ``urls`` is in an object store (the hub then loads httpfs)."""
    return any(is_remote(u) for u in urls)
