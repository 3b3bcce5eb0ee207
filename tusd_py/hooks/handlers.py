"""Where hooks are delivered: Python callables, an HTTP endpoint (tusd's JSON), executables in a directory."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import random
import signal
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

import httpx

from tusd_py.hooks.models import HookFailed, HookRequest, HookResponse, HookType

log = logging.getLogger("tusd_py.hooks")

PythonHook = Callable[[HookRequest], "HookResponse | Awaitable[HookResponse | None] | None"]
MAX_RESPONSE_BYTES = 64 * 1024
# Idle connections to a hook endpoint kept for the next hook, and for how long. Endpoints close idle connections
# after their own keep-alive timeout (uvicorn and Node after 5s, gunicorn after 2s): a connection the endpoint closed
# sits in CLOSE-WAIT until the pool looks at it again, and one it closes just as it is reused fails its request.
# Few and short-lived, so neither piles up; such a failure is tried again at once on another connection.
KEEPALIVE_CONNECTIONS = 8
KEEPALIVE_SECONDS = 1.0
MAX_CONNECTIONS = 100
# What a connection the endpoint closed under a request looks like: nothing of the request was answered.
_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
BACKSTOP_SECONDS = 5.0


class HookHandler(Protocol):
    def handles(self, hook: HookType) -> bool: ...

    async def __call__(self, request: HookRequest) -> HookResponse: ...


class PythonHooks:
    """Callables given to `create_app(hooks={"pre-create": fn, ...})`, sync (run in a thread) or async."""

    def __init__(self, hooks: Mapping[str | HookType, PythonHook]) -> None:
        self.hooks = {HookType(name): hook for name, hook in hooks.items()}

    def handles(self, hook: HookType) -> bool:
        return hook in self.hooks

    async def __call__(self, request: HookRequest) -> HookResponse:
        hook = self.hooks[request.type]
        if inspect.iscoroutinefunction(hook):
            answer = await hook(request)
        else:
            answer = await asyncio.to_thread(hook, request)
            if inspect.isawaitable(answer):
                answer = await answer
        if answer is not None and not isinstance(answer, HookResponse):
            raise HookFailed(f"the {request.type} hook returned {type(answer).__name__}, not a HookResponse")
        return answer or HookResponse()


class HttpHooks:
    """POSTs each hook request to one endpoint, as tusd's HTTP hooks do; retries network errors and 5xx."""

    def __init__(self, url: str, *, timeout: float, retries: int, backoff: float, enabled: frozenset[HookType]):
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.enabled = enabled
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        self.client = httpx.AsyncClient(timeout=timeout, limits=limits)
        # For the second try after a kept connection failed: the others kept went idle with it, and may be going too.
        self._fresh = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0))

    def handles(self, hook: HookType) -> bool:
        return hook in self.enabled

    async def __call__(self, request: HookRequest) -> HookResponse:
        body = request.to_bytes()
        for attempt in range(self.retries + 1):
            try:
                # A last resort only (an answer's head trickled byte by byte): a cancelled exchange may leave its
                # socket for the garbage collector, so the deadline is kept by _exchange, which closes it.
                async with asyncio.timeout(self.timeout + BACKSTOP_SECONDS):
                    answer = await self._post(body)
            except (TimeoutError, httpx.TimeoutException):
                problem = f"no complete answer within {self.timeout:g}s"
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if answer.status_code < 500:
                    return _read_http_answer(request.type, answer)
                problem = f"status {answer.status_code}"
            if attempt < self.retries:
                delay = self.backoff * 2**attempt * (0.5 + random.random() / 2)
                log.warning("%s hook to %s failed (%s); retry in %.1fs", request.type, self.url, problem, delay)
                await asyncio.sleep(delay)
        raise HookFailed(f"the {request.type} hook endpoint failed {self.retries + 1} times; last: {problem}")

    async def _post(self, body: bytes) -> httpx.Response:
        """One attempt. A kept connection the endpoint closed as it was reused is replaced once, at once: the
        endpoint never saw that request, and this is no failure of the endpoint's."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            return await self._exchange(self.client, body, deadline)
        except _STALE_CONNECTION:
            return await self._exchange(self._fresh, body, deadline)

    async def _exchange(self, client: httpx.AsyncClient, body: bytes, deadline: float) -> httpx.Response:
        """POST and read the answer by `deadline`, however steadily it trickles; the response is closed (and its
        connection with it, when unfinished) whatever happens. TimeoutError past the deadline."""
        loop = asyncio.get_running_loop()
        headers = {"Content-Type": "application/json"}
        request = client.build_request(
            "POST", self.url, content=body, headers=headers, timeout=max(0.001, deadline - loop.time())
        )
        response = await client.send(request, stream=True)
        try:
            content = bytearray()
            async for chunk in response.aiter_raw():
                content += chunk
                if len(content) > MAX_RESPONSE_BYTES:
                    break  # too large: _read_http_answer says so
                if loop.time() > deadline:
                    raise TimeoutError
        finally:
            await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(content))

    async def close(self) -> None:
        await self.client.aclose()
        await self._fresh.aclose()


def _read_http_answer(hook: HookType, answer: httpx.Response) -> HookResponse:
    if not 200 <= answer.status_code < 300:
        raise HookFailed(f"the {hook} hook endpoint answered {answer.status_code}")
    if len(answer.content) > MAX_RESPONSE_BYTES:
        raise HookFailed(f"the {hook} hook's response is larger than {MAX_RESPONSE_BYTES} bytes")
    if not answer.content.strip():
        return HookResponse()
    if answer.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HookFailed(f"the {hook} hook's response is not application/json")
    return HookResponse.from_text(answer.content)


class FileHooks:
    """Runs `<directory>/<hook name>` when it exists: the request as JSON on stdin, the response read from stdout."""

    def __init__(self, directory: Path, *, timeout: float, enabled: frozenset[HookType]) -> None:
        self.directory = directory
        self.timeout = timeout
        self.enabled = enabled

    def _program(self, hook: HookType) -> Path | None:
        path = self.directory / hook.value
        return path if path.is_file() and os.access(path, os.X_OK) else None

    def handles(self, hook: HookType) -> bool:
        return hook in self.enabled and self._program(hook) is not None

    async def __call__(self, request: HookRequest) -> HookResponse:
        program = self._program(request.type)
        if program is None:
            return HookResponse()
        info = request.upload
        env = {
            **os.environ,
            "TUS_ID": info.id,
            "TUS_OFFSET": str(info.offset),
            "TUS_SIZE": str(info.size if info.size is not None else ""),
        }
        process = await asyncio.create_subprocess_exec(
            str(program),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout ends whatever it started too
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(request.to_bytes()), self.timeout)
        except TimeoutError:
            # Killing the hook alone would leave its children (a shell script's sleep or curl) holding its
            # output open, and the wait below would last as long as they do.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise HookFailed(f"the {request.type} hook ran longer than {self.timeout:g}s and was killed") from None
        if stderr:
            log.info("%s hook said: %s", request.type, stderr.decode(errors="replace").strip()[:2000])
        if process.returncode != 0:
            raise HookFailed(f"the {request.type} hook exited with status {process.returncode}")
        return HookResponse.from_text(stdout)
