"""/api/contacts/ (§5): list, create, detail with related lists, update, delete.
Comments and attachments on contacts are served by the activity module."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status

from crm.activity.permissions import Activity
from crm.contacts.permissions import Contacts
from crm.contacts.repository import ContactFilters
from crm.contacts.schemas import (
    CONTACT_EXPORT_HEADERS,
    ContactAddress,
    ContactCreate,
    ContactDetailOut,
    ContactItem,
    ContactListOut,
    ContactRecord,
    ContactUpdate,
    LinkedRecord,
)
from crm.core.exports import EXPORT_RESPONSES, ExportFormat, export_response, write_export
from crm.core.filters import id_list, text_list
from crm.core.pagination import CursorPagination, Page
from crm.records.caching import CachedDetail, CachedList
from crm.records.schemas import link_objects
from crm.users.permissions import Members
from crm.users.schemas import MemberBrief

router = APIRouter(prefix="/api/contacts", tags=["contacts"])


async def contact_filters(
    name: Annotated[
        str | None, Query(max_length=255, description="Part of the first or last name")
    ] = None,
    city: Annotated[str | None, Query(max_length=255, description="Part of the city")] = None,
    phone: Annotated[
        str | None, Query(max_length=32, description="Part of the mobile number")
    ] = None,
    email: Annotated[
        str | None, Query(max_length=254, description="Part of the primary e-mail")
    ] = None,
    assigned_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
    tags: Annotated[list[str] | None, Query(description="Tag names or slugs; any matches")] = None,
) -> ContactFilters:
    """The filters of the contact list, also taken by the export."""
    return ContactFilters(
        name=name,
        city=city,
        phone=phone,
        email=email,
        assigned_to=id_list(assigned_to, "assigned_to"),
        tags=text_list(tags),
    )


Filters = Annotated[ContactFilters, Depends(contact_filters)]


@router.get("/", response_model=ContactListOut)
async def list_contacts(
    cache: CachedList,
    contacts: Contacts,
    members: Members,
    request: Request,
    page: CursorPagination,
    filters: Filters,
) -> Response:
    """The contacts the caller may see, newest first (limit/offset or cursor), with the
    org's active members as a picker lookup (``users``)."""
    if (hit := cache.hit()) is not None:
        return hit
    found, total = await contacts.page(filters, page)
    rows = page.window(found)
    envelope = Page[ContactItem].build(
        request, page, total, [ContactItem.of(c) for c in rows.rows], rows.more
    )
    return cache.keep(
        ContactListOut(
            **dict(envelope), users=[MemberBrief.of(p) for p in await members.all(active=True)]
        )
    )


@router.get("/export/", response_class=Response, responses=EXPORT_RESPONSES)
async def export_contacts(
    contacts: Contacts,
    request: Request,
    filters: Filters,
    export_format: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    """Every contact the list shows for the same filters, newest first, as CSV or XLSX.
    More than ``CRM_MAX_EXPORT_ROWS``: 400 ``export_too_large``."""
    settings = request.app.state.settings
    written = await write_export(
        export_format,
        "Contacts",
        CONTACT_EXPORT_HEADERS,
        contacts.export(filters, settings.max_export_rows),
    )
    return export_response(written, export_format, "contacts")


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=ContactItem)
async def create_contact(body: ContactCreate, contacts: Contacts) -> ContactItem:
    """Create a contact; tags are created on first use; assignees and teams must belong to
    the org; ``primary_email`` must be new to the org."""
    return ContactItem.of(await contacts.create(body))


@router.get("/{contact_id}/", response_model=ContactDetailOut)
async def contact_detail(
    cache: CachedDetail, contact_id: uuid.UUID, contacts: Contacts
) -> Response:
    if (hit := cache.hit()) is not None:
        return hit
    contact = await contacts.get_visible(contact_id)
    links = link_objects(contact)
    comments, attachments = await contacts.activity_of(contact)
    return cache.keep(
        ContactDetailOut(
            contact_obj=ContactRecord.of(contact),
            address_obj=ContactAddress.model_validate(contact),
            comments=comments,
            attachments=attachments,
            assigned_to=links["assigned_to"],
            teams=links["teams"],
            tags=links["tags"],
            users_mention=await contacts.users_mention(contact),
            opportunities=[
                LinkedRecord.model_validate(o) for o in await contacts.opportunities_of(contact)
            ],
            accounts=[LinkedRecord.model_validate(a) for a in await contacts.accounts_of(contact)],
        )
    )


@router.put("/{contact_id}/", response_model=ContactItem)
@router.patch("/{contact_id}/", response_model=ContactItem)
async def update_contact(
    contact_id: uuid.UUID, body: ContactUpdate, contacts: Contacts
) -> ContactItem:
    """Partial update (PUT and PATCH); a list field replaces the relation only when sent."""
    return ContactItem.of(await contacts.update(contact_id, body))


@router.delete("/{contact_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_contact(
    contact_id: uuid.UUID, contacts: Contacts, activity: Activity, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); its comments, attachments and links go with it (the files
    once the deletion has committed)."""
    files = await contacts.delete(contact_id)
    background.add_task(activity.discard_files, files)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
