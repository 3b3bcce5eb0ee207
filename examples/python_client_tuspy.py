"""Upload a file to tusd_py from Python with tuspy (the tus client for Python), resumably, then ask how it went.

    pip install tuspy
    python examples/python_client_tuspy.py photo.jpg --endpoint http://127.0.0.1:1080/files/

Each chunk's upload URL is remembered in tuspy-urls.json: run the same command again after an interruption and
tuspy continues from the server's offset instead of starting over. With a server that has auth on, pass
--api-key (sent as X-API-Key). The upload URL goes to stdout; progress and the server's summary to stderr.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from pathlib import Path

import requests
from tusclient import client
from tusclient.storage.filestorage import FileStorage


def upload(path: Path, endpoint: str, headers: dict[str, str], chunk_size: int, store: Path) -> str:
    """Upload `path` (or finish an earlier, interrupted upload of it) and return its URL."""
    metadata = {"filename": path.name}
    filetype, _ = mimetypes.guess_type(path.name)
    if filetype:
        metadata["filetype"] = filetype
    storage = FileStorage(str(store))
    try:
        uploader = client.TusClient(endpoint, headers=headers).uploader(
            file_path=str(path),
            chunk_size=chunk_size,
            metadata=metadata,
            store_url=True,  # remember the upload URL under the file's fingerprint …
            url_storage=storage,  # … here, so that a re-run resumes
            upload_checksum=True,  # a sha1 of each chunk, checked by the server before it keeps the bytes
            retries=3,
            retry_delay=1,
        )
        size = uploader.get_file_size()
        if uploader.offset:
            print(f"resuming at {uploader.offset} of {size} bytes", file=sys.stderr)
        while uploader.offset < size:
            uploader.upload_chunk()
            print(f"{uploader.offset} of {size} bytes ({100 * uploader.offset // max(size, 1)}%)", file=sys.stderr)
        assert uploader.url is not None
        return str(uploader.url)
    finally:
        storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--endpoint", default="http://127.0.0.1:1080/files/")
    parser.add_argument("--api-key")
    parser.add_argument("--chunk-size", type=int, default=4 * 2**20, help="bytes per PATCH (default 4 MiB)")
    parser.add_argument("--store", type=Path, default=Path("tuspy-urls.json"), help="where upload URLs are kept")
    args = parser.parse_args()
    headers = {"X-API-Key": args.api_key} if args.api_key else {}

    url = upload(args.file, args.endpoint, headers, args.chunk_size, args.store)
    print(url)

    # tusd_py's own addition to tus: a progress snapshot of every upload (status, offset, speed, download URL).
    snapshot = requests.get(f"{url}/progress", headers=headers, timeout=10).json()
    print(f"server says: {snapshot['status']}, {snapshot['offset']} of {snapshot['length']} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
