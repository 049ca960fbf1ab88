"""Document rules (§14.3): see as the repository says; change: an admin, the creator or a
member it is shared with; delete: an admin or the creator. Titles are unique per org
(case-insensitive). The file goes to the storage interface; its type is sniffed."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.pagination import Keyset, PageParams
from crm.core.permissions import ensure_can_delete
from crm.core.storage import Download, Storage, StoredFile, peek
from crm.core.tenancy import TenantContext
from crm.core.uploads import sanitize_filename, sniff_content_type
from crm.documents.errors import DocumentFileMissing, DocumentTitleTaken, EmptyDocument
from crm.documents.repository import DocumentFilters, DocumentRepository
from crm.documents.schemas import Creator, DocumentFields
from crm.models import Document
from crm.teams.service import TeamService
from crm.users.service import MemberService

logger = logging.getLogger(__name__)
SNIFF_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    chunks: AsyncIterable[bytes]
    max_bytes: int


class DocumentService:
    def __init__(self, session: AsyncSession, tenant: TenantContext, storage: Storage) -> None:
        self.session = session
        self.tenant = tenant
        self.storage = storage
        self.documents = DocumentRepository(session, tenant)
        self.members = MemberService(session, tenant)
        self.teams = TeamService(session, tenant)

    # -- reads ----------------------------------------------------------------------

    async def listed(
        self, filters: DocumentFilters, params: PageParams
    ) -> tuple[int, list[Document], dict[uuid.UUID, Creator], Keyset | None]:
        """How many match, one page, its creators, and in cursor mode where the next page
        starts (None: the last page)."""
        total = await self.documents.count(filters)
        rows = params.window(
            await self.documents.page(filters, params) if params.shows(total) else []
        )
        creators = await self.documents.creators([d.created_by_id for d in rows.rows])
        return total, rows.rows, creators, rows.more

    async def creator_of(self, document: Document) -> Creator | None:
        if document.created_by_id is None:
            return None
        return (await self.documents.creators([document.created_by_id])).get(document.created_by_id)

    async def get_visible(self, document_id: uuid.UUID) -> Document:
        """Another org's document is 404; one the caller may not see is 403."""
        document = await self.documents.get(document_id)
        if document is None:
            raise NotFound()
        if not await self.documents.is_visible(document.id):
            raise PermissionDenied()
        return document

    async def download(self, document_id: uuid.UUID) -> Download:
        document = await self.get_visible(document_id)
        return Download(
            document.file_name,
            document.content_type,
            document.size,
            await self.storage.open(document.storage_key),
        )

    # -- writes ---------------------------------------------------------------------

    async def create(self, fields: DocumentFields, upload: Upload | None) -> Document:
        if not fields.title:
            raise ValidationFailed.on("title", "This field is required.")
        if upload is None:
            raise DocumentFileMissing()
        if await self.documents.title_taken(fields.title):
            raise DocumentTitleTaken()
        shared_to = await self.members.active_members(fields.shared_to or [], "shared_to")
        teams = await self.teams.existing(fields.shared_with or [], "shared_with")
        stored, head, file_name = await self._store(upload)
        try:
            document = Document(
                org_id=self.tenant.org_id,
                created_by_id=self.tenant.profile_id,
                title=fields.title,
                status=fields.status or "active",
                file_name=file_name,
                storage_key=stored.key,
                content_type=sniff_content_type(head, file_name),
                size=stored.size,
                shared_to=shared_to,
                shared_with=teams,
            )
            self.documents.add(document)
            await self.session.flush()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.storage.delete(stored.key)
            raise
        return await self._reload(document.id)

    async def update(
        self, document_id: uuid.UUID, fields: DocumentFields, upload: Upload | None
    ) -> tuple[Document, str | None]:
        """Change what was sent; returns the document and the storage key of a replaced
        file, to discard once the change is committed."""
        document = await self.get_visible(document_id)
        self._ensure_can_change(document)
        changes: dict[str, Any] = fields.model_dump(exclude_unset=True)
        title = changes.get("title")
        if title is not None:
            if await self.documents.title_taken(title, exclude=document.id):
                raise DocumentTitleTaken()
            document.title = title
        if changes.get("status") is not None:
            document.status = changes["status"]
        if changes.get("shared_to") is not None:
            document.shared_to = await self.members.active_members(
                changes["shared_to"], "shared_to"
            )
        if changes.get("shared_with") is not None:
            document.shared_with = await self.teams.existing(changes["shared_with"], "shared_with")
        replaced = None
        stored: StoredFile | None = None
        if upload is not None:
            stored, head, file_name = await self._store(upload)
            replaced = document.storage_key
            document.storage_key = stored.key
            document.file_name = file_name
            document.content_type = sniff_content_type(head, file_name)
            document.size = stored.size
        try:
            await self.session.flush()
        except BaseException:
            # The session is rolled back: use the key in hand, not the expired attribute.
            if stored is not None:
                with anyio.CancelScope(shield=True):
                    await self.storage.delete(stored.key)
            raise
        return await self._reload(document.id), replaced

    async def delete(self, document_id: uuid.UUID) -> str:
        """Delete the row; returns the storage key, to discard once committed."""
        document = await self.get_visible(document_id)
        ensure_can_delete(document.created_by_id, self.tenant)
        key = document.storage_key
        await self.documents.delete(document)
        return key

    async def discard(self, keys: list[str]) -> None:
        for key in keys:
            await self.storage.delete(key)

    # -- rules ----------------------------------------------------------------------

    def _ensure_can_change(self, document: Document) -> None:
        if self.tenant.is_admin or document.created_by_id == self.tenant.profile_id:
            return
        if any(p.id == self.tenant.profile_id for p in document.shared_to):
            return
        raise PermissionDenied()

    async def _store(self, upload: Upload) -> tuple[StoredFile, bytes, str]:
        head, chunks = await peek(upload.chunks, SNIFF_BYTES)
        if not head:
            raise EmptyDocument()
        file_name = sanitize_filename(upload.filename, "document_file")
        stored = await self.storage.save(chunks, max_bytes=upload.max_bytes)
        logger.info("stored document file: %d bytes, sha256 %s", stored.size, stored.sha256)
        return stored, head, file_name

    async def _reload(self, document_id: uuid.UUID) -> Document:
        self.session.expire_all()
        document = await self.documents.get(document_id)
        if document is None:
            raise NotFound()
        return document
