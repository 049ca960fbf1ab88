"""Comment and attachment endpoints (§16), generated for every record type in RECORD_TYPES:

- ``POST   /api/<module>/<record id>/``               add a comment and/or one file (201)
- ``PUT    /api/<module>/comment/<comment_id>/``      edit a comment
- ``DELETE /api/<module>/comment/<comment_id>/``      delete a comment (204)
- ``GET    /api/<module>/attachment/<attachment_id>/`` download a file
- ``DELETE /api/<module>/attachment/<attachment_id>/`` delete a file (204)

The add endpoint takes JSON ``{"comment"}`` or a form (multipart or urlencoded) with
``comment`` and a file under ``attachment`` or the legacy ``<kind>_attachment``. Path ids
only match UUIDs, so ``/api/leads/upload/`` and friends stay the leads module's.

This module does not use ``from __future__ import annotations``: the record id parameter's
type is built per record type at run time, and FastAPI reads annotations as objects.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from crm.activity.errors import CommentNotText, UnexpectedFileField
from crm.activity.permissions import Activity
from crm.activity.record_types import RECORD_TYPES, RecordType
from crm.activity.schemas import (
    COMMENT_MAX_LENGTH,
    ActivityAdded,
    AttachmentUpload,
    CommentEdit,
    CommentIn,
    CommentRead,
)
from crm.core.uploads import (
    file_response,
    form_content_type,
    read_form,
    read_json,
    upload_chunks,
)

router = APIRouter(prefix="/api")

JSON_BODY_BYTES = 64 * 1024
# Room for the comment field, part headers and boundaries next to a file of the maximum size.
FORM_OVERHEAD_BYTES = 64 * 1024

CommentId = Annotated[uuid.UUID, Path(description="Comment id")]
AttachmentId = Annotated[uuid.UUID, Path(description="Attachment id")]


def _comment_in(payload: Any) -> CommentIn:
    try:
        return CommentIn.model_validate(payload)
    except ValidationError as exc:
        # Rendered by the one validation handler, like any body FastAPI validates itself.
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


def _upload_of(form: FormData, record_type: RecordType, max_bytes: int) -> AttachmentUpload | None:
    upload: AttachmentUpload | None = None
    for field, value in form.multi_items():
        if not isinstance(value, UploadFile):
            continue
        if field not in record_type.file_fields:
            raise UnexpectedFileField(field, record_type.file_fields)
        if value.filename:  # a browser sends an empty, nameless part when no file was chosen
            upload = AttachmentUpload(
                filename=value.filename,
                field=field,
                chunks=upload_chunks(value),
                max_bytes=max_bytes,
            )
    return upload


async def _read_add_body(
    request: Request, record_type: RecordType
) -> tuple[CommentIn, AttachmentUpload | None, FormData | None]:
    """The comment and the file of an add request, and the parsed form (holding the spooled
    file) for the caller to close once the file is stored."""
    max_upload: int = request.app.state.settings.max_upload_bytes
    if form_content_type(request) is None:
        return _comment_in(await read_json(request, max_bytes=JSON_BODY_BYTES)), None, None
    form = await read_form(request, max_bytes=max_upload + FORM_OVERHEAD_BYTES, max_files=1)
    try:
        comment = form.get("comment")
        if isinstance(comment, UploadFile):
            raise CommentNotText()
        return _comment_in({"comment": comment}), _upload_of(form, record_type, max_upload), form
    except BaseException:
        await form.close()
        raise


def _add_body_openapi(record_type: RecordType) -> dict[str, Any]:
    comment = {"type": "string", "maxLength": COMMENT_MAX_LENGTH}
    file = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"comment": comment}}
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "comment": comment,
                            "attachment": file,
                            record_type.attachment_field: file,
                        },
                    }
                },
            },
        }
    }


def _add_routes(record_type: RecordType) -> None:
    module, kind = record_type.module, record_type.kind
    record_id_type = Annotated[
        uuid.UUID, Path(alias=record_type.id_param, description=f"Id of the {kind}")
    ]

    async def add_activity(
        record_id: record_id_type,
        request: Request,
        activity: Activity,
    ) -> ActivityAdded[Any, Any]:
        # The parent is checked before the body is read: no upload from a caller who may not.
        parent = await activity.parent(record_type, record_id)
        data, upload, form = await _read_add_body(request, record_type)
        try:
            return await activity.add(parent, data, upload)
        finally:
            if form is not None:
                await form.close()

    async def edit_comment(
        comment_id: CommentId, body: CommentEdit, activity: Activity
    ) -> CommentRead:
        return await activity.edit_comment(record_type, comment_id, body)

    async def delete_comment(comment_id: CommentId, activity: Activity) -> Response:
        await activity.delete_comment(record_type, comment_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def download_attachment(
        attachment_id: AttachmentId, activity: Activity
    ) -> StreamingResponse:
        return file_response(await activity.download(record_type, attachment_id))

    async def delete_attachment(
        attachment_id: AttachmentId, activity: Activity, background: BackgroundTasks
    ) -> Response:
        """The row goes in the request's transaction; the file once that has committed."""
        key = await activity.delete_attachment(record_type, attachment_id)
        background.add_task(activity.discard_files, [key])
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    router.add_api_route(
        f"/{module}/{{{record_type.id_param}:uuid}}/",
        add_activity,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=record_type.added_schema,
        name=f"add_{kind}_activity",
        summary=f"Add a comment and/or an attachment to a {kind}",
        tags=[module],
        openapi_extra=_add_body_openapi(record_type),
    )
    router.add_api_route(
        f"/{module}/comment/{{comment_id:uuid}}/",
        edit_comment,
        methods=["PUT"],
        response_model=record_type.comment_schema,
        name=f"edit_{kind}_comment",
        summary=f"Edit a comment on a {kind} (its author or an admin)",
        tags=[module],
    )
    router.add_api_route(
        f"/{module}/comment/{{comment_id:uuid}}/",
        delete_comment,
        methods=["DELETE"],
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        name=f"delete_{kind}_comment",
        summary=f"Delete a comment on a {kind} (its author or an admin)",
        tags=[module],
    )
    router.add_api_route(
        f"/{module}/attachment/{{attachment_id:uuid}}/",
        download_attachment,
        methods=["GET"],
        response_class=StreamingResponse,
        name=f"download_{kind}_attachment",
        summary=f"Download a file attached to a {kind}",
        tags=[module],
        responses={
            200: {
                "description": "The file, with the content type sniffed at upload",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    router.add_api_route(
        f"/{module}/attachment/{{attachment_id:uuid}}/",
        delete_attachment,
        methods=["DELETE"],
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        name=f"delete_{kind}_attachment",
        summary=f"Delete a file attached to a {kind} (its uploader or an admin)",
        tags=[module],
    )


for _record_type in RECORD_TYPES.values():
    _add_routes(_record_type)
