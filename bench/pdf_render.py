"""Invoice PDF render time and size for 1, 50 and 500 lines (a benchmark, not a test).

    .venv/bin/python bench/pdf_render.py [--runs 30] [--sizes 1,50,500]

Builds the same synthetic invoice for each size (Latin, Greek and Cyrillic descriptions,
every seventh one long enough to wrap over several lines, a multi-line details text) and
renders it once untimed, then ``--runs`` times in a row in this process; prints p50/p95/max
wall-clock milliseconds, the p50 of the thread's CPU time (steadier than wall time on a
busy machine), the page count and the PDF size. "Cold start" is the first call of the
process, with importing the renderer and loading its fonts.

``--renderer module:function`` times another function with the same signature, e.g. a
throwaway prototype on another library (ADR 0002 compares ReportLab and fpdf2 this way).
"""

from __future__ import annotations

import argparse
import importlib
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm.invoices.pdf import InvoiceDocument

Renderer = Callable[["InvoiceDocument"], bytes]

_WORDS = ["Łódź", "Ελληνικά", "Кириллица", "Zoë", "consulting", "licence", "support", "hours"]


def invoice(lines: int, currency: str = "USD") -> InvoiceDocument:
    from crm.invoices.pdf import InvoiceDocument, PdfLine
    from crm.invoices.totals import LineIn, invoice_amounts

    items: list[tuple[str, LineIn]] = []
    for i in range(lines):
        words = [_WORDS[(i + k) % len(_WORDS)] for k in range(4 if i % 7 else 40)]
        line = LineIn(
            quantity=Decimal(i % 9 + 1) / 2,
            rate=Decimal(1000 + 37 * i) / 10,
            tax_percent=Decimal("8.875") if i % 3 else Decimal(0),
            discount_percent=Decimal(i % 4 * 5),
        )
        items.append((f"Line {i + 1}: " + " ".join(words), line))
    amounts = invoice_amounts([line for _, line in items], currency)
    pdf_lines = tuple(
        PdfLine(
            description=text,
            quantity=line.quantity,
            rate=line.rate,
            tax_percent=line.tax_percent,
            discount_percent=line.discount_percent,
            subtotal=a.subtotal,
            discount=a.discount,
            tax=a.tax,
            total=a.total,
        )
        for (text, line), a in zip(items, amounts.lines, strict=True)
    )
    paid = amounts.total / 2
    return InvoiceDocument(
        org_name="Łódź Sp. z o.o.",
        invoice_title="Consulting, November",
        invoice_number="INV-2026-0042",
        status="Sent",
        currency=currency,
        issued_on=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        paid_on=None,
        customer_name="Zoë Ελληνικά",
        customer_email="zoe@example.com",
        customer_phone="+30 210 000 0000",
        from_address=("ul. Piotrkowska 1", "90-001 Łódź", "Poland"),
        to_address=("Οδός Ερμού 10", "105 63 Αθήνα", "Greece"),
        lines=pdf_lines,
        subtotal=amounts.subtotal,
        discount=amounts.discount,
        tax=amounts.tax,
        total=amounts.total,
        amount_paid=paid,
        amount_due=amounts.total - paid,
        details="Payment within 30 days.\nIBAN PL00 0000 0000 0000\n\n" + "Notes. " * 200,
    )


def _load(spec: str) -> Renderer:
    module, _, function = spec.partition(":")
    renderer: Renderer = getattr(importlib.import_module(module), function or "render_pdf")
    return renderer


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", default="1,50,500")
    parser.add_argument("--renderer", default="crm.invoices.pdf:render_pdf")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]

    started = time.perf_counter()
    render = _load(args.renderer)
    render(invoice(1))
    cold_ms = (time.perf_counter() - started) * 1000
    _out(f"{args.renderer}: cold start (import, fonts, first 1-line render) {cold_ms:.0f} ms")
    _out(
        f"{'lines':>6} {'runs':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8}"
        f" {'pages':>6} {'bytes':>9}"
    )
    for size in sizes:
        doc = invoice(size)
        pdf = render(doc)
        times: list[float] = []
        cpu: list[float] = []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.thread_time()
            pdf = render(doc)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
        pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
        _out(
            f"{size:>6} {args.runs:>5} {statistics.median(times):>8.1f} {p95:>8.1f}"
            f" {max(times):>8.1f} {statistics.median(cpu):>8.1f} {pages:>6} {len(pdf):>9,}"
        )


if __name__ == "__main__":
    main()
