"""Dependency that builds the API-key service for an org admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.api_keys.service import APIKeyService
from crm.auth.permissions import Admin
from crm.core.db import DbSession


async def api_key_service(session: DbSession, tenant: Admin) -> APIKeyService:
    return APIKeyService(session, tenant)


APIKeys = Annotated[APIKeyService, Depends(api_key_service)]
