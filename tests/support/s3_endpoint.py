"""What the suite needs of any real S3 server it starts: its endpoint and credentials, a client, buckets, listings."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from typing import Any

REGION = "us-east-1"


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held open together, so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class S3Endpoint:
    """An S3 server on a loopback port with one key pair. Subclasses start the process and give `port`."""

    port: int

    def __init__(self) -> None:
        self.access_key = "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.region = REGION

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point a client at this server's credentials."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # no shared files of the machine's own user leak into a test
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, *, connect_timeout: float = 5, read_timeout: float = 60) -> Any:
        """A synchronous botocore S3 client with this server's credentials (for setting up and checking tests)."""
        import botocore.config
        import botocore.session

        session = botocore.session.get_session()
        config = botocore.config.Config(
            connect_timeout=connect_timeout, read_timeout=read_timeout, retries={"max_attempts": 1},
            s3={"addressing_style": "path"},
        )
        return session.create_client(
            "s3", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=config,
        )

    def create_bucket(self, name: str | None = None) -> str:
        """A new, empty bucket (a fresh name unless one is given); returns its name."""
        name = name or f"t-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every object of the bucket under `prefix`, with its size."""
        client = self.client()
        found: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = int(item["Size"])
        return found

    def multipart_uploads(self, bucket: str) -> list[tuple[str, str]]:
        """The bucket's unfinished multipart uploads, as (key, upload id)."""
        answer = self.client().list_multipart_uploads(Bucket=bucket)
        return [(item["Key"], item["UploadId"]) for item in answer.get("Uploads", [])]
