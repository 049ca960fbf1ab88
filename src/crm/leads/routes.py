"""/api/leads/ (§6): website capture, list split open/closed, create (converting on request),
detail, update, delete.

Served elsewhere under the same prefix: comments and attachments (activity module), lead
companies (companies module) and the CSV upload. ``create-from-site/`` is declared before
``{lead_id}/`` so the literal path is never taken for an id; routers with other literal
one-segment paths (``upload/``, ``companies/``) must be included before this one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status

from crm.accounts.schemas import AccountItem, OpportunityBrief
from crm.activity.permissions import Activity
from crm.core.errors import ValidationFailed
from crm.core.exports import EXPORT_RESPONSES, ExportFormat, export_response, write_export
from crm.core.filters import id_list, text_list
from crm.core.pagination import SplitCursorPagination, Window
from crm.leads.permissions import Leads, SiteCapture
from crm.leads.repository import CLOSED_HALF, OPEN, LeadFilters
from crm.leads.schemas import (
    CLOSED,
    LEAD_EXPORT_HEADERS,
    SOURCES,
    STATUSES,
    CompanyLookup,
    LeadAddress,
    LeadCreate,
    LeadDetailOut,
    LeadItem,
    LeadListOut,
    LeadUpdate,
    LeadWriteOut,
    SiteLeadCreate,
    normalise_status,
)
from crm.leads.service import LeadWrite
from crm.models import Lead
from crm.records.caching import CachedDetail, CachedList
from crm.records.schemas import ContactBrief, ContactLookup, UserLookup, link_objects

router = APIRouter(prefix="/api/leads", tags=["leads"])


def _write_out(written: LeadWrite) -> LeadWriteOut:
    return LeadWriteOut.of(written.lead, written.account, written.contact, written.opportunity)


@router.post("/create-from-site/", status_code=status.HTTP_201_CREATED, response_model=LeadItem)
async def create_lead_from_site(
    body: SiteLeadCreate,
    capture: SiteCapture,
    apikey: Annotated[
        str | None, Query(max_length=64, description="Website key (or `apikey` in the body)")
    ] = None,
) -> LeadItem:
    """Public lead capture for websites: no token, an API-settings key instead. The lead is
    assigned and tagged as the key says; throttled per key (429 with Retry-After)."""
    return LeadItem.of(await capture.create(apikey, body))


async def lead_filters(
    name: Annotated[
        str | None, Query(max_length=255, description="Part of the first or last name")
    ] = None,
    title: Annotated[str | None, Query(max_length=255, description="Part of the title")] = None,
    source: Annotated[str | None, Query(max_length=255, description="The source")] = None,
    status_: Annotated[
        str | None, Query(alias="status", description="assigned, in process, recycled or closed")
    ] = None,
    city: Annotated[str | None, Query(max_length=255, description="Part of the city")] = None,
    email: Annotated[str | None, Query(max_length=254, description="Part of the e-mail")] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
) -> LeadFilters:
    """The filters of the lead list, also taken by the export."""
    wanted = normalise_status(status_) if status_ and status_.strip() else None
    if wanted is not None and wanted not in STATUSES:
        raise ValidationFailed.on("status", f"Use one of: {', '.join(STATUSES)}")
    return LeadFilters(
        name=name,
        title=title,
        source=source,
        status=wanted,
        city=city,
        email=email,
        tags=text_list(tags),
        assigned_to=id_list(assigned_to, "assigned_to"),
    )


Filters = Annotated[LeadFilters, Depends(lead_filters)]


@router.get("/", response_model=LeadListOut)
async def list_leads(
    cache: CachedList,
    leads: Leads,
    request: Request,
    page: SplitCursorPagination,
    filters: Filters,
) -> Response:
    """Open and closed leads the caller may see, each half paginated with limit/offset, or
    by cursor (``cursor=`` for the first page; a cursor then continues one half, see README
    "Pagination"). Converted leads are never listed."""
    if (hit := cache.hit()) is not None:
        return hit
    counts = await leads.counts(filters)
    totals = {
        OPEN: sum(n for status, n in counts.items() if status != CLOSED),
        CLOSED_HALF: counts.get(CLOSED, 0),
    }
    rows: dict[str, Window[Lead]] = {OPEN: Window([]), CLOSED_HALF: Window([])}
    for half in rows:
        if page.shows(totals[half], half):
            rows[half] = page.window(await leads.page(filters, half, page))
    links = await leads.links_of([lead.id for half in rows.values() for lead in half.rows])
    halves = {
        half: ([LeadItem.of(lead, links[lead.id]) for lead in found.rows], totals[half])
        for half, found in rows.items()
    }
    picks = await leads.lookups()
    open_total, closed_total = halves[OPEN][1], halves[CLOSED_HALF][1]
    return cache.keep(
        LeadListOut(
            open_leads=halves[OPEN][0],
            closed_leads=halves[CLOSED_HALF][0],
            open_leads_count=open_total,
            closed_leads_count=closed_total,
            leads_count=open_total + closed_total,
            next_open=page.next_link(request, open_total, rows[OPEN].more, OPEN),
            next_closed=page.next_link(request, closed_total, rows[CLOSED_HALF].more, CLOSED_HALF),
            contacts=[ContactLookup.of(c) for c in picks["contacts"]],
            users=[UserLookup.of(u) for u in picks["users"]],
            source_list=list(SOURCES),
            tags=[t.text for t in picks["tags"]],
            status=list(STATUSES),
            companies=[CompanyLookup(id=c.id, name=c.text) for c in picks["companies"]],
        )
    )


@router.get("/export/", response_class=Response, responses=EXPORT_RESPONSES)
async def export_leads(
    leads: Leads,
    request: Request,
    filters: Filters,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    """Every lead the list shows for the same filters (open and closed; not converted ones),
    newest first, as CSV or XLSX. The columns are the import's, so the file imports back.
    More than ``CRM_MAX_EXPORT_ROWS`` matching leads: 400 ``export_too_large``."""
    settings = request.app.state.settings
    written = await write_export(
        export_format,
        "Leads",
        LEAD_EXPORT_HEADERS,
        leads.export(filters, settings.max_export_rows),
    )
    return export_response(written, export_format, "leads")


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=LeadWriteOut)
async def create_lead(body: LeadCreate, leads: Leads) -> LeadWriteOut:
    """Create a lead; ``status: "converted"`` or ``auto_convert: true`` also converts it
    into an account, a contact and an opportunity (§6.5), all or nothing."""
    return _write_out(await leads.create(body))


@router.get("/{lead_id}/", response_model=LeadDetailOut)
async def lead_detail(cache: CachedDetail, lead_id: uuid.UUID, leads: Leads) -> Response:
    """A lead with its links, contacts and, once converted, what it became."""
    if (hit := cache.hit()) is not None:
        return hit
    lead = await leads.get_visible(lead_id)
    converted = await leads.conversion_of(lead)
    comments, attachments = await leads.activity_of(lead)
    links = link_objects(lead)
    return cache.keep(
        LeadDetailOut(
            lead_obj=LeadItem.of(lead),
            address_obj=LeadAddress.model_validate(lead),
            assigned_to=links["assigned_to"],
            teams=links["teams"],
            comments=comments,
            attachments=attachments,
            contacts=[ContactBrief.of(c) for c in lead.contacts],
            users_mention=await leads.users_mention(lead),
            tags=links["tags"],
            converted_account=AccountItem.of(converted.account) if converted.account else None,
            converted_contact=ContactBrief.of(converted.contact) if converted.contact else None,
            converted_opportunity=(
                OpportunityBrief.of(converted.opportunity) if converted.opportunity else None
            ),
        )
    )


@router.put("/{lead_id}/", response_model=LeadWriteOut)
@router.patch("/{lead_id}/", response_model=LeadWriteOut)
async def update_lead(lead_id: uuid.UUID, body: LeadUpdate, leads: Leads) -> LeadWriteOut:
    """Partial update (PUT and PATCH); a list field replaces the relation only when sent.
    Setting ``status`` to ``converted`` (or ``auto_convert``) converts the lead; a converted
    lead keeps that status."""
    return _write_out(await leads.update(lead_id, body))


@router.delete("/{lead_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_lead(
    lead_id: uuid.UUID, leads: Leads, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its comments and attachments go with it (the files once
    the deletion has committed)."""
    files = await leads.delete(lead_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
