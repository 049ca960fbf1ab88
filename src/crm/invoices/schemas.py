"""Bodies of /api/invoices/ and the invoice vocabulary (§13.2).

Amounts go out as strings with the currency's decimals (``"1234.50"`` USD, ``"1235"`` JPY,
``"1.235"`` KWD), so no client parses them through a binary float; quantities, rates and
percentages as plain decimal strings (``"1.5"``).

Line items carry ``quantity``, ``rate``, ``tax`` and ``discount`` (both percentages). The
legacy single-line form (``quantity`` in hours, also read from ``quality_hours``, ``rate``,
``tax`` percent) is kept on the invoice and totals it when there are no line items but a
rate.
Addresses come nested (``from_address: {...}``) or in the legacy flat keys
(``from_address_line``, ``from_street`` ... ``to_country``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, EmailStr, Field, model_validator

from crm.activity.schemas import InvoiceAttachment, InvoiceComment
from crm.core.pagination import Page
from crm.core.schemas import (
    CurrencyCode,
    InputSchema,
    NonEmptyStr,
    ReadSchema,
    UUIDList,
    choice_parser,
)
from crm.invoices.totals import LineIn, line_amounts, to_minor
from crm.models import Invoice, InvoiceLine
from crm.records.repository import LinkIds
from crm.records.schemas import AccountLookup, LinksIn, RecordLookups, TeamBrief, link_ids
from crm.users.schemas import MemberBrief

STATUSES: tuple[str, ...] = ("Draft", "Sent", "Paid", "Pending", "Cancelled")
DEFAULT_STATUS = "Draft"
PAID = "Paid"
DEFAULT_CURRENCY = "USD"
MAX_LINES = 500
ADDRESS_PARTS: tuple[str, ...] = ("address_line", "street", "city", "state", "postcode", "country")

Status = Annotated[str, AfterValidator(choice_parser(STATUSES, "status"))]
# Up to 4 decimal places everywhere (the Fixed4 columns); caps keep every product exact.
Quantity = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
Rate = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)]


def plain(value: Decimal) -> str:
    """``Decimal("1.5000")`` as ``"1.5"``; never exponent notation."""
    text = format(value.normalize(), "f")
    return text


class AddressIn(InputSchema):
    address_line: str | None = Field(default=None, max_length=255)
    street: str | None = Field(default=None, max_length=255)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postcode: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=255)


class AddressOut(ReadSchema):
    address_line: str | None
    street: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None

    @classmethod
    def of(cls, invoice: Invoice, side: str) -> AddressOut:
        return cls(**{part: getattr(invoice, f"{side}_{part}") for part in ADDRESS_PARTS})

    def lines(self) -> tuple[str, ...]:
        """The address as printed: line, street, "postcode city", state, country."""
        town = " ".join(p for p in (self.postcode, self.city) if p)
        parts = (self.address_line, self.street, town, self.state, self.country)
        return tuple(p for p in parts if p)


class LineItemIn(InputSchema):
    description: str = Field(default="", max_length=500)
    quantity: Quantity = Decimal(1)
    rate: Rate = Decimal(0)
    tax: Percent = Field(default=Decimal(0), description="Tax percent, on the discounted amount")
    discount: Percent = Field(default=Decimal(0), description="Discount percent of quantity x rate")

    def as_line(self) -> LineIn:
        return LineIn(self.quantity, self.rate, self.tax, self.discount)


class _InvoiceFields(LinksIn):
    """The optional fields, shared by create and update (updates apply what was sent)."""

    invoice_number: str | None = Field(
        default=None, max_length=50, description="Unique in the org; generated when empty"
    )
    phone: str | None = Field(default=None, max_length=32)
    currency: CurrencyCode | None = None
    due_date: date | None = None
    paid_on: date | None = Field(default=None, description="Set to today when marked Paid")
    details: str | None = Field(default=None, max_length=100_000)
    quantity: int | None = Field(
        default=None,
        ge=0,
        le=99_999_999,
        validation_alias=AliasChoices("quantity", "quality_hours"),
        description="Legacy single line: hours worked (also read from quality_hours)",
    )
    rate: Rate | None = Field(default=None, description="Legacy single line: rate per hour")
    tax: Percent | None = Field(default=None, description="Legacy single line: tax percent")
    line_items: list[LineItemIn] | None = Field(
        default=None, max_length=MAX_LINES, description="Replaces all lines when sent"
    )
    total_amount: Amount | None = Field(
        default=None,
        description="Only for an invoice without lines or rate; otherwise it must equal "
        "the computed total",
    )
    amount_paid: Amount | None = None
    accounts: UUIDList | None = Field(default=None, description="Account ids the caller can see")
    from_address: AddressIn | None = None
    to_address: AddressIn | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_addresses(cls, data: Any) -> Any:
        """Fold the legacy flat keys (``from_city`` ...) into the nested address."""
        if not isinstance(data, dict):
            return data
        for side in ("from", "to"):
            flat = {p: data[f"{side}_{p}"] for p in ADDRESS_PARTS if f"{side}_{p}" in data}
            if flat and not isinstance(data.get(f"{side}_address"), dict):
                data = {**data, f"{side}_address": flat}
        return data


class InvoiceCreate(_InvoiceFields):
    invoice_title: NonEmptyStr = Field(max_length=50)
    name: NonEmptyStr = Field(max_length=100, description="Customer name")
    email: EmailStr = Field(description="Customer e-mail")
    status: Status = DEFAULT_STATUS


class InvoiceUpdate(_InvoiceFields):
    """Partial (PUT and PATCH alike): only the fields sent change; ``null`` leaves a required
    field unchanged and clears an optional one."""

    invoice_title: NonEmptyStr | None = Field(default=None, max_length=50)
    name: NonEmptyStr | None = Field(default=None, max_length=100)
    email: EmailStr | None = None
    status: Status | None = None


class LineItemOut(ReadSchema):
    id: uuid.UUID
    description: str
    quantity: str
    rate: str
    tax: str = Field(description="Tax percent")
    discount: str = Field(description="Discount percent")
    subtotal: str = Field(description="quantity x rate, in the currency's minor unit")
    discount_amount: str
    tax_amount: str
    total: str

    @classmethod
    def of(cls, line: InvoiceLine, currency: str) -> LineItemOut:
        amounts = line_amounts(LineIn(line.quantity, line.rate, line.tax, line.discount), currency)
        return cls(
            id=line.id,
            description=line.description,
            quantity=plain(line.quantity),
            rate=plain(line.rate),
            tax=plain(line.tax),
            discount=plain(line.discount),
            subtotal=str(amounts.subtotal),
            discount_amount=str(amounts.discount),
            tax_amount=str(amounts.tax),
            total=str(amounts.total),
        )


class InvoiceItem(ReadSchema):
    """An invoice in lists and related lists (§13.2): links as ids, no line items."""

    id: uuid.UUID
    invoice_title: str
    invoice_number: str
    status: str
    due_date: date | None
    paid_on: date | None
    name: str
    email: str
    phone: str | None
    currency: str
    quantity: int | None
    rate: str | None
    tax: str | None
    subtotal: str
    discount_amount: str
    tax_amount: str
    total_amount: str
    amount_paid: str
    amount_due: str
    details: str | None
    is_email_sent: bool
    from_address: AddressOut
    to_address: AddressOut
    accounts: list[uuid.UUID]
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @staticmethod
    def fields_of(invoice: Invoice, links: LinkIds | None = None) -> dict[str, Any]:
        currency = invoice.currency

        def money(value: Decimal) -> str:
            return str(to_minor(value, currency))

        return {
            "id": invoice.id,
            "invoice_title": invoice.invoice_title,
            "invoice_number": invoice.invoice_number,
            "status": invoice.status,
            "due_date": invoice.due_date,
            "paid_on": invoice.paid_on,
            "name": invoice.name,
            "email": invoice.email,
            "phone": invoice.phone,
            "currency": currency,
            "quantity": invoice.quantity,
            "rate": None if invoice.rate is None else plain(invoice.rate),
            "tax": None if invoice.tax is None else plain(invoice.tax),
            "subtotal": money(invoice.subtotal),
            "discount_amount": money(invoice.discount_amount),
            "tax_amount": money(invoice.tax_amount),
            "total_amount": money(invoice.total_amount),
            "amount_paid": money(invoice.amount_paid),
            "amount_due": money(invoice.amount_due),
            "details": invoice.details,
            "is_email_sent": invoice.is_email_sent,
            "from_address": AddressOut.of(invoice, "from"),
            "to_address": AddressOut.of(invoice, "to"),
            "accounts": links.accounts if links else [a.id for a in invoice.accounts],
            "org": invoice.org_id,
            "created_on": invoice.created_on,
            "created_at": invoice.created_on,
            "updated_at": invoice.updated_at,
            "created_by": invoice.created_by_id,
            **link_ids(invoice, links),
        }

    @classmethod
    def of(cls, invoice: Invoice, links: LinkIds | None = None) -> InvoiceItem:
        return cls(**cls.fields_of(invoice, links))


class InvoiceOut(InvoiceItem):
    """An invoice with its line items: write responses and the detail's ``invoice_obj``."""

    line_items: list[LineItemOut]

    @classmethod
    def of(cls, invoice: Invoice, links: LinkIds | None = None) -> InvoiceOut:
        lines = [LineItemOut.of(line, invoice.currency) for line in invoice.lines]
        return cls(**cls.fields_of(invoice, links), line_items=lines)


class InvoiceListOut(Page[InvoiceItem], RecordLookups):
    """Envelope (A) plus the pickers' lookups and the status vocabulary."""

    status: list[str]


class InvoiceDetailOut(ReadSchema):
    invoice_obj: InvoiceOut
    accounts: list[AccountLookup]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    comments: list[InvoiceComment]
    attachments: list[InvoiceAttachment]
    users_mention: list[dict[str, str]]
    comment_permission: bool
    status: list[str]
