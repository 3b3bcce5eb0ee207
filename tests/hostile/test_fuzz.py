"""A seeded fuzz run of the HTTP surface: methods × paths × header sets × bodies, a few thousand requests in-process.

Each run is recorded once; each test below checks one property over every request of the run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.hostile.hostile_requests import RandomChooser, draw_request
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
from tests.hostile.world import World

SEED = 20240601
REQUESTS = 1500  # per run, one run with auth off and one with it on
TIME_BUDGET = 8.0  # seconds per run: a slow machine sends fewer requests rather than overrun
AT_LEAST = 300  # …but never so few that the run proves little


@dataclass
class FuzzRun:
    world: World
    exchanges: list[Exchange] = field(default_factory=list)
    outside_before: dict[str, bytes | None] = field(default_factory=dict)
    outside_after: dict[str, bytes | None] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)

    def problems(self, check: Callable[[Exchange], str | None]) -> list[str]:
        found = [(problem, str(sent)) for sent in self.exchanges if (problem := check(sent)) is not None]
        return [f"{problem}\n    {request}" for problem, request in found[:5]] + (
            [f"… and {len(found) - 5} more"] if len(found) > 5 else []
        )


async def fuzz(root: Path, *, auth: bool) -> FuzzRun:
    world = await World.build(root, auth=auth)
    run = FuzzRun(world, outside_before=world.outside())
    chooser = RandomChooser(SEED + auth)
    deadline = time.monotonic() + TIME_BUDGET
    try:
        while len(run.exchanges) < REQUESTS and time.monotonic() < deadline:
            await world.ensure()
            run.exchanges.append(await exchange(world, draw_request(chooser, world)))
    finally:
        await world.close()
    run.outside_after, run.strays = world.outside(), world.strays()
    return run


class Runs:
    """Each fuzz run (auth off, auth on) made once for the whole module, when first asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._done: dict[bool, FuzzRun] = {}

    def of(self, *, auth: bool) -> FuzzRun:
        if auth not in self._done:
            self._done[auth] = asyncio.run(fuzz(self.root / ("auth-on" if auth else "auth-off"), auth=auth))
        return self._done[auth]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(params=[False, True], ids=["auth-off", "auth-on"])
def run(request: pytest.FixtureRequest, runs: Runs) -> FuzzRun:
    return runs.of(auth=request.param)


@pytest.fixture
def authed_run(runs: Runs) -> FuzzRun:
    return runs.of(auth=True)


def test_the_run_reaches_deep_into_the_app_within_its_time_budget(run: FuzzRun) -> None:
    assert len(run.exchanges) >= AT_LEAST
    statuses = {sent.reply.status for sent in run.exchanges}
    assert {201, 204, 400, 404} <= statuses  # it reached far into the app, not only its front door


def test_no_request_got_a_server_error(run: FuzzRun) -> None:
    problems = run.problems(server_error)

    assert not problems, "\n".join(problems)


def test_no_answer_carried_traceback_text(run: FuzzRun) -> None:
    problems = run.problems(traceback)

    assert not problems, "\n".join(problems)


def test_every_error_carried_tus_resumable_and_a_json_error_body(run: FuzzRun) -> None:
    problems = run.problems(broken_error_contract)

    assert not problems, "\n".join(problems)


def test_no_file_was_written_outside_the_upload_directory(run: FuzzRun) -> None:
    assert run.outside_after == run.outside_before
    assert run.strays == []


def test_no_refused_request_changed_its_upload(run: FuzzRun) -> None:
    problems = run.problems(refusal_changed_upload)

    assert not problems, "\n".join(problems)


def test_without_valid_credentials_only_discovery_and_health_answered(authed_run: FuzzRun) -> None:
    problems = authed_run.problems(answered_without_credentials)

    assert not problems, "\n".join(problems)


def test_no_user_reached_or_saw_anothers_uploads(authed_run: FuzzRun) -> None:
    problems = authed_run.problems(lambda sent: reached_anothers_upload(authed_run.world, sent))

    assert not problems, "\n".join(problems)
