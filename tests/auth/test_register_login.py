"""POST /api/auth/register/ and /api/auth/login/ (§2.3), and login throttling."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from crm.app import create_app
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.ratelimit import MemoryCounter
from crm.models import User

PASSWORD = "correct horse battery"
USER_KEYS = {"id", "email", "first_name", "last_name"}
INVALID_CREDENTIALS = {
    "error": True,
    "errors": "Invalid email or password",
    "code": "invalid_credentials",
}


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def _assert_token_pair(body: dict[str, Any]) -> None:
    assert {"access", "refresh", "user"} <= body.keys()
    assert isinstance(body["access"], str)
    assert body["access"].count(".") == 2
    assert isinstance(body["refresh"], str)
    assert body["refresh"].count(".") == 2
    assert body["access"] != body["refresh"]
    assert body["user"].keys() >= USER_KEYS
    uuid.UUID(body["user"]["id"])


async def _register(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Any:
    response = await client.post("/api/auth/register/", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login/", json={"email": email, "password": password})


@pytest.fixture
def make_app(settings: Settings, test_database: Database, google: Any) -> Any:
    """An app of its own with changed settings (and a fresh failure counter)."""

    def build(**changes: Any) -> Any:
        return create_app(
            settings.model_copy(update=changes),
            database=test_database,
            google_verifier=google,
            counter=MemoryCounter(),
        )

    return build


def _http(app: Any, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url="http://testserver"
    )


# -- register -------------------------------------------------------------------------------


async def test_register_returns_tokens_and_user(client: httpx.AsyncClient) -> None:
    email = _email()
    response = await client.post(
        "/api/auth/register/",
        json={"email": email, "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"},
    )
    assert response.status_code == 201
    body = response.json()
    _assert_token_pair(body)
    assert body["user"]["email"] == email
    assert body["user"]["first_name"] == "Ada"
    assert body["user"]["last_name"] == "Lovelace"
    # The access token is immediately usable.
    orgs = await client.get("/api/org/", headers={"Authorization": f"Bearer {body['access']}"})
    assert orgs.status_code == 200


async def test_register_defaults_names_to_empty(client: httpx.AsyncClient) -> None:
    body = await _register(client, _email())
    assert body["user"]["first_name"] == ""
    assert body["user"]["last_name"] == ""


async def test_register_normalises_email_to_lowercase(client: httpx.AsyncClient) -> None:
    local = f"Mixed.Case-{uuid.uuid4().hex[:6]}"
    body = await _register(client, f"  {local}@Example.COM ")
    assert body["user"]["email"] == f"{local.lower()}@example.com"


async def test_register_duplicate_email_is_400(client: httpx.AsyncClient) -> None:
    email = _email()
    await _register(client, email)
    for again in (email, email.upper()):
        response = await client.post(
            "/api/auth/register/", json={"email": again, "password": "another password"}
        )
        assert response.status_code == 400
        body = response.json()
        assert body["error"] is True
        assert list(body["errors"]) == ["email"]
        assert isinstance(body["errors"]["email"], list)
        assert body["errors"]["email"]
        assert body["code"] == "email_taken"
    # The first account is untouched: its password still works.
    assert (await _login(client, email, PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "someone@example.com", "password": "short12"}, "password"),
        ({"email": "someone@example.com", "password": "x" * 129}, "password"),
        ({"email": "someone@example.com"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": ["a@example.com"], "password": PASSWORD}, "email"),
    ],
)
async def test_register_validation_errors(
    client: httpx.AsyncClient, payload: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/auth/register/", json=payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert isinstance(body["errors"][field], list)


async def test_register_short_password_creates_nothing(client: httpx.AsyncClient) -> None:
    email = _email()
    response = await client.post(
        "/api/auth/register/", json={"email": email, "password": "1234567"}
    )
    assert response.status_code == 400
    # Registering properly afterwards works, so no half-created user was left behind.
    await _register(client, email)


@pytest.mark.parametrize("path", ["/api/auth/register/", "/api/auth/login/"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(
        path, content=b'{"email": "a@example.com", ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "malformed_json"


@pytest.mark.parametrize(
    "path",
    ["/api/auth/register/", "/api/auth/login/", "/api/auth/refresh-token/", "/api/auth/google/"],
)
@pytest.mark.parametrize("content", [None, b""])
async def test_missing_body_is_400(
    client: httpx.AsyncClient, path: str, content: bytes | None
) -> None:
    headers = {"Content-Type": "application/json"} if content is not None else {}
    response = await client.post(path, content=content, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "invalid"
    assert isinstance(body["errors"], dict)
    assert body["errors"]


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"null", b"42"])
async def test_non_object_json_body_is_400(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post(
        "/api/auth/register/", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] is True


# -- login ----------------------------------------------------------------------------------


async def test_login_returns_tokens_and_user(client: httpx.AsyncClient) -> None:
    email = _email()
    registered = await _register(client, email)
    response = await _login(client, email, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    _assert_token_pair(body)
    assert body["user"] == registered["user"]
    # A new login is a new session: new tokens.
    assert body["access"] != registered["access"]
    assert body["refresh"] != registered["refresh"]
    orgs = await client.get("/api/org/", headers={"Authorization": f"Bearer {body['access']}"})
    assert orgs.status_code == 200


async def test_login_is_case_insensitive_on_email(client: httpx.AsyncClient) -> None:
    email = _email()
    registered = await _register(client, email)
    response = await _login(client, f" {email.upper()} ", PASSWORD)
    assert response.status_code == 200
    assert response.json()["user"]["id"] == registered["user"]["id"]


async def test_login_password_is_case_sensitive(client: httpx.AsyncClient) -> None:
    email = _email()
    await _register(client, email)
    response = await _login(client, email, PASSWORD.upper())
    assert response.status_code == 400
    assert response.json() == INVALID_CREDENTIALS


async def test_wrong_password_and_unknown_email_look_identical(client: httpx.AsyncClient) -> None:
    email = _email()
    await _register(client, email)
    wrong_password = await _login(client, email, "not the password")
    unknown_email = await _login(client, _email(), "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert wrong_password.json() == unknown_email.json() == INVALID_CREDENTIALS
    assert wrong_password.headers.get("content-type") == unknown_email.headers.get("content-type")


async def test_login_validation_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/login/", json={"email": "nope", "password": "x"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] is True
    assert "email" in body["errors"]
    response = await client.post("/api/auth/login/", json={"email": _email(), "password": ""})
    assert response.status_code == 400
    assert "password" in response.json()["errors"]


# -- throttling -----------------------------------------------------------------------------


async def _fail(client: httpx.AsyncClient, email: str, times: int) -> None:
    for _ in range(times):
        response = await _login(client, email, "wrong password")
        assert response.status_code == 400, response.text


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "rate_limited"
    assert isinstance(body["errors"], str)
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1


async def test_login_throttled_per_email(client: httpx.AsyncClient, settings: Settings) -> None:
    assert settings.login_max_failures_per_email == 5
    email = _email()
    await _register(client, email)
    await _fail(client, email, settings.login_max_failures_per_email)
    # Even the right password is refused now, and so is any spelling of the e-mail.
    right = await _login(client, email, PASSWORD)
    _assert_throttled(right)
    assert int(right.headers["Retry-After"]) <= settings.login_failure_window_seconds
    _assert_throttled(await _login(client, email.upper(), PASSWORD))
    _assert_throttled(await _login(client, email, "wrong password"))


async def test_failures_below_the_limit_do_not_throttle(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = _email()
    await _register(client, email)
    await _fail(client, email, settings.login_max_failures_per_email - 1)
    assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_unknown_email_is_throttled_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Throttling must not reveal which e-mails exist either."""
    email = _email()
    await _fail(client, email, settings.login_max_failures_per_email)
    _assert_throttled(await _login(client, email, "wrong password"))


async def test_throttle_is_per_email(client: httpx.AsyncClient, settings: Settings) -> None:
    locked, other = _email(), _email()
    await _register(client, locked)
    await _register(client, other)
    await _fail(client, locked, settings.login_max_failures_per_email)
    _assert_throttled(await _login(client, locked, PASSWORD))
    # Same client, another e-mail: not affected.
    assert (await _login(client, other, PASSWORD)).status_code == 200
    response = await _login(client, other, "wrong password")
    assert response.status_code == 400
    assert response.json() == INVALID_CREDENTIALS


async def test_successful_login_resets_email_counter(make_app: Any) -> None:
    async with _http(make_app(login_max_failures_per_email=2)) as client:
        email = _email()
        await _register(client, email)
        await _fail(client, email, 1)
        assert (await _login(client, email, PASSWORD)).status_code == 200
        # Without the reset this second failure would reach the limit of 2.
        await _fail(client, email, 1)
        assert (await _login(client, email, PASSWORD)).status_code == 200
        # The counter does count: two failures in a row lock the e-mail.
        await _fail(client, email, 2)
        _assert_throttled(await _login(client, email, PASSWORD))


async def test_login_throttled_per_ip(make_app: Any) -> None:
    """Failures spread over many e-mails from one address hit the per-IP limit."""
    app = make_app(login_max_failures_per_email=2, login_max_failures_per_ip=3)
    async with _http(app) as client, _http(app, "203.0.113.9") as elsewhere:
        victim = _email()
        await _register(client, victim)
        for _ in range(2):
            await _fail(client, _email(), 1)  # no single e-mail reaches its own limit
        # One below the IP limit: still open.
        assert (await _login(client, victim, PASSWORD)).status_code == 200
        await _fail(client, _email(), 1)
        _assert_throttled(await _login(client, victim, PASSWORD))
        _assert_throttled(await _login(client, _email(), "wrong password"))
        # A successful login does not reset the per-IP count.
        _assert_throttled(await _login(client, victim, PASSWORD))
        # Another address (same app, same counter) is not affected.
        assert (await _login(elsewhere, victim, PASSWORD)).status_code == 200


async def test_throttle_lifts_when_the_window_expires(make_app: Any) -> None:
    # A low limit keeps the failures well inside the one-second window (hashing is slow).
    app = make_app(login_failure_window_seconds=1, login_max_failures_per_email=2)
    async with _http(app) as client:
        email = _email()
        await _register(client, email)
        await _fail(client, email, 2)
        locked = await _login(client, email, PASSWORD)
        _assert_throttled(locked)
        assert locked.headers["Retry-After"] == "1"
        await asyncio.sleep(1.1)
        response = await _login(client, email, PASSWORD)
        assert response.status_code == 200
        _assert_token_pair(response.json())


async def test_inactive_user_login_looks_like_bad_credentials(
    client: httpx.AsyncClient, test_database: Database
) -> None:
    email = _email()
    await _register(client, email)
    async with test_database.sessionmaker() as session:
        await session.execute(update(User).where(User.email == email).values(is_active=False))
        await session.commit()
    response = await _login(client, email, PASSWORD)
    assert response.status_code == 400
    assert response.json() == INVALID_CREDENTIALS


async def test_password_whitespace_is_significant(client: httpx.AsyncClient) -> None:
    email = _email()
    await _register(client, email, "  padded password  ")
    assert (await _login(client, email, "  padded password  ")).status_code == 200
    response = await _login(client, email, "padded password")
    assert response.status_code == 400
