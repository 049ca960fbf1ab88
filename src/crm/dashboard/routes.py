"""/api/dashboard/ (§3)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.dashboard.schemas import DashboardOut
from crm.dashboard.service import DashboardService
from crm.records.caching import CachedList

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])


@router.get("/", response_model=DashboardOut)
async def dashboard(cache: CachedList, session: DbSession, tenant: Member) -> Response:
    """Counts and the 10 newest records of each module, limited to what the caller may see:
    admins see the org, users what they created or are assigned to. ``leads_count`` counts
    open leads (not closed, not converted), as Django-CRM does."""
    if (hit := cache.hit()) is not None:
        return hit
    return cache.keep(await DashboardService(session, tenant).build())
