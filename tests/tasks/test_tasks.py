"""Tasks (§11) through the HTTP API: create defaults and vocabularies (Medium kept apart from
Normal), titles, due dates, account and contacts, partial updates, list envelope and filters
(due date included), statement counts, visibility and permissions (§1.3, with the update check
the legacy app lacked), detail, comments and attachments (served by the activity module), and
the tasks shown on an account's detail."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.records.api import RecordApi, field_error, new_account, new_contact, new_team
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "title",
    "status",
    "priority",
    "due_date",
    "account",
    "contacts",
    "description",
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
    "accounts_list",
    "contacts_list",
    "users",
    "teams",
}
DETAIL_KEYS = {
    "task_obj",
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
}
STATUSES = ["New", "In Progress", "Completed"]
PRIORITIES = ["Low", "Medium", "Normal", "High", "Urgent"]
CONTACT_BRIEF_KEYS = {"id", "first_name", "last_name", "primary_email", "mobile_number"}
UNKNOWN_ACCOUNT = "Not an account of this organization that you can see"


# -- helpers -----------------------------------------------------------------------------------


API = RecordApi("/api/tasks/", "title", "Task")
_post, _create, _change, _changed = API.post, API.create, API.change, API.changed
_detail, _list, _titles = API.detail, API.list, API.names
_field_error, _account, _contact, _team = field_error, new_account, new_contact, new_team


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


# -- create: defaults and vocabularies ----------------------------------------------------------


async def test_create_minimal_gets_the_defaults(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(client, admin, title="Call ACME back")
    assert set(created) == ITEM_KEYS
    assert created["title"] == "Call ACME back"
    assert (created["status"], created["priority"]) == ("New", "Normal")
    assert created["due_date"] is None
    assert created["account"] is None
    assert created["description"] is None
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
    team = await _team(client, admin, "Sales")
    created = await _create(
        client,
        admin,
        title="Send the renewal quote",
        status="In Progress",
        priority="High",
        due_date="2025-03-14",
        account=account,
        contacts=contacts,
        description="Quote for the 2025 renewal",
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["renewal", "q1"],
    )
    assert (created["status"], created["priority"]) == ("In Progress", "High")
    assert created["due_date"] == "2025-03-14"
    assert created["account"] == account
    assert created["contacts"] == contacts
    assert created["description"] == "Quote for the 2025 renewal"
    assert created["assigned_to"] == [agent.profile_id]
    assert created["teams"] == [team]
    assert sorted(created["tags"]) == ["q1", "renewal"]


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        ("status", "in  progress", "In Progress"),
        ("status", " COMPLETED ", "Completed"),
        ("status", "new", "New"),
        ("priority", "URGENT", "Urgent"),
        ("priority", "medium", "Medium"),
        ("priority", "Medium", "Medium"),
        ("priority", "normal", "Normal"),
        ("priority", "low", "Low"),
    ],
)
async def test_status_and_priority_are_case_insensitive(
    client: httpx.AsyncClient, admin: Member, field: str, sent: str, stored: str
) -> None:
    created = await _create(client, admin, **{field: sent})
    assert created[field] == stored
    assert (await _detail(client, admin, created["id"]))["task_obj"][field] == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "Closed"),
        ("status", "Pending"),
        ("status", ""),
        ("status", 3),
        ("priority", "Critical"),
        ("priority", ""),
    ],
)
async def test_unknown_status_or_priority_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database, field: str, value: Any
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, title="Bad vocabulary", **{field: value})
    assert _field_error(response, field)
    assert await checksum(test_database) == before


# -- titles and due dates ----------------------------------------------------------------------


async def test_titles_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    first = await _create(client, admin, title="Call ACME")
    before = await checksum(test_database)
    response = await _post(client, admin, title="  call acme ")
    assert response.json() == {
        "error": True,
        "errors": {"title": ["Task already exists with this title"]},
        "code": "task_title_taken",
    }
    assert await checksum(test_database) == before
    second = await _create(client, admin, title="Other")
    response = await _change(client, admin, second["id"], title="CALL acme")
    assert response.json()["code"] == "task_title_taken"
    assert _field_error(response, "title") == ["Task already exists with this title"]
    # Renaming a task to a new spelling of its own title is no clash.
    assert (await _changed(client, admin, first["id"], title="CALL acme"))["title"] == "CALL acme"
    other = await factory.admin()
    assert (await _create(client, other, title="Call ACME"))["org"] == other.org_id


async def test_title_is_required_not_blank_and_at_most_200_characters(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    assert _field_error(await _post(client, admin), "title")
    assert _field_error(await _post(client, admin, title="   "), "title")
    assert _field_error(await _post(client, admin, title=None), "title")
    assert _field_error(await _post(client, admin, title="x" * 201), "title")
    # "name" is the cases' field, not the tasks'.
    assert _field_error(await _post(client, admin, name="Named, not titled"), "title")
    assert await checksum(test_database) == before
    assert (await _create(client, admin, title="x" * 200))["title"] == "x" * 200
    assert (await _create(client, admin, title="  Trimmed  "))["title"] == "Trimmed"


async def test_due_date_is_validated_set_and_cleared(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    for bad in ("2024-02-30", "tomorrow", "14/03/2025"):
        assert _field_error(await _post(client, admin, title="Bad date", due_date=bad), "due_date")
    assert await checksum(test_database) == before

    created = await _create(client, admin, due_date="2024-02-29")
    assert created["due_date"] == "2024-02-29"
    moved = await _changed(client, admin, created["id"], due_date="2024-03-01")
    assert moved["due_date"] == "2024-03-01"
    kept = await _changed(client, admin, created["id"], method="PUT", priority="Low")
    assert (kept["due_date"], kept["priority"]) == ("2024-03-01", "Low")
    cleared = await _changed(client, admin, created["id"], due_date=None)
    assert cleared["due_date"] is None
    assert (await _detail(client, admin, created["id"]))["task_obj"]["due_date"] is None


# -- account and contacts ----------------------------------------------------------------------


async def test_foreign_or_unknown_account_is_refused_and_nothing_written(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    other = await factory.admin()
    foreign = await _account(client, other, "Their account")
    before = await checksum(test_database)
    for account in (foreign, str(uuid.uuid4())):
        response = await _post(client, admin, title="Misfiled", account=account)
        assert response.json()["code"] == "unknown_account"
        assert _field_error(response, "account") == [UNKNOWN_ACCOUNT]
    assert _field_error(await _post(client, admin, title="Misfiled", account="acme"), "account")
    assert await checksum(test_database) == before


async def test_a_user_may_only_link_accounts_they_can_see(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    hidden = await _account(client, admin, "Hidden")
    shared = await _account(client, admin, "Shared", assigned_to=[user.profile_id])
    own = await _account(client, user, "Own")
    response = await _post(client, user, title="On hidden", account=hidden)
    assert response.json()["code"] == "unknown_account"
    assert (await _create(client, user, account=shared))["account"] == shared
    mine = await _create(client, user, account=own)
    assert mine["account"] == own
    response = await _change(client, user, mine["id"], account=hidden)
    assert response.json()["code"] == "unknown_account"
    assert (await _detail(client, user, mine["id"]))["task_obj"]["account"] == own


async def test_contacts_must_belong_to_the_org(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    other = await factory.admin()
    foreign = await _contact(client, other)
    mine = await _contact(client, admin)
    missing = str(uuid.uuid4())
    before = await checksum(test_database)
    for bad in (missing, foreign):
        response = await _post(client, admin, title="Bad contacts", contacts=[mine, bad])
        assert response.json()["code"] == "unknown_contacts"
        assert _field_error(response, "contacts") == [f"Not contacts of this organization: {bad}"]
    assert await checksum(test_database) == before
    created = await _create(client, admin, contacts=[mine, mine])
    assert created["contacts"] == [mine]


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
        description="first",
        priority="High",
        status="In Progress",
        due_date="2025-01-31",
        contacts=[contact],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["vip"],
    )
    changed = await _changed(client, admin, created["id"], method, priority="medium")
    unchanged = {k: v for k, v in created.items() if k not in ("priority", "updated_at")}
    assert {k: v for k, v in changed.items() if k in unchanged} == unchanged
    assert changed["priority"] == "Medium"

    nulls = await _changed(
        client,
        admin,
        created["id"],
        method,
        title=None,
        status=None,
        priority=None,
        description=None,
        due_date=None,
    )
    assert (nulls["title"], nulls["status"], nulls["priority"]) == (
        created["title"],
        "In Progress",
        "Medium",
    )
    assert (nulls["description"], nulls["due_date"]) == (None, None)

    relinked = await _changed(
        client, admin, created["id"], method, assigned_to=[other_agent.profile_id], tags=[]
    )
    assert relinked["assigned_to"] == [other_agent.profile_id]
    assert relinked["tags"] == []
    assert (relinked["contacts"], relinked["teams"]) == ([contact], [team])

    cleared = await _changed(client, admin, created["id"], method, contacts=[], teams=[])
    assert (cleared["contacts"], cleared["teams"]) == ([], [])
    assert cleared["assigned_to"] == [other_agent.profile_id]

    done = await _changed(client, admin, created["id"], method, status="completed")
    assert done["status"] == "Completed"
    assert (await _detail(client, admin, created["id"]))["task_obj"]["status"] == "Completed"


async def test_setting_and_clearing_the_account(client: httpx.AsyncClient, admin: Member) -> None:
    acme = await _account(client, admin, "ACME")
    globex = await _account(client, admin, "Globex")
    task_id = (await _create(client, admin))["id"]
    assert (await _changed(client, admin, task_id, account=acme))["account"] == acme
    assert (await _changed(client, admin, task_id, method="PUT", account=globex))["account"] == (
        globex
    )
    assert (await _detail(client, admin, task_id))["account_obj"] == {
        "id": globex,
        "name": "Globex",
    }
    response = await _change(client, admin, task_id, account=str(uuid.uuid4()))
    assert response.json()["code"] == "unknown_account"
    assert (await _changed(client, admin, task_id, description="x"))["account"] == globex
    assert (await _changed(client, admin, task_id, account=None))["account"] is None
    assert (await _detail(client, admin, task_id))["account_obj"] is None


async def test_update_validates_like_create(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    task_id = (await _create(client, admin))["id"]
    before = await checksum(test_database)
    invalid: list[tuple[str, Any]] = [
        ("status", "Closed"),
        ("priority", "Critical"),
        ("title", "  "),
        ("title", "y" * 201),
        ("contacts", [str(uuid.uuid4())]),
        ("due_date", "yesterday"),
        ("due_date", "2023-02-30"),
    ]
    for field, value in invalid:
        assert _field_error(await _change(client, admin, task_id, **{field: value}), field)
    assert await checksum(test_database) == before


# -- list --------------------------------------------------------------------------------------


async def test_list_envelope_newest_first_and_pagination(
    client: httpx.AsyncClient, admin: Member
) -> None:
    empty = await _list(client, admin, limit=2)
    assert (empty["count"], empty["results"]) == (0, [])
    for n in range(5):
        await _create(client, admin, title=f"Task {n}")
    page = await _list(client, admin, limit=2)  # the same URL: not answered from the cache
    assert set(page) == LIST_KEYS
    assert page["count"] == 5
    assert _titles(page) == ["Task 4", "Task 3"]
    assert set(page["results"][0]) == ITEM_KEYS
    assert page["previous"] is None
    assert page["next"] == "/api/tasks/?limit=2&offset=2"
    last = await _list(client, admin, limit=2, offset=4)
    assert _titles(last) == ["Task 0"]
    assert last["next"] is None
    assert last["previous"] == "/api/tasks/?limit=2&offset=2"
    assert (page["status"], page["priority"]) == (STATUSES, PRIORITIES)


async def test_list_reflects_updates_and_deletes(client: httpx.AsyncClient, admin: Member) -> None:
    first = await _create(client, admin, title="Before")
    second = await _create(client, admin, title="Doomed")
    assert _titles(await _list(client, admin)) == ["Doomed", "Before"]
    await _changed(client, admin, first["id"], title="After")
    deleted = await client.delete(f"/api/tasks/{second['id']}/", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    page = await _list(client, admin)  # the same URL again: the cache was dropped
    assert (_titles(page), page["count"]) == (["After"], 1)


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
    assert "type_of_case" not in page


async def test_filter_by_title_is_partial_and_case_insensitive(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, title="Call the printer vendor")
    await _create(client, admin, title="Renew VPN licence")
    await _create(client, admin, title="100% off_by_one")
    assert _titles(await _list(client, admin, title="PRINTER")) == ["Call the printer vendor"]
    assert _titles(await _list(client, admin, title="w vpn")) == ["Renew VPN licence"]
    assert _titles(await _list(client, admin, title="%")) == ["100% off_by_one"]
    assert _titles(await _list(client, admin, title="_by")) == ["100% off_by_one"]
    assert _titles(await _list(client, admin, title="nothing")) == []


async def test_filter_by_status_is_case_insensitive_and_checked(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, title="Fresh")
    await _create(client, admin, title="Working", status="In Progress")
    await _create(client, admin, title="Done", status="Completed")
    assert _titles(await _list(client, admin, status="in   PROGRESS")) == ["Working"]
    assert _titles(await _list(client, admin, status="completed")) == ["Done"]
    assert _titles(await _list(client, admin, status="NEW")) == ["Fresh"]
    response = await client.get("/api/tasks/", params={"status": "Closed"}, headers=admin.headers)
    assert _field_error(response, "status")


async def test_filter_by_priority_keeps_medium_apart_from_normal(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, title="Fire", priority="Urgent")
    await _create(client, admin, title="Middling", priority="Medium")
    await _create(client, admin, title="Default")
    assert _titles(await _list(client, admin, priority="urgent")) == ["Fire"]
    assert _titles(await _list(client, admin, priority="MEDIUM")) == ["Middling"]
    assert _titles(await _list(client, admin, priority="normal")) == ["Default"]
    assert _titles(await _list(client, admin, priority="Low")) == []
    response = await client.get("/api/tasks/", params={"priority": "Top"}, headers=admin.headers)
    assert _field_error(response, "priority")


async def test_filter_by_due_date_is_exact_and_checked(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(client, admin, title="Early", due_date="2025-03-13")
    await _create(client, admin, title="On the day", due_date="2025-03-14")
    await _create(client, admin, title="Also on the day", due_date="2025-03-14")
    await _create(client, admin, title="Undated")
    page = await _list(client, admin, due_date="2025-03-14")
    assert (sorted(_titles(page)), page["count"]) == (["Also on the day", "On the day"], 2)
    assert _titles(await _list(client, admin, due_date="2025-03-13")) == ["Early"]
    assert _titles(await _list(client, admin, due_date="2025-03-15")) == []
    combined = await _list(client, admin, due_date="2025-03-14", title="also")
    assert _titles(combined) == ["Also on the day"]
    for bad in ("2025-02-30", "tomorrow", "14/03/2025"):
        response = await client.get("/api/tasks/", params={"due_date": bad}, headers=admin.headers)
        # A query parameter FastAPI refuses is the API's 400 on that field, not a bare 422.
        assert _field_error(response, "due_date"), bad


async def test_filter_by_account_id(client: httpx.AsyncClient, admin: Member) -> None:
    acme = await _account(client, admin, "ACME")
    globex = await _account(client, admin, "Globex")
    await _create(client, admin, title="On ACME", account=acme)
    await _create(client, admin, title="On Globex", account=globex)
    await _create(client, admin, title="Nowhere")
    assert _titles(await _list(client, admin, account=acme)) == ["On ACME"]
    both = await _list(client, admin, account=f"{acme},{globex}")
    assert sorted(_titles(both)) == ["On ACME", "On Globex"]
    assert _titles(await _list(client, admin, account=str(uuid.uuid4()))) == []
    response = await client.get("/api/tasks/", params={"account": "acme"}, headers=admin.headers)
    assert _field_error(response, "account")


async def test_filter_by_assignee_and_tags(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    await _create(client, admin, title="Assigned", assigned_to=[agent.profile_id])
    await _create(client, admin, title="Tagged", tags=["Billing"])
    await _create(client, admin, title="Both", tags=["billing"], assigned_to=[agent.profile_id])
    await _create(client, admin, title="Plain")
    assert sorted(_titles(await _list(client, admin, assigned_to=agent.profile_id))) == [
        "Assigned",
        "Both",
    ]
    assert _titles(await _list(client, admin, assigned_to=admin.profile_id)) == []
    assert sorted(_titles(await _list(client, admin, tags="billing,nothing"))) == [
        "Both",
        "Tagged",
    ]
    combined = await _list(client, admin, tags="BILLING", assigned_to=agent.profile_id)
    assert (_titles(combined), combined["count"]) == (["Both"], 1)
    response = await client.get("/api/tasks/", params={"assigned_to": "me"}, headers=admin.headers)
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
            title=f"Task {n}",
            due_date=f"2025-01-{n + 10}",
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


async def test_users_see_only_tasks_they_created_or_are_assigned(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    hidden = await _create(client, admin, title="Hidden")
    assigned = await _create(client, admin, title="Assigned", assigned_to=[user.profile_id])
    own = await _create(client, user, title="Own")
    page = await _list(client, user)
    assert sorted(_titles(page)) == ["Assigned", "Own"]
    assert page["count"] == 2
    assert (await _list(client, admin))["count"] == 3
    assert (await _detail(client, user, assigned["id"]))["task_obj"]["title"] == "Assigned"
    assert (await _detail(client, user, own["id"]))["task_obj"]["title"] == "Own"
    response = await client.get(f"/api/tasks/{hidden['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)


async def test_creator_and_assignee_may_update_but_only_the_creator_deletes(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    creator = await factory.member_of(admin)
    assignee = await factory.member_of(admin)
    created = await _create(client, creator, title="Shared", assigned_to=[assignee.profile_id])
    by_assignee = await _changed(client, assignee, created["id"], status="In Progress")
    assert by_assignee["status"] == "In Progress"
    by_creator = await _changed(client, creator, created["id"], method="PUT", priority="Urgent")
    assert (by_creator["status"], by_creator["priority"]) == ("In Progress", "Urgent")
    by_admin = await _changed(client, admin, created["id"], due_date="2025-06-30")
    assert by_admin["due_date"] == "2025-06-30"

    before = await checksum(test_database)
    response = await client.delete(f"/api/tasks/{created['id']}/", headers=assignee.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before
    response = await client.delete(f"/api/tasks/{created['id']}/", headers=creator.headers)
    assert response.status_code == 204, response.text


async def test_a_member_neither_creator_nor_assignee_may_not_update_or_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    """The legacy app let anyone update a task (§11.3); ours refuses with 403."""
    user = await factory.member_of(admin)
    colleague = await factory.member_of(admin)
    by_admin = await _create(client, admin)
    by_colleague = await _create(client, colleague, assigned_to=[admin.profile_id])
    before = await checksum(test_database)
    for task in (by_admin, by_colleague):
        for method in ("PUT", "PATCH"):
            response = await _change(client, user, task["id"], method, title="Mine now")
            assert (response.status_code, response.json()) == (403, DENIED), method
            response = await _change(
                client, user, task["id"], method, assigned_to=[user.profile_id]
            )
            assert (response.status_code, response.json()) == (403, DENIED), method
        response = await client.delete(f"/api/tasks/{task['id']}/", headers=user.headers)
        assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_creator_and_admin_may_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    own = await _create(client, user)
    other = await _create(client, admin, assigned_to=[user.profile_id])
    for caller, task in ((user, own), (admin, other)):
        response = await client.delete(f"/api/tasks/{task['id']}/", headers=caller.headers)
        assert response.status_code == 204, response.text
        assert response.content == b""
        gone = await client.get(f"/api/tasks/{task['id']}/", headers=admin.headers)
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0


async def test_another_org_gets_404_for_every_method(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    created = await _create(client, admin, title="Ours")
    intruder = await factory.admin()
    before = await checksum(test_database)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/tasks/{created['id']}/",
            json={"title": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    response = await client.post(
        f"/api/tasks/{created['id']}/", json={"comment": "hi"}, headers=intruder.headers
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before
    assert (await _list(client, intruder))["count"] == 0


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, admin: Member) -> None:
    for task_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/tasks/{task_id}/",
                json={"title": "x"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, task_id)


# -- detail ------------------------------------------------------------------------------------


async def test_detail_shape(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    agent = await factory.member_of(admin)
    account = await _account(client, admin, "ACME Corporation")
    contact = await _contact(client, admin, "Grace", "Hopper")
    team = await _team(client, admin, "Sales")
    created = await _create(
        client,
        admin,
        title="Prepare the demo",
        priority="urgent",
        due_date="2025-05-05",
        account=account,
        contacts=[contact],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["demo", "prod"],
    )
    detail = await _detail(client, admin, created["id"])
    assert set(detail) == DETAIL_KEYS
    assert detail["task_obj"] == created
    assert detail["task_obj"]["due_date"] == "2025-05-05"
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
    assert detail["teams"] == [{"id": team, "name": "Sales"}]
    assert sorted(detail["tags"]) == ["demo", "prod"]
    assert (detail["comments"], detail["attachments"]) == ([], [])
    assert detail["comment_permission"] is True
    assert {m["user__email"] for m in detail["users_mention"]} == {admin.email, agent.email}
    assert (detail["status"], detail["priority"]) == (STATUSES, PRIORITIES)

    seen_by_agent = await _detail(client, agent, created["id"])
    assert seen_by_agent["comment_permission"] is False
    assert seen_by_agent["users_mention"] == [{"username": admin.email}]


# -- comments and attachments (activity routes) ------------------------------------------------


async def test_comments_are_added_listed_edited_and_deleted(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    assignee = await factory.member_of(admin)
    task_id = (await _create(client, admin, assigned_to=[assignee.profile_id]))["id"]
    url = f"/api/tasks/{task_id}/"
    added = await client.post(url, json={"comment": "Called the customer"}, headers=admin.headers)
    assert added.status_code == 201, added.text
    comment = added.json()["comment"]
    assert (comment["comment"], comment["task"]) == ("Called the customer", task_id)
    assert comment["commented_by"] == admin.profile_id
    second = await client.post(url, json={"comment": "Sent the quote"}, headers=admin.headers)
    assert second.status_code == 201, second.text

    detail = await _detail(client, admin, task_id)
    assert [c["comment"] for c in detail["comments"]] == ["Sent the quote", "Called the customer"]
    assert {c["task"] for c in detail["comments"]} == {task_id}

    comment_url = f"/api/tasks/comment/{comment['id']}/"
    edited = await client.put(comment_url, json={"comment": "Called twice"}, headers=admin.headers)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["comment"], edited.json()["task"]) == ("Called twice", task_id)

    # Only the author (or an admin) edits or deletes a comment, even on a task one may see.
    before = await checksum(test_database)
    response = await client.put(comment_url, json={"comment": "x"}, headers=assignee.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    response = await client.delete(comment_url, headers=assignee.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before

    deleted = await client.delete(comment_url, headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    comments = (await _detail(client, admin, task_id))["comments"]
    assert [c["comment"] for c in comments] == ["Sent the quote"]
    again = await client.delete(comment_url, headers=admin.headers)
    assert (again.status_code, again.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("field", ["task_attachment", "attachment"])
async def test_attachments_are_uploaded_listed_downloaded_and_deleted(
    client: httpx.AsyncClient, admin: Member, field: str
) -> None:
    task_id = (await _create(client, admin))["id"]
    added = await client.post(
        f"/api/tasks/{task_id}/",
        data={"comment": "agenda attached"},
        files={field: ("agenda.txt", b"1. pricing 2. dates", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    attachment = added.json()["attachment"]
    assert (attachment["file_name"], attachment["task"]) == ("agenda.txt", task_id)
    assert attachment["attachment"] == f"/api/tasks/attachment/{attachment['id']}/"

    detail = await _detail(client, admin, task_id)
    assert [a["id"] for a in detail["attachments"]] == [attachment["id"]]
    assert detail["attachments"][0]["task"] == task_id
    assert [c["comment"] for c in detail["comments"]] == ["agenda attached"]

    download = await client.get(attachment["attachment"], headers=admin.headers)
    assert download.status_code == 200, download.text
    assert download.content == b"1. pricing 2. dates"
    assert "agenda.txt" in download.headers["content-disposition"]

    deleted = await client.delete(attachment["attachment"], headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    assert (await _detail(client, admin, task_id))["attachments"] == []
    gone = await client.get(attachment["attachment"], headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)


async def test_activity_follows_the_task_visibility(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    assignee = await factory.member_of(admin)
    outsider = await factory.member_of(admin)
    task_id = (await _create(client, admin, assigned_to=[assignee.profile_id]))["id"]
    url = f"/api/tasks/{task_id}/"
    added = await client.post(
        url,
        data={"comment": "from the assignee"},
        files={"task_attachment": ("a.txt", b"assignee file", "text/plain")},
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
    response = await client.delete(download, headers=outsider.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    # A task comment is not reachable through another record type's routes.
    response = await client.put(
        f"/api/cases/comment/{comment_id}/", json={"comment": "x"}, headers=admin.headers
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before


async def test_deleting_a_task_removes_its_comments_and_attachments(
    client: httpx.AsyncClient, admin: Member
) -> None:
    task_id = (await _create(client, admin))["id"]
    url = f"/api/tasks/{task_id}/"
    added = await client.post(
        url,
        data={"comment": "see file"},
        files={"task_attachment": ("notes.txt", b"notes", "text/plain")},
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
        f"/api/tasks/comment/{comment_id}/", json={"comment": "still here?"}, headers=admin.headers
    )
    assert (edit.status_code, edit.json()) == (404, NOT_FOUND)
    assert (await client.get(download, headers=admin.headers)).status_code == 404


# -- tasks on the account detail ---------------------------------------------------------------


async def test_account_detail_lists_the_visible_tasks_of_the_account(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    account = await _account(client, admin, "ACME", assigned_to=[user.profile_id])
    other_account = await _account(client, admin, "Globex")
    shared = await _create(
        client, admin, title="Shared", account=account, assigned_to=[user.profile_id]
    )
    hidden = await _create(client, admin, title="Hidden", account=account, due_date="2025-01-01")
    own = await _create(client, user, title="Own", account=account)
    await _create(client, admin, title="Elsewhere", account=other_account)
    await _create(client, admin, title="Unlinked")

    async def tasks_on(member: Member) -> list[dict[str, Any]]:
        response = await client.get(f"/api/accounts/{account}/", headers=member.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["tasks"])

    as_admin = await tasks_on(admin)
    assert [t["title"] for t in as_admin] == ["Own", "Hidden", "Shared"]  # newest first
    assert set(as_admin[0]) == ITEM_KEYS
    assert {t["account"] for t in as_admin} == {account}
    assert next(t for t in as_admin if t["id"] == shared["id"])["assigned_to"] == [user.profile_id]
    assert next(t for t in as_admin if t["id"] == hidden["id"]) == hidden
    as_user = await tasks_on(user)
    assert sorted(t["id"] for t in as_user) == sorted([shared["id"], own["id"]])
    assert hidden["id"] not in {t["id"] for t in as_user}


async def test_deleting_the_account_keeps_its_tasks_unlinked(
    client: httpx.AsyncClient, admin: Member
) -> None:
    account = await _account(client, admin, "Doomed")
    created = await _create(client, admin, title="Survivor", account=account)
    deleted = await client.delete(f"/api/accounts/{account}/", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    detail = await _detail(client, admin, created["id"])
    assert detail["task_obj"]["account"] is None
    assert detail["account_obj"] is None
    assert detail["task_obj"]["title"] == "Survivor"
    page = await _list(client, admin)
    assert [(t["title"], t["account"]) for t in page["results"]] == [("Survivor", None)]
    assert _titles(await _list(client, admin, account=account)) == []
