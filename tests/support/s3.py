"""A real S3-compatible server on loopback for the tests: moto's server, credentials required.

moto (``moto[server]`` from PyPI, as s3fs's own tests use) serves the S3 REST API over
HTTP. It checks signatures only once ``INITIAL_NO_AUTH_ACTION_COUNT`` requests have
passed; the server here starts open, creates an IAM user with an ``s3:*`` policy and an
access key through its own IAM API, then turns authentication on (``/moto-api/reset-auth``
with 0), so from then on a request signed with any other key or secret is refused by the
server itself (``SignatureDoesNotMatch``/``InvalidAccessKeyId``), as a real store does.

The server runs in a thread of the test process (``ThreadedMotoServer``) on a port of
its own, bound to 127.0.0.1. Its objects live in moto's in-process backends, so
:meth:`S3Server.stop` closes the socket (clients get "connection refused", like a store
that went down) and :meth:`S3Server.start` serves the same objects again on the same
port: the mid-publish failure test stops it and restarts it.

Fixtures (registered by ``tests/conftest.py``):

- ``s3_server`` (session): the running :class:`S3Server`;
- ``s3`` (function): an :class:`S3Bucket`, a fresh bucket of its own, with the endpoint,
  region and credentials, also exported as ``WB_TEST_S3_*`` environment variables so a
  ``workbench.toml`` (or a CLI subprocess) can say ``key_id = "${WB_TEST_S3_KEY_ID}"``
  (:meth:`S3Bucket.toml` writes that block).

If moto cannot be imported or started, the test fails in CI and is skipped elsewhere
(:func:`tests.support.servers._unavailable`).

``python -m tests.support.s3`` runs the same server in the foreground and prints its
settings as one JSON line (the benchmark runs it in a process of its own).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from .servers import _unavailable

REGION = "us-east-1"
USER = "workbench-tests"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
_BOOTSTRAP = "bootstrap-not-a-key"  # moto accepts anything before auth is turned on


class S3Server:
    """moto's S3 server on 127.0.0.1 with one IAM user whose key is the only one accepted."""

    def __init__(self, port: int = 0):
        self.port = port
        self.region = REGION
        self.key_id = ""
        self.secret = ""
        self._server = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> "S3Server":
        """Serve (again) on the same port; the objects of a previous start are still there."""
        from moto.server import ThreadedMotoServer

        with self._lock:
            if self._server is not None:
                return self
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request lines on stderr
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            server.start()
            self.port = server.get_host_and_port()[1]
            self._server = server
        if not self.key_id:
            self._bootstrap()
        return self

    def stop(self) -> None:
        """Close the socket: clients now get "connection refused" until :meth:`start`."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _bootstrap(self) -> None:
        import requests

        iam = self._client("iam", _BOOTSTRAP, _BOOTSTRAP)
        iam.create_user(UserName=USER)
        iam.put_user_policy(UserName=USER, PolicyName="s3-all", PolicyDocument=json.dumps(POLICY))
        key = iam.create_access_key(UserName=USER)["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        r = requests.post(f"{self.endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
        r.raise_for_status()

    def _client(self, service: str, key_id: str, secret: str):
        import boto3
        from botocore.config import Config

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=key_id, aws_secret_access_key=secret,
                            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    def client(self, *, key_id: str | None = None, secret: str | None = None):
        """A boto3 S3 client (the admin door, bypassing workbench); another key to be refused."""
        return self._client("s3", key_id or self.key_id, secret or self.secret)

    def settings(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "region": self.region, "key_id": self.key_id, "secret": self.secret}


@dataclass
class S3Bucket:
    """A fresh bucket on the test server, and what a workbench.toml needs to reach it."""

    server: S3Server
    name: str
    env: dict[str, str] = field(default_factory=dict, repr=False)  # holds the secret

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def region(self) -> str:
        return self.server.region

    @property
    def key_id(self) -> str:
        return self.server.key_id

    @property
    def secret(self) -> str:
        return self.server.secret

    def url(self, key: str = "") -> str:
        """``s3://BUCKET/key``."""
        return f"s3://{self.name}/{key.lstrip('/')}"

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server.start()

    def client(self, **kw):
        return self.server.client(**kw)

    def put(self, key: str, data: bytes | str) -> None:
        self.client().put_object(Bucket=self.name, Key=key, Body=data.encode() if isinstance(data, str) else data)

    def upload(self, path, key: str) -> None:
        self.client().upload_file(str(path), self.name, key)

    def get(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def toml(self, *, secrets_in_env: bool = True) -> str:
        """The ``[storage.s3]`` block for this server; the key and secret as ``${VAR}``."""
        key_id = "${WB_TEST_S3_KEY_ID}" if secrets_in_env else self.key_id
        secret = "${WB_TEST_S3_SECRET}" if secrets_in_env else self.secret
        return (f'[storage.s3]\nendpoint = "{self.endpoint}"\nregion = "{self.region}"\nurl_style = "path"\n'
                f'key_id = "{key_id}"\nsecret = "{secret}"\n')


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback with credentials required, for the whole session."""
    try:
        server = S3Server().start()
    except Exception as e:  # noqa: BLE001 - any failure to start is "not available"
        _unavailable("moto's S3 server", e, "pip install 'moto[server]==5.2.5'")
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """A fresh bucket on the loopback S3 server; its settings in ``WB_TEST_S3_*`` variables.

    The AWS_* variables of the developer's shell are removed for the test, and the instance
    metadata lookup is off, so nothing reaches a real store.
    """
    s3_server.start()  # a previous test may have stopped it
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    name = f"wb-{secrets.token_hex(5)}"
    s3_server.client().create_bucket(Bucket=name)
    env = {"WB_TEST_S3_ENDPOINT": s3_server.endpoint, "WB_TEST_S3_REGION": s3_server.region,
           "WB_TEST_S3_KEY_ID": s3_server.key_id, "WB_TEST_S3_SECRET": s3_server.secret,
           "AWS_EC2_METADATA_DISABLED": "true"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    yield S3Bucket(s3_server, name, env)


def main() -> None:
    """Run the server in the foreground; print its settings as one JSON line."""
    import signal
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = S3Server(port).start()
    print(json.dumps(server.settings()), flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


if __name__ == "__main__":
    import signal

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
