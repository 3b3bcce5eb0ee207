"""UploadService: creation, appends, offsets, termination and concatenation, glued to a store and a locker."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from starlette.types import Receive

from tusd_py.auth.principal import Principal, authorize
from tusd_py.hooks.models import HookResponse, HookType, RequestOrigin
from tusd_py.hooks.runner import Hooks, hook_failed, hook_refusal
from tusd_py.locking.base import Lock, Locker, holding
from tusd_py.protocol.checksum import Checksum, Hasher, checksum_mismatch
from tusd_py.protocol.creation import CreationRequest, check_max_size
from tusd_py.protocol.digests import digest_mismatch
from tusd_py.protocol.errors import TusError, out_of_space, upload_gone
from tusd_py.protocol.ids import is_valid_upload_id, new_upload_id
from tusd_py.protocol.info import UploadInfo
from tusd_py.protocol.patch import AppendRequest, plan_append
from tusd_py.state.base import ConcatIndex
from tusd_py.state.memory import MemoryConcatIndex
from tusd_py.storage.base import Capability, Concater, ContentReader, LengthDeferrer, Terminater, UploadStore
from tusd_py.uploads.digests import CatchUp, RunningDigests, Sha256, Tee
from tusd_py.uploads.socket_body import SocketBody
from tusd_py.uploads.tombstones import Tombstones
from tusd_py.uploads.transfer import StopReason, Transfer

log = logging.getLogger("tusd_py.uploads")
UNREADABLE_INFO = "upload_info_unreadable"


@dataclass(frozen=True)
class Limits:
    max_size: int | None = None
    expire_after: float | None = None
    retain_completed: float | None = None
    network_timeout: float | None = 60.0
    lock_timeout: float = 5.0


class UploadListener(Protocol):
    """Told of what happens to uploads; must not block (metrics, the event bus)."""

    def __call__(self, kind: str, info: UploadInfo, received: int) -> None: ...


# What a listener can be told: "created", "progress" (bytes reached storage during a request),
# "received" (a request ended; with the bytes it stored), "completed", "terminated", "expired", and from the
# pipeline "processing", "processed" and "failed" (the details in `info.processing`), and "source_failed" when
# an import or a form's file could not be received (the details in `info.source`).


class ProcessingQueue(Protocol):
    def enqueue(self, upload_id: str) -> None: ...


class UploadService:
    def __init__(
        self,
        store: UploadStore,
        locker: Locker,
        limits: Limits,
        *,
        tombstones: Tombstones | None = None,
        concat_index: ConcatIndex | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.locker = locker
        self.limits = limits
        self.tombstones = tombstones
        self.clock = clock
        self.listeners: list[UploadListener] = []
        self._transfers: set[Transfer] = set()
        self.concat_index = concat_index or MemoryConcatIndex()  # final uploads waiting for their partials
        self.hooks: Hooks | None = None
        self.pipeline: ProcessingQueue | None = None  # told of every completed upload
        self.digests: RunningDigests | None = RunningDigests()  # None: no SHA-256 (Repr-Digest) is recorded

    async def start(self) -> None:
        """Rebuild the index of final uploads still waiting for their partials, and finish those now ready."""
        ready: list[str] = []
        async for info in self.store.iter_infos():
            if info.is_final and info.concat_pending:
                await self.concat_index.watch(info.id, info.partial_uploads or [])
                ready.append(info.id)
        for final_id in ready:
            await self._assemble_when_ready(final_id)

    def stop_transfers(self, reason: StopReason = StopReason.SHUTDOWN) -> int:
        """End every body being received (shutdown); each keeps what it stored. Returns how many."""
        transfers = list(self._transfers)
        for transfer in transfers:
            transfer.stop(reason)
        return len(transfers)

    # -- reading ---------------------------------------------------------------------------------

    def _tell(self, kind: str, info: UploadInfo, received: int = 0) -> None:
        for listener in self.listeners:
            listener(kind, info, received)

    async def load(self, upload_id: str, principal: Principal | None = None) -> UploadInfo:
        """The upload's info without taking its lock; 404 when unknown, 410 when expired or removed lately,
        403 when it belongs to someone other than `principal`."""
        try:
            info = await self.store.get_info(upload_id)
        except TusError as error:
            reason = await self.tombstones.reason(upload_id) if error.status == 404 and self.tombstones else None
            if reason is not None:
                raise upload_gone(upload_id, reason) from None
            raise
        authorize(info.owner, principal, upload_id)
        expires_at = info.expires_at(self.limits.expire_after)
        if expires_at is not None and expires_at <= self.clock():
            raise upload_gone(upload_id, "it expired before it was completed")
        return info

    async def head(self, upload_id: str, principal: Principal | None = None) -> UploadInfo:
        """The upload's info under its lock, so a stale PATCH still open on it is ended first."""
        if principal is not None:
            await self.load(upload_id, principal)  # 403 before a stranger's HEAD may interrupt the owner's PATCH
        async with holding(self.locker, upload_id, timeout=self.limits.lock_timeout):
            info = await self.load(upload_id)
            if info.is_final and info.concat_pending:
                await self._assemble(info)
            elif info.completion_pending:
                await self._complete_later(info)
            return info

    # -- creation --------------------------------------------------------------------------------

    async def create(
        self,
        request: CreationRequest,
        *,
        partial_ids: list[str] | None = None,
        body: AppendRequest | None = None,
        receive: Receive | None = None,
        principal: Principal | None = None,
        origin: RequestOrigin | None = None,
        socket_body: SocketBody | None = None,
        source: dict[str, Any] | None = None,
        on_created: Callable[[UploadInfo], None] | None = None,
        on_stored: Callable[[int], None] | None = None,
    ) -> UploadInfo:
        """Create an upload; with `body`, store the request's bytes too (creation-with-upload).

        `socket_body`, when the server offers one, lets storage take the bytes from the socket itself;
        `source` says where the bytes come from when not from a tus client (an import, a form);
        `on_created(info)` hears of the upload once it exists, before its body is read (the draft's 104)."""
        if request.concat is not None and request.concat.is_final:
            return await self._create_final(request, partial_ids or [], principal, origin)
        self._require(Capability.DEFERRED_LENGTH, request.deferred, "creation-defer-length")
        now = self.clock()
        info = UploadInfo(
            id=new_upload_id(),
            size=request.length,
            metadata=dict(request.metadata),
            raw_metadata=request.raw_metadata,
            is_partial=request.concat is not None,
            owner=principal.owner if principal else None,
            protocol=request.protocol,
            expected_digest=request.expected_digest,
            created_at=now,
            updated_at=now,
            source=dict(source) if source is not None else None,
        )
        plan = plan_append(info, body, max_size=self.limits.max_size) if body is not None else None
        await self._pre_create(info, origin)
        await self.store.create(info)
        self._created(info, origin)
        if on_created is not None:
            on_created(info)
        if info.is_complete:  # an empty upload: created complete, even if a full disk delays recording that
            await self._complete_later(info, origin)
        if plan is None or body is None or receive is None:
            return info
        transfer = Transfer(receive, idle_timeout=self.limits.network_timeout, socket_body=socket_body)
        try:
            async with holding(
                self.locker, info.id, timeout=self.limits.lock_timeout, on_release_requested=transfer.release
            ) as lock:
                await self._receive(info, body, plan.limit, transfer, lock, origin, on_stored)
        except TusError as error:
            error.details["created_upload_id"] = info.id  # it exists: the client must learn where to resume
            raise
        except OSError as error:
            full = out_of_space(error)
            if full is None:
                raise
            full.details["created_upload_id"] = info.id
            raise full from error
        await self._after_completion(info)
        return info

    async def _create_final(
        self,
        request: CreationRequest,
        partial_ids: list[str],
        principal: Principal | None,
        origin: RequestOrigin | None,
    ) -> UploadInfo:
        self._require(Capability.CONCATENATION, True, "concatenation")
        partials = [await self.load(partial_id, principal) for partial_id in partial_ids]
        for partial in partials:
            if not partial.is_partial:
                raise TusError(
                    400,
                    "not_a_partial_upload",
                    f"upload {partial.id} was not created with Upload-Concat: partial",
                    {"upload_id": partial.id},
                )
            if partial.size is None:
                raise TusError(
                    400,
                    "partial_length_unknown",
                    f"partial upload {partial.id} has no length yet",
                    {"upload_id": partial.id},
                )
        size = sum(partial.size or 0 for partial in partials)
        check_max_size(size, self.limits.max_size)
        now = self.clock()
        info = UploadInfo(
            id=new_upload_id(),
            size=size,
            metadata=dict(request.metadata),
            raw_metadata=request.raw_metadata,
            is_final=True,
            owner=principal.owner if principal else None,
            partial_uploads=[partial.id for partial in partials],
            concat_pending=True,
            created_at=now,
            updated_at=now,
        )
        await self._pre_create(info, origin)
        await self.store.create(info)
        self._created(info, origin)
        await self.concat_index.watch(info.id, info.partial_uploads or [])
        return await self._assemble_when_ready(info.id) or info

    async def _pre_create(self, info: UploadInfo, origin: RequestOrigin | None) -> None:
        """The pre-create hook may refuse the upload, or choose its id and metadata."""
        if self.hooks is None or not self.hooks.wants(HookType.PRE_CREATE):
            return
        proposed = replace(info, id="", metadata=dict(info.metadata))
        answer = await self.hooks.decide(HookType.PRE_CREATE, proposed, origin)
        if answer.reject_upload:
            raise hook_refusal(HookType.PRE_CREATE, answer, "upload_rejected", "the upload was refused")
        change = answer.change_file_info
        if change is not None and change.metadata is not None:
            info.metadata = dict(change.metadata)
            info.raw_metadata = None  # HEAD now describes the metadata the hook chose
        if change is not None and change.id is not None:
            await self._check_new_id(change.id)
            info.id = change.id

    async def _check_new_id(self, upload_id: str) -> None:
        if not is_valid_upload_id(upload_id):
            raise hook_failed(
                HookType.PRE_CREATE, ValueError(f"ChangeFileInfo.ID {upload_id[:200]!r} is not a valid id")
            )
        if await self.store.id_taken(upload_id):
            raise hook_failed(HookType.PRE_CREATE, ValueError(f"ChangeFileInfo.ID {upload_id!r} is already taken"))

    def _created(self, info: UploadInfo, origin: RequestOrigin | None) -> None:
        self._tell("created", info)
        if self.hooks is not None:
            self.hooks.notify(HookType.POST_CREATE, info, origin)

    # -- appending -------------------------------------------------------------------------------

    async def append(
        self,
        upload_id: str,
        request: AppendRequest,
        receive: Receive,
        principal: Principal | None = None,
        origin: RequestOrigin | None = None,
        on_stored: Callable[[int], None] | None = None,
        socket_body: SocketBody | None = None,
    ) -> UploadInfo:
        """Append one body at `request.offset`; `on_stored(offset)` hears each time more of it reached storage.

        `socket_body`, when the server offers one, lets storage take the bytes from the socket itself."""
        if principal is not None:
            await self.load(upload_id, principal)  # 403 before a stranger's PATCH may interrupt the owner's
        transfer = Transfer(receive, idle_timeout=self.limits.network_timeout, socket_body=socket_body)
        async with holding(
            self.locker, upload_id, timeout=self.limits.lock_timeout, on_release_requested=transfer.release
        ) as lock:
            info = await self.load(upload_id)
            plan = plan_append(info, request, max_size=self.limits.max_size)
            if plan.declare_length is not None:
                self._require(Capability.DEFERRED_LENGTH, True, "creation-defer-length")
                assert isinstance(self.store, LengthDeferrer)
                await self.store.declare_length(info, plan.declare_length)
            await self._receive(info, request, plan.limit, transfer, lock, origin, on_stored)
        await self._after_completion(info)
        return info

    async def _receive(
        self,
        info: UploadInfo,
        request: AppendRequest,
        limit: int | None,
        transfer: Transfer,
        lock: Lock,
        origin: RequestOrigin | None,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        """Copy the body into the upload, then turn how the copy ended into the answer."""
        body_checksum = request.checksum
        whole = self._whole_check(info, request)
        if body_checksum is not None or whole is not None:
            self._require(Capability.STAGED_APPEND, True, "checksum")
        start = info.offset

        stopped_by: list[HookResponse] = []

        def hook_answered(answer: HookResponse) -> None:
            if answer.stop_upload and not stopped_by:
                stopped_by.append(answer)
                transfer.stop(StopReason.HOOK_STOPPED)

        def stored(written: int) -> None:
            info.offset = start + written
            if catch_up is not None:
                catch_up.advance(info.offset)
            self._tell("progress", info)
            if on_stored is not None:
                on_stored(info.offset)
            if self.hooks is not None:
                self.hooks.received(info, origin, hook_answered)

        body_hasher = body_checksum.hasher() if body_checksum is not None else None
        running, whole_hasher = await self._whole_hashers(info, whole)
        if whole_hasher is None:
            whole = None  # the store cannot read back what it holds: the stated digest cannot be checked
        staged = body_checksum is not None or whole is not None  # not part of the upload yet: no progress for them
        tee, catch_up = self._digest_feed(info, running, body_hasher, whole_hasher, transfer, staged=staged)
        appender = self.store.open_appender(
            info,
            staged=staged,
            hasher=tee or body_hasher,
            on_written=None if staged else stored,
            still_ours=lock.is_held,
        )
        self._transfers.add(transfer)
        body_ok = whole_ok = True
        try:
            await transfer.run(appender, limit)
        finally:
            self._transfers.discard(transfer)
            try:
                await appender.flush()  # the digests cover only what reached the hashers
                if body_checksum is not None:
                    body_digest = tee.checksum.digest() if tee is not None and tee.checksum else appender.digest()
                    body_ok = transfer.ended_cleanly and body_digest == body_checksum.digest
                if whole is not None and whole_hasher is not None and tee is not None:
                    # Checked once the body ends the upload; a body that stops short is kept, unverified yet.
                    whole_ok = not self._ends_upload(info, request, start + tee.count, transfer) or (
                        whole_hasher.digest() == whole.digest
                    )
            finally:
                kept = await appender.close(keep=body_ok and whole_ok)
                info.offset = start + kept
                await self._keep_digest(info, tee, catch_up, kept)
                if appender.fenced or not lock.is_held():
                    transfer.lost_lock()  # before any verdict on the checksum: a lost lease is what happened
            if kept:
                info.updated_at = self.clock()
                self._tell("received", info, kept)
                if self.hooks is not None:
                    self.hooks.received(info, origin, hook_answered, request_ended=True)
        if stopped_by:
            await self._remove(info, "terminated")  # as tusd does: a stopped upload is gone, and post-terminate told
            if self.hooks is not None:
                self.hooks.notify(HookType.POST_TERMINATE, info, origin)
            raise hook_refusal(HookType.POST_RECEIVE, stopped_by[0], "upload_stopped", "the upload was stopped")
        if request.completes and info.is_deferred and transfer.ended_cleanly and body_ok and whole_ok:
            # An IETF draft upload of unknown length ends where its completing body ended.
            assert isinstance(self.store, LengthDeferrer)
            await self.store.declare_length(info, info.offset)
        if info.completion_pending:  # this body completed it, or an earlier completion could not be recorded
            await self._complete(info, origin)
        if body_checksum is not None and transfer.ended_cleanly and not body_ok:
            if request.checksum_field != "Upload-Checksum":
                raise digest_mismatch(request.checksum_field, body_checksum)
            raise checksum_mismatch(body_checksum)
        if whole is not None and not whole_ok:
            raise digest_mismatch("Repr-Digest", whole, whole=True)
        self._raise_for_ending(info, transfer)

    def _whole_check(self, info: UploadInfo, request: AppendRequest) -> Checksum | None:
        """The whole upload's stated digest, when this body may be the one that completes the upload: stated
        on this request (the draft's completing append) or remembered from the creation."""
        stated = request.whole_digest or info.expected_digest
        if stated is None or (info.size is None and not request.completes):
            return None
        if request.completes or request.content_length is None or info.size is None:
            return stated
        return stated if info.offset + request.content_length >= info.size else None

    @staticmethod
    def _ends_upload(info: UploadInfo, request: AppendRequest, offset: int, transfer: Transfer) -> bool:
        """Whether the body brought the upload to its end: to its length, however the body ended (one longer
        than the length keeps the bytes up to it), or as the draft's completing append, ended in full."""
        if info.size is not None and offset >= info.size:
            return True
        return request.completes and transfer.ended_cleanly

    async def _whole_hashers(self, info: UploadInfo, whole: Checksum | None) -> tuple[Sha256 | None, Hasher | None]:
        """The upload's running SHA-256 (None when lost or turned off), and what hashes the whole upload for
        the stated digest: the running state itself for sha-256, else one read of what storage holds (which
        rebuilds a lost running state on the way, so completion need not read the upload again)."""
        running = self.digests.resume(info.id, info.offset) if self.digests is not None else None
        if whole is None:
            return running, None
        if whole.algorithm == "sha256" and running is not None:
            return running, running
        reader = self._unfinished_reader()
        if reader is None:
            return running, None
        hasher = hashlib.new(whole.algorithm)
        if running is None and self.digests is not None:
            running = hasher if whole.algorithm == "sha256" else hashlib.sha256()
            hashers = [hasher] if running is hasher else [hasher, running]
        else:
            hashers = [hasher]
        async for chunk in reader.read(info, 0, info.offset):
            await asyncio.to_thread(_update_all, hashers, chunk)
        return running, hasher

    def _unfinished_reader(self) -> ContentReader | None:
        """The store, if it can read back an upload still being written (not S3: parts are unreadable)."""
        if isinstance(self.store, ContentReader) and Capability.UNFINISHED_READS in self.store.capabilities:
            return self.store
        return None

    def _digest_feed(
        self,
        info: UploadInfo,
        running: Sha256 | None,
        body_hasher: Hasher | None,
        whole_hasher: Hasher | None,
        transfer: Transfer,
        *,
        staged: bool,
    ) -> tuple[Tee | None, CatchUp | None]:
        """How this body feeds the upload's running SHA-256: in the writer thread (a tee beside the body's own
        checksum and the stated whole digest's hasher), or, when the kernel may move the body past user space,
        read back behind the writer. Neither when there is no state to go on from and nothing else to hash."""
        if running is None and whole_hasher is None:
            return None, None
        reader = self._unfinished_reader()
        if running is not None and transfer.may_splice and not staged and reader is not None:
            return None, CatchUp(running, info.offset, lambda start, stop: reader.read(info, start, stop))
        return Tee(body_hasher, running, None if whole_hasher is running else whole_hasher), None

    async def _keep_digest(self, info: UploadInfo, tee: Tee | None, catch_up: CatchUp | None, kept: int) -> None:
        """The running SHA-256 goes on covering the upload if it took in exactly the bytes that were kept; a body
        that kept nothing leaves the state before it standing."""
        if self.digests is None or not kept:
            return
        state = None
        if tee is not None and tee.running is not None and tee.count == kept:
            state = tee.running
        elif catch_up is not None:
            state = await catch_up.finish(info.offset)
        if state is not None:
            self.digests.keep(info.id, info.offset, state)
        else:
            self.digests.forget(info.id)

    async def _record_sha256(self, info: UploadInfo) -> None:
        """The whole upload's SHA-256, from the state kept while its bytes arrived; when that was lost, from one
        read of what storage holds."""
        if self.digests is None or info.sha256 is not None:
            return
        state = self.digests.resume(info.id, info.offset)
        if state is None and isinstance(self.store, ContentReader):
            state = hashlib.sha256()
            async for chunk in self.store.read(info, 0, info.offset):
                await asyncio.to_thread(state.update, chunk)
        if state is not None:
            info.sha256 = state.digest()

    def _raise_for_ending(self, info: UploadInfo, transfer: Transfer) -> None:
        offset = {"Upload-Offset": str(info.offset)}
        details = {"offset": info.offset, "received": transfer.received}
        if transfer.overflow:
            raise TusError(
                413,
                "body_exceeds_length",
                "the body is longer than the upload's remaining length; the bytes up to the length were stored",
                details,
                offset,
            )
        if transfer.stop_reason is StopReason.INTERRUPTED:
            raise TusError(
                409,
                "upload_interrupted",
                "another request for this upload took over; resume from Upload-Offset",
                details,
                offset,
            )
        if transfer.stop_reason is StopReason.TIMEOUT:
            raise TusError(
                408,
                "body_timeout",
                f"no bytes arrived for {self.limits.network_timeout:g}s; what arrived was stored",
                details,
                offset,
            )
        if transfer.stop_reason is StopReason.LOCK_LOST:
            raise TusError(
                503,
                "lock_lost",
                "this upload's lock could not be kept; what arrived was stored, resume shortly",
                details,
                {**offset, "Retry-After": "2"},
            )
        if transfer.stop_reason is StopReason.SHUTDOWN:
            raise TusError(
                503,
                "server_shutting_down",
                "the server is stopping; what arrived was stored, resume shortly",
                details,
                {**offset, "Retry-After": "5"},
            )
        if transfer.disconnected:
            raise TusError(400, "client_disconnected", "the client went away; what arrived was stored", details, offset)

    # -- completion and concatenation -------------------------------------------------------------

    async def _complete(self, info: UploadInfo, origin: RequestOrigin | None = None) -> None:
        """Record the completion, then tell of it; when it cannot be recorded (a full disk), nothing is told and
        the upload stays `completion_pending`, for the next HEAD, PATCH or sweep to complete."""
        await self._record_sha256(info)
        info.completed_at = self.clock()
        if self.pipeline is not None:
            info.processing = {"status": "pending"}  # saved with the completion, so a restart still runs it
        try:
            await self.store.save_info(info)
        except BaseException:
            info.completed_at, info.processing = None, None
            raise
        if self.digests is not None:
            self.digests.forget(info.id)
        self._tell("completed", info)
        try:
            if self.hooks is not None and self.hooks.wants(HookType.PRE_FINISH):
                await self.hooks.decide(HookType.PRE_FINISH, info, origin)
        finally:
            if self.pipeline is not None:
                self.pipeline.enqueue(info.id)
        if self.hooks is not None:
            self.hooks.notify(HookType.POST_FINISH, info, origin)

    async def _complete_later(self, info: UploadInfo, origin: RequestOrigin | None = None) -> None:
        """Complete an upload whose bytes are all stored; if that cannot be recorded (the disk is full), say so
        in one line and leave it for the next HEAD, PATCH or sweep: the upload itself is intact."""
        try:
            await self._complete(info, origin)
        except OSError as error:
            log.warning(
                "completion of %s not recorded yet (%s); retried by the next HEAD, PATCH or sweep", info.id, error
            )

    async def _after_completion(self, info: UploadInfo) -> None:
        """With the upload's own lock released: finish the final uploads that were waiting on it."""
        if info.is_complete and info.is_partial:
            for final_id in await self.concat_index.finals_waiting_on(info.id):
                await self._assemble_when_ready(final_id)

    async def _assemble_when_ready(self, final_id: str) -> UploadInfo | None:
        try:
            async with holding(self.locker, final_id, timeout=self.limits.lock_timeout):
                final = await self.store.get_info(final_id)
                await self._assemble(final)
                return final
        except TusError as error:
            if error.status == 404:
                return None
            raise

    async def _assemble(self, final: UploadInfo) -> None:
        """Concatenate the partials into the final upload once every one of them is complete (lock held)."""
        if not final.concat_pending:
            return
        partials = []
        for partial_id in final.partial_uploads or []:
            partial = await self.store.get_info(partial_id)
            if not partial.is_complete:
                return
            partials.append(partial)
        assert isinstance(self.store, Concater)
        await self.store.concatenate(final, partials)
        final.concat_pending = False
        await self.concat_index.unwatch(final.id, final.partial_uploads or [])
        await self._complete(final)

    # -- termination -----------------------------------------------------------------------------

    async def terminate(
        self, upload_id: str, principal: Principal | None = None, origin: RequestOrigin | None = None
    ) -> None:
        self._require(Capability.TERMINATION, True, "termination")
        try:
            if principal is not None:
                await self.load(upload_id, principal)
        except TusError as error:
            if error.code != UNREADABLE_INFO:
                raise
        assert isinstance(self.store, Terminater)
        async with holding(self.locker, upload_id, timeout=self.limits.lock_timeout):
            try:
                info = await self.load(upload_id)
            except TusError as error:
                if error.code != UNREADABLE_INFO or (principal is not None and not principal.admin):
                    raise  # with auth, only an admin may remove what has no readable owner
                await self.store.terminate(upload_id)  # what is left of it: nobody can be told of it
                await self._bury(upload_id, "it was terminated")
                return
            if self.hooks is not None and self.hooks.wants(HookType.PRE_TERMINATE):
                answer = await self.hooks.decide(HookType.PRE_TERMINATE, info, origin)
                if answer.reject_termination:
                    raise hook_refusal(
                        HookType.PRE_TERMINATE, answer, "termination_rejected", "the termination was refused"
                    )
            await self._remove(info, "terminated")
        if self.hooks is not None:
            self.hooks.notify(HookType.POST_TERMINATE, info, origin)

    async def _remove(self, info: UploadInfo, kind: str) -> None:
        assert isinstance(self.store, Terminater)
        await self.store.terminate(info.id)
        if self.digests is not None:
            self.digests.forget(info.id)
        if info.is_final:
            await self.concat_index.unwatch(info.id, info.partial_uploads or [])
        await self._bury(info.id, "it was terminated" if kind == "terminated" else "it expired")
        self._tell(kind, info)

    async def _bury(self, upload_id: str, reason: str) -> None:
        """The tombstone only explains a later 404 (as 410): the removal stands without it (a full disk)."""
        if self.tombstones is None:
            return
        try:
            await self.tombstones.bury(upload_id, reason)
        except OSError as error:
            log.warning("%s was removed, but its tombstone could not be written (%s); it answers 404", upload_id, error)

    async def sweep(self) -> int:
        """Remove unfinished uploads past expiry and finished ones past retention; returns how many."""
        removed = 0
        async for info in self.store.iter_infos():
            if info.completion_pending:
                await self._complete_idle(info.id)
            elif self._removal_due(info):
                removed += await self._expire(info.id)
        if self.tombstones is not None:
            await self.tombstones.sweep()
        return removed

    def _removal_due(self, info: UploadInfo) -> bool:
        due = info.removal_due_at(self.limits.expire_after, self.limits.retain_completed)
        return due is not None and due <= self.clock()

    async def _complete_idle(self, upload_id: str) -> None:
        """The sweeper's part in completing what a full disk interrupted; never waits for a busy upload."""
        with contextlib.suppress(TusError):
            async with holding(self.locker, upload_id, timeout=0, interrupt=False):
                info = await self.store.get_info(upload_id)
                if info.completion_pending:
                    await self._complete_later(info)

    async def _expire(self, upload_id: str) -> int:
        try:
            # Never interrupt a writer: an upload being written to is not idle.
            async with holding(self.locker, upload_id, timeout=0, interrupt=False):
                info = await self.store.get_info(upload_id)
                if not self._removal_due(info):
                    return 0
                await self._remove(info, "expired")
                return 1
        except TusError:
            return 0

    # -- the pipeline's bookkeeping ------------------------------------------------------------------

    async def record_processing(self, upload_id: str, state: dict[str, Any] | None) -> UploadInfo | None:
        """Store the pipeline's state of an upload (None: just read it) and tell listeners; None once it is gone."""
        try:
            async with holding(self.locker, upload_id, timeout=self.limits.lock_timeout, interrupt=False):
                info = await self.store.get_info(upload_id)
                if state is not None:
                    info.processing = state
                    await self.store.save_info(info)
        except TusError as error:
            if error.status == 404:
                return None
            raise
        if state is not None:
            self.tell_processing(info)
        return info

    async def record_source(
        self,
        upload_id: str,
        changes: dict[str, Any],
        kind: str | None = None,
        *,
        metadata: dict[str, str] | None = None,
    ) -> UploadInfo | None:
        """Update what the upload's `source` says (an import's state) and tell listeners `kind`; None once gone.
        `metadata` adds what the source said of itself (its type) where the upload's metadata says nothing."""
        try:
            async with holding(self.locker, upload_id, timeout=self.limits.lock_timeout, interrupt=False):
                info = await self.store.get_info(upload_id)
                info.source = {**(info.source or {}), **changes}
                info.metadata = {**(metadata or {}), **info.metadata}
                await self.store.save_info(info)
        except TusError as error:
            if error.status in (404, 410):
                return None
            raise
        if kind is not None:
            self._tell(kind, info)
        return info

    def tell_processing(self, info: UploadInfo) -> None:
        status = (info.processing or {}).get("status")
        self._tell(status if status in ("processed", "failed") else "processing", info)

    def _require(self, capability: Capability, needed: bool, extension: str) -> None:
        if needed and capability not in self.store.capabilities:
            raise TusError(501, "extension_not_supported", f"the configured store does not support {extension}")


def _update_all(hashers: Sequence[Hasher], data: bytes) -> None:
    for hasher in hashers:
        hasher.update(data)
