"""`tusd-py serve`: every setting as a flag, then uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette

from tusd_py import __version__
from tusd_py.app import create_app
from tusd_py.auth.setup import authenticator_from
from tusd_py.cli.uvicorn_internals import serving_protocols
from tusd_py.hooks.pipeline import load_stages
from tusd_py.hooks.setup import check_hooks
from tusd_py.ops.background import Background
from tusd_py.ops.logging import configure_logging
from tusd_py.ops.shutdown import call_on_exit_signals
from tusd_py.ops.tracing import check_tracing
from tusd_py.settings import ENV_PREFIX, Settings, format_value, parse_value, settings_fields


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for f in settings_fields():
        flag = "--" + f.name.replace("_", "-")
        env = ENV_PREFIX + f.name.upper()
        help_text = f"{f.metadata['help']} (default: {format_value(f.name, f.default)}; env {env})"
        if f.metadata["kind"] == "bool":  # `--demo` alone means true; `--demo false` still reads
            parser.add_argument(
                flag, dest=f.name, metavar="BOOL", help=help_text, default=None, nargs="?", const="true"
            )
        else:
            parser.add_argument(flag, dest=f.name, metavar=f.metadata["kind"].upper(), help=help_text, default=None)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Defaults, then TUSD_PY_* variables, then flags: each flag maps to exactly one field."""
    overrides: dict[str, Any] = {}
    for f in settings_fields():
        text = getattr(args, f.name, None)
        if text is not None:
            overrides[f.name] = parse_value(f.name, text)
    return Settings.from_env(**overrides)


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def greet(settings: Settings) -> None:
    """Where to upload: printed for people, or one JSON log line when the logs are JSON."""
    display_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    endpoint = f"http://{display_host}:{settings.port}{settings.base_path}"
    storage = str(settings.upload_dir.resolve())
    if settings.s3_bucket:
        storage = f"s3://{settings.s3_bucket}/{settings.s3_object_prefix}" + (
            f" at {settings.s3_endpoint}" if settings.s3_endpoint else ""
        )
    if settings.log_format == "json":
        logging.getLogger("tusd_py").warning(
            "tusd_py %s: tus 1.0.0 uploads at %s (storage: %s)",
            __version__,
            endpoint,
            storage,
            extra={"endpoint": endpoint, "storage": storage},
        )
    else:
        print(f"tusd_py {__version__}: tus 1.0.0 uploads at {endpoint} (storage: {storage})", flush=True)


def serving_app(settings: Settings) -> Starlette:
    """The app as `tusd-py serve` runs it: exit signals end PATCHes and event streams at once."""
    # sets, in each --workers process, our timeouts
    serving_protocols(settings.network_timeout or None, settings.request_head_timeout or None, warn=False)
    app = create_app(settings)
    background: Background = app.state.background
    lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan_with_signals(app: Starlette) -> AsyncIterator[None]:
        call_on_exit_signals(background.interrupt)  # uvicorn installed its own handlers before the lifespan
        async with lifespan(app):
            yield

    app.router.lifespan_context = lifespan_with_signals
    return app


def worker_app() -> Starlette:
    """The app of one --workers process: settings from the TUSD_PY_* variables its parent set."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return serving_app(settings)


def check_storage(settings: Settings) -> str | None:
    """With --s3-bucket: the bucket must be reachable with the credentials found, or `serve` stops here, in one
    line. None when all is well."""
    if not settings.s3_bucket:
        return None
    try:
        import aiobotocore  # noqa: F401
    except ImportError:
        return "the S3 store needs aiobotocore: pip install 'tusd_py[s3]'"
    from tusd_py.app import store_from
    from tusd_py.protocol.errors import TusError

    async def check() -> str | None:
        store = store_from(settings)
        try:
            await store.check_ready()
        except TusError as error:
            return error.message
        finally:
            await store.aclose()  # type: ignore[attr-defined]
        return None

    return asyncio.run(check())


def serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        authenticator_from(settings)  # refuse a bad auth set-up here, with a message, not in each worker
        load_stages(settings.pipeline or "")
        check_hooks(settings)
        check_tracing(settings)
    except (ValueError, TypeError, OSError, ImportError, AttributeError) as error:
        print(f"tusd-py: {error}", file=sys.stderr)
        return 2
    problem = check_storage(settings)
    if problem is not None:
        print(f"tusd-py: {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if settings.auth == "none" and settings.host not in LOOPBACK:
        logging.getLogger("tusd_py").warning(
            "listening on %s without authentication: anyone who can reach it may upload, read and delete"
            " files; use --auth api-key or --auth jwt",
            settings.host,
        )
    greet(settings)
    # uvicorn's own if it lacks what ours need
    protocols = serving_protocols(settings.network_timeout or None, settings.request_head_timeout or None)
    common: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # configure_logging() owns the handlers
        access_log=False,  # RequestIdMiddleware writes one access line per request, with its id
        server_header=False,
        proxy_headers=settings.behind_proxy,  # X-Forwarded-* are trusted only when asked to
        timeout_graceful_shutdown=settings.shutdown_timeout,  # type: ignore[arg-type]  # a float works
        ws_max_size=settings.ws_max_message_size,
        ws_per_message_deflate=False,  # events are small and upload frames incompressible: compression only costs CPU
        http=protocols.http,
        ws=protocols.ws,
        h11_max_incomplete_event_size=settings.max_header_size,
    )
    if settings.workers > 1:
        # Each worker process builds its own app from the same settings, handed over as TUSD_PY_* variables.
        os.environ.update(settings.to_env())
        uvicorn.run("tusd_py.cli.serve:worker_app", factory=True, workers=settings.workers, **common)
        return 0
    uvicorn.run(serving_app(settings), **common)
    return 0
