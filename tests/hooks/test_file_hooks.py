"""File hooks: executables named after their hook in `--hooks-dir`, run by a real `tusd-py serve` with the request
as JSON on stdin and TUS_ID, TUS_OFFSET, TUS_SIZE in their environment; their stdout is the answer."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hooks.conftest import FIRED_BY
from tests.support.live_server import LiveServer
from tests.support.programs import require_program
from tests.support.s3_server import start_on_store
from tests.support.tus import OFFSET_BODY, TUS, upload_id
from tests.support.waiting import wait_until
from tusd_py.hooks.handlers import FileHooks
from tusd_py.hooks.models import HookFailed, HookRequest, HookType
from tusd_py.protocol.info import UploadInfo

TIMEOUT = 1.0
# What a script is told of an upload and does to it, on either store; exits, timeouts and process handling are the
# hook transport's, where no store takes part: those run on files alone.
BOTH_STORES = pytest.mark.stores("file", "s3")
EVERY_HOOK = "pre-create,post-create,post-receive,pre-finish,post-finish,pre-terminate,post-terminate"
HTTP = httpx.Client(timeout=30)


@pytest.fixture(scope="module")
def hooks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hooks")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, hooks_dir: Path, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    require_program("python3", "the hook scripts are `#!/usr/bin/env python3` executables")
    root = tmp_path_factory.mktemp(f"file-hooks-{store_kind}")
    server = start_on_store(
        store_kind, request, root,
        "--hooks-dir", str(hooks_dir),
        "--hooks-enabled-events", EVERY_HOOK,
        "--hooks-timeout", f"{TIMEOUT}s",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture
def scripts(hooks_dir: Path) -> Iterator[Path]:
    """The hooks directory, emptied after each test so its scripts do not answer the next one."""
    yield hooks_dir
    for path in hooks_dir.iterdir():
        path.unlink() if path.is_file() else shutil.rmtree(path)


def write_script(directory: Path, hook: str, body: str) -> Path:
    """A Python hook script: `request` is the parsed stdin, `answer(dict)` prints the response."""
    path = directory / hook
    path.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys, time\n"
        "request = json.load(sys.stdin)\n"
        "def answer(response):\n"
        "    json.dump(response, sys.stdout)\n" + body
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


def create(server: LiveServer, length: int, **pairs: str) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(length)}
    if pairs:
        headers["Upload-Metadata"] = metadata(**pairs)
    return HTTP.post(server.endpoint, headers=headers)


def patch(url: str, offset: int, body: bytes) -> httpx.Response:
    return HTTP.patch(url, content=body, headers={**OFFSET_BODY, "Upload-Offset": str(offset)})


@BOTH_STORES
def test_a_pre_create_script_refuses_an_upload(server: LiveServer, scripts: Path) -> None:
    write_script(
        scripts,
        "pre-create",
        "name = request['Event']['Upload']['MetaData'].get('filename', '')\n"
        "if name.endswith('.exe'):\n"
        "    answer({'RejectUpload': True, 'HTTPResponse': {'StatusCode': 415,"
        " 'Body': json.dumps({'message': 'no programs, please'}), 'Header': {'X-Refused-By': 'script'}}})\n",
    )

    refused = create(server, 5, filename="setup.exe")
    accepted = create(server, 5, filename="notes.txt")

    assert refused.status_code == 415
    assert refused.json()["error_code"] == "upload_rejected"
    assert refused.json()["error_message"] == "no programs, please"
    assert refused.headers["x-refused-by"] == "script"
    assert accepted.status_code == 201


@BOTH_STORES
def test_a_script_gets_the_upload_in_its_environment_and_on_stdin(
    server: LiveServer, scripts: Path, tmp_path: Path
) -> None:
    record = tmp_path / "records"
    record.mkdir()
    write_script(
        scripts,
        "post-finish",
        f"path = os.path.join({str(record)!r}, request['Event']['Upload']['ID'] + '.json')\n"
        "env = {key: os.environ.get(key) for key in ('TUS_ID', 'TUS_OFFSET', 'TUS_SIZE')}\n"
        "with open(path + '.part', 'w') as out:\n"
        "    json.dump({'stdin': request, 'env': env}, out)\n"
        "os.rename(path + '.part', path)\n",
    )
    url = create(server, 11, filename="notes.txt").headers["location"]

    assert patch(url, 0, b"hello files").status_code == 204

    written = record / f"{upload_id(url)}.json"
    wait_until(written.exists)
    recorded = json.loads(written.read_text())
    assert recorded["env"] == {"TUS_ID": upload_id(url), "TUS_OFFSET": "11", "TUS_SIZE": "11"}
    request = recorded["stdin"]
    assert request["Type"] == "post-finish"
    assert request["Event"]["Upload"]["ID"] == upload_id(url)
    assert request["Event"]["Upload"]["MetaData"] == {"filename": "notes.txt"}
    assert (request["Event"]["Upload"]["Offset"], request["Event"]["Upload"]["Size"]) == (11, 11)
    assert request["Event"]["HTTPRequest"]["Method"] == "PATCH"
    assert request["Event"]["HTTPRequest"]["URI"] == f"/files/{upload_id(url)}"


def test_a_pre_create_script_sees_no_id_yet(server: LiveServer, scripts: Path) -> None:
    # It answers with what it saw, in the refusal's body: TUS_ID is empty before the upload exists.
    write_script(
        scripts,
        "pre-create",
        "seen = {key: os.environ.get(key) for key in ('TUS_ID', 'TUS_OFFSET', 'TUS_SIZE')}\n"
        "answer({'RejectUpload': True, 'HTTPResponse': {'StatusCode': 409, 'Body': json.dumps(seen)}})\n",
    )

    response = create(server, 42)

    assert response.json()["details"]["hook_response"] == {"TUS_ID": "", "TUS_OFFSET": "0", "TUS_SIZE": "42"}


@BOTH_STORES
def test_a_script_can_change_the_id_and_metadata(server: LiveServer, scripts: Path) -> None:
    new_id = f"from-script-{time.time_ns()}"
    write_script(
        scripts,
        "pre-create",
        f"answer({{'ChangeFileInfo': {{'ID': {new_id!r}, 'MetaData': {{'filename': 'renamed.txt'}}}}}})\n",
    )

    response = create(server, 3, filename="original.txt")

    location = response.headers["location"]
    assert location.startswith(server.endpoint)
    assert upload_id(location).partition("+")[0] == new_id  # on S3 the tus id adds the multipart upload's
    described = HTTP.head(location, headers=TUS)
    assert described.headers["upload-metadata"] == metadata(filename="renamed.txt")


@BOTH_STORES
def test_a_pre_terminate_script_refuses_a_deletion(server: LiveServer, scripts: Path) -> None:
    write_script(scripts, "pre-terminate", "answer({'RejectTermination': True})\n")
    url = create(server, 3).headers["location"]

    response = HTTP.delete(url, headers=TUS)

    assert response.status_code == 400
    assert response.json()["error_code"] == "termination_rejected"
    assert HTTP.head(url, headers=TUS).status_code == 200


def test_a_script_that_exits_non_zero_is_502(server: LiveServer, scripts: Path) -> None:
    write_script(scripts, "pre-create", "print('quota service down', file=sys.stderr)\nsys.exit(3)\n")

    response = create(server, 5)

    assert response.status_code == 502
    assert response.json() == {
        "error_code": "hook_failed",
        "error_message": "the pre-create hook failed: the pre-create hook exited with status 3",
        "details": {"hook": "pre-create"},
    }
    wait_until(lambda: "quota service down" in server.log())  # what it said on stderr is logged


def test_a_script_printing_something_else_than_json_is_502(server: LiveServer, scripts: Path) -> None:
    write_script(scripts, "pre-create", "print('OK!')\n")

    response = create(server, 5)

    assert response.status_code == 502
    assert "not JSON" in response.json()["error_message"]


def test_a_script_that_prints_nothing_lets_the_upload_go_on(server: LiveServer, scripts: Path) -> None:
    write_script(scripts, "pre-create", "")

    assert create(server, 5).status_code == 201


def test_a_slow_script_is_killed_at_the_timeout(server: LiveServer, scripts: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    write_script(
        scripts, "pre-create", f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(10)\nanswer({{}})\n"
    )
    started = time.monotonic()

    response = create(server, 5)

    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert "longer than 1s" in response.json()["error_message"]
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 1.5
    assert not process_alive(int(pid_file.read_text()))


def write_shell_script(directory: Path, hook: str, child_pid_file: Path) -> None:
    """A shell hook that starts a long child (as scripts calling sleep or curl do) and waits for it."""
    require_program("sh", "the hook is a shell script")
    require_program("sleep", "the shell script's child")
    script = directory / hook
    script.write_text(f"#!/bin/sh\ncat >/dev/null\nsleep 10 &\necho $! > {child_pid_file}\nwait\necho '{{}}'\n")
    script.chmod(0o755)


def test_a_shell_script_is_killed_with_what_it_started(server: LiveServer, scripts: Path, tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    write_shell_script(scripts, "pre-create", child_pid_file)
    started = time.monotonic()

    response = create(server, 5)

    assert response.status_code == 502
    assert time.monotonic() - started < TIMEOUT + 1.5
    # Killing only the shell would leave its `sleep` running on, an orphan, for the rest of its 10 s.
    child = int(child_pid_file.read_text())
    wait_until(lambda: not process_alive(child), timeout=2)


async def test_a_timed_out_shell_hook_returns_at_the_timeout_on_asyncios_own_loop(tmp_path: Path) -> None:
    # Under asyncio's own loop (not uvloop), waiting for a killed shell also waits for its child to let go of
    # the pipes: the hook must end the child too, or the request waits as long as the child lives.
    write_shell_script(tmp_path, "pre-create", tmp_path / "child.pid")
    hooks = FileHooks(tmp_path, timeout=TIMEOUT, enabled=frozenset(HookType))
    started = time.monotonic()

    with pytest.raises(HookFailed, match="longer than 1s"):
        await hooks(HookRequest(HookType.PRE_CREATE, UploadInfo(id="", size=5), None))

    assert time.monotonic() - started < TIMEOUT + 1.5


def test_a_slow_post_script_does_not_slow_the_upload(server: LiveServer, scripts: Path) -> None:
    write_script(scripts, "post-create", "time.sleep(10)\n")
    write_script(scripts, "post-receive", "time.sleep(10)\n")
    started = time.monotonic()

    url = create(server, 3).headers["location"]
    patched = patch(url, 0, b"abc")

    assert patched.status_code == 204
    assert time.monotonic() - started < TIMEOUT


def test_a_file_that_is_not_executable_is_not_a_hook(server: LiveServer, scripts: Path) -> None:
    script = write_script(scripts, "pre-create", "answer({'RejectUpload': True})\n")
    script.chmod(0o644)

    assert create(server, 5).status_code == 201


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@BOTH_STORES
def test_every_hook_point_runs_its_script_with_the_upload_and_the_request(
    server: LiveServer, scripts: Path, tmp_path: Path
) -> None:
    record = tmp_path / "records"
    record.mkdir()
    for hook in FIRED_BY:
        write_script(
            scripts,
            hook,
            f"path = os.path.join({str(record)!r}, request['Type'] + '-' + str(time.time_ns()) + '.json')\n"
            "with open(path + '.part', 'w') as out:\n"
            "    json.dump(request, out)\n"
            "os.rename(path + '.part', path)\n",
        )
    url = create(server, 11, filename="notes.txt").headers["location"]
    assert patch(url, 0, b"hello files").status_code == 204
    assert HTTP.delete(url, headers=TUS).status_code == 204

    def recorded() -> dict[str, dict[str, object]]:
        return {path.name.rsplit("-", 1)[0]: json.loads(path.read_text()) for path in sorted(record.glob("*.json"))}

    wait_until(lambda: set(recorded()) == set(FIRED_BY), timeout=60)  # each hook starts a Python process
    for hook, request in recorded().items():
        upload, http_request = request["Event"]["Upload"], request["Event"]["HTTPRequest"]  # type: ignore[index]
        assert request["Type"] == hook
        assert upload["ID"] == ("" if hook == "pre-create" else upload_id(url)), hook
        assert upload["MetaData"] == {"filename": "notes.txt"}, hook
        assert http_request["Method"] == FIRED_BY[hook], hook
        assert http_request["URI"] == ("/files/" if FIRED_BY[hook] == "POST" else f"/files/{upload_id(url)}"), hook
        assert http_request["RemoteAddr"].startswith("127.0.0.1:"), hook
        assert http_request["Header"]["Tus-Resumable"] == ["1.0.0"], hook
