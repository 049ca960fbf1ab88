"""Bodies of /api/tasks/ and the task vocabulary (§11.2).

Statuses are New, In Progress, Completed. Priorities are the union of the docs' (Low,
Normal, High, Urgent) and Django-CRM's (Low, Medium, High) values, kept apart: Medium is
stored as sent, not folded into Normal. Both are accepted in any case and stored in the
spelling below.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from crm.activity.schemas import TaskAttachment, TaskComment
from crm.core.pagination import Page
from crm.core.schemas import NonEmptyStr, ReadSchema, UUIDList, choice_parser
from crm.models import Task
from crm.records.repository import LinkIds
from crm.records.schemas import (
    AccountLookup,
    ContactBrief,
    LinksIn,
    RecordLookups,
    TeamBrief,
    link_ids,
)
from crm.users.schemas import MemberBrief

STATUSES: tuple[str, ...] = ("New", "In Progress", "Completed")
PRIORITIES: tuple[str, ...] = ("Low", "Medium", "Normal", "High", "Urgent")
DEFAULT_STATUS = "New"
DEFAULT_PRIORITY = "Normal"

Status = Annotated[str, AfterValidator(choice_parser(STATUSES, "status"))]
Priority = Annotated[str, AfterValidator(choice_parser(PRIORITIES, "priority"))]


class _TaskFields(LinksIn):
    """The optional fields, shared by create and update (updates apply what was sent)."""

    due_date: date | None = None
    account: uuid.UUID | None = Field(default=None, description="An account the caller can see")
    contacts: UUIDList | None = Field(default=None, description="Contact ids of this org")
    description: str | None = Field(default=None, max_length=100_000)


class TaskCreate(_TaskFields):
    title: NonEmptyStr = Field(max_length=200)
    status: Status = DEFAULT_STATUS
    priority: Priority = DEFAULT_PRIORITY


class TaskUpdate(_TaskFields):
    """Partial (PUT and PATCH alike): only the fields sent change; ``null`` leaves a required
    field unchanged and clears an optional one."""

    title: NonEmptyStr | None = Field(default=None, max_length=200)
    status: Status | None = None
    priority: Priority | None = None


class TaskItem(ReadSchema):
    """A task in lists, write responses and related lists (§11.3): links as ids and names."""

    id: uuid.UUID
    title: str
    status: str
    priority: str
    due_date: date | None
    account: uuid.UUID | None
    contacts: list[uuid.UUID]
    description: str | None
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, task: Task, links: LinkIds | None = None) -> TaskItem:
        return cls(
            id=task.id,
            title=task.title,
            status=task.status,
            priority=task.priority,
            due_date=task.due_date,
            account=task.account_id,
            contacts=links.contacts if links else [c.id for c in task.contacts],
            description=task.description,
            org=task.org_id,
            created_on=task.created_on,
            created_at=task.created_on,
            updated_at=task.updated_at,
            created_by=task.created_by_id,
            **link_ids(task, links),
        )


class TaskListOut(Page[TaskItem], RecordLookups):
    """Envelope (A) plus the pickers' lookups and the vocabularies (§11.3)."""

    status: list[str]
    priority: list[str]


class TaskDetailOut(ReadSchema):
    task_obj: TaskItem
    account_obj: AccountLookup | None
    contacts: list[ContactBrief]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    comments: list[TaskComment]
    attachments: list[TaskAttachment]
    users_mention: list[dict[str, str]]
    comment_permission: bool
    status: list[str]
    priority: list[str]
