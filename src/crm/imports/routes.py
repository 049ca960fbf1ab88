"""/api/leads/upload/: bulk import of leads from CSV or XLSX (§6.9), and import job status.

Included before the leads and activity routers so ``upload`` is never read as a lead id.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.storage import Storage
from crm.core.uploads import read_form, sanitize_filename
from crm.imports.permissions import Importer
from crm.imports.schemas import ImportJobOut, ImportResultOut
from crm.imports.service import file_chunks

router = APIRouter(prefix="/api/leads/upload", tags=["leads"])

UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["leads_file"],
                "properties": {"leads_file": {"type": "string", "format": "binary"}},
            }
        }
    }
}


@router.post(
    "/",
    response_model=ImportResultOut,
    responses={
        202: {"model": ImportJobOut, "description": "Large file: imported by a background job"}
    },
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload_leads(request: Request, importer: Importer) -> Any:
    """Import leads from a CSV or XLSX file in the multipart field ``leads_file``.

    Files up to ``CRM_IMPORT_SYNC_MAX_BYTES`` are imported at once: 200 with
    ``imported_count``, ``failed_count`` and per-row ``errors``. Larger files answer 202 with
    a job id; follow ``status_url``. Invalid rows are reported and skipped, valid rows kept;
    a file with no valid row is a 400. Over ``CRM_MAX_IMPORT_BYTES`` or
    ``CRM_MAX_IMPORT_ROWS``: 413.
    """
    settings = importer.settings
    form = await read_form(request, max_bytes=settings.max_import_bytes, max_files=1)
    with tempfile.TemporaryDirectory(prefix="crm-upload-") as tmp:
        try:
            upload = form.get("leads_file") or form.get("file")
            if not isinstance(upload, UploadFile):
                raise ValidationFailed.on("leads_file", "Attach the CSV or XLSX file as leads_file")
            path = Path(tmp) / "upload"
            with path.open("wb") as target:
                await anyio.to_thread.run_sync(shutil.copyfileobj, upload.file, target)
            file_name = sanitize_filename(upload.filename or "leads.csv")
        finally:
            await form.close()
        size = path.stat().st_size
        if size <= settings.import_sync_max_bytes:
            return await importer.import_now(path)
        total = await importer.check_file(path)
        storage: Storage = request.app.state.storage
        stored = await storage.save(file_chunks(path), max_bytes=settings.max_import_bytes)
    job = await importer.start_job(file_name, stored.key, total)
    return JSONResponse(
        ImportJobOut.of(job).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
    )


@router.get("/{job_id}/", response_model=ImportJobOut)
async def import_status(job_id: uuid.UUID, importer: Importer) -> ImportJobOut:
    """Progress and outcome of a background import (its uploader or an admin)."""
    job = await importer.job(job_id)
    if job is None:
        raise NotFound()
    if not (importer.tenant.is_admin or job.created_by_id == importer.tenant.profile_id):
        raise PermissionDenied()
    return ImportJobOut.of(job)
