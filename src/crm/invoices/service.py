"""Invoice rules (§13, §1.3), on top of the kit's record service (crm.records.module).

- Titles and numbers are unique per org (case-insensitive); an empty number is generated
  from the org's sequence (``INV-0001`` ...), skipping numbers already taken.
- Totals are the server's (crm.invoices.totals), recomputed on every write: from the line
  items, else from the legacy single line (``quantity`` hours x ``rate`` + ``tax``
  percent). A sent ``total_amount`` must equal the computed one; only an invoice with
  neither lines nor rate takes it as sent (a lump sum). ``amount_due = total - paid``.
- Marking an invoice Paid dates it (``paid_on``, today unless sent) and, unless
  ``amount_paid`` is sent, records it as paid in full; leaving Paid clears the date unless
  one is sent.
- See/change: admin, creator or assignee; delete: admin or creator. Accounts must be ones
  the caller can see.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from crm.core.clock import today
from crm.core.errors import ValidationFailed
from crm.invoices.errors import InvoiceNumberTaken, InvoiceTitleTaken, UnknownAccounts
from crm.invoices.pdf import InvoiceDocument, PdfLine
from crm.invoices.repository import InvoiceRepository
from crm.invoices.schemas import (
    ADDRESS_PARTS,
    DEFAULT_CURRENCY,
    PAID,
    AddressOut,
    InvoiceCreate,
    InvoiceUpdate,
    LineItemIn,
)
from crm.invoices.totals import LineIn, exponent, invoice_amounts, line_amounts, to_minor
from crm.models import Account, Invoice, InvoiceLine
from crm.models.invoices import ZERO
from crm.records.module import RecordService
from crm.records.service import LINK_FIELDS

# Columns an update sets as sent; ``null`` clears the optional ones and leaves the
# required ones unchanged. Numbers, status, amounts and links have rules of their own.
_SCALARS = (
    "invoice_title",
    "name",
    "email",
    "phone",
    "currency",
    "due_date",
    "details",
    "quantity",
    "rate",
    "tax",
)
_REQUIRED = frozenset({"invoice_title", "name", "email", "currency"})
# Every stored amount fits a BIGINT of ten-thousandths with room to spare.
MAX_AMOUNT = Decimal("999999999999.999")


class InvoiceService(RecordService[Invoice, InvoiceRepository]):
    kind = "invoice"
    repository = InvoiceRepository
    name_taken_error = InvoiceTitleTaken

    async def create(self, data: InvoiceCreate) -> Invoice:
        await self._check_name(data.invoice_title)
        invoice = Invoice(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            invoice_title=data.invoice_title,
            invoice_number=await self._number(data.invoice_number),
            status=data.status,
            name=data.name,
            email=str(data.email),
            phone=data.phone,
            currency=data.currency or DEFAULT_CURRENCY,
            due_date=data.due_date,
            paid_on=data.paid_on,
            details=data.details,
            quantity=data.quantity,
            rate=data.rate,
            tax=data.tax,
            amount_paid=data.amount_paid or Decimal(0),
            accounts=await self._accounts(data.accounts or []),
            lines=self._lines(data.line_items or []),
            **_address_columns(data.model_dump(include={"from_address", "to_address"})),
            **await self.links.initial(data.model_dump(include=set(LINK_FIELDS))),
        )
        if invoice.status == PAID:
            invoice.paid_on = invoice.paid_on or today()
        _settle(
            invoice,
            data.model_dump(include={"total_amount", "amount_paid"}),
            was_lump_sum=True,
            paid_in_full=invoice.status == PAID and data.amount_paid is None,
        )
        self.records.add(invoice)
        await self.session.flush()
        return await self._reload(invoice.id)

    async def update(self, invoice_id: uuid.UUID, data: InvoiceUpdate) -> Invoice:
        invoice = await self.get_visible(invoice_id)
        was_lump_sum = is_lump_sum(invoice)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        await self._check_name(changes.get("invoice_title"), exclude=invoice.id)
        for key in _SCALARS:
            if key in changes and (changes[key] is not None or key not in _REQUIRED):
                setattr(invoice, key, changes[key])
        if changes.get("invoice_number"):  # null or blank keeps the number
            invoice.invoice_number = await self._number(changes["invoice_number"], invoice.id)
        for side in ("from_address", "to_address"):
            if side in changes:
                for column, value in _address_columns({side: changes[side]}).items():
                    setattr(invoice, column, value)
        if "accounts" in changes and changes["accounts"] is not None:
            invoice.accounts = await self._accounts(changes["accounts"])
        if data.line_items is not None:
            invoice.lines = self._lines(data.line_items)
        if "amount_paid" in changes:
            invoice.amount_paid = changes["amount_paid"] or Decimal(0)
        if "paid_on" in changes:
            invoice.paid_on = changes["paid_on"]
        becomes_paid = False
        status = changes.get("status")
        if status is not None and status != invoice.status:
            invoice.status = status
            becomes_paid = status == PAID
            if "paid_on" not in changes:
                invoice.paid_on = today() if becomes_paid else None
        _settle(
            invoice,
            changes,
            was_lump_sum=was_lump_sum,
            paid_in_full=becomes_paid and "amount_paid" not in changes,
        )
        await self.links.apply(invoice, changes)
        await self.session.flush()
        return await self._reload(invoice.id)

    async def document(self, invoice_id: uuid.UUID) -> InvoiceDocument:
        """What the PDF shows of a visible invoice."""
        invoice = await self.get_visible(invoice_id)
        currency = invoice.currency
        amounts = invoice_amounts([_line_in(line) for line in invoice.lines], currency)
        return InvoiceDocument(
            org_name=await self.records.org_name(),
            invoice_title=invoice.invoice_title,
            invoice_number=invoice.invoice_number,
            status=invoice.status,
            currency=currency,
            issued_on=invoice.created_on.date(),
            due_date=invoice.due_date,
            paid_on=invoice.paid_on,
            customer_name=invoice.name,
            customer_email=invoice.email,
            customer_phone=invoice.phone,
            from_address=AddressOut.of(invoice, "from").lines(),
            to_address=AddressOut.of(invoice, "to").lines(),
            lines=tuple(
                PdfLine(
                    description=line.description,
                    quantity=line.quantity,
                    rate=line.rate,
                    tax_percent=line.tax,
                    discount_percent=line.discount,
                    subtotal=a.subtotal,
                    discount=a.discount,
                    tax=a.tax,
                    total=a.total,
                )
                for line, a in zip(invoice.lines, amounts.lines, strict=True)
            )
            or _legacy_pdf_lines(invoice),
            subtotal=invoice.subtotal,
            discount=invoice.discount_amount,
            tax=invoice.tax_amount,
            total=invoice.total_amount,
            amount_paid=invoice.amount_paid,
            amount_due=invoice.amount_due,
            details=invoice.details,
        )

    # -- rules ------------------------------------------------------------------------

    async def _number(self, wanted: str | None, exclude: uuid.UUID | None = None) -> str:
        """The sent number if free, else (when none is sent) the next free generated one."""
        if wanted:
            if await self.records.number_taken(wanted, exclude=exclude):
                raise InvoiceNumberTaken()
            return wanted
        while True:
            number = f"INV-{await self.records.draw_number():04d}"
            if not await self.records.number_taken(number, exclude=exclude):
                return number

    async def _accounts(self, ids: Sequence[uuid.UUID]) -> list[Account]:
        wanted = list(dict.fromkeys(ids))
        found = {a.id: a for a in await self.records.visible_accounts(wanted)}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise UnknownAccounts(missing)
        return [found[i] for i in wanted]

    def _lines(self, items: Sequence[LineItemIn]) -> list[InvoiceLine]:
        return [
            InvoiceLine(
                org_id=self.tenant.org_id,
                position=position,
                description=item.description,
                quantity=item.quantity,
                rate=item.rate,
                tax=item.tax,
                discount=item.discount,
            )
            for position, item in enumerate(items)
        ]


def _address_columns(sent: dict[str, Any]) -> dict[str, Any]:
    """``{"from_address": {"city": ...}}`` as the flat columns; a sent address replaces the
    whole address (``null`` clears it)."""
    columns: dict[str, Any] = {}
    for side in ("from", "to"):
        key = f"{side}_address"
        if key in sent:
            address = sent[key] or {}
            columns.update({f"{side}_{part}": address.get(part) for part in ADDRESS_PARTS})
    return columns


def _line_in(line: InvoiceLine) -> LineIn:
    return LineIn(line.quantity, line.rate, line.tax, line.discount)


def _legacy_pdf_lines(invoice: Invoice) -> tuple[PdfLine, ...]:
    """The legacy single line (hours x rate + tax), printed as one line item."""
    legacy = _legacy_line(invoice)
    if legacy is None:
        return ()
    amounts = line_amounts(legacy, invoice.currency)
    return (
        PdfLine(
            description="Hours worked",
            quantity=legacy.quantity,
            rate=legacy.rate,
            tax_percent=legacy.tax_percent,
            discount_percent=legacy.discount_percent,
            subtotal=amounts.subtotal,
            discount=amounts.discount,
            tax=amounts.tax,
            total=amounts.total,
        ),
    )


def _legacy_line(invoice: Invoice) -> LineIn | None:
    """The legacy single line (hours x rate + tax percent): only when a rate is set."""
    if invoice.rate is None:
        return None
    return LineIn(Decimal(invoice.quantity or 0), invoice.rate, invoice.tax or Decimal(0))


def is_lump_sum(invoice: Invoice) -> bool:
    """No line items and no rate: the total is the client's."""
    return not invoice.lines and invoice.rate is None


def _too_large(field: str) -> ValidationFailed:
    return ValidationFailed.on(
        field, f"Amounts above {MAX_AMOUNT} are not supported", code="too_large"
    )


def _exact(value: Decimal, currency: str, field: str) -> Decimal:
    """``value`` if the currency can hold it as is; else 400 (never rounded away)."""
    if value != to_minor(value, currency):
        places = exponent(currency)
        raise ValidationFailed.on(
            field,
            f"{value} has more decimal places than {currency} has ({places})",
            code="too_precise",
        )
    return to_minor(value, currency)


def _settle(
    invoice: Invoice,
    sent: dict[str, Any],
    *,
    was_lump_sum: bool,
    paid_in_full: bool,
) -> None:
    """Recompute the totals and the amount due from the invoice's inputs; ``sent`` holds
    what this request sent of ``total_amount`` and ``amount_paid``.

    A lump sum keeps its total (or takes the one sent); an invoice that has just lost its
    lines or rate starts again from 0 unless a total is sent. Amounts the currency cannot
    hold exactly (0.50 in JPY) are refused, never rounded away: on the field sent, or on
    ``currency`` when it is a currency change that no longer fits them."""
    currency = invoice.currency
    sent_total: Decimal | None = sent.get("total_amount")
    if is_lump_sum(invoice):
        if sent_total is not None:
            total = _exact(sent_total, currency, "total_amount")
        else:
            kept = (invoice.total_amount or Decimal(0)) if was_lump_sum else Decimal(0)
            total = _exact(kept, currency, "currency")
        if total > MAX_AMOUNT:
            raise _too_large("total_amount")
        invoice.subtotal, invoice.discount_amount, invoice.tax_amount = total, ZERO, ZERO
    else:
        legacy = not invoice.lines
        lines = [_legacy_line(invoice)] if legacy else [_line_in(line) for line in invoice.lines]
        amounts = invoice_amounts([line for line in lines if line is not None], currency)
        figures = (amounts.subtotal, amounts.discount, amounts.tax, amounts.total)
        if any(a.subtotal > MAX_AMOUNT for a in amounts.lines) or max(figures) > MAX_AMOUNT:
            raise _too_large("rate" if legacy else "line_items")
        if sent_total is not None and sent_total != amounts.total:
            raise ValidationFailed.on(
                "total_amount",
                f"total_amount {sent_total} does not match the line items, which total "
                f"{amounts.total} {currency}; leave it out to have it computed",
                code="total_mismatch",
            )
        total = amounts.total
        invoice.subtotal, invoice.discount_amount = amounts.subtotal, amounts.discount
        invoice.tax_amount = amounts.tax
    invoice.total_amount = total
    if paid_in_full:
        paid = total
    else:
        field = "amount_paid" if sent.get("amount_paid") is not None else "currency"
        paid = _exact(invoice.amount_paid or ZERO, currency, field)
    if paid > total:
        raise ValidationFailed.on(
            "amount_paid",
            f"amount_paid {paid} is more than the invoice total {total} {currency}",
            code="overpaid",
        )
    invoice.amount_paid = paid
    invoice.amount_due = total - paid
