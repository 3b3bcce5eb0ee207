"""tusd_py inside a FastAPI application whose users sign in the app's own way: the app's dependency names the owner.

The app already has `current_user`, the dependency its own routes use. tusd_py takes the same function as its
custom authenticator, so each upload belongs to the user the app recognises, and a user sees only their uploads.

Run it with:  uvicorn examples.embed_fastapi_auth:app --port 8000
Then:         curl -H 'Authorization: Bearer alice-token' http://127.0.0.1:8000/me
Any tus client uploads to http://127.0.0.1:8000/uploads/files/ with that Authorization header. Uploads are
stored in $TUSD_PY_UPLOAD_DIR (./data/uploads unless set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from starlette.requests import HTTPConnection

from tusd_py import Settings, create_app
from tusd_py.auth import Principal


@dataclass(frozen=True)
class User:
    name: str
    is_admin: bool = False


# The app's own user store; a real one would look tokens up in its database or verify them.
USERS_BY_TOKEN = {"alice-token": User("alice"), "bob-token": User("bob"), "ops-token": User("ops", is_admin=True)}


def user_of(connection: HTTPConnection) -> User | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        token = connection.query_params.get("token", "")  # browsers cannot set headers on EventSource/WebSocket
    return USERS_BY_TOKEN.get(token.strip())


async def current_user(connection: HTTPConnection) -> User:
    """The app's dependency: FastAPI passes the request (or WebSocket); 401 unless a known user sent it."""
    user = user_of(connection)
    if user is None:
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    return user


async def upload_owner(connection: HTTPConnection) -> Principal | None:
    """tusd_py's custom authenticator, answering from the same dependency (None: tusd_py answers its own 401)."""
    try:
        user = await current_user(connection)
    except HTTPException:
        return None
    return Principal(user.name, admin=user.is_admin)


tus_app = create_app(Settings.from_env(), authenticator=upload_owner)

app = FastAPI(title="tusd_py inside FastAPI, owners from the app's own sign-in")


@app.get("/me")
async def me(user: Annotated[User, Depends(current_user)]) -> dict[str, str]:
    return {"user": user.name, "upload_endpoint": "/uploads/files/"}


app.mount("/uploads", tus_app, name="uploads")
