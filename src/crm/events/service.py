"""Event rules (§12, §1.3), on top of the kit's record service (crm.records.module): names
unique per org (case-insensitive); end not before start; a recurring event needs weekdays
and ends on a later day; ``event_type`` and ``start_date`` never change; see/change:
admin, creator or assignee; delete: admin or creator."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from crm.events.errors import (
    BadSchedule,
    EventNameTaken,
    ImmutableField,
)
from crm.events.repository import EventFilters, EventRepository
from crm.events.schedule import MAX_WINDOW_DAYS, days_of, problems
from crm.events.schemas import EventCreate, EventUpdate, Occurrence, rule_of
from crm.models import Event
from crm.records.module import RecordService
from crm.records.service import LINK_FIELDS

# Columns an update sets as sent; ``null`` clears the optional ones and leaves the
# required ones unchanged.
_SCALARS = (
    "name",
    "status",
    "start_time",
    "end_date",
    "end_time",
    "recurring_days",
    "description",
    "is_active",
    "disabled",
)
_REQUIRED = frozenset({"name", "start_time", "end_date", "recurring_days", "is_active", "disabled"})
_IMMUTABLE = ("event_type", "start_date")


class EventService(RecordService[Event, EventRepository]):
    kind = "event"
    repository = EventRepository
    name_taken_error = EventNameTaken

    async def occurrences(self, filters: EventFilters, first: date, last: date) -> list[Occurrence]:
        """Every day a visible event happens on within [first, last], in time order."""
        if last < first:
            raise BadSchedule("end", "The window ends before it starts")
        if (last - first).days + 1 > MAX_WINDOW_DAYS:
            raise BadSchedule("end", f"Ask for at most {MAX_WINDOW_DAYS} days at a time")
        found = [
            Occurrence.on(event, day)
            for event in await self.records.meeting(filters, first, last)
            for day in days_of(rule_of(event), first, last)
        ]
        return sorted(found, key=lambda o: (o.date, o.start_time, o.name))

    async def create(self, data: EventCreate) -> Event:
        await self._check_name(data.name)
        event = Event(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=data.name,
            event_type=data.event_type,
            status=data.status,
            start_date=data.start_date,
            start_time=data.start_time,
            end_date=data.end_date,
            end_time=data.end_time,
            recurring_days=data.recurring_days or [],
            description=data.description,
            is_active=data.is_active,
            disabled=data.disabled,
            contacts=await self._contacts(data.contacts or []),
            **await self.links.initial(data.model_dump(include=set(LINK_FIELDS))),
        )
        self._check_schedule(event)
        self.records.add(event)
        await self.session.flush()
        return await self._reload(event.id)

    async def update(self, event_id: uuid.UUID, data: EventUpdate) -> Event:
        event = await self.get_visible(event_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for key in _IMMUTABLE:
            if changes.get(key) is not None and changes[key] != getattr(event, key):
                raise ImmutableField(key)
        await self._check_name(changes.get("name"), exclude=event.id)
        for key in _SCALARS:
            if key in changes and (changes[key] is not None or key not in _REQUIRED):
                setattr(event, key, changes[key])
        self._check_schedule(event)
        if changes.get("contacts") is not None:
            event.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(event, changes)
        await self.session.flush()
        return await self._reload(event.id)

    def _check_schedule(self, event: Event) -> None:
        found = problems(rule_of(event))
        if found:
            field, message = found[0]
            raise BadSchedule(field, message)
