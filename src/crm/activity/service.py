"""Comment and attachment use cases (§16), one implementation for every record type.

Rules (§1.3):
- Every use takes a caller who can see the parent record (an admin, its creator or an
  assignee): a record of the org the caller cannot see is 403, a record of another org or
  none at all is 404, alike. That holds for editing or deleting a comment and deleting or
  downloading a file too: their author or uploader who no longer sees the record is 403.
- A comment is edited or deleted by its author or an admin; an attachment is deleted by its
  uploader or an admin (403 for anyone else who sees the record).

Files and the transaction: a file is written to storage before its row is flushed, and
removed again if the flush fails. A deleted attachment's file is removed only after the
commit (``discard_files``, which the route runs as a background task of the response:
those run only once the commit succeeded). A crash between the two leaves an orphaned
file, never a row without its file.

For other domains:
- ``for_parent(kind, record_id)``: the ``comments`` and ``attachments`` of a detail
  response, in two statements whatever their number. The caller has already checked that
  the record is visible (it loaded it through its own repository).
- ``move(from_kind, from_id, to_kind, to_id)``: re-point everything (lead conversion).
- ``storage_keys(kind, record_ids)``: the files of records about to be deleted; the rows go
  with the records (foreign keys cascade), the files are the deleting domain's to discard
  after commit with ``discard_files``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from crm.activity.errors import EmptyAttachment, NothingToAdd
from crm.activity.record_types import RecordType, record_type_of
from crm.activity.repository import ActivityRepository, ParentState
from crm.activity.schemas import (
    ActivityAdded,
    AttachmentRead,
    AttachmentUpload,
    CommentEdit,
    CommentIn,
    CommentRead,
)
from crm.core.errors import NotFound, PermissionDenied
from crm.core.permissions import ensure_can_delete
from crm.core.storage import Download, Storage, peek
from crm.core.tenancy import TenantContext
from crm.core.uploads import SNIFF_BYTES, sanitize_filename, sniff_content_type
from crm.models import Attachment, Comment

logger = logging.getLogger("crm.activity")


@dataclass(frozen=True, slots=True)
class Parent:
    """A record the caller may comment on; only :meth:`ActivityService.parent` makes one."""

    record_type: RecordType
    id: uuid.UUID


class ActivityService:
    def __init__(
        self, session: AsyncSession, tenant: TenantContext, storage: Storage | None = None
    ) -> None:
        self.session = session
        self.tenant = tenant
        self.activity = ActivityRepository(session, tenant)
        self._storage = storage

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            raise RuntimeError("this ActivityService was built without a storage")
        return self._storage

    # -- for other domains -------------------------------------------------------------------

    async def for_parent(
        self, kind: str, record_id: uuid.UUID
    ) -> tuple[list[CommentRead], list[AttachmentRead]]:
        """The record's comments and attachments, newest first, as read models."""
        return await self._lists(record_type_of(kind), record_id)

    async def move(
        self, from_kind: str, from_id: uuid.UUID, to_kind: str, to_id: uuid.UUID
    ) -> None:
        """Re-point every comment and attachment of one record at another (one UPDATE each)."""
        await self.activity.move(record_type_of(from_kind), from_id, record_type_of(to_kind), to_id)

    async def storage_keys(self, kind: str, record_ids: Sequence[uuid.UUID]) -> list[str]:
        return await self.activity.storage_keys(record_type_of(kind), record_ids)

    async def discard_files(self, keys: Iterable[str]) -> None:
        """Remove stored files. Only after the commit that deleted their rows."""
        for key in keys:
            await self.storage.delete(key)

    # -- use cases of the routes -------------------------------------------------------------

    async def parent(self, record_type: RecordType, record_id: uuid.UUID) -> Parent:
        """The record, if the caller may see it: 403 when hidden, 404 when not in the org."""
        state = await self.activity.parent_state(record_type, record_id)
        if state is ParentState.MISSING:
            raise NotFound()
        if state is ParentState.HIDDEN:
            raise PermissionDenied()
        return Parent(record_type, record_id)

    async def add(
        self, parent: Parent, data: CommentIn, upload: AttachmentUpload | None
    ) -> ActivityAdded[Any, Any]:
        text = (data.comment or "").strip()
        if not text and upload is None:
            raise NothingToAdd()
        record_type = parent.record_type
        new_comment: Comment | None = None
        if text:
            new_comment = Comment(
                org_id=self.tenant.org_id,
                comment=text,
                commented_by_id=self.tenant.profile_id,
                **{record_type.parent_column: parent.id},
            )
            self.activity.add(new_comment)
        new_attachment = await self._store(parent, upload) if upload is not None else None
        await self.session.flush()
        comments, attachments = await self._lists(record_type, parent.id)
        return record_type.added_schema(
            comment=_find(comments, new_comment),
            attachment=_find(attachments, new_attachment),
            comments=comments,
            attachments=attachments,
        )

    async def edit_comment(
        self, record_type: RecordType, comment_id: uuid.UUID, data: CommentEdit
    ) -> CommentRead:
        comment, email = await self._comment(record_type, comment_id)
        ensure_can_delete(comment.commented_by_id, self.tenant)  # the author or an admin
        comment.comment = data.comment
        await self.session.flush()
        return record_type.comment_out(comment, email)

    async def delete_comment(self, record_type: RecordType, comment_id: uuid.UUID) -> None:
        comment, _ = await self._comment(record_type, comment_id)
        ensure_can_delete(comment.commented_by_id, self.tenant)  # the author or an admin
        await self.activity.delete(comment)

    async def delete_attachment(self, record_type: RecordType, attachment_id: uuid.UUID) -> str:
        """Delete the row; returns the storage key, to discard once the deletion is committed."""
        attachment = await self._attachment(record_type, attachment_id)
        ensure_can_delete(attachment.created_by_id, self.tenant)  # the uploader or an admin
        await self.activity.delete(attachment)
        return attachment.storage_key

    async def download(self, record_type: RecordType, attachment_id: uuid.UUID) -> Download:
        attachment = await self._attachment(record_type, attachment_id)
        return Download(
            file_name=attachment.file_name,
            content_type=attachment.content_type,
            size=attachment.size,
            chunks=await self.storage.open(attachment.storage_key),
        )

    # -- internals ---------------------------------------------------------------------------

    async def _lists(
        self, record_type: RecordType, record_id: uuid.UUID
    ) -> tuple[list[CommentRead], list[AttachmentRead]]:
        comments = [
            record_type.comment_out(comment, email)
            for comment, email in await self.activity.comments_of(record_type, record_id)
        ]
        attachments = [
            record_type.attachment_out(attachment)
            for attachment in await self.activity.attachments_of(record_type, record_id)
        ]
        return comments, attachments

    async def _comment(
        self, record_type: RecordType, comment_id: uuid.UUID
    ) -> tuple[Comment, str | None]:
        """The comment, if its record is visible to the caller (403 when hidden, §1.3)."""
        found = await self.activity.comment(record_type, comment_id)
        if found is None:
            raise NotFound()
        await self.parent(record_type, found[0].parent[1])
        return found

    async def _attachment(self, record_type: RecordType, attachment_id: uuid.UUID) -> Attachment:
        """The attachment, if its record is visible to the caller (403 when hidden, §1.3)."""
        attachment = await self.activity.attachment(record_type, attachment_id)
        if attachment is None:
            raise NotFound()
        await self.parent(record_type, attachment.parent[1])
        return attachment

    async def _store(self, parent: Parent, upload: AttachmentUpload) -> Attachment:
        """Write the file to storage, then flush its row; the file goes again if that fails."""
        head, chunks = await peek(upload.chunks, SNIFF_BYTES)
        if not head:
            raise EmptyAttachment(upload.field)
        file_name = sanitize_filename(upload.filename, upload.field)
        stored = await self.storage.save(chunks, max_bytes=upload.max_bytes)
        try:
            attachment = Attachment(
                org_id=self.tenant.org_id,
                file_name=file_name,
                storage_key=stored.key,
                content_type=sniff_content_type(head, file_name),
                size=stored.size,
                created_by_id=self.tenant.profile_id,
                **{parent.record_type.parent_column: parent.id},
            )
            self.activity.add(attachment)
            await self.session.flush()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.storage.delete(stored.key)
            raise
        logger.info(
            "stored attachment %s: %d bytes, sha256 %s", attachment.id, stored.size, stored.sha256
        )
        return attachment


_Read = TypeVar("_Read", CommentRead, AttachmentRead)


def _find(items: list[_Read], row: Comment | Attachment | None) -> _Read | None:
    if row is None:
        return None
    return next((item for item in items if item.id == row.id), None)
