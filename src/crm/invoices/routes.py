"""/api/invoices/ (§13): list (envelope A, cached until the org's data changes), create,
detail, update, delete, and the invoice as a PDF. Comments and attachments on invoices are
served by the activity module (POST /api/invoices/<id>/, /api/invoices/comment/<id>/,
/api/invoices/attachment/<id>/)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated

import anyio
from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from crm.activity.permissions import Activity
from crm.core.filters import choice_filter, id_list, text_list
from crm.core.pagination import CursorPagination, Page
from crm.core.schemas import CurrencyCode
from crm.core.storage import Download
from crm.core.uploads import file_response
from crm.invoices.pdf import render_pdf
from crm.invoices.permissions import Invoices
from crm.invoices.repository import InvoiceFilters
from crm.invoices.schemas import (
    STATUSES,
    InvoiceCreate,
    InvoiceDetailOut,
    InvoiceItem,
    InvoiceListOut,
    InvoiceOut,
    InvoiceUpdate,
)
from crm.records.caching import CachedList
from crm.records.schemas import AccountLookup, RecordLookups, link_objects

router = APIRouter(prefix="/api/invoices", tags=["invoices"])


@router.get("/", response_model=InvoiceListOut)
async def list_invoices(
    cache: CachedList,
    invoices: Invoices,
    request: Request,
    page: CursorPagination,
    name: Annotated[
        str | None, Query(max_length=255, description="Part of the customer name")
    ] = None,
    invoice_title_or_number: Annotated[
        str | None, Query(max_length=255, description="Part of the title or the number")
    ] = None,
    status_: Annotated[
        str | None, Query(alias="status", max_length=32, description=", ".join(STATUSES))
    ] = None,
    currency: Annotated[CurrencyCode | None, Query(description="ISO 4217 code")] = None,
    total_amount: Annotated[
        Decimal | None, Query(ge=0, max_digits=16, decimal_places=4, description="Exact total")
    ] = None,
    account: Annotated[list[str] | None, Query(description="Account id(s); any matches")] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
    created_by: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
) -> Response:
    """The invoices the caller may see, newest first, with lookups for pickers (at most
    100 each) and the status vocabulary. Line items are in the detail."""
    if (hit := cache.hit()) is not None:
        return hit
    filters = InvoiceFilters(
        name=name,
        title_or_number=invoice_title_or_number,
        status=choice_filter(status_, STATUSES, "status"),
        currency=currency,
        total_amount=total_amount,
        account_ids=id_list(account, "account"),
        assigned_to=id_list(assigned_to, "assigned_to"),
        created_by=id_list(created_by, "created_by"),
        tags=text_list(tags),
    )
    total, rows, more = await invoices.listed(filters, page)
    items = [InvoiceItem.of(*row) for row in rows]
    envelope = Page[InvoiceItem].build(request, page, total, items, more)
    return cache.keep(
        InvoiceListOut(
            **dict(envelope),
            **RecordLookups.fields(await invoices.lookups()),
            status=list(STATUSES),
        )
    )


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=InvoiceOut)
async def create_invoice(body: InvoiceCreate, invoices: Invoices) -> InvoiceOut:
    """Create an invoice; ``status`` defaults to Draft, ``currency`` to USD, the number is
    generated when empty, and the totals are computed from the lines."""
    return InvoiceOut.of(await invoices.create(body))


@router.get("/{invoice_id}/", response_model=InvoiceDetailOut)
async def invoice_detail(invoice_id: uuid.UUID, invoices: Invoices) -> InvoiceDetailOut:
    invoice = await invoices.get_visible(invoice_id)
    links = link_objects(invoice)
    comments, attachments = await invoices.activity_of(invoice)
    return InvoiceDetailOut(
        invoice_obj=InvoiceOut.of(invoice),
        accounts=[AccountLookup(id=a.id, name=a.name) for a in invoice.accounts],
        assigned_to=links["assigned_to"],
        teams=links["teams"],
        tags=links["tags"],
        comments=comments,
        attachments=attachments,
        users_mention=await invoices.users_mention(invoice),
        comment_permission=invoices.may_comment(invoice),
        status=list(STATUSES),
    )


@router.get(
    "/{invoice_id}/pdf/",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}, "description": "The invoice as PDF"}},
)
async def invoice_pdf(invoice_id: uuid.UUID, invoices: Invoices) -> StreamingResponse:
    """The invoice as an A4 PDF (a download named after its number), for whoever may see
    it. Rendering runs in a worker thread, off the event loop."""
    document = await invoices.document(invoice_id)
    data = await anyio.to_thread.run_sync(render_pdf, document)

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return file_response(
        Download(
            file_name=f"{document.invoice_number}.pdf",
            content_type="application/pdf",
            size=len(data),
            chunks=chunks(),
        )
    )


@router.put("/{invoice_id}/", response_model=InvoiceOut)
@router.patch("/{invoice_id}/", response_model=InvoiceOut)
async def update_invoice(
    invoice_id: uuid.UUID, body: InvoiceUpdate, invoices: Invoices
) -> InvoiceOut:
    """Partial update (PUT and PATCH): admin, creator or assignee; a list field replaces the
    relation only when sent; the totals are recomputed."""
    return InvoiceOut.of(await invoices.update(invoice_id, body))


@router.delete("/{invoice_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_invoice(
    invoice_id: uuid.UUID, invoices: Invoices, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its lines, comments and attachments go with it (the files
    once the deletion has committed)."""
    files = await invoices.delete(invoice_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
