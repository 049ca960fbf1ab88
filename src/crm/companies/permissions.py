"""Dependency that builds the company service for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.companies.service import CompanyService
from crm.core.db import DbSession


async def company_service(session: DbSession, tenant: Member) -> CompanyService:
    return CompanyService(session, tenant)


Companies = Annotated[CompanyService, Depends(company_service)]
