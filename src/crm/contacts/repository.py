"""Queries on contacts: the caller's visible contacts, their links, and the accounts and
opportunities that list them.

A contact is visible to an admin, its creator, its assignees and, unlike other records
(§1.3, §5.5), to the assignees of any account that lists it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.pagination import Keyset, PageParams
from crm.core.tenancy import TenantContext
from crm.models import Account, Contact, Opportunity
from crm.models.records import link_table
from crm.records.repository import (
    LinkIds,
    assigned_to_any,
    contact_via_assigned_account,
    contains_ci,
    link_ids_of,
    link_loaders,
    newest_first,
    older_than,
    tagged_with,
    visible,
)

accounts_contacts = link_table("accounts", "contacts", "contacts", "contact_id")
opportunities_contacts = link_table("opportunities", "contacts", "contacts", "contact_id")

_NOT_DIGIT = re.compile(r"[^0-9]")


@dataclass(frozen=True, slots=True)
class ContactFilters:
    name: str | None = None
    city: str | None = None
    phone: str | None = None
    email: str | None = None
    assigned_to: list[uuid.UUID] | None = None
    tags: list[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(
                or_(
                    contains_ci(Contact.first_name, self.name),
                    contains_ci(Contact.last_name, self.name),
                )
            )
        if self.city:
            where.append(contains_ci(Contact.city, self.city))
        if self.phone:
            where.append(self._phone_matches(self.phone))
        if self.email:
            where.append(contains_ci(Contact.primary_email, self.email))
        if self.assigned_to:
            where.append(assigned_to_any(Contact, self.assigned_to))
        if self.tags:
            where.append(tagged_with(Contact, self.tags))
        return where

    @staticmethod
    def _phone_matches(text: str) -> ColumnElement[bool]:
        # Numbers are stored as "+" and digits, so "(415) 555" must find "+14155550123".
        digits = _NOT_DIGIT.sub("", text)
        if not digits:
            return contains_ci(Contact.mobile_number, text)
        return or_(
            contains_ci(Contact.mobile_number, text), contains_ci(Contact.mobile_number, digits)
        )


class ContactRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _in_org(self) -> Select[Contact]:
        return select(Contact).where(Contact.org_id == self.tenant.org_id)

    def _visible(self) -> Select[Contact]:
        return visible(Contact, self.tenant)

    async def count(self, filters: ContactFilters) -> int:
        base = self._visible().where(*filters.conditions())
        total = await self.session.scalar(
            select(func.count()).select_from(base.order_by(None).subquery())
        )
        return int(total or 0)

    async def page(self, filters: ContactFilters, params: PageParams) -> tuple[list[Contact], int]:
        total = await self.count(filters)
        rows = await self.session.execute(
            self._visible()
            .where(*filters.conditions(), *older_than(Contact, params.after))
            .options(*link_loaders(Contact))
            .order_by(*newest_first(Contact))
            .limit(params.fetch)
            .offset(params.offset)
        )
        return list(rows.scalars()), total

    async def export_chunk(
        self, filters: ContactFilters, after: Keyset | None, size: int
    ) -> list[Contact]:
        """The next ``size`` listed contacts after ``after``, in the list's order."""
        statement = (
            self._visible()
            .where(*filters.conditions(), *older_than(Contact, after))
            .order_by(*newest_first(Contact))
            .limit(size)
        )
        return list((await self.session.execute(statement)).scalars())

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await link_ids_of(self.session, Contact, ids, contacts=False)

    async def get(self, contact_id: uuid.UUID) -> Contact | None:
        """The contact in this org, visible or not (the service checks visibility)."""
        statement = self._in_org().where(Contact.id == contact_id).options(*link_loaders(Contact))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def listed_by_assigned_account(self, contact_id: uuid.UUID) -> bool:
        statement = self._in_org().where(
            Contact.id == contact_id, contact_via_assigned_account(self.tenant.profile_id)
        )
        return (await self.session.scalar(statement.with_only_columns(Contact.id))) is not None

    async def email_taken(self, email: str, exclude: uuid.UUID | None = None) -> bool:
        statement = select(Contact.id).where(
            Contact.org_id == self.tenant.org_id,
            func.lower(Contact.primary_email) == email.lower(),
        )
        if exclude is not None:
            statement = statement.where(Contact.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def accounts_of(self, contact_id: uuid.UUID) -> list[Account]:
        """The accounts listing the contact that the caller may see, newest first."""
        statement = (
            visible(Account, self.tenant)
            .join(accounts_contacts, accounts_contacts.c.owner_id == Account.id)
            .where(accounts_contacts.c.contact_id == contact_id)
            .order_by(Account.created_on.desc(), Account.id.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    async def opportunities_of(self, contact_id: uuid.UUID) -> list[Opportunity]:
        """The opportunities listing the contact that the caller may see, newest first."""
        statement = (
            visible(Opportunity, self.tenant)
            .join(opportunities_contacts, opportunities_contacts.c.owner_id == Opportunity.id)
            .where(opportunities_contacts.c.contact_id == contact_id)
            .order_by(Opportunity.created_on.desc(), Opportunity.id.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    def add(self, contact: Contact) -> None:
        self.session.add(contact)

    async def delete(self, contact: Contact) -> None:
        await self.session.delete(contact)
        await self.session.flush()
