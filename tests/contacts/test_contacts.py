"""Contacts (§5): list and filters, create and validation, detail, partial update, delete,
record visibility (creator, assignee, assignee of an account listing the contact) and
org isolation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from sqlalchemy import select

from crm.core.tenancy import unscoped
from crm.models import Account, Contact, Opportunity, Profile
from crm.models.records import link_table
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "salutation",
    "first_name",
    "last_name",
    "primary_email",
    "secondary_email",
    "mobile_number",
    "organization",
    "title",
    "department",
    "address_line",
    "street",
    "city",
    "state",
    "postcode",
    "country",
    "do_not_call",
    "created_on",
    "created_at",
    "created_by",
    "org",
    "assigned_to",
    "teams",
    "tags",
}
RECORD_KEYS = ITEM_KEYS | {
    "date_of_birth",
    "secondary_number",
    "language",
    "description",
    "linked_in_url",
    "facebook_url",
    "twitter_username",
    "is_active",
    "updated_at",
}
accounts_contacts = link_table("accounts", "contacts", "contacts", "contact_id")

ADDRESS_KEYS = {"address_line", "street", "city", "state", "postcode", "country"}
DETAIL_KEYS = {
    "contact_obj",
    "address_obj",
    "comments",
    "attachments",
    "assigned_to",
    "teams",
    "tags",
    "users_mention",
    "opportunities",
    "accounts",
}

FULL_BODY = {
    "salutation": "Dr.",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "date_of_birth": "1990-12-10",
    "organization": "Analytical Engines Ltd",
    "title": "Chief Engineer",
    "primary_email": "ada@example.com",
    "secondary_email": "ada.l@example.org",
    "mobile_number": "+1 (415) 555-0100",
    "secondary_number": "+44 20 7946 0958",
    "department": "Research",
    "language": "English",
    "do_not_call": True,
    "description": "Met at the expo.",
    "linked_in_url": "https://www.linkedin.com/in/ada",
    "facebook_url": "https://facebook.com/ada",
    "twitter_username": "ada",
    "address_line": "12 St James's Square",
    "street": "St James's Square",
    "city": "London",
    "state": "Greater London",
    "postcode": "SW1Y 4JH",
    "country": "GB",
    "is_active": True,
}


async def _create(client, caller, **body):
    return await client.post("/api/contacts/", json=body, headers=caller.headers)


async def _create_ok(client, caller, **body) -> dict:
    body.setdefault("first_name", "Grace")
    body.setdefault("last_name", "Hopper")
    body.setdefault("primary_email", f"c-{uuid.uuid4().hex[:10]}@example.com")
    response = await _create(client, caller, **body)
    assert response.status_code == 201, response.text
    return response.json()


async def _list(client, caller, **params) -> dict:
    response = await client.get("/api/contacts/", params=params, headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _ids(client, caller, **params) -> list[str]:
    return [c["id"] for c in (await _list(client, caller, **params))["results"]]


async def _detail(client, caller, contact_id) -> dict:
    response = await client.get(f"/api/contacts/{contact_id}/", headers=caller.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _team(client, admin, *members) -> str:
    response = await client.post(
        "/api/teams/",
        json={"name": f"T{uuid.uuid4().hex[:8]}", "users": [m.profile_id for m in members]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _account_listing(
    database, org_id: str, contact_ids: Sequence[str], assignees: Sequence[str] = (), **values
) -> Account:
    """An account listing the contacts (made in the database: accounts have their own suite)."""
    async with database.sessionmaker() as session, session.begin():
        with unscoped(session):
            contacts = (
                await session.scalars(
                    select(Contact).where(Contact.id.in_([uuid.UUID(i) for i in contact_ids]))
                )
            ).all()
            profiles = (
                await session.scalars(
                    select(Profile).where(Profile.id.in_([uuid.UUID(i) for i in assignees]))
                )
            ).all()
            values.setdefault("name", f"Acct {uuid.uuid4().hex[:8]}")
            account = Account(
                org_id=uuid.UUID(org_id),
                contacts=list(contacts),
                assigned_to=list(profiles),
                **values,
            )
            session.add(account)
            await session.flush()
    return account


async def _opportunity_listing(
    database, account: Account, contact_ids: Sequence[str], **values
) -> Opportunity:
    async with database.sessionmaker() as session, session.begin():
        with unscoped(session):
            contacts = (
                await session.scalars(
                    select(Contact).where(Contact.id.in_([uuid.UUID(i) for i in contact_ids]))
                )
            ).all()
            values.setdefault("name", f"Opp {uuid.uuid4().hex[:8]}")
            opportunity = Opportunity(
                org_id=account.org_id, account_id=account.id, contacts=list(contacts), **values
            )
            session.add(opportunity)
            await session.flush()
    return opportunity


# -- list ------------------------------------------------------------------------------------


async def test_list_envelope_item_shape_and_newest_first(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    team = await _team(client, admin, member)
    first = await _create_ok(
        client,
        admin,
        **FULL_BODY,
        assigned_to=[member.profile_id],
        teams=[team],
        tags=["VIP", "expo"],
    )
    second = await _create_ok(client, admin, first_name="Second")

    body = await _list(client, admin)

    assert set(body) == {"count", "next", "previous", "results", "users"}
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [c["id"] for c in body["results"]] == [second["id"], first["id"]]
    item = body["results"][1]
    assert set(item) == ITEM_KEYS
    assert item == first
    assert item["salutation"] == "Dr."
    assert item["primary_email"] == "ada@example.com"
    assert item["mobile_number"] == "+14155550100"
    assert item["city"] == "London"
    assert item["do_not_call"] is True
    assert item["org"] == admin.org_id
    assert item["created_by"] == admin.profile_id
    assert item["created_on"] == item["created_at"]
    assert item["assigned_to"] == [member.profile_id]
    assert item["teams"] == [team]
    assert sorted(item["tags"]) == ["VIP", "expo"]  # links come in no promised order
    bare = body["results"][0]
    assert bare["salutation"] == ""
    assert bare["secondary_email"] == ""
    assert bare["mobile_number"] is None
    assert bare["do_not_call"] is False
    assert (bare["assigned_to"], bare["teams"], bare["tags"]) == ([], [], [])
    users = {u["id"]: u for u in body["users"]}
    assert set(users) == {admin.profile_id, member.profile_id}
    assert set(users[member.profile_id]) == MEMBER_BRIEF_KEYS
    assert users[member.profile_id]["email"] == member.email


async def test_list_pages_with_links(client, factory):
    admin = await factory.admin()
    created = [await _create_ok(client, admin, first_name=f"Page{i}") for i in range(7)]
    newest_first = [c["id"] for c in reversed(created)]

    first = await _list(client, admin, limit=5)
    second = await _list(client, admin, limit=5, offset=5)

    assert first["count"] == second["count"] == 7
    assert [c["id"] for c in first["results"]] == newest_first[:5]
    assert [c["id"] for c in second["results"]] == newest_first[5:]
    assert first["next"] == "/api/contacts/?limit=5&offset=5"
    assert first["previous"] is None
    assert second["next"] is None
    assert second["previous"] == "/api/contacts/?limit=5&offset=0"
    filtered = await _list(client, admin, name="page", limit=5)
    assert filtered["next"] == "/api/contacts/?name=page&limit=5&offset=5"


async def test_filter_name_matches_first_or_last_name_partially(client, factory):
    admin = await factory.admin()
    ada = await _create_ok(client, admin, first_name="Ada", last_name="Lovelace")
    grace = await _create_ok(client, admin, first_name="Grace", last_name="Hopper")
    elodie = await _create_ok(client, admin, first_name="Élodie", last_name="Adamsky")

    assert set(await _ids(client, admin, name="LOVE")) == {ada["id"]}
    assert set(await _ids(client, admin, name="grac")) == {grace["id"]}
    assert set(await _ids(client, admin, name="ada")) == {ada["id"], elodie["id"]}
    assert set(await _ids(client, admin, name="ÉLO")) == {elodie["id"]}
    assert await _ids(client, admin, name="%") == []
    assert await _ids(client, admin, name="_") == []


async def test_filter_city_is_partial_and_case_insensitive(client, factory):
    admin = await factory.admin()
    london = await _create_ok(client, admin, city="London")
    await _create_ok(client, admin, city="Paris")
    await _create_ok(client, admin)

    assert await _ids(client, admin, city="LOND") == [london["id"]]


async def test_filter_phone_matches_part_of_the_mobile_number(client, factory):
    admin = await factory.admin()
    sf = await _create_ok(client, admin, mobile_number="+1 415 555 0100")
    uk = await _create_ok(client, admin, mobile_number="+44 20 7946 0958")
    await _create_ok(client, admin)

    assert await _ids(client, admin, phone="4155550") == [sf["id"]]
    assert await _ids(client, admin, phone="(415) 555") == [sf["id"]]
    assert await _ids(client, admin, phone="+44") == [uk["id"]]
    assert set(await _ids(client, admin, phone="0")) == {sf["id"], uk["id"]}
    assert await _ids(client, admin, phone="999999") == []


async def test_filter_email_is_partial_and_case_insensitive(client, factory):
    admin = await factory.admin()
    ada = await _create_ok(client, admin, primary_email="ada@engines.example.com")
    await _create_ok(
        client,
        admin,
        primary_email="grace@navy.example.com",
        secondary_email="x@engines.example.com",
    )

    assert await _ids(client, admin, email="ENGINES") == [ada["id"]]
    assert await _ids(client, admin, email="ada@") == [ada["id"]]


async def test_filter_assigned_to_accepts_several_ids(client, factory):
    admin = await factory.admin()
    one, two, three = [await factory.member_of(admin) for _ in range(3)]
    a = await _create_ok(client, admin, assigned_to=[one.profile_id])
    b = await _create_ok(client, admin, assigned_to=[two.profile_id, one.profile_id])
    await _create_ok(client, admin, assigned_to=[three.profile_id])
    await _create_ok(client, admin)

    assert set(await _ids(client, admin, assigned_to=one.profile_id)) == {a["id"], b["id"]}
    assert set(await _ids(client, admin, assigned_to=two.profile_id)) == {b["id"]}
    repeated = await client.get(
        "/api/contacts/",
        params=[("assigned_to", two.profile_id), ("assigned_to", three.profile_id)],
        headers=admin.headers,
    )
    assert repeated.status_code == 200
    assert repeated.json()["count"] == 2
    comma = await _list(client, admin, assigned_to=f"{one.profile_id},{three.profile_id}")
    assert comma["count"] == 3

    bad = await client.get("/api/contacts/?assigned_to=nope", headers=admin.headers)
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"assigned_to"}


async def test_filter_tags_by_name_or_slug_any_of_several(client, factory):
    admin = await factory.admin()
    vip = await _create_ok(client, admin, tags=["VIP"])
    both = await _create_ok(client, admin, tags=["Trade  Show", "vip"])
    show = await _create_ok(client, admin, tags=["trade show"])
    await _create_ok(client, admin, tags=["other"])

    assert set(await _ids(client, admin, tags="vip")) == {vip["id"], both["id"]}
    assert set(await _ids(client, admin, tags="TRADE SHOW")) == {both["id"], show["id"]}
    assert set(await _ids(client, admin, tags="vip,trade show")) == {
        vip["id"],
        both["id"],
        show["id"],
    }
    assert await _ids(client, admin, tags="missing") == []


async def test_filters_combine(client, factory):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    hit = await _create_ok(
        client, admin, first_name="Ann", city="Berlin", assigned_to=[member.profile_id]
    )
    await _create_ok(client, admin, first_name="Ann", city="Berlin")
    await _create_ok(
        client, admin, first_name="Bob", city="Berlin", assigned_to=[member.profile_id]
    )

    assert await _ids(client, admin, name="ann", city="berlin", assigned_to=member.profile_id) == [
        hit["id"]
    ]


# -- create ----------------------------------------------------------------------------------


async def test_create_returns_the_item_and_stores_every_field(client, factory):
    admin = await factory.admin()

    created = await _create_ok(client, admin, **FULL_BODY)
    detail = await _detail(client, admin, created["id"])

    assert set(created) == ITEM_KEYS
    record = detail["contact_obj"]
    assert set(record) == RECORD_KEYS
    expected = {**FULL_BODY, "mobile_number": "+14155550100", "secondary_number": "+442079460958"}
    assert {k: record[k] for k in FULL_BODY} == expected
    assert {k: v for k, v in record.items() if k in ITEM_KEYS} == created
    assert detail["address_obj"] == {k: FULL_BODY[k] for k in ADDRESS_KEYS}


async def test_create_with_only_the_required_fields(client, factory):
    admin = await factory.admin()

    created = await _create_ok(
        client, admin, first_name="Min", last_name="Imal", primary_email="min@example.com"
    )

    record = (await _detail(client, admin, created["id"]))["contact_obj"]
    assert record["first_name"] == "Min"
    assert record["date_of_birth"] is None
    assert record["is_active"] is False
    assert all(record[k] is None for k in ADDRESS_KEYS)


async def test_create_accepts_list_fields_as_strings(client, factory):
    admin = await factory.admin()
    one, two = await factory.member_of(admin), await factory.member_of(admin)

    created = await _create_ok(
        client,
        admin,
        assigned_to=f'["{one.profile_id}", "{two.profile_id}"]',
        tags="a, b",
    )

    assert sorted(created["assigned_to"]) == sorted([one.profile_id, two.profile_id])
    assert sorted(created["tags"]) == ["a", "b"]


async def test_blank_optional_values_mean_none(client, factory):
    admin = await factory.admin()

    created = await _create_ok(
        client,
        admin,
        secondary_email="",
        mobile_number="",
        linked_in_url="",
        salutation=None,
    )

    record = (await _detail(client, admin, created["id"]))["contact_obj"]
    assert record["secondary_email"] == ""
    assert record["mobile_number"] is None
    assert record["linked_in_url"] is None
    assert record["salutation"] == ""


@pytest.mark.parametrize("missing", ["first_name", "last_name", "primary_email"])
async def test_create_requires_names_and_primary_email(client, factory, test_database, missing):
    admin = await factory.admin()
    body = {"first_name": "A", "last_name": "B", "primary_email": "ab@example.com"}
    body.pop(missing)
    before = await checksum(test_database)

    response = await _create(client, admin, **body)

    assert response.status_code == 400, response.text
    assert response.json()["error"] is True
    assert set(response.json()["errors"]) == {missing}
    assert await checksum(test_database) == before


async def test_create_refuses_blank_names(client, factory):
    admin = await factory.admin()

    response = await _create(
        client, admin, first_name="  ", last_name="", primary_email="x@example.com"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"first_name", "last_name"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_email", "not-an-email"),
        ("primary_email", "a@b@c.com"),
        ("secondary_email", "nope"),
        ("mobile_number", "call me"),
        ("secondary_number", "12"),
        ("linked_in_url", "linkedin.com/in/ada"),
        ("facebook_url", "ftp://facebook.com/ada"),
        ("facebook_url", "https://localhost"),
        ("date_of_birth", "10/12/1990"),
        ("date_of_birth", "2999-01-01"),
        ("first_name", "x" * 256),
        ("street", "x" * 56),
        ("do_not_call", "maybe"),
        ("assigned_to", "not-a-uuid"),
        ("tags", ["x" * 21]),
    ],
)
async def test_create_validates_fields(client, factory, test_database, field, value):
    admin = await factory.admin()
    body = {"first_name": "A", "last_name": "B", "primary_email": "ok@example.com", field: value}
    before = await checksum(test_database)

    response = await _create(client, admin, **body)

    assert response.status_code == 400, response.text
    assert response.json()["error"] is True
    assert set(response.json()["errors"]) == {field}
    assert await checksum(test_database) == before


async def test_primary_email_is_unique_in_the_org_ignoring_case(client, factory, test_database):
    admin = await factory.admin()
    await _create_ok(client, admin, primary_email="Ada@Example.com")
    before = await checksum(test_database)

    response = await _create(
        client, admin, first_name="Other", last_name="Person", primary_email="ada@EXAMPLE.COM"
    )

    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": True,
        "errors": {"primary_email": ["Contact with this Email already exists"]},
        "code": "contact_email_taken",
    }
    assert await checksum(test_database) == before


async def test_same_primary_email_in_another_org_is_fine(client, factory):
    admin = await factory.admin()
    other = await factory.admin()
    await _create_ok(client, admin, primary_email="shared@example.com")

    created = await _create_ok(client, other, primary_email="shared@example.com")

    assert created["org"] == other.org_id


async def test_create_refuses_links_from_another_org(client, factory, test_database):
    admin = await factory.admin()
    stranger_admin = await factory.admin()
    stranger = await factory.member_of(stranger_admin)
    foreign_team = await _team(client, stranger_admin)
    before = await checksum(test_database)

    by_member = await _create(
        client,
        admin,
        first_name="A",
        last_name="B",
        primary_email="a@example.com",
        assigned_to=[stranger.profile_id],
    )
    by_team = await _create(
        client,
        admin,
        first_name="A",
        last_name="B",
        primary_email="a@example.com",
        teams=[foreign_team],
    )

    assert by_member.status_code == 400
    assert set(by_member.json()["errors"]) == {"assigned_to"}
    assert by_team.status_code == 400
    assert set(by_team.json()["errors"]) == {"teams"}
    assert await checksum(test_database) == before


async def test_a_member_can_create_and_owns_the_contact(client, factory):
    admin = await factory.admin()
    user = await factory.member_of(admin)

    created = await _create_ok(client, user)

    assert created["created_by"] == user.profile_id
    assert await _ids(client, user) == [created["id"]]


# -- detail ----------------------------------------------------------------------------------


async def test_detail_shape_with_embedded_links(client, factory, test_database):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    team = await _team(client, admin)
    contact = await _create_ok(
        client, admin, **FULL_BODY, assigned_to=[member.profile_id], teams=[team], tags=["vip"]
    )
    account = await _account_listing(
        test_database, admin.org_id, [contact["id"]], created_by_id=uuid.UUID(admin.profile_id)
    )
    opportunity = await _opportunity_listing(test_database, account, [contact["id"]])

    detail = await _detail(client, admin, contact["id"])

    assert set(detail) == DETAIL_KEYS
    assert detail["contact_obj"]["id"] == contact["id"]
    assert detail["address_obj"]["city"] == "London"
    assert detail["comments"] == []
    assert detail["attachments"] == []
    assert [set(m) for m in detail["assigned_to"]] == [MEMBER_BRIEF_KEYS]
    assert detail["assigned_to"][0]["id"] == member.profile_id
    assert detail["assigned_to"][0]["email"] == member.email
    assert detail["teams"] == [{"id": team, "name": detail["teams"][0]["name"]}]
    assert detail["tags"] == ["vip"]
    assert detail["accounts"] == [{"id": str(account.id), "name": account.name}]
    assert detail["opportunities"] == [{"id": str(opportunity.id), "name": opportunity.name}]
    mentions = detail["users_mention"]
    assert sorted(m["user__email"] for m in mentions) == sorted([admin.email, member.email])


async def test_detail_lists_comments_and_attachments_newest_first(client, factory):
    admin = await factory.admin()
    contact = await _create_ok(client, admin)
    url = f"/api/contacts/{contact['id']}/"
    for text in ("first note", "second note"):
        added = await client.post(url, json={"comment": text}, headers=admin.headers)
        assert added.status_code == 201, added.text
    uploaded = await client.post(
        url,
        files={"contact_attachment": ("notes.txt", b"call back on monday", "text/plain")},
        headers=admin.headers,
    )
    assert uploaded.status_code == 201, uploaded.text

    detail = await _detail(client, admin, contact["id"])

    assert [c["comment"] for c in detail["comments"]] == ["second note", "first note"]
    assert {c["contact"] for c in detail["comments"]} == {contact["id"]}
    assert detail["comments"][0]["commented_by"] == admin.profile_id
    assert [a["file_name"] for a in detail["attachments"]] == ["notes.txt"]
    assert detail["attachments"][0]["contact"] == contact["id"]


async def test_detail_users_mention_for_assignee_and_creator(client, factory):
    admin = await factory.admin()
    creator = await factory.member_of(admin)
    assignee = await factory.member_of(admin)
    contact = await _create_ok(client, creator, assigned_to=[assignee.profile_id])

    assert (await _detail(client, creator, contact["id"]))["users_mention"] == []
    assert (await _detail(client, assignee, contact["id"]))["users_mention"] == [
        {"username": creator.email}
    ]


async def test_detail_lists_only_accounts_and_opportunities_the_caller_sees(
    client, factory, test_database
):
    admin = await factory.admin()
    user = await factory.member_of(admin)
    contact = await _create_ok(client, user)
    mine = await _account_listing(
        test_database, admin.org_id, [contact["id"]], [user.profile_id], name="Mine"
    )
    hidden = await _account_listing(
        test_database, admin.org_id, [contact["id"]], created_by_id=uuid.UUID(admin.profile_id)
    )
    visible_opp = await _opportunity_listing(
        test_database, hidden, [contact["id"]], created_by_id=uuid.UUID(user.profile_id)
    )
    await _opportunity_listing(test_database, hidden, [contact["id"]])

    as_user = await _detail(client, user, contact["id"])
    as_admin = await _detail(client, admin, contact["id"])

    assert as_user["accounts"] == [{"id": str(mine.id), "name": "Mine"}]
    assert [o["id"] for o in as_user["opportunities"]] == [str(visible_opp.id)]
    assert len(as_admin["accounts"]) == 2
    assert len(as_admin["opportunities"]) == 2


async def test_unknown_or_malformed_id_is_404(client, factory):
    admin = await factory.admin()
    for contact_id in (uuid.uuid4(), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/contacts/{contact_id}/",
                json={"city": "X"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), method


# -- update ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_update_is_partial(client, factory, method):
    admin = await factory.admin()
    member = await factory.member_of(admin)
    team = await _team(client, admin)
    contact = await _create_ok(
        client, admin, **FULL_BODY, assigned_to=[member.profile_id], teams=[team], tags=["vip"]
    )

    response = await client.request(
        method,
        f"/api/contacts/{contact['id']}/",
        json={"city": "Paris", "title": None, "do_not_call": False},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert set(updated) == ITEM_KEYS
    assert updated["city"] == "Paris"
    assert updated["title"] is None
    assert updated["do_not_call"] is False
    unchanged = {k for k in ITEM_KEYS if k not in ("city", "title", "do_not_call")}
    assert {k: updated[k] for k in unchanged} == {k: contact[k] for k in unchanged}
    record = (await _detail(client, admin, contact["id"]))["contact_obj"]
    assert record["description"] == FULL_BODY["description"]
    assert record["date_of_birth"] == FULL_BODY["date_of_birth"]


async def test_update_replaces_list_fields_only_when_sent(client, factory):
    admin = await factory.admin()
    one, two = await factory.member_of(admin), await factory.member_of(admin)
    team = await _team(client, admin)
    contact = await _create_ok(
        client, admin, assigned_to=[one.profile_id], teams=[team], tags=["a", "b"]
    )
    url = f"/api/contacts/{contact['id']}/"

    swapped = await client.patch(
        url, json={"assigned_to": [two.profile_id], "tags": ["c"]}, headers=admin.headers
    )
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["assigned_to"] == [two.profile_id]
    assert swapped.json()["teams"] == [team]
    assert swapped.json()["tags"] == ["c"]

    cleared = await client.put(url, json={"teams": [], "tags": []}, headers=admin.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["assigned_to"] == [two.profile_id]
    assert (cleared.json()["teams"], cleared.json()["tags"]) == ([], [])


async def test_update_changes_required_fields_and_refuses_null_or_blank(
    client, factory, test_database
):
    admin = await factory.admin()
    contact = await _create_ok(client, admin, primary_email="old@example.com")
    url = f"/api/contacts/{contact['id']}/"

    renamed = await client.patch(
        url,
        json={"first_name": "New", "last_name": "Name", "primary_email": "new@example.com"},
        headers=admin.headers,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["primary_email"] == "new@example.com"
    assert renamed.json()["first_name"] == "New"

    before = await checksum(test_database)
    for body in (
        {"first_name": None},
        {"last_name": ""},
        {"primary_email": None},
        {"primary_email": "bad"},
        {"do_not_call": None},
        {"assigned_to": [str(uuid.uuid4())]},
    ):
        response = await client.patch(url, json=body, headers=admin.headers)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()["errors"]) == set(body), body
    assert await checksum(test_database) == before


async def test_update_keeps_primary_email_unique_in_the_org(client, factory, test_database):
    admin = await factory.admin()
    await _create_ok(client, admin, primary_email="taken@example.com")
    contact = await _create_ok(client, admin, primary_email="mine@example.com")
    url = f"/api/contacts/{contact['id']}/"
    before = await checksum(test_database)

    clash = await client.patch(
        url, json={"primary_email": "TAKEN@example.com"}, headers=admin.headers
    )

    assert clash.status_code == 400
    assert set(clash.json()["errors"]) == {"primary_email"}
    assert await checksum(test_database) == before
    recased = await client.patch(
        url, json={"primary_email": "MINE@example.com"}, headers=admin.headers
    )
    assert recased.status_code == 200, recased.text
    assert recased.json()["primary_email"] == "MINE@example.com"


# -- delete ----------------------------------------------------------------------------------


async def test_admin_deletes_and_the_contact_is_gone(client, factory, test_database):
    admin = await factory.admin()
    contact = await _create_ok(client, admin)
    account = await _account_listing(test_database, admin.org_id, [contact["id"]])

    response = await client.delete(f"/api/contacts/{contact['id']}/", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    missing = await client.get(f"/api/contacts/{contact['id']}/", headers=admin.headers)
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0
    async with test_database.sessionmaker() as session:
        with unscoped(session):
            assert await session.get(Account, account.id) is not None
            links = await session.execute(
                select(accounts_contacts).where(accounts_contacts.c.owner_id == account.id)
            )
            assert links.all() == []


async def test_delete_removes_the_contacts_comments_and_files(client, factory, settings):
    admin = await factory.admin()
    contact = await _create_ok(client, admin)
    url = f"/api/contacts/{contact['id']}/"
    root = settings.data_dir / "attachments"
    before = set(root.rglob("*")) if root.exists() else set()
    added = await client.post(
        url,
        data={"comment": "see file"},
        files={"attachment": ("card.txt", b"business card", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    download = added.json()["attachment"]["attachment"]
    stored = {p for p in root.rglob("*") if p.is_file()} - before
    assert len(stored) == 1

    assert (await client.delete(url, headers=admin.headers)).status_code == 204

    assert not next(iter(stored)).exists()
    gone = await client.get(download, headers=admin.headers)
    assert gone.status_code == 404


async def test_creator_deletes_but_assignee_may_not(client, factory, test_database):
    admin = await factory.admin()
    creator = await factory.member_of(admin)
    assignee = await factory.member_of(admin)
    contact = await _create_ok(client, creator, assigned_to=[assignee.profile_id])
    url = f"/api/contacts/{contact['id']}/"
    before = await checksum(test_database)

    refused = await client.delete(url, headers=assignee.headers)

    assert (refused.status_code, refused.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    assert (await client.delete(url, headers=creator.headers)).status_code == 204


# -- visibility ------------------------------------------------------------------------------


async def test_users_see_only_contacts_they_created_or_are_assigned(client, factory, test_database):
    admin = await factory.admin()
    user = await factory.member_of(admin)
    outsider = await factory.member_of(admin)
    own = await _create_ok(client, user)
    assigned = await _create_ok(client, admin, assigned_to=[user.profile_id])
    hidden = await _create_ok(client, admin)

    assert set(await _ids(client, user)) == {own["id"], assigned["id"]}
    assert set(await _ids(client, admin)) == {own["id"], assigned["id"], hidden["id"]}
    assert await _ids(client, outsider) == []
    await _detail(client, user, own["id"])
    await _detail(client, user, assigned["id"])

    before = await checksum(test_database)
    for contact in (own, assigned, hidden):
        url = f"/api/contacts/{contact['id']}/"
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                url,
                json={"city": "Nowhere"} if method in ("PUT", "PATCH") else None,
                headers=outsider.headers,
            )
            assert (response.status_code, response.json()) == (403, DENIED), (method, contact)
    assert await checksum(test_database) == before


async def test_assignee_can_update(client, factory):
    admin = await factory.admin()
    assignee = await factory.member_of(admin)
    contact = await _create_ok(client, admin, assigned_to=[assignee.profile_id])

    response = await client.patch(
        f"/api/contacts/{contact['id']}/", json={"city": "Oslo"}, headers=assignee.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["city"] == "Oslo"


async def test_assignee_of_an_account_listing_the_contact_sees_and_updates_it(
    client, factory, test_database
):
    admin = await factory.admin()
    rep = await factory.member_of(admin)
    other_rep = await factory.member_of(admin)
    listed = await _create_ok(client, admin)
    unlisted = await _create_ok(client, admin)
    await _account_listing(test_database, admin.org_id, [listed["id"]], [rep.profile_id])
    await _account_listing(test_database, admin.org_id, [unlisted["id"]], [other_rep.profile_id])

    assert await _ids(client, rep) == [listed["id"]]
    assert (await _detail(client, rep, listed["id"]))["contact_obj"]["id"] == listed["id"]
    updated = await client.patch(
        f"/api/contacts/{listed['id']}/", json={"city": "Rome"}, headers=rep.headers
    )
    assert updated.status_code == 200, updated.text
    refused_delete = await client.delete(f"/api/contacts/{listed['id']}/", headers=rep.headers)
    assert (refused_delete.status_code, refused_delete.json()) == (403, DENIED)
    hidden = await client.get(f"/api/contacts/{unlisted['id']}/", headers=rep.headers)
    assert (hidden.status_code, hidden.json()) == (403, DENIED)


async def test_another_orgs_contact_is_not_found_and_unchanged(client, factory, test_database):
    owner = await factory.admin()
    intruder = await factory.admin()
    contact = await _create_ok(client, owner)
    url = f"/api/contacts/{contact['id']}/"
    before = await checksum(test_database)

    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            url,
            json={"city": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    assert await _ids(client, intruder) == []
    assert await checksum(test_database) == before
    assert (await _detail(client, owner, contact["id"]))["contact_obj"]["city"] is None


# -- statement counts ------------------------------------------------------------------------


@pytest.mark.parametrize("as_admin", [True, False], ids=["admin", "user"])
async def test_list_statement_count_does_not_grow_with_page_size(
    client, factory, test_database, as_admin
):
    admin = await factory.admin()
    user = await factory.member_of(admin)
    members = [await factory.member_of(admin) for _ in range(3)]
    teams = [await _team(client, admin, m) for m in members]
    ids = [m.profile_id for m in members]
    contacts = []
    for n in range(12):
        contacts.append(
            await _create_ok(
                client,
                admin,
                first_name=f"C{n}",
                assigned_to=[user.profile_id, *ids[: n % 3 + 1]],
                teams=teams[: n % 2 + 1],
                tags=[f"t{n}", "shared"],
            )
        )
    await _account_listing(
        test_database, admin.org_id, [c["id"] for c in contacts[:4]], [user.profile_id]
    )
    caller = admin if as_admin else user

    async def statements(limit: int) -> int:
        with count_statements(test_database.engine) as counter:
            body = await _list(client, caller, limit=limit)
        assert len(body["results"]) == min(limit, 12)
        return counter.count

    assert await statements(2) == await statements(100)
