"""/api/opportunities/ (§8): list with forecast and lookups, create, detail, update, delete.

Served elsewhere under the same prefix: ``POST /api/opportunities/<id>/`` (add a comment or
attachment) and the comment and attachment routes (activity module).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status

from crm.accounts.schemas import AccountItem
from crm.activity.permissions import Activity
from crm.core.exports import EXPORT_RESPONSES, ExportFormat, export_response, write_export
from crm.core.filters import id_list
from crm.core.pagination import CursorPagination, Page, Window
from crm.opportunities.permissions import Opportunities
from crm.opportunities.repository import OpportunityFilters
from crm.opportunities.schemas import (
    OPPORTUNITY_EXPORT_HEADERS,
    STAGES,
    AccountLookup,
    CurrencyForecast,
    OpportunityCreate,
    OpportunityDetailOut,
    OpportunityItem,
    OpportunityListOut,
    OpportunityObj,
    OpportunityUpdate,
    stage_key,
)
from crm.records.caching import CachedDetail, CachedList
from crm.records.schemas import ContactBrief, ContactLookup, TeamBrief, UserLookup, link_objects

router = APIRouter(prefix="/api/opportunities", tags=["opportunities"])


def _values(raw: list[str] | None) -> list[str]:
    """Repeated parameters and comma lists, flattened, blanks dropped."""
    return [part.strip() for value in raw or [] for part in value.split(",") if part.strip()]


def _account_filter(raw: str | None) -> tuple[list[uuid.UUID] | None, str | None]:
    """``account`` is ids (one or a comma list, exact) or else text in the account name."""
    if raw is None or not raw.strip():
        return None, None
    try:
        return [uuid.UUID(part) for part in _values([raw])], None
    except ValueError:
        return None, raw.strip()


async def opportunity_filters(
    name: Annotated[str | None, Query(max_length=255, description="Part of the name")] = None,
    account: Annotated[
        str | None,
        Query(max_length=2000, description="Account id(s), exact; or part of the account name"),
    ] = None,
    stage: Annotated[
        list[str] | None, Query(description="Stages, case-insensitive; any matches")
    ] = None,
    lead_source: Annotated[
        str | None, Query(max_length=255, description="Part of the lead source")
    ] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
    currency: Annotated[
        list[str] | None, Query(description="Currency codes, case-insensitive; any matches")
    ] = None,
) -> OpportunityFilters:
    """The filters of the opportunity list, also taken by the export."""
    account_ids, account_name = _account_filter(account)
    return OpportunityFilters(
        name=name,
        account_ids=account_ids,
        account_name=account_name,
        stages=[stage_key(s) for s in _values(stage)] or None,
        lead_source=lead_source,
        tags=_values(tags) or None,
        assigned_to=id_list(assigned_to, "assigned_to"),
        currencies=[c.upper() for c in _values(currency)] or None,
    )


Filters = Annotated[OpportunityFilters, Depends(opportunity_filters)]


@router.get("/", response_model=OpportunityListOut)
async def list_opportunities(
    cache: CachedList,
    opportunities: Opportunities,
    request: Request,
    page: CursorPagination,
    filters: Filters,
) -> Response:
    """The opportunities the caller may see, newest first (limit/offset or cursor), with the forecast per currency
    of the whole filtered set (not only the page) and lookups for pickers (at most 100
    each; non-admins get only the accounts and contacts they can see)."""
    if (hit := cache.hit()) is not None:
        return hit
    # The forecast counts every currency's rows: their sum is the total, no COUNT needed.
    forecast = await opportunities.forecast(filters)
    total = sum(f.count for f in forecast)
    rows = page.window(await opportunities.page(filters, page)) if page.shows(total) else Window([])
    links = await opportunities.links_of([o.id for o in rows.rows])
    envelope = Page[OpportunityItem].build(
        request, page, total, [OpportunityItem.of(o, links[o.id]) for o in rows.rows], rows.more
    )
    lookups = await opportunities.lookups()
    return cache.keep(
        OpportunityListOut(
            **dict(envelope),
            forecast=[CurrencyForecast.model_validate(f) for f in forecast],
            accounts_list=[AccountLookup(id=a.id, name=a.text) for a in lookups["accounts"]],
            contacts_list=[ContactLookup.of(c) for c in lookups["contacts"]],
            users=[UserLookup.of(u) for u in lookups["users"]],
            teams=[TeamBrief(id=t.id, name=t.text) for t in lookups["teams"]],
            stages=list(STAGES),
        )
    )


@router.get("/export/", response_class=Response, responses=EXPORT_RESPONSES)
async def export_opportunities(
    opportunities: Opportunities,
    request: Request,
    filters: Filters,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    """Every opportunity the list shows for the same filters, newest first, as CSV or XLSX.
    More than ``CRM_MAX_EXPORT_ROWS``: 400 ``export_too_large``."""
    settings = request.app.state.settings
    written = await write_export(
        export_format,
        "Opportunities",
        OPPORTUNITY_EXPORT_HEADERS,
        opportunities.export(filters, settings.max_export_rows),
    )
    return export_response(written, export_format, "opportunities")


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=OpportunityItem)
async def create_opportunity(
    body: OpportunityCreate, opportunities: Opportunities
) -> OpportunityItem:
    """Create an opportunity on an account the caller can see. ``stage`` defaults to
    QUALIFICATION and ``probability`` to the stage's; tags are created on first use."""
    return OpportunityItem.of(await opportunities.create(body))


@router.get("/{opportunity_id}/", response_model=OpportunityDetailOut)
async def opportunity_detail(
    cache: CachedDetail, opportunity_id: uuid.UUID, opportunities: Opportunities
) -> Response:
    if (hit := cache.hit()) is not None:
        return hit
    opportunity = await opportunities.get_visible(opportunity_id)
    links = link_objects(opportunity)
    comments, attachments = await opportunities.activity_of(opportunity)
    return cache.keep(
        OpportunityDetailOut(
            opportunity_obj=OpportunityObj.of(opportunity),
            account_obj=AccountItem.of(opportunity.account) if opportunity.account else None,
            contacts=[ContactBrief.of(c) for c in opportunity.contacts],
            assigned_to=links["assigned_to"],
            teams=links["teams"],
            tags=links["tags"],
            comments=comments,
            attachments=attachments,
            users_mention=await opportunities.users_mention(opportunity),
            comment_permission=opportunities.may_comment(opportunity),
        )
    )


@router.put("/{opportunity_id}/", response_model=OpportunityItem)
@router.patch("/{opportunity_id}/", response_model=OpportunityItem)
async def update_opportunity(
    opportunity_id: uuid.UUID, body: OpportunityUpdate, opportunities: Opportunities
) -> OpportunityItem:
    """Partial update (PUT and PATCH); a list field replaces the relation only when sent.
    A stage change without a probability takes the new stage's default probability."""
    return OpportunityItem.of(await opportunities.update(opportunity_id, body))


@router.delete(
    "/{opportunity_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_opportunity(
    opportunity_id: uuid.UUID,
    opportunities: Opportunities,
    activity: Activity,
    background: BackgroundTasks,
) -> Response:
    """Delete (admin or creator; assignees cannot); its comments and attachments go with it
    (the files once the deletion has committed)."""
    files = await opportunities.delete(opportunity_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
