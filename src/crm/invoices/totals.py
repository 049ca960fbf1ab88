"""Invoice arithmetic: line items to totals, in ``Decimal``, rounded in the currency's minor
unit (ISO 4217: two places for most, none for JPY, three for KWD ...), half up.

Each line is rounded once per amount, and the invoice totals are sums of the rounded line
amounts, so what an invoice shows always adds up: for every line and for the invoice,
``total = subtotal - discount + tax``, to the last minor unit.

Per line: ``subtotal = quantity x rate``; ``discount`` is a percentage of the subtotal;
``tax`` is a percentage of what remains after the discount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Currencies whose minor unit is not a hundredth (ISO 4217 exponents).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW"), 0),
    **dict.fromkeys(("PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
HUNDRED = Decimal(100)


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class LineIn:
    quantity: Decimal
    rate: Decimal
    tax_percent: Decimal = Decimal(0)
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class LineAmounts:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceAmounts:
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(line: LineIn, currency: str) -> LineAmounts:
    subtotal = to_minor(line.quantity * line.rate, currency)
    discount = to_minor(subtotal * line.discount_percent / HUNDRED, currency)
    tax = to_minor((subtotal - discount) * line.tax_percent / HUNDRED, currency)
    return LineAmounts(subtotal, discount, tax, subtotal - discount + tax)


def invoice_amounts(lines: Sequence[LineIn], currency: str) -> InvoiceAmounts:
    amounts = tuple(line_amounts(line, currency) for line in lines)
    zero = to_minor(Decimal(0), currency)
    return InvoiceAmounts(
        lines=amounts,
        subtotal=sum((a.subtotal for a in amounts), zero),
        discount=sum((a.discount for a in amounts), zero),
        tax=sum((a.tax for a in amounts), zero),
        total=sum((a.total for a in amounts), zero),
    )
