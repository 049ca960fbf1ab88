"""Dependency that builds the event service for the calling member. Every member may call
the routes; the record rules (see, change, delete) live in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.events.service import EventService


async def event_service(session: DbSession, tenant: Member) -> EventService:
    return EventService(session, tenant)


Events = Annotated[EventService, Depends(event_service)]
