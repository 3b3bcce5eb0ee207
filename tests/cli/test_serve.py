"""`tusd-py serve`: flags and TUSD_PY_* variables map one to one onto Settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live_server import LiveServer
from tusd_py.cli.main import build_parser
from tusd_py.cli.serve import settings_from_args
from tusd_py.settings import Settings, settings_fields

SAMPLES = {
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("8080", 8080),
    "base_path": ("uploads", "/uploads/"),
    "upload_dir": ("/tmp/x", Path("/tmp/x")),
    "max_size": ("5GiB", 5 * 2**30),
    "network_timeout": ("90s", 90.0),
    "request_head_timeout": ("5s", 5.0),
    "lock_timeout": ("250ms", 0.25),
    "expire_after": ("7d", 7 * 86400.0),
    "max_metadata_pairs": ("10", 10),
    "write_block_size": ("1MiB", 2**20),
    "s3_bucket": ("uploads-bucket", "uploads-bucket"),
    "s3_endpoint": ("http://127.0.0.1:8333", "http://127.0.0.1:8333"),
    "s3_region": ("eu-west-1", "eu-west-1"),
    "s3_object_prefix": ("tus/uploads", "tus/uploads"),
    "s3_part_size": ("32MiB", 32 * 2**20),
    "s3_concurrent_part_uploads": ("8", 8),
    "s3_presign_downloads": ("15m", 900.0),
    "socket_bodies": ("false", False),
    "sendfile": ("false", False),
    "log_level": ("debug", "debug"),
    "log_format": ("json", "json"),
    "retain_completed": ("30d", 30 * 86400.0),
    "sweep_interval": ("15m", 900.0),
    "tombstone_ttl": ("24h", 86400.0),
    "behind_proxy": ("true", True),
    "cors_origins": ("https://app.example.com,https://*.example.org", "https://app.example.com,https://*.example.org"),
    "cors_allow_credentials": ("false", False),
    "shutdown_timeout": ("30s", 30.0),
    "progress_interval": ("250ms", 0.25),
    "event_history": ("50", 50),
    "max_event_connections": ("500", 500),
    "max_event_connections_per_user": ("5", 5),
    "redis_url": ("redis://127.0.0.1:6390/2", "redis://127.0.0.1:6390/2"),
    "redis_prefix": ("app1:", "app1:"),
    "lock_ttl": ("30s", 30.0),
    "workers": ("1", 1),
    "auth": ("jwt", "jwt"),
    "api_keys_file": ("/etc/tusd-py/keys", Path("/etc/tusd-py/keys")),
    "api_keys": ("k1:alice,k2:bob:admin", "k1:alice,k2:bob:admin"),
    "jwt_secret": ("s3cret", "s3cret"),
    "jwt_public_key": ("/etc/tusd-py/jwt.pem", Path("/etc/tusd-py/jwt.pem")),
    "jwt_audience": ("uploads", "uploads"),
    "rate_limit": ("20", 20.0),
    "rate_burst": ("10", 10),
    "ws_max_message_size": ("1MiB", 1048576),
    "ws_upload_window": ("16MiB", 16777216),
    "max_metadata_size": ("4KiB", 4096),
    "max_header_size": ("32KiB", 32768),
    "jwt_require_exp": ("false", False),
    "auth_failure_limit": ("10", 10),
    "hooks_http": ("http://127.0.0.1:8081/hooks", "http://127.0.0.1:8081/hooks"),
    "hooks_http_retry": ("5", 5),
    "hooks_http_backoff": ("2s", 2.0),
    "hooks_grpc": ("127.0.0.1:8082", "127.0.0.1:8082"),
    "hooks_grpc_retry": ("0", 0),
    "hooks_grpc_backoff": ("250ms", 0.25),
    "hooks_dir": ("/etc/tusd-py/hooks", Path("/etc/tusd-py/hooks")),
    "hooks_timeout": ("30s", 30.0),
    "hooks_enabled_events": ("pre-create,pre-finish", "pre-create,pre-finish"),
    "hooks_progress_interval": ("2s", 2.0),
    "pipeline": ("digests=examples.pipeline.stages:digests", "digests=examples.pipeline.stages:digests"),
    "pipeline_concurrency": ("4", 4),
    "demo": ("yes", True),
    "tracing": ("true", True),
    "imports": ("false", False),
    "import_allow": ("127.0.0.1,.intranet.example,10.1.0.0/16", "127.0.0.1,.intranet.example,10.1.0.0/16"),
    "import_connect_timeout": ("5s", 5.0),
    "import_read_timeout": ("1m", 60.0),
    "import_timeout": ("2h", 7200.0),
    "import_retries": ("1", 1),
    "import_max_redirects": ("0", 0),
    "form_max_parts": ("20", 20),
    "form_max_field_size": ("4KiB", 4096),
    "ietf_draft": ("false", False),
    "repr_digest": ("false", False),
}


def test_every_setting_has_a_sample_here() -> None:
    assert sorted(SAMPLES) == sorted(f.name for f in settings_fields())


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_variable_sets_its_field(name: str) -> None:
    text, value = SAMPLES[name]
    settings = Settings.from_env({"TUSD_PY_" + name.upper(): text})
    assert getattr(settings, name) == value


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_flag_sets_its_field(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for f in settings_fields():
        monkeypatch.delenv("TUSD_PY_" + f.name.upper(), raising=False)
    text, value = SAMPLES[name]
    args = build_parser().parse_args(["serve", "--" + name.replace("_", "-"), text])
    assert getattr(settings_from_args(args), name) == value


def test_a_flag_wins_over_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUSD_PY_PORT", "2000")
    assert settings_from_args(build_parser().parse_args(["serve"])).port == 2000
    assert settings_from_args(build_parser().parse_args(["serve", "--port", "3000"])).port == 3000


def test_optional_limits_can_be_switched_off() -> None:
    assert Settings.from_env({"TUSD_PY_MAX_SIZE": "unlimited"}).max_size is None
    assert Settings.from_env({"TUSD_PY_EXPIRE_AFTER": "off"}).expire_after is None


def test_help_documents_every_setting_with_its_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusd_py", "serve", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(result.stdout.split())
    for f in settings_fields():
        assert "--" + f.name.replace("_", "-") in text
        assert "TUSD_PY_" + f.name.upper() in text
    assert "(default: 127.0.0.1;" in text and "(default: 1080;" in text and "(default: /files/;" in text


def test_a_bad_value_is_refused_with_a_clear_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusd_py", "serve", "--max-size", "lots"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "max_size: not a size: 'lots'" in result.stderr


def test_the_server_greets_with_where_to_upload(live_server: LiveServer) -> None:
    assert f"tus 1.0.0 uploads at http://127.0.0.1:{live_server.port}/files/" in live_server.log()


def test_several_workers_without_redis_are_refused_with_a_clear_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusd_py", "serve", "--workers", "4"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "workers > 1 needs --redis-url" in result.stderr


def test_settings_survive_the_trip_through_worker_variables() -> None:
    settings = Settings(max_size=5 * 2**30, expire_after=None, behind_proxy=True, lock_ttl=2.5, upload_dir=Path("/x"))
    assert Settings.from_env(settings.to_env()) == settings
