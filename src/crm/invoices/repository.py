"""Queries on invoices: the kit's record queries (crm.records.module), the invoice filters,
the accounts link (many-to-many, unlike the kit's single account) and number generation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from crm.models import Account, Invoice, Org
from crm.models.records import link_table
from crm.records.module import RecordRepository
from crm.records.repository import (
    LinkIds,
    assigned_to_any,
    contains_ci,
    link_ids_of,
    link_loaders,
    tagged_with,
    visible,
)

INVOICE_ACCOUNTS = link_table("invoices", "accounts", "accounts", "account_id")


def linked_to_any_account(ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    return Invoice.id.in_(
        select(INVOICE_ACCOUNTS.c.owner_id).where(INVOICE_ACCOUNTS.c.account_id.in_(ids))
    )


@dataclass(frozen=True, slots=True)
class InvoiceFilters:
    name: str | None = None
    title_or_number: str | None = None
    status: str | None = None
    currency: str | None = None
    total_amount: Decimal | None = None
    account_ids: list[uuid.UUID] | None = None
    assigned_to: list[uuid.UUID] | None = None
    created_by: list[uuid.UUID] | None = None
    tags: list[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(contains_ci(Invoice.name, self.name))
        if self.title_or_number:
            where.append(
                or_(
                    contains_ci(Invoice.invoice_title, self.title_or_number),
                    contains_ci(Invoice.invoice_number, self.title_or_number),
                )
            )
        if self.status:
            # Stored canonical, as the route canonicalises the filter.
            where.append(Invoice.status == self.status)
        if self.currency:
            where.append(Invoice.currency == self.currency)
        if self.total_amount is not None:
            where.append(Invoice.total_amount == self.total_amount)
        if self.account_ids:
            where.append(linked_to_any_account(self.account_ids))
        if self.assigned_to:
            where.append(assigned_to_any(Invoice, self.assigned_to))
        if self.created_by:
            where.append(Invoice.created_by_id.in_(self.created_by))
        if self.tags:
            where.append(tagged_with(Invoice, self.tags))
        return where


class InvoiceRepository(RecordRepository[Invoice]):
    model = Invoice
    name_field = "invoice_title"

    def _link_loaders(self) -> list[_AbstractLoad]:
        return [
            *link_loaders(Invoice),
            selectinload(Invoice.accounts),
            selectinload(Invoice.lines),
        ]

    async def links_of(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, LinkIds]:
        return await link_ids_of(self.session, Invoice, ids, contacts=False, accounts=True)

    async def of_account(self, account_id: uuid.UUID) -> list[Invoice]:
        statement = (
            visible(Invoice, self.tenant)
            .where(linked_to_any_account([account_id]))
            .options(*self._link_loaders())
            .order_by(*self._newest_first())
        )
        return list((await self.session.execute(statement)).scalars())

    async def visible_accounts(self, ids: Sequence[uuid.UUID]) -> list[Account]:
        if not ids:
            return []
        statement = visible(Account, self.tenant).where(Account.id.in_(ids))
        return list((await self.session.execute(statement)).scalars())

    async def number_taken(self, number: str, exclude: uuid.UUID | None = None) -> bool:
        statement = select(Invoice.id).where(
            Invoice.org_id == self.tenant.org_id,
            func.lower(Invoice.invoice_number) == number.lower(),
        )
        if exclude is not None:
            statement = statement.where(Invoice.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def org_name(self) -> str:
        return str(await self.session.scalar(select(Org.name).where(Org.id == self.tenant.org_id)))

    async def draw_number(self) -> int:
        """The org's next invoice sequence number, taken atomically: the row lock keeps a
        concurrent create in the same org waiting until this transaction ends."""
        statement = (
            update(Org)
            .where(Org.id == self.tenant.org_id)
            .values(next_invoice_number=Org.next_invoice_number + 1)
            .returning(Org.next_invoice_number)
            .execution_options(synchronize_session=False)
        )
        return int((await self.session.execute(statement)).scalar_one()) - 1
