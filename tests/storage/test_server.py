"""The test S3 server itself: credentials are required, a restart keeps the objects."""

from __future__ import annotations

import pytest


def test_the_server_refuses_a_wrong_secret_and_an_unknown_key(s3):
    from botocore.exceptions import ClientError

    s3.put("a.txt", "hello")
    assert s3.get("a.txt") == b"hello"
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        s3.client(secret="not-the-secret").list_objects_v2(Bucket=s3.name)
    with pytest.raises(ClientError, match="InvalidAccessKeyId"):
        s3.client(key_id="AKIANOTAKEY0000000000", secret="x").list_objects_v2(Bucket=s3.name)


def test_stop_refuses_connections_and_start_serves_the_same_objects(s3):
    from botocore.exceptions import EndpointConnectionError

    s3.put("keep/me.txt", "still here")
    s3.stop()
    with pytest.raises(EndpointConnectionError):
        s3.client().list_objects_v2(Bucket=s3.name)
    s3.start()
    assert s3.keys() == ["keep/me.txt"] and s3.get("keep/me.txt") == b"still here"
