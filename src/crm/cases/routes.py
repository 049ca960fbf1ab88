"""/api/cases/ (§10): list (envelope A, cached until the org's data changes), create,
detail, update, delete. Comments and attachments on cases are served by the activity
module (POST /api/cases/<id>/, /api/cases/comment/<id>/, /api/cases/attachment/<id>/)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from crm.activity.permissions import Activity
from crm.cases.permissions import Cases
from crm.cases.repository import CaseFilters
from crm.cases.schemas import (
    CASE_TYPES,
    PRIORITIES,
    STATUSES,
    CaseCreate,
    CaseDetailOut,
    CaseItem,
    CaseListOut,
    CaseUpdate,
)
from crm.core.filters import choice_filter, id_list, text_list
from crm.core.pagination import CursorPagination, Page
from crm.records.caching import CachedDetail, CachedList
from crm.records.schemas import (
    AccountLookup,
    ContactBrief,
    RecordLookups,
    link_objects,
)

router = APIRouter(prefix="/api/cases", tags=["cases"])


@router.get("/", response_model=CaseListOut)
async def list_cases(
    cache: CachedList,
    cases: Cases,
    request: Request,
    page: CursorPagination,
    name: Annotated[str | None, Query(max_length=255, description="Part of the name")] = None,
    status_: Annotated[
        str | None, Query(alias="status", max_length=32, description=", ".join(STATUSES))
    ] = None,
    priority: Annotated[str | None, Query(max_length=16, description=", ".join(PRIORITIES))] = None,
    case_type: Annotated[
        str | None, Query(max_length=64, description="The case type, case-insensitive")
    ] = None,
    account: Annotated[list[str] | None, Query(description="Account id(s); any matches")] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
) -> Response:
    """The cases the caller may see, newest first, with lookups for pickers (at most 100
    each) and the status, priority and case type vocabularies."""
    if (hit := cache.hit()) is not None:
        return hit
    filters = CaseFilters(
        name=name,
        status=choice_filter(status_, STATUSES, "status"),
        priority=choice_filter(priority, PRIORITIES, "priority"),
        case_type=case_type.strip() if case_type and case_type.strip() else None,
        account_ids=id_list(account, "account"),
        assigned_to=id_list(assigned_to, "assigned_to"),
        tags=text_list(tags),
    )
    total, rows, more = await cases.listed(filters, page)
    envelope = Page[CaseItem].build(request, page, total, [CaseItem.of(*row) for row in rows], more)
    return cache.keep(
        CaseListOut(
            **dict(envelope),
            **RecordLookups.fields(await cases.lookups()),
            status=list(STATUSES),
            priority=list(PRIORITIES),
            type_of_case=list(CASE_TYPES),
        )
    )


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=CaseItem)
async def create_case(body: CaseCreate, cases: Cases) -> CaseItem:
    """Create a case; ``status`` defaults to New and ``priority`` to Normal; a case created
    Closed is dated today unless ``closed_on`` is sent; tags are created on first use."""
    return CaseItem.of(await cases.create(body))


@router.get("/{case_id}/", response_model=CaseDetailOut)
async def case_detail(cache: CachedDetail, case_id: uuid.UUID, cases: Cases) -> Response:
    if (hit := cache.hit()) is not None:
        return hit
    case = await cases.get_visible(case_id)
    links = link_objects(case)
    comments, attachments = await cases.activity_of(case)
    account = case.account
    return cache.keep(
        CaseDetailOut(
            cases_obj=CaseItem.of(case),
            account_obj=AccountLookup(id=account.id, name=account.name) if account else None,
            contacts=[ContactBrief.of(c) for c in case.contacts],
            assigned_to=links["assigned_to"],
            teams=links["teams"],
            tags=links["tags"],
            comments=comments,
            attachments=attachments,
            users_mention=await cases.users_mention(case),
            comment_permission=cases.may_comment(case),
            status=list(STATUSES),
            priority=list(PRIORITIES),
            type_of_case=list(CASE_TYPES),
        )
    )


@router.put("/{case_id}/", response_model=CaseItem)
@router.patch("/{case_id}/", response_model=CaseItem)
async def update_case(case_id: uuid.UUID, body: CaseUpdate, cases: Cases) -> CaseItem:
    """Partial update (PUT and PATCH); a list field replaces the relation only when sent.
    Closing dates the case today unless ``closed_on`` is sent; reopening clears the date."""
    return CaseItem.of(await cases.update(case_id, body))


@router.delete("/{case_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_case(
    case_id: uuid.UUID, cases: Cases, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its comments and attachments go with it (the files once
    the deletion has committed)."""
    files = await cases.delete(case_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
