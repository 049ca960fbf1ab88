"""Dependency that builds the document service for the calling member, with the app's
storage. The sharing rules live in the service and the repository."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from crm.auth.permissions import Member
from crm.core.db import DbSession
from crm.documents.service import DocumentService


async def document_service(request: Request, session: DbSession, tenant: Member) -> DocumentService:
    return DocumentService(session, tenant, request.app.state.storage)


Documents = Annotated[DocumentService, Depends(document_service)]
