"""POST /api/auth/google/ (§2.2) against a fake Google."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from crm.auth.google import GoogleIdentity
from crm.core.db import Database
from crm.models import User

GOOGLE_KEYS = {"access", "refresh", "user", "access_token", "refresh_token", "user_id", "username"}
BAD_GOOGLE_TOKEN = {
    "error": True,
    "errors": "wrong google token / this google token is already expired.",
    "code": "google_token_invalid",
}


def _email() -> str:
    return f"g-{uuid.uuid4().hex[:10]}@example.com"


async def _google(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/google/", json={"token": token})


def _identity(email: str, **extra: Any) -> GoogleIdentity:
    return GoogleIdentity(email=email, email_verified=extra.pop("email_verified", True), **extra)


async def test_unknown_google_token_is_400(client: httpx.AsyncClient) -> None:
    response = await _google(client, "not-a-token-google-knows")
    assert response.status_code == 400
    assert response.json() == BAD_GOOGLE_TOKEN


async def test_unverified_email_is_400(client: httpx.AsyncClient, google: Any) -> None:
    email = _email()
    google.add("unverified", _identity(email, email_verified=False))
    response = await _google(client, "unverified")
    assert response.status_code == 400
    assert response.json() == BAD_GOOGLE_TOKEN
    # No user was created: the e-mail can still be registered.
    register = await client.post(
        "/api/auth/register/", json={"email": email, "password": "long enough password"}
    )
    assert register.status_code == 201


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 5}, {"access_token": "x"}])
async def test_missing_or_invalid_token_field_is_400(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/auth/google/", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] is True
    assert "token" in payload["errors"]


async def test_first_login_creates_the_user(client: httpx.AsyncClient, google: Any) -> None:
    local = f"Grace-{uuid.uuid4().hex[:6]}"
    google.add(
        "tok-1",
        _identity(
            f"{local}@Example.com",
            first_name="Grace",
            last_name="Hopper",
            picture="https://example.com/grace.png",
        ),
    )
    response = await _google(client, "tok-1")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= GOOGLE_KEYS
    email = f"{local.lower()}@example.com"
    user = body["user"]
    assert user["email"] == email
    assert user["first_name"] == "Grace"
    assert user["last_name"] == "Hopper"
    assert user["profile_pic"] == "https://example.com/grace.png"
    uuid.UUID(user["id"])
    # Both key sets describe the same login.
    assert body["access_token"] == body["access"]
    assert body["refresh_token"] == body["refresh"]
    assert body["user_id"] == user["id"]
    assert body["username"] == email
    assert body["access"] != body["refresh"]


async def test_second_login_reuses_the_user(client: httpx.AsyncClient, google: Any) -> None:
    email = _email()
    google.add("tok-a", _identity(email))
    google.add("tok-b", _identity(email.upper(), first_name="Changed"))
    first = (await _google(client, "tok-a")).json()
    response = await _google(client, "tok-b")
    assert response.status_code == 200
    second = response.json()
    assert second["user_id"] == first["user_id"]
    assert second["user"]["id"] == first["user"]["id"]
    assert second["username"] == email
    # A second login is a second session.
    assert second["access"] != first["access"]
    assert second["refresh"] != first["refresh"]
    # The same Google token may be used again while Google accepts it.
    again = await _google(client, "tok-a")
    assert again.status_code == 200
    assert again.json()["user_id"] == first["user_id"]


async def test_google_login_joins_password_account(
    client: httpx.AsyncClient, factory: Any, google: Any
) -> None:
    member = await factory.user()
    google.add("tok", _identity(member.email.upper()))
    response = await _google(client, "tok")
    assert response.status_code == 200
    assert response.json()["user_id"] == member.user_id
    # The password keeps working after the Google login.
    login = await client.post(
        "/api/auth/login/", json={"email": member.email, "password": member.password}
    )
    assert login.status_code == 200
    assert login.json()["user"]["id"] == member.user_id


async def test_google_user_has_no_password_login(client: httpx.AsyncClient, google: Any) -> None:
    email = _email()
    google.add("tok", _identity(email))
    assert (await _google(client, "tok")).status_code == 200
    for password in ("x", "None", "!"):
        login = await client.post("/api/auth/login/", json={"email": email, "password": password})
        assert login.status_code == 400
        assert login.json() == {
            "error": True,
            "errors": "Invalid email or password",
            "code": "invalid_credentials",
        }
    # Registering the same e-mail with a password is refused (it exists).
    register = await client.post(
        "/api/auth/register/", json={"email": email, "password": "long enough password"}
    )
    assert register.status_code == 400
    assert register.json()["code"] == "email_taken"


async def test_google_access_token_works(client: httpx.AsyncClient, google: Any) -> None:
    google.add("tok", _identity(_email()))
    body = (await _google(client, "tok")).json()
    for key in ("access", "access_token"):
        response = await client.get("/api/org/", headers={"Authorization": f"Bearer {body[key]}"})
        assert response.status_code == 200
        assert response.json()["profile_org_list"] == []
    refreshed = await client.post("/api/auth/refresh-token/", json={"refresh": body["refresh"]})
    assert refreshed.status_code == 200


async def test_google_user_can_create_an_org(client: httpx.AsyncClient, google: Any) -> None:
    google.add("tok", _identity(_email()))
    body = (await _google(client, "tok")).json()
    headers = {"Authorization": f"Bearer {body['access']}"}
    name = f"GOrg{uuid.uuid4().hex[:8]}"
    created = await client.post("/api/org/", json={"name": name}, headers=headers)
    assert created.status_code == 201
    orgs = (await client.get("/api/org/", headers=headers)).json()["profile_org_list"]
    assert [o["org"]["name"] for o in orgs] == [name]


async def test_disabled_user_cannot_log_in_with_google(
    client: httpx.AsyncClient, google: Any, test_database: Database
) -> None:
    email = _email()
    google.add("tok", _identity(email))
    assert (await _google(client, "tok")).status_code == 200
    async with test_database.sessionmaker() as session:
        await session.execute(update(User).where(User.email == email).values(is_active=False))
        await session.commit()
    response = await _google(client, "tok")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "google_token_invalid"
