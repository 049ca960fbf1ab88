"""Invoices (§13): a customer's bill, with line items, linked to accounts, with assignees,
teams and tags like every sales record.

Every amount is exact: inputs and totals are ``Fixed4`` (integer ten-thousandths), and the
totals are computed by the server (crm.invoices.totals) whenever an input changes, so the
stored figures always add up and list filters can use them.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.db import Base, Fixed4, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned
from crm.models.records import SalesRecord, link_table
from crm.models.sales import Account

ZERO = Decimal(0)


class InvoiceLine(UUIDPrimaryKey, TenantOwned, Base):
    """One line: ``quantity x rate``, less ``discount`` percent, plus ``tax`` percent."""

    __tablename__ = "invoice_lines"

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[Decimal] = mapped_column(Fixed4)
    rate: Mapped[Decimal] = mapped_column(Fixed4)
    tax: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)
    discount: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)


class Invoice(SalesRecord, Base):
    __tablename__ = "invoices"

    invoice_title: Mapped[str] = mapped_column(String(50))
    invoice_number: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16), default="Draft")
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    due_date: Mapped[date | None] = mapped_column(Date, default=None)
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    details: Mapped[str | None] = mapped_column(Text, default=None)
    is_email_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The legacy single-line form (hours worked x rate + tax percent), used for the totals
    # when the invoice has no line items.
    quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    rate: Mapped[Decimal | None] = mapped_column(Fixed4, default=None)
    tax: Mapped[Decimal | None] = mapped_column(Fixed4, default=None)
    # Computed, in the currency's minor unit.
    subtotal: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)
    discount_amount: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)
    tax_amount: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)
    total_amount: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)
    amount_paid: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)
    amount_due: Mapped[Decimal] = mapped_column(Fixed4, default=ZERO)

    from_address_line: Mapped[str | None] = mapped_column(String(255), default=None)
    from_street: Mapped[str | None] = mapped_column(String(255), default=None)
    from_city: Mapped[str | None] = mapped_column(String(255), default=None)
    from_state: Mapped[str | None] = mapped_column(String(255), default=None)
    from_postcode: Mapped[str | None] = mapped_column(String(64), default=None)
    from_country: Mapped[str | None] = mapped_column(String(255), default=None)
    to_address_line: Mapped[str | None] = mapped_column(String(255), default=None)
    to_street: Mapped[str | None] = mapped_column(String(255), default=None)
    to_city: Mapped[str | None] = mapped_column(String(255), default=None)
    to_state: Mapped[str | None] = mapped_column(String(255), default=None)
    to_postcode: Mapped[str | None] = mapped_column(String(64), default=None)
    to_country: Mapped[str | None] = mapped_column(String(255), default=None)

    accounts: Mapped[list[Account]] = relationship(
        secondary=link_table("invoices", "accounts", "accounts", "account_id"),
        order_by="(Account.name, Account.id)",
        lazy="raise",
    )
    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by=InvoiceLine.position,
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )

    __table_args__ = (
        Index(
            "uq_invoices_org_id_invoice_title_ci", "org_id", func.lower(invoice_title), unique=True
        ),
        Index(
            "uq_invoices_org_id_invoice_number_ci",
            "org_id",
            func.lower(invoice_number),
            unique=True,
        ),
        Index("ix_invoices_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_invoices_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
        Index(
            "ix_invoices_org_id_currency_created_on_id", "org_id", "currency", "created_on", "id"
        ),
    )
