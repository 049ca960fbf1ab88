"""Accounts and contacts written straight to the database for the opportunity tests, so they
do not depend on how the accounts and contacts APIs evolve."""

from __future__ import annotations

import uuid

from crm.core.db import Database
from crm.core.tenancy import Role, TenantContext, bind_tenant
from crm.models import Account, Contact, Profile
from tests.conftest import Member


def _context(member: Member) -> TenantContext:
    return TenantContext(
        org_id=uuid.UUID(member.org_id),
        profile_id=uuid.UUID(member.profile_id),
        user_id=uuid.UUID(member.user_id),
        role=Role.ADMIN,
    )


async def insert_account(
    database: Database,
    creator: Member,
    name: str | None = None,
    *,
    assigned_to: tuple[Member, ...] = (),
) -> str:
    """An account of ``creator``'s org, created by ``creator`` (visible to them)."""
    async with database.sessionmaker() as session:
        bind_tenant(session, _context(creator))
        account = Account(
            org_id=uuid.UUID(creator.org_id),
            name=name or f"Account {uuid.uuid4().hex[:8]}",
            created_by_id=uuid.UUID(creator.profile_id),
        )
        account.assigned_to = [
            profile
            for member in assigned_to
            if (profile := await session.get(Profile, uuid.UUID(member.profile_id))) is not None
        ]
        session.add(account)
        await session.commit()
        return str(account.id)


async def insert_contact(
    database: Database, creator: Member, first_name: str = "Ada", last_name: str = "Lovelace"
) -> str:
    """A contact of ``creator``'s org, created by ``creator``."""
    async with database.sessionmaker() as session:
        bind_tenant(session, _context(creator))
        contact = Contact(
            org_id=uuid.UUID(creator.org_id),
            first_name=first_name,
            last_name=last_name,
            primary_email=f"{uuid.uuid4().hex[:10]}@example.com",
            created_by_id=uuid.UUID(creator.profile_id),
        )
        session.add(contact)
        await session.commit()
        return str(contact.id)
