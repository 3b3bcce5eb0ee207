"""The store interface: a small core plus optional capabilities, each declared so the server advertises only those."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from tusd_py.protocol.checksum import Hasher
from tusd_py.protocol.info import UploadInfo

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

    from tusd_py.storage.splice import SpliceResult
    from tusd_py.uploads.tombstones import Tombstones


class Capability(StrEnum):
    TERMINATION = "termination"
    CONCATENATION = "concatenation"
    DEFERRED_LENGTH = "deferred-length"
    STAGED_APPEND = "staged-append"  # bytes can be verified before they join the upload (checksum)
    RANGED_READS = "ranged-reads"
    UNFINISHED_READS = "unfinished-reads"  # an upload's bytes can be read back while it is still being written


class WriteFenced(Exception):
    """The writer may no longer write to this upload (its lock's lease ran out): what it held was dropped."""


class Appender(Protocol):
    """Bytes going into one upload. `written` counts the bytes already handed to storage."""

    written: int
    fenced: bool  # `still_ours()` said no: nothing more was written

    async def write(self, data: bytes) -> None: ...

    async def flush(self) -> None:
        """Hand every buffered byte to storage (and to the hasher)."""
        ...

    def digest(self) -> bytes | None:
        """The hasher's digest of everything flushed, when the appender was opened with one."""
        ...

    async def close(self, keep: bool = True) -> int:
        """Hand everything to storage; a staged appender drops its bytes unless `keep`. Returns bytes kept."""
        ...


@runtime_checkable
class SocketAppender(Appender, Protocol):
    """An appender that can store a body straight from its socket, without the bytes passing through Python."""

    def takes_sockets(self) -> bool: ...

    async def take_from_socket(
        self, sock_fd: int, count: int, *, on_moved: Callable[[int], None] | None = None
    ) -> SpliceResult | None: ...


class UploadStore(Protocol):
    """The core every store has: create, read info, write info, append."""

    capabilities: frozenset[Capability]

    async def create(self, info: UploadInfo) -> None: ...

    async def get_info(self, upload_id: str) -> UploadInfo:
        """The upload's info with its current offset; TusError 404 when there is no such upload."""
        ...

    async def save_info(self, info: UploadInfo) -> None: ...

    async def id_taken(self, upload_id: str) -> bool:
        """Whether creating an upload with this id (one a pre-create hook chose) would meet one that exists."""
        ...

    def open_appender(
        self,
        info: UploadInfo,
        *,
        staged: bool = False,
        hasher: Hasher | None = None,
        on_written: Callable[[int], None] | None = None,
        still_ours: Callable[[], bool] | None = None,
    ) -> Appender:
        """`on_written(total)` is called each time more bytes have reached storage; `still_ours()` is asked
        before each write, and once it is false the appender writes nothing more (`WriteFenced`)."""
        ...

    def iter_infos(self) -> AsyncIterator[UploadInfo]: ...

    async def check_ready(self) -> None:
        """Raise TusError when the store cannot take uploads right now."""
        ...


@runtime_checkable
class Terminater(Protocol):
    async def terminate(self, upload_id: str) -> None: ...


@runtime_checkable
class Concater(Protocol):
    async def concatenate(self, final: UploadInfo, partials: list[UploadInfo]) -> None:
        """Fill the final upload with the partials' bytes, in order, all at once or not at all."""
        ...


@runtime_checkable
class ContentReader(Protocol):
    def read(self, info: UploadInfo, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes `start` up to (not including) `stop` of the upload, in large chunks."""
        ...


@runtime_checkable
class FileServer(Protocol):
    """A store whose uploads are local files, which the server may send from in the kernel (sendfile)."""

    def open_file(self, info: UploadInfo) -> BinaryIO:
        """The upload's data, open for reading; TusError 404 when it is gone."""
        ...


@runtime_checkable
class LengthDeferrer(Protocol):
    async def declare_length(self, info: UploadInfo, length: int) -> None: ...


@runtime_checkable
class StoresInParts(Protocol):
    """A store that confirms bytes a part at a time (S3's multipart parts), not as they are written."""

    def unconfirmed_bytes(self) -> int:
        """How many bytes a sender must be let send ahead of what was confirmed for confirmations to keep coming."""
        ...


@runtime_checkable
class Presigner(Protocol):
    """A store that can hand downloads to its own servers (S3's presigned URLs) instead of sending the bytes."""

    def presigns_downloads(self) -> bool: ...

    async def presigned_url(self, info: UploadInfo, disposition: str, media_type: str) -> str:
        """A URL that serves the finished upload's bytes for a while, with these Content-Disposition and -Type."""
        ...


@runtime_checkable
class RemoteStore(Protocol):
    """A store whose uploads are not local files (S3): it keeps the tombstones of removed uploads itself, hooks
    see the `Storage` it records in each info, pipeline stages get a temporary local copy, and its connections
    are closed at shutdown."""

    def tombstones(self, ttl: float) -> Tombstones: ...

    def local_copy(self, info: UploadInfo) -> AbstractAsyncContextManager[Path]: ...

    async def aclose(self) -> None: ...
