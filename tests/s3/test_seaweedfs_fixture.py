"""The suite's SeaweedFS checks credentials, keeps its data across a restart, and gives fresh buckets."""

from __future__ import annotations

import botocore.exceptions
import pytest

from tests.support.seaweedfs import SeaweedFS


def test_fresh_buckets_are_empty_and_distinct(seaweedfs: SeaweedFS) -> None:
    first, second = seaweedfs.create_bucket(), seaweedfs.create_bucket()
    assert first != second
    seaweedfs.client().put_object(Bucket=first, Key="a/b", Body=b"hello")
    assert seaweedfs.keys(first) == {"a/b": 5}
    assert seaweedfs.keys(second) == {}


def test_wrong_credentials_are_refused(seaweedfs: SeaweedFS) -> None:
    bucket = seaweedfs.create_bucket()
    good_secret = seaweedfs.secret_key
    seaweedfs.secret_key = "not-the-secret"
    try:
        wrong = seaweedfs.client()
    finally:
        seaweedfs.secret_key = good_secret
    with pytest.raises(botocore.exceptions.ClientError):
        wrong.list_objects_v2(Bucket=bucket)


def test_env_names_the_credentials(seaweedfs: SeaweedFS) -> None:
    env = seaweedfs.env()
    assert env["AWS_ACCESS_KEY_ID"] == seaweedfs.access_key
    assert env["AWS_SECRET_ACCESS_KEY"] == seaweedfs.secret_key


def test_stop_and_start_keep_the_data(own_seaweedfs: SeaweedFS) -> None:
    bucket = own_seaweedfs.create_bucket()
    own_seaweedfs.client().put_object(Bucket=bucket, Key="kept", Body=b"x" * 1000)
    own_seaweedfs.stop()
    assert not own_seaweedfs.running()
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        own_seaweedfs.client(connect_timeout=1).head_bucket(Bucket=bucket)
    own_seaweedfs.start()
    body = own_seaweedfs.client().get_object(Bucket=bucket, Key="kept")["Body"].read()
    assert body == b"x" * 1000
