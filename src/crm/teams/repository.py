"""Queries on the tenant's teams; members are eager-loaded (constant statements per page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.core.pagination import PageParams
from crm.core.tenancy import TenantContext
from crm.models import Profile, Team, team_members


@dataclass(frozen=True, slots=True)
class TeamFilters:
    name: str | None = None
    created_by: list[uuid.UUID] | None = None
    member: list[uuid.UUID] | None = None


class TeamRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _with_members(self, statement: Select[Team]) -> Select[Team]:
        return statement.options(selectinload(Team.users).selectinload(Profile.user))

    def _filtered(self, filters: TeamFilters) -> Select[Team]:
        statement = select(Team).where(Team.org_id == self.tenant.org_id)
        if filters.name:
            statement = statement.where(
                func.lower(Team.name).contains(filters.name.lower(), autoescape=True)
            )
        if filters.created_by:
            statement = statement.where(Team.created_by_id.in_(filters.created_by))
        if filters.member:
            statement = statement.where(
                Team.id.in_(
                    select(team_members.c.team_id).where(
                        team_members.c.profile_id.in_(filters.member)
                    )
                )
            )
        return statement

    async def page(self, filters: TeamFilters, params: PageParams) -> tuple[list[Team], int]:
        base = self._filtered(filters)
        total = await self.session.scalar(
            select(func.count()).select_from(base.order_by(None).subquery())
        )
        rows = await self.session.execute(
            self._with_members(base.order_by(Team.created_on.desc(), Team.id.desc()))
            .limit(params.limit)
            .offset(params.offset)
        )
        return list(rows.scalars()), int(total or 0)

    async def all(self, limit: int | None = None) -> list[Team]:
        statement = self._with_members(
            select(Team)
            .where(Team.org_id == self.tenant.org_id)
            .order_by(Team.name, Team.id)
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())

    async def get(self, team_id: uuid.UUID) -> Team | None:
        statement = self._with_members(
            select(Team).where(Team.org_id == self.tenant.org_id, Team.id == team_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_ids(self, ids: list[uuid.UUID]) -> list[Team]:
        if not ids:
            return []
        statement = select(Team).where(Team.org_id == self.tenant.org_id, Team.id.in_(ids))
        return list((await self.session.execute(statement)).scalars())

    async def name_taken(self, name: str, exclude: uuid.UUID | None = None) -> bool:
        statement = select(Team.id).where(
            Team.org_id == self.tenant.org_id, func.lower(Team.name) == name.lower()
        )
        if exclude is not None:
            statement = statement.where(Team.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    def add(self, team: Team) -> None:
        self.session.add(team)

    async def delete(self, team: Team) -> None:
        await self.session.delete(team)
        await self.session.flush()
