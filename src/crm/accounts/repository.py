"""Queries on accounts: the caller's visible accounts, their links and related records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.core.pagination import Keyset, PageParams
from crm.core.tenancy import TenantContext
from crm.models import Account, Contact, Opportunity
from crm.models.record_counts import account_counts
from crm.records.repository import (
    LinkIds,
    Pick,
    PickerKind,
    assigned_to_any,
    contacts_by_ids,
    contains_ci,
    link_ids_of,
    link_loaders,
    newest_first,
    older_than,
    only_filters,
    pickers,
    tagged_with,
    visible,
)


@dataclass(frozen=True, slots=True)
class AccountFilters:
    name: str | None = None
    city: str | None = None
    industry: str | None = None
    tags: list[str] | None = None
    status: str | None = None
    assigned_to: list[uuid.UUID] | None = None

    def only_status(self) -> bool:
        """Whether no filter but ``status`` is set."""
        return only_filters(self, "status")

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(contains_ci(Account.name, self.name))
        if self.city:
            where.append(contains_ci(Account.billing_city, self.city))
        if self.industry:
            where.append(contains_ci(Account.industry, self.industry))
        if self.tags:
            where.append(tagged_with(Account, self.tags))
        if self.status:
            where.append(Account.status == self.status)
        if self.assigned_to:
            where.append(assigned_to_any(Account, self.assigned_to))
        return where


class AccountRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _loaded(self, statement: Select[Account]) -> Select[Account]:
        return statement.options(*link_loaders(Account), selectinload(Account.contacts))

    async def counts(self, filters: AccountFilters) -> dict[str, int]:
        """How many visible accounts match, per status, in one statement. An admin filtering
        by nothing but status gets the sums the database keeps (``crm.models.record_counts``);
        anything else is counted."""
        if self.tenant.is_admin and filters.only_status():
            return await account_counts(self.session, self.tenant.org_id, filters.status)
        statement = (
            visible(Account, self.tenant)
            .where(*filters.conditions())
            .with_only_columns(Account.status, func.count())
            .group_by(Account.status)
        )
        return {status: int(n) for status, n in (await self.session.execute(statement)).all()}

    async def page(self, filters: AccountFilters, status: str, params: PageParams) -> list[Account]:
        """One page of one status, without links (``links_of`` loads those for a whole page)."""
        statement = (
            visible(Account, self.tenant)
            .where(
                *filters.conditions(), Account.status == status, *older_than(Account, params.after)
            )
            .order_by(*newest_first(Account))
            .limit(params.fetch)
            .offset(params.offset)
        )
        return list((await self.session.execute(statement)).scalars())

    async def export_chunk(
        self, filters: AccountFilters, after: Keyset | None, size: int
    ) -> list[Account]:
        """The next ``size`` listed accounts after ``after``, both statuses, newest first."""
        statement = (
            visible(Account, self.tenant)
            .where(*filters.conditions(), *older_than(Account, after))
            .order_by(*newest_first(Account))
            .limit(size)
        )
        return list((await self.session.execute(statement)).scalars())

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await link_ids_of(self.session, Account, ids, contacts=True)

    async def get(self, account_id: uuid.UUID) -> Account | None:
        """The account in this org, visible or not (the caller checks visibility)."""
        statement = self._loaded(
            select(Account).where(Account.org_id == self.tenant.org_id, Account.id == account_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def name_taken(self, name: str, exclude: uuid.UUID | None = None) -> bool:
        statement = select(Account.id).where(
            Account.org_id == self.tenant.org_id, func.lower(Account.name) == name.lower()
        )
        if exclude is not None:
            statement = statement.where(Account.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def contacts_by_ids(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        return await contacts_by_ids(self.session, self.tenant, ids)

    async def opportunities_of(self, account_id: uuid.UUID) -> list[Opportunity]:
        statement = (
            visible(Opportunity, self.tenant)
            .where(Opportunity.account_id == account_id)
            .order_by(Opportunity.created_on.desc(), Opportunity.id.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    async def opportunity_ids_of(self, account_id: uuid.UUID) -> list[uuid.UUID]:
        """Every opportunity of the account (visible or not: they go when it goes)."""
        statement = select(Opportunity.id).where(
            Opportunity.org_id == self.tenant.org_id, Opportunity.account_id == account_id
        )
        return list((await self.session.execute(statement)).scalars())

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        return await pickers(self.session, self.tenant, ("contacts", "users", "teams", "tags"))

    def add(self, account: Account) -> None:
        self.session.add(account)

    async def delete(self, account: Account) -> None:
        await self.session.delete(account)
        await self.session.flush()
