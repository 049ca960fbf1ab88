"""The audit log's use cases: write a request's events, read them as an org admin, prune.

Writing happens after the request (``crm.core.audit.AuditTrailMiddleware`` calls
``write_trail``), in a short transaction of its own: the request's may have rolled back
(a failed login, a 403). A failure to write is logged, never turned into an error
response.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit.repository import AuditLogRepository, EventFilters, SecurityEventStore
from crm.core.audit import AuditTrail, PendingEvent
from crm.core.clock import utcnow
from crm.core.db import Database, own_transaction
from crm.core.pagination import PageParams
from crm.core.tenancy import TenantContext
from crm.models import SecurityEvent

logger = logging.getLogger("crm.audit")


async def write_trail(database: Database, trail: AuditTrail, events: list[PendingEvent]) -> None:
    rows = [
        SecurityEvent(
            occurred_at=event.occurred_at,
            kind=str(event.kind),
            org_id=event.org_id,
            user_id=event.user_id,
            email=event.email,
            ip=trail.ip,
            user_agent=trail.user_agent,
            request_id=trail.request_id,
            method=trail.method,
            path=trail.path,
            detail=event.detail,
        )
        for event in events
    ]
    try:
        async with own_transaction(database) as session:
            await SecurityEventStore(session).add_all(rows)
    except Exception:
        logger.exception(
            "could not write %d audit event(s) of request %s", len(rows), trail.request_id
        )


async def prune(database: Database, retention_days: int) -> int:
    """Delete the events older than the retention period (0 days: keep every event)."""
    if retention_days <= 0:
        return 0
    async with own_transaction(database) as session:
        return await SecurityEventStore(session).delete_before(
            utcnow() - timedelta(days=retention_days)
        )


class AuditLogService:
    """An org admin's view of the log (the route requires the admin)."""

    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.events = AuditLogRepository(session, tenant)

    async def page(
        self, filters: EventFilters, params: PageParams
    ) -> tuple[list[SecurityEvent], int]:
        return await self.events.page(filters, params)
