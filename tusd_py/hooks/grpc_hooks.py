"""Hooks over gRPC: tusd's hook service (`proto.HookHandler/InvokeHook`), its messages and its retries."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc

from tusd_py.hooks.handlers import MAX_RESPONSE_BYTES
from tusd_py.hooks.models import HookFailed, HookRequest, HookResponse, HookType
from tusd_py.hooks.proto import hook_pb2

log = logging.getLogger("tusd_py.hooks")

INVOKE_HOOK = "/proto.HookHandler/InvokeHook"
# The codes tusd's client retries (go-grpc-middleware's defaults): the service is down or shedding load.
RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


def hook_message(request: HookRequest) -> hook_pb2.HookRequest:
    """The request as tusd's gRPC client sends it: the fields of the hook JSON, each header's first value."""
    event = request.to_json()["Event"]
    upload, http = event["Upload"], event["HTTPRequest"]
    return hook_pb2.HookRequest(
        type=request.type.value,
        event=hook_pb2.Event(
            upload=hook_pb2.FileInfo(
                id=upload["ID"],
                size=upload["Size"],
                sizeIsDeferred=upload["SizeIsDeferred"],
                offset=upload["Offset"],
                metaData=upload["MetaData"],
                isPartial=upload["IsPartial"],
                isFinal=upload["IsFinal"],
                partialUploads=upload["PartialUploads"] or [],
                storage=upload["Storage"] or {},
            ),
            httpRequest=hook_pb2.HTTPRequest(
                method=http["Method"],
                uri=http["URI"],
                remoteAddr=http["RemoteAddr"],
                header={name: values[0] for name, values in http["Header"].items() if values},
            ),
        ),
    )


def hook_answer(message: hook_pb2.HookResponse) -> HookResponse:
    """The answer read as its JSON twin is, so both deliveries check it alike (and "" or 0 mean "not set")."""
    answer: dict[str, Any] = {"RejectUpload": message.rejectUpload, "StopUpload": message.stopUpload}
    if message.HasField("httpResponse"):
        http = message.httpResponse
        answer["HTTPResponse"] = {"StatusCode": http.statusCode, "Header": dict(http.header), "Body": http.body or None}
    if message.HasField("changeFileInfo"):
        # proto3 cannot tell an empty map from none: as in tusd, an empty metaData keeps the metadata.
        changes = message.changeFileInfo
        answer["ChangeFileInfo"] = {"ID": changes.id, "MetaData": dict(changes.metaData) or None}
    return HookResponse.from_json(answer)


class GrpcHooks:
    """Calls InvokeHook on one service for each enabled hook; UNAVAILABLE and RESOURCE_EXHAUSTED are tried again
    `retries` times, `backoff` seconds apart, as tusd does. Each attempt has `timeout` seconds (its deadline)."""

    def __init__(self, target: str, *, timeout: float, retries: int, backoff: float, enabled: frozenset[HookType]):
        self.target = target
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.enabled = enabled
        self._channel: grpc.aio.Channel | None = None

    def handles(self, hook: HookType) -> bool:
        return hook in self.enabled

    def _invoke(self) -> Any:
        # Made on first use: an aio channel belongs to the event loop running when it is made.
        if self._channel is None:
            # A channel that lost its service waits its own reconnect back-off (1 s and growing) and fails calls
            # at once meanwhile: held to ours, a retry reaches a service that came back.
            reconnect_ms = max(1, int(self.backoff * 1000))
            self._channel = grpc.aio.insecure_channel(
                self.target,
                options=[
                    ("grpc.max_receive_message_length", MAX_RESPONSE_BYTES),
                    ("grpc.initial_reconnect_backoff_ms", reconnect_ms),
                    ("grpc.min_reconnect_backoff_ms", reconnect_ms),
                    ("grpc.max_reconnect_backoff_ms", reconnect_ms),
                ],
            )
        return self._channel.unary_unary(
            INVOKE_HOOK,
            request_serializer=hook_pb2.HookRequest.SerializeToString,
            response_deserializer=hook_pb2.HookResponse.FromString,
        )

    async def __call__(self, request: HookRequest) -> HookResponse:
        message = hook_message(request)
        invoke = self._invoke()
        problem = ""
        for attempt in range(self.retries + 1):
            try:
                return hook_answer(await invoke(message, timeout=self.timeout))
            except grpc.aio.AioRpcError as error:
                problem = f"{error.code().name}: {error.details()}"
                if error.code() not in RETRIED:
                    raise HookFailed(f"the {request.type} hook service answered {problem}") from None
            if attempt < self.retries:
                log.warning("%s hook to %s failed (%s); retry in %gs", request.type, self.target, problem, self.backoff)
                await asyncio.sleep(self.backoff)
        raise HookFailed(f"the {request.type} hook service failed {self.retries + 1} times; last: {problem}")

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
