"""Accounts (§4) through the HTTP API: list split, filters, create, detail, update, delete,
visibility and isolation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from crm.core.db import Database
from crm.core.tenancy import bind_tenant, unscoped
from crm.models import Account, Attachment, Contact, Opportunity
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "name",
    "email",
    "phone",
    "industry",
    "description",
    "website",
    "status",
    "billing_address_line",
    "billing_street",
    "billing_city",
    "billing_state",
    "billing_postcode",
    "billing_country",
    "contact_name",
    "is_active",
    "lead",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
    "assigned_to",
    "teams",
    "tags",
    "contacts",
}


async def _create(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"Acct {uuid.uuid4().hex[:8]}")
    response = await client.post("/api/accounts/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _db_contact(database: Database, member: Member, email: str) -> str:
    async with database.sessionmaker() as session:
        bind_tenant(session, member.tenant)
        contact = Contact(
            first_name="Ada",
            last_name="Lovelace",
            primary_email=email,
            created_by_id=uuid.UUID(member.profile_id),
        )
        session.add(contact)
        await session.commit()
        return str(contact.id)


async def _db_opportunity(database: Database, member: Member, account_id: str, name: str) -> str:
    async with database.sessionmaker() as session:
        bind_tenant(session, member.tenant)
        opportunity = Opportunity(
            name=name, account_id=uuid.UUID(account_id), amount=Decimal("1200.50"), probability=40
        )
        session.add(opportunity)
        await session.commit()
        return str(opportunity.id)


# -- create -------------------------------------------------------------------------------


async def test_create_returns_the_item(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    team = await client.post("/api/teams/", json={"name": "Sales"}, headers=admin.headers)
    contact_id = await _db_contact(test_database, admin, "ada@example.com")
    item = await _create(
        client,
        admin,
        name="Acme",
        email="sales@acme.com",
        industry="Technology",
        billing_city="Paris",
        status="close",
        assigned_to=[user.profile_id],
        teams=[team.json()["id"]],
        tags=["Key", "Enterprise"],
        contacts=[contact_id],
    )
    assert set(item) == ITEM_KEYS
    assert item["status"] == "closed"  # Django-CRM's "close" is stored as "closed"
    assert item["assigned_to"] == [user.profile_id]
    assert item["teams"] == [team.json()["id"]]
    assert item["tags"] == ["Enterprise", "Key"]  # by name
    assert item["contacts"] == [contact_id]
    assert item["created_by"] == admin.profile_id
    assert item["org"] == admin.org_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "status": "archived"}, "status"),
        ({"name": "A", "assigned_to": ["not-a-uuid"]}, "assigned_to"),
        ({"name": "A", "assigned_to": [str(uuid.uuid4())]}, "assigned_to"),
        ({"name": "A", "teams": [str(uuid.uuid4())]}, "teams"),
        ({"name": "A", "contacts": [str(uuid.uuid4())]}, "contacts"),
        ({"name": "A", "tags": ["x" * 21]}, "tags"),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    admin = await factory.admin()
    response = await client.post("/api/accounts/", json=body, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] is True
    assert field in response.json()["errors"]


async def test_names_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin, other = await factory.admin(), await factory.admin()
    await _create(client, admin, name="Acme")
    duplicate = await client.post("/api/accounts/", json={"name": "ACME"}, headers=admin.headers)
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"name": ["Account already exists with this name"]}
    await _create(client, other, name="Acme")  # another org may use the name


async def test_another_orgs_contacts_and_members_are_refused(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin, other = await factory.admin(), await factory.admin()
    foreign_contact = await _db_contact(test_database, other, "x@example.com")
    for body in ({"contacts": [foreign_contact]}, {"assigned_to": [other.profile_id]}):
        response = await client.post(
            "/api/accounts/", json={"name": "A", **body}, headers=admin.headers
        )
        assert response.status_code == 400, response.text


async def test_list_fields_accept_the_django_crm_spellings(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    as_json_string = await _create(
        client, admin, assigned_to=f'["{user.profile_id}"]', tags='["a", "b"]'
    )
    as_commas = await _create(client, admin, assigned_to=user.profile_id, tags="c, d")
    assert as_json_string["assigned_to"] == as_commas["assigned_to"] == [user.profile_id]
    assert as_json_string["tags"] == ["a", "b"]
    assert as_commas["tags"] == ["c", "d"]


# -- list ---------------------------------------------------------------------------------


async def test_list_splits_open_and_closed_with_totals(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    for n in range(3):
        await _create(client, admin, name=f"Open {n}")
    await _create(client, admin, name="Shut", status="closed")
    response = await client.get("/api/accounts/?limit=2", headers=admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert [a["name"] for a in body["open_accounts"]] == ["Open 2", "Open 1"]  # newest first
    assert [a["name"] for a in body["closed_accounts"]] == ["Shut"]
    assert (body["open_accounts_count"], body["closed_accounts_count"], body["accounts_count"]) == (
        3,
        1,
        4,
    )
    assert body["next_open"] == "/api/accounts/?limit=2&offset=2"
    assert body["next_closed"] is None
    assert body["status"] == ["open", "closed"]
    assert {"contacts", "users", "teams", "tags"} <= set(body)
    second = (await client.get("/api/accounts/?limit=2&offset=2", headers=admin.headers)).json()
    assert [a["name"] for a in second["open_accounts"]] == ["Open 0"]


async def test_list_filters(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await _create(
        client, admin, name="Acme Rockets", billing_city="Paris", industry="Aerospace", tags=["Key"]
    )
    await _create(
        client,
        admin,
        name="Globex",
        billing_city="PARISIAN Hills",
        industry="Energy",
        assigned_to=[user.profile_id],
    )
    await _create(
        client,
        admin,
        name="Initech",
        billing_city="Austin",
        industry="Software",
        status="closed",
        tags=["key"],
    )

    async def names(query: str) -> set[str]:
        response = await client.get(f"/api/accounts/?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return {a["name"] for a in body["open_accounts"] + body["closed_accounts"]}

    assert await names("name=ROCK") == {"Acme Rockets"}
    assert await names("city=paris") == {"Acme Rockets", "Globex"}
    assert await names("industry=soft") == {"Initech"}
    assert await names("tags=KEY") == {"Acme Rockets", "Initech"}
    assert await names(f"assigned_to={user.profile_id}") == {"Globex"}
    assert await names("status=close") == {"Initech"}
    assert await names("name=acme&city=austin") == set()
    bad = await client.get("/api/accounts/?assigned_to=nope", headers=admin.headers)
    assert bad.status_code == 400
    bad_status = await client.get("/api/accounts/?status=archived", headers=admin.headers)
    assert bad_status.status_code == 400


async def test_list_statement_count_does_not_grow_with_page_size(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    users = [await factory.member_of(admin) for _ in range(3)]
    team = (await client.post("/api/teams/", json={"name": "T"}, headers=admin.headers)).json()[
        "id"
    ]
    for n in range(12):
        contact = await _db_contact(test_database, admin, f"c{n}@example.com")
        await _create(
            client,
            admin,
            name=f"A{n}",
            status="open" if n % 3 else "closed",
            tags=[f"t{n}", "all"],
            assigned_to=[u.profile_id for u in users[: n % 3 + 1]],
            teams=[team],
            contacts=[contact],
        )
    counts = []
    for limit in (2, 100):
        with count_statements(test_database.engine) as counter:
            response = await client.get(f"/api/accounts/?limit={limit}", headers=admin.headers)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


# -- detail, update, delete ---------------------------------------------------------------


async def test_detail_has_every_related_list(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    contact_id = await _db_contact(test_database, admin, "ada@example.com")
    account = await _create(
        client,
        admin,
        name="Acme",
        contacts=[contact_id],
        assigned_to=[user.profile_id],
        tags=["Key"],
    )
    opportunity_id = await _db_opportunity(test_database, admin, account["id"], "Big deal")
    response = await client.get(f"/api/accounts/{account['id']}/", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["account_obj"]["id"] == account["id"]
    for key in (
        "contacts",
        "opportunities",
        "cases",
        "tasks",
        "invoices",
        "assigned_to",
        "teams",
        "comments",
        "attachments",
        "users_mention",
        "tags",
    ):
        assert key in body, key
    assert [c["id"] for c in body["contacts"]] == [contact_id]
    assert [o["id"] for o in body["opportunities"]] == [opportunity_id]
    assert body["opportunities"][0]["amount"] == "1200.50"
    assert body["assigned_to"][0]["email"] == user.email
    assert body["tags"] == ["Key"]
    assert body["comment_permission"] is True
    assert {"user__email": admin.email} in body["users_mention"]


async def test_update_is_partial_for_put_and_patch(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    account = await _create(
        client, admin, name="Acme", phone="+100", tags=["Key"], assigned_to=[user.profile_id]
    )
    for method in ("PUT", "PATCH"):
        response = await client.request(
            method,
            f"/api/accounts/{account['id']}/",
            json={"website": f"https://{method.lower()}.example.com"},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["website"] == f"https://{method.lower()}.example.com"
        assert (updated["name"], updated["phone"], updated["tags"], updated["assigned_to"]) == (
            "Acme",
            "+100",
            ["Key"],
            [user.profile_id],
        )
    cleared = await client.patch(
        f"/api/accounts/{account['id']}/", json={"tags": [], "phone": None}, headers=admin.headers
    )
    assert (cleared.json()["tags"], cleared.json()["phone"]) == ([], None)
    renamed = await client.patch(
        f"/api/accounts/{account['id']}/", json={"name": "ACME"}, headers=admin.headers
    )
    assert renamed.status_code == 200  # a new case of its own name is not a duplicate
    other = await _create(client, admin, name="Other")
    clash = await client.patch(
        f"/api/accounts/{other['id']}/", json={"name": "acme"}, headers=admin.headers
    )
    assert clash.status_code == 400


async def test_delete_cascades_to_opportunities(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    account = await _create(client, admin)
    await _db_opportunity(test_database, admin, account["id"], "Doomed")
    response = await client.delete(f"/api/accounts/{account['id']}/", headers=admin.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (
        await client.get(f"/api/accounts/{account['id']}/", headers=admin.headers)
    ).status_code == 404
    async with test_database.sessionmaker() as session:
        bind_tenant(session, admin.tenant)
        assert await session.scalar(select(func.count()).select_from(Opportunity)) == 0
        assert await session.scalar(select(func.count()).select_from(Account)) == 0


# -- visibility and isolation -------------------------------------------------------------


async def test_users_see_only_what_they_created_or_are_assigned(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    alice, bob = await factory.member_of(admin), await factory.member_of(admin)
    mine = await _create(client, alice, name="Alice's")
    assigned = await _create(
        client, admin, name="Assigned to Alice", assigned_to=[alice.profile_id]
    )
    hidden = await _create(client, admin, name="Admin only")

    listed = (await client.get("/api/accounts/", headers=alice.headers)).json()
    assert {a["name"] for a in listed["open_accounts"]} == {"Alice's", "Assigned to Alice"}
    assert listed["open_accounts_count"] == 2
    assert (await client.get("/api/accounts/", headers=admin.headers)).json()[
        "open_accounts_count"
    ] == 3

    before = await checksum(test_database)
    assert (
        await client.get(f"/api/accounts/{hidden['id']}/", headers=alice.headers)
    ).json() == DENIED
    assert (
        await client.patch(
            f"/api/accounts/{hidden['id']}/", json={"name": "x"}, headers=alice.headers
        )
    ).status_code == 403
    assert (
        await client.delete(f"/api/accounts/{hidden['id']}/", headers=alice.headers)
    ).status_code == 403
    # An assignee may change the account but not delete it.
    assert (
        await client.patch(
            f"/api/accounts/{assigned['id']}/", json={"name": "Renamed"}, headers=bob.headers
        )
    ).status_code == 403
    assert await checksum(test_database) == before
    assert (
        await client.patch(
            f"/api/accounts/{assigned['id']}/", json={"phone": "+1"}, headers=alice.headers
        )
    ).status_code == 200
    assert (
        await client.delete(f"/api/accounts/{assigned['id']}/", headers=alice.headers)
    ).status_code == 403
    assert (
        await client.delete(f"/api/accounts/{mine['id']}/", headers=alice.headers)
    ).status_code == 204


async def test_another_orgs_account_answers_like_a_missing_one(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    owner, intruder = await factory.admin(), await factory.admin()
    account = await _create(client, owner, name="Secret")
    before = await checksum(test_database)
    for method, body in (
        ("GET", None),
        ("PUT", {"name": "x"}),
        ("PATCH", {"name": "x"}),
        ("DELETE", None),
    ):
        response = await client.request(
            method, f"/api/accounts/{account['id']}/", json=body, headers=intruder.headers
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    listed = (await client.get("/api/accounts/?name=Secret", headers=intruder.headers)).json()
    assert listed["accounts_count"] == 0
    assert await checksum(test_database) == before


async def test_detail_lists_activity_and_delete_removes_files(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, app: Any
) -> None:
    admin = await factory.admin()
    account = await _create(client, admin, name="Filed")
    opportunity_id = await _db_opportunity(test_database, admin, account["id"], "Filed deal")
    comment = await client.post(
        f"/api/accounts/{account['id']}/", json={"comment": "Called them"}, headers=admin.headers
    )
    assert comment.status_code == 201, comment.text
    for url in (f"/api/accounts/{account['id']}/", f"/api/opportunities/{opportunity_id}/"):
        upload = await client.post(
            url, files={"attachment": ("notes.txt", b"hello", "text/plain")}, headers=admin.headers
        )
        assert upload.status_code == 201, upload.text
    detail = (await client.get(f"/api/accounts/{account['id']}/", headers=admin.headers)).json()
    assert [c["comment"] for c in detail["comments"]] == ["Called them"]
    assert [a["file_name"] for a in detail["attachments"]] == ["notes.txt"]

    async with test_database.sessionmaker() as session:
        with unscoped(session):
            keys = list((await session.execute(select(Attachment.storage_key))).scalars())
    paths = [app.state.storage.path_of(key) for key in keys]
    assert len(paths) == 2
    assert all(p.exists() for p in paths)
    assert (
        await client.delete(f"/api/accounts/{account['id']}/", headers=admin.headers)
    ).status_code == 204
    assert not any(p.exists() for p in paths)  # the account's file and its opportunity's


async def test_account_assignees_see_and_comment_on_its_contacts(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    contact_id = await _db_contact(test_database, admin, "listed@example.com")
    unlisted_id = await _db_contact(test_database, admin, "unlisted@example.com")
    assert (
        await client.post(
            f"/api/contacts/{contact_id}/", json={"comment": "x"}, headers=user.headers
        )
    ).status_code == 403
    await _create(client, admin, contacts=[contact_id], assigned_to=[user.profile_id])
    comment = await client.post(
        f"/api/contacts/{contact_id}/", json={"comment": "Spoke to them"}, headers=user.headers
    )
    assert comment.status_code == 201, comment.text
    assert (
        await client.get(f"/api/contacts/{contact_id}/", headers=user.headers)
    ).status_code == 200
    assert (
        await client.get(f"/api/contacts/{unlisted_id}/", headers=user.headers)
    ).status_code == 403
    dashboard = (await client.get("/api/dashboard/", headers=user.headers)).json()
    assert dashboard["contacts_count"] == 1
