"""Queries on opportunities: the caller's visible ones with their links, the forecast of a
filtered set, and the accounts and contacts an opportunity may point at.

Every list statement is built once from :class:`OpportunityFilters`, so the page, its
count and its forecast always describe the same set.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, Select, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from crm.core.pagination import Keyset, PageParams
from crm.core.tenancy import TenantContext
from crm.models import Account, Contact, Opportunity, Profile
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
    pickers,
    tagged_with,
    visible,
    visible_by_id,
)


@dataclass(frozen=True, slots=True)
class OpportunityFilters:
    name: str | None = None
    account_ids: list[uuid.UUID] | None = None
    account_name: str | None = None
    stages: list[str] | None = None
    lead_source: str | None = None
    tags: list[str] | None = None
    assigned_to: list[uuid.UUID] | None = None
    currencies: list[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(contains_ci(Opportunity.name, self.name))
        if self.account_ids:
            where.append(Opportunity.account_id.in_(self.account_ids))
        if self.account_name:
            where.append(Opportunity.account.has(contains_ci(Account.name, self.account_name)))
        if self.stages:
            # Stored canonical (upper case, single spaces): an exact match can use the index.
            where.append(Opportunity.stage.in_(self.stages))
        if self.lead_source:
            where.append(contains_ci(Opportunity.lead_source, self.lead_source))
        if self.tags:
            where.append(tagged_with(Opportunity, self.tags))
        if self.assigned_to:
            where.append(assigned_to_any(Opportunity, self.assigned_to))
        if self.currencies:
            where.append(Opportunity.currency.in_(self.currencies))
        return where


@dataclass(frozen=True, slots=True)
class CurrencyTotals:
    """Exact integer sums of one currency: hundredths, and hundredths x percent."""

    currency: str
    count: int
    amount_cents: int
    weighted_cent_percents: int


def _loaders(detail: bool) -> list[_AbstractLoad]:
    """The links, contacts and account of an opportunity; with ``detail`` also the account's
    own links (the detail's ``account_obj``), which a write and its answer (``OpportunityItem``:
    the account's name) do not need."""
    account = joinedload(Opportunity.account)
    if detail:
        account = account.options(
            selectinload(Account.assigned_to).selectinload(Profile.user),
            selectinload(Account.teams),
            selectinload(Account.tags),
            selectinload(Account.contacts),
        )
    return [*link_loaders(Opportunity), selectinload(Opportunity.contacts), account]


class OpportunityRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _filtered(self, filters: OpportunityFilters) -> Select[Opportunity]:
        return visible(Opportunity, self.tenant).where(*filters.conditions())

    async def page(self, filters: OpportunityFilters, params: PageParams) -> list[Opportunity]:
        """One page, with the account's name; links come from ``links_of`` for the page."""
        rows = await self.session.execute(
            self._filtered(filters)
            .where(*older_than(Opportunity, params.after))
            .options(joinedload(Opportunity.account).load_only(Account.name))
            .order_by(*newest_first(Opportunity))
            .limit(params.fetch)
            .offset(params.offset)
        )
        return list(rows.scalars())

    async def export_chunk(
        self, filters: OpportunityFilters, after: Keyset | None, size: int
    ) -> list[Opportunity]:
        """The next ``size`` listed opportunities after ``after``, with the account's name."""
        rows = await self.session.execute(
            self._filtered(filters)
            .where(*older_than(Opportunity, after))
            .options(joinedload(Opportunity.account).load_only(Account.name))
            .order_by(*newest_first(Opportunity))
            .limit(size)
        )
        return list(rows.scalars())

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await link_ids_of(self.session, Opportunity, ids, contacts=True)

    async def totals_by_currency(self, filters: OpportunityFilters) -> list[CurrencyTotals]:
        """One row per currency over the whole filtered set, summed by the database.

        The Money column holds integer hundredths; reading it as the plain integer keeps
        the sums exact on every backend (SQLite would otherwise sum floats)."""
        cents = type_coerce(Opportunity.amount, BigInteger)
        statement = (
            self._filtered(filters)
            .with_only_columns(
                Opportunity.currency,
                func.count(),
                func.coalesce(func.sum(cents), 0),
                func.coalesce(func.sum(cents * Opportunity.probability), 0),
            )
            .group_by(Opportunity.currency)
            .order_by(Opportunity.currency)
        )
        rows = await self.session.execute(statement)
        return [
            CurrencyTotals(
                currency=currency,
                count=int(count),
                amount_cents=int(amount),
                weighted_cent_percents=int(weighted),
            )
            for currency, count, amount, weighted in rows
        ]

    async def get(self, opportunity_id: uuid.UUID, *, detail: bool = True) -> Opportunity | None:
        """The opportunity in this org, visible or not (the caller checks visibility). With
        ``detail``, also its account's links (the detail's ``account_obj``); a write and its
        answer need only the account's name."""
        statement = (
            select(Opportunity)
            .where(Opportunity.org_id == self.tenant.org_id, Opportunity.id == opportunity_id)
            .options(*_loaders(detail))
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def name_taken(self, name: str, exclude: uuid.UUID | None = None) -> bool:
        """Across the whole org, visible or not: the name is unique per org."""
        statement = select(Opportunity.id).where(
            Opportunity.org_id == self.tenant.org_id, func.lower(Opportunity.name) == name.lower()
        )
        if exclude is not None:
            statement = statement.where(Opportunity.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def count(self, filters: OpportunityFilters) -> int:
        statement = self._filtered(filters).with_only_columns(func.count())
        return int(await self.session.scalar(statement) or 0)

    async def visible_account(self, account_id: uuid.UUID) -> Account | None:
        return await visible_by_id(self.session, self.tenant, Account, account_id)

    async def visible_account_named(self, name: str) -> Account | None:
        """The visible account of this name, regardless of case (names are unique so)."""
        statement = visible(Account, self.tenant).where(func.lower(Account.name) == name.lower())
        return (await self.session.execute(statement.limit(1))).scalar_one_or_none()

    async def contacts_by_ids(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        return await contacts_by_ids(self.session, self.tenant, ids)

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        return await pickers(self.session, self.tenant, ("accounts", "contacts", "users", "teams"))

    def add(self, opportunity: Opportunity) -> None:
        self.session.add(opportunity)

    async def delete(self, opportunity: Opportunity) -> None:
        await self.session.delete(opportunity)
        await self.session.flush()
