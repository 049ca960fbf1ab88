"""Dependency that builds the opportunity service for the calling member. Every member may
call the routes; the record rules (see, change, delete) live in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.opportunities.service import OpportunityService


async def opportunity_service(session: DbSession, tenant: Member) -> OpportunityService:
    return OpportunityService(session, tenant)


Opportunities = Annotated[OpportunityService, Depends(opportunity_service)]
