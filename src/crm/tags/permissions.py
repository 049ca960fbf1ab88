"""Dependency that builds the tag service for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.tags.service import TagService


async def _tags(session: DbSession, tenant: Member) -> TagService:
    return TagService(session, tenant)


Tags = Annotated[TagService, Depends(_tags)]
