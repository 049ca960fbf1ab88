"""Dependency that builds the contact service for the calling member. Who may see, change
or delete one contact is decided per record by the service (§1.3, §5.5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crm.auth.permissions import Member
from crm.contacts.service import ContactService
from crm.core.db import DbSession


async def contact_service(session: DbSession, tenant: Member) -> ContactService:
    return ContactService(session, tenant)


Contacts = Annotated[ContactService, Depends(contact_service)]
