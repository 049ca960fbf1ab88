"""An invoice as an A4 PDF, drawn with ReportLab (see docs/adr/0002-invoice-pdf-library.md).

``render_pdf`` is pure: it takes an :class:`InvoiceDocument` whose amounts the caller has
already rounded, and returns the PDF's bytes. It reads only the bundled fonts, writes no
files and opens no connection, and it is safe to call from several threads at once (the
route calls it in a worker thread).

Text is set in DejaVu Sans (bundled in ``fonts/`` with its licence), so Latin, Greek and
Cyrillic names print as real glyphs; the PDF base fonts only know WinAnsi. User text is
escaped before it reaches ReportLab's paragraph markup, so ``<b>`` or ``&amp;`` in a name
prints as typed.

Layout: header (organisation, "Invoice", title, number, status, dates), From and Bill-to
blocks, the line table (wraps long descriptions, flows over pages and repeats its header
row), the totals, then the free-text details with their line breaks; "Page n of m" in the
footer. A line's "Amount" is its total after discount and tax, so the column adds up to
the invoice total.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from crm.invoices.totals import exponent

__all__ = ["InvoiceDocument", "PdfLine", "render_pdf"]


@dataclass(frozen=True, slots=True)
class PdfLine:
    description: str
    quantity: Decimal
    rate: Decimal
    tax_percent: Decimal
    discount_percent: Decimal
    subtotal: Decimal  # amounts already rounded to the currency's minor unit by the caller
    discount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    org_name: str
    invoice_title: str
    invoice_number: str
    status: str  # Draft, Sent, Paid, Pending, Cancelled
    currency: str  # ISO 4217, e.g. "USD", "JPY", "KWD"
    issued_on: date
    due_date: date | None
    paid_on: date | None
    customer_name: str
    customer_email: str
    customer_phone: str | None
    from_address: tuple[str, ...]  # address lines, possibly empty
    to_address: tuple[str, ...]
    lines: tuple[PdfLine, ...]  # may be empty
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    details: str | None  # free text, may be long and multi-line


# --- fonts -------------------------------------------------------------------------------

FONT = "CrmDejaVuSans"
FONT_BOLD = "CrmDejaVuSans-Bold"
_FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}
_setup_lock = threading.Lock()
_ready = False
# ReportLab shares one parsed font file between documents, and cutting a font subset for a
# document moves that parser's read position: two documents saved at once corrupt each
# other (KeyError in makeSubset). Layout runs in parallel; only the save is serialised.
_save_lock = threading.Lock()


def _setup() -> None:
    """Register the bundled TrueType fonts with ReportLab, once per process."""
    global _ready
    if _ready:
        return
    with _setup_lock:
        if _ready:
            return
        font_dir = resources.files(__package__).joinpath("fonts")
        for name, file_name in _FONT_FILES.items():
            data = font_dir.joinpath(file_name).read_bytes()
            pdfmetrics.registerFont(TTFont(name, io.BytesIO(data)))
        pdfmetrics.registerFontFamily(
            FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
        )
        # Streams are binary (Flate only), not also ASCII85-encoded: a fifth smaller and
        # faster. A process-wide ReportLab setting; this module is its only user.
        rl_config.useA85 = 0
        _ready = True


# --- text ---------------------------------------------------------------------------------

# Tabs, C0/C1 controls (but newline) and lone surrogates have no glyph: they become spaces.
_UNPRINTABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# ReportLab writes a broken ToUnicode map for characters beyond U+FFFF (emoji, rare CJK),
# which DejaVu mostly lacks anyway: they print as U+FFFD.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ASTRAL.sub("\ufffd", _UNPRINTABLE.sub(" ", text))


def _markup(text: str) -> str:
    """User text as paragraph markup that prints literally; newlines are kept."""
    return "<br/>".join(escape(line) for line in _clean(text).split("\n"))


def amount_text(amount: Decimal, currency: str) -> str:
    """``1234.5`` in USD -> ``1,234.50``: the currency's decimals, thousands separated."""
    places = exponent(currency)
    value = amount.quantize(Decimal(1).scaleb(-places))
    if value == 0:
        value = abs(value)  # no "-0.00"
    return f"{value:,.{places}f}"


def money(amount: Decimal, currency: str) -> str:
    """``1234.5`` in USD -> ``1,234.50 USD``; JPY has no decimals, KWD three."""
    return f"{amount_text(amount, currency)} {currency.upper()}"


def number(value: Decimal) -> str:
    """A quantity, rate or percentage without needless zeros: ``1.5``, ``1,200``, ``8.875``."""
    if value == 0:
        return "0"
    normal = value.normalize()
    # Decimal("1E+3").normalize() has a positive exponent; ``f`` prints it out in full.
    return f"{normal:,f}"


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


# --- styles -------------------------------------------------------------------------------

_BASE = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5, alignment=TA_LEFT)
_SMALL = ParagraphStyle(
    "small", _BASE, fontSize=8, leading=10, textColor=colors.HexColor("#444444")
)
_RIGHT = ParagraphStyle("right", _BASE, alignment=TA_RIGHT)
_BOLD = ParagraphStyle("bold", _BASE, fontName=FONT_BOLD)
_BOLD_RIGHT = ParagraphStyle("bold_right", _BOLD, alignment=TA_RIGHT)
_ORG = ParagraphStyle("org", _BOLD, fontSize=15, leading=19)
_HEADING = ParagraphStyle("heading", _BOLD, fontSize=20, leading=24, alignment=TA_RIGHT)
_LABEL = ParagraphStyle("label", _SMALL, fontName=FONT_BOLD)
_SECTION = ParagraphStyle("section", _BOLD, fontSize=10, leading=13, spaceBefore=4, spaceAfter=3)

_MARGIN = 18 * mm
_WIDTH = A4[0] - 2 * _MARGIN
_GRID = colors.HexColor("#bbbbbb")
_SHADE = colors.HexColor("#eeeeee")
# Description, Qty, Rate, Disc. %, Tax %, Amount.
_LINE_COLUMNS = [0.33, 0.10, 0.15, 0.10, 0.09, 0.23]
_PAD = 4


def _fit(text: str, width: float, font: str, size: float) -> str:
    """``text`` on one line, cut short with an ellipsis if it is wider than ``width``."""
    text = " ".join(_clean(text).split())
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    keep, over = 0, len(text)  # the longest prefix that fits is at least keep, below over
    while over - keep > 1:
        middle = (keep + over) // 2
        if pdfmetrics.stringWidth(text[:middle] + "…", font, size) <= width:
            keep = middle
        else:
            over = middle
    return text[:keep].rstrip() + "…"


def _p(text: str, style: ParagraphStyle = _BASE) -> Paragraph:
    return Paragraph(_markup(text), style)


# --- page footer ----------------------------------------------------------------------------


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # ReportLab has no type hints
    """Holds every page until the end, so the footer can say "Page n of m"."""

    def __init__(self, *args: Any, footer: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        count = len(self._pages)
        for page in self._pages:
            self.__dict__.update(page)
            self._draw_footer(count)
            super().showPage()
        with _save_lock:
            super().save()

    def _draw_footer(self, count: int) -> None:
        self.saveState()
        self.setFont(FONT, 8)
        self.setFillColor(colors.HexColor("#666666"))
        y = _MARGIN / 2
        self.drawString(_MARGIN, y, self._footer)
        self.drawRightString(A4[0] - _MARGIN, y, f"Page {self._pageNumber} of {count}")
        self.restoreState()


# --- blocks -------------------------------------------------------------------------------


def _header(inv: InvoiceDocument) -> Table:
    facts: list[tuple[str, str]] = [
        ("Number", inv.invoice_number),
        ("Status", inv.status),
        ("Issued", _day(inv.issued_on)),
    ]
    if inv.due_date is not None:
        facts.append(("Due", _day(inv.due_date)))
    if inv.paid_on is not None:
        facts.append(("Paid", _day(inv.paid_on)))
    facts_table = Table(
        [[_p(label, _LABEL), _p(value, _RIGHT)] for label, value in facts],
        colWidths=[0.3 * _WIDTH * 0.45, 0.7 * _WIDTH * 0.45],
        style=[
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ],
    )
    left = [_p(inv.org_name, _ORG), Spacer(1, 2 * mm), _p(inv.invoice_title, _BOLD)]
    right = [Paragraph("Invoice", _HEADING), Spacer(1, 2 * mm), facts_table]
    return Table(
        [[left, right]],
        colWidths=[0.55 * _WIDTH, 0.45 * _WIDTH],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ],
    )


def _parties(inv: InvoiceDocument) -> Table:
    sender = [_p("From", _LABEL), _p(inv.org_name, _BOLD)]
    sender += [_p(line) for line in inv.from_address]
    customer = [_p("Bill to", _LABEL), _p(inv.customer_name, _BOLD)]
    customer += [_p(inv.customer_email)] if inv.customer_email else []
    customer += [_p(inv.customer_phone)] if inv.customer_phone else []
    customer += [_p(line) for line in inv.to_address]
    return Table(
        [[sender, customer]],
        colWidths=[0.5 * _WIDTH, 0.5 * _WIDTH],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ],
    )


def _cell(text: str, width: float, style: ParagraphStyle) -> str | Paragraph:
    """Plain text when it fits on one line (cheap to lay out), else a wrapping paragraph."""
    text = _clean(text)
    fits = pdfmetrics.stringWidth(text, style.fontName, style.fontSize) <= width - 2 * _PAD
    return text if fits and "\n" not in text else Paragraph(_markup(text), style)


def _line_table(inv: InvoiceDocument) -> Table:
    widths = [share * _WIDTH for share in _LINE_COLUMNS]
    heads = ["Description", "Qty", "Rate", "Disc. %", "Tax %", f"Amount ({inv.currency.upper()})"]
    rows: list[list[Any]] = [[_p(heads[0], _BOLD)] + [_p(text, _BOLD_RIGHT) for text in heads[1:]]]
    for line in inv.lines:
        cells = [
            number(line.quantity),
            number(line.rate),
            number(line.discount_percent),
            number(line.tax_percent),
            amount_text(line.total, inv.currency),
        ]
        rows.append(
            [_cell(line.description, widths[0], _BASE)]
            + [_cell(text, width, _RIGHT) for text, width in zip(cells, widths[1:], strict=True)]
        )
    if not inv.lines:
        rows.append([_p("No line items.", _SMALL), "", "", "", "", ""])
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, _BASE.fontSize, _BASE.leading),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, _GRID),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if not inv.lines:
        style.append(("SPAN", (0, 1), (-1, 1)))
    return Table(
        rows,
        colWidths=widths,
        repeatRows=1,
        splitInRow=1,  # a description taller than a page still flows on
        style=TableStyle(style),
    )


def _totals(inv: InvoiceDocument) -> Table:
    cur = inv.currency
    discount = money(inv.discount, cur)
    rows = [
        ("Subtotal", money(inv.subtotal, cur), False),
        ("Discount", f"-{discount}" if inv.discount > 0 else discount, False),
        ("Tax", money(inv.tax, cur), False),
        ("Total", money(inv.total, cur), True),
        ("Paid", money(inv.amount_paid, cur), False),
        ("Amount due", money(inv.amount_due, cur), True),
    ]
    table = Table(
        [
            [_p(label, _BOLD if strong else _BASE), _p(value, _BOLD_RIGHT if strong else _RIGHT)]
            for label, value, strong in rows
        ],
        colWidths=[0.2 * _WIDTH, 0.3 * _WIDTH],
        hAlign="RIGHT",
        style=[
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("LINEABOVE", (0, 3), (-1, 3), 0.8, colors.black),
            ("LINEABOVE", (0, 5), (-1, 5), 0.8, colors.black),
            ("BACKGROUND", (0, 5), (-1, 5), _SHADE),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ],
    )
    return table


def _details(text: str) -> list[Any]:
    flowables: list[Any] = [_p("Details", _SECTION)]
    # One paragraph per line: page breaks fall between them, and each wraps on its own.
    for line in _clean(text).split("\n"):
        flowables.append(_p(line) if line.strip() else Spacer(1, _BASE.leading))
    return flowables


# --- entry point ------------------------------------------------------------------------------


def render_pdf(invoice: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes (A4, starting with ``%PDF-``)."""
    _setup()
    out = io.BytesIO()
    footer = " · ".join(
        part for part in (invoice.org_name, f"Invoice {invoice.invoice_number}") if part.strip()
    )
    footer = _fit(footer, _WIDTH - 30 * mm, FONT, 8)  # leaves room for "Page n of m"
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=_clean(f"Invoice {invoice.invoice_number}"),
        author=_clean(invoice.org_name),
        subject=_clean(invoice.invoice_title),
        creator="crm",
        initialFontName=FONT,  # not the canvas default, Helvetica
        invariant=1,  # fixed creation date and document id: same input, same bytes
        pageCompression=1,
    )
    story: list[Any] = [
        _header(invoice),
        Spacer(1, 8 * mm),
        _parties(invoice),
        Spacer(1, 8 * mm),
        _line_table(invoice),
        Spacer(1, 4 * mm),
        KeepTogether([_totals(invoice)]),
    ]
    if invoice.details and invoice.details.strip():
        story += [Spacer(1, 6 * mm), *_details(invoice.details)]

    def canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, footer=footer, **kwargs)

    doc.build(story, canvasmaker=canvas)
    return out.getvalue()
