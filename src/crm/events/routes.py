"""/api/events/ (§12): list (envelope A, cached until the org's data changes), the
occurrences in a date window, create, detail, update, delete. Comments and attachments on
events are served by the activity module (POST /api/events/<id>/, /api/events/comment/<id>/,
/api/events/attachment/<id>/)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from crm.activity.permissions import Activity
from crm.core.filters import choice_filter, id_list, text_list
from crm.core.pagination import CursorPagination, Page
from crm.events.permissions import Events
from crm.events.repository import EventFilters
from crm.events.schedule import WEEKDAYS, days_of
from crm.events.schemas import (
    EVENT_TYPES,
    STATUSES,
    EventCreate,
    EventDetailOut,
    EventItem,
    EventListOut,
    EventUpdate,
    EventWriteOut,
    Occurrence,
    OccurrencesOut,
    rule_of,
)
from crm.models import Event
from crm.records.caching import CachedList
from crm.records.schemas import ContactBrief, ContactLookup, TeamBrief, UserLookup, link_objects

router = APIRouter(prefix="/api/events", tags=["events"])

# How many occurrences the detail and write responses spell out.
SHOWN_OCCURRENCES = 100

NameQuery = Annotated[str | None, Query(max_length=255, description="Part of the name")]
TypeQuery = Annotated[str | None, Query(max_length=32, description=", ".join(EVENT_TYPES))]
StatusQuery = Annotated[
    str | None, Query(alias="status", max_length=32, description=", ".join(STATUSES))
]
AssignedQuery = Annotated[list[str] | None, Query(description="Profile ids; any matches")]
TagsQuery = Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")]


def _filters(
    name: str | None,
    event_type: str | None,
    status_: str | None,
    assigned_to: list[str] | None,
    tags: list[str] | None,
    start_date: date | None = None,
) -> EventFilters:
    return EventFilters(
        name=name,
        event_type=choice_filter(event_type, EVENT_TYPES, "event_type"),
        status=choice_filter(status_, STATUSES, "status"),
        start_date=start_date,
        assigned_to=id_list(assigned_to, "assigned_to"),
        tags=text_list(tags),
    )


def _write_out(event: Event) -> EventWriteOut:
    days = days_of(rule_of(event))
    return EventWriteOut(
        **dict(EventItem.of(event)),
        occurrences=[Occurrence.on(event, day) for day in days[:SHOWN_OCCURRENCES]],
        count=len(days),
    )


@router.get("/", response_model=EventListOut)
async def list_events(
    cache: CachedList,
    events: Events,
    request: Request,
    page: CursorPagination,
    name: NameQuery = None,
    event_type: TypeQuery = None,
    status_: StatusQuery = None,
    start_date: Annotated[date | None, Query(description="YYYY-MM-DD, exact")] = None,
    assigned_to: AssignedQuery = None,
    tags: TagsQuery = None,
) -> Response:
    """The events the caller may see, newest first, with lookups for pickers (at most 100
    each) and the vocabularies. For a calendar, ask ``/api/events/occurrences/``."""
    if (hit := cache.hit()) is not None:
        return hit
    filters = _filters(name, event_type, status_, assigned_to, tags, start_date)
    total, rows, more = await events.listed(filters, page)
    envelope = Page[EventItem].build(
        request, page, total, [EventItem.of(*row) for row in rows], more
    )
    picks = await events.lookups()
    return cache.keep(
        EventListOut(
            **dict(envelope),
            event_types=list(EVENT_TYPES),
            statuses=list(STATUSES),
            recurring_days=list(WEEKDAYS),
            contacts_list=[ContactLookup.of(c) for c in picks["contacts"]],
            users=[UserLookup.of(u) for u in picks["users"]],
            teams=[TeamBrief(id=t.id, name=t.text) for t in picks["teams"]],
        )
    )


@router.get("/occurrences/", response_model=OccurrencesOut)
async def event_occurrences(
    events: Events,
    start: Annotated[date, Query(description="First day of the window, YYYY-MM-DD")],
    end: Annotated[date, Query(description="Last day of the window (366 days at most)")],
    name: NameQuery = None,
    event_type: TypeQuery = None,
    status_: StatusQuery = None,
    assigned_to: AssignedQuery = None,
    tags: TagsQuery = None,
) -> OccurrencesOut:
    """Every day a visible event happens on within [start, end], in time order: a
    recurring event once per chosen weekday, any other event once (when its span meets the
    window)."""
    filters = _filters(name, event_type, status_, assigned_to, tags)
    found = await events.occurrences(filters, start, end)
    return OccurrencesOut(start=start, end=end, count=len(found), results=found)


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=EventWriteOut)
async def create_event(body: EventCreate, events: Events) -> EventWriteOut:
    """Create an event; a Recurring one happens on its weekdays from ``start_date`` to
    ``end_date``, and the response spells out those days (the first 100) and their count."""
    return _write_out(await events.create(body))


@router.get("/{event_id}/", response_model=EventDetailOut)
async def event_detail(event_id: uuid.UUID, events: Events) -> EventDetailOut:
    event = await events.get_visible(event_id)
    links = link_objects(event)
    comments, attachments = await events.activity_of(event)
    days = days_of(rule_of(event))
    return EventDetailOut(
        event_obj=EventItem.of(event),
        occurrences=[Occurrence.on(event, day) for day in days[:SHOWN_OCCURRENCES]],
        selected_recurring_days=list(event.recurring_days or []),
        contacts=[ContactBrief.of(c) for c in event.contacts],
        assigned_to=links["assigned_to"],
        teams=links["teams"],
        tags=links["tags"],
        comments=comments,
        attachments=attachments,
        users_mention=await events.users_mention(event),
        comment_permission=events.may_comment(event),
        event_types=list(EVENT_TYPES),
        statuses=list(STATUSES),
        recurring_days=list(WEEKDAYS),
    )


@router.put("/{event_id}/", response_model=EventWriteOut)
@router.patch("/{event_id}/", response_model=EventWriteOut)
async def update_event(event_id: uuid.UUID, body: EventUpdate, events: Events) -> EventWriteOut:
    """Partial update (PUT and PATCH): admin, creator or assignee. ``event_type`` and
    ``start_date`` cannot change."""
    return _write_out(await events.update(event_id, body))


@router.delete("/{event_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_event(
    event_id: uuid.UUID, events: Events, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its comments and attachments go with it."""
    files = await events.delete(event_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
