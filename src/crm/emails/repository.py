"""Queries on outbound e-mail rows. Delivery runs as the system (no tenant), so those
statements say so with ``unscoped``; the tenant-side reads are scoped as usual."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.tenancy import unscoped
from crm.models import OutboundEmail


class OutboxRepository:
    """Tenant side: the request that queues e-mails, and account detail reading them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, email: OutboundEmail) -> None:
        self.session.add(email)

    async def for_account(self, account_id: uuid.UUID) -> list[OutboundEmail]:
        statement = (
            select(OutboundEmail)
            .where(OutboundEmail.account_id == account_id)
            .order_by(OutboundEmail.created_on.desc(), OutboundEmail.id)
        )
        return list((await self.session.execute(statement)).scalars())


class DeliveryRepository:
    """System side: claiming, and recording what happened."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, email_id: uuid.UUID, now: datetime) -> OutboundEmail | None:
        """Take a due, queued e-mail for sending; None if it is not due or someone has it.

        The conditional UPDATE is the lock: of two workers racing, exactly one matches.
        """
        with unscoped(self.session):
            result = await self.session.execute(
                update(OutboundEmail)
                .where(
                    OutboundEmail.id == email_id,
                    OutboundEmail.status == "queued",
                    OutboundEmail.scheduled_at <= now,
                )
                .values(status="sending", claimed_at=now, attempts=OutboundEmail.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return await self.session.get(OutboundEmail, email_id, populate_existing=True)

    async def finish(self, email_id: uuid.UUID, **values: object) -> None:
        with unscoped(self.session):
            await self.session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.id == email_id, OutboundEmail.status == "sending")
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def due_ids(self, now: datetime, limit: int) -> list[uuid.UUID]:
        statement = (
            select(OutboundEmail.id)
            .where(OutboundEmail.status == "queued", OutboundEmail.scheduled_at <= now)
            .order_by(OutboundEmail.scheduled_at)
            .limit(limit)
        )
        with unscoped(self.session):
            return list((await self.session.execute(statement)).scalars())

    async def fail_stale_claims(self, claimed_before: datetime) -> int:
        """Claims older than the lease died mid-send: the message may or may not have left.
        They are marked failed, never retried, so nobody gets the same e-mail twice."""
        with unscoped(self.session):
            result = await self.session.execute(
                update(OutboundEmail)
                .where(OutboundEmail.status == "sending", OutboundEmail.claimed_at < claimed_before)
                .values(
                    status="failed",
                    last_error="interrupted while sending; not retried to avoid a duplicate",
                )
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
