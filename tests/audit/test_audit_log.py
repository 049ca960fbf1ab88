"""The security audit log through the HTTP API: every kind of event is recorded with the
request it came from, an org admin reads exactly their org's events (and the logins of its
members) at /api/audit-log/, and events outlive the rollback of the request that caused
them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from crm.app import create_app
from crm.audit import service as audit_log
from crm.audit.repository import SecurityEventStore
from crm.auth.google import GoogleIdentity
from crm.core.clock import utcnow
from crm.core.config import Settings
from crm.core.db import Database
from crm.core.queue import RecordingDispatcher
from crm.core.ratelimit import MemoryCounter
from crm.core.tenancy import unscoped
from crm.models import APIKey, SecurityEvent, User
from tests.conftest import TEST_SECRET, Factory, FakeGoogle, Member, fresh_database_url

AGENT = "audit-test-agent/1.0"


async def stored(database: Database, kind: str | None = None) -> list[SecurityEvent]:
    """Every event in the database (whatever an admin may see), oldest first."""
    statement = select(SecurityEvent).order_by(SecurityEvent.occurred_at, SecurityEvent.id)
    if kind is not None:
        statement = statement.where(SecurityEvent.kind == kind)
    async with database.sessionmaker() as session:
        return list((await session.execute(statement)).scalars())


async def log_of(client: httpx.AsyncClient, admin: Member, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/audit-log/?limit=100{query}", headers=admin.headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def login(
    client: httpx.AsyncClient, email: str, password: str, request_id: str | None = None
) -> httpx.Response:
    headers = {"User-Agent": AGENT}
    if request_id:
        headers["X-Request-ID"] = request_id
    return await client.post(
        "/api/auth/login/", json={"email": email, "password": password}, headers=headers
    )


# -- logins ----------------------------------------------------------------------------------


async def test_login_is_recorded_with_its_request(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    member = await factory.member_of(admin)
    response = await login(client, member.email.upper(), member.password, "req-login-1")
    assert response.status_code == 200, response.text
    [event] = await stored(test_database, "login")
    assert event.user_id == uuid.UUID(member.user_id)
    assert event.org_id is None
    # As typed (the local part; the schema folds the domain, which is case-blind anyway).
    assert event.email == member.email.split("@")[0].upper() + "@example.com"
    assert (event.ip, event.user_agent, event.request_id) == ("127.0.0.1", AGENT, "req-login-1")
    assert (event.method, event.path) == ("POST", "/api/auth/login/")
    assert set(event.detail) == {"session_id"}
    [listed] = await log_of(client, admin, "&kind=login")
    assert listed["user_id"] == member.user_id
    assert listed["request_id"] == "req-login-1"
    assert listed["org"] is None


async def test_failed_logins_are_recorded_with_their_reason(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    member = await factory.member_of(admin)
    unknown = f"Nobody-{uuid.uuid4().hex[:8]}@example.com"
    assert (await login(client, unknown, "whatever password")).status_code == 400
    assert (await login(client, member.email, "wrong password")).status_code == 400
    failed = await stored(test_database, "login_failed")
    assert [(e.email, e.user_id, e.detail["reason"]) for e in failed] == [
        (unknown, None, "unknown_email"),
        (member.email, uuid.UUID(member.user_id), "wrong_password"),
    ]
    assert all(e.detail["method"] == "password" for e in failed)
    assert all(e.org_id is None and e.path == "/api/auth/login/" for e in failed)
    # The admin sees the member's failure, not the one for an e-mail nobody has.
    listed = await log_of(client, admin, "&kind=login_failed")
    assert [e["email"] for e in listed] == [member.email]


async def test_inactive_user_login_is_a_failure_with_its_reason(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    member = await factory.user()
    async with test_database.sessionmaker() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(member.user_id)).values(is_active=False)
        )
        await session.commit()
    assert (await login(client, member.email, member.password)).status_code == 400
    [event] = await stored(test_database, "login_failed")
    assert event.user_id == uuid.UUID(member.user_id)
    assert event.detail["reason"] == "inactive_user"
    assert await stored(test_database, "login") == []


async def test_throttled_logins_are_failures_too(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, settings: Settings
) -> None:
    member = await factory.user()
    limit = settings.login_max_failures_per_email
    for _ in range(limit):
        assert (await login(client, member.email, "wrong password")).status_code == 400
    throttled = await login(client, member.email, member.password)
    assert throttled.status_code == 429, throttled.text
    reasons = [e.detail["reason"] for e in await stored(test_database, "login_failed")]
    assert reasons == ["wrong_password"] * limit + ["throttled"]
    last = (await stored(test_database, "login_failed"))[-1]
    assert last.user_id == uuid.UUID(member.user_id)


async def test_google_logins_and_their_failures(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, google: FakeGoogle
) -> None:
    email = f"g-{uuid.uuid4().hex[:8]}@example.com"
    google.add("good", GoogleIdentity(email=email, email_verified=True))
    google.add("unverified", GoogleIdentity(email=email, email_verified=False))
    ok = await client.post("/api/auth/google/", json={"token": "good"})
    assert ok.status_code == 200, ok.text
    for token in ("unknown-token", "unverified"):
        refused = await client.post("/api/auth/google/", json={"token": token})
        assert refused.status_code == 400
    [event] = await stored(test_database, "google_login")
    assert (str(event.user_id), event.email) == (ok.json()["user"]["id"], email)
    failed = await stored(test_database, "login_failed")
    assert [(e.email, e.user_id, e.detail) for e in failed] == [
        (None, None, {"reason": "google_token_invalid", "method": "google"}),
        (email, None, {"reason": "email_not_verified", "method": "google"}),
    ]


async def test_logout_is_recorded(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    member = await factory.user()
    response = await client.post("/api/auth/logout/", headers=member.bearer)
    assert response.status_code == 204
    [event] = await stored(test_database, "logout")
    assert event.user_id == uuid.UUID(member.user_id)


async def test_refresh_token_reuse_is_recorded_for_the_members_admin(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    member = await factory.member_of(admin)
    first = await client.post("/api/auth/refresh-token/", json={"refresh": member.refresh})
    assert first.status_code == 200, first.text
    replay = await client.post("/api/auth/refresh-token/", json={"refresh": member.refresh})
    assert replay.status_code == 401
    [event] = await stored(test_database, "refresh_reuse")
    assert event.user_id == uuid.UUID(member.user_id)
    assert event.detail["session_revoked"] is True
    assert [e["kind"] for e in await log_of(client, admin)] == ["refresh_reuse"]


# -- permission denials ----------------------------------------------------------------------


async def test_a_non_admin_is_refused_the_log_and_the_refusal_is_recorded(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin, role="USER")
    refused = await client.get(
        "/api/audit-log/", headers={**user.headers, "X-Request-ID": "req-denied"}
    )
    assert refused.status_code == 403, refused.text
    [event] = await stored(test_database, "permission_denied")
    assert event.user_id == uuid.UUID(user.user_id)
    assert event.org_id == uuid.UUID(admin.org_id)
    assert (event.method, event.path, event.request_id) == ("GET", "/api/audit-log/", "req-denied")
    assert event.detail == {
        "code": "permission_denied",
        "message": "You do not have Permission to perform this action",
        "required_role": "ADMIN",
    }
    [listed] = await log_of(client, admin)
    assert (listed["kind"], listed["org"]) == ("permission_denied", admin.org_id)


async def test_record_denials_of_every_module_are_recorded(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """A 403 raised deep in a service (a user deleting a record they did not create)."""
    admin = await factory.admin()
    user = await factory.member_of(admin, role="USER")
    account = await client.post(
        "/api/accounts/",
        json={"name": "Shared", "assigned_to": [user.profile_id]},
        headers=admin.headers,
    )
    assert account.status_code == 201, account.text
    deleted = await client.delete(f"/api/accounts/{account.json()['id']}/", headers=user.headers)
    assert deleted.status_code == 403, deleted.text
    [event] = await stored(test_database, "permission_denied")
    assert event.detail["code"] == "permission_denied"
    assert "required_role" not in event.detail
    assert event.method == "DELETE"


async def test_a_denied_stranger_is_recorded_in_no_org(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    """A member of B probing org A: the event belongs to no org, so A's admin does not see
    someone who is not their member, and B's admin sees what their member did."""
    admin_a, admin_b = await factory.admin(), await factory.admin()
    prober = await factory.member_of(admin_b)
    refused = await client.get(
        "/api/teams/", headers={**prober.bearer, "organization-id": admin_a.org_id}
    )
    assert refused.status_code == 403
    [event] = await stored(test_database, "permission_denied")
    assert (event.org_id, event.user_id) == (None, uuid.UUID(prober.user_id))
    assert event.detail["code"] == "org_access_denied"
    assert await log_of(client, admin_a) == []
    assert [e["user_id"] for e in await log_of(client, admin_b)] == [prober.user_id]


async def test_a_refusal_before_the_caller_is_known_is_not_recorded(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    no_token = await client.get("/api/teams/", headers={"organization-id": admin.org_id})
    assert no_token.status_code == 401
    assert await stored(test_database) == []


# -- API keys ---------------------------------------------------------------------------------


async def _secret_key(
    client: httpx.AsyncClient, admin: Member, scope: str = "write"
) -> dict[str, Any]:
    response = await client.post(
        "/api/api-keys/", json={"name": "CI", "scope": scope}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_secret_key_use_is_recorded_once_a_minute(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    key = await _secret_key(client, admin)
    for _ in range(3):
        used = await client.get("/api/teams/", headers={"Authorization": f"Bearer {key['key']}"})
        assert used.status_code == 200, used.text
    [event] = await stored(test_database, "api_key_used")
    assert (event.org_id, event.user_id) == (uuid.UUID(admin.org_id), uuid.UUID(admin.user_id))
    assert event.detail == {
        "key_type": "secret",
        "key_id": key["id"],
        "prefix": key["prefix"],
        "scope": "write",
    }
    assert key["key"] not in repr(event.detail)
    # A minute later the next use is recorded again.
    async with test_database.sessionmaker() as session:
        await session.execute(
            update(SecurityEvent).values(occurred_at=utcnow() - timedelta(minutes=2))
        )
        await session.commit()
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            await session.execute(
                update(APIKey)
                .where(APIKey.id == uuid.UUID(key["id"]))
                .values(last_used_at=utcnow() - timedelta(minutes=2))
                .execution_options(synchronize_session=False)
            )
        await session.commit()
    used = await client.get("/api/teams/", headers={"Authorization": f"Bearer {key['key']}"})
    assert used.status_code == 200
    assert len(await stored(test_database, "api_key_used")) == 2


async def test_key_creation_revocation_and_read_only_refusal_are_recorded(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    key = await _secret_key(client, admin, scope="read")
    write = await client.post(
        "/api/teams/", json={"name": "Nope"}, headers={"Authorization": f"Bearer {key['key']}"}
    )
    assert write.status_code == 403, write.text
    revoked = await client.delete(f"/api/api-keys/{key['id']}/", headers=admin.headers)
    assert revoked.status_code == 204
    kinds = [e["kind"] for e in await log_of(client, admin)]
    assert kinds == ["api_key_revoked", "permission_denied", "api_key_created"]
    [created] = await stored(test_database, "api_key_created")
    assert created.detail == {
        "key_id": key["id"],
        "prefix": key["prefix"],
        "name": "CI",
        "scope": "read",
    }
    [denied] = await stored(test_database, "permission_denied")
    assert denied.detail["code"] == "api_key_read_only"
    assert denied.org_id == uuid.UUID(admin.org_id)


async def test_a_refused_key_creation_records_no_creation(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    response = await client.post(
        "/api/api-keys/",
        json={"name": "Past", "expires_at": "2000-01-01T00:00:00Z"},
        headers=admin.headers,
    )
    assert response.status_code == 400
    assert await stored(test_database, "api_key_created") == []


async def test_org_key_use_is_recorded_once_a_minute(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    owner = await factory.user()
    created = await client.post(
        "/api/org/", json={"name": f"Org{uuid.uuid4().hex[:8]}"}, headers=owner.bearer
    )
    assert created.status_code == 201, created.text
    org = created.json()["org"]
    for _ in range(3):
        used = await client.get("/api/teams/", headers={"Token": org["api_key"]})
        assert used.status_code == 200, used.text
    [event] = await stored(test_database, "api_key_used")
    assert (str(event.org_id), str(event.user_id)) == (org["id"], owner.user_id)
    assert event.detail == {"key_type": "org"}


# -- who sees what, filters, pages -------------------------------------------------------------


async def test_admins_see_their_org_and_their_members_only(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin_a, admin_b = await factory.admin(), await factory.admin()
    only_a = await factory.member_of(admin_a)
    only_b = await factory.member_of(admin_b)
    both = await factory.member_of(admin_a)
    joined = await client.post(
        "/api/users/",
        json={"email": both.email, "role": "USER", "phone": "+14155550100"},
        headers=admin_b.headers,
    )
    assert joined.status_code == 201, joined.text
    loner = await factory.user()  # a member of no org
    for member in (only_a, only_b, both, loner):
        assert (await login(client, member.email, member.password)).status_code == 200
    b_user = await factory.member_of(admin_b)
    assert (await client.get("/api/audit-log/", headers=b_user.headers)).status_code == 403

    seen_a = {(e["kind"], e["user_id"]) for e in await log_of(client, admin_a)}
    assert seen_a == {("login", only_a.user_id), ("login", both.user_id)}
    seen_b = {(e["kind"], e["user_id"]) for e in await log_of(client, admin_b)}
    assert seen_b == {
        ("login", only_b.user_id),
        ("login", both.user_id),
        ("permission_denied", b_user.user_id),
    }
    assert len(await stored(test_database)) == 5  # the loner's login is seen by nobody


async def test_a_former_members_logins_leave_with_them_but_org_events_stay(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    member = await factory.member_of(admin, role="USER")
    assert (await login(client, member.email, member.password)).status_code == 200
    assert (await client.get("/api/audit-log/", headers=member.headers)).status_code == 403
    removed = await client.delete(f"/api/user/{member.profile_id}/", headers=admin.headers)
    assert removed.status_code in (200, 204), removed.text
    assert [e["kind"] for e in await log_of(client, admin)] == ["permission_denied"]


async def test_filters(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    alice = await factory.member_of(admin)
    bob = await factory.member_of(admin)
    assert (await login(client, alice.email, "wrong password")).status_code == 400
    middle = utcnow()
    assert (await login(client, alice.email, alice.password)).status_code == 200
    assert (await login(client, bob.email, bob.password)).status_code == 200

    def people(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(e["kind"], e["user_id"]) for e in events]

    assert people(await log_of(client, admin, "&kind=login")) == [
        ("login", bob.user_id),
        ("login", alice.user_id),
    ]
    assert people(await log_of(client, admin, "&kind=LOGIN_FAILED,logout")) == [
        ("login_failed", alice.user_id)
    ]
    assert people(await log_of(client, admin, f"&user={alice.user_id}")) == [
        ("login", alice.user_id),
        ("login_failed", alice.user_id),
    ]
    local = alice.email.split("@")[0].upper()
    assert len(await log_of(client, admin, f"&email={local}")) == 2
    since = middle.isoformat().replace("+00:00", "Z")
    assert people(await log_of(client, admin, f"&since={since}")) == [
        ("login", bob.user_id),
        ("login", alice.user_id),
    ]
    until = middle.isoformat().replace("+00:00", "")  # naive: UTC
    assert people(await log_of(client, admin, f"&until={until}")) == [
        ("login_failed", alice.user_id)
    ]
    for bad in ("kind=dance", "user=not-an-id", "since=yesterday"):
        refused = await client.get(f"/api/audit-log/?{bad}", headers=admin.headers)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"] is True


async def test_pages_newest_first(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    member = await factory.member_of(admin)
    for _ in range(5):
        assert (await login(client, member.email, member.password)).status_code == 200
    everything = await log_of(client, admin)
    times = [e["occurred_at"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert len(times) == 5
    first = await client.get("/api/audit-log/?limit=2&kind=login", headers=admin.headers)
    body = first.json()
    assert body["count"] == 5
    assert body["previous"] is None
    assert [e["id"] for e in body["results"]] == [e["id"] for e in everything[:2]]
    assert body["next"] == "/api/audit-log/?kind=login&limit=2&offset=2"
    last = await client.get("/api/audit-log/?limit=2&offset=4", headers=admin.headers)
    assert [e["id"] for e in last.json()["results"]] == [everything[4]["id"]]
    assert last.json()["next"] is None


# -- durability, failures, retention ----------------------------------------------------------


@pytest.fixture
def own_database_url() -> Iterator[str]:
    with fresh_database_url() as url:
        yield url


@pytest.fixture
async def committing_client(
    own_database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """A database of its own where requests really commit and roll back."""
    settings = Settings(
        database_url=own_database_url, secret_key=TEST_SECRET, data_dir=tmp_path, redis_url=""
    )
    database = Database.from_settings(settings)
    app = create_app(
        settings, database=database, counter=MemoryCounter(), dispatcher=RecordingDispatcher()
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http, database
    finally:
        await database.dispose()


async def test_events_outlive_the_rollback_of_their_request(
    committing_client: tuple[httpx.AsyncClient, Database],
) -> None:
    client, database = committing_client
    factory = Factory(client)
    admin = await factory.admin()
    user = await factory.member_of(admin, role="USER")
    # Both requests fail, so their transactions roll back; a team the USER may not create
    # is not there, but the events are, committed for every connection to see.
    assert (await login(client, user.email, "wrong password")).status_code == 400
    refused = await client.post("/api/teams/", json={"name": "Sneaky"}, headers=user.headers)
    assert refused.status_code == 403
    teams = await client.get("/api/teams/", headers=admin.headers)
    assert teams.json()["count"] == 0
    kinds = [e.kind for e in await stored(database)]
    assert kinds == ["login_failed", "permission_denied"]


async def test_a_failing_audit_write_never_fails_the_request(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member = await factory.user()

    async def broken(self: SecurityEventStore, events: Any) -> None:
        raise RuntimeError("the audit table is gone")

    monkeypatch.setattr(SecurityEventStore, "add_all", broken)
    with caplog.at_level(logging.ERROR, logger="crm.audit"):
        ok = await login(client, member.email, member.password)
        failed = await login(client, member.email, "wrong password")
    assert (ok.status_code, failed.status_code) == (200, 400)
    assert failed.json()["code"] == "invalid_credentials"
    assert sum("could not write" in r.getMessage() for r in caplog.records) == 2
    assert await stored(test_database) == []


async def test_pruning_keeps_the_retention_period(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    member = await factory.user()
    for _ in range(2):
        assert (await login(client, member.email, member.password)).status_code == 200
    old, recent = await stored(test_database)
    async with test_database.sessionmaker() as session:
        await session.execute(
            update(SecurityEvent)
            .where(SecurityEvent.id == old.id)
            .values(occurred_at=utcnow() - timedelta(days=366))
        )
        await session.commit()
    assert await audit_log.prune(test_database, 0) == 0  # 0: keep everything
    assert len(await stored(test_database)) == 2
    assert await audit_log.prune(test_database, 365) == 1
    assert [e.id for e in await stored(test_database)] == [recent.id]


async def test_the_servers_sweep_prunes_old_events(own_database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=own_database_url,
        secret_key=TEST_SECRET,
        data_dir=tmp_path,
        redis_url="",
        audit_retention_days=30,
        email_sweep_seconds=0.05,
    )
    database = Database.from_settings(settings)
    app = create_app(
        settings, database=database, counter=MemoryCounter(), dispatcher=RecordingDispatcher()
    )
    try:
        async with database.sessionmaker() as session:
            session.add_all(
                [
                    SecurityEvent(kind="login", occurred_at=utcnow() - timedelta(days=31)),
                    SecurityEvent(kind="logout", occurred_at=utcnow() - timedelta(days=29)),
                ]
            )
            await session.commit()
        async with app.router.lifespan_context(app):
            for _ in range(400):  # the sweep runs at startup; give it up to 20 s
                if len(await stored(database)) == 1:
                    break
                await asyncio.sleep(0.05)
        assert [e.kind for e in await stored(database)] == ["logout"]
    finally:
        await database.dispose()
