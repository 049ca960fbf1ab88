"""Dependency that builds the account service for the calling member."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.accounts.service import AccountService
from crm.auth.permissions import Member
from crm.core.db import DbSession


async def account_service(session: DbSession, tenant: Member) -> AccountService:
    return AccountService(session, tenant)


Accounts = Annotated[AccountService, Depends(account_service)]
