"""Entry point of the `tusd-py` command and its subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tusd_py import __version__
from tusd_py.cli import serve


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result
