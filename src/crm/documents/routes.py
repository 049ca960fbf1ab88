"""/api/documents/ (§14): list (envelope A, cached until the org's data changes), upload,
detail, update (the file optional), delete, download. Bodies are multipart forms (an
update without a file may also be JSON)."""

from __future__ import annotations

import uuid
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from crm.core.filters import choice_filter, id_list
from crm.core.pagination import CursorPagination, Page
from crm.core.uploads import (
    file_response,
    form_content_type,
    read_form,
    read_json,
    upload_chunks,
)
from crm.documents.permissions import Documents
from crm.documents.repository import DocumentFilters
from crm.documents.schemas import (
    FILE_FIELDS,
    STATUSES,
    DocumentDetailOut,
    DocumentFields,
    DocumentItem,
    DocumentListOut,
)
from crm.documents.service import Upload
from crm.models import Document
from crm.records.caching import CachedList
from crm.records.schemas import TeamBrief
from crm.teams.permissions import Teams
from crm.users.permissions import Members
from crm.users.schemas import MemberBrief

router = APIRouter(prefix="/api/documents", tags=["documents"])

JSON_BODY_BYTES = 64 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024

_FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "maxLength": 255},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "shared_to": {"type": "array", "items": {"type": "string"}},
                        "shared_with": {"type": "array", "items": {"type": "string"}},
                        "document_file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


def _fields(values: dict[str, Any]) -> DocumentFields:
    try:
        return DocumentFields.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


async def _read_body(request: Request) -> tuple[DocumentFields, Upload | None, FormData | None]:
    """The fields and the file of a create or update, and the parsed form (holding the
    spooled file) for the caller to close."""
    max_upload: int = request.app.state.settings.max_upload_bytes
    if form_content_type(request) is None:
        body = await read_json(request, max_bytes=JSON_BODY_BYTES)
        return _fields(body if isinstance(body, dict) else {}), None, None
    form = await read_form(request, max_bytes=max_upload + FORM_OVERHEAD_BYTES, max_files=1)
    try:
        values: dict[str, Any] = {}
        upload: Upload | None = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in FILE_FIELDS and value.filename:
                    upload = Upload(value.filename, upload_chunks(value), max_upload)
                continue
            values.setdefault(key, []).append(value)
        flat = {k: v[0] if len(v) == 1 else v for k, v in values.items()}
        return _fields(flat), upload, form
    except BaseException:
        await form.close()
        raise


async def _item(documents: Documents, document: Document) -> DocumentItem:
    return DocumentItem.of(document, await documents.creator_of(document))


@router.get("/", response_model=DocumentListOut)
async def list_documents(
    cache: CachedList,
    documents: Documents,
    members: Members,
    teams: Teams,
    request: Request,
    page: CursorPagination,
    title: Annotated[str | None, Query(max_length=255, description="Part of the title")] = None,
    status_: Annotated[str | None, Query(alias="status", description="active or inactive")] = None,
    shared_with: Annotated[list[str] | None, Query(description="Team ids; any matches")] = None,
    shared_to: Annotated[list[str] | None, Query(description="Profile ids; any matches")] = None,
) -> Response:
    """The documents the caller may see, newest first: an admin every one; anyone else
    those they created and the active ones shared with them or one of their teams."""
    if (hit := cache.hit()) is not None:
        return hit
    filters = DocumentFilters(
        title=title,
        status=choice_filter(status_, STATUSES, "status"),
        shared_with=id_list(shared_with, "shared_with"),
        shared_to=id_list(shared_to, "shared_to"),
    )
    total, rows, creators, more = await documents.listed(filters, page)
    items = [
        DocumentItem.of(d, creators.get(d.created_by_id) if d.created_by_id else None) for d in rows
    ]
    return cache.keep(
        DocumentListOut(
            **dict(Page[DocumentItem].build(request, page, total, items, more)),
            users=[MemberBrief.of(p) for p in await members.all(active=True, limit=100)],
            teams=[TeamBrief(id=t.id, name=t.name) for t in await teams.all(limit=100)],
            status_choices=list(STATUSES),
        )
    )


@router.post(
    "/",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentItem,
    openapi_extra=_FORM_BODY,
)
async def create_document(request: Request, documents: Documents) -> DocumentItem:
    """Upload a document: ``title`` and the file (``document_file``) are required; the type
    is sniffed from the content, the name sanitised; 413 past the upload limit."""
    fields, upload, form = await _read_body(request)
    try:
        return await _item(documents, await documents.create(fields, upload))
    finally:
        if form is not None:
            await form.close()


@router.get("/{document_id}/", response_model=DocumentDetailOut)
async def document_detail(document_id: uuid.UUID, documents: Documents) -> DocumentDetailOut:
    document = await documents.get_visible(document_id)
    return DocumentDetailOut(
        doc_obj=await _item(documents, document),
        shared_to=[MemberBrief.of(p) for p in document.shared_to],
        shared_with=[TeamBrief(id=t.id, name=t.name) for t in document.shared_with],
        file_type=PurePath(document.file_name).suffix.lstrip(".").lower(),
    )


@router.put("/{document_id}/", response_model=DocumentItem, openapi_extra=_FORM_BODY)
@router.patch("/{document_id}/", response_model=DocumentItem, openapi_extra=_FORM_BODY)
async def update_document(
    document_id: uuid.UUID, request: Request, documents: Documents, background: BackgroundTasks
) -> DocumentItem:
    """Change what is sent (admin, creator, or a member it is shared with); a new file
    replaces the old one, which is discarded once the change is committed."""
    await documents.get_visible(document_id)  # refuse before reading any upload
    fields, upload, form = await _read_body(request)
    try:
        document, replaced = await documents.update(document_id, fields, upload)
    finally:
        if form is not None:
            await form.close()
    if replaced is not None:
        background.add_task(documents.discard, [replaced])
    return await _item(documents, document)


@router.delete("/{document_id}/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_document(
    document_id: uuid.UUID, documents: Documents, background: BackgroundTasks
) -> Response:
    """Delete (admin or creator); the file once the deletion has committed."""
    key = await documents.delete(document_id)
    background.add_task(documents.discard, [key])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{document_id}/download/")
async def download_document(document_id: uuid.UUID, documents: Documents) -> StreamingResponse:
    """The file, to whoever may see the document."""
    return file_response(await documents.download(document_id))
