"""Invoice totals never drift (crm.invoices.totals): properties over random line items."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from crm.invoices.totals import LineIn, exponent, invoice_amounts, line_amounts, to_minor

CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "KWD", "INR", "GBP"])
QUANTITIES = st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False)
RATES = st.decimals(min_value=0, max_value=1_000_000, places=4, allow_nan=False)
PERCENTS = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False)
LINES = st.builds(LineIn, QUANTITIES, RATES, PERCENTS, PERCENTS)


def _places(amount: Decimal) -> int:
    exp = amount.as_tuple().exponent
    assert isinstance(exp, int)
    return -exp


@given(st.lists(LINES, max_size=30), CURRENCIES)
def test_every_total_adds_up_to_the_minor_unit(lines: list[LineIn], currency: str) -> None:
    amounts = invoice_amounts(lines, currency)
    for line in amounts.lines:
        assert line.total == line.subtotal - line.discount + line.tax
    assert amounts.total == amounts.subtotal - amounts.discount + amounts.tax
    assert amounts.subtotal == sum((a.subtotal for a in amounts.lines), Decimal(0))
    assert amounts.total == sum((a.total for a in amounts.lines), Decimal(0))
    for value in (amounts.subtotal, amounts.discount, amounts.tax, amounts.total):
        assert _places(value) == exponent(currency)
        assert value >= 0


@given(LINES, CURRENCIES)
def test_a_line_is_within_half_a_minor_unit_of_the_exact_figures(
    line: LineIn, currency: str
) -> None:
    amounts = line_amounts(line, currency)
    half = Decimal(1).scaleb(-exponent(currency)) / 2
    exact_subtotal = line.quantity * line.rate
    assert abs(amounts.subtotal - exact_subtotal) <= half
    assert abs(amounts.discount - amounts.subtotal * line.discount_percent / 100) <= half
    assert 0 <= amounts.discount <= amounts.subtotal
    assert amounts.tax >= 0


@given(st.lists(LINES, max_size=10), CURRENCIES)
def test_the_order_of_lines_does_not_change_the_totals(lines: list[LineIn], currency: str) -> None:
    forward = invoice_amounts(lines, currency)
    backward = invoice_amounts(list(reversed(lines)), currency)
    assert (forward.subtotal, forward.discount, forward.tax, forward.total) == (
        backward.subtotal,
        backward.discount,
        backward.tax,
        backward.total,
    )


def test_rounding_is_half_up_in_the_currency_unit() -> None:
    assert to_minor(Decimal("2.345"), "USD") == Decimal("2.35")
    assert to_minor(Decimal("2.5"), "JPY") == Decimal("3")
    assert to_minor(Decimal("1.2345"), "KWD") == Decimal("1.235")
    line = line_amounts(LineIn(Decimal(3), Decimal("19.99"), Decimal(20), Decimal(10)), "EUR")
    # 59.97 - 6.00 (10%, 5.997 rounded) = 53.97; tax 20% of 53.97 = 10.794 -> 10.79.
    assert (line.subtotal, line.discount, line.tax, line.total) == (
        Decimal("59.97"),
        Decimal("6.00"),
        Decimal("10.79"),
        Decimal("64.76"),
    )


def test_no_lines_make_a_zero_invoice() -> None:
    amounts = invoice_amounts([], "JPY")
    assert (amounts.total, _places(amounts.total)) == (Decimal(0), 0)
