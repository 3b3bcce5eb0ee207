"""JWT bearer tokens: HS256 (--jwt-secret) or RS256 (--jwt-public-key); `sub` is the owner, `roles` may say admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from starlette.applications import Starlette

from tests.auth.conftest import MakeApp
from tests.auth.tokens import SECRET, RsaKeys, bearer, hs256, hs256_signed_with, unsigned
from tests.http.tus_client import TusClient, assert_error

INVALID_TOKEN = 'Bearer error="invalid_token"'


@pytest.fixture
def hs_app(make_app: MakeApp) -> Starlette:
    return make_app(auth="jwt", jwt_secret=SECRET)


@pytest.fixture(scope="module")
def rsa_keys() -> RsaKeys:
    return RsaKeys()


@pytest.fixture
def rs_app(make_app: MakeApp, rsa_keys: RsaKeys, tmp_path: Path) -> Starlette:
    return make_app(auth="jwt", jwt_public_key=rsa_keys.write_public(tmp_path / "public.pem"))


Client = Callable[..., TusClient]


async def test_an_hs256_token_is_accepted_and_its_sub_owns_the_upload(hs_app: Starlette, client_of: Client) -> None:
    alice = client_of(hs_app, bearer(hs256("alice")))

    url = await alice.new_upload(5)

    assert alice.stored_info(url)["TusdPy"]["owner"] == "alice"


async def test_an_rs256_token_is_accepted_and_its_sub_owns_the_upload(
    rs_app: Starlette, rsa_keys: RsaKeys, client_of: Client
) -> None:
    alice = client_of(rs_app, bearer(rsa_keys.rs256("alice")))

    url = await alice.new_upload(5)

    assert alice.stored_info(url)["TusdPy"]["owner"] == "alice"


async def test_a_request_without_a_token_gets_401_asking_for_a_bearer_token(
    hs_app: Starlette, client_of: Client
) -> None:
    response = await client_of(hs_app).create(5)

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_an_expired_token_is_refused(hs_app: Starlette, client_of: Client) -> None:
    response = await client_of(hs_app, bearer(hs256("alice", expires_in=-60))).create(5)

    body = assert_error(response, 401)
    assert body["error_message"] == "the token has expired"
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


async def test_a_token_signed_with_another_secret_is_refused(hs_app: Starlette, client_of: Client) -> None:
    forged = hs256("alice", secret="another-secret-of-at-least-thirty-two-bytes")

    response = await client_of(hs_app, bearer(forged)).create(5)

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == INVALID_TOKEN


async def test_a_token_signed_by_another_rsa_key_is_refused(rs_app: Starlette, client_of: Client) -> None:
    response = await client_of(rs_app, bearer(RsaKeys().rs256("alice"))).create(5)

    assert_error(response, 401)


async def test_a_token_whose_payload_was_altered_is_refused(hs_app: Starlette, client_of: Client) -> None:
    header, _, signature = hs256("alice").split(".")
    _, payload, _ = hs256("root", roles=["admin"]).split(".")

    response = await client_of(hs_app, bearer(f"{header}.{payload}.{signature}")).create(5)

    assert_error(response, 401)


@pytest.fixture(params=["HS256", "RS256"])
def either_app(request: pytest.FixtureRequest, make_app: MakeApp, rsa_keys: RsaKeys, tmp_path: Path) -> Starlette:
    if request.param == "HS256":
        return make_app(auth="jwt", jwt_secret=SECRET)
    return make_app(auth="jwt", jwt_public_key=rsa_keys.write_public(tmp_path / "public.pem"))


async def test_an_unsigned_alg_none_token_is_refused(either_app: Starlette, client_of: Client) -> None:
    response = await client_of(either_app, bearer(unsigned("alice"))).create(5)

    assert_error(response, 401)


async def test_an_hs256_token_keyed_with_the_rsa_public_key_is_refused(
    rs_app: Starlette, rsa_keys: RsaKeys, client_of: Client
) -> None:
    response = await client_of(rs_app, bearer(hs256_signed_with(rsa_keys.public_pem, "alice"))).create(5)

    assert_error(response, 401)


async def test_a_token_without_sub_is_refused(hs_app: Starlette, client_of: Client) -> None:
    response = await client_of(hs_app, bearer(hs256(None))).create(5)

    assert_error(response, 401)


async def test_a_token_without_exp_is_refused(hs_app: Starlette, client_of: Client) -> None:
    never_expiring = jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")

    response = await client_of(hs_app, bearer(never_expiring)).create(5)

    body = assert_error(response, 401)
    assert "exp" in body["error_message"]


async def test_a_token_without_exp_is_accepted_when_jwt_require_exp_is_off(
    make_app: MakeApp, client_of: Client
) -> None:
    app = make_app(auth="jwt", jwt_secret=SECRET, jwt_require_exp=False)
    never_expiring = jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")

    response = await client_of(app, bearer(never_expiring)).create(5)

    assert response.status_code == 201


async def test_a_token_that_is_not_a_jwt_is_refused(hs_app: Starlette, client_of: Client) -> None:
    response = await client_of(hs_app, bearer("not.a.jwt")).create(5)

    assert_error(response, 401)


async def test_an_authorization_header_that_is_not_bearer_counts_as_no_credentials(
    hs_app: Starlette, client_of: Client
) -> None:
    response = await client_of(hs_app, {"Authorization": "Basic YWxpY2U6cGFzcw=="}).create(5)

    body = assert_error(response, 401)
    assert body["error_message"] == "credentials are required"


async def test_the_admin_role_lets_a_token_read_others_uploads(hs_app: Starlette, client_of: Client) -> None:
    url = await client_of(hs_app, bearer(hs256("alice"))).new_upload(5)

    admin = client_of(hs_app, bearer(hs256("root", roles=["uploader", "admin"])))
    other = client_of(hs_app, bearer(hs256("bob", roles=["uploader"])))

    assert (await admin.head(url)).status_code == 200
    assert_error(await other.head(url), 403)


async def test_with_an_audience_configured_a_token_for_that_audience_is_accepted(
    make_app: MakeApp, client_of: Client
) -> None:
    app = make_app(auth="jwt", jwt_secret=SECRET, jwt_audience="uploads")

    assert (await client_of(app, bearer(hs256("alice", aud="uploads"))).create(5)).status_code == 201


@pytest.mark.parametrize("audience", [None, "billing"], ids=["no-aud", "other-aud"])
async def test_with_an_audience_configured_a_token_for_no_or_another_audience_is_refused(
    make_app: MakeApp, client_of: Client, audience: str | None
) -> None:
    app = make_app(auth="jwt", jwt_secret=SECRET, jwt_audience="uploads")
    token = hs256("alice", aud=audience) if audience else hs256("alice")

    assert_error(await client_of(app, bearer(token)).create(5), 401)


async def test_the_token_may_come_as_a_query_parameter_on_a_get(hs_app: Starlette, client_of: Client) -> None:
    await client_of(hs_app, bearer(hs256("alice"))).new_upload(5)

    response = await client_of(hs_app).http.get("/files/?token=" + hs256("alice"))

    assert response.status_code == 200
    assert response.json()["total"] == 1


def test_jwt_auth_needs_exactly_one_of_a_secret_and_a_public_key(make_app: MakeApp) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        make_app(auth="jwt")
