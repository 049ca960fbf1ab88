"""Dependencies that build the member service for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.users.service import MemberService


async def member_service(session: DbSession, tenant: Member) -> MemberService:
    return MemberService(session, tenant)


Members = Annotated[MemberService, Depends(member_service)]
