"""/api/accounts/ (§4): list split open/closed, create, detail with related lists, update,
delete. Comments and attachments on accounts are served by the activity module."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status

from crm.accounts.permissions import Accounts
from crm.accounts.repository import AccountFilters
from crm.accounts.schemas import (
    ACCOUNT_EXPORT_HEADERS,
    AccountCreate,
    AccountDetailOut,
    AccountEmailOut,
    AccountItem,
    AccountListOut,
    AccountMailIn,
    AccountMailOut,
    AccountUpdate,
    OpportunityBrief,
)
from crm.activity.permissions import Activity
from crm.cases.permissions import Cases
from crm.cases.schemas import CaseItem
from crm.core.errors import ValidationFailed
from crm.core.exports import EXPORT_RESPONSES, ExportFormat, export_response, write_export
from crm.core.filters import id_list, text_list
from crm.core.pagination import SplitCursorPagination, Window
from crm.invoices.permissions import Invoices
from crm.invoices.schemas import InvoiceItem
from crm.models import Account
from crm.records.caching import CachedDetail, CachedList
from crm.records.schemas import ContactBrief, ContactLookup, TeamBrief, UserLookup, link_objects
from crm.tasks.permissions import Tasks
from crm.tasks.schemas import TaskItem

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


async def account_filters(
    name: Annotated[str | None, Query(max_length=255, description="Part of the name")] = None,
    city: Annotated[
        str | None, Query(max_length=255, description="Part of the billing city")
    ] = None,
    industry: Annotated[
        str | None, Query(max_length=255, description="Part of the industry")
    ] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
    status_: Annotated[str | None, Query(alias="status", description="open or closed")] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
) -> AccountFilters:
    """The filters of the account list, also taken by the export."""
    wanted = None
    if status_:
        wanted = (
            "closed" if status_.strip().lower() in ("closed", "close") else status_.strip().lower()
        )
        if wanted not in ("open", "closed"):
            raise ValidationFailed.on("status", "Use open or closed")
    return AccountFilters(
        name=name,
        city=city,
        industry=industry,
        tags=text_list(tags),
        status=wanted,
        assigned_to=id_list(assigned_to, "assigned_to"),
    )


Filters = Annotated[AccountFilters, Depends(account_filters)]


@router.get("/", response_model=AccountListOut)
async def list_accounts(
    cache: CachedList,
    accounts: Accounts,
    request: Request,
    page: SplitCursorPagination,
    filters: Filters,
) -> Response:
    """Open and closed accounts the caller may see, each half paginated with limit/offset,
    or by cursor (``cursor=`` for the first page; a cursor then continues one half)."""
    if (hit := cache.hit()) is not None:
        return hit
    wanted = filters.status
    counts = await accounts.counts(filters)
    rows: dict[str, Window[Account]] = {"open": Window([]), "closed": Window([])}
    for half in rows:
        if (wanted is None or wanted == half) and page.shows(counts.get(half, 0), half):
            rows[half] = page.window(await accounts.page(filters, half, page))
    links = await accounts.links_of([a.id for half in rows.values() for a in half.rows])
    halves = {
        half: ([AccountItem.of(a, links[a.id]) for a in found.rows], counts.get(half, 0))
        for half, found in rows.items()
    }
    if wanted is not None:
        halves["closed" if wanted == "open" else "open"] = ([], 0)
    picks = await accounts.lookups()
    open_total, closed_total = halves["open"][1], halves["closed"][1]
    return cache.keep(
        AccountListOut(
            open_accounts=halves["open"][0],
            closed_accounts=halves["closed"][0],
            accounts_count=open_total + closed_total,
            open_accounts_count=open_total,
            closed_accounts_count=closed_total,
            next_open=page.next_link(request, open_total, rows["open"].more, "open"),
            next_closed=page.next_link(request, closed_total, rows["closed"].more, "closed"),
            contacts=[ContactLookup.of(c) for c in picks["contacts"]],
            users=[UserLookup.of(u) for u in picks["users"]],
            teams=[TeamBrief(id=t.id, name=t.text) for t in picks["teams"]],
            tags=[t.text for t in picks["tags"]],
            status=["open", "closed"],
        )
    )


@router.get("/export/", response_class=Response, responses=EXPORT_RESPONSES)
async def export_accounts(
    accounts: Accounts,
    request: Request,
    filters: Filters,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    """Every account the list shows for the same filters (open and closed), newest first,
    as CSV or XLSX. More than ``CRM_MAX_EXPORT_ROWS``: 400 ``export_too_large``."""
    settings = request.app.state.settings
    written = await write_export(
        export_format,
        "Accounts",
        ACCOUNT_EXPORT_HEADERS,
        accounts.export(filters, settings.max_export_rows),
    )
    return export_response(written, export_format, "accounts")


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=AccountItem)
async def create_account(body: AccountCreate, accounts: Accounts) -> AccountItem:
    """Create an account; tags are created on first use; contacts, assignees and teams must
    belong to the org."""
    return AccountItem.of(await accounts.create(body))


@router.get("/{account_id}/", response_model=AccountDetailOut)
async def account_detail(
    cache: CachedDetail,
    account_id: uuid.UUID,
    accounts: Accounts,
    cases: Cases,
    tasks: Tasks,
    invoices: Invoices,
) -> Response:
    if (hit := cache.hit()) is not None:
        return hit
    account = await accounts.get_visible(account_id)
    opportunities = [OpportunityBrief.of(o) for o in await accounts.opportunities_of(account)]
    links = link_objects(account)
    comments, attachments = await accounts.activity_of(account)
    return cache.keep(
        AccountDetailOut(
            account_obj=AccountItem.of(account),
            contacts=[ContactBrief.of(c) for c in account.contacts],
            opportunities=opportunities,
            opportunity_list=opportunities,
            assigned_to=links["assigned_to"],
            teams=links["teams"],
            tags=links["tags"],
            comments=comments,
            attachments=attachments,
            cases=[CaseItem.of(c) for c in await cases.of_account(account.id)],
            tasks=[TaskItem.of(t) for t in await tasks.of_account(account.id)],
            invoices=[InvoiceItem.of(i) for i in await invoices.of_account(account.id)],
            emails=[AccountEmailOut.of(e) for e in await accounts.emails_of(account)],
            users_mention=await accounts.users_mention(account),
            comment_permission=accounts.tenant.is_admin
            or account.created_by_id == accounts.tenant.profile_id,
        )
    )


@router.put("/{account_id}/", response_model=AccountItem)
@router.patch("/{account_id}/", response_model=AccountItem)
async def update_account(
    account_id: uuid.UUID, body: AccountUpdate, accounts: Accounts
) -> AccountItem:
    """Partial update (PUT and PATCH); a list field replaces the relation only when sent."""
    return AccountItem.of(await accounts.update(account_id, body))


@router.delete("/{account_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_account(
    account_id: uuid.UUID, accounts: Accounts, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its opportunities, comments and attachments go with it (the
    stored files once the deletion has committed)."""
    files = await accounts.delete(account_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{account_id}/create_mail/", status_code=status.HTTP_201_CREATED, response_model=AccountMailOut
)
async def create_mail(
    account_id: uuid.UUID, body: AccountMailIn, accounts: Accounts
) -> AccountMailOut:
    """Send or schedule an e-mail to contacts of the account (or any addresses). Each
    recipient gets one message, delivered once over SMTP by a background job; scheduled
    messages survive restarts."""
    emails = await accounts.send_mail(account_id, body)
    scheduled = body.send_at() is not None
    return AccountMailOut(
        message="Email scheduled successfully" if scheduled else "Email sent successfully",
        email_id=emails[0].id,
        email_ids=[e.id for e in emails],
    )
