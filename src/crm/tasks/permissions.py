"""Dependency that builds the task service for the calling member. Every member may call
the routes; the record rules (see, change, delete) live in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.tasks.service import TaskService


async def task_service(session: DbSession, tenant: Member) -> TaskService:
    return TaskService(session, tenant)


Tasks = Annotated[TaskService, Depends(task_service)]
