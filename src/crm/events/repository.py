"""Queries on events: the kit's record queries (crm.records.module), the event filters and
the events whose span meets a window."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from sqlalchemy import ColumnElement

from crm.models import Event
from crm.records.module import Filters, RecordRepository
from crm.records.repository import PickerKind, assigned_to_any, contains_ci, tagged_with


@dataclass(frozen=True, slots=True)
class EventFilters:
    name: str | None = None
    event_type: str | None = None
    status: str | None = None
    start_date: date | None = None
    assigned_to: list[uuid.UUID] | None = None
    tags: list[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(contains_ci(Event.name, self.name))
        if self.event_type:
            where.append(Event.event_type == self.event_type)
        if self.status:
            where.append(Event.status == self.status)
        if self.start_date:
            where.append(Event.start_date == self.start_date)
        if self.assigned_to:
            where.append(assigned_to_any(Event, self.assigned_to))
        if self.tags:
            where.append(tagged_with(Event, self.tags))
        return where


class EventRepository(RecordRepository[Event]):
    model = Event
    lookups_of_list: ClassVar[tuple[PickerKind, ...]] = ("contacts", "users", "teams")

    async def meeting(self, filters: Filters, first: date, last: date) -> list[Event]:
        """The visible events whose span meets [first, last], in start order."""
        statement = (
            self._filtered(filters)
            .where(Event.start_date <= last, Event.end_date >= first)
            .order_by(Event.start_date, Event.start_time, Event.id)
        )
        return list((await self.session.execute(statement)).scalars())
