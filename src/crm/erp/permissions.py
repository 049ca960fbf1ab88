"""Dependency that builds the /api/crm/ service for the caller: a member by JWT and org
header, or by secret key (``Bearer sk_...``) or org key (``Token``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.erp.service import ErpOpportunities


async def erp_service(session: DbSession, tenant: Member) -> ErpOpportunities:
    return ErpOpportunities(session, tenant)


Erp = Annotated[ErpOpportunities, Depends(erp_service)]
