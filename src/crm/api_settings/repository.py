"""Queries on the tenant's website API settings."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.core.tenancy import TenantContext
from crm.models import APISetting, Profile


class APISettingRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _base(self) -> Select[APISetting]:
        return (
            select(APISetting)
            .where(APISetting.org_id == self.tenant.org_id)
            .options(
                selectinload(APISetting.lead_assigned_to).selectinload(Profile.user),
                selectinload(APISetting.tags),
            )
        )

    async def all(self) -> list[APISetting]:
        statement = self._base().order_by(APISetting.created_on.desc(), APISetting.id.desc())
        return list((await self.session.execute(statement)).scalars())

    async def get(self, setting_id: uuid.UUID) -> APISetting | None:
        return (
            await self.session.execute(self._base().where(APISetting.id == setting_id))
        ).scalar_one_or_none()

    def add(self, setting: APISetting) -> None:
        self.session.add(setting)

    async def delete(self, setting: APISetting) -> None:
        await self.session.delete(setting)
        await self.session.flush()
