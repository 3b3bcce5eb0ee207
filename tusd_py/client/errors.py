"""What can go wrong on the client side, each kind with the exit code the `tusd-py` commands give it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of `tusd-py upload` and `tusd-py watch` (documented in docs/cli.md)."""

    OK = 0
    FAILED = 1  # the server refused (4xx), or what was watched ended badly
    USAGE = 2  # bad flags or arguments, a file that cannot be read
    UNREACHABLE = 3  # network errors or busy/failing server until the retries ran out
    UNSUPPORTED = 4  # the server lacks an extension the command needs (--parallel, --checksum)
    INTERRUPTED = 130  # Ctrl-C (SIGINT); what was sent is kept and a re-run resumes
    TERMINATED = 143  # SIGTERM; likewise


class ClientError(Exception):
    """The one base of client errors: a message for people and an exit code for scripts."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, object]:
        return {"kind": type(self).__name__, "message": self.message, "exit_code": int(self.exit_code)}


class UsageError(ClientError):
    exit_code = ExitCode.USAGE


class MissingCapability(ClientError):
    """The server does not offer what was asked for (concatenation, a checksum algorithm, creation)."""

    exit_code = ExitCode.UNSUPPORTED


class UploadRejected(ClientError):
    """The server answered with a status that retrying cannot fix (400, 401, 403, 412, 413 …)."""

    def __init__(self, message: str, *, status: int, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "status": self.status, "error_code": self.error_code}


class UploadGone(UploadRejected):
    """404 or 410: the upload does not exist (any more) on the server."""


class TransientError(ClientError):
    """Worth another try: a network error or a retryable status (409, 423, 429, 460, 5xx)."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "status": self.status}


class RetriesExhausted(ClientError):
    """Transient errors went on past the retry budget."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, attempts: int, last: TransientError) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last.message}")
        self.attempts = attempts
        self.last = last
