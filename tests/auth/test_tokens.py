"""Access and refresh tokens (§2.2): what is accepted, what every kind of forgery gets,
refresh rotation with reuse detection, logout, and deactivated users."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from crm.core.config import Settings
from crm.core.db import Database
from crm.models import AuthSession, User

INVALID_TOKEN = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _orgs(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/org/", headers=_bearer(token))


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh-token/", json={"refresh": token})


def _assert_401(response: httpx.Response, body: dict[str, str] = INVALID_TOKEN) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == body


async def _login(client: httpx.AsyncClient, member: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login/", json={"email": member.email, "password": member.password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- access tokens --------------------------------------------------------------------------


async def test_access_token_works(client: httpx.AsyncClient, factory: Any) -> None:
    member = await factory.user()
    response = await _orgs(client, member.access)
    assert response.status_code == 200
    assert response.json() == {"error": False, "status": 200, "profile_org_list": []}


async def test_token_claims(client: httpx.AsyncClient, factory: Any, settings: Settings) -> None:
    member = await factory.user()
    access, refresh = _claims(member.access), _claims(member.refresh)
    assert jwt.get_unverified_header(member.access)["alg"] == "HS256"
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    assert access["user_id"] == refresh["user_id"] == member.user_id
    assert access["sid"] == refresh["sid"]
    assert "org_id" not in access  # the org comes from the header on each request
    now = time.time()
    assert now + 60 * settings.access_token_minutes - 120 <= access["exp"]
    assert access["exp"] <= now + 60 * settings.access_token_minutes + 5
    assert refresh["exp"] >= now + 86400 * settings.refresh_token_days - 120
    # Signed with the server secret.
    jwt.decode(member.access, settings.resolved_secret_key(), algorithms=["HS256"])


async def test_no_authorization_header_is_401(client: httpx.AsyncClient) -> None:
    _assert_401(await client.get("/api/org/"), NOT_AUTHENTICATED)


async def test_non_bearer_scheme_is_401(client: httpx.AsyncClient, factory: Any) -> None:
    member = await factory.user()
    response = await client.get("/api/org/", headers={"Authorization": f"Basic {member.access}"})
    _assert_401(response, NOT_AUTHENTICATED)
    response = await client.get("/api/org/", headers={"Authorization": member.access})
    _assert_401(response, NOT_AUTHENTICATED)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "Bearer", "x" * 5000, "..", "a.b."])
async def test_garbage_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    _assert_401(await _orgs(client, token))


async def test_non_ascii_token_is_401(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer \xe9.\xe9.\xe9".encode("latin-1")}
    _assert_401(await client.get("/api/org/", headers=headers))


async def test_alg_none_token_is_401(client: httpx.AsyncClient, factory: Any) -> None:
    member = await factory.user()
    claims = _claims(member.access)
    for alg in ("none", "None", "NONE"):
        forged = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."
        _assert_401(await _orgs(client, forged))
    # The genuine token with the same claims is accepted, so the forgery is what fails.
    assert (await _orgs(client, member.access)).status_code == 200


async def test_token_signed_with_wrong_secret_is_401(
    client: httpx.AsyncClient, factory: Any
) -> None:
    member = await factory.user()
    forged = jwt.encode(_claims(member.access), "not-the-server-secret-" + "z" * 40, "HS256")
    _assert_401(await _orgs(client, forged))


@pytest.mark.filterwarnings("ignore:The HMAC key")
async def test_token_with_other_hmac_algorithm_is_401(
    client: httpx.AsyncClient, factory: Any, settings: Settings
) -> None:
    """HS256 is pinned: the right secret with HS512 is still refused."""
    member = await factory.user()
    forged = jwt.encode(_claims(member.access), settings.resolved_secret_key(), "HS512")
    _assert_401(await _orgs(client, forged))


async def test_expired_access_token_is_401(
    client: httpx.AsyncClient, factory: Any, settings: Settings
) -> None:
    member = await factory.user()
    claims = _claims(member.access)
    secret = settings.resolved_secret_key()
    now = int(time.time())
    expired = jwt.encode({**claims, "iat": now - 3600, "exp": now - 60}, secret, "HS256")
    _assert_401(await _orgs(client, expired))
    # Control: the same claims re-signed with a future expiry are accepted.
    fresh = jwt.encode({**claims, "iat": now, "exp": now + 600}, secret, "HS256")
    assert (await _orgs(client, fresh)).status_code == 200


async def test_an_accepted_token_is_refused_once_it_expires(
    client: httpx.AsyncClient, factory: Any, settings: Settings
) -> None:
    """The server keeps tokens it has verified (crm.core.security); that must not outlive
    their expiry."""
    member = await factory.user()
    secret = settings.resolved_secret_key()
    now = int(time.time())
    short = jwt.encode({**_claims(member.access), "iat": now, "exp": now + 2}, secret, "HS256")
    assert (await _orgs(client, short)).status_code == 200
    assert (await _orgs(client, short)).status_code == 200
    await asyncio.sleep(max(0.0, now + 2.2 - time.time()))
    _assert_401(await _orgs(client, short))


@pytest.mark.parametrize("missing", ["exp", "iat", "jti", "token_type", "user_id", "sid"])
async def test_token_missing_a_claim_is_401(
    client: httpx.AsyncClient, factory: Any, settings: Settings, missing: str
) -> None:
    member = await factory.user()
    claims = _claims(member.access)
    del claims[missing]
    forged = jwt.encode(claims, settings.resolved_secret_key(), "HS256")
    _assert_401(await _orgs(client, forged))


async def test_token_for_another_user_in_the_session_is_401(
    client: httpx.AsyncClient, factory: Any, settings: Settings
) -> None:
    """Even with the secret, a session id only works for the user it belongs to."""
    alice, bob = await factory.user(), await factory.user()
    claims = {**_claims(alice.access), "user_id": bob.user_id, "sub": bob.user_id}
    forged = jwt.encode(claims, settings.resolved_secret_key(), "HS256")
    _assert_401(await _orgs(client, forged))
    unknown_session = {**_claims(alice.access), "sid": str(uuid.uuid4())}
    forged = jwt.encode(unknown_session, settings.resolved_secret_key(), "HS256")
    _assert_401(await _orgs(client, forged))


async def test_refresh_token_as_access_token_is_401(
    client: httpx.AsyncClient, factory: Any
) -> None:
    member = await factory.user()
    _assert_401(await _orgs(client, member.refresh))


async def test_access_token_as_refresh_token_is_401(
    client: httpx.AsyncClient, factory: Any
) -> None:
    member = await factory.user()
    _assert_401(await _refresh(client, member.access))
    # The failed attempt did not hurt the session.
    assert (await _refresh(client, member.refresh)).status_code == 200


@pytest.mark.parametrize("token", ["garbage", ""])
async def test_refresh_with_garbage_is_rejected(client: httpx.AsyncClient, token: str) -> None:
    response = await _refresh(client, token)
    if token:
        _assert_401(response)
    else:
        assert response.status_code == 400
        assert "refresh" in response.json()["errors"]


async def test_forged_refresh_token_is_401(
    client: httpx.AsyncClient, factory: Any, settings: Settings
) -> None:
    member = await factory.user()
    claims = _claims(member.refresh)
    _assert_401(await _refresh(client, jwt.encode(claims, "wrong-secret-" + "w" * 40, "HS256")))
    _assert_401(await _refresh(client, f"{_b64({'alg': 'none'})}.{_b64(claims)}."))
    now = int(time.time())
    expired = jwt.encode(
        {**claims, "iat": now - 7200, "exp": now - 60}, settings.resolved_secret_key(), "HS256"
    )
    _assert_401(await _refresh(client, expired))
    # None of that spent or revoked the real refresh token.
    assert (await _refresh(client, member.refresh)).status_code == 200


# -- refresh rotation -----------------------------------------------------------------------


async def test_refresh_rotates_both_tokens(client: httpx.AsyncClient, factory: Any) -> None:
    member = await factory.user()
    response = await _refresh(client, member.refresh)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["access"] != member.access
    assert body["refresh"] != member.refresh
    new_access, new_refresh = _claims(body["access"]), _claims(body["refresh"])
    assert new_access["token_type"] == "access"
    assert new_refresh["token_type"] == "refresh"
    assert new_access["sid"] == new_refresh["sid"] == _claims(member.refresh)["sid"]
    assert (await _orgs(client, body["access"])).status_code == 200
    # The new refresh token works, and rotates again.
    again = await _refresh(client, body["refresh"])
    assert again.status_code == 200
    assert again.json()["refresh"] not in (body["refresh"], member.refresh)
    # Access tokens minted earlier in the same live session keep working.
    assert (await _orgs(client, member.access)).status_code == 200


async def test_reused_refresh_token_revokes_the_session(
    client: httpx.AsyncClient, factory: Any
) -> None:
    member = await factory.user()
    other_session = await _login(client, member)
    first = (await _refresh(client, member.refresh)).json()
    second = (await _refresh(client, first["refresh"])).json()

    # The first refresh token comes back: a replay.
    _assert_401(await _refresh(client, member.refresh))

    # The whole family is dead: newest refresh and every access token of the session.
    _assert_401(await _refresh(client, second["refresh"]))
    for access in (member.access, first["access"], second["access"]):
        _assert_401(await _orgs(client, access))
    # The user's other login is a different session and keeps working.
    assert (await _orgs(client, other_session["access"])).status_code == 200
    assert (await _refresh(client, other_session["refresh"])).status_code == 200


async def test_reuse_revocation_persists_across_requests(
    client: httpx.AsyncClient, factory: Any, test_database: Database
) -> None:
    """The reuse request fails (401) but its revocation must be committed, not rolled back."""
    member = await factory.user()
    rotated = (await _refresh(client, member.refresh)).json()
    _assert_401(await _refresh(client, member.refresh))
    sid = uuid.UUID(_claims(member.refresh)["sid"])
    async with test_database.sessionmaker() as session:
        stored = await session.get(AuthSession, sid)
        assert stored is not None
        assert stored.revoked_at is not None
        assert stored.revoked_reason == "refresh_reuse"
    _assert_401(await _refresh(client, rotated["refresh"]))


# -- logout ---------------------------------------------------------------------------------


async def test_logout_ends_the_session(client: httpx.AsyncClient, factory: Any) -> None:
    member = await factory.user()
    second = await _login(client, member)

    response = await client.post("/api/auth/logout/", headers=member.bearer)
    assert response.status_code == 204
    assert response.content == b""

    _assert_401(await _orgs(client, member.access))
    _assert_401(await _refresh(client, member.refresh))
    # Logging out again with the dead token is a 401 too.
    _assert_401(await client.post("/api/auth/logout/", headers=member.bearer))
    # The other session of the same user is untouched.
    assert (await _orgs(client, second["access"])).status_code == 200
    rotated = await _refresh(client, second["refresh"])
    assert rotated.status_code == 200
    assert (await _orgs(client, rotated.json()["access"])).status_code == 200


async def test_logout_kills_access_tokens_minted_by_refresh(
    client: httpx.AsyncClient, factory: Any
) -> None:
    member = await factory.user()
    rotated = (await _refresh(client, member.refresh)).json()
    response = await client.post("/api/auth/logout/", headers=_bearer(rotated["access"]))
    assert response.status_code == 204
    _assert_401(await _orgs(client, member.access))
    _assert_401(await _refresh(client, rotated["refresh"]))


async def test_logout_with_refresh_body_ends_that_session_too(
    client: httpx.AsyncClient, factory: Any
) -> None:
    member = await factory.user()
    second = await _login(client, member)
    third = await _login(client, member)
    response = await client.post(
        "/api/auth/logout/", headers=member.bearer, json={"refresh": second["refresh"]}
    )
    assert response.status_code == 204
    _assert_401(await _orgs(client, member.access))
    _assert_401(await _orgs(client, second["access"]))
    _assert_401(await _refresh(client, second["refresh"]))
    assert (await _orgs(client, third["access"])).status_code == 200


async def test_logout_requires_authentication(client: httpx.AsyncClient, factory: Any) -> None:
    member = await factory.user()
    _assert_401(await client.post("/api/auth/logout/"), NOT_AUTHENTICATED)
    _assert_401(await client.post("/api/auth/logout/", headers=_bearer(member.refresh)))
    # Nothing was revoked.
    assert (await _orgs(client, member.access)).status_code == 200


# -- deactivated users ----------------------------------------------------------------------


async def test_deactivated_user_is_401(
    client: httpx.AsyncClient, factory: Any, test_database: Database
) -> None:
    member = await factory.user()
    assert (await _orgs(client, member.access)).status_code == 200
    async with test_database.sessionmaker() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(member.user_id)).values(is_active=False)
        )
        await session.commit()
    _assert_401(await _orgs(client, member.access))
    _assert_401(await _refresh(client, member.refresh))
    login = await client.post(
        "/api/auth/login/", json={"email": member.email, "password": member.password}
    )
    assert login.status_code == 400
