"""Queries on the tenant's tags."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.tenancy import TenantContext
from crm.models import Tag


class TagRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def by_slugs(self, slugs: Sequence[str]) -> list[Tag]:
        if not slugs:
            return []
        statement = select(Tag).where(Tag.org_id == self.tenant.org_id, Tag.slug.in_(slugs))
        return list((await self.session.execute(statement)).scalars())

    async def all(self, limit: int | None = None) -> list[Tag]:
        statement = (
            select(Tag)
            .where(Tag.org_id == self.tenant.org_id)
            .order_by(Tag.slug, Tag.id)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())

    def add(self, tag: Tag) -> None:
        self.session.add(tag)
