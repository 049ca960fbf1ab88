"""Org use cases: create an org (the creator becomes its ADMIN) and list memberships."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.clock import today
from crm.core.tenancy import Role, TenantContext, bind_tenant
from crm.models import Org, Profile, User
from crm.orgs.errors import OrgNameTaken
from crm.orgs.repository import OrgRepository


class OrgService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.orgs = OrgRepository(session)

    async def name_taken(self, name: str) -> bool:
        """Whether an org of this name (any case) exists; names are unique server-wide."""
        return await self.orgs.name_exists(name)

    async def create_org(self, user: User, name: str) -> tuple[Org, Profile]:
        if await self.name_taken(name):
            raise OrgNameTaken()
        org = await self.orgs.add(
            Org(name=name, api_key=str(uuid.uuid4()), created_by_user_id=user.id)
        )
        profile = Profile(
            id=uuid.uuid4(),
            org_id=org.id,
            user_id=user.id,
            role=Role.ADMIN,
            is_active=True,
            date_of_joining=today(),
        )
        # From here on this session acts inside the new org, as its admin.
        bind_tenant(
            self.session,
            TenantContext(org_id=org.id, profile_id=profile.id, user_id=user.id, role=Role.ADMIN),
        )
        self.session.add(profile)
        await self.session.flush()
        return org, profile

    async def memberships(self, user: User) -> list[Profile]:
        return await self.orgs.memberships_of(user.id)
