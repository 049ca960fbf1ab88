"""Cases (§10) through the HTTP API: create defaults and vocabularies, names, account and
contacts, closing dates, partial updates, list envelope and filters, statement counts,
visibility and permissions (§1.3), detail, comments and attachments (served by the activity
module), and the cases shown on an account's detail."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.clock import today
from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.records.api import RecordApi, field_error, new_account, new_contact, new_team
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "name",
    "status",
    "priority",
    "case_type",
    "account",
    "contacts",
    "closed_on",
    "description",
    "is_active",
    "assigned_to",
    "teams",
    "tags",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
}
LIST_KEYS = {
    "count",
    "next",
    "previous",
    "results",
    "status",
    "priority",
    "type_of_case",
    "accounts_list",
    "contacts_list",
    "users",
    "teams",
}
DETAIL_KEYS = {
    "cases_obj",
    "account_obj",
    "contacts",
    "assigned_to",
    "teams",
    "tags",
    "comments",
    "attachments",
    "users_mention",
    "comment_permission",
    "status",
    "priority",
    "type_of_case",
}
STATUSES = [
    "New",
    "Assigned",
    "In Progress",
    "Pending",
    "On Hold",
    "Closed",
    "Rejected",
    "Duplicate",
]
PRIORITIES = ["Low", "Normal", "High", "Urgent"]
CASE_TYPES = ["Question", "Incident", "Problem"]
CONTACT_BRIEF_KEYS = {"id", "first_name", "last_name", "primary_email", "mobile_number"}
UNKNOWN_ACCOUNT = "Not an account of this organization that you can see"


# -- helpers -----------------------------------------------------------------------------------


API = RecordApi("/api/cases/", "name", "Case")
_post, _create, _change, _changed = API.post, API.create, API.change, API.changed
_detail, _list, _names = API.detail, API.list, API.names
_field_error, _account, _contact, _team = field_error, new_account, new_contact, new_team


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


# -- create: defaults and vocabularies ----------------------------------------------------------


async def test_create_minimal_gets_the_defaults(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, name="Printer on fire")
    assert set(created) == ITEM_KEYS
    assert created["name"] == "Printer on fire"
    assert (created["status"], created["priority"]) == ("New", "Normal")
    assert created["case_type"] is None
    assert created["account"] is None
    assert created["closed_on"] is None
    assert created["description"] is None
    assert created["is_active"] is False
    assert created["created_by"] == admin.profile_id
    assert created["org"] == admin.org_id
    assert created["created_at"] == created["created_on"]
    assert (created["contacts"], created["assigned_to"], created["teams"], created["tags"]) == (
        [],
        [],
        [],
        [],
    )


async def test_create_with_every_field(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    account = await _account(client, admin, "ACME Corporation")
    contacts = [await _contact(client, admin, "Grace", "Hopper"), await _contact(client, admin)]
    team = await _team(client, admin, "Support")
    created = await _create(
        client,
        admin,
        name="Login fails",
        status="Assigned",
        priority="High",
        case_type="Incident",
        account=account,
        contacts=contacts,
        description="Users cannot log in since the upgrade",
        is_active=True,
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["login", "urgent-fix"],
    )
    assert (created["status"], created["priority"]) == ("Assigned", "High")
    assert created["case_type"] == "Incident"
    assert created["account"] == account
    assert created["contacts"] == contacts
    assert created["description"] == "Users cannot log in since the upgrade"
    assert created["is_active"] is True
    assert created["assigned_to"] == [agent.profile_id]
    assert created["teams"] == [team]
    assert sorted(created["tags"]) == ["login", "urgent-fix"]
    assert created["closed_on"] is None


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        ("status", "in  progress", "In Progress"),
        ("status", " ON HOLD ", "On Hold"),
        ("status", "duplicate", "Duplicate"),
        ("priority", "URGENT", "Urgent"),
        ("priority", "low", "Low"),
    ],
)
async def test_status_and_priority_are_case_insensitive(
    client: httpx.AsyncClient, admin: Member, field: str, sent: str, stored: str
) -> None:
    created = await _create(client, admin, **{field: sent})
    assert created[field] == stored
    assert (await _detail(client, admin, created["id"]))["cases_obj"][field] == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "Open"), ("status", ""), ("status", 3), ("priority", "Critical"), ("priority", "")],
)
async def test_unknown_status_or_priority_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database, field: str, value: Any
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, name="Bad vocabulary", **{field: value})
    assert _field_error(response, field)
    assert await checksum(test_database) == before


# -- names -------------------------------------------------------------------------------------


async def test_names_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    first = await _create(client, admin, name="Broken Printer")
    response = await _post(client, admin, name="  broken PRINTER ")
    assert response.json() == {
        "error": True,
        "errors": {"name": ["Case already exists with this name"]},
        "code": "case_name_taken",
    }
    second = await _create(client, admin, name="Other")
    response = await _change(client, admin, second["id"], name="BROKEN printer")
    assert response.json()["code"] == "case_name_taken"
    assert _field_error(response, "name")
    assert (await _changed(client, admin, first["id"], name="BROKEN printer"))["name"] == (
        "BROKEN printer"
    )
    other = await factory.admin()
    assert (await _create(client, other, name="Broken Printer"))["org"] == other.org_id


async def test_name_is_required_not_blank_and_at_most_64_characters(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    assert _field_error(await _post(client, admin), "name")
    assert _field_error(await _post(client, admin, name="   "), "name")
    assert _field_error(await _post(client, admin, name=None), "name")
    assert _field_error(await _post(client, admin, name="x" * 65), "name")
    assert await checksum(test_database) == before
    assert (await _create(client, admin, name="x" * 64))["name"] == "x" * 64


# -- account and contacts ----------------------------------------------------------------------


async def test_foreign_or_unknown_account_is_refused_and_nothing_written(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    other = await factory.admin()
    foreign = await _account(client, other, "Their account")
    before = await checksum(test_database)
    for account in (foreign, str(uuid.uuid4())):
        response = await _post(client, admin, name="Misfiled", account=account)
        assert response.json()["code"] == "unknown_account"
        assert _field_error(response, "account") == [UNKNOWN_ACCOUNT]
    assert _field_error(await _post(client, admin, name="Misfiled", account="acme"), "account")
    assert await checksum(test_database) == before


async def test_a_user_may_only_link_accounts_they_can_see(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    hidden = await _account(client, admin, "Hidden")
    shared = await _account(client, admin, "Shared", assigned_to=[user.profile_id])
    own = await _account(client, user, "Own")
    response = await _post(client, user, name="On hidden", account=hidden)
    assert response.json()["code"] == "unknown_account"
    assert (await _create(client, user, account=shared))["account"] == shared
    assert (await _create(client, user, account=own))["account"] == own


async def test_contacts_must_belong_to_the_org(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    other = await factory.admin()
    foreign = await _contact(client, other)
    mine = await _contact(client, admin)
    missing = str(uuid.uuid4())
    before = await checksum(test_database)
    for bad in (missing, foreign):
        response = await _post(client, admin, name="Bad contacts", contacts=[mine, bad])
        assert response.json()["code"] == "unknown_contacts"
        assert _field_error(response, "contacts") == [f"Not contacts of this organization: {bad}"]
    assert await checksum(test_database) == before
    created = await _create(client, admin, contacts=[mine, mine])
    assert created["contacts"] == [mine]


# -- closing dates -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Closed", "closed", " CLOSED"])
async def test_a_case_created_closed_is_dated_today(
    client: httpx.AsyncClient, admin: Member, status: str
) -> None:
    created = await _create(client, admin, status=status)
    assert created["status"] == "Closed"
    assert created["closed_on"] == today().isoformat()


async def test_a_sent_closed_on_wins_on_create(client: httpx.AsyncClient, admin: Member) -> None:
    closed = await _create(client, admin, status="Closed", closed_on="2024-01-02")
    assert closed["closed_on"] == "2024-01-02"
    open_with_date = await _create(client, admin, closed_on="2023-07-08")
    assert (open_with_date["status"], open_with_date["closed_on"]) == ("New", "2023-07-08")
    assert _field_error(await _post(client, admin, name="x", closed_on="2023-02-30"), "closed_on")


async def test_closing_reopening_and_explicit_dates_on_update(
    client: httpx.AsyncClient, admin: Member
) -> None:
    case_id = (await _create(client, admin))["id"]
    closed = await _changed(client, admin, case_id, status="closed")
    assert (closed["status"], closed["closed_on"]) == ("Closed", today().isoformat())

    reopened = await _changed(client, admin, case_id, method="PUT", status="New")
    assert (reopened["status"], reopened["closed_on"]) == ("New", None)

    dated = await _changed(client, admin, case_id, status="Closed", closed_on="2022-12-31")
    assert (dated["status"], dated["closed_on"]) == ("Closed", "2022-12-31")

    # The same status again is no move: the date stays.
    again = await _changed(client, admin, case_id, status="CLOSED", priority="low")
    assert (again["closed_on"], again["priority"]) == ("2022-12-31", "Low")

    moved = await _changed(client, admin, case_id, closed_on="2023-01-15")
    assert (moved["status"], moved["closed_on"]) == ("Closed", "2023-01-15")

    kept = await _changed(client, admin, case_id, status="Pending", closed_on="2023-02-01")
    assert (kept["status"], kept["closed_on"]) == ("Pending", "2023-02-01")

    detail = await _detail(client, admin, case_id)
    assert detail["cases_obj"]["closed_on"] == "2023-02-01"


# -- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_partial_update_changes_only_what_is_sent(
    client: httpx.AsyncClient, factory: Factory, admin: Member, method: str
) -> None:
    agent = await factory.member_of(admin)
    other_agent = await factory.member_of(admin)
    contact = await _contact(client, admin)
    team = await _team(client, admin, "Tier 1")
    created = await _create(
        client,
        admin,
        case_type="Question",
        description="first",
        priority="High",
        contacts=[contact],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["vip"],
    )
    changed = await _changed(client, admin, created["id"], method, case_type="Problem")
    unchanged = {k: v for k, v in created.items() if k not in ("case_type", "updated_at")}
    assert {k: v for k, v in changed.items() if k in unchanged} == unchanged
    assert changed["case_type"] == "Problem"

    nulls = await _changed(
        client,
        admin,
        created["id"],
        method,
        name=None,
        status=None,
        priority=None,
        is_active=None,
        description=None,
        case_type=None,
    )
    assert (nulls["name"], nulls["status"], nulls["priority"]) == (created["name"], "New", "High")
    assert nulls["is_active"] is False
    assert (nulls["description"], nulls["case_type"]) == (None, None)

    relinked = await _changed(
        client, admin, created["id"], method, assigned_to=[other_agent.profile_id], tags=[]
    )
    assert relinked["assigned_to"] == [other_agent.profile_id]
    assert relinked["tags"] == []
    assert (relinked["contacts"], relinked["teams"]) == ([contact], [team])

    cleared = await _changed(client, admin, created["id"], method, contacts=[], teams=[])
    assert (cleared["contacts"], cleared["teams"]) == ([], [])
    assert cleared["assigned_to"] == [other_agent.profile_id]


async def test_setting_and_clearing_the_account(client: httpx.AsyncClient, admin: Member) -> None:
    acme = await _account(client, admin, "ACME")
    globex = await _account(client, admin, "Globex")
    case_id = (await _create(client, admin))["id"]
    assert (await _changed(client, admin, case_id, account=acme))["account"] == acme
    assert (await _changed(client, admin, case_id, method="PUT", account=globex))["account"] == (
        globex
    )
    assert (await _detail(client, admin, case_id))["account_obj"] == {
        "id": globex,
        "name": "Globex",
    }
    response = await _change(client, admin, case_id, account=str(uuid.uuid4()))
    assert response.json()["code"] == "unknown_account"
    assert (await _changed(client, admin, case_id, description="x"))["account"] == globex
    assert (await _changed(client, admin, case_id, account=None))["account"] is None
    assert (await _detail(client, admin, case_id))["account_obj"] is None


async def test_update_validates_like_create(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    case_id = (await _create(client, admin))["id"]
    before = await checksum(test_database)
    for field, value in [
        ("status", "Open"),
        ("priority", "Medium"),
        ("name", "  "),
        ("name", "y" * 65),
        ("contacts", [str(uuid.uuid4())]),
        ("closed_on", "yesterday"),
    ]:
        assert _field_error(await _change(client, admin, case_id, **{field: value}), field)
    assert await checksum(test_database) == before


# -- list --------------------------------------------------------------------------------------


async def test_list_envelope_newest_first_and_pagination(
    client: httpx.AsyncClient, admin: Member
) -> None:
    empty = await _list(client, admin, limit=2)
    assert (empty["count"], empty["results"]) == (0, [])
    for n in range(5):
        await _create(client, admin, name=f"Case {n}")
    page = await _list(client, admin, limit=2)  # the same URL: not answered from the cache
    assert set(page) == LIST_KEYS
    assert page["count"] == 5
    assert _names(page) == ["Case 4", "Case 3"]
    assert set(page["results"][0]) == ITEM_KEYS
    assert page["previous"] is None
    assert page["next"] == "/api/cases/?limit=2&offset=2"
    last = await _list(client, admin, limit=2, offset=4)
    assert _names(last) == ["Case 0"]
    assert last["next"] is None
    assert last["previous"] == "/api/cases/?limit=2&offset=2"
    assert (page["status"], page["priority"], page["type_of_case"]) == (
        STATUSES,
        PRIORITIES,
        CASE_TYPES,
    )


async def test_list_lookups(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    member = await factory.member_of(admin)
    account = await _account(client, admin, "ACME")
    contact = await _contact(client, admin, "Grace", "Hopper")
    team = await _team(client, admin, "Support")
    page = await _list(client, admin)
    assert page["accounts_list"] == [{"id": account, "name": "ACME"}]
    assert page["contacts_list"] == [{"id": contact, "first_name": "Grace", "last_name": "Hopper"}]
    assert {u["id"]: u["email"] for u in page["users"]} == {
        admin.profile_id: admin.email,
        member.profile_id: member.email,
    }
    assert page["teams"] == [{"id": team, "name": "Support"}]


async def test_filter_by_name_is_partial_and_case_insensitive(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, name="Printer jammed")
    await _create(client, admin, name="VPN down")
    await _create(client, admin, name="100% off_by_one")
    assert _names(await _list(client, admin, name="PRINT")) == ["Printer jammed"]
    assert _names(await _list(client, admin, name="n dow")) == ["VPN down"]
    assert _names(await _list(client, admin, name="%")) == ["100% off_by_one"]
    assert _names(await _list(client, admin, name="nothing")) == []


async def test_filter_by_status_is_case_insensitive_and_checked(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, name="Fresh")
    await _create(client, admin, name="Working", status="In Progress")
    await _create(client, admin, name="Done", status="Closed")
    assert _names(await _list(client, admin, status="in   PROGRESS")) == ["Working"]
    assert _names(await _list(client, admin, status="closed")) == ["Done"]
    assert _names(await _list(client, admin, status="Pending")) == []
    response = await client.get("/api/cases/", params={"status": "Open"}, headers=admin.headers)
    assert _field_error(response, "status")


async def test_filter_by_priority_and_case_type(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, name="Fire", priority="Urgent", case_type="Incident")
    await _create(client, admin, name="How to", priority="Low", case_type="Question")
    await _create(client, admin, name="Untyped")
    assert _names(await _list(client, admin, priority="urgent")) == ["Fire"]
    assert _names(await _list(client, admin, priority="NORMAL")) == ["Untyped"]
    response = await client.get("/api/cases/", params={"priority": "Top"}, headers=admin.headers)
    assert _field_error(response, "priority")
    assert _names(await _list(client, admin, case_type="INCIDENT")) == ["Fire"]
    assert _names(await _list(client, admin, case_type="question")) == ["How to"]
    assert _names(await _list(client, admin, case_type="Incid")) == []  # exact, not contains


async def test_filter_by_account_id(client: httpx.AsyncClient, admin: Member) -> None:
    acme = await _account(client, admin, "ACME")
    globex = await _account(client, admin, "Globex")
    await _create(client, admin, name="On ACME", account=acme)
    await _create(client, admin, name="On Globex", account=globex)
    await _create(client, admin, name="Nowhere")
    assert _names(await _list(client, admin, account=acme)) == ["On ACME"]
    both = await _list(client, admin, account=f"{acme},{globex}")
    assert sorted(_names(both)) == ["On ACME", "On Globex"]
    assert _names(await _list(client, admin, account=str(uuid.uuid4()))) == []
    response = await client.get("/api/cases/", params={"account": "acme"}, headers=admin.headers)
    assert _field_error(response, "account")


async def test_filter_by_assignee_and_tags(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    await _create(client, admin, name="Assigned", assigned_to=[agent.profile_id])
    await _create(client, admin, name="Tagged", tags=["Billing"])
    await _create(client, admin, name="Both", tags=["billing"], assigned_to=[agent.profile_id])
    await _create(client, admin, name="Plain")
    assert sorted(_names(await _list(client, admin, assigned_to=agent.profile_id))) == [
        "Assigned",
        "Both",
    ]
    assert _names(await _list(client, admin, assigned_to=admin.profile_id)) == []
    assert sorted(_names(await _list(client, admin, tags="billing,nothing"))) == ["Both", "Tagged"]
    combined = await _list(client, admin, tags="BILLING", assigned_to=agent.profile_id)
    assert (_names(combined), combined["count"]) == (["Both"], 1)
    response = await client.get("/api/cases/", params={"assigned_to": "me"}, headers=admin.headers)
    assert _field_error(response, "assigned_to")


async def test_list_statement_count_does_not_grow_with_the_page(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    agents = [await factory.member_of(admin) for _ in range(3)]
    team = await _team(client, admin, "Support")
    account = await _account(client, admin, "ACME")
    for n in range(8):
        await _create(
            client,
            admin,
            name=f"Case {n}",
            account=account,
            contacts=[await _contact(client, admin, f"C{n}", "Contact")],
            assigned_to=[a.profile_id for a in agents[: n % 3 + 1]],
            teams=[team],
            tags=[f"t{n}", "shared"],
        )

    async def statements(limit: int) -> int:
        with count_statements(test_database.engine) as counter:
            page = await _list(client, admin, limit=limit)
        assert len(page["results"]) == min(limit, 8)
        assert all(item["contacts"] and item["assigned_to"] for item in page["results"])
        return counter.count

    assert await statements(2) == await statements(100)


# -- visibility and permissions (§1.3) ---------------------------------------------------------


async def test_users_see_only_cases_they_created_or_are_assigned(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    hidden = await _create(client, admin, name="Hidden")
    assigned = await _create(client, admin, name="Assigned", assigned_to=[user.profile_id])
    own = await _create(client, user, name="Own")
    page = await _list(client, user)
    assert sorted(_names(page)) == ["Assigned", "Own"]
    assert page["count"] == 2
    assert (await _list(client, admin))["count"] == 3
    assert (await _detail(client, user, assigned["id"]))["cases_obj"]["name"] == "Assigned"
    assert (await _detail(client, user, own["id"]))["cases_obj"]["name"] == "Own"
    response = await client.get(f"/api/cases/{hidden['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)


async def test_assignee_may_update_but_not_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin, assigned_to=[user.profile_id])
    changed = await _changed(client, user, created["id"], status="Pending")
    assert changed["status"] == "Pending"
    before = await checksum(test_database)
    response = await client.delete(f"/api/cases/{created['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_other_users_may_neither_change_nor_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin)
    before = await checksum(test_database)
    for method in ("PUT", "PATCH"):
        response = await _change(client, user, created["id"], method, name="Mine now")
        assert (response.status_code, response.json()) == (403, DENIED)
    response = await client.delete(f"/api/cases/{created['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_creator_and_admin_may_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    own = await _create(client, user)
    other = await _create(client, admin, assigned_to=[user.profile_id])
    for caller, case in ((user, own), (admin, other)):
        response = await client.delete(f"/api/cases/{case['id']}/", headers=caller.headers)
        assert response.status_code == 204, response.text
        assert response.content == b""
        gone = await client.get(f"/api/cases/{case['id']}/", headers=admin.headers)
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0


async def test_another_org_gets_404_for_every_method(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    created = await _create(client, admin, name="Ours")
    intruder = await factory.admin()
    before = await checksum(test_database)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/cases/{created['id']}/",
            json={"name": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    response = await client.post(
        f"/api/cases/{created['id']}/", json={"comment": "hi"}, headers=intruder.headers
    )
    assert response.status_code == 404, response.text
    assert await checksum(test_database) == before
    assert (await _list(client, intruder))["count"] == 0


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, admin: Member) -> None:
    for case_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/cases/{case_id}/",
                json={"name": "x"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, case_id)


# -- detail ------------------------------------------------------------------------------------


async def test_detail_shape(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    agent = await factory.member_of(admin)
    account = await _account(client, admin, "ACME Corporation")
    contact = await _contact(client, admin, "Grace", "Hopper")
    team = await _team(client, admin, "Support")
    created = await _create(
        client,
        admin,
        name="Server down",
        priority="urgent",
        case_type="Incident",
        account=account,
        contacts=[contact],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["outage", "prod"],
    )
    detail = await _detail(client, admin, created["id"])
    assert set(detail) == DETAIL_KEYS
    assert detail["cases_obj"] == created
    assert detail["account_obj"] == {"id": account, "name": "ACME Corporation"}
    assert [c["id"] for c in detail["contacts"]] == [contact]
    assert set(detail["contacts"][0]) == CONTACT_BRIEF_KEYS
    assert (detail["contacts"][0]["first_name"], detail["contacts"][0]["last_name"]) == (
        "Grace",
        "Hopper",
    )
    assert [m["id"] for m in detail["assigned_to"]] == [agent.profile_id]
    assert set(detail["assigned_to"][0]) == MEMBER_BRIEF_KEYS
    assert detail["assigned_to"][0]["email"] == agent.email
    assert detail["teams"] == [{"id": team, "name": "Support"}]
    assert sorted(detail["tags"]) == ["outage", "prod"]
    assert (detail["comments"], detail["attachments"]) == ([], [])
    assert detail["comment_permission"] is True
    assert {m["user__email"] for m in detail["users_mention"]} == {admin.email, agent.email}
    assert (detail["status"], detail["priority"], detail["type_of_case"]) == (
        STATUSES,
        PRIORITIES,
        CASE_TYPES,
    )

    seen_by_agent = await _detail(client, agent, created["id"])
    assert seen_by_agent["comment_permission"] is False
    assert seen_by_agent["users_mention"] == [{"username": admin.email}]


# -- comments and attachments (activity routes) ------------------------------------------------


async def test_comments_are_added_listed_and_edited(
    client: httpx.AsyncClient, admin: Member
) -> None:
    case_id = (await _create(client, admin))["id"]
    url = f"/api/cases/{case_id}/"
    added = await client.post(url, json={"comment": "Called the customer"}, headers=admin.headers)
    assert added.status_code == 201, added.text
    comment = added.json()["comment"]
    assert (comment["comment"], comment["case"]) == ("Called the customer", case_id)
    assert comment["commented_by"] == admin.profile_id
    second = await client.post(url, json={"comment": "Fixed"}, headers=admin.headers)
    assert second.status_code == 201, second.text

    detail = await _detail(client, admin, case_id)
    assert [c["comment"] for c in detail["comments"]] == ["Fixed", "Called the customer"]
    assert {c["case"] for c in detail["comments"]} == {case_id}

    edited = await client.put(
        f"/api/cases/comment/{comment['id']}/",
        json={"comment": "Called twice"},
        headers=admin.headers,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["comment"], edited.json()["case"]) == ("Called twice", case_id)
    comments = (await _detail(client, admin, case_id))["comments"]
    assert {c["comment"] for c in comments} == {"Fixed", "Called twice"}


@pytest.mark.parametrize("field", ["case_attachment", "attachment"])
async def test_attachments_are_uploaded_listed_and_downloaded(
    client: httpx.AsyncClient, admin: Member, field: str
) -> None:
    case_id = (await _create(client, admin))["id"]
    added = await client.post(
        f"/api/cases/{case_id}/",
        data={"comment": "log attached"},
        files={field: ("error.log", b"stack trace here", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    attachment = added.json()["attachment"]
    assert (attachment["file_name"], attachment["case"]) == ("error.log", case_id)
    assert attachment["attachment"] == f"/api/cases/attachment/{attachment['id']}/"

    detail = await _detail(client, admin, case_id)
    assert [a["id"] for a in detail["attachments"]] == [attachment["id"]]
    assert detail["attachments"][0]["case"] == case_id
    assert [c["comment"] for c in detail["comments"]] == ["log attached"]

    download = await client.get(attachment["attachment"], headers=admin.headers)
    assert download.status_code == 200, download.text
    assert download.content == b"stack trace here"
    assert "error.log" in download.headers["content-disposition"]


async def test_activity_follows_the_case_visibility(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    assignee = await factory.member_of(admin)
    outsider = await factory.member_of(admin)
    case_id = (await _create(client, admin, assigned_to=[assignee.profile_id]))["id"]
    url = f"/api/cases/{case_id}/"
    added = await client.post(
        url,
        data={"comment": "from the assignee"},
        files={"case_attachment": ("a.txt", b"assignee file", "text/plain")},
        headers=assignee.headers,
    )
    assert added.status_code == 201, added.text
    comment_id = added.json()["comment"]["id"]
    download = added.json()["attachment"]["attachment"]
    assert added.json()["comment"]["commented_by"] == assignee.profile_id

    before = await checksum(test_database)
    response = await client.post(url, json={"comment": "sneaky"}, headers=outsider.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    response = await client.get(download, headers=outsider.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    # A case comment is not reachable through another record type's routes.
    response = await client.put(
        f"/api/opportunities/comment/{comment_id}/", json={"comment": "x"}, headers=admin.headers
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before


async def test_deleting_a_case_removes_its_comments_and_attachments(
    client: httpx.AsyncClient, admin: Member
) -> None:
    case_id = (await _create(client, admin))["id"]
    url = f"/api/cases/{case_id}/"
    added = await client.post(
        url,
        data={"comment": "see file"},
        files={"case_attachment": ("notes.txt", b"notes", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    comment_id = added.json()["comment"]["id"]
    download = added.json()["attachment"]["attachment"]
    assert (await client.get(download, headers=admin.headers)).status_code == 200

    assert (await client.delete(url, headers=admin.headers)).status_code == 204

    gone = await client.get(url, headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    edit = await client.put(
        f"/api/cases/comment/{comment_id}/", json={"comment": "still here?"}, headers=admin.headers
    )
    assert (edit.status_code, edit.json()) == (404, NOT_FOUND)
    assert (await client.get(download, headers=admin.headers)).status_code == 404


# -- cases on the account detail ---------------------------------------------------------------


async def test_account_detail_lists_the_visible_cases_of_the_account(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    account = await _account(client, admin, "ACME", assigned_to=[user.profile_id])
    other_account = await _account(client, admin, "Globex")
    shared = await _create(
        client, admin, name="Shared", account=account, assigned_to=[user.profile_id]
    )
    hidden = await _create(client, admin, name="Hidden", account=account)
    own = await _create(client, user, name="Own", account=account)
    await _create(client, admin, name="Elsewhere", account=other_account)

    async def cases_on(member: Member) -> list[dict[str, Any]]:
        response = await client.get(f"/api/accounts/{account}/", headers=member.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["cases"])

    as_admin = await cases_on(admin)
    assert [c["name"] for c in as_admin] == ["Own", "Hidden", "Shared"]  # newest first
    assert set(as_admin[0]) == ITEM_KEYS
    assert {c["account"] for c in as_admin} == {account}
    assert next(c for c in as_admin if c["id"] == shared["id"])["assigned_to"] == [user.profile_id]
    assert sorted(c["id"] for c in await cases_on(user)) == sorted([shared["id"], own["id"]])
    assert hidden["id"] not in {c["id"] for c in await cases_on(user)}


async def test_deleting_the_account_keeps_its_cases_unlinked(
    client: httpx.AsyncClient, admin: Member
) -> None:
    account = await _account(client, admin, "Doomed")
    created = await _create(client, admin, name="Survivor", account=account)
    deleted = await client.delete(f"/api/accounts/{account}/", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    detail = await _detail(client, admin, created["id"])
    assert detail["cases_obj"]["account"] is None
    assert detail["account_obj"] is None
    page = await _list(client, admin)
    assert [(c["name"], c["account"]) for c in page["results"]] == [("Survivor", None)]
    assert _names(await _list(client, admin, account=account)) == []
