"""Dependency that builds the case service for the calling member. Every member may call
the routes; the record rules (see, change, delete) live in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.cases.service import CaseService
from crm.core.db import DbSession


async def case_service(session: DbSession, tenant: Member) -> CaseService:
    return CaseService(session, tenant)


Cases = Annotated[CaseService, Depends(case_service)]
