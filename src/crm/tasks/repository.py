"""Queries on tasks: the kit's record queries (crm.records.module) and the task filters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement

from crm.models import Task
from crm.records.module import RecordRepository
from crm.records.repository import assigned_to_any, contains_ci, tagged_with


@dataclass(frozen=True, slots=True)
class TaskFilters:
    title: str | None = None
    status: str | None = None
    priority: str | None = None
    due_date: date | None = None
    account_ids: list[uuid.UUID] | None = None
    assigned_to: list[uuid.UUID] | None = None
    tags: list[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.title:
            where.append(contains_ci(Task.title, self.title))
        if self.status:
            # Stored canonical, as the route canonicalises the filter.
            where.append(Task.status == self.status)
        if self.priority:
            where.append(Task.priority == self.priority)
        if self.due_date:
            where.append(Task.due_date == self.due_date)
        if self.account_ids:
            where.append(Task.account_id.in_(self.account_ids))
        if self.assigned_to:
            where.append(assigned_to_any(Task, self.assigned_to))
        if self.tags:
            where.append(tagged_with(Task, self.tags))
        return where


class TaskRepository(RecordRepository[Task]):
    model = Task
    name_field = "title"
