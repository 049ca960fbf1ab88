"""Bodies of /api/events/ and the event vocabulary (§12.2).

Event types are the union of the docs' (Call, Meeting, Task) and Django-CRM's (Recurring,
Non-Recurring) values; only Recurring repeats. Statuses are Django-CRM's. Both are
accepted in any case and stored in the spelling below; weekdays are full English names.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from crm.activity.schemas import EventAttachment, EventComment
from crm.core.pagination import Page
from crm.core.schemas import LocalTime, NonEmptyStr, ReadSchema, UUIDList, choice_parser
from crm.events.schedule import WEEKDAYS, first_day, normalise_days
from crm.events.schedule import Rule as ScheduleRule
from crm.models import Event
from crm.records.repository import LinkIds
from crm.records.schemas import (
    ContactBrief,
    ContactLookup,
    LinksIn,
    TeamBrief,
    UserLookup,
    link_ids,
)
from crm.users.schemas import MemberBrief

EVENT_TYPES: tuple[str, ...] = ("Call", "Meeting", "Task", "Recurring", "Non-Recurring")
STATUSES: tuple[str, ...] = (
    "Planned",
    "Held",
    "Not Held",
    "Not Started",
    "Started",
    "Completed",
    "Canceled",
    "Deferred",
)

EventType = Annotated[str, AfterValidator(choice_parser(EVENT_TYPES, "event type"))]
Status = Annotated[str, AfterValidator(choice_parser(STATUSES, "status"))]


def _day_list(value: Any) -> Any:
    # A JSON list, or one comma-separated string as forms send it.
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    return normalise_days(value) if isinstance(value, list) else value


Weekdays = Annotated[list[str], BeforeValidator(_day_list)]


class _EventFields(LinksIn):
    """The optional fields, shared by create and update (updates apply what was sent)."""

    status: Status | None = None
    end_time: LocalTime | None = Field(default=None, description="HH:MM[:SS]; not before the start")
    recurring_days: Weekdays | None = Field(
        default=None, description=f"For Recurring events: {', '.join(WEEKDAYS)}"
    )
    description: str | None = Field(default=None, max_length=100_000)
    contacts: UUIDList | None = Field(default=None, description="Contact ids of this org")


class EventCreate(_EventFields):
    name: NonEmptyStr = Field(max_length=64)
    event_type: EventType
    start_date: date
    start_time: LocalTime
    end_date: date = Field(description="Not before start_date; for Recurring, the last day")
    is_active: bool = True
    disabled: bool = False


class EventUpdate(_EventFields):
    """Partial (PUT and PATCH alike). ``event_type`` and ``start_date`` cannot change (as in
    Django-CRM); sending their current value is accepted."""

    name: NonEmptyStr | None = Field(default=None, max_length=64)
    event_type: EventType | None = None
    start_date: date | None = None
    start_time: LocalTime | None = None
    end_date: date | None = None
    is_active: bool | None = None
    disabled: bool | None = None


def rule_of(event: Event) -> ScheduleRule:
    return ScheduleRule(
        event_type=event.event_type,
        start_date=event.start_date,
        start_time=event.start_time,
        end_date=event.end_date,
        end_time=event.end_time,
        recurring_days=tuple(event.recurring_days or ()),
    )


class EventItem(ReadSchema):
    """An event in lists and write responses (§12.3): links as ids and names.
    ``date_of_meeting`` is the first day it happens on."""

    id: uuid.UUID
    name: str
    event_type: str
    status: str | None
    start_date: date
    start_time: LocalTime
    end_date: date
    end_time: LocalTime | None
    recurring_days: list[str]
    date_of_meeting: date | None
    description: str | None
    is_active: bool
    disabled: bool
    contacts: list[uuid.UUID]
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, event: Event, links: LinkIds | None = None) -> EventItem:
        return cls(
            id=event.id,
            name=event.name,
            event_type=event.event_type,
            status=event.status,
            start_date=event.start_date,
            start_time=event.start_time,
            end_date=event.end_date,
            end_time=event.end_time,
            recurring_days=list(event.recurring_days or []),
            date_of_meeting=first_day(rule_of(event)),
            description=event.description,
            is_active=event.is_active,
            disabled=event.disabled,
            contacts=links.contacts if links else [c.id for c in event.contacts],
            org=event.org_id,
            created_on=event.created_on,
            created_at=event.created_on,
            updated_at=event.updated_at,
            created_by=event.created_by_id,
            **link_ids(event, links),
        )


class Occurrence(ReadSchema):
    """One day an event happens on: from ``date start_time`` to ``end_date end_time``."""

    event: uuid.UUID
    name: str
    event_type: str
    status: str | None
    date: dt.date
    start_time: LocalTime
    end_date: dt.date
    end_time: LocalTime | None

    @classmethod
    def on(cls, event: Event, day: dt.date) -> Occurrence:
        recurring = event.event_type == "Recurring"
        return cls(
            event=event.id,
            name=event.name,
            event_type=event.event_type,
            status=event.status,
            date=day,
            start_time=event.start_time,
            end_date=day if recurring else event.end_date,
            end_time=event.end_time,
        )


class EventWriteOut(EventItem):
    """Create and update responses: the event and every day it happens on (Django-CRM made
    one event per day of a recurring event; here they are the ``occurrences``)."""

    occurrences: list[Occurrence]
    count: int


class EventListOut(Page[EventItem]):
    """Envelope (A) plus the pickers' lookups and the vocabularies (§12.3)."""

    event_types: list[str]
    statuses: list[str]
    recurring_days: list[str]
    contacts_list: list[ContactLookup]
    users: list[UserLookup]
    teams: list[TeamBrief]


class OccurrencesOut(ReadSchema):
    """The days visible events happen on within a window, in time order."""

    start: date
    end: date
    count: int
    results: list[Occurrence]


class EventDetailOut(ReadSchema):
    event_obj: EventItem
    occurrences: list[Occurrence]
    selected_recurring_days: list[str]
    contacts: list[ContactBrief]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    comments: list[EventComment]
    attachments: list[EventAttachment]
    users_mention: list[dict[str, str]]
    comment_permission: bool
    event_types: list[str]
    statuses: list[str]
    recurring_days: list[str]
