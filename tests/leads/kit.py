"""Test kit for leads: making leads through the API and reading rows back to check what a
request wrote (conversion copies links that no response shows in full)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.core.db import Database
from crm.core.tenancy import Role, TenantContext, bind_tenant
from crm.models import Account, Contact, Lead, Opportunity
from crm.models.records import SalesRecord
from tests.conftest import Member

R = TypeVar("R", bound=SalesRecord)

ITEM_KEYS = {
    "id",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "source",
    "account_name",
    "website",
    "description",
    "opportunity_amount",
    "probability",
    "close_date",
    "industry",
    "organization",
    "skype_ID",
    "enquiry_type",
    "company",
    "address_line",
    "street",
    "city",
    "state",
    "postcode",
    "country",
    "is_active",
    "created_from_site",
    "converted_account",
    "converted_contact",
    "converted_opportunity",
    "created_on",
    "created_at",
    "updated_at",
    "created_by",
    "org",
    "assigned_to",
    "teams",
    "tags",
    "contacts",
}
WRITE_KEYS = ITEM_KEYS | {"account_id", "contact_id", "opportunity_id"}


async def create_lead(client: httpx.AsyncClient, member: Member, **body: Any) -> dict[str, Any]:
    body.setdefault("first_name", "Jane")
    body.setdefault("last_name", f"Doe {uuid.uuid4().hex[:6]}")
    response = await client.post("/api/leads/", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def context(member: Member) -> TenantContext:
    return TenantContext(
        org_id=uuid.UUID(member.org_id),
        profile_id=uuid.UUID(member.profile_id),
        user_id=uuid.UUID(member.user_id),
        role=Role.ADMIN,
    )


async def db_contact(database: Database, member: Member, email: str, **values: Any) -> str:
    async with database.sessionmaker() as session:
        bind_tenant(session, context(member))
        contact = Contact(
            first_name=values.pop("first_name", "Ada"),
            last_name=values.pop("last_name", "Lovelace"),
            primary_email=email,
            created_by_id=uuid.UUID(member.profile_id),
            **values,
        )
        session.add(contact)
        await session.commit()
        return str(contact.id)


async def db_opportunity(database: Database, member: Member, name: str) -> str:
    async with database.sessionmaker() as session:
        bind_tenant(session, context(member))
        account = Account(name=f"Holder {uuid.uuid4().hex[:8]}")
        opportunity = Opportunity(name=name, account=account)
        session.add(opportunity)
        await session.commit()
        return str(opportunity.id)


async def load(database: Database, member: Member, model: type[R], record_id: str) -> R:
    """A record of ``member``'s org with its links (and contacts, where it has them)."""
    options = [
        selectinload(model.assigned_to),
        selectinload(model.teams),
        selectinload(model.tags),
    ]
    if model in (Account, Lead, Opportunity):
        options.append(selectinload(model.contacts))  # type: ignore[attr-defined]
    async with database.sessionmaker() as session:
        bind_tenant(session, context(member))
        row = (
            await session.execute(
                select(model).where(model.id == uuid.UUID(record_id)).options(*options)
            )
        ).scalar_one()
        return row


async def count(database: Database, member: Member, model: type[SalesRecord]) -> int:
    async with database.sessionmaker() as session:
        bind_tenant(session, context(member))
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
