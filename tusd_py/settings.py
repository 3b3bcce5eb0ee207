"""The one settings object. Each field is one CLI flag (`--upload-dir`) and one variable (`TUSD_PY_UPLOAD_DIR`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tusd_py.units import format_duration, format_size, parse_duration, parse_size

ENV_PREFIX = "TUSD_PY_"
ALL_HOOKS = (
    "pre-create",
    "post-create",
    "post-receive",
    "pre-finish",
    "post-finish",
    "pre-terminate",
    "post-terminate",
)
DEFAULT_ENABLED_HOOKS = "pre-create,post-create,post-receive,post-finish,post-terminate"  # as tusd enables them
_OFF = {"", "none", "off", "unlimited", "never"}


def setting(default: Any, help: str, kind: str = "str", optional: bool = False) -> Any:
    """A settings field: `kind` says how text becomes a value (str, int, bool, path, size, duration)."""
    return field(default=default, metadata={"help": help, "kind": kind, "optional": optional})


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", "address to listen on (loopback by default)")
    port: int = setting(1080, "TCP port to listen on", "int")
    base_path: str = setting("/files/", "path under which uploads are created and served")
    upload_dir: Path = setting(Path("data"), "directory holding uploads (tusd's file-store layout)", "path")
    max_size: int | None = setting(None, "largest upload accepted, e.g. 5GiB (unlimited when unset)", "size", True)
    network_timeout: float = setting(
        60.0, "end a PATCH (or an upload socket) that sends no byte for this long, keeping what arrived", "duration"
    )
    request_head_timeout: float = setting(
        10.0,
        "under `serve`, answer 408 and close a connection whose request line and headers are not complete this"
        " long after they began (or after it connected); 0: no limit",
        "duration",
    )
    lock_timeout: float = setting(
        5.0, "how long a request waits for a busy upload's writer to let go before 423", "duration"
    )
    expire_after: float | None = setting(
        None, "unfinished uploads expire this long after their last byte, e.g. 24h", "duration", True
    )
    retain_completed: float | None = setting(
        None, "remove finished uploads this long after they completed, e.g. 30d", "duration", True
    )
    sweep_interval: float = setting(
        60.0,
        "how often expired and past-retention uploads, and completions a full disk interrupted, are looked for",
        "duration",
    )
    tombstone_ttl: float = setting(86400.0, "how long a removed upload answers 410 before 404 (0: never)", "duration")
    behind_proxy: bool = setting(
        False, "trust Forwarded / X-Forwarded-Proto, -Host and -Prefix for the URLs returned", "bool"
    )
    cors_origins: str = setting(
        "*",
        "origins allowed by CORS: *, or a comma-separated list (* in a host matches subdomains); empty: no CORS",
    )
    cors_allow_credentials: bool = setting(
        False, "send Access-Control-Allow-Credentials (needs an explicit origin list)", "bool"
    )
    progress_interval: float = setting(
        0.5, "at most one progress event per upload this often (first and last always sent)", "duration"
    )
    event_history: int = setting(200, "events kept per upload for replay after a reconnect", "int")
    max_event_connections: int = setting(10000, "WebSocket and SSE event connections allowed in total", "int")
    max_event_connections_per_user: int = setting(100, "event connections allowed per user", "int")
    redis_url: str | None = setting(
        None, "redis://host:port/db: share state, locks and events with other instances", "str", True
    )
    redis_prefix: str = setting(
        "tusd_py:", "prefix of every Redis key and channel (several deployments can share a Redis)"
    )
    lock_ttl: float = setting(
        10.0, "with Redis: a lock expires this long after its holder stops renewing it", "duration"
    )
    workers: int = setting(1, "worker processes (more than 1 needs --redis-url)", "int")
    auth: str = setting(
        "none", "who may upload: none (loopback use), api-key (X-API-Key) or jwt (Authorization: Bearer)"
    )
    api_keys_file: Path | None = setting(None, "file of API keys, one 'KEY OWNER [admin]' a line", "path", True)
    api_keys: str | None = setting(
        None, "API keys as 'key:owner[:admin],…' (prefer the file: this is visible in ps)", "str", True
    )
    jwt_secret: str | None = setting(None, "HS256 secret for JWT bearer tokens", "str", True)
    jwt_public_key: Path | None = setting(None, "PEM file of the RS256 public key for JWT bearer tokens", "path", True)
    jwt_audience: str | None = setting(None, "required `aud` claim of JWT bearer tokens", "str", True)
    jwt_require_exp: bool = setting(True, "refuse JWT bearer tokens without an `exp` claim", "bool")
    auth_failure_limit: int = setting(
        30, "refused authentications allowed per client address per minute, then 429 (0: no limit)", "int"
    )
    rate_limit: float | None = setting(
        None, "requests per second allowed per user (or per address without auth); 429 past it", "float", True
    )
    rate_burst: int = setting(50, "requests a user may make at once before the rate limit applies", "int")
    max_header_size: int = setting(
        64 * 1024, "largest request line plus headers accepted by `serve` (431 above it)", "size"
    )
    ws_max_message_size: int = setting(
        64 * 1024, "largest WebSocket message (an upload's binary frame included); 1009 or 413 above it", "size"
    )
    ws_upload_window: int = setting(
        8 * 2**20, "WebSocket uploads: bytes a client may send beyond the last acknowledged offset", "size"
    )
    max_metadata_size: int = setting(16 * 1024, "largest Upload-Metadata header accepted", "size")
    max_metadata_pairs: int = setting(256, "most key/value pairs accepted in Upload-Metadata", "int")
    write_block_size: int = setting(4 * 2**20, "bytes gathered before each write to disk", "size")
    s3_bucket: str | None = setting(
        None,
        "keep uploads in this S3 bucket (tusd's s3store layout) instead of --upload-dir; it must exist;"
        " credentials from the AWS_* variables or files",
        "str",
        True,
    )
    s3_endpoint: str | None = setting(
        None, "URL of an S3-compatible service (MinIO, Ceph, SeaweedFS, R2…); AWS's own when unset", "str", True
    )
    s3_region: str | None = setting(None, "S3 region (else AWS_REGION, the AWS config, or us-east-1)", "str", True)
    s3_object_prefix: str = setting("", "prefix of every object key: `a/b` keeps an upload at a/b/<objectId>")
    s3_part_size: int = setting(
        8 * 2**20, "bytes per S3 multipart part, 5MiB to 5GiB (grown for uploads past 10,000 parts)", "size"
    )
    s3_concurrent_part_uploads: int = setting(
        4, "parts of one PATCH uploaded to S3 at once, 1 to 64 (memory: part size x (this + 1))", "int"
    )
    s3_presign_downloads: float | None = setting(
        None, "answer GET of a finished S3 upload with a redirect to a presigned URL valid this long", "duration", True
    )
    socket_bodies: bool = setting(
        True,
        "under `serve` on Linux, move bodies of 1MiB and more from the socket into the file in the kernel (splice)",
        "bool",
    )
    sendfile: bool = setting(
        True, "under `serve`, send downloads from the file to the socket in the kernel (sendfile)", "bool"
    )
    shutdown_timeout: float = setting(
        10.0, "on SIGTERM, how long open connections get to finish before they are closed", "duration"
    )
    hooks_http: str | None = setting(
        None,
        "URL that receives every hook as a POST in tusd's JSON shape, e.g. http://127.0.0.1:8081/hooks",
        "str",
        True,
    )
    hooks_http_retry: int = setting(3, "times a failed HTTP hook (network error or 5xx) is tried again", "int")
    hooks_http_backoff: float = setting(
        1.0, "wait before the first retry of an HTTP hook; doubles each time", "duration"
    )
    hooks_grpc: str | None = setting(
        None,
        "HOST:PORT of a gRPC hook service (tusd's proto.HookHandler/InvokeHook) receiving every hook; needs"
        " tusd_py[grpc]",
        "str",
        True,
    )
    hooks_grpc_retry: int = setting(
        3, "times a gRPC hook answered UNAVAILABLE or RESOURCE_EXHAUSTED is tried again", "int"
    )
    hooks_grpc_backoff: float = setting(1.0, "wait before each retry of a gRPC hook", "duration")
    hooks_dir: Path | None = setting(
        None, "directory of hook executables named after their hook (pre-create, post-finish, …)", "path", True
    )
    hooks_timeout: float = setting(
        15.0,
        "longest one HTTP or gRPC hook attempt (whole answer included) or one hook executable may take",
        "duration",
    )
    hooks_enabled_events: str = setting(
        DEFAULT_ENABLED_HOOKS, "hooks sent to --hooks-http, --hooks-grpc and --hooks-dir (comma-separated)"
    )
    hooks_progress_interval: float = setting(1.0, "at most one post-receive hook per upload this often", "duration")
    pipeline: str | None = setting(
        None, "processing stages run after each upload completes: name=module:function,…", "str", True
    )
    pipeline_concurrency: int = setting(2, "uploads processed at the same time", "int")
    demo: bool = setting(False, "serve the browser demo page at /demo/ (and redirect / there)", "bool")
    tracing: bool = setting(
        False,
        "emit OpenTelemetry spans (requests, lock waits, store calls, hooks, pipeline stages), exported as the"
        " OTEL_* variables say; needs tusd_py[otel]",
        "bool",
    )
    # -- imports (POST B imports) and form uploads (POST B form) --
    imports: bool = setting(True, "accept POST B imports: the server fetches a URL into a new upload", "bool")
    import_allow: str | None = setting(
        None,
        "hosts, .suffix domains and CIDRs imports may reach although loopback, private, link-local or reserved"
        " (comma-separated, e.g. 127.0.0.1,.intranet.example,10.1.0.0/16)",
        "str",
        True,
    )
    import_connect_timeout: float = setting(10.0, "imports: longest wait to connect to the source", "duration")
    import_read_timeout: float = setting(30.0, "imports: longest wait for the source's next bytes", "duration")
    import_timeout: float = setting(3600.0, "imports: longest a whole import may take, retries included", "duration")
    import_retries: int = setting(3, "imports: times a dropped or failing source is tried again", "int")
    import_max_redirects: int = setting(5, "imports: redirects followed (each hop checked)", "int")
    form_max_parts: int = setting(100, "form uploads: most parts (files and fields) in one POST B form", "int")
    form_max_field_size: int = setting(64 * 1024, "form uploads: largest value of a field that is not a file", "size")
    ietf_draft: bool = setting(
        True,
        "speak the IETF draft Resumable Uploads for HTTP (interop versions 3 to 8) on requests carrying"
        " Upload-Draft-Interop-Version; false: such requests are tus 1.0 requests",
        "bool",
    )
    repr_digest: bool = setting(
        True,
        "record each upload's SHA-256 and send it as Repr-Digest on download, hashed as bodies arrive (spliced"
        " bodies are read back from the page cache behind the writer)",
        "bool",
    )
    log_level: str = setting("info", "log level: debug, info, warning, error")
    log_format: str = setting("text", "log lines as text or json")

    def __post_init__(self) -> None:
        base = "/" + self.base_path.strip("/") + "/" if self.base_path.strip("/") else "/"
        object.__setattr__(self, "base_path", base)
        object.__setattr__(self, "upload_dir", Path(self.upload_dir))
        if self.cors_allow_credentials and "*" in [o.strip() for o in self.cors_origins.split(",")]:
            raise ValueError("cors_allow_credentials needs an explicit list of origins, not *")
        if self.workers > 1 and not self.redis_url:
            raise ValueError(
                "workers > 1 needs --redis-url: without Redis each worker would have its own locks and events"
            )
        if self.auth not in ("none", "api-key", "jwt"):
            raise ValueError("auth must be none, api-key or jwt")
        if self.log_format not in ("text", "json"):
            raise ValueError("log_format must be text or json")
        unknown = set(self.enabled_hooks()) - set(ALL_HOOKS)
        if unknown:
            raise ValueError(f"unknown hooks in hooks_enabled_events: {', '.join(sorted(unknown))}")
        if self.demo and self.base_path.startswith("/demo/"):
            raise ValueError("demo: the page lives at /demo/; choose another base_path")
        if self.ws_upload_window < self.ws_max_message_size:
            raise ValueError("ws_upload_window must hold at least one WebSocket message (ws_max_message_size)")
        if self.import_allow:
            from tusd_py.imports.policy import AllowList

            AllowList.parse(self.import_allow)  # a bad CIDR is refused at start-up
        if self.write_block_size < 64 * 1024:
            raise ValueError("write_block_size must be at least 64KiB")
        if not 5 * 2**20 <= self.s3_part_size <= 5 * 2**30:
            raise ValueError("s3_part_size must be between 5MiB and 5GiB (S3's part sizes)")
        if not 1 <= self.s3_concurrent_part_uploads <= 64:
            raise ValueError("s3_concurrent_part_uploads must be between 1 and 64")
        if self.s3_presign_downloads is not None and not 1 <= self.s3_presign_downloads <= 7 * 86400:
            raise ValueError("s3_presign_downloads must be between 1s and 7d (SigV4's longest)")

    def enabled_hooks(self) -> list[str]:
        return [name.strip() for name in self.hooks_enabled_events.split(",") if name.strip()]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `TUSD_PY_*` variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name in environ:
                values[f.name] = parse_value(f.name, environ[name])
        values.update(overrides)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """These settings as TUSD_PY_* variables (how --workers hands them to each worker process)."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[ENV_PREFIX + f.name.upper()] = (
                "off" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            )
        return env


def parse_value(name: str, text: str) -> Any:
    """Text from a flag or a variable, turned into the field's type; ValueError says what was expected."""
    meta = _field(name).metadata
    kind = meta["kind"]
    if meta["optional"] and text.strip().lower() in _OFF:
        return None
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                raise ValueError(f"not a boolean: {text!r}")
            return lowered in {"1", "true", "yes", "on"}
        if kind == "path":
            return Path(text)
        if kind == "size":
            return parse_size(text)
        if kind == "duration":
            return parse_duration(text)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None
    return text


def format_value(name: str, value: Any) -> str:
    """How a value reads in --help."""
    kind = _field(name).metadata["kind"]
    if value is None:
        return "unset"
    if kind == "size":
        return format_size(value)
    if kind == "duration":
        return format_duration(value)
    return str(value)


def settings_fields() -> list[Any]:
    return list(fields(Settings))


def _field(name: str) -> Any:
    for f in fields(Settings):
        if f.name == name:
            return f
    raise KeyError(name)
