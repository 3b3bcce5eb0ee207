"""Stages from Python and from settings: how they are named, loaded and ordered, what a bad one does, and that a
stage may report its progress from a worker thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.tus_client import TusClient
from tests.pipeline import stages as test_stages
from tests.support.live_server import free_port
from tests.support.waiting import eventually, wait_until
from tusd_py import Settings, create_app
from tusd_py.hooks.pipeline import Stage, StageContext, load_stages

MakeClient = Callable[..., TusClient]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[MakeClient]:
    clients: list[TusClient] = []

    def make(stages: list[Stage] | None = None, **fields: Any) -> TusClient:
        settings = Settings.from_env({}, upload_dir=tmp_path / "uploads", progress_interval=0.01, **fields)
        client = TusClient(create_app(settings, pipeline=stages), tmp_path / "uploads")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def processing_state(client: TusClient, url: str) -> dict[str, Any]:
    state: dict[str, Any] = (await client.http.get(f"{url}/progress")).json()["processing"]
    return state


async def finished(client: TusClient, url: str) -> dict[str, Any]:
    """The processing state once it is processed or failed."""

    async def done() -> bool:
        return (await processing_state(client, url))["status"] in ("processed", "failed")

    await eventually(done, timeout=10)
    return await processing_state(client, url)


# -- loading stages named in settings -----------------------------------------------------------------


def test_stages_are_loaded_by_name_in_order() -> None:
    stages = load_stages(" first=tests.pipeline.stages:timed , tests.pipeline.stages:gate,, ")

    assert [(stage.name, stage.run) for stage in stages] == [
        ("first", test_stages.timed),
        ("gate", test_stages.gate),  # without a name, the function's
    ]


def test_no_stages_is_an_empty_list() -> None:
    assert load_stages("") == []


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("digests=examples.pipeline.stages", ValueError),  # no function
        ("digests=:digests", ValueError),  # no module
        ("size=os.path:getsize", ValueError),  # not async
        ("x=tests.pipeline.no_such_module:run", ImportError),
        ("x=tests.pipeline.stages:no_such_function", AttributeError),
    ],
)
def test_a_stage_that_cannot_be_loaded_is_refused(spec: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_stages(spec)


def test_serve_refuses_a_stage_that_cannot_be_loaded() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusd_py", "serve", "--pipeline", "size=os.path:getsize"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "is not an async function" in result.stderr


def test_the_tusd_py_command_finds_stage_modules_in_the_current_directory(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "tusd-py"
    if not command.exists():
        pytest.skip("the tusd-py console script is not installed beside this Python")
    (tmp_path / "my_stages.py").write_text(
        "async def count(context):\n    return {'bytes': context.path.stat().st_size}\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [str(command), "serve", "--port", str(port), "--upload-dir", "uploads", "--pipeline", "count=my_stages:count"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    endpoint = f"http://127.0.0.1:{port}/files/"
    try:
        with httpx.Client(timeout=5) as http:

            def up() -> bool:
                if process.poll() is not None:
                    raise AssertionError(process.stderr.read().decode() if process.stderr else "exited")
                try:
                    return http.options(endpoint).status_code == 200
                except httpx.TransportError:
                    return False

            wait_until(up, timeout=20)
            headers = {"Tus-Resumable": "1.0.0"}
            url = http.post(endpoint, headers={**headers, "Upload-Length": "4"}).headers["location"]
            http.patch(
                url,
                content=b"four",
                headers={**headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
            )
            wait_until(lambda: http.get(f"{url}/progress").json()["status"] == "processed", timeout=10)
            assert http.get(f"{url}/progress").json()["processing"]["result"] == {"count": {"bytes": 4}}
    finally:
        process.terminate()
        process.wait(15)


# -- running them ---------------------------------------------------------------------------------------


async def test_stages_given_in_python_run_before_those_in_settings(make_client: MakeClient) -> None:
    async def first(context: StageContext) -> dict[str, Any]:
        return {"saw": sorted(context.results)}

    client = make_client([Stage("first", first)], pipeline="second=tests.pipeline.test_stages_setup:settings_stage")
    url = await client.uploaded(b"hello")

    state = await finished(client, url)

    assert list(state["result"]) == ["first", "second"]
    assert state["result"] == {"first": {"saw": []}, "second": {"saw": ["first"]}}


async def settings_stage(context: StageContext) -> dict[str, Any]:
    """A stage named in the settings of the test above: it sees what the earlier stages returned."""
    return {"saw": sorted(context.results)}


async def test_a_stage_returning_none_records_null(make_client: MakeClient) -> None:
    async def quiet(context: StageContext) -> None:
        return None

    client = make_client([Stage("quiet", quiet)])
    url = await client.uploaded(b"x")

    assert (await finished(client, url))["result"] == {"quiet": None}


async def test_a_stage_returning_something_that_is_not_json_fails(make_client: MakeClient) -> None:
    async def pathy(context: StageContext) -> dict[str, Any]:
        return {"where": context.path}

    client = make_client([Stage("pathy", pathy)])
    url = await client.uploaded(b"x")

    state = await finished(client, url)

    assert state["status"] == "failed"
    assert state["stage"] == "pathy"
    assert "not JSON serializable" in state["error_message"]


async def test_a_stage_gets_the_upload_and_where_its_bytes_are(make_client: MakeClient) -> None:
    seen: dict[str, Any] = {}

    async def look(context: StageContext) -> dict[str, Any]:
        seen.update(id=context.upload.id, path=context.path, bytes=context.path.read_bytes(), stage=context.stage)
        return {}

    client = make_client([Stage("look", look)])
    url = await client.uploaded(b"the bytes", metadata="filename dC50eHQ=")

    await finished(client, url)
    assert seen == {"id": url.rsplit("/", 1)[1], "path": client.data_path(url), "bytes": b"the bytes", "stage": "look"}


async def test_a_stage_may_report_from_a_worker_thread(make_client: MakeClient) -> None:
    client = make_client([Stage("threaded", test_stages.threaded)])
    told_on: list[tuple[str, int]] = []
    client.app.state.service.listeners.append(
        lambda kind, info, received: told_on.append((kind, threading.get_ident()))
    )
    url = await client.uploaded(b"abc")

    state = await finished(client, url)

    assert state == {"status": "processed", "result": {"threaded": {"steps": 5}}}
    reports = [thread for kind, thread in told_on if kind == "processing"]
    assert len(reports) == 1 + 5  # the stage's start, then each step it reported
    # Listeners (the event publisher among them) are only ever called on the event loop's thread.
    assert set(reports) == {threading.get_ident()}
