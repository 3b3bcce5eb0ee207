"""The raw S3 put: a PATCH body goes straight into an S3 multipart upload with aiobotocore, nothing else.

The S3 scenarios' limit, as the raw sink is the file scenarios': it reads each body in parts of `--part-size`
and uploads up to `--concurrency` of them at once while the body is still arriving, with the same client
library as tusd_py's S3 store, and checks nothing. It speaks just enough tus for the benchmark's client: POST
starts a multipart upload, PATCH adds parts (a tail shorter than a part waits in memory for the next PATCH),
the last byte completes the upload, HEAD tells the offset, GET passes its one Range to GetObject.

    python -m benchmarks.s3_put --port PORT --bucket NAME --endpoint URL [--part-size BYTES] [--concurrency N]

Credentials come from the AWS_* environment variables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

from aiobotocore.session import get_session

from benchmarks.sink import parse_head
from tusd_py.settings import Settings

MiB = 2**20
HEADER_LIMIT = 64 * 1024
REASONS = {200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 404: "Not Found", 405: "Nope"}


@dataclass
class Upload:
    key: str
    multipart_id: str
    length: int
    offset: int = 0  # bytes received, stored or waiting in `tail`
    tail: bytearray = field(default_factory=bytearray)
    parts: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False


class S3Put:
    def __init__(self, client: Any, bucket: str, part_size: int, concurrency: int) -> None:
        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        self.slots = asyncio.Semaphore(concurrency)
        self.uploads: dict[str, Upload] = {}
        self._ids = itertools.count(1)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                method, path, headers = parse_head(head)
                await self.answer(method, path.rstrip("/").rsplit("/", 1)[-1], headers, reader, writer)
        finally:
            writer.close()

    async def answer(
        self,
        method: str,
        name: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        length = int(headers.get("content-length", "0"))
        if method == "POST":
            await reader.readexactly(length)
            upload = await self.create(int(headers.get("upload-length", "0")))
            await respond(writer, 201, {"Location": f"/files/{upload.key}", "Upload-Offset": "0"})
        elif method == "PATCH":
            upload = self.uploads[name]
            await self.append(upload, reader, length)
            await respond(writer, 204, {"Upload-Offset": str(upload.offset)})
        elif method == "HEAD":
            await respond(writer, 200, {"Upload-Offset": str(self.uploads[name].offset), "Cache-Control": "no-store"})
        elif method == "GET":
            await self.download(name, headers.get("range"), writer)
        elif method == "OPTIONS":
            await respond(writer, 204, {"Tus-Version": "1.0.0"})
        else:
            await reader.readexactly(length)
            await respond(writer, 405, {})

    async def create(self, length: int) -> Upload:
        key = f"{next(self._ids):032x}"
        started = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload = Upload(key, started["UploadId"], length)
        self.uploads[key] = upload
        return upload

    async def append(self, upload: Upload, reader: asyncio.StreamReader, length: int) -> None:
        sending: list[asyncio.Task[None]] = []
        remaining = length
        try:
            while remaining:
                piece = await reader.read(min(remaining, self.part_size - len(upload.tail), 4 * MiB))
                if not piece:
                    break
                upload.tail += piece
                upload.offset += len(piece)
                remaining -= len(piece)
                if len(upload.tail) == self.part_size:
                    body, upload.tail = bytes(upload.tail), bytearray()
                    await self.slots.acquire()  # waits while `concurrency` parts are on their way
                    sending.append(asyncio.create_task(self.send_part(upload, len(upload.parts) + 1, body)))
                    upload.parts.append({})
            if upload.offset == upload.length and upload.tail:
                await self.slots.acquire()
                body, upload.tail = bytes(upload.tail), bytearray()
                sending.append(asyncio.create_task(self.send_part(upload, len(upload.parts) + 1, body)))
                upload.parts.append({})
        finally:
            await asyncio.gather(*sending)
        if upload.offset == upload.length and not upload.complete:
            await self.finish(upload)

    async def send_part(self, upload: Upload, number: int, body: bytes) -> None:
        try:
            sent = await self.client.upload_part(
                Bucket=self.bucket, Key=upload.key, UploadId=upload.multipart_id, PartNumber=number, Body=body
            )
            upload.parts[number - 1] = {"PartNumber": number, "ETag": sent["ETag"]}
        finally:
            self.slots.release()

    async def finish(self, upload: Upload) -> None:
        if upload.parts:
            await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=upload.key,
                UploadId=upload.multipart_id,
                MultipartUpload={"Parts": upload.parts},
            )
        else:
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload.key, UploadId=upload.multipart_id)
            await self.client.put_object(Bucket=self.bucket, Key=upload.key, Body=b"")
        upload.complete = True

    async def download(self, name: str, range_header: str | None, writer: asyncio.StreamWriter) -> None:
        upload = self.uploads.get(name)
        if upload is None or not upload.complete:
            await respond(writer, 404, {})
            return
        extra = {"Range": range_header} if range_header else {}
        got = await self.client.get_object(Bucket=self.bucket, Key=upload.key, **extra)
        headers = {"Content-Length": str(got["ContentLength"])}
        if "ContentRange" in got:
            headers["Content-Range"] = got["ContentRange"]
        await respond(writer, 206 if range_header else 200, headers, body_follows=True)
        async with got["Body"] as body:
            async for chunk in body.iter_chunks(MiB):
                writer.write(chunk)
                await writer.drain()


async def respond(
    writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body_follows: bool = False
) -> None:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}", "Tus-Resumable: 1.0.0"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if not body_follows and status != 204:
        lines.append("Content-Length: 0")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def run(args: argparse.Namespace) -> None:
    session = get_session()
    async with session.create_client("s3", endpoint_url=args.endpoint, region_name=args.region) as client:
        put = S3Put(client, args.bucket, args.part_size, args.concurrency)
        server = await asyncio.start_server(put.serve, args.host, args.port, limit=HEADER_LIMIT)
        stopped = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stopped.set)
        print(f"s3 put listening on {args.host}:{args.port}", flush=True)
        async with server:
            await stopped.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    defaults = Settings()  # tusd_py's own: the limit is measured with the parts tusd_py sends
    parser.add_argument("--part-size", type=int, default=defaults.s3_part_size)
    parser.add_argument("--concurrency", type=int, default=defaults.s3_concurrent_part_uploads)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
