"""Lead conversion (§6.5): on create (``status: converted`` or ``auto_convert``) and on
update; what it creates and copies; its preconditions; all or nothing; irreversible."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from crm.activity.service import ActivityService
from crm.core.db import Database
from crm.core.errors import ValidationFailed
from crm.models import Account, Attachment, Comment, Contact, Lead, Opportunity
from tests.activity.records import add_attachment, add_comment, count_rows
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.leads.kit import WRITE_KEYS, count, create_lead, db_contact, db_opportunity, load

REQUIRED = ["This field is required."]


async def _team(client: httpx.AsyncClient, admin: Member) -> str:
    response = await client.post("/api/teams/", json={"name": "Sales"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _convertible(**extra: Any) -> dict[str, Any]:
    return {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@acme.com",
        "account_name": "Acme",
        **extra,
    }


@pytest.mark.parametrize("trigger", [{"auto_convert": True}, {"status": "Converted"}])
async def test_create_converts_into_account_contact_and_opportunity(
    client: httpx.AsyncClient, factory: Factory, test_database: Database, trigger: dict[str, Any]
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    team = await _team(client, admin)
    linked = await db_contact(test_database, admin, "linked@example.com")
    body = await create_lead(
        client,
        admin,
        **_convertible(
            phone="+14155550100",
            website="https://acme.com",
            description="Wants 500 seats",
            opportunity_amount="1000",
            probability=60,
            close_date="2031-03-01",
            source="Referral",
            address_line="1 Main St",
            street="Main",
            city="Springfield",
            state="IL",
            postcode="62701",
            country="USA",
            assigned_to=[user.profile_id],
            teams=[team],
            tags=["Hot"],
            contacts=[linked],
            **trigger,
        ),
    )
    assert set(body) == WRITE_KEYS
    assert body["status"] == "converted"
    account, contact, opportunity = (
        body["converted_account"],
        body["converted_contact"],
        body["converted_opportunity"],
    )
    assert (body["account_id"], body["contact_id"], body["opportunity_id"]) == (
        account["id"],
        contact["id"],
        opportunity["id"],
    )
    # The account: name, e-mail, phone, website, description, billing address, links.
    assert (account["name"], account["email"], account["phone"]) == (
        "Acme",
        "jane@acme.com",
        "+14155550100",
    )
    assert (account["website"], account["description"], account["lead"]) == (
        "https://acme.com",
        "Wants 500 seats",
        body["id"],
    )
    assert (account["billing_address_line"], account["billing_city"]) == (
        "1 Main St",
        "Springfield",
    )
    assert (account["billing_state"], account["billing_postcode"], account["billing_country"]) == (
        "IL",
        "62701",
        "USA",
    )
    assert account["billing_street"] == "Main"
    assert (account["assigned_to"], account["teams"], account["tags"]) == (
        [user.profile_id],
        [team],
        ["Hot"],
    )
    assert set(account["contacts"]) == {contact["id"], linked}
    assert account["created_by"] == admin.profile_id
    # The contact, new: made from the lead.
    assert (contact["first_name"], contact["last_name"], contact["primary_email"]) == (
        "Jane",
        "Doe",
        "jane@acme.com",
    )
    assert contact["mobile_number"] == "+14155550100"
    row = await load(test_database, admin, Contact, contact["id"])
    assert (row.organization, row.description, row.city, row.postcode) == (
        "Acme",
        "Wants 500 seats",
        "Springfield",
        "62701",
    )
    assert [p.id for p in row.assigned_to] == [uuid.UUID(user.profile_id)]
    assert [t.name for t in row.tags] == ["Hot"]
    assert [t.id for t in row.teams] == [uuid.UUID(team)]
    # The opportunity.
    assert opportunity["name"] == "Acme - Jane Doe"
    assert (opportunity["stage"], opportunity["amount"], opportunity["probability"]) == (
        "QUALIFICATION",
        "1000.00",
        60,
    )
    assert opportunity["expected_close_date"] == "2031-03-01"
    deal = await load(test_database, admin, Opportunity, opportunity["id"])
    assert (deal.account_id, deal.lead_id) == (uuid.UUID(account["id"]), uuid.UUID(body["id"]))
    assert (deal.lead_source, deal.description, deal.amount) == (
        "Referral",
        "Wants 500 seats",
        Decimal("1000.00"),
    )
    assert deal.expected_close_date == date(2031, 3, 1)
    assert [c.id for c in deal.contacts] == [uuid.UUID(contact["id"])]
    assert [p.id for p in deal.assigned_to] == [uuid.UUID(user.profile_id)]
    assert [t.id for t in deal.teams] == [uuid.UUID(team)]
    assert [t.name for t in deal.tags] == ["Hot"]
    assert deal.created_by_id == uuid.UUID(admin.profile_id)
    # The lead records what it became, leaves the lists, and stays readable.
    lead = await load(test_database, admin, Lead, body["id"])
    assert (
        lead.converted_account_id,
        lead.converted_contact_id,
        lead.converted_opportunity_id,
    ) == (
        uuid.UUID(account["id"]),
        uuid.UUID(contact["id"]),
        uuid.UUID(opportunity["id"]),
    )
    listed = (await client.get("/api/leads/", headers=admin.headers)).json()
    assert listed["leads_count"] == 0
    detail = (await client.get(f"/api/leads/{body['id']}/", headers=admin.headers)).json()
    assert detail["lead_obj"]["status"] == "converted"
    assert detail["lead_obj"]["converted_account"] == account["id"]
    assert detail["converted_account"]["id"] == account["id"]
    assert detail["converted_contact"]["id"] == contact["id"]
    assert detail["converted_opportunity"]["id"] == opportunity["id"]
    # The new records are real records of the org.
    assert (
        await client.get(f"/api/accounts/{account['id']}/", headers=user.headers)
    ).status_code == 200


async def test_update_converts_reusing_the_orgs_contact_and_moving_activity(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    existing = await db_contact(
        test_database, admin, "Jane@Acme.com", first_name="Janet", mobile_number="+1999"
    )
    lead = await create_lead(client, user, first_name="Jane", last_name="Doe")
    comment = await add_comment(client, user, "leads", lead["id"], "Met at the fair")
    attachment = await add_attachment(client, user, "leads", lead["id"])
    contacts_before = await count(test_database, admin, Contact)

    response = await client.patch(
        f"/api/leads/{lead['id']}/",
        json={"status": "converted", "email": "JANE@acme.com", "account_name": "Acme"},
        headers=user.headers,  # the creator, not an admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "converted"
    assert body["email"] == "JANE@acme.com"
    assert body["converted_contact"]["id"] == existing  # matched case-insensitively
    assert await count(test_database, admin, Contact) == contacts_before
    reused = await load(test_database, admin, Contact, existing)
    assert (reused.first_name, reused.mobile_number, reused.assigned_to) == ("Janet", "+1999", [])
    assert existing in body["converted_account"]["contacts"]
    assert body["converted_account"]["created_by"] == user.profile_id
    # Comments and attachments now belong to the account.
    account_id = body["account_id"]
    assert await count_rows(test_database, Comment, account_id=account_id) == 1
    assert await count_rows(test_database, Attachment, account_id=account_id) == 1
    assert await count_rows(test_database, Comment, lead_id=lead["id"]) == 0
    assert await count_rows(test_database, Attachment, lead_id=lead["id"]) == 0
    detail = (await client.get(f"/api/leads/{lead['id']}/", headers=user.headers)).json()
    assert (detail["comments"], detail["attachments"]) == ([], [])
    moved = await client.put(
        f"/api/accounts/comment/{comment['id']}/", json={"comment": "edited"}, headers=user.headers
    )
    assert moved.status_code == 200, moved.text
    download = await client.get(
        f"/api/accounts/attachment/{attachment['id']}/", headers=user.headers
    )
    assert download.status_code == 200


async def test_opportunity_names_are_cut_to_64_and_made_unique(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    await db_opportunity(test_database, admin, "ACME - Jane Doe")
    first = await create_lead(client, admin, **_convertible(auto_convert=True))
    assert first["converted_opportunity"]["name"] == "Acme - Jane Doe (2)"
    long_name = "L" * 60
    second = await create_lead(
        client,
        admin,
        **_convertible(account_name=long_name, email="other@example.com", auto_convert=True),
    )
    assert second["converted_opportunity"]["name"] == f"{long_name} - J"
    assert second["converted_account"]["name"] == long_name


# -- preconditions and atomicity ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"email": REQUIRED, "account_name": REQUIRED}),
        ({"email": "jane@acme.com"}, {"account_name": REQUIRED}),
        ({"account_name": "Acme", "email": ""}, {"email": REQUIRED}),
        (
            {"account_name": "x" * 65, "email": "jane@acme.com"},
            {"account_name": ["Ensure this field has no more than 64 characters."]},
        ),
        (
            {"account_name": "OLD CUSTOMER", "email": "jane@acme.com"},
            {"account_name": ["Account already exists with this name"]},
        ),
    ],
)
@pytest.mark.parametrize("trigger", [{"auto_convert": True}, {"status": "converted"}])
async def test_preconditions_refuse_and_write_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    body: dict[str, Any],
    errors: dict[str, list[str]],
    trigger: dict[str, Any],
) -> None:
    admin = await factory.admin()
    existing = await client.post(
        "/api/accounts/", json={"name": "Old customer"}, headers=admin.headers
    )
    assert existing.status_code == 201
    lead = await create_lead(client, admin, first_name="Jane", last_name="Doe")
    before = await checksum(test_database)
    created = await client.post(
        "/api/leads/",
        json={"first_name": "Jane", "last_name": "Doe", **body, **trigger},
        headers=admin.headers,
    )
    assert created.status_code == 400, created.text
    assert created.json()["errors"] == errors
    updated = await client.patch(
        f"/api/leads/{lead['id']}/", json={**body, **trigger}, headers=admin.headers
    )
    assert updated.status_code == 400, updated.text
    assert updated.json()["errors"] == errors
    assert await checksum(test_database) == before


async def test_a_failure_midway_leaves_nothing_behind(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last step (moving comments) fails after the account, contact and opportunity
    were flushed: the request's transaction takes all of them back."""
    admin = await factory.admin()
    lead = await create_lead(client, admin, **_convertible(tags=["Hot"]))
    await add_comment(client, admin, "leads", lead["id"])
    calls: list[str] = []

    async def failing_move(self: ActivityService, *args: Any) -> None:
        calls.append("move")
        raise ValidationFailed("storage hiccup", code="injected")

    monkeypatch.setattr(ActivityService, "move", failing_move)
    before = await checksum(test_database)
    converted = await client.patch(
        f"/api/leads/{lead['id']}/",
        json={"status": "converted", "description": "changed too"},
        headers=admin.headers,
    )
    assert converted.status_code == 400, converted.text
    created = await client.post(
        "/api/leads/",
        json=_convertible(email="new@acme.com", auto_convert=True),
        headers=admin.headers,
    )
    assert created.status_code == 400, created.text
    assert calls == ["move", "move"]
    assert await checksum(test_database) == before
    for model in (Account, Contact, Opportunity):
        assert await count(test_database, admin, model) == 0
    unchanged = await load(test_database, admin, Lead, lead["id"])
    assert (unchanged.status, unchanged.description, unchanged.converted_account_id) == (
        "assigned",
        None,
        None,
    )


# -- irreversible ---------------------------------------------------------------------------


async def test_conversion_is_irreversible(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    lead = await create_lead(client, admin, **_convertible(auto_convert=True))
    url = f"/api/leads/{lead['id']}/"
    before = await checksum(test_database)
    for body, code in (
        ({"status": "assigned"}, "conversion_irreversible"),
        ({"status": "closed", "title": "x"}, "conversion_irreversible"),
        ({"status": "converted"}, "lead_already_converted"),
        ({"auto_convert": True}, "lead_already_converted"),
        ({"auto_convert": True, "account_name": "Another"}, "lead_already_converted"),
    ):
        response = await client.patch(url, json=body, headers=admin.headers)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == code
        assert "status" in response.json()["errors"]
    assert await checksum(test_database) == before
    # Other fields of a converted lead may still change; it stays converted.
    edited = await client.patch(url, json={"description": "history"}, headers=admin.headers)
    assert edited.status_code == 200
    assert edited.json()["status"] == "converted"
    assert edited.json()["converted_account"]["id"] == lead["account_id"]
    assert await count(test_database, admin, Account) == 1
