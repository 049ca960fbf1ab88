"""Queries on orgs and on the caller's own memberships (across orgs, hence unscoped)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from crm.core.tenancy import unscoped
from crm.models import Org, Profile


class OrgRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def name_exists(self, name: str) -> bool:
        found = await self.session.scalar(
            select(Org.id).where(func.lower(Org.name) == name.lower()).limit(1)
        )
        return found is not None

    async def add(self, org: Org) -> Org:
        self.session.add(org)
        await self.session.flush()
        return org

    async def memberships_of(self, user_id: uuid.UUID) -> list[Profile]:
        statement = (
            select(Profile)
            .join(Org, Org.id == Profile.org_id)
            .where(Profile.user_id == user_id, Profile.is_active.is_(True), Org.is_active.is_(True))
            .options(joinedload(Profile.org))
            .order_by(Org.name)
        )
        with unscoped(self.session):
            return list((await self.session.execute(statement)).scalars())
