"""Task rules (§11, §1.3), on top of the kit's record service (crm.records.module): titles
unique per org (case-insensitive); the account must be one the caller can see and the
contacts the org's; see/change: admin, creator or assignee (the legacy update had no
check); delete: admin or creator."""

from __future__ import annotations

import uuid
from typing import Any

from crm.models import Task
from crm.records.module import RecordService
from crm.records.service import LINK_FIELDS
from crm.tasks.errors import TaskTitleTaken
from crm.tasks.repository import TaskRepository
from crm.tasks.schemas import TaskCreate, TaskUpdate

# Columns an update sets as sent; ``null`` clears the optional ones and leaves the
# required ones unchanged. Account and contacts have rules of their own.
_SCALARS = ("title", "status", "priority", "due_date", "description")
_REQUIRED = frozenset({"title", "status", "priority"})


class TaskService(RecordService[Task, TaskRepository]):
    kind = "task"
    repository = TaskRepository
    name_taken_error = TaskTitleTaken

    async def create(self, data: TaskCreate) -> Task:
        await self._check_name(data.title)
        task = Task(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            title=data.title,
            status=data.status,
            priority=data.priority,
            due_date=data.due_date,
            account_id=await self._account(data.account),
            description=data.description,
            contacts=await self._contacts(data.contacts or []),
            **await self.links.initial(data.model_dump(include=set(LINK_FIELDS))),
        )
        self.records.add(task)
        await self.session.flush()
        return await self._reload(task.id)

    async def update(self, task_id: uuid.UUID, data: TaskUpdate) -> Task:
        task = await self.get_visible(task_id)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        await self._check_name(changes.get("title"), exclude=task.id)
        for key in _SCALARS:
            if key in changes and (changes[key] is not None or key not in _REQUIRED):
                setattr(task, key, changes[key])
        if "account" in changes:
            task.account_id = await self._account(changes["account"])
        if changes.get("contacts") is not None:
            task.contacts = await self._contacts(changes["contacts"])
        await self.links.apply(task, changes)
        await self.session.flush()
        return await self._reload(task.id)
