"""Dependency that builds the API-settings service for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.api_settings.service import APISettingService
from crm.auth.permissions import Member
from crm.core.db import DbSession


async def api_setting_service(session: DbSession, tenant: Member) -> APISettingService:
    return APISettingService(session, tenant)


APISettings = Annotated[APISettingService, Depends(api_setting_service)]
