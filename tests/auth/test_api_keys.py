"""API keys: `X-API-Key` names its owner; keys come from a file (`KEY OWNER [admin]`) or TUSD_PY_API_KEYS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.auth.conftest import MakeApp, Users, key_header
from tests.http.tus_client import TusClient, assert_error, tus_headers
from tusd_py import Settings, create_app


async def test_a_request_without_credentials_gets_401_with_a_json_error(users: Users) -> None:
    response = await users.stranger.create(5)

    body = assert_error(response, 401)
    assert body["error_code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == "ApiKey"
    assert users.stranger.stored_files() == []


async def test_an_unknown_key_gets_401(users: Users) -> None:
    response = await users.stranger.create(5, headers={"X-API-Key": "guessed-key"})

    body = assert_error(response, 401)
    assert body["error_message"] == "unknown API key"
    assert users.stranger.stored_files() == []


async def test_a_key_from_the_file_names_the_owner_of_what_it_creates(users: Users) -> None:
    url = await users.alice.new_upload(5)

    assert users.alice.stored_info(url)["TusdPy"]["owner"] == "alice"


async def test_a_key_followed_by_a_comment_in_the_file_is_still_a_key(users: Users) -> None:
    url = await users.bob.new_upload(5)

    assert users.bob.stored_info(url)["TusdPy"]["owner"] == "bob"


async def test_a_key_marked_admin_in_the_file_may_read_others_uploads(users: Users) -> None:
    url = await users.alice.new_upload(5)

    assert (await users.root.head(url)).status_code == 200


async def test_keys_from_the_environment_name_their_owners(
    upload_dir: Path, client_of: Callable[..., TusClient]
) -> None:
    environ = {"TUSD_PY_AUTH": "api-key", "TUSD_PY_API_KEYS": "carol-key:carol, dave-key:dave:admin"}
    app = create_app(Settings.from_env(environ, upload_dir=upload_dir))
    carol = client_of(app, {"X-API-Key": "carol-key"})
    dave = client_of(app, {"X-API-Key": "dave-key"})

    url = await carol.new_upload(5)

    assert carol.stored_info(url)["TusdPy"]["owner"] == "carol"
    assert (await dave.head(url)).status_code == 200  # dave is an admin
    await app.state.background.stop()


async def test_keys_from_the_file_and_the_environment_are_both_accepted(
    make_app: MakeApp, keys_file: Path, client_of: Callable[..., TusClient]
) -> None:
    app = make_app(auth="api-key", api_keys_file=keys_file, api_keys="carol-key:carol")

    assert (await client_of(app, key_header("alice")).create(5)).status_code == 201
    assert (await client_of(app, {"X-API-Key": "carol-key"}).create(5)).status_code == 201


@pytest.mark.parametrize(
    "line", ["only-a-key", "key owner superuser", "key owner admin extra"], ids=["no-owner", "bad-role", "extra-word"]
)
def test_a_malformed_keys_file_is_refused_when_the_app_is_made(tmp_path: Path, line: str) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# keys\ngood-key alice\n{line}\n")

    with pytest.raises(ValueError, match="line 3"):
        create_app(Settings(upload_dir=tmp_path / "uploads", auth="api-key", api_keys_file=path))


def test_api_key_auth_without_any_key_is_refused_when_the_app_is_made(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs keys"):
        create_app(Settings(upload_dir=tmp_path / "uploads", auth="api-key"))


async def test_the_key_may_come_as_a_token_query_parameter_on_a_get(users: Users) -> None:
    url = await users.alice.new_upload(5)

    response = await users.stranger.http.get(url + "/progress?token=alice-key")

    assert response.status_code == 200
    assert response.json()["id"] == url.rsplit("/", 1)[1]


@pytest.mark.parametrize("method", ["POST", "HEAD", "PATCH", "DELETE"])
async def test_a_token_query_parameter_does_not_authenticate_other_methods(users: Users, method: str) -> None:
    url = await users.alice.new_upload(5)
    target = users.alice.endpoint if method == "POST" else url

    response = await users.stranger.http.request(
        method, target + "?token=alice-key", headers=tus_headers(upload_length=5, upload_offset=0)
    )

    assert_error(response, 401)


async def test_a_token_query_parameter_does_not_survive_a_method_override_to_delete(users: Users) -> None:
    url = await users.alice.new_upload(5)

    response = await users.stranger.http.get(
        url + "?token=alice-key", headers={**tus_headers(), "X-HTTP-Method-Override": "DELETE"}
    )

    assert_error(response, 401)
    assert (await users.alice.head(url)).status_code == 200
