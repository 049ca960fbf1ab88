"""Queries of the audit log.

Security events are not tenant-owned (a login belongs to a user, not to an org), so the
tenant guard does not filter them: ``AuditLogRepository`` states what an org's admin sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.pagination import PageParams
from crm.core.tenancy import TenantContext
from crm.models import Profile, SecurityEvent


@dataclass(frozen=True, slots=True)
class EventFilters:
    kinds: Sequence[str] | None = None
    user_ids: Sequence[uuid.UUID] | None = None
    email: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLogRepository:
    """The events an org's admin may read: those that happened in the org, and those that
    belong to no org (logins, failed logins, refresh-token reuse, logouts, denials in an org
    the caller is not a member of) of users who are members of the org now (active or not).
    Never an event of another org, nor an org-less event of a non-member or of nobody."""

    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _visible(self) -> ColumnElement[bool]:
        members = select(Profile.user_id).where(Profile.org_id == self.tenant.org_id)
        return or_(
            SecurityEvent.org_id == self.tenant.org_id,
            and_(SecurityEvent.org_id.is_(None), SecurityEvent.user_id.in_(members)),
        )

    def _filtered(self, filters: EventFilters) -> Select[SecurityEvent]:
        statement = select(SecurityEvent).where(self._visible())
        if filters.kinds:
            statement = statement.where(SecurityEvent.kind.in_(filters.kinds))
        if filters.user_ids:
            statement = statement.where(SecurityEvent.user_id.in_(filters.user_ids))
        if filters.email:
            pattern = "%" + _escape_like(filters.email.lower()) + "%"
            statement = statement.where(func.lower(SecurityEvent.email).like(pattern, escape="\\"))
        if filters.since is not None:
            statement = statement.where(SecurityEvent.occurred_at >= filters.since)
        if filters.until is not None:
            statement = statement.where(SecurityEvent.occurred_at <= filters.until)
        return statement

    async def page(
        self, filters: EventFilters, params: PageParams
    ) -> tuple[list[SecurityEvent], int]:
        base = self._filtered(filters)
        total = await self.session.scalar(
            select(func.count()).select_from(base.order_by(None).subquery())
        )
        rows = await self.session.execute(
            base.order_by(SecurityEvent.occurred_at.desc(), SecurityEvent.id.desc())
            .limit(params.limit)
            .offset(params.offset)
        )
        return list(rows.scalars()), int(total or 0)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SecurityEventStore:
    """Writing and pruning the log: server-wide, in a transaction of its own."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_all(self, events: Sequence[SecurityEvent]) -> None:
        self.session.add_all(events)
        await self.session.flush()

    async def delete_before(self, cutoff: datetime) -> int:
        result = await self.session.execute(
            delete(SecurityEvent)
            .where(SecurityEvent.occurred_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
