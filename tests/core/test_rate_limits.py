"""Rate limits through the HTTP API (issue 6, item 5): attempt limits per IP and per account
on login, register, refresh and Google login; per key on create-from-site; per credential
(or per client IP) on the whole API. Over a limit: 429 with ``Retry-After``; every limited
response carries ``RateLimit-Limit/-Remaining/-Reset/-Policy``.

Every test runs twice: with the in-memory counter and with the Redis counter against the
real Redis on loopback (a key prefix of its own, deleted afterwards). Records are made
through the suite's shared app (``factory``); the limits are exercised on an app of the
test's own, with its settings and a fresh counter, on the same database.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from crm.app import create_app
from crm.auth.google import GoogleIdentity
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.ratelimit import Counter, MemoryCounter, RedisCounter, WindowState
from crm.core.security import TokenType, encode_token
from tests.conftest import Factory, FakeGoogle, Member
from tests.core.test_redis import REDIS_URL

PASSWORD = "correct horse battery"
# Limits the suite's default settings would apply, switched off where a test looks at others.
ALL_OFF = {
    "rate_limit_api_per_credential": 0,
    "rate_limit_api_per_ip": 0,
    **{
        f"rate_limit_{action}_per_{who}": 0
        for action in ("login", "register", "refresh", "google")
        for who in ("ip", "account")
    },
}


class RecordingCounter:
    """A counter that remembers which keys were counted, around a real one."""

    def __init__(self, inner: Counter) -> None:
        self.inner = inner
        self.hits: list[str] = []

    async def peek(self, key: str) -> WindowState:
        return await self.inner.peek(key)

    async def hit(self, key: str, window_seconds: int) -> WindowState:
        self.hits.append(key)
        return await self.inner.hit(key, window_seconds)

    async def reset(self, key: str) -> None:
        await self.inner.reset(key)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture(params=["memory", "redis"])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[RecordingCounter]:
    if request.param == "memory":
        yield RecordingCounter(MemoryCounter())
        return
    redis: Redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except OSError as exc:  # the suite needs the Redis server .ci/run starts
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"crm-test-rl:{uuid.uuid4().hex}:"
    inner = RedisCounter(REDIS_URL, prefix=prefix)
    try:
        yield RecordingCounter(inner)
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await inner.close()
        await redis.aclose()


Client = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def limited(
    settings: Settings, test_database: Database, google: FakeGoogle, counter: RecordingCounter
) -> AsyncIterator[Callable[..., Client]]:
    """``limited(**settings)`` is an app of the test's own; it returns ``client(ip)``, an
    HTTP client that connects from ``ip``."""
    opened: list[httpx.AsyncClient] = []

    def build(**changes: Any) -> Client:
        app = create_app(
            settings.model_copy(update={**ALL_OFF, **changes}),
            database=test_database,
            google_verifier=google,
            counter=counter,
        )

        def client(ip: str = "127.0.0.1") -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(ip, 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            opened.append(http)
            return http

        return client

    yield build
    for http in opened:
        await http.aclose()


def _email() -> str:
    return f"rl-{uuid.uuid4().hex[:10]}@example.com"


def assert_limited(response: httpx.Response, limit: int, remaining: int, window: int) -> None:
    """The RateLimit-* headers of a response under a ``limit`` per ``window`` policy."""
    headers = response.headers
    assert headers["RateLimit-Limit"] == str(limit), response.headers
    assert headers["RateLimit-Remaining"] == str(remaining), response.headers
    assert 1 <= int(headers["RateLimit-Reset"]) <= window
    assert headers["RateLimit-Policy"] == f"{limit};w={window}"


def assert_refused(response: httpx.Response, limit: int, window: int) -> None:
    assert response.status_code == 429, response.text
    assert_limited(response, limit, 0, window)
    assert response.headers["Retry-After"] == response.headers["RateLimit-Reset"]
    body = response.json()
    assert body["error"] is True
    assert body["code"] == "rate_limited"
    assert isinstance(body["errors"], str)


def assert_unlimited(response: httpx.Response) -> None:
    assert not any(name.lower().startswith("ratelimit-") for name in response.headers)


# -- the auth endpoints: attempts per IP -------------------------------------------------------


def _forged_refresh(user_id: str = "") -> str:
    """A well-formed refresh token signed with the wrong key."""
    token, _ = encode_token(
        secret="not-the-server-key-" + "y" * 40,
        user_id=uuid.UUID(user_id) if user_id else uuid.uuid4(),
        session_id=uuid.uuid4(),
        token_type=TokenType.REFRESH,
        lifetime=timedelta(days=1),
    )
    return token


# action -> (path, body of one attempt for a new account, the status it gets when allowed)
ATTEMPTS: dict[str, tuple[str, Callable[[], dict[str, str]], int]] = {
    "login": ("/api/auth/login/", lambda: {"email": _email(), "password": "wrong one"}, 400),
    "register": ("/api/auth/register/", lambda: {"email": _email(), "password": PASSWORD}, 201),
    "refresh": ("/api/auth/refresh-token/", lambda: {"refresh": _forged_refresh()}, 401),
    "google": ("/api/auth/google/", lambda: {"token": uuid.uuid4().hex}, 400),
}


@pytest.mark.parametrize("action", sorted(ATTEMPTS))
async def test_attempts_are_limited_per_ip(action: str, limited: Callable[..., Client]) -> None:
    path, attempt, allowed_status = ATTEMPTS[action]
    client = limited(**{f"rate_limit_{action}_per_ip": 3, "rate_limit_auth_window_seconds": 60})
    here, elsewhere = client("198.51.100.1"), client("198.51.100.2")
    for n in range(3):
        response = await here.post(path, json=attempt())
        assert response.status_code == allowed_status, response.text
        assert_limited(response, 3, 2 - n, 60)
    assert_refused(await here.post(path, json=attempt()), 3, 60)
    assert_refused(await here.post(path, json=attempt()), 3, 60)
    # Another address has a window of its own.
    other = await elsewhere.post(path, json=attempt())
    assert other.status_code == allowed_status, other.text
    assert_limited(other, 3, 2, 60)


async def register(http: httpx.AsyncClient, email: str | None = None) -> httpx.Response:
    body = {"email": email or _email(), "password": PASSWORD}
    return await http.post("/api/auth/register/", json=body)


async def test_a_refused_register_creates_nobody(limited: Callable[..., Client]) -> None:
    client = limited(rate_limit_register_per_ip=1)
    assert (await register(client())).status_code == 201
    email = _email()
    assert (await register(client(), email)).status_code == 429
    login = await client("192.0.2.99").post(
        "/api/auth/login/", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 400, login.text  # no such user


# -- the auth endpoints: attempts per account --------------------------------------------------


async def test_login_attempts_are_limited_per_account(
    limited: Callable[..., Client], factory: Factory
) -> None:
    """Any attempt counts, right or wrong, whatever the address and the e-mail's spelling."""
    user, other = await factory.user(), await factory.user()
    client = limited(rate_limit_login_per_account=3)
    attempts = [
        (client("203.0.113.1"), user.email, PASSWORD, 200),
        (client("203.0.113.2"), user.email.upper(), "wrong one", 400),
        (client("203.0.113.3"), user.email.title(), PASSWORD, 200),
    ]
    for n, (http, email, password, status) in enumerate(attempts):
        response = await http.post("/api/auth/login/", json={"email": email, "password": password})
        assert response.status_code == status, response.text
        assert_limited(response, 3, 2 - n, 60)
    refused = await client("203.0.113.4").post(
        "/api/auth/login/", json={"email": user.email, "password": PASSWORD}
    )
    assert_refused(refused, 3, 60)
    allowed = await client("203.0.113.4").post(
        "/api/auth/login/", json={"email": other.email, "password": PASSWORD}
    )
    assert allowed.status_code == 200, allowed.text


async def test_register_attempts_are_limited_per_account(limited: Callable[..., Client]) -> None:
    client = limited(rate_limit_register_per_account=2)
    email = _email()
    first = await register(client("203.0.113.1"), email)
    assert first.status_code == 201, first.text
    taken = await register(client("203.0.113.2"), email.upper())
    assert taken.status_code == 400
    assert taken.json()["code"] == "email_taken"
    assert_limited(taken, 2, 0, 60)
    assert_refused(await register(client("203.0.113.3"), email), 2, 60)
    fresh = _email()
    allowed = await register(client("203.0.113.3"), fresh)
    assert allowed.status_code == 201, allowed.text


async def test_refresh_attempts_are_limited_per_account(
    limited: Callable[..., Client], factory: Factory
) -> None:
    """Counted against the user the token names, once its signature verifies: a forged
    token naming the user uses up nothing of theirs."""
    user, other = await factory.user(), await factory.user()
    client = limited(rate_limit_refresh_per_account=2)
    for _ in range(3):
        forged = await client("192.0.2.1").post(
            "/api/auth/refresh-token/", json={"refresh": _forged_refresh(user.user_id)}
        )
        assert forged.status_code == 401
        assert_unlimited(forged)  # the IP limit is off; no account was named
    token = user.refresh
    for n in range(2):
        response = await client(f"192.0.2.{10 + n}").post(
            "/api/auth/refresh-token/", json={"refresh": token}
        )
        assert response.status_code == 200, response.text
        assert_limited(response, 2, 1 - n, 60)
        token = response.json()["refresh"]
    refused = await client("192.0.2.20").post("/api/auth/refresh-token/", json={"refresh": token})
    assert_refused(refused, 2, 60)
    allowed = await client("192.0.2.20").post(
        "/api/auth/refresh-token/", json={"refresh": other.refresh}
    )
    assert allowed.status_code == 200, allowed.text


async def test_google_attempts_are_limited_per_verified_email(
    limited: Callable[..., Client], google: FakeGoogle
) -> None:
    """Counted against the e-mail only once Google verified it: tokens Google refuses, or
    whose e-mail is unverified, use up nothing of that account."""
    email = _email()
    for token, verified in (("good-1", True), ("good-2", True), ("good-3", True), ("bad", False)):
        google.add(token, GoogleIdentity(email=email, email_verified=verified))
    client = limited(rate_limit_google_per_account=2)
    for token in ("bad", "unknown", "bad"):
        response = await client().post("/api/auth/google/", json={"token": token})
        assert response.status_code == 400, response.text
    for n, token in enumerate(("good-1", "good-2")):
        response = await client(f"192.0.2.{n}").post("/api/auth/google/", json={"token": token})
        assert response.status_code == 200, response.text
        assert_limited(response, 2, 1 - n, 60)
    refused = await client("192.0.2.9").post("/api/auth/google/", json={"token": "good-3"})
    assert_refused(refused, 2, 60)


async def test_ip_and_account_limits_are_independent(
    limited: Callable[..., Client], factory: Factory
) -> None:
    user, other = await factory.user(), await factory.user()
    client = limited(rate_limit_login_per_ip=3, rate_limit_login_per_account=2)
    a, b = client("203.0.113.10"), client("203.0.113.11")

    async def login(http: httpx.AsyncClient, member: Member) -> httpx.Response:
        return await http.post(
            "/api/auth/login/", json={"email": member.email, "password": PASSWORD}
        )

    for n in range(2):
        response = await login(a, user)
        assert response.status_code == 200
        # The headers tell the limit with the fewest requests left: the account's.
        assert_limited(response, 2, 1 - n, 60)
    assert_refused(await login(a, user), 2, 60)  # the account's limit; A has used 3 of 3
    assert_refused(await login(b, user), 2, 60)  # the account is spent from anywhere
    from_b = await login(b, other)  # B's own address and another account: open
    assert from_b.status_code == 200, from_b.text
    assert_refused(await login(a, other), 3, 60)  # A's address is spent, whatever the account


async def test_attempt_windows_reset(limited: Callable[..., Client]) -> None:
    client = limited(rate_limit_register_per_ip=1, rate_limit_auth_window_seconds=1)()
    assert (await register(client)).status_code == 201
    refused = await register(client)
    assert_refused(refused, 1, 1)
    await asyncio.sleep(1.2)
    again = await register(client)
    assert again.status_code == 201, again.text
    assert_limited(again, 1, 0, 1)


# -- the whole API: per credential ---------------------------------------------------------------


async def test_each_access_token_has_its_own_bucket(
    limited: Callable[..., Client], factory: Factory
) -> None:
    one, two = await factory.admin(), await factory.admin()
    http = limited(rate_limit_api_per_credential=3, rate_limit_api_per_ip=5)()
    for n in range(3):
        response = await http.get("/api/profile/", headers=one.headers)
        assert response.status_code == 200, response.text
        assert_limited(response, 3, 2 - n, 60)
    assert_refused(await http.get("/api/profile/", headers=one.headers), 3, 60)
    # Refused before any work: even a route that would answer 404 answers 429.
    assert_refused(await http.get("/api/leads/no-such-lead/", headers=one.headers), 3, 60)
    other = await http.get("/api/profile/", headers=two.headers)
    assert other.status_code == 200
    assert_limited(other, 3, 2, 60)
    # The client's address is a bucket of its own, for requests without credentials.
    anonymous = await http.get("/api/profile/")
    assert anonymous.status_code == 401
    assert_limited(anonymous, 5, 4, 60)


async def test_a_refreshed_access_token_shares_its_sessions_bucket(
    limited: Callable[..., Client], factory: Factory, client: httpx.AsyncClient
) -> None:
    admin = await factory.admin()
    http = limited(rate_limit_api_per_credential=2)()
    assert (await http.get("/api/profile/", headers=admin.headers)).status_code == 200
    refreshed = await client.post("/api/auth/refresh-token/", json={"refresh": admin.refresh})
    assert refreshed.status_code == 200
    headers = {**admin.headers, "Authorization": f"Bearer {refreshed.json()['access']}"}
    response = await http.get("/api/profile/", headers=headers)
    assert response.status_code == 200
    assert_limited(response, 2, 0, 60)
    assert_refused(await http.get("/api/profile/", headers=headers), 2, 60)


async def _secret_key(client: httpx.AsyncClient, admin: Member, name: str) -> str:
    response = await client.post("/api/api-keys/", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


async def test_secret_keys_and_org_keys_have_buckets_of_their_own(
    limited: Callable[..., Client], factory: Factory, client: httpx.AsyncClient
) -> None:
    admin = await factory.user()
    made = await client.post(
        "/api/org/", json={"name": f"Org{uuid.uuid4().hex[:8]}"}, headers=admin.bearer
    )
    assert made.status_code == 201
    admin.org_id = made.json()["org"]["id"]
    org_key = made.json()["org"]["api_key"]
    first, second = await _secret_key(client, admin, "one"), await _secret_key(client, admin, "two")
    http = limited(rate_limit_api_per_credential=2)()
    credentials = [
        {"Authorization": f"Bearer {first}"},
        {"Authorization": f"Bearer {second}"},
        {"Token": org_key},
    ]
    for headers in credentials:
        for n in range(2):
            response = await http.get("/api/leads/", headers=headers)
            assert response.status_code == 200, response.text
            assert_limited(response, 2, 1 - n, 60)
        assert_refused(await http.get("/api/leads/", headers=headers), 2, 60)
    # The access token of the admin who made them is a credential of its own too.
    assert (await http.get("/api/leads/", headers=admin.headers)).status_code == 200


async def test_unverifiable_tokens_count_against_the_client_ip(
    limited: Callable[..., Client], factory: Factory
) -> None:
    """Otherwise every forged token would bring a fresh bucket."""
    admin = await factory.admin()
    client = limited(rate_limit_api_per_credential=100, rate_limit_api_per_ip=2)
    http = client("192.0.2.50")
    forged = {"Authorization": "Bearer " + _forged_refresh(admin.user_id)}
    for n, headers in enumerate(({"Authorization": "Bearer not-a-token"}, forged)):
        response = await http.get("/api/profile/", headers=headers)
        assert response.status_code == 401
        assert_limited(response, 2, 1 - n, 60)
    assert_refused(await http.get("/api/profile/"), 2, 60)
    # A real token is not held back by its address's spent bucket.
    assert (await http.get("/api/profile/", headers=admin.headers)).status_code == 200
    assert (await client("192.0.2.51").get("/api/profile/")).status_code == 401


async def test_api_windows_reset(limited: Callable[..., Client], factory: Factory) -> None:
    admin = await factory.admin()
    http = limited(rate_limit_api_per_credential=1, rate_limit_api_window_seconds=1)()
    assert (await http.get("/api/profile/", headers=admin.headers)).status_code == 200
    assert_refused(await http.get("/api/profile/", headers=admin.headers), 1, 1)
    await asyncio.sleep(1.2)
    again = await http.get("/api/profile/", headers=admin.headers)
    assert again.status_code == 200
    assert_limited(again, 1, 0, 1)


async def test_the_crm_surface_answers_429_in_its_own_shape(
    limited: Callable[..., Client], factory: Factory, client: httpx.AsyncClient
) -> None:
    admin = await factory.admin()
    key = await _secret_key(client, admin, "erp")
    http = limited(rate_limit_api_per_credential=1)()
    headers = {"Authorization": f"Bearer {key}"}
    first = await http.get("/api/crm/opportunity", headers=headers)
    assert first.status_code == 200, first.text
    assert_limited(first, 1, 0, 60)
    refused = await http.get("/api/crm/opportunity", headers=headers)
    assert refused.status_code == 429
    assert_limited(refused, 1, 0, 60)
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]
    assert refused.json() == {
        "error": {
            "type": "rate_limit_error",
            "code": "rate_limited",
            "message": "Too many requests; try again later",
            "param": None,
        }
    }
    assert refused.headers["X-Request-ID"]


async def test_nothing_is_counted_when_the_limits_are_off(
    limited: Callable[..., Client], factory: Factory, counter: RecordingCounter
) -> None:
    admin = await factory.admin()
    http = limited()()  # every limit off
    for _ in range(3):
        response = await http.get("/api/profile/", headers=admin.headers)
        assert response.status_code == 200
        assert_unlimited(response)
        login = await http.post(
            "/api/auth/login/", json={"email": admin.email, "password": PASSWORD}
        )
        assert login.status_code == 200
        assert_unlimited(login)
    # Only the login-failure quotas are looked at (they stay on; a success counts nothing).
    assert counter.hits == []


async def test_pages_outside_the_api_are_not_counted(
    limited: Callable[..., Client], counter: RecordingCounter
) -> None:
    http = limited(rate_limit_api_per_ip=1)()
    for _ in range(2):
        response = await http.get("/docs")
        assert response.status_code == 200
        assert_unlimited(response)
    assert counter.hits == []


# -- create-from-site: per website key --------------------------------------------------------


async def test_lead_capture_is_limited_per_key_with_headers(
    limited: Callable[..., Client], factory: Factory, client: httpx.AsyncClient
) -> None:
    admin = await factory.admin()
    settings = []
    for title in ("Busy", "Quiet"):
        response = await client.post(
            "/api/api-settings/",
            json={"title": title, "website": "https://shop.example.com"},
            headers=admin.headers,
        )
        assert response.status_code == 201, response.text
        settings.append(response.json()["apikey"])
    http = limited(lead_capture_per_minute=2)()
    visitor = {"first_name": "Vi", "last_name": "Sitor", "email": "vi@example.com"}
    url = "/api/leads/create-from-site/"
    for n in range(2):
        response = await http.post(url, params={"apikey": settings[0]}, json=visitor)
        assert response.status_code == 201, response.text
        assert_limited(response, 2, 1 - n, 60)
    assert_refused(await http.post(url, params={"apikey": settings[0]}, json=visitor), 2, 60)
    other = await http.post(url, params={"apikey": settings[1]}, json=visitor)
    assert other.status_code == 201
    assert_limited(other, 2, 1, 60)


# -- X-Forwarded-For -------------------------------------------------------------------------


async def test_x_forwarded_for_is_ignored_by_default(limited: Callable[..., Client]) -> None:
    """Without CRM_TRUSTED_PROXIES a client cannot pick its own bucket."""
    http = limited(rate_limit_api_per_ip=2)("203.0.113.77")
    for n in range(2):
        response = await http.get("/api/profile/", headers={"X-Forwarded-For": f"10.0.0.{n}"})
        assert_limited(response, 2, 1 - n, 60)
    refused = await http.get("/api/profile/", headers={"X-Forwarded-For": "10.0.0.9"})
    assert_refused(refused, 2, 60)


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(
    limited: Callable[..., Client],
) -> None:
    client = limited(rate_limit_api_per_ip=1, trusted_proxies="127.0.0.1, 10.1.0.0/16")
    proxy = client("127.0.0.1")
    # The right-most address that is not a trusted proxy is the client: an address the
    # client wrote itself further left is not believed.
    first = await proxy.get(
        "/api/profile/", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.20, 10.1.2.3"}
    )
    assert_limited(first, 1, 0, 60)
    spoofed = await proxy.get(
        "/api/profile/", headers={"X-Forwarded-For": "5.6.7.8, 198.51.100.20"}
    )
    assert_refused(spoofed, 1, 60)
    other = await proxy.get("/api/profile/", headers={"X-Forwarded-For": "198.51.100.21"})
    assert_limited(other, 1, 0, 60)
    # An untrusted peer's header is ignored: it counts as itself.
    direct = client("198.51.100.99")
    assert_limited(
        await direct.get("/api/profile/", headers={"X-Forwarded-For": "9.9.9.9"}), 1, 0, 60
    )
    assert_refused(await direct.get("/api/profile/", headers={"X-Forwarded-For": "9.9.9.8"}), 1, 60)


async def test_login_failure_throttle_sees_the_forwarded_client(
    limited: Callable[..., Client],
) -> None:
    client = limited(trusted_proxies="127.0.0.1", login_max_failures_per_ip=1)
    proxy = client("127.0.0.1")
    wrong = {"email": _email(), "password": "wrong one"}
    forwarded = {"X-Forwarded-For": "198.51.100.30"}
    assert (await proxy.post("/api/auth/login/", json=wrong, headers=forwarded)).status_code == 400
    refused = await proxy.post(
        "/api/auth/login/", json={**wrong, "email": _email()}, headers=forwarded
    )
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Policy"] == "1;w=900"
    other = await proxy.post(
        "/api/auth/login/", json=wrong, headers={"X-Forwarded-For": "198.51.100.31"}
    )
    assert other.status_code == 400


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert (
        Settings(trusted_proxies=" 10.0.0.0/8 ,127.0.0.1,").trusted_proxies
        == "10.0.0.0/8,127.0.0.1"
    )
    with pytest.raises(ValueError, match=r"proxy\.example\.com"):
        Settings(trusted_proxies="proxy.example.com")


async def test_limits_fail_open_when_redis_is_unreachable(
    settings: Settings,
    test_database: Database,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Redis outage must not turn every request into a 500: requests are served
    unlimited (no headers) and the outage is logged."""
    admin = await factory.admin()
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = RedisCounter(f"redis://127.0.0.1:{port}/0", prefix="crm-test-rl-dead:")
    app = create_app(
        settings.model_copy(update={"rate_limit_api_per_credential": 1}),
        database=test_database,
        counter=dead,
    )
    transport = httpx.ASGITransport(app=app)
    log = logging.getLogger("crm.ratelimit")  # the crm loggers do not propagate to root
    log.addHandler(caplog.handler)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for _ in range(2):
                response = await http.get("/api/profile/", headers=admin.headers)
                assert response.status_code == 200, response.text
                assert_unlimited(response)
            login = await http.post(
                "/api/auth/login/", json={"email": admin.email, "password": "wrong one"}
            )
            assert login.status_code == 400
    finally:
        log.removeHandler(caplog.handler)
        await dead.close()
    assert "rate-limit counter unavailable" in caplog.text
