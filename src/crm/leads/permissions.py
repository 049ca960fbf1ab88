"""Dependencies that build the lead services: for the calling member, and for a website
posting with a key (no credentials; the key decides the org, see ``LeadCaptureService``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.core.ratelimit import RateLimiter
from crm.leads.service import LeadCaptureService, LeadService


async def lead_service(session: DbSession, tenant: Member) -> LeadService:
    return LeadService(session, tenant)


Leads = Annotated[LeadService, Depends(lead_service)]


async def lead_capture_service(request: Request, session: DbSession) -> LeadCaptureService:
    state = request.app.state
    limiter = RateLimiter.for_request(request.scope, state.counter)
    return LeadCaptureService(session, limiter, state.settings.lead_capture_per_minute)


SiteCapture = Annotated[LeadCaptureService, Depends(lead_capture_service)]
