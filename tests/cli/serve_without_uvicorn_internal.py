"""`python -m tests.cli.serve_without_uvicorn_internal serve …`: the real `tusd-py serve` on a uvicorn whose
httptools protocol lacks `send_400_response`, as a uvicorn release that renamed it would."""

from __future__ import annotations

import sys

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tusd_py.cli.main import main

if __name__ == "__main__":
    del HttpToolsProtocol.send_400_response
    sys.exit(main(sys.argv[1:]))
