"""Events (§12) through the HTTP API: create defaults and vocabularies, names, schedule
checks, recurring events (one row holding its rule, its days computed), the occurrences in
a date window, partial updates and immutable fields, list envelope and filters, statement
counts, visibility and permissions (§1.3), detail, comments and attachments (served by the
activity module)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.config import Settings
from crm.core.db import Database
from tests.conftest import Factory, Member
from tests.contracts.test_routes import checksum
from tests.shapes import DENIED, MEMBER_BRIEF_KEYS, NOT_FOUND
from tests.sql_count import count_statements

ITEM_KEYS = {
    "id",
    "name",
    "event_type",
    "status",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
    "recurring_days",
    "date_of_meeting",
    "description",
    "is_active",
    "disabled",
    "contacts",
    "assigned_to",
    "teams",
    "tags",
    "org",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
}
WRITE_KEYS = ITEM_KEYS | {"occurrences", "count"}
OCCURRENCE_KEYS = {
    "event",
    "name",
    "event_type",
    "status",
    "date",
    "start_time",
    "end_date",
    "end_time",
}
LIST_KEYS = {
    "count",
    "next",
    "previous",
    "results",
    "event_types",
    "statuses",
    "recurring_days",
    "contacts_list",
    "users",
    "teams",
}
DETAIL_KEYS = {
    "event_obj",
    "occurrences",
    "selected_recurring_days",
    "contacts",
    "assigned_to",
    "teams",
    "tags",
    "comments",
    "attachments",
    "users_mention",
    "comment_permission",
    "event_types",
    "statuses",
    "recurring_days",
}
EVENT_TYPES = ["Call", "Meeting", "Task", "Recurring", "Non-Recurring"]
STATUSES = [
    "Planned",
    "Held",
    "Not Held",
    "Not Started",
    "Started",
    "Completed",
    "Canceled",
    "Deferred",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
CONTACT_BRIEF_KEYS = {"id", "first_name", "last_name", "primary_email", "mobile_number"}
NO_DAY = "Choose atleast one recurring day"
# 2026-12-01 is a Tuesday; Monday and Wednesday until 2026-12-14 fall on these days.
MON_WED = {
    "event_type": "Recurring",
    "start_date": "2026-12-01",
    "end_date": "2026-12-14",
    "recurring_days": ["Monday", "Wednesday"],
}
MON_WED_DAYS = ["2026-12-02", "2026-12-07", "2026-12-09", "2026-12-14"]


# -- helpers -----------------------------------------------------------------------------------


def _body(**body: Any) -> dict[str, Any]:
    body.setdefault("name", f"Event {uuid.uuid4().hex[:8]}")
    body.setdefault("event_type", "Meeting")
    body.setdefault("start_date", "2026-12-01")
    body.setdefault("start_time", "09:00:00")
    body.setdefault("end_date", body["start_date"])
    return body


async def _post(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    return await client.post("/api/events/", json=body, headers=member.headers)


async def _create(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    response = await _post(client, member, **_body(**body))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _change(
    client: httpx.AsyncClient, member: Member, event_id: str, method: str = "PATCH", **body: Any
) -> httpx.Response:
    return await client.request(
        method, f"/api/events/{event_id}/", json=body, headers=member.headers
    )


async def _changed(
    client: httpx.AsyncClient, member: Member, event_id: str, method: str = "PATCH", **body: Any
) -> dict[str, Any]:
    response = await _change(client, member, event_id, method, **body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _detail(client: httpx.AsyncClient, member: Member, event_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/events/{event_id}/", headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _list(client: httpx.AsyncClient, member: Member, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/events/", params=params, headers=member.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _get_occurrences(
    client: httpx.AsyncClient, member: Member, start: str, end: str, **params: Any
) -> httpx.Response:
    return await client.get(
        "/api/events/occurrences/",
        params={"start": start, "end": end, **params},
        headers=member.headers,
    )


async def _occurrences(
    client: httpx.AsyncClient, member: Member, start: str, end: str, **params: Any
) -> dict[str, Any]:
    response = await _get_occurrences(client, member, start, end, **params)
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert set(body) == {"start", "end", "count", "results"}
    assert (body["start"], body["end"]) == (start, end)
    assert body["count"] == len(body["results"])
    return body


def _field_error(response: httpx.Response, field: str) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] is True
    assert field in body["errors"], body
    return list(body["errors"][field])


def _schedule_error(response: httpx.Response, field: str) -> list[str]:
    messages = _field_error(response, field)
    assert response.json()["code"] == "invalid_schedule", response.text
    return messages


def _names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["results"]]


def _dates(occurrences: list[dict[str, Any]]) -> list[str]:
    return [o["date"] for o in occurrences]


def _when(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["date"], o["start_time"], o["name"]) for o in body["results"]]


async def _contact(
    client: httpx.AsyncClient, member: Member, first_name: str = "Ada", last_name: str = "Lovelace"
) -> str:
    body = {
        "first_name": first_name,
        "last_name": last_name,
        "primary_email": f"{uuid.uuid4().hex[:10]}@example.com",
    }
    response = await client.post("/api/contacts/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _team(client: httpx.AsyncClient, admin: Member, name: str) -> str:
    response = await client.post("/api/teams/", json={"name": name}, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
async def admin(factory: Factory) -> Member:
    return await factory.admin()


# -- create: defaults and vocabularies ----------------------------------------------------------


async def test_create_minimal_gets_the_defaults(client: httpx.AsyncClient, admin: Member) -> None:
    created = await _create(
        client,
        admin,
        name="Kick-off",
        event_type="Meeting",
        start_date="2026-12-03",
        start_time="10:30",
        end_date="2026-12-03",
    )
    assert set(created) == WRITE_KEYS
    assert (created["name"], created["event_type"]) == ("Kick-off", "Meeting")
    assert (created["start_date"], created["start_time"]) == ("2026-12-03", "10:30:00")
    assert (created["end_date"], created["end_time"]) == ("2026-12-03", None)
    assert created["status"] is None
    assert created["is_active"] is True
    assert created["disabled"] is False
    assert created["description"] is None
    assert created["recurring_days"] == []
    assert created["date_of_meeting"] == "2026-12-03"
    assert created["created_by"] == admin.profile_id
    assert created["org"] == admin.org_id
    assert created["created_at"] == created["created_on"]
    assert (created["contacts"], created["assigned_to"], created["teams"], created["tags"]) == (
        [],
        [],
        [],
        [],
    )
    assert created["count"] == 1
    assert created["occurrences"] == [
        {
            "event": created["id"],
            "name": "Kick-off",
            "event_type": "Meeting",
            "status": None,
            "date": "2026-12-03",
            "start_time": "10:30:00",
            "end_date": "2026-12-03",
            "end_time": None,
        }
    ]


async def test_create_with_every_field(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    contacts = [await _contact(client, admin, "Grace", "Hopper"), await _contact(client, admin)]
    team = await _team(client, admin, "Sales")
    created = await _create(
        client,
        admin,
        name="Offsite",
        event_type="Task",
        status="Planned",
        start_date="2026-12-01",
        start_time="18:00:00",
        end_date="2026-12-03",
        end_time="08:00:00",
        description="Three days away",
        is_active=False,
        disabled=True,
        contacts=contacts,
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["travel", "q4"],
    )
    assert (created["event_type"], created["status"]) == ("Task", "Planned")
    assert (created["end_date"], created["end_time"]) == ("2026-12-03", "08:00:00")
    assert created["description"] == "Three days away"
    assert (created["is_active"], created["disabled"]) == (False, True)
    assert created["contacts"] == contacts
    assert created["assigned_to"] == [agent.profile_id]
    assert created["teams"] == [team]
    assert sorted(created["tags"]) == ["q4", "travel"]
    # A non-recurring event spanning days happens once, from its start to its end.
    assert created["count"] == 1
    assert [(o["date"], o["end_date"], o["end_time"]) for o in created["occurrences"]] == [
        ("2026-12-01", "2026-12-03", "08:00:00")
    ]
    detail = await _detail(client, admin, created["id"])
    assert detail["event_obj"] == {
        k: v for k, v in created.items() if k not in ("occurrences", "count")
    }


@pytest.mark.parametrize(
    ("field", "sent", "stored"),
    [
        ("event_type", "non-recurring", "Non-Recurring"),
        ("event_type", " CALL ", "Call"),
        ("event_type", "meeting", "Meeting"),
        ("status", "not   held", "Not Held"),
        ("status", "CANCELED", "Canceled"),
        ("status", "planned", "Planned"),
    ],
)
async def test_event_type_and_status_are_case_insensitive(
    client: httpx.AsyncClient, admin: Member, field: str, sent: str, stored: str
) -> None:
    created = await _create(client, admin, **{field: sent})
    assert created[field] == stored
    assert created["occurrences"][0][field] == stored
    assert (await _detail(client, admin, created["id"]))["event_obj"][field] == stored


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_type", "Webinar"),
        ("event_type", ""),
        ("event_type", None),
        ("event_type", "Recur"),
        ("status", "Done"),
        ("status", ""),
        ("status", 3),
    ],
)
async def test_unknown_event_type_or_status_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database, field: str, value: Any
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, **_body(name="Bad vocabulary", **{field: value}))
    assert _field_error(response, field)
    assert await checksum(test_database) == before


async def test_required_fields_and_their_formats(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    for field in ("name", "event_type", "start_date", "start_time", "end_date"):
        body = _body()
        del body[field]
        assert _field_error(await _post(client, admin, **body), field)
    for field, value in [
        ("name", "   "),
        ("name", "x" * 65),
        ("start_date", "2026-02-30"),
        ("end_date", "tomorrow"),
        ("start_time", "25:00"),
        ("end_time", "noon"),
    ]:
        assert _field_error(await _post(client, admin, **_body(**{field: value})), field)
    assert await checksum(test_database) == before
    assert (await _create(client, admin, name="x" * 64))["name"] == "x" * 64


async def test_names_are_unique_per_org_case_insensitively(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    first = await _create(client, admin, name="Board Meeting")
    before = await checksum(test_database)
    response = await _post(client, admin, **_body(name="  board MEETING "))
    assert response.status_code == 400
    assert response.json() == {
        "error": True,
        "errors": {"name": ["Event already exists with this name"]},
        "code": "event_name_taken",
    }
    assert await checksum(test_database) == before
    second = await _create(client, admin, name="Other")
    response = await _change(client, admin, second["id"], name="BOARD meeting")
    assert response.json()["code"] == "event_name_taken"
    assert _field_error(response, "name")
    assert (await _changed(client, admin, first["id"], name="BOARD meeting"))["name"] == (
        "BOARD meeting"
    )
    other = await factory.admin()
    assert (await _create(client, other, name="Board Meeting"))["org"] == other.org_id


# -- schedule checks ---------------------------------------------------------------------------


async def test_end_date_before_start_date_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    for extra in ({}, {"recurring_days": ["Monday"], "event_type": "Recurring"}):
        response = await _post(
            client, admin, **_body(start_date="2026-12-10", end_date="2026-12-09", **extra)
        )
        assert _schedule_error(response, "end_date") == [
            "The end date cannot be before the start date"
        ]
    assert await checksum(test_database) == before


async def test_same_day_end_time_before_start_time_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, **_body(start_time="10:00", end_time="09:59"))
    assert _schedule_error(response, "end_time") == ["The event cannot end before it starts"]
    assert await checksum(test_database) == before
    same = await _create(client, admin, start_time="10:00", end_time="10:00")
    assert same["end_time"] == "10:00:00"
    overnight = await _create(
        client, admin, start_date="2026-12-01", end_date="2026-12-02", start_time="22:00"
    )
    assert (await _changed(client, admin, overnight["id"], end_time="06:00"))["end_time"] == (
        "06:00:00"
    )


@pytest.mark.parametrize("days", ["missing", None, [], "", " , "])
async def test_recurring_without_days_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database, days: Any
) -> None:
    body = _body(**MON_WED)
    if days == "missing":
        del body["recurring_days"]
    else:
        body["recurring_days"] = days
    before = await checksum(test_database)
    response = await _post(client, admin, **body)
    assert _schedule_error(response, "recurring_days") == [NO_DAY]
    assert await checksum(test_database) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end_date": "2026-12-01"}, "end_date"),  # a recurring event ends on a later day
        ({"start_time": "10:00", "end_time": "09:00"}, "end_time"),  # each day ends after start
        ({"end_date": "2026-12-03", "recurring_days": ["Friday"]}, "recurring_days"),  # no day
    ],
)
async def test_recurring_schedule_problems_are_refused(
    client: httpx.AsyncClient,
    admin: Member,
    test_database: Database,
    change: dict[str, Any],
    field: str,
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, **_body(**{**MON_WED, **change}))
    assert _schedule_error(response, field)
    assert await checksum(test_database) == before


@pytest.mark.parametrize(
    ("days", "stored"),
    [
        (["wednesday", "MONDAY", "Monday"], ["Monday", "Wednesday"]),
        ("Wednesday,monday", ["Monday", "Wednesday"]),
        (" sunday , Friday,FRIDAY,", ["Friday", "Sunday"]),
        (WEEKDAYS[::-1], WEEKDAYS),
    ],
)
async def test_recurring_days_any_form_are_deduplicated_in_week_order(
    client: httpx.AsyncClient, admin: Member, days: Any, stored: list[str]
) -> None:
    created = await _create(client, admin, **{**MON_WED, "recurring_days": days})
    assert created["recurring_days"] == stored
    detail = await _detail(client, admin, created["id"])
    assert detail["event_obj"]["recurring_days"] == stored
    assert detail["selected_recurring_days"] == stored


@pytest.mark.parametrize("days", [["Mon"], ["Monday", "Funday"], "Monday,Someday", {"a": 1}])
async def test_unknown_weekday_is_refused(
    client: httpx.AsyncClient, admin: Member, test_database: Database, days: Any
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, **_body(**{**MON_WED, "recurring_days": days}))
    assert _field_error(response, "recurring_days")
    assert response.json()["code"] == "invalid"
    assert await checksum(test_database) == before


@pytest.mark.parametrize("days", [[3], ["Monday", None], [["Monday"]]])
async def test_a_weekday_that_is_not_text_is_a_400(
    client: httpx.AsyncClient, admin: Member, test_database: Database, days: Any
) -> None:
    before = await checksum(test_database)
    response = await _post(client, admin, **_body(**{**MON_WED, "recurring_days": days}))
    assert _field_error(response, "recurring_days")
    assert await checksum(test_database) == before


# -- recurrence --------------------------------------------------------------------------------


async def test_recurring_event_is_one_row_with_its_days_computed(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(
        client,
        admin,
        name="Stand-up",
        status="planned",
        start_time="09:15",
        end_time="09:30",
        **{**MON_WED, "event_type": "recurring", "recurring_days": "wednesday,monday"},
    )
    assert created["event_type"] == "Recurring"
    assert created["recurring_days"] == ["Monday", "Wednesday"]
    assert (created["start_date"], created["end_date"]) == ("2026-12-01", "2026-12-14")
    assert created["date_of_meeting"] == "2026-12-02"
    assert created["count"] == 4
    assert _dates(created["occurrences"]) == MON_WED_DAYS
    for occurrence in created["occurrences"]:
        assert set(occurrence) == OCCURRENCE_KEYS
        assert occurrence["event"] == created["id"]
        assert (occurrence["name"], occurrence["event_type"], occurrence["status"]) == (
            "Stand-up",
            "Recurring",
            "Planned",
        )
        assert occurrence["end_date"] == occurrence["date"]
        assert (occurrence["start_time"], occurrence["end_time"]) == ("09:15:00", "09:30:00")
    page = await _list(client, admin)
    assert page["count"] == 1
    assert _names(page) == ["Stand-up"]
    detail = await _detail(client, admin, created["id"])
    assert detail["occurrences"] == created["occurrences"]


async def test_write_responses_spell_out_the_first_100_days_and_count_all(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(
        client,
        admin,
        event_type="Recurring",
        start_date="2026-01-01",
        end_date="2026-12-31",
        recurring_days=WEEKDAYS,
    )
    assert created["count"] == 365
    assert len(created["occurrences"]) == 100
    assert (created["occurrences"][0]["date"], created["occurrences"][-1]["date"]) == (
        "2026-01-01",
        "2026-04-10",
    )
    detail = await _detail(client, admin, created["id"])
    assert detail["occurrences"] == created["occurrences"]
    weekends = await _changed(client, admin, created["id"], recurring_days=["Saturday", "Sunday"])
    assert weekends["count"] == 104
    assert weekends["date_of_meeting"] == "2026-01-03"
    assert len(weekends["occurrences"]) == 100


# -- occurrences in a window -------------------------------------------------------------------


async def test_occurrences_mix_recurring_and_single_events_in_time_order(
    client: httpx.AsyncClient, admin: Member
) -> None:
    recurring = await _create(client, admin, name="Stand-up", start_time="14:00", **MON_WED)
    await _create(
        client, admin, name="Call", event_type="Call", start_date="2026-12-07", start_time="16:00"
    )
    await _create(client, admin, name="Review", start_date="2026-12-07", start_time="09:00")
    await _create(client, admin, name="Later", start_date="2026-12-20")
    await _create(client, admin, name="Earlier", start_date="2026-11-20")
    trip = await _create(
        client,
        admin,
        name="Trip",
        event_type="Task",
        start_date="2026-11-28",
        start_time="07:00",
        end_date="2026-12-02",
        end_time="20:00",
    )
    window = await _occurrences(client, admin, "2026-12-01", "2026-12-07")
    assert _when(window) == [
        ("2026-11-28", "07:00:00", "Trip"),  # once, as its span meets the window
        ("2026-12-02", "14:00:00", "Stand-up"),
        ("2026-12-07", "09:00:00", "Review"),
        ("2026-12-07", "14:00:00", "Stand-up"),
        ("2026-12-07", "16:00:00", "Call"),
    ]
    assert window["count"] == 5
    first = window["results"][0]
    assert (first["event"], first["end_date"], first["end_time"]) == (
        trip["id"],
        "2026-12-02",
        "20:00:00",
    )
    assert all(set(o) == OCCURRENCE_KEYS for o in window["results"])
    assert {o["event"] for o in window["results"] if o["name"] == "Stand-up"} == {recurring["id"]}


async def test_occurrences_are_clipped_to_the_window(
    client: httpx.AsyncClient, admin: Member
) -> None:
    await _create(
        client,
        admin,
        name="Weekly",
        event_type="Recurring",
        start_date="2026-12-01",
        end_date="2026-12-31",
        recurring_days=["Monday"],
    )
    await _create(client, admin, name="Single", start_date="2026-12-10")

    async def days(start: str, end: str) -> list[tuple[str, str]]:
        body = await _occurrences(client, admin, start, end)
        return [(o["date"], o["name"]) for o in body["results"]]

    assert await days("2026-12-08", "2026-12-15") == [
        ("2026-12-10", "Single"),
        ("2026-12-14", "Weekly"),
    ]
    assert await days("2026-12-28", "2027-01-31") == [("2026-12-28", "Weekly")]
    assert await days("2026-11-01", "2026-11-30") == []
    assert await days("2027-01-01", "2027-01-31") == []
    assert await days("2026-12-10", "2026-12-10") == [("2026-12-10", "Single")]
    assert await days("2026-12-21", "2026-12-21") == [("2026-12-21", "Weekly")]
    assert [d for d, _ in await days("2026-11-15", "2027-01-15")] == [
        "2026-12-07",
        "2026-12-10",
        "2026-12-14",
        "2026-12-21",
        "2026-12-28",
    ]


async def test_the_window_is_checked(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, name="Somewhere", start_date="2024-06-01")
    response = await _get_occurrences(client, admin, "2026-12-05", "2026-12-04")
    assert _schedule_error(response, "end") == ["The window ends before it starts"]
    response = await _get_occurrences(client, admin, "2024-01-01", "2025-01-03")
    assert _schedule_error(response, "end") == ["Ask for at most 366 days at a time"]
    whole_leap_year = await _occurrences(client, admin, "2024-01-01", "2024-12-31")
    assert [o["name"] for o in whole_leap_year["results"]] == ["Somewhere"]
    assert (await _occurrences(client, admin, "2024-06-01", "2024-06-01"))["count"] == 1
    for params in ({"start": "2026-12-01"}, {"end": "2026-12-01"}, {}):
        response = await client.get(
            "/api/events/occurrences/", params=params, headers=admin.headers
        )
        assert response.status_code == 400, response.text
        assert set(response.json()["errors"]) == {"start", "end"} - set(params)
    response = await _get_occurrences(client, admin, "2026-02-30", "2026-03-05")
    assert _field_error(response, "start")


async def test_occurrence_filters(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    await _create(client, admin, name="Stand-up", assigned_to=[agent.profile_id], **MON_WED)
    await _create(
        client, admin, name="Client call", event_type="Call", start_date="2026-12-03", status="Held"
    )
    await _create(
        client, admin, name="Daily stand-up review", start_date="2026-12-04", tags=["ops"]
    )

    async def names(**params: Any) -> list[tuple[str, str]]:
        body = await _occurrences(client, admin, "2026-12-01", "2026-12-31", **params)
        return [(o["date"], o["name"]) for o in body["results"]]

    assert await names(name="STAND-UP") == [
        ("2026-12-02", "Stand-up"),
        ("2026-12-04", "Daily stand-up review"),
        ("2026-12-07", "Stand-up"),
        ("2026-12-09", "Stand-up"),
        ("2026-12-14", "Stand-up"),
    ]
    assert await names(event_type="call") == [("2026-12-03", "Client call")]
    assert [d for d, _ in await names(event_type="RECURRING")] == MON_WED_DAYS
    assert [d for d, _ in await names(assigned_to=agent.profile_id)] == MON_WED_DAYS
    assert await names(assigned_to=admin.profile_id) == []
    assert await names(status="held") == [("2026-12-03", "Client call")]
    assert await names(tags="OPS") == [("2026-12-04", "Daily stand-up review")]
    for param, value in (("event_type", "Webinar"), ("assigned_to", "me"), ("status", "x")):
        response = await _get_occurrences(
            client, admin, "2026-12-01", "2026-12-31", **{param: value}
        )
        assert _field_error(response, param)


async def test_users_get_occurrences_only_of_their_events(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    await _create(client, admin, name="Hidden", start_date="2026-12-02")
    await _create(client, admin, name="Assigned", assigned_to=[user.profile_id], **MON_WED)
    await _create(client, user, name="Own", start_date="2026-12-03")
    other = await factory.admin()
    await _create(client, other, name="Elsewhere", start_date="2026-12-03")
    mine = await _occurrences(client, user, "2026-12-01", "2026-12-14")
    assert [(o["date"], o["name"]) for o in mine["results"]] == [
        ("2026-12-02", "Assigned"),
        ("2026-12-03", "Own"),
        ("2026-12-07", "Assigned"),
        ("2026-12-09", "Assigned"),
        ("2026-12-14", "Assigned"),
    ]
    everything = await _occurrences(client, admin, "2026-12-01", "2026-12-14")
    assert everything["count"] == 6
    assert "Elsewhere" not in {o["name"] for o in everything["results"]}


# -- update ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_partial_update_changes_only_what_is_sent(
    client: httpx.AsyncClient, factory: Factory, admin: Member, method: str
) -> None:
    agent = await factory.member_of(admin)
    other_agent = await factory.member_of(admin)
    contact = await _contact(client, admin)
    team = await _team(client, admin, "Field")
    created = await _create(
        client,
        admin,
        status="Planned",
        description="first",
        end_time="10:00",
        contacts=[contact],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["vip"],
        **MON_WED,
    )
    changed = await _changed(client, admin, created["id"], method, description="second")
    unchanged = {k: v for k, v in created.items() if k not in ("description", "updated_at")}
    assert {k: v for k, v in changed.items() if k in unchanged} == unchanged
    assert changed["description"] == "second"

    nulls = await _changed(
        client,
        admin,
        created["id"],
        method,
        name=None,
        status=None,
        start_time=None,
        end_date=None,
        end_time=None,
        recurring_days=None,
        description=None,
        is_active=None,
        disabled=None,
    )
    assert nulls["name"] == created["name"]
    assert (nulls["start_time"], nulls["end_date"]) == ("09:00:00", "2026-12-14")
    assert nulls["recurring_days"] == ["Monday", "Wednesday"]
    assert (nulls["is_active"], nulls["disabled"]) == (True, False)
    assert (nulls["status"], nulls["end_time"], nulls["description"]) == (None, None, None)
    assert _dates(nulls["occurrences"]) == MON_WED_DAYS

    relinked = await _changed(
        client,
        admin,
        created["id"],
        method,
        assigned_to=[other_agent.profile_id],
        tags=[],
        status="started",
        start_time="11:00",
    )
    assert relinked["assigned_to"] == [other_agent.profile_id]
    assert relinked["tags"] == []
    assert (relinked["contacts"], relinked["teams"]) == ([contact], [team])
    assert relinked["status"] == "Started"
    assert {(o["status"], o["start_time"]) for o in relinked["occurrences"]} == {
        ("Started", "11:00:00")
    }

    cleared = await _changed(client, admin, created["id"], method, contacts=[], teams=[])
    assert (cleared["contacts"], cleared["teams"]) == ([], [])
    assert cleared["assigned_to"] == [other_agent.profile_id]
    assert (await _detail(client, admin, created["id"]))["event_obj"]["status"] == "Started"


async def test_event_type_and_start_date_cannot_change(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    recurring = await _create(client, admin, **MON_WED)
    single = await _create(client, admin, event_type="Call", start_date="2026-12-05")
    before = await checksum(test_database)
    for event, field, value in [
        (recurring, "event_type", "Meeting"),
        (recurring, "start_date", "2026-12-02"),
        (single, "event_type", "Recurring"),
        (single, "event_type", "Meeting"),
        (single, "start_date", "2026-12-04"),
    ]:
        for method in ("PUT", "PATCH"):
            response = await _change(
                client, admin, event["id"], method, description="x", **{field: value}
            )
            assert response.json() == {
                "error": True,
                "errors": {field: [f"{field} cannot change once the event exists"]},
                "code": "immutable_field",
            }
            assert response.status_code == 400
    assert await checksum(test_database) == before

    same = await _changed(
        client,
        admin,
        recurring["id"],
        event_type="RECURRING",
        start_date="2026-12-01",
        status="held",
    )
    assert (same["event_type"], same["start_date"], same["status"]) == (
        "Recurring",
        "2026-12-01",
        "Held",
    )
    also = await _changed(client, admin, single["id"], "PUT", event_type="call", name="Renamed")
    assert (also["event_type"], also["name"]) == ("Call", "Renamed")
    nulls = await _changed(client, admin, single["id"], event_type=None, start_date=None)
    assert (nulls["event_type"], nulls["start_date"]) == ("Call", "2026-12-05")


async def test_update_revalidates_the_schedule(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    recurring = await _create(client, admin, end_time="10:00", **MON_WED)
    single = await _create(client, admin, start_date="2026-12-05", start_time="09:00")
    before = await checksum(test_database)
    for event, change, field in [
        (recurring, {"end_date": "2026-11-30"}, "end_date"),
        (recurring, {"end_date": "2026-12-01"}, "end_date"),
        (recurring, {"start_time": "10:30"}, "end_time"),
        (recurring, {"recurring_days": []}, "recurring_days"),
        (recurring, {"end_date": "2026-12-02", "recurring_days": ["Monday"]}, "recurring_days"),
        (single, {"end_date": "2026-12-04"}, "end_date"),
        (single, {"end_time": "08:59"}, "end_time"),
    ]:
        assert _schedule_error(await _change(client, admin, event["id"], **change), field)
    assert await checksum(test_database) == before

    longer = await _changed(client, admin, recurring["id"], end_date="2026-12-21")
    assert longer["count"] == 6
    assert _dates(longer["occurrences"]) == [*MON_WED_DAYS, "2026-12-16", "2026-12-21"]
    # A later end lets the same clock time end the event on another day.
    moved = await _changed(client, admin, single["id"], end_date="2026-12-06", end_time="08:00")
    assert (moved["end_date"], moved["end_time"]) == ("2026-12-06", "08:00:00")
    assert _schedule_error(
        await _change(client, admin, single["id"], end_date="2026-12-05"), "end_time"
    )


async def test_changing_recurring_days_changes_the_occurrences(
    client: httpx.AsyncClient, admin: Member
) -> None:
    created = await _create(client, admin, name="Gym", **MON_WED)
    fridays = await _changed(client, admin, created["id"], recurring_days="FRIDAY")
    assert fridays["recurring_days"] == ["Friday"]
    assert (fridays["count"], fridays["date_of_meeting"]) == (2, "2026-12-04")
    assert _dates(fridays["occurrences"]) == ["2026-12-04", "2026-12-11"]
    detail = await _detail(client, admin, created["id"])
    assert detail["selected_recurring_days"] == ["Friday"]
    assert _dates(detail["occurrences"]) == ["2026-12-04", "2026-12-11"]
    window = await _occurrences(client, admin, "2026-12-01", "2026-12-31")
    assert _dates(window["results"]) == ["2026-12-04", "2026-12-11"]
    both = await _changed(client, admin, created["id"], "PUT", recurring_days=["tuesday", "friday"])
    assert _dates(both["occurrences"]) == [
        "2026-12-01",
        "2026-12-04",
        "2026-12-08",
        "2026-12-11",
    ]
    assert both["date_of_meeting"] == "2026-12-01"


async def test_update_validates_like_create(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    event_id = (await _create(client, admin, **MON_WED))["id"]
    before = await checksum(test_database)
    for field, value in [
        ("status", "Done"),
        ("event_type", "Webinar"),
        ("name", "  "),
        ("name", "y" * 65),
        ("contacts", [str(uuid.uuid4())]),
        ("recurring_days", "Funday"),
        ("start_time", "later"),
        ("end_date", "2026-13-01"),
        ("assigned_to", [str(uuid.uuid4())]),
    ]:
        assert _field_error(await _change(client, admin, event_id, **{field: value}), field)
    assert await checksum(test_database) == before


# -- list --------------------------------------------------------------------------------------


async def test_list_envelope_newest_first_and_pagination(
    client: httpx.AsyncClient, admin: Member
) -> None:
    empty = await _list(client, admin, limit=2)
    assert (empty["count"], empty["results"]) == (0, [])
    for n in range(5):
        await _create(client, admin, name=f"Event {n}")
    page = await _list(client, admin, limit=2)  # the same URL: not answered from the cache
    assert set(page) == LIST_KEYS
    assert page["count"] == 5
    assert _names(page) == ["Event 4", "Event 3"]
    assert set(page["results"][0]) == ITEM_KEYS
    assert page["previous"] is None
    assert page["next"] == "/api/events/?limit=2&offset=2"
    last = await _list(client, admin, limit=2, offset=4)
    assert _names(last) == ["Event 0"]
    assert last["next"] is None
    assert last["previous"] == "/api/events/?limit=2&offset=2"
    assert (page["event_types"], page["statuses"], page["recurring_days"]) == (
        EVENT_TYPES,
        STATUSES,
        WEEKDAYS,
    )


async def test_list_lookups(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    member = await factory.member_of(admin)
    contact = await _contact(client, admin, "Grace", "Hopper")
    team = await _team(client, admin, "Sales")
    page = await _list(client, admin)
    assert "accounts_list" not in page
    assert page["contacts_list"] == [{"id": contact, "first_name": "Grace", "last_name": "Hopper"}]
    assert {u["id"]: u["email"] for u in page["users"]} == {
        admin.profile_id: admin.email,
        member.profile_id: member.email,
    }
    assert page["teams"] == [{"id": team, "name": "Sales"}]


async def test_list_filters(client: httpx.AsyncClient, admin: Member) -> None:
    await _create(client, admin, name="Quarterly review", status="Planned", start_date="2026-12-03")
    await _create(
        client, admin, name="Cold call", event_type="Call", status="Held", start_date="2026-12-04"
    )
    await _create(client, admin, name="100% review_x", start_date="2026-12-04")
    await _create(client, admin, name="Weekly", **MON_WED)
    assert sorted(_names(await _list(client, admin, name="REVIEW"))) == [
        "100% review_x",
        "Quarterly review",
    ]
    assert _names(await _list(client, admin, name="%")) == ["100% review_x"]
    assert _names(await _list(client, admin, event_type="call")) == ["Cold call"]
    assert _names(await _list(client, admin, event_type=" recurring")) == ["Weekly"]
    assert _names(await _list(client, admin, event_type="Task")) == []
    assert _names(await _list(client, admin, status="HELD")) == ["Cold call"]
    assert _names(await _list(client, admin, status="planned")) == ["Quarterly review"]
    assert sorted(_names(await _list(client, admin, start_date="2026-12-04"))) == [
        "100% review_x",
        "Cold call",
    ]
    # Exact start date: a recurring event is listed under its first day only.
    assert _names(await _list(client, admin, start_date="2026-12-01")) == ["Weekly"]
    assert _names(await _list(client, admin, start_date="2026-12-07")) == []
    for param, value in (("event_type", "Webinar"), ("status", "Open"), ("start_date", "soon")):
        response = await client.get("/api/events/", params={param: value}, headers=admin.headers)
        assert _field_error(response, param)


async def test_filter_by_assignee_and_tags(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    agent = await factory.member_of(admin)
    await _create(client, admin, name="Assigned", assigned_to=[agent.profile_id])
    await _create(client, admin, name="Tagged", tags=["Demo"])
    await _create(client, admin, name="Both", tags=["demo"], assigned_to=[agent.profile_id])
    await _create(client, admin, name="Plain")
    assert sorted(_names(await _list(client, admin, assigned_to=agent.profile_id))) == [
        "Assigned",
        "Both",
    ]
    assert _names(await _list(client, admin, assigned_to=admin.profile_id)) == []
    assert sorted(_names(await _list(client, admin, tags="demo,nothing"))) == ["Both", "Tagged"]
    combined = await _list(client, admin, tags="DEMO", assigned_to=agent.profile_id)
    assert (_names(combined), combined["count"]) == (["Both"], 1)
    response = await client.get("/api/events/", params={"assigned_to": "me"}, headers=admin.headers)
    assert _field_error(response, "assigned_to")


async def test_list_statement_count_does_not_grow_with_the_page(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    agents = [await factory.member_of(admin) for _ in range(3)]
    team = await _team(client, admin, "Sales")
    for n in range(8):
        await _create(
            client,
            admin,
            name=f"Event {n}",
            contacts=[await _contact(client, admin, f"C{n}", "Contact")],
            assigned_to=[a.profile_id for a in agents[: n % 3 + 1]],
            teams=[team],
            tags=[f"t{n}", "shared"],
            **(MON_WED if n % 2 else {}),
        )

    async def statements(limit: int) -> int:
        with count_statements(test_database.engine) as counter:
            page = await _list(client, admin, limit=limit)
        assert len(page["results"]) == min(limit, 8)
        assert all(item["contacts"] and item["assigned_to"] for item in page["results"])
        assert all(item["teams"] == [team] and item["tags"] for item in page["results"])
        return counter.count

    assert await statements(2) == await statements(100)


# -- visibility and permissions (§1.3) ---------------------------------------------------------


async def test_users_see_only_events_they_created_or_are_assigned(
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
    assert (await _detail(client, user, assigned["id"]))["event_obj"]["name"] == "Assigned"
    assert (await _detail(client, user, own["id"]))["event_obj"]["name"] == "Own"
    response = await client.get(f"/api/events/{hidden['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)


async def test_assignee_may_update_but_not_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    user = await factory.member_of(admin)
    created = await _create(client, admin, assigned_to=[user.profile_id], **MON_WED)
    changed = await _changed(client, user, created["id"], status="Completed")
    assert changed["status"] == "Completed"
    before = await checksum(test_database)
    response = await client.delete(f"/api/events/{created['id']}/", headers=user.headers)
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
    response = await client.delete(f"/api/events/{created['id']}/", headers=user.headers)
    assert (response.status_code, response.json()) == (403, DENIED)
    assert await checksum(test_database) == before


async def test_creator_and_admin_may_delete(
    client: httpx.AsyncClient, factory: Factory, admin: Member
) -> None:
    user = await factory.member_of(admin)
    own = await _create(client, user, **MON_WED)
    other = await _create(client, admin, assigned_to=[user.profile_id])
    for caller, event in ((user, own), (admin, other)):
        response = await client.delete(f"/api/events/{event['id']}/", headers=caller.headers)
        assert response.status_code == 204, response.text
        assert response.content == b""
        gone = await client.get(f"/api/events/{event['id']}/", headers=admin.headers)
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert (await _list(client, admin))["count"] == 0
    assert (await _occurrences(client, admin, "2026-12-01", "2026-12-31"))["results"] == []


async def test_another_org_gets_404_for_every_method(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    created = await _create(client, admin, name="Ours", **MON_WED)
    intruder = await factory.admin()
    before = await checksum(test_database)
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/events/{created['id']}/",
            json={"name": "Stolen"} if method in ("PUT", "PATCH") else None,
            headers=intruder.headers,
        )
        assert (response.status_code, response.json()) == (404, NOT_FOUND), method
    response = await client.post(
        f"/api/events/{created['id']}/", json={"comment": "hi"}, headers=intruder.headers
    )
    assert response.status_code == 404, response.text
    assert await checksum(test_database) == before
    assert (await _list(client, intruder))["count"] == 0
    assert (await _occurrences(client, intruder, "2026-12-01", "2026-12-31"))["count"] == 0


async def test_unknown_or_malformed_ids_are_404(client: httpx.AsyncClient, admin: Member) -> None:
    for event_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/events/{event_id}/",
                json={"name": "x"} if method in ("PUT", "PATCH") else None,
                headers=admin.headers,
            )
            assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, event_id)


# -- detail ------------------------------------------------------------------------------------


async def test_detail_shape(client: httpx.AsyncClient, factory: Factory, admin: Member) -> None:
    agent = await factory.member_of(admin)
    contact = await _contact(client, admin, "Grace", "Hopper")
    team = await _team(client, admin, "Sales")
    created = await _create(
        client,
        admin,
        name="Demo day",
        status="not started",
        contacts=[contact],
        assigned_to=[agent.profile_id],
        teams=[team],
        tags=["demo", "prod"],
        **{**MON_WED, "recurring_days": "wednesday,Monday"},
    )
    detail = await _detail(client, admin, created["id"])
    assert set(detail) == DETAIL_KEYS
    assert detail["event_obj"] == {
        k: v for k, v in created.items() if k not in ("occurrences", "count")
    }
    assert detail["occurrences"] == created["occurrences"]
    assert _dates(detail["occurrences"]) == MON_WED_DAYS
    assert detail["selected_recurring_days"] == ["Monday", "Wednesday"]
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
    assert (detail["event_types"], detail["statuses"], detail["recurring_days"]) == (
        EVENT_TYPES,
        STATUSES,
        WEEKDAYS,
    )

    seen_by_agent = await _detail(client, agent, created["id"])
    assert seen_by_agent["comment_permission"] is False
    assert seen_by_agent["users_mention"] == [{"username": admin.email}]

    single = await _detail(client, admin, (await _create(client, admin))["id"])
    assert single["selected_recurring_days"] == []
    assert _dates(single["occurrences"]) == ["2026-12-01"]


# -- comments and attachments (activity routes) ------------------------------------------------


async def test_comments_are_added_listed_and_edited(
    client: httpx.AsyncClient, admin: Member
) -> None:
    event_id = (await _create(client, admin, **MON_WED))["id"]
    url = f"/api/events/{event_id}/"
    added = await client.post(url, json={"comment": "Agenda sent"}, headers=admin.headers)
    assert added.status_code == 201, added.text
    comment = added.json()["comment"]
    assert (comment["comment"], comment["event"]) == ("Agenda sent", event_id)
    assert comment["commented_by"] == admin.profile_id
    second = await client.post(url, json={"comment": "Room booked"}, headers=admin.headers)
    assert second.status_code == 201, second.text

    detail = await _detail(client, admin, event_id)
    assert [c["comment"] for c in detail["comments"]] == ["Room booked", "Agenda sent"]
    assert {c["event"] for c in detail["comments"]} == {event_id}

    edited = await client.put(
        f"/api/events/comment/{comment['id']}/",
        json={"comment": "Agenda sent twice"},
        headers=admin.headers,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["comment"], edited.json()["event"]) == ("Agenda sent twice", event_id)
    comments = (await _detail(client, admin, event_id))["comments"]
    assert {c["comment"] for c in comments} == {"Room booked", "Agenda sent twice"}


@pytest.mark.parametrize("field", ["event_attachment", "attachment"])
async def test_attachments_are_uploaded_listed_and_downloaded(
    client: httpx.AsyncClient, admin: Member, field: str
) -> None:
    event_id = (await _create(client, admin))["id"]
    added = await client.post(
        f"/api/events/{event_id}/",
        data={"comment": "agenda attached"},
        files={field: ("agenda.txt", b"1. welcome", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    attachment = added.json()["attachment"]
    assert (attachment["file_name"], attachment["event"]) == ("agenda.txt", event_id)
    assert attachment["attachment"] == f"/api/events/attachment/{attachment['id']}/"

    detail = await _detail(client, admin, event_id)
    assert [a["id"] for a in detail["attachments"]] == [attachment["id"]]
    assert detail["attachments"][0]["event"] == event_id
    assert [c["comment"] for c in detail["comments"]] == ["agenda attached"]

    download = await client.get(attachment["attachment"], headers=admin.headers)
    assert download.status_code == 200, download.text
    assert download.content == b"1. welcome"
    assert "agenda.txt" in download.headers["content-disposition"]


async def test_activity_follows_the_event_visibility(
    client: httpx.AsyncClient, factory: Factory, admin: Member, test_database: Database
) -> None:
    assignee = await factory.member_of(admin)
    outsider = await factory.member_of(admin)
    event_id = (await _create(client, admin, assigned_to=[assignee.profile_id]))["id"]
    url = f"/api/events/{event_id}/"
    added = await client.post(
        url,
        data={"comment": "from the assignee"},
        files={"event_attachment": ("a.txt", b"assignee file", "text/plain")},
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
    # An event comment is not reachable through another record type's routes.
    response = await client.put(
        f"/api/cases/comment/{comment_id}/", json={"comment": "x"}, headers=admin.headers
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert await checksum(test_database) == before


async def test_deleting_an_event_removes_its_comments_and_attachments(
    client: httpx.AsyncClient, admin: Member, settings: Settings
) -> None:
    event_id = (await _create(client, admin, **MON_WED))["id"]
    url = f"/api/events/{event_id}/"
    root = settings.data_dir / "attachments"
    before = set(root.rglob("*")) if root.exists() else set()
    added = await client.post(
        url,
        data={"comment": "see file"},
        files={"event_attachment": ("notes.txt", b"notes", "text/plain")},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    comment_id = added.json()["comment"]["id"]
    download = added.json()["attachment"]["attachment"]
    assert (await client.get(download, headers=admin.headers)).status_code == 200
    stored = {p for p in root.rglob("*") if p.is_file()} - before
    assert len(stored) == 1

    assert (await client.delete(url, headers=admin.headers)).status_code == 204

    assert not next(iter(stored)).exists()

    gone = await client.get(url, headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    edit = await client.put(
        f"/api/events/comment/{comment_id}/", json={"comment": "still here?"}, headers=admin.headers
    )
    assert (edit.status_code, edit.json()) == (404, NOT_FOUND)
    assert (await client.get(download, headers=admin.headers)).status_code == 404


async def test_times_with_a_utc_offset_are_refused_not_a_500(
    client: httpx.AsyncClient, admin: Member, test_database: Database
) -> None:
    """Event times are wall-clock times; one with an offset could not be compared with the
    others (schemathesis found the 500 this was)."""
    event = await _create(client, admin)
    before = await checksum(test_database)
    for field, value in (("end_time", "09:17:32.40670-14:26"), ("start_time", "09:00:00Z")):
        assert _field_error(await _change(client, admin, event["id"], **{field: value}), field)
        assert _field_error(await _post(client, admin, **_body(**{field: value})), field)
    assert await checksum(test_database) == before


async def test_the_schema_documents_times_as_wall_clock_times(client: httpx.AsyncClient) -> None:
    """JSON Schema's "time" format requires an offset, which these times never have: the
    document gives their pattern instead, and the responses conform to it."""
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["EventItem"]
    for field in ("start_time", "end_time"):
        text = str(schema["properties"][field])
        assert "'format': 'time'" not in text
        assert "pattern" in text
