"""Dependency that builds the search service for the calling member: every member (ADMIN
or USER) may search; what each finds is what their own lists show."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.search.service import SearchService


async def search_service(session: DbSession, tenant: Member) -> SearchService:
    return SearchService(session, tenant)


Search = Annotated[SearchService, Depends(search_service)]
