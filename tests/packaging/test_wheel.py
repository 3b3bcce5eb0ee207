"""`python -m build` makes an sdist and a wheel that install anywhere: the wheel, installed into a fresh venv
outside the checkout, serves uploads and the demo page with its bundles, and type-checks through py.typed.

The fresh venv gets the wheel with `--no-deps`; its dependencies come from the test venv's site-packages, named
in a .pth file (resolving them again from the index would only test pip, and cost a minute). So this proves what
the wheel carries, its entry point and its metadata (`pip check` holds its requirements against what is there);
it does not prove that the index can resolve them.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port
from tests.support.programs import require_path
from tests.support.waiting import wait_until
from tusd_py import __version__

REPO = Path(__file__).resolve().parents[2]

# The browser bundles the demo page serves from the package (npm's copies, never a CDN): the file inside the
# wheel and the URL the page loads it from. One line per bundle.
BUNDLES = {
    "tusd_py/demo/node_modules/tus-js-client/dist/tus.min.js": "/demo/tus.min.js",
    "tusd_py/demo/node_modules/uppy/dist/uppy.min.js": "/demo/uppy.min.js",
    "tusd_py/demo/node_modules/uppy/dist/uppy.min.css": "/demo/uppy.min.css",
}
PAGE_FILES = [
    "tusd_py/demo/static/index.html",
    "tusd_py/demo/static/demo.js",
    "tusd_py/demo/static/demo.css",
    "tusd_py/demo/static/uppy.html",
    "tusd_py/demo/static/uppy-demo.js",
]
TYPED = "tusd_py/py.typed"

# mypy must check this through the installed package's annotations: one deliberate error, and only that one.
PROGRAM = """\
from pathlib import Path

import tusd_py
from tusd_py import Settings, create_app

app = create_app(Settings(upload_dir=Path("uploads")))
version: str = tusd_py.__version__
wrong: int = tusd_py.__version__
"""


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    venv: Path
    env: dict[str, str]

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    for bundle in BUNDLES:
        require_path(REPO / bundle, "the wheel carries the demo page's bundles: npm ci --prefix tusd_py/demo")
    dist = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    return Built(wheel, sdist)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv in a temporary directory with the wheel installed, and the test venv's packages beside it."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The test venv's site-packages, after the fresh venv's own (its editable tusd_py is not seen from there).
    Path(site, "test-venv-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(built.wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return Installed(venv, env)


def test_the_wheel_and_the_sdist_carry_the_page_its_bundles_and_py_typed(built: Built) -> None:
    in_wheel = set(zipfile.ZipFile(built.wheel).namelist())
    root = built.sdist.name.removesuffix(".tar.gz")
    with tarfile.open(built.sdist) as sdist:
        in_sdist = {name.removeprefix(root + "/") for name in sdist.getnames()}

    for name in [*BUNDLES, *PAGE_FILES, TYPED]:
        assert name in in_wheel, name
        assert name in in_sdist, name
    assert built.wheel.name == f"tusd_py-{__version__}-py3-none-any.whl"


def test_the_installed_package_is_the_wheels_and_its_requirements_hold(installed: Installed, tmp_path: Path) -> None:
    where = installed.run(installed.bin("python"), "-c", "import tusd_py; print(tusd_py.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.venv)

    check = installed.run(installed.bin("python"), "-m", "pip", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_tusd_py_version_prints_the_version(installed: Installed, tmp_path: Path) -> None:
    result = installed.run(installed.bin("tusd-py"), "--version", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"tusd-py {__version__}"


@pytest.fixture
def serving(installed: Installed, tmp_path: Path) -> Iterator[str]:
    """`tusd-py serve --demo` from the fresh venv, run in a temporary directory; its base URL."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    command = [installed.bin("tusd-py"), "serve", "--port", str(port), "--upload-dir", "uploads", "--demo"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=tmp_path, env=installed.env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            return httpx.options(base_url + "/files/", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, interval=0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_installed_server_takes_an_upload_and_serves_the_demo_page(serving: str, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    tus = {"Tus-Resumable": "1.0.0"}
    with httpx.Client(base_url=serving, timeout=60) as client:
        created = client.post("/files/", headers={**tus, "Upload-Length": str(len(data))})
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        patch_headers = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
        assert client.patch(url, content=data, headers=patch_headers).status_code == 204
        assert hashlib.sha256(client.get(url).content).digest() == hashlib.sha256(data).digest()

        page = client.get("/demo/")
        assert page.status_code == 200
        assert 'data-tus="installed"' in page.text  # the page found its bundle in the installed package
        for name, path in BUNDLES.items():
            bundle = client.get(path)
            assert bundle.status_code == 200, path
            assert bundle.content == (REPO / name).read_bytes()
    assert (tmp_path / "uploads" / url.rsplit("/", 1)[1]).read_bytes() == data


def test_mypy_checks_a_program_against_the_installed_package(installed: Installed, tmp_path: Path) -> None:
    (tmp_path / "program.py").write_text(PROGRAM)

    result = installed.run(
        installed.bin("python"), "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "program.py", cwd=tmp_path
    )

    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert errors == [
        'program.py:8: error: Incompatible types in assignment (expression has type "str", variable has type "int")'
        "  [assignment]"
    ], result.stdout + result.stderr
