"""Secret API keys through the HTTP API: admins create (the secret shown once), list and
revoke them; a key authenticates org-scoped calls as ``Authorization: Bearer sk_...``
without the org header, acting as its creator; read keys only read; revoked, expired and
unknown keys get 401; a key's creator leaving the org disables it; another org's key is
404; only the SHA-256 of a key is stored."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from crm.core.db import Database
from crm.models import Org
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, NOT_FOUND

KEY_KEYS = {
    "id",
    "name",
    "prefix",
    "scope",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "active",
    "created_by",
    "created_on",
}


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


async def _new_key(client: httpx.AsyncClient, admin: Member, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Integration")
    response = await client.post("/api/api-keys/", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _sql(database: Database, statement: str, **params: Any) -> None:
    async with database.sessionmaker() as session:
        await session.execute(text(statement), params)
        await session.commit()


# -- managing keys -------------------------------------------------------------------------


async def test_create_shows_the_secret_once_and_stores_only_its_hash(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    created = await _new_key(client, admin, name="Zapier", scope="read")
    assert set(created) == KEY_KEYS | {"key"}
    secret = created["key"]
    assert secret.startswith("sk_")
    assert len(secret) == 46
    assert created["prefix"] == secret[:11]
    assert (created["name"], created["scope"], created["active"]) == ("Zapier", "read", True)
    assert created["created_by"] == admin.profile_id
    assert created["last_used_at"] is None
    assert created["revoked_at"] is None
    listed = await client.get("/api/api-keys/", headers=admin.headers)
    assert listed.status_code == 200
    assert [set(k) for k in listed.json()["api_keys"]] == [KEY_KEYS]
    assert secret not in listed.text
    detail = await client.get(f"/api/api-keys/{created['id']}/", headers=admin.headers)
    assert set(detail.json()) == KEY_KEYS
    assert secret not in detail.text
    async with test_database.sessionmaker() as session:
        stored = (await session.execute(text("SELECT key_hash FROM api_keys"))).scalars().all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]
    # Each key is new: two keys never share a secret.
    assert (await _new_key(client, admin))["key"] != secret


async def test_default_scope_is_write_and_the_list_is_newest_first(
    client: httpx.AsyncClient, admin: Member
) -> None:
    first = await _new_key(client, admin, name="First")
    second = await _new_key(client, admin, name="Second")
    assert first["scope"] == "write"
    listed = (await client.get("/api/api-keys/", headers=admin.headers)).json()["api_keys"]
    assert [k["id"] for k in listed] == [second["id"], first["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Bad", "scope": "admin"}, "scope"),
        ({"name": "Bad", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "Bad", "expires_at": "soon"}, "expires_at"),
    ],
)
async def test_bad_key_requests_are_refused(
    client: httpx.AsyncClient,
    admin: Member,
    test_database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await checksum(test_database)
    response = await client.post("/api/api-keys/", json=body, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
    assert await checksum(test_database) == before


async def test_only_admins_manage_keys(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    member = await factory.member_of(admin)
    key = await _new_key(client, admin)
    calls = [
        ("GET", "/api/api-keys/", None),
        ("POST", "/api/api-keys/", {"name": "Mine"}),
        ("GET", f"/api/api-keys/{key['id']}/", None),
        ("DELETE", f"/api/api-keys/{key['id']}/", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=member.headers)
        assert (response.status_code, response.json()) == (403, DENIED), (method, path)


async def test_another_orgs_key_is_not_found(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    other = await factory.admin()
    theirs = await _new_key(client, other)
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, f"/api/api-keys/{theirs['id']}/", headers=admin.headers
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    missing = await client.get(f"/api/api-keys/{uuid.uuid4()}/", headers=admin.headers)
    assert missing.status_code == 404
    # Their key still works: nothing was revoked.
    accounts = await client.get("/api/accounts/", headers=_bearer(theirs["key"]))
    assert accounts.status_code == 200


# -- authenticating with a key -----------------------------------------------------------------


async def test_a_key_acts_as_its_creator_in_its_org_without_the_org_header(
    client: httpx.AsyncClient, admin: Member
) -> None:
    key = (await _new_key(client, admin))["key"]
    created = await client.post("/api/accounts/", json={"name": "Via key"}, headers=_bearer(key))
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == admin.profile_id
    assert created.json()["org"] == admin.org_id
    listed = await client.get("/api/accounts/", headers=_bearer(key))
    assert [a["name"] for a in listed.json()["open_accounts"]] == ["Via key"]
    # The org header may be sent, and must then name the key's org.
    same = await client.get(
        "/api/accounts/", headers={**_bearer(key), "organization-id": admin.org_id}
    )
    assert same.status_code == 200
    other = await client.get(
        "/api/accounts/", headers={**_bearer(key), "organization-id": str(uuid.uuid4())}
    )
    assert other.status_code == 403
    assert other.json()["code"] == "org_header_mismatch"


async def test_a_key_sees_nothing_of_another_org(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    other = await factory.admin()
    theirs = await client.post("/api/accounts/", json={"name": "Theirs"}, headers=other.headers)
    key = (await _new_key(client, admin))["key"]
    response = await client.get(f"/api/accounts/{theirs.json()['id']}/", headers=_bearer(key))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert (await client.get("/api/accounts/", headers=_bearer(key))).json()["accounts_count"] == 0


async def test_a_read_key_reads_but_never_writes(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    key = (await _new_key(client, admin, scope="read"))["key"]
    assert (await client.get("/api/accounts/", headers=_bearer(key))).status_code == 200
    before = await checksum(test_database)
    for method, path in (("POST", "/api/accounts/"), ("POST", "/api/leads/")):
        response = await client.request(method, path, json={"name": "No"}, headers=_bearer(key))
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "api_key_read_only"
    assert await checksum(test_database) == before


async def test_revoked_expired_and_unknown_keys_get_401(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    revoked = await _new_key(client, admin, name="Revoked")
    assert (await client.get("/api/accounts/", headers=_bearer(revoked["key"]))).status_code == 200
    gone = await client.delete(f"/api/api-keys/{revoked['id']}/", headers=admin.headers)
    assert gone.status_code == 204
    response = await client.get("/api/accounts/", headers=_bearer(revoked["key"]))
    assert (response.status_code, response.json()["code"]) == (401, "api_key_revoked")
    # Revoking again changes nothing; the key stays listed, inactive.
    again = await client.delete(f"/api/api-keys/{revoked['id']}/", headers=admin.headers)
    assert again.status_code == 204
    shown = (await client.get(f"/api/api-keys/{revoked['id']}/", headers=admin.headers)).json()
    assert shown["revoked_at"] is not None
    assert shown["active"] is False

    soon = datetime.now(UTC) + timedelta(hours=1)
    expiring = await _new_key(client, admin, name="Expiring", expires_at=soon.isoformat())
    assert expiring["active"] is True
    ok = await client.get("/api/accounts/", headers=_bearer(expiring["key"]))
    assert ok.status_code == 200
    past = datetime.now(UTC) - timedelta(seconds=1)
    await _sql(
        test_database,
        "UPDATE api_keys SET expires_at = :past WHERE name = 'Expiring'",
        past=past.replace(tzinfo=None) if "sqlite" in str(test_database.engine.url) else past,
    )
    response = await client.get("/api/accounts/", headers=_bearer(expiring["key"]))
    assert (response.status_code, response.json()["code"]) == (401, "api_key_expired")
    shown = (await client.get(f"/api/api-keys/{expiring['id']}/", headers=admin.headers)).json()
    assert shown["active"] is False

    for unknown in ("sk_" + "a" * 43, "sk_", revoked["key"] + "x"):
        response = await client.get("/api/accounts/", headers=_bearer(unknown))
        assert (response.status_code, response.json()["code"]) == (401, "api_key_not_valid")


async def test_a_key_stops_working_when_its_creator_leaves_and_follows_their_role(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    second_admin = await factory.member_of(admin, role="ADMIN")
    key = (await _new_key(client, second_admin))["key"]
    assert (await client.get("/api/accounts/", headers=_bearer(key))).status_code == 200
    # Demoted to a plain member: the key now has a member's rights (no user management).
    demoted = await client.put(
        f"/api/user/{second_admin.profile_id}/",
        json={"role": "USER"},
        headers=admin.headers,
    )
    assert demoted.status_code == 200, demoted.text
    response = await client.post(
        "/api/users/", json={"email": "new@example.com", "role": "USER"}, headers=_bearer(key)
    )
    assert response.status_code == 403
    deactivated = await client.post(
        f"/api/user/{second_admin.profile_id}/status/",
        json={"status": "Inactive"},
        headers=admin.headers,
    )
    assert deactivated.status_code == 200, deactivated.text
    response = await client.get("/api/accounts/", headers=_bearer(key))
    assert (response.status_code, response.json()["code"]) == (401, "api_key_not_valid")


async def test_last_used_at_records_use_at_most_once_a_minute(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    created = await _new_key(client, admin)
    before = datetime.now(UTC) - timedelta(seconds=5)
    await client.get("/api/accounts/", headers=_bearer(created["key"]))
    first = (await client.get(f"/api/api-keys/{created['id']}/", headers=admin.headers)).json()
    used = datetime.fromisoformat(first["last_used_at"])
    assert used >= before
    await client.get("/api/accounts/", headers=_bearer(created["key"]))
    second = (await client.get(f"/api/api-keys/{created['id']}/", headers=admin.headers)).json()
    assert second["last_used_at"] == first["last_used_at"]  # within the minute: not rewritten
    # Using a key is bookkeeping, not a change of the org's data: cached lists stay valid.
    org_id = uuid.UUID(admin.org_id)
    version_of = select(Org.data_version).where(Org.id == org_id)
    async with test_database.sessionmaker() as session:
        version = (await session.execute(version_of)).scalar_one()
    await _sql(test_database, "UPDATE api_keys SET last_used_at = NULL")
    await client.get("/api/accounts/", headers=_bearer(created["key"]))
    async with test_database.sessionmaker() as session:
        after = (await session.execute(version_of)).scalar_one()
    listed = await client.get(f"/api/api-keys/{created['id']}/", headers=admin.headers)
    assert listed.json()["last_used_at"] is not None
    assert after == version


async def test_a_key_does_not_log_in_as_a_user(client: httpx.AsyncClient, admin: Member) -> None:
    """Keys are for org-scoped calls: the user-level endpoints still want a login."""
    key = (await _new_key(client, admin))["key"]
    response = await client.get("/api/org/", headers=_bearer(key))
    assert response.status_code == 401
