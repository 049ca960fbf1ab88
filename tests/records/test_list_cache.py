"""Cached list responses (crm.records.caching) and the org data version behind them
(crm.models.changes): a repeated list costs one statement, and every kind of change is
visible on the very next request."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crm.core.db import Database
from crm.core.tenancy import unscoped
from crm.models import Org
from tests.conftest import Factory, Member
from tests.sql_count import count_statements

LISTS = ("/api/accounts/", "/api/contacts/", "/api/leads/", "/api/opportunities/")


async def _version(database: Database, member: Member) -> int:
    async with database.sessionmaker() as session:
        with unscoped(session):
            version = await session.scalar(
                select(Org.data_version).where(Org.id == uuid.UUID(member.org_id))
            )
    assert version is not None
    return int(version)


async def _account(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"Acct {uuid.uuid4().hex[:8]}")
    response = await client.post("/api/accounts/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    "path", [*LISTS, "/api/dashboard/", "/api/crm/opportunity", "/api/crm/opportunity?cursor="]
)
async def test_a_repeated_list_is_answered_from_the_cache(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, path: str
) -> None:
    admin = await factory.admin()
    await _account(client, admin)
    first = await client.get(path, headers=admin.headers)
    assert first.status_code == 200, first.text
    with count_statements(test_database.engine) as counter:
        again = await client.get(path, headers=admin.headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == "application/json"
    # Only the membership check (which reads the org's data version), and its COMMIT.
    assert [s for s in counter.statements if not s.startswith("COMMIT")] == counter.statements[:1]


async def test_reads_leave_the_version_alone_and_writes_bump_it(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    before = await _version(test_database, admin)
    for path in LISTS:
        assert (await client.get(path, headers=admin.headers)).status_code == 200
    assert await _version(test_database, admin) == before
    await _account(client, admin)
    assert await _version(test_database, admin) > before


async def test_every_kind_of_change_shows_on_the_next_request(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    account = await _account(client, admin, name="First")

    async def listed() -> dict[str, Any]:
        response = await client.get("/api/accounts/", headers=admin.headers)
        assert response.status_code == 200
        return dict(response.json())

    assert [a["name"] for a in (await listed())["open_accounts"]] == ["First"]
    # A field change.
    await client.patch(
        f"/api/accounts/{account['id']}/", json={"name": "Renamed"}, headers=admin.headers
    )
    assert [a["name"] for a in (await listed())["open_accounts"]] == ["Renamed"]
    # A link change (only the association table changes).
    await client.patch(
        f"/api/accounts/{account['id']}/",
        json={"assigned_to": [user.profile_id], "tags": ["vip"]},
        headers=admin.headers,
    )
    item = (await listed())["open_accounts"][0]
    assert item["assigned_to"] == [user.profile_id]
    assert item["tags"] == ["vip"]
    # A lookup change elsewhere in the org: a new team.
    team = await client.post("/api/teams/", json={"name": "Closers"}, headers=admin.headers)
    assert team.status_code == 201
    assert "Closers" in [t["name"] for t in (await listed())["teams"]]
    # A deletion.
    deleted = await client.delete(f"/api/accounts/{account['id']}/", headers=admin.headers)
    assert deleted.status_code == 204
    assert (await listed())["accounts_count"] == 0


async def test_a_user_change_retires_every_org_of_that_user(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """The member lookups show e-mails; a user's e-mail changed in one org shows in the
    other orgs the user belongs to."""
    first = await factory.admin()
    second = await factory.admin()
    member = await factory.member_of(first)
    joined = await client.post(
        "/api/users/",
        json={"email": member.email, "role": "USER", "phone": "+14155550123"},
        headers=second.headers,
    )
    assert joined.status_code == 201, joined.text

    async def emails(admin: Member) -> list[str]:
        response = await client.get("/api/accounts/", headers=admin.headers)
        return [u["email"] for u in response.json()["users"]]

    assert member.email in await emails(second)
    new_email = f"renamed-{uuid.uuid4().hex[:8]}@example.com"
    changed = await client.patch(
        f"/api/user/{member.profile_id}/", json={"email": new_email}, headers=member.headers
    )
    assert changed.status_code == 200, changed.text
    assert new_email in await emails(second)
    assert member.email not in await emails(second)


async def test_callers_with_different_visibility_never_share_an_entry(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await _account(client, admin, name="Admin only")
    mine = await _account(client, user, name="Mine")
    seen_by_admin = await client.get("/api/accounts/", headers=admin.headers)
    seen_by_user = await client.get("/api/accounts/", headers=user.headers)
    assert {a["name"] for a in seen_by_admin.json()["open_accounts"]} == {"Admin only", "Mine"}
    assert [a["id"] for a in seen_by_user.json()["open_accounts"]] == [mine["id"]]


async def test_filters_and_pages_are_cached_apart(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    for name in ("Alpha", "Beta", "Gamma"):
        await _account(client, admin, name=name)
    alpha = await client.get("/api/accounts/?name=alp", headers=admin.headers)
    beta = await client.get("/api/accounts/?name=bet", headers=admin.headers)
    assert [a["name"] for a in alpha.json()["open_accounts"]] == ["Alpha"]
    assert [a["name"] for a in beta.json()["open_accounts"]] == ["Beta"]
    page_one = await client.get("/api/accounts/?limit=1", headers=admin.headers)
    page_two = await client.get("/api/accounts/?limit=1&offset=1", headers=admin.headers)
    assert page_one.json()["open_accounts"] != page_two.json()["open_accounts"]


async def test_a_refused_request_is_not_cached(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    for _ in range(2):
        response = await client.get("/api/accounts/?status=maybe", headers=admin.headers)
        assert response.status_code == 400


# -- detail views ----------------------------------------------------------------------------

DETAILS = {
    "/api/accounts/": {"name": "Detail Co"},
    "/api/contacts/": {"first_name": "Ada", "last_name": "Byron", "primary_email": "a@x.io"},
    "/api/leads/": {"first_name": "Lee", "last_name": "Dee", "account_name": "L Co"},
    "/api/opportunities/": {"name": "Deal"},
    "/api/cases/": {"name": "Broken", "status": "New", "priority": "Low"},
}


async def _created(client: httpx.AsyncClient, member: Member, base: str) -> str:
    body = dict(DETAILS[base])
    if base in ("/api/cases/", "/api/opportunities/"):
        body["account"] = (await _account(client, member))["id"]
    response = await client.post(base, json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    found = response.json()
    for key in ("id", "account_obj", "contact_obj", "lead", "opportunity_obj", "cases_obj"):
        value = found.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "id" in value:
            return str(value["id"])
    raise AssertionError(found)


@pytest.mark.parametrize("base", list(DETAILS))
async def test_a_repeated_detail_is_answered_from_the_cache_with_its_etag(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, base: str
) -> None:
    admin = await factory.admin()
    path = f"{base}{await _created(client, admin, base)}/"
    first = await client.get(path, headers=admin.headers)
    assert first.status_code == 200, first.text
    with count_statements(test_database.engine) as counter:
        again = await client.get(path, headers=admin.headers)
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert [s for s in counter.statements if not s.startswith("COMMIT")] == counter.statements[:1]

    # A conditional request always runs (and still answers the same).
    with count_statements(test_database.engine) as counter:
        checked = await client.get(path, headers={**admin.headers, "If-None-Match": "*"})
    assert checked.content == first.content
    assert len(counter.statements) > 2

    # A comment is a change of the org: the next read shows it, with the record's new tag.
    comment = await client.post(path, json={"comment": "cached no more"}, headers=admin.headers)
    assert comment.status_code in (200, 201), comment.text
    after = await client.get(path, headers=admin.headers)
    assert after.status_code == 200
    assert b"cached no more" in after.content


async def test_a_detail_hidden_by_a_reassignment_is_refused_at_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    lead = await client.post(
        "/api/leads/",
        json={"first_name": "Vis", "last_name": "Ible", "assigned_to": [user.profile_id]},
        headers=admin.headers,
    )
    assert lead.status_code == 201, lead.text
    path = f"/api/leads/{lead.json()['id']}/"
    seen = await client.get(path, headers=user.headers)
    assert seen.status_code == 200, seen.text
    assert (await client.get(path, headers=user.headers)).status_code == 200
    moved = await client.patch(path, json={"assigned_to": []}, headers=admin.headers)
    assert moved.status_code == 200, moved.text
    refused = await client.get(path, headers=user.headers)
    assert refused.status_code == 403
    assert b"Vis" not in refused.content
