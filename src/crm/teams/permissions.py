"""Dependency that builds the team service for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.teams.service import TeamService


async def team_service(session: DbSession, tenant: Member) -> TeamService:
    return TeamService(session, tenant)


Teams = Annotated[TeamService, Depends(team_service)]
