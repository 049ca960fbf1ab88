"""Queries on leads: the caller's visible leads and their links, the lookups of the list, the
rows a conversion creates or reuses, and the one cross-org read of the server's public
surface (the website key of ``create-from-site``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.core.pagination import Keyset, PageParams
from crm.core.tenancy import Role, TenantContext, unscoped
from crm.leads.schemas import CLOSED, CONVERTED
from crm.models import (
    Account,
    APISetting,
    Company,
    Contact,
    Lead,
    Opportunity,
    Org,
    Profile,
    User,
)
from crm.models.record_counts import lead_counts
from crm.records.repository import (
    LinkIds,
    Pick,
    PickerKind,
    assigned_to_any,
    contacts_by_ids,
    contains_ci,
    equals_ci,
    link_ids_of,
    link_loaders,
    newest_first,
    older_than,
    only_filters,
    pickers,
    tagged_with,
    visible,
)

OPEN, CLOSED_HALF = "open", "closed"


@dataclass(frozen=True, slots=True)
class LeadFilters:
    name: str | None = None
    title: str | None = None
    source: str | None = None
    status: str | None = None
    city: str | None = None
    email: str | None = None
    tags: list[str] | None = None
    assigned_to: list[uuid.UUID] | None = None

    def only_status_and_source(self) -> bool:
        """Whether no filter but ``status`` and ``source`` is set."""
        return only_filters(self, "status", "source")

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(
                or_(contains_ci(Lead.first_name, self.name), contains_ci(Lead.last_name, self.name))
            )
        if self.title:
            where.append(contains_ci(Lead.title, self.title))
        if self.source:
            where.append(equals_ci(Lead.source_ci, self.source))
        if self.status:
            # Stored normalised (lower case, single spaces), as the route normalises the filter.
            where.append(Lead.status == self.status)
        if self.city:
            where.append(contains_ci(Lead.city, self.city))
        if self.email:
            where.append(contains_ci(Lead.email, self.email))
        if self.tags:
            where.append(tagged_with(Lead, self.tags))
        if self.assigned_to:
            where.append(assigned_to_any(Lead, self.assigned_to))
        return where


def _half(half: str) -> ColumnElement[bool]:
    # Converted leads are never listed (§6.3): open = neither closed nor converted.
    if half == CLOSED_HALF:
        return Lead.status == CLOSED
    return Lead.status.not_in((CLOSED, CONVERTED))


class LeadRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _loaded(self, statement: Select[Lead]) -> Select[Lead]:
        return statement.options(*link_loaders(Lead), selectinload(Lead.contacts))

    async def counts(self, filters: LeadFilters) -> dict[str, int]:
        """How many visible leads match, per status, in one statement (converted ones are
        never listed, so never counted). An admin filtering by nothing but status and source
        gets the sums the database keeps (``crm.models.record_counts``); anything else is counted."""
        if self.tenant.is_admin and filters.only_status_and_source():
            return await lead_counts(
                self.session, self.tenant.org_id, filters.status, filters.source
            )
        statement = (
            visible(Lead, self.tenant)
            .where(*filters.conditions(), Lead.status != CONVERTED)
            .with_only_columns(Lead.status, func.count())
            .group_by(Lead.status)
        )
        return {status: int(n) for status, n in (await self.session.execute(statement)).all()}

    async def page(self, filters: LeadFilters, half: str, params: PageParams) -> list[Lead]:
        """One page of one half, without links (``links_of`` loads those for a whole page)."""
        statement = (
            visible(Lead, self.tenant)
            .where(*filters.conditions(), _half(half), *older_than(Lead, params.after))
            .order_by(*newest_first(Lead))
            .limit(params.fetch)
            .offset(params.offset)
        )
        return list((await self.session.execute(statement)).scalars())

    async def export_chunk(
        self, filters: LeadFilters, after: Keyset | None, size: int
    ) -> list[Lead]:
        """The next ``size`` listed leads after ``after``, both halves, in the list's order."""
        statement = (
            visible(Lead, self.tenant)
            .where(*filters.conditions(), Lead.status != CONVERTED, *older_than(Lead, after))
            .order_by(*newest_first(Lead))
            .limit(size)
        )
        return list((await self.session.execute(statement)).scalars())

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await link_ids_of(self.session, Lead, ids, contacts=True)

    async def get(self, lead_id: uuid.UUID) -> Lead | None:
        """The lead in this org, visible or not (the caller checks visibility)."""
        statement = self._loaded(
            select(Lead).where(Lead.org_id == self.tenant.org_id, Lead.id == lead_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    def add(self, lead: Lead) -> None:
        self.session.add(lead)

    async def delete(self, lead: Lead) -> None:
        await self.session.delete(lead)
        await self.session.flush()

    # -- what a lead points at ------------------------------------------------------------

    async def contacts_by_ids(self, ids: Sequence[uuid.UUID]) -> list[Contact]:
        return await contacts_by_ids(self.session, self.tenant, ids)

    async def company_exists(self, company_id: uuid.UUID) -> bool:
        statement = select(Company.id).where(
            Company.org_id == self.tenant.org_id, Company.id == company_id
        )
        return (await self.session.scalar(statement)) is not None

    # -- lookups of the list --------------------------------------------------------------

    async def lookups(self) -> dict[PickerKind, list[Pick]]:
        return await pickers(self.session, self.tenant, ("contacts", "users", "tags", "companies"))

    # -- conversion -----------------------------------------------------------------------

    async def account_name_taken(self, name: str) -> bool:
        statement = select(Account.id).where(
            Account.org_id == self.tenant.org_id, func.lower(Account.name) == name.lower()
        )
        return (await self.session.scalar(statement.limit(1))) is not None

    async def contact_by_email(self, email: str) -> Contact | None:
        """The org's contact with this e-mail (case-insensitive), visible or not: e-mails are
        unique per org, so a conversion reuses it rather than failing."""
        statement = select(Contact).where(
            Contact.org_id == self.tenant.org_id,
            func.lower(Contact.primary_email) == email.strip().lower(),
        )
        return (await self.session.execute(statement.limit(1))).scalar_one_or_none()

    async def opportunity_names_taken(self, names: Sequence[str]) -> set[str]:
        """Which of ``names`` the org's opportunities already use, lower-cased."""
        statement = select(func.lower(Opportunity.name)).where(
            Opportunity.org_id == self.tenant.org_id,
            func.lower(Opportunity.name).in_([n.lower() for n in names]),
        )
        return set((await self.session.execute(statement)).scalars())

    async def converted_account(self, account_id: uuid.UUID) -> Account | None:
        statement = select(Account).where(
            Account.org_id == self.tenant.org_id, Account.id == account_id
        )
        statement = statement.options(*link_loaders(Account), selectinload(Account.contacts))
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def converted_contact(self, contact_id: uuid.UUID) -> Contact | None:
        statement = select(Contact).where(
            Contact.org_id == self.tenant.org_id, Contact.id == contact_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def converted_opportunity(self, opportunity_id: uuid.UUID) -> Opportunity | None:
        statement = select(Opportunity).where(
            Opportunity.org_id == self.tenant.org_id, Opportunity.id == opportunity_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


class SiteKeyRepository:
    """The website key of ``create-from-site``, read before any org is known.

    This is the only cross-org read of the public surface: one lookup by key, through
    ``unscoped``. Every statement names the org explicitly so a slip cannot widen it.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def setting_by_key(self, apikey: str) -> APISetting | None:
        statement = (
            select(APISetting)
            .join(Org, Org.id == APISetting.org_id)
            .where(APISetting.apikey == apikey, Org.is_active.is_(True))
            .options(
                selectinload(APISetting.lead_assigned_to).selectinload(Profile.user),
                selectinload(APISetting.tags),
            )
        )
        with unscoped(self.session):
            return (await self.session.execute(statement)).scalar_one_or_none()

    async def acting_profile(
        self, org_id: uuid.UUID, creator_id: uuid.UUID | None
    ) -> Profile | None:
        """Who a captured lead is created as: the key's creator while an active member, else
        the org's first active admin (as the org API key acts)."""
        active = (Profile.org_id == org_id, Profile.is_active.is_(True), User.is_active.is_(True))
        base = select(Profile).join(User, User.id == Profile.user_id).where(*active)
        with unscoped(self.session):
            if creator_id is not None:
                creator = (
                    await self.session.execute(base.where(Profile.id == creator_id))
                ).scalar_one_or_none()
                if creator is not None:
                    return creator
            first_admin = (
                base.where(Profile.role == Role.ADMIN)
                .order_by(Profile.date_of_joining, Profile.created_on, Profile.id)
                .limit(1)
            )
            return (await self.session.execute(first_admin)).scalar_one_or_none()
