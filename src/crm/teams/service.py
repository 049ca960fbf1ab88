"""Team use cases. Members must be active members of the org; names are unique per org
(case-insensitive). Removing a team changes no record's ownership."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import PageParams
from crm.core.tenancy import TenantContext
from crm.models import Team
from crm.teams.errors import TeamNameTaken
from crm.teams.repository import TeamFilters, TeamRepository
from crm.teams.schemas import TeamCreate, TeamUpdate
from crm.users.service import MemberService


class TeamService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.teams = TeamRepository(session, tenant)
        self.members = MemberService(session, tenant)

    async def page(self, filters: TeamFilters, params: PageParams) -> tuple[list[Team], int]:
        return await self.teams.page(filters, params)

    async def all(self, limit: int | None = None) -> list[Team]:
        """Teams ordered by name; ``limit`` caps picker lookups."""
        return await self.teams.all(limit)

    async def get(self, team_id: uuid.UUID) -> Team:
        team = await self.teams.get(team_id)
        if team is None:
            raise NotFound()
        return team

    async def existing(self, ids: Sequence[uuid.UUID], field: str) -> list[Team]:
        """The org's teams with these ids, in order, or a 400 on ``field`` naming unknown ones."""
        wanted = list(dict.fromkeys(ids))
        found = {t.id: t for t in await self.teams.by_ids(wanted)}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise ValidationFailed.on(
                field, f"Not teams of this organization: {', '.join(missing)}"
            )
        return [found[i] for i in wanted]

    async def create(self, data: TeamCreate) -> Team:
        if await self.teams.name_taken(data.name):
            raise TeamNameTaken()
        users = await self.members.active_members(data.users, "users")
        team = Team(
            org_id=self.tenant.org_id,
            name=data.name,
            description=data.description,
            created_by_id=self.tenant.profile_id,
            users=users,
        )
        self.teams.add(team)
        await self.session.flush()
        return await self._reload(team.id)

    async def update(self, team_id: uuid.UUID, data: TeamUpdate) -> Team:
        team = await self.get(team_id)
        changes = data.model_dump(exclude_unset=True)
        if changes.get("name") is not None and changes["name"] != team.name:
            if await self.teams.name_taken(changes["name"], exclude=team.id):
                raise TeamNameTaken()
            team.name = changes["name"]
        if changes.get("description") is not None:
            team.description = changes["description"]
        if changes.get("users") is not None:
            team.users = await self.members.active_members(changes["users"], "users")
        await self.session.flush()
        return await self._reload(team.id)

    async def delete(self, team_id: uuid.UUID) -> None:
        await self.teams.delete(await self.get(team_id))

    async def _reload(self, team_id: uuid.UUID) -> Team:
        self.session.expire_all()
        return await self.get(team_id)
