"""Writes of the import: leads inserted a batch at a time, and the job row's progress."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.tenancy import Role, unscoped
from crm.models import Lead, LeadImport, Profile, User


class ImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_leads(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Lead), list(rows))

    def add_job(self, job: LeadImport) -> None:
        self.session.add(job)

    async def job(self, job_id: uuid.UUID) -> LeadImport | None:
        """A job of the session's org (scoped by the tenant guard)."""
        return (
            await self.session.execute(select(LeadImport).where(LeadImport.id == job_id))
        ).scalar_one_or_none()

    async def claim(
        self, job_id: uuid.UUID, now: datetime, stale_before: datetime
    ) -> LeadImport | None:
        """Take a pending job, or a running one whose worker stopped reporting (it died)."""
        with unscoped(self.session):
            result = await self.session.execute(
                update(LeadImport)
                .where(
                    LeadImport.id == job_id,
                    (LeadImport.status == "pending")
                    | ((LeadImport.status == "running") & (LeadImport.updated_at < stale_before)),
                )
                .values(status="running", started_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            return await self.session.get(LeadImport, job_id, populate_existing=True)

    async def record(self, job_id: uuid.UUID, **values: Any) -> None:
        with unscoped(self.session):
            await self.session.execute(
                update(LeadImport)
                .where(LeadImport.id == job_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    async def record_batch(self, job_id: uuid.UUID, *, after_row: int, **values: Any) -> bool:
        """Record a batch's progress if the job is still running from ``after_row``, the
        progress this worker last committed; False when another worker has moved it on."""
        with unscoped(self.session):
            result = await self.session.execute(
                update(LeadImport)
                .where(
                    LeadImport.id == job_id,
                    LeadImport.status == "running",
                    LeadImport.processed_rows == after_row,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due(self, now: datetime, stale_before: datetime) -> list[uuid.UUID]:
        statement = select(LeadImport.id).where(
            (LeadImport.status == "pending")
            | ((LeadImport.status == "running") & (LeadImport.updated_at < stale_before))
        )
        with unscoped(self.session):
            return list((await self.session.execute(statement)).scalars())

    async def acting_member(self, org_id: uuid.UUID, email: str | None) -> Profile | None:
        """The member a command-line import acts as: the one with ``email``, else the org's
        first active admin."""
        statement = (
            select(Profile)
            .join(User, User.id == Profile.user_id)
            .where(Profile.org_id == org_id, Profile.is_active.is_(True))
        )
        if email:
            statement = statement.where(User.email == email.strip().lower())
        else:
            statement = statement.where(Profile.role == Role.ADMIN).order_by(
                Profile.date_of_joining, Profile.created_on
            )
        with unscoped(self.session):
            return (await self.session.execute(statement.limit(1))).scalar_one_or_none()

    async def creator(self, profile_id: uuid.UUID | None) -> Profile | None:
        if profile_id is None:
            return None
        with unscoped(self.session):
            return await self.session.get(Profile, profile_id)
