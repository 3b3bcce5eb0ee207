"""Property-based: any method, path, header set and body, on every route of the in-process app, auth on and off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hostile.asgi import websocket
from tests.hostile.hostile_requests import HOSTILE_IDS, DataChooser, draw_request
from tests.hostile.invariants import (
    Exchange,
    answered_without_credentials,
    broken_error_contract,
    exchange,
    reached_anothers_upload,
    refusal_changed_upload,
    server_error,
    traceback,
)
from tests.hostile.world import USERS, World

EXAMPLES = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure here is a finding, never a flake
    database=None,  # nothing written to the working tree
    # No shrinking: the app's state carries over between examples, so shrinking mostly chases its own tail
    # (and can run for minutes); a failing request is printed whole instead, readable as it is.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(params=[False, True], ids=["auth-off", "auth-on"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """One app per test, shared by its examples (state carries over, as on a real server)."""
    world = await World.build(tmp_path / "server", auth=request.param)
    yield world
    await world.close()


@pytest.fixture
async def authed_world(tmp_path: Path) -> AsyncIterator[World]:
    world = await World.build(tmp_path / "server", auth=True)
    yield world
    await world.close()


async def hostile_exchange(world: World, data: st.DataObject) -> Exchange:
    await world.ensure()
    return await exchange(world, draw_request(DataChooser(data), world))


@EXAMPLES
@given(data=st.data())
async def test_no_request_gets_a_server_error(world: World, data: st.DataObject) -> None:
    sent = await hostile_exchange(world, data)

    assert server_error(sent) is None, sent


@EXAMPLES
@given(data=st.data())
async def test_no_answer_carries_traceback_text(world: World, data: st.DataObject) -> None:
    sent = await hostile_exchange(world, data)

    assert traceback(sent) is None, sent


@EXAMPLES
@given(data=st.data())
async def test_every_error_carries_tus_resumable_and_a_json_error_body(world: World, data: st.DataObject) -> None:
    sent = await hostile_exchange(world, data)

    assert broken_error_contract(sent) is None, (broken_error_contract(sent), str(sent))


@EXAMPLES
@given(data=st.data())
async def test_a_refused_request_leaves_its_upload_byte_identical(world: World, data: st.DataObject) -> None:
    sent = await hostile_exchange(world, data)

    assert refusal_changed_upload(sent) is None, (refusal_changed_upload(sent), str(sent))


@EXAMPLES
@given(data=st.data())
async def test_no_request_writes_outside_the_upload_directory(world: World, data: st.DataObject) -> None:
    outside = world.outside()

    sent = await hostile_exchange(world, data)

    assert world.outside() == outside, sent
    assert world.strays() == [], sent


@EXAMPLES
@given(data=st.data())
async def test_without_valid_credentials_only_discovery_and_health_answer(
    authed_world: World, data: st.DataObject
) -> None:
    sent = await hostile_exchange(authed_world, data)

    assert answered_without_credentials(sent) is None, (answered_without_credentials(sent), str(sent))


@EXAMPLES
@given(data=st.data())
async def test_no_answer_lets_one_user_reach_or_see_anothers_uploads(authed_world: World, data: st.DataObject) -> None:
    sent = await hostile_exchange(authed_world, data)

    assert reached_anothers_upload(authed_world, sent) is None, (reached_anothers_upload(authed_world, sent), str(sent))


# -- the multiplexed WebSocket -----------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@st.composite
def socket_messages(draw: st.DrawFn, world: World) -> str:
    """A message for the multiplexed socket: mostly well-formed actions with hostile fields, sometimes junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=100))
    actions = st.sampled_from(["subscribe", "unsubscribe", "ping", "get_stats", "other"])
    message = {"action": draw(actions | JSON_VALUES)}
    if draw(st.booleans()):
        real = world.ids[draw(st.sampled_from(world.upload_names))]
        hostile = draw(st.sampled_from(HOSTILE_IDS)).replace("{real}", real)
        message["upload_id"] = draw(st.sampled_from([real, hostile]) | JSON_VALUES)
    if draw(st.booleans()):
        message["batch"] = draw(st.sampled_from(["alice-batch", "bob-batch"]) | JSON_VALUES)
    if draw(st.booleans()):
        message["since"] = draw(st.sampled_from([0, 1, -1, 2**70]) | JSON_VALUES)
    return json.dumps(message)


@EXAMPLES
@given(data=st.data())
async def test_every_message_on_the_multiplexed_socket_gets_a_json_reply(world: World, data: st.DataObject) -> None:
    await world.ensure()
    messages = data.draw(st.lists(socket_messages(world), min_size=1, max_size=4))
    user = data.draw(st.sampled_from(USERS))

    transcript = await websocket(world.app, b"/files/events", world.credentials(user), messages)

    assert transcript.accepted and transcript.close_code is None, transcript
    assert len(transcript.texts) >= len(messages), transcript
    assert all(isinstance(reply, dict) and isinstance(reply.get("type"), str) for reply in transcript.json())


@EXAMPLES
@given(data=st.data())
async def test_no_subscription_lets_one_user_follow_anothers_upload(authed_world: World, data: st.DataObject) -> None:
    await authed_world.ensure()
    messages = data.draw(st.lists(socket_messages(authed_world), min_size=1, max_size=4))

    transcript = await websocket(authed_world.app, b"/files/events", authed_world.credentials("bob"), messages)

    for reply in transcript.json():
        if authed_world.owner_of(str(reply.get("upload_id"))) == "alice":
            assert reply["type"] != "subscribed", reply
            assert "seq" not in reply, reply  # an event of alice's upload
