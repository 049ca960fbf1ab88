"""Dependency that builds the lead importer for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.imports.service import LeadImporter


async def lead_importer(request: Request, session: DbSession, tenant: Member) -> LeadImporter:
    return LeadImporter(session, tenant, request.app.state.settings)


Importer = Annotated[LeadImporter, Depends(lead_importer)]
