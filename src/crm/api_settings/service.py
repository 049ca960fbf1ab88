"""API-setting use cases: website keys with default assignees and tags for captured leads."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm.api_settings.repository import APISettingRepository
from crm.api_settings.schemas import APISettingCreate, APISettingUpdate
from crm.core.errors import NotFound
from crm.core.tenancy import TenantContext
from crm.models import APISetting
from crm.tags.service import TagService
from crm.users.service import MemberService


def new_apikey() -> str:
    return secrets.token_hex(8)  # 16 lowercase hex characters, as Django-CRM generates


class APISettingService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.settings = APISettingRepository(session, tenant)
        self.members = MemberService(session, tenant)
        self.tags = TagService(session, tenant)

    async def all(self) -> list[APISetting]:
        return await self.settings.all()

    async def get(self, setting_id: uuid.UUID) -> APISetting:
        setting = await self.settings.get(setting_id)
        if setting is None:
            raise NotFound()
        return setting

    async def create(self, data: APISettingCreate) -> APISetting:
        setting = APISetting(
            org_id=self.tenant.org_id,
            title=data.title,
            website=data.website,
            apikey=new_apikey(),
            created_by_id=self.tenant.profile_id,
            lead_assigned_to=await self.members.active_members(
                data.lead_assigned_to, "lead_assigned_to"
            ),
            tags=await self.tags.resolve(data.tags),
        )
        self.settings.add(setting)
        await self.session.flush()
        return await self._reload(setting.id)

    async def update(self, setting_id: uuid.UUID, data: APISettingUpdate) -> APISetting:
        setting = await self.get(setting_id)
        changes = data.model_dump(exclude_unset=True)
        if changes.get("title") is not None:
            setting.title = changes["title"]
        if changes.get("website") is not None:
            setting.website = changes["website"]
        if changes.get("lead_assigned_to") is not None:
            setting.lead_assigned_to = await self.members.active_members(
                changes["lead_assigned_to"], "lead_assigned_to"
            )
        if changes.get("tags") is not None:
            setting.tags = await self.tags.resolve(changes["tags"])
        await self.session.flush()
        return await self._reload(setting.id)

    async def delete(self, setting_id: uuid.UUID) -> None:
        await self.settings.delete(await self.get(setting_id))

    async def _reload(self, setting_id: uuid.UUID) -> APISetting:
        self.session.expire_all()
        return await self.get(setting_id)
