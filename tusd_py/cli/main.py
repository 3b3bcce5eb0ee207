"""Entry point of the `tusd-py` command and its subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tusd_py import __version__
from tusd_py.cli import serve, upload, watch


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tusd-py", description="A resumable-upload server speaking tus 1.0.0.")
    parser.add_argument("--version", action="version", version=f"tusd-py {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve",
        help="run the upload server",
        description="Run the tus upload server. Every flag also reads from its TUSD_PY_* variable; flags win.",
    )
    serve.add_arguments(serve_parser)
    serve_parser.set_defaults(run=serve.serve)
    upload_parser = commands.add_parser(
        "upload",
        help="upload files to a tus server, resuming what an earlier run left unfinished",
        description="Upload files to any tus 1.0 server. An interrupted upload (Ctrl-C, a killed process, a lost"
        " network) resumes when the same command runs again. Exit codes: 0 all uploaded, 1 the server refused"
        " a file, 2 usage error, 3 network or server trouble after the retries, 4 the server lacks a needed"
        " extension, 130 interrupted by Ctrl-C, 143 by SIGTERM.",
    )
    upload.add_arguments(upload_parser)
    upload_parser.set_defaults(run=upload.upload)
    watch_parser = commands.add_parser(
        "watch",
        help="follow an upload's (or a batch's) live events until it ends",
        description="Print the live events of an upload or a batch until its stream ends. Exit codes: 0 it"
        " completed (a batch: every file finished), 1 it was terminated, expired or failed (or the server"
        " refused the stream), 2 usage error, 3 the server could not be reached, 130 interrupted by Ctrl-C.",
    )
    watch.add_arguments(watch_parser)
    watch_parser.set_defaults(run=watch.watch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result
