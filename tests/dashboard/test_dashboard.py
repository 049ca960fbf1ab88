"""The dashboard (§3): counts and recent records, limited to what the caller may see."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx

from crm.core.db import Database
from crm.core.tenancy import bind_tenant
from crm.models import Account, Contact, Lead, Opportunity, Profile
from tests.conftest import Factory, Member
from tests.sql_count import count_statements


async def _seed(database: Database, admin: Member, user: Member) -> None:
    """Admin-created records, plus a few created by or assigned to ``user``."""
    async with database.sessionmaker() as session:
        bind_tenant(session, admin.tenant)
        user_profile = await session.get(Profile, uuid.UUID(user.profile_id))
        assert user_profile is not None
        admin_id, user_id = uuid.UUID(admin.profile_id), uuid.UUID(user.profile_id)
        accounts = [
            Account(name="Open A", status="open", created_by_id=admin_id),
            Account(name="Open B", status="open", created_by_id=user_id),
            Account(
                name="Closed C", status="closed", created_by_id=admin_id, assigned_to=[user_profile]
            ),
        ]
        session.add_all(accounts)
        session.add_all(
            [
                Contact(
                    first_name="A",
                    last_name="One",
                    primary_email="one@x.example",
                    created_by_id=admin_id,
                ),
                Contact(
                    first_name="B",
                    last_name="Two",
                    primary_email="two@x.example",
                    created_by_id=user_id,
                ),
                Lead(first_name="L", last_name="Open", status="assigned", created_by_id=admin_id),
                Lead(
                    first_name="L", last_name="Process", status="in process", created_by_id=user_id
                ),
                Lead(first_name="L", last_name="Closed", status="closed", created_by_id=admin_id),
                Lead(
                    first_name="L",
                    last_name="Converted",
                    status="converted",
                    created_by_id=admin_id,
                ),
            ]
        )
        await session.flush()
        session.add_all(
            [
                Opportunity(
                    name="O1",
                    account=accounts[0],
                    stage="QUALIFICATION",
                    amount=Decimal("10.00"),
                    created_by_id=admin_id,
                ),
                Opportunity(
                    name="O2",
                    account=accounts[0],
                    stage="CLOSED WON",
                    amount=Decimal("20.00"),
                    created_by_id=admin_id,
                ),
                Opportunity(
                    name="O3", account=accounts[1], stage="QUALIFICATION", created_by_id=user_id
                ),
            ]
        )
        await session.commit()


async def test_admin_sees_the_whole_org(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await _seed(test_database, admin, user)
    response = await client.get("/api/dashboard/", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accounts"]["open_accounts"], body["accounts"]["closed_accounts"]) == (2, 1)
    assert {a["name"] for a in body["accounts"]["accounts"]} == {
        "Open A",
        "Open B",
    }  # open ones only
    assert body["contacts"]["contacts_count"] == 2
    assert (body["leads"]["open_leads"], body["leads"]["closed_leads"]) == (
        2,
        1,
    )  # converted is gone
    assert {lead["last_name"] for lead in body["leads"]["leads"]} == {"Open", "Process"}
    assert body["opportunities"]["opportunities_count"] == 3
    assert body["opportunities"]["by_stage"] == [
        {"stage": "CLOSED WON", "count": 1},
        {"stage": "QUALIFICATION", "count": 2},
    ]
    assert {o["amount"] for o in body["opportunities"]["opportunities"]} == {"10.00", "20.00", None}
    assert (
        body["accounts_count"],
        body["contacts_count"],
        body["leads_count"],
        body["opportunities_count"],
    ) == (3, 2, 2, 3)


async def test_user_sees_only_created_or_assigned(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await _seed(test_database, admin, user)
    body = (await client.get("/api/dashboard/", headers=user.headers)).json()
    assert (body["accounts"]["open_accounts"], body["accounts"]["closed_accounts"]) == (1, 1)
    assert [a["name"] for a in body["accounts"]["accounts"]] == ["Open B"]
    assert body["contacts"]["contacts_count"] == 1
    assert (body["leads"]["open_leads"], body["leads"]["closed_leads"]) == (1, 0)
    assert body["opportunities"]["opportunities_count"] == 1
    assert (
        body["accounts_count"],
        body["contacts_count"],
        body["leads_count"],
        body["opportunities_count"],
    ) == (2, 1, 1, 1)


async def test_another_org_sees_nothing(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin, other = await factory.admin(), await factory.admin()
    user = await factory.member_of(admin)
    await _seed(test_database, admin, user)
    body = (await client.get("/api/dashboard/", headers=other.headers)).json()
    assert (
        body["accounts_count"],
        body["contacts_count"],
        body["leads_count"],
        body["opportunities_count"],
    ) == (0, 0, 0, 0)
    assert body["accounts"]["accounts"] == body["leads"]["leads"] == []


async def test_statement_count_does_not_grow_with_data(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)

    async def statements() -> int:
        with count_statements(test_database.engine) as counter:
            assert (await client.get("/api/dashboard/", headers=admin.headers)).status_code == 200
        return counter.count

    empty = await statements()
    await _seed(test_database, admin, user)
    assert await statements() == empty
