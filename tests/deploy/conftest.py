"""Fixtures: tusd_py (--behind-proxy true) with the example nginx config in front, and the clients that use it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.deploy.nginx import NginxProxy
from tests.interop.source_data import source_content
from tests.interop.stored_upload import StoredUpload
from tests.interop.tus_js_client import INSTALLED_CLIENT, TusJsClient
from tests.support.live_server import LiveServer
from tests.support.programs import require_path, require_program


@dataclass
class Deployment:
    """tusd_py on a loopback port, and nginx in front of it: clients only ever talk to `endpoint`."""

    server: LiveServer
    proxy: NginxProxy

    @property
    def endpoint(self) -> str:
        return self.proxy.endpoint

    def public_url(self, upload_id: str) -> str:
        return self.proxy.endpoint + upload_id

    def stored(self, upload_url: str) -> StoredUpload:
        return StoredUpload.load(self.server.upload_dir, upload_url)

    def data_file(self, upload_url: str) -> Path:
        return self.server.upload_dir / urlsplit(upload_url).path.rsplit("/", 1)[1]

    def stop(self) -> None:
        self.proxy.stop()
        self.server.stop()


def start_deployment(nginx: str, root: Path, *server_args: str) -> Deployment:
    server = LiveServer(root / "uploads", root / "server.log", "--behind-proxy", "true", *server_args)
    server.upload_dir.mkdir(parents=True)
    server.start()
    proxy = NginxProxy(nginx, root / "nginx", server.port)
    try:
        proxy.start()
    except BaseException:
        server.stop()
        raise
    return Deployment(server, proxy)


@pytest.fixture(scope="session")
def nginx() -> str:
    return require_program("nginx", "the deployment tests run examples/nginx/tusd_py.conf in front of tusd_py")


@pytest.fixture(scope="module")
def deployment(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One deployment for tests that only create their own uploads and never stop it."""
    deployed = start_deployment(nginx, tmp_path_factory.mktemp("deployment"))
    yield deployed
    deployed.stop()


@pytest.fixture
def make_deployment(nginx: str, tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    """`make_deployment("--network-timeout", "1s")`: a deployment of its own, for a test that stops or tunes it."""
    started: list[Deployment] = []

    def make(*server_args: str) -> Deployment:
        deployed = start_deployment(nginx, tmp_path / f"deployment-{len(started)}", *server_args)
        started.append(deployed)
        return deployed

    yield make
    for deployed in started:
        deployed.stop()


@pytest.fixture(scope="session")
def source_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few MiB of incompressible bytes, not a multiple of any chunk size the tests use."""
    path = tmp_path_factory.mktemp("deploy-source") / "source.bin"
    path.write_bytes(source_content())
    return path


@pytest.fixture(scope="session")
def tus_js_client() -> TusJsClient:
    node = require_program("node", "tus-js-client runs under node to upload through nginx")
    require_path(INSTALLED_CLIENT, "install it with `npm ci --prefix tests/interop/node` (make test does)")
    return TusJsClient(node)
