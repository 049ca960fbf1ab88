"""The invoice PDF (crm.invoices.pdf): rendered, then read back with pypdf.

Every assertion is on text extracted from the PDF (or on its fonts and pages), so a renderer
that drops, mangles or re-interprets content fails here.
"""

from __future__ import annotations

import dataclasses
import io
import re
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from crm.invoices.pdf import InvoiceDocument, PdfLine, money, number, render_pdf

D = Decimal


def _line(description: str = "Consulting", **changes: Any) -> PdfLine:
    line = PdfLine(
        description=description,
        quantity=D("2"),
        rate=D("50"),
        tax_percent=D("10"),
        discount_percent=D("0"),
        subtotal=D("100.00"),
        discount=D("0.00"),
        tax=D("10.00"),
        total=D("110.00"),
    )
    return dataclasses.replace(line, **changes)


def _invoice(**changes: Any) -> InvoiceDocument:
    invoice = InvoiceDocument(
        org_name="Acme Ltd",
        invoice_title="Website redesign",
        invoice_number="INV-2026-0042",
        status="Sent",
        currency="USD",
        issued_on=date(2026, 11, 3),
        due_date=date(2026, 12, 3),
        paid_on=None,
        customer_name="Jane Customer",
        customer_email="jane@example.com",
        customer_phone="+44 20 7946 0000",
        from_address=("1 Acme Street", "London EC1A 1AA"),
        to_address=("22 Client Road", "Leeds LS1 4AP"),
        lines=(_line(),),
        subtotal=D("100.00"),
        discount=D("0.00"),
        tax=D("10.00"),
        total=D("110.00"),
        amount_paid=D("0.00"),
        amount_due=D("110.00"),
        details="Thank you for your business.",
    )
    return dataclasses.replace(invoice, **changes)


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _flat(text: str) -> str:
    """Whitespace (including the breaks of wrapped lines) collapsed to single spaces."""
    return " ".join(text.split())


def _dictionary(value: Any) -> DictionaryObject:
    value = value.get_object()
    assert isinstance(value, DictionaryObject)
    return value


def _font_names(pdf: bytes) -> set[str]:
    """The base font of every font resource of every page."""
    names: set[str] = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = _dictionary(_dictionary(page["/Resources"])["/Font"])
        names.update(str(_dictionary(font)["/BaseFont"]) for font in fonts.values())
    return names


def _text(invoice: InvoiceDocument) -> str:
    return _flat("\n".join(_pages(render_pdf(invoice))))


def test_a_pdf_of_one_a4_page() -> None:
    pdf = render_pdf(_invoice())

    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata is not None
    assert reader.metadata.title == "Invoice INV-2026-0042"


def test_header_parties_lines_totals_and_details_are_printed() -> None:
    text = _text(_invoice(paid_on=date(2026, 11, 20)))

    for expected in [
        "Acme Ltd",
        "Invoice",
        "Website redesign",
        "Number INV-2026-0042",
        "Status Sent",
        "Issued 2026-11-03",
        "Due 2026-12-03",
        "Paid 2026-11-20",
        "From Acme Ltd 1 Acme Street London EC1A 1AA",
        "Bill to Jane Customer jane@example.com +44 20 7946 0000 22 Client Road Leeds LS1 4AP",
        "Description Qty Rate Disc. % Tax % Amount (USD)",
        "Consulting 2 50 0 10 110.00",
        "Subtotal 100.00 USD",
        "Discount 0.00 USD",
        "Tax 10.00 USD",
        "Total 110.00 USD",
        "Paid 0.00 USD",
        "Amount due 110.00 USD",
        "Details Thank you for your business.",
        "Page 1 of 1",
    ]:
        assert expected in text


def test_dates_left_out_when_unknown() -> None:
    text = _text(_invoice(due_date=None, paid_on=None))

    assert "Issued 2026-11-03" in text
    assert "Due " not in text
    assert "Paid 2026" not in text


@pytest.mark.parametrize(
    "name", ["Łódź Sp. z o.o.", "Ελληνικά", "Кириллица", "Zoë", "Žluťoučký kůň, Ærøskøbing"]
)
def test_unicode_text_prints_as_itself_in_an_embedded_unicode_font(name: str) -> None:
    invoice = _invoice(
        org_name=name,
        customer_name=name,
        lines=(_line(f"{name} (line)"),),
        to_address=(f"{name} street",),
        details=f"{name} details",
    )
    pdf = render_pdf(invoice)
    text = _flat("\n".join(_pages(pdf)))

    assert text.count(name) >= 5
    assert f"{name} (line)" in text
    assert "?" not in text
    fonts = _font_names(pdf)
    assert fonts
    assert all("DejaVuSans" in font for font in fonts), fonts  # no Helvetica, no WinAnsi


@pytest.mark.parametrize(
    ("currency", "subtotal", "tax", "line_total", "printed"),
    [
        ("USD", D("1234.50"), D("98.76"), D("1333.26"), ["1,234.50 USD", "98.76 USD"]),
        ("JPY", D("1234567"), D("98765"), D("1333332"), ["1,234,567 JPY", "98,765 JPY"]),
        ("KWD", D("1234.500"), D("98.765"), D("1333.265"), ["1,234.500 KWD", "98.765 KWD"]),
    ],
)
def test_amounts_have_the_currency_decimals_and_thousands_separators(
    currency: str, subtotal: Decimal, tax: Decimal, line_total: Decimal, printed: list[str]
) -> None:
    paid = D("1000")
    line = _line(subtotal=subtotal, tax=tax, total=line_total)
    text = _text(
        _invoice(
            currency=currency,
            lines=(line,),
            subtotal=subtotal,
            discount=D(0),
            tax=tax,
            total=line_total,
            amount_paid=paid,
            amount_due=line_total - paid,
        )
    )

    total = money(line_total, currency)
    due = money(line_total - paid, currency)
    assert f"Subtotal {printed[0]}" in text
    assert f"Tax {printed[1]}" in text
    assert f"Total {total}" in text
    assert f"Paid {money(paid, currency)}" in text
    assert f"Amount due {due}" in text
    assert f"Amount ({currency})" in text
    assert f"Consulting 2 50 0 10 {total.removesuffix(' ' + currency)}" in text
    if currency == "JPY":
        assert total == "1,333,332 JPY"
        assert not re.search(r"\d\.\d\d JPY", text)
    if currency == "KWD":
        assert total == "1,333.265 KWD"
        assert due == "333.265 KWD"


def test_a_discount_is_printed_as_a_deduction() -> None:
    text = _text(_invoice(discount=D("12.50"), total=D("97.50"), amount_due=D("97.50")))

    assert "Discount -12.50 USD" in text
    assert "Total 97.50 USD" in text


def test_quantities_rates_and_percentages_lose_needless_zeros() -> None:
    line = _line(
        quantity=D("1.500"),
        rate=D("12.345600"),
        discount_percent=D("5.00"),
        tax_percent=D("8.875"),
    )
    assert "Consulting 1.5 12.3456 5 8.875 110.00" in _text(_invoice(lines=(line,)))


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (D("1.500"), "1.5"),
        (D("12.3456"), "12.3456"),
        (D("8.875"), "8.875"),
        (D("10.00"), "10"),
        (D("1E+3"), "1,000"),
        (D("1234.50"), "1,234.5"),
        (D("0.000"), "0"),
        (D("-0"), "0"),
        (D("-2.50"), "-2.5"),
        (D("0.0001"), "0.0001"),
    ],
)
def test_number(value: Decimal, printed: str) -> None:
    assert number(value) == printed


@pytest.mark.parametrize(
    ("amount", "currency", "printed"),
    [
        (D("1234.5"), "USD", "1,234.50 USD"),
        (D("1234567"), "JPY", "1,234,567 JPY"),
        (D("1234.5"), "KWD", "1,234.500 KWD"),
        (D("0"), "eur", "0.00 EUR"),
        (D("-0.00"), "USD", "0.00 USD"),
        (D("-1234.5"), "USD", "-1,234.50 USD"),
    ],
)
def test_money(amount: Decimal, currency: str, printed: str) -> None:
    assert money(amount, currency) == printed


def test_user_text_is_never_markup() -> None:
    hostile = "<b>x</b> & <script>alert(1)</script> &amp; <br/> <font color=red>r</font>"
    invoice = _invoice(
        org_name=hostile,
        invoice_title=hostile,
        invoice_number="<i>7</i>",
        customer_name=hostile,
        customer_email="a&b@example.com",
        from_address=(hostile,),
        to_address=(hostile,),
        lines=(_line(hostile),),
        details=f"{hostile}\n<para>second</para>",
    )
    text = _text(invoice)

    assert text.count(hostile) >= 6
    assert "<i>7</i>" in text
    assert "a&b@example.com" in text
    assert "<para>second</para>" in text


def test_control_and_astral_characters_do_not_break_rendering() -> None:
    invoice = _invoice(
        customer_name="Bell\x07 Null\x00 Esc\x1b",
        lines=(_line("Smile 😀 here"),),
        details="Windows\r\nline\rends",
    )
    pages = _pages(render_pdf(invoice))
    text = _flat("\n".join(pages))

    assert "Bell Null Esc" in text
    assert "Smile \ufffd here" in text
    assert "Windows" in pages[0].splitlines()
    assert "line" in pages[0].splitlines()


def test_a_long_organisation_name_is_cut_short_in_the_footer_only() -> None:
    name = "Very Long Organisation Name " * 12
    pages = _pages(render_pdf(_invoice(org_name=name.strip(), customer_name="Tab\there")))
    footer = pages[0].splitlines()[-2:]

    assert _flat(name) in _flat(pages[0])  # in full in the header and the From block
    assert footer[0].endswith("…")
    assert len(footer[0]) < 100
    assert footer[1] == "Page 1 of 1"
    assert "Tab here" in pages[0]


def test_500_lines_flow_over_pages_with_the_header_on_every_page() -> None:
    lines = tuple(_line(f"Widget #{i:04d}") for i in range(500))
    pdf = render_pdf(_invoice(lines=lines, details=None))
    pages = _pages(pdf)
    text = _flat("\n".join(pages))

    assert len(pages) >= 10
    assert Counter(re.findall(r"Widget #(\d{4})", text)) == Counter(f"{i:04d}" for i in range(500))
    for number_, page in enumerate(pages, start=1):
        assert "Description Qty Rate Disc. % Tax % Amount (USD)" in _flat(page)
        assert f"Page {number_} of {len(pages)}" in page
    assert "Amount due 110.00 USD" in _flat(pages[-1])
    # The lines keep their order across page breaks.
    assert re.findall(r"Widget #(\d{4})", text) == [f"{i:04d}" for i in range(500)]


def test_an_invoice_without_lines_addresses_details_or_phone() -> None:
    invoice = _invoice(
        lines=(),
        from_address=(),
        to_address=(),
        details=None,
        customer_phone=None,
        subtotal=D(0),
        tax=D(0),
        total=D(0),
        amount_due=D(0),
    )
    pages = _pages(render_pdf(invoice))
    text = _flat("\n".join(pages))

    assert len(pages) == 1
    assert "No line items." in text
    assert "From Acme Ltd Bill to Jane Customer jane@example.com Description" in text
    assert "Total 0.00 USD" in text
    assert "Details" not in text


@pytest.mark.parametrize("details", ["", "   \n\n  "])
def test_blank_details_print_no_section(details: str) -> None:
    assert "Details" not in _text(_invoice(details=details))


def test_empty_strings_everywhere_still_render() -> None:
    invoice = _invoice(
        org_name="",
        invoice_title="",
        customer_name="",
        customer_email="",
        customer_phone="",
        from_address=("",),
        lines=(_line(""),),
    )
    text = _text(invoice)

    assert "INV-2026-0042" in text
    assert "Total 110.00 USD" in text


def test_long_descriptions_wrap_inside_their_column() -> None:
    words = [f"word{i:03d}" for i in range(120)]
    description = " ".join(words)
    pages = _pages(render_pdf(_invoice(lines=(_line(description),))))
    raw = "\n".join(pages)

    assert description in _flat(raw)  # every word, in order
    assert description not in raw  # but not on one line: wrapped
    wrapped = [line for line in raw.splitlines() if "word0" in line or "word1" in line]
    assert len(wrapped) >= 10
    # The numeric cells stay beside the description's first line, not pushed away.
    assert "110.00" in _flat(raw)


def test_a_description_longer_than_a_page_continues_on_the_next() -> None:
    description = " ".join(f"w{i:04d}" for i in range(3000))
    unbroken = "Ж" * 2000  # one word, broken where the column ends
    pages = _pages(render_pdf(_invoice(lines=(_line(description), _line(unbroken)))))
    text = "\n".join(pages)

    assert len(pages) >= 10
    assert re.findall(r"w(\d{4})", text) == [f"{i:04d}" for i in range(3000)]
    assert text.count("Ж") == 2000
    assert "Amount due 110.00 USD" in _flat(text)


def test_details_keep_their_line_breaks_and_flow_over_pages() -> None:
    details = "First line\nSecond line\n\nAfter a blank line\n" + "\n".join(
        f"Note {i:03d} " + "lorem ipsum " * 20 for i in range(150)
    )
    pages = _pages(render_pdf(_invoice(details=details)))
    lines = [line.strip() for page in pages for line in page.splitlines()]

    assert "First line" in lines
    assert "Second line" in lines
    assert "After a blank line" in lines
    assert len(pages) >= 3
    assert re.findall(r"Note (\d{3})", _flat("\n".join(pages))) == [f"{i:03d}" for i in range(150)]


def test_same_invoice_same_bytes() -> None:
    invoice = _invoice(lines=tuple(_line(f"Line {i}") for i in range(40)))

    assert render_pdf(invoice) == render_pdf(invoice)


@pytest.fixture
def busy_thread_switching() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


# Accented Latin, Greek and Cyrillic letters: mostly composite glyphs, which the font
# subsetter reads through the parser that all documents share.
_ACCENTED = "".join(
    char
    for code in [*range(0xC0, 0x250), *range(0x386, 0x3D0), *range(0x400, 0x500)]
    if (char := chr(code)).isalpha()
)


@pytest.mark.usefixtures("busy_thread_switching")
def test_concurrent_renders_match_sequential_ones() -> None:
    invoices = [
        _invoice(invoice_number=f"INV-{i}", customer_name=_ACCENTED[i::3]) for i in range(3)
    ] * 8
    expected = [render_pdf(invoice) for invoice in invoices]

    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(6):
            assert list(pool.map(render_pdf, invoices)) == expected


def test_fonts_and_their_licence_ship_in_the_package() -> None:
    fonts = resources.files("crm.invoices").joinpath("fonts")
    for name in ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]:
        assert fonts.joinpath(name).read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType
    assert "Bitstream" in fonts.joinpath("LICENSE-DejaVu.txt").read_text(encoding="utf-8")
