"""Leads (§6) through the HTTP API: create, list split and filters, detail, update, delete,
visibility and isolation. Conversion and website capture have their own modules."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from crm.core.storage import LocalStorage
from tests.activity.records import add_attachment, add_comment, stored_files
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.leads.kit import ITEM_KEYS, WRITE_KEYS, create_lead, db_contact
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements


async def _company(client: httpx.AsyncClient, member: Member, name: str = "") -> str:
    response = await client.post(
        "/api/leads/companies/",
        json={"name": name or f"Co {uuid.uuid4().hex[:8]}"},
        headers=member.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _team(client: httpx.AsyncClient, admin: Member, name: str = "Sales") -> str:
    response = await client.post("/api/teams/", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# -- create -------------------------------------------------------------------------------


async def test_create_returns_the_item(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    team = await _team(client, admin)
    company = await _company(client, admin)
    contact = await db_contact(test_database, admin, "ada@example.com")
    item = await create_lead(
        client,
        admin,
        title="Demo request",
        first_name="Robert",
        last_name="Johnson",
        email="robert@bigcorp.com",
        phone="+1555987654",
        status="In  Process",
        source="Cold Call",
        account_name="Big Corp Industries",
        website="https://bigcorp.com",
        description="500+ users",
        opportunity_amount="75000",
        probability=40,
        close_date="2030-01-31",
        industry="Software",
        organization="Big Corp",
        skype_ID="robert.j",
        enquiry_type="Demo",
        company=company,
        address_line="789 Corporate Blvd",
        street="Main",
        city="Dallas",
        state="TX",
        postcode="75201",
        country="USA",
        contacts=[contact],
        assigned_to=[user.profile_id],
        teams=[team],
        tags=["Enterprise", "qualified"],
    )
    assert set(item) == WRITE_KEYS
    assert item["status"] == "in process"  # case and spacing folded, stored lower case
    assert item["opportunity_amount"] == "75000.00"
    assert item["probability"] == 40
    assert item["close_date"] == "2030-01-31"
    assert item["skype_ID"] == "robert.j"
    assert item["company"] == company
    assert item["contacts"] == [contact]
    assert item["assigned_to"] == [user.profile_id]
    assert item["teams"] == [team]
    assert item["tags"] == ["Enterprise", "qualified"]
    assert (item["created_by"], item["org"]) == (admin.profile_id, admin.org_id)
    assert item["created_from_site"] is False
    for key in ("converted_account", "converted_contact", "converted_opportunity"):
        assert item[key] is None
    for key in ("account_id", "contact_id", "opportunity_id"):
        assert item[key] is None


async def test_create_defaults(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    item = await create_lead(client, admin, first_name="Jane", last_name="Doe", email="")
    assert (item["status"], item["probability"], item["email"]) == ("assigned", 0, None)
    assert (item["title"], item["opportunity_amount"], item["company"]) == (None, None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_name": "Doe"}, "first_name"),
        ({"first_name": "Jane"}, "last_name"),
        ({"first_name": "  ", "last_name": "Doe"}, "first_name"),
        ({"email": "not-an-email"}, "email"),
        ({"status": "archived"}, "status"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"title": "x" * 65}, "title"),
        ({"phone": "1" * 33}, "phone"),
        ({"opportunity_amount": "-5"}, "opportunity_amount"),
        ({"opportunity_amount": "1.234"}, "opportunity_amount"),
        ({"close_date": "someday"}, "close_date"),
        ({"skype_ID": "s" * 101}, "skype_ID"),
        ({"company": str(uuid.uuid4())}, "company"),
        ({"company": "nope"}, "company"),
        ({"contacts": [str(uuid.uuid4())]}, "contacts"),
        ({"assigned_to": [str(uuid.uuid4())]}, "assigned_to"),
        ({"teams": [str(uuid.uuid4())]}, "teams"),
        ({"tags": ["x" * 21]}, "tags"),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx.AsyncClient,
    factory: Factory,
    test_database: Database,
    body: dict[str, Any],
    field: str,
) -> None:
    admin = await factory.admin()
    names = {"first_name": "Jane", "last_name": "Doe"}
    full = body if names.keys() & body.keys() else {**names, **body}
    before = await checksum(test_database)
    response = await client.post("/api/leads/", json=full, headers=admin.headers)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"], response.json()
    assert await checksum(test_database) == before


async def test_another_orgs_company_contacts_and_members_are_refused(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin, other = await factory.admin(), await factory.admin()
    foreign = {
        "company": await _company(client, other),
        "contacts": [await db_contact(test_database, other, "x@example.com")],
        "assigned_to": [other.profile_id],
    }
    for field, value in foreign.items():
        response = await client.post(
            "/api/leads/",
            json={"first_name": "A", "last_name": "B", field: value},
            headers=admin.headers,
        )
        assert response.status_code == 400, response.text
        assert field in response.json()["errors"]


# -- list ---------------------------------------------------------------------------------


async def test_list_splits_open_and_closed_and_never_lists_converted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.admin()
    for n, status in enumerate(("assigned", "in process", "recycled")):
        await create_lead(client, admin, first_name=f"Open{n}", status=status)
    await create_lead(client, admin, first_name="Shut", status="closed")
    await create_lead(
        client,
        admin,
        first_name="Won",
        email="won@example.com",
        account_name="Won Inc",
        auto_convert=True,
    )
    await _company(client, admin, "Tech Corp")
    response = await client.get("/api/leads/?limit=2", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [lead["first_name"] for lead in body["open_leads"]] == ["Open2", "Open1"]
    assert [lead["first_name"] for lead in body["closed_leads"]] == ["Shut"]
    assert (body["open_leads_count"], body["closed_leads_count"], body["leads_count"]) == (3, 1, 4)
    assert body["next_open"] == "/api/leads/?limit=2&offset=2"
    assert body["next_closed"] is None
    assert set(body["open_leads"][0]) == ITEM_KEYS
    assert body["source_list"][:4] == ["Website Form", "Cold Call", "Referral", "Trade Show"]
    assert body["status"] == ["assigned", "in process", "converted", "recycled", "closed"]
    assert body["users"] == [{"id": admin.profile_id, "email": admin.email}]
    assert [c["name"] for c in body["companies"]] == ["Tech Corp"]
    assert {"contacts", "tags"} <= set(body)
    second = (await client.get("/api/leads/?limit=2&offset=2", headers=admin.headers)).json()
    assert [lead["first_name"] for lead in second["open_leads"]] == ["Open0"]
    assert second["closed_leads"] == []


async def test_list_filters(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    await create_lead(
        client,
        admin,
        first_name="Jane",
        last_name="Prospect",
        title="Product demo",
        source="Website Form",
        city="Seattle",
        email="jane@prospect.com",
        tags=["Hot"],
    )
    await create_lead(
        client,
        admin,
        first_name="Rob",
        last_name="Janeway",
        title="Pricing",
        source="Cold Call",
        city="NORTH SEATTLE",
        assigned_to=[user.profile_id],
        status="in process",
    )
    await create_lead(
        client,
        admin,
        first_name="Zed",
        last_name="Zulu",
        title="Demo again",
        source="website form",
        status="closed",
        tags=["hot"],
        email="zed@zulu.org",
    )

    async def names(query: str) -> set[str]:
        response = await client.get(f"/api/leads/?{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return {lead["first_name"] for lead in body["open_leads"] + body["closed_leads"]}

    assert await names("name=JANE") == {"Jane", "Rob"}  # first OR last name, partial
    assert await names("title=demo") == {"Jane", "Zed"}
    assert await names("source=WEBSITE%20FORM") == {"Jane", "Zed"}
    assert await names("source=Website") == set()  # enum filters match exactly
    assert await names("city=seattle") == {"Jane", "Rob"}
    assert await names("email=PROSPECT") == {"Jane"}
    assert await names("tags=HOT") == {"Jane", "Zed"}
    assert await names(f"assigned_to={user.profile_id}") == {"Rob"}
    assert await names("status=In%20Process") == {"Rob"}
    assert await names("status=CLOSED") == {"Zed"}
    assert await names("status=converted") == set()
    assert await names("name=jane&city=north") == {"Rob"}
    for bad in ("assigned_to=nope", "status=archived"):
        response = await client.get(f"/api/leads/?{bad}", headers=admin.headers)
        assert response.status_code == 400, bad


async def test_list_statement_count_does_not_grow_with_page_size(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    users = [await factory.member_of(admin) for _ in range(3)]
    team = await _team(client, admin, "T")
    company = await _company(client, admin)
    for n in range(12):
        contact = await db_contact(test_database, admin, f"c{n}@example.com")
        await create_lead(
            client,
            admin,
            first_name=f"L{n}",
            status="assigned" if n % 3 else "closed",
            tags=[f"t{n}", "all"],
            assigned_to=[u.profile_id for u in users[: n % 3 + 1]],
            teams=[team],
            contacts=[contact],
            company=company,
        )
    counts = []
    for limit in (2, 100):
        with count_statements(test_database.engine) as counter:
            response = await client.get(f"/api/leads/?limit={limit}", headers=admin.headers)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


# -- detail, update, delete ---------------------------------------------------------------


async def test_detail_shape(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    team = await _team(client, admin)
    contact = await db_contact(test_database, admin, "ada@example.com")
    lead = await create_lead(
        client,
        admin,
        city="Seattle",
        postcode="98101",
        contacts=[contact],
        assigned_to=[user.profile_id],
        teams=[team],
        tags=["demo"],
    )
    await add_comment(client, admin, "leads", lead["id"], "Call on Tuesday")
    response = await client.get(f"/api/leads/{lead['id']}/", headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "lead_obj",
        "address_obj",
        "assigned_to",
        "teams",
        "comments",
        "attachments",
        "contacts",
        "users_mention",
        "tags",
        "converted_account",
        "converted_contact",
        "converted_opportunity",
    }
    assert set(body["lead_obj"]) == ITEM_KEYS
    assert body["lead_obj"]["id"] == lead["id"]
    assert body["address_obj"] == {
        "address_line": None,
        "street": None,
        "city": "Seattle",
        "state": None,
        "postcode": "98101",
        "country": None,
    }
    assert set(body["assigned_to"][0]) >= MEMBER_BRIEF_KEYS
    assert body["assigned_to"][0]["email"] == user.email
    assert body["teams"] == [{"id": team, "name": "Sales"}]
    assert [c["id"] for c in body["contacts"]] == [contact]
    assert body["contacts"][0]["primary_email"] == "ada@example.com"
    assert [c["comment"] for c in body["comments"]] == ["Call on Tuesday"]
    assert body["attachments"] == []
    assert body["tags"] == ["demo"]
    assert {"user__email": admin.email} in body["users_mention"]
    assert body["converted_account"] is None


async def test_update_is_partial_for_put_and_patch(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    user = await factory.member_of(admin)
    contact = await db_contact(test_database, admin, "ada@example.com")
    company = await _company(client, admin)
    lead = await create_lead(
        client,
        admin,
        first_name="Jane",
        phone="+100",
        tags=["Key"],
        assigned_to=[user.profile_id],
        contacts=[contact],
        company=company,
        opportunity_amount="50000.00",
    )
    for method in ("PUT", "PATCH"):
        response = await client.request(
            method,
            f"/api/leads/{lead['id']}/",
            json={"description": f"after {method}", "opportunity_amount": "60000.5"},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert set(updated) == WRITE_KEYS
        assert updated["description"] == f"after {method}"
        assert updated["opportunity_amount"] == "60000.50"
        assert (
            updated["first_name"],
            updated["phone"],
            updated["tags"],
            updated["assigned_to"],
            updated["contacts"],
            updated["company"],
            updated["status"],
        ) == ("Jane", "+100", ["Key"], [user.profile_id], [contact], company, "assigned")
    cleared = await client.patch(
        f"/api/leads/{lead['id']}/",
        json={"tags": [], "phone": None, "company": None, "contacts": [], "skype_ID": "sk"},
        headers=admin.headers,
    )
    assert cleared.status_code == 200, cleared.text
    body = cleared.json()
    assert (body["tags"], body["phone"], body["company"], body["contacts"]) == ([], None, None, [])
    assert body["skype_ID"] == "sk"
    closed = await client.patch(
        f"/api/leads/{lead['id']}/", json={"status": "Closed"}, headers=admin.headers
    )
    assert closed.json()["status"] == "closed"
    # first and last name stay required: null is ignored, blank refused
    kept = await client.patch(
        f"/api/leads/{lead['id']}/", json={"first_name": None}, headers=admin.headers
    )
    assert kept.json()["first_name"] == "Jane"
    blank = await client.patch(
        f"/api/leads/{lead['id']}/", json={"first_name": " "}, headers=admin.headers
    )
    assert blank.status_code == 400


async def test_delete_takes_comments_and_files_along(
    client: httpx.AsyncClient, factory: Factory, app: Any, tmp_path: Path
) -> None:
    app.state.storage = LocalStorage(tmp_path / "files")
    admin = await factory.admin()
    lead = await create_lead(client, admin)
    kept = await create_lead(client, admin)
    await add_comment(client, admin, "leads", lead["id"])
    await add_attachment(client, admin, "leads", lead["id"])
    await add_attachment(client, admin, "leads", kept["id"])
    assert len(stored_files(tmp_path / "files")) == 2
    response = await client.delete(f"/api/leads/{lead['id']}/", headers=admin.headers)
    assert (response.status_code, response.content) == (204, b"")
    assert (await client.get(f"/api/leads/{lead['id']}/", headers=admin.headers)).status_code == 404
    assert len(stored_files(tmp_path / "files")) == 1  # removed once the deletion committed


# -- visibility and isolation -------------------------------------------------------------


async def test_users_see_and_change_only_what_they_created_or_are_assigned(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    admin = await factory.admin()
    alice, bob = await factory.member_of(admin), await factory.member_of(admin)
    mine = await create_lead(client, alice, first_name="Alice's")
    assigned = await create_lead(
        client, admin, first_name="Assigned", assigned_to=[alice.profile_id]
    )
    hidden = await create_lead(client, admin, first_name="Hidden", status="closed")

    listed = (await client.get("/api/leads/", headers=alice.headers)).json()
    assert {lead["first_name"] for lead in listed["open_leads"]} == {"Alice's", "Assigned"}
    assert (listed["open_leads_count"], listed["closed_leads_count"]) == (2, 0)
    everything = (await client.get("/api/leads/", headers=admin.headers)).json()
    assert (everything["open_leads_count"], everything["closed_leads_count"]) == (2, 1)

    before = await checksum(test_database)
    url = f"/api/leads/{hidden['id']}/"
    assert (await client.get(url, headers=alice.headers)).json() == DENIED
    for method, body in (("PUT", {"title": "x"}), ("PATCH", {"title": "x"}), ("DELETE", None)):
        response = await client.request(method, url, json=body, headers=alice.headers)
        assert (response.status_code, response.json()) == (403, DENIED)
    # Converting is an update: it takes the same rights.
    convert = await client.patch(
        f"/api/leads/{assigned['id']}/",
        json={"auto_convert": True, "email": "a@example.com", "account_name": "Nope"},
        headers=bob.headers,
    )
    assert convert.status_code == 403
    assert await checksum(test_database) == before

    # An assignee may see and change the lead but not delete it; the creator may delete.
    assigned_url = f"/api/leads/{assigned['id']}/"
    assert (await client.get(assigned_url, headers=alice.headers)).status_code == 200
    patched = await client.patch(assigned_url, json={"city": "Oslo"}, headers=alice.headers)
    assert patched.status_code == 200
    assert (await client.delete(assigned_url, headers=alice.headers)).json() == DENIED
    assert (
        await client.delete(f"/api/leads/{mine['id']}/", headers=alice.headers)
    ).status_code == 204


async def test_another_orgs_lead_answers_like_a_missing_one(
    client: httpx.AsyncClient, factory: Factory, test_database: Database
) -> None:
    owner, intruder = await factory.admin(), await factory.admin()
    lead = await create_lead(client, owner, first_name="Secret", email="s@example.com")
    before = await checksum(test_database)
    for method, body in (
        ("GET", None),
        ("PUT", {"title": "x"}),
        ("PATCH", {"status": "converted", "account_name": "Stolen"}),
        ("DELETE", None),
    ):
        response = await client.request(
            method, f"/api/leads/{lead['id']}/", json=body, headers=intruder.headers
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    listed = (await client.get("/api/leads/?name=Secret", headers=intruder.headers)).json()
    assert listed["leads_count"] == 0
    assert await checksum(test_database) == before


async def test_malformed_ids_are_not_found(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    for path in ("/api/leads/not-a-uuid/", "/api/leads/12345/"):
        response = await client.get(path, headers=admin.headers)
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
