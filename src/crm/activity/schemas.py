"""Bodies of the comment and attachment endpoints (§16), and the read models other domains
embed in their detail responses.

Comment length: at most ``COMMENT_MAX_LENGTH`` (2000) characters after trimming. Legacy
Django-CRM stored comments in a 255-character column, which cut ordinary call notes short;
the column here is TEXT, and 2000 keeps a comment a note (longer material belongs in an
attachment) while bounding the size of every detail response that lists them all.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import Field

from crm.core.schemas import InputSchema, NonEmptyStr, ReadSchema

COMMENT_MAX_LENGTH = 2000


class CommentIn(InputSchema):
    """The comment part of POST /api/<module>/<id>/ (JSON or a form field). Optional when a
    file comes along; blank counts as absent."""

    comment: str | None = Field(default=None, max_length=COMMENT_MAX_LENGTH)


class CommentEdit(InputSchema):
    comment: NonEmptyStr = Field(max_length=COMMENT_MAX_LENGTH)


@dataclass(frozen=True, slots=True)
class AttachmentUpload:
    """A file on its way in: the name the client gave, its bytes, and how many are allowed."""

    filename: str
    field: str  # the form field it came in, for error messages
    chunks: AsyncIterable[bytes]
    max_bytes: int


class CommentRead(ReadSchema):
    id: uuid.UUID
    comment: str
    commented_on: datetime
    commented_by: uuid.UUID | None = Field(description="Profile id of the author")
    commented_by_email: str | None


class AccountComment(CommentRead):
    account: uuid.UUID


class ContactComment(CommentRead):
    contact: uuid.UUID


class LeadComment(CommentRead):
    lead: uuid.UUID


class OpportunityComment(CommentRead):
    opportunity: uuid.UUID


class CaseComment(CommentRead):
    case: uuid.UUID


class TaskComment(CommentRead):
    task: uuid.UUID


class EventComment(CommentRead):
    event: uuid.UUID


class InvoiceComment(CommentRead):
    invoice: uuid.UUID


class AttachmentRead(ReadSchema):
    id: uuid.UUID
    file_name: str
    attachment: str = Field(description="Download path of the file")
    file_path: str = Field(description="Same as attachment (legacy name)")
    content_type: str = Field(description="Decided from the file's bytes, not the client")
    size: int
    created_on: datetime
    created_by: uuid.UUID | None = Field(description="Profile id of the uploader")


class AccountAttachment(AttachmentRead):
    account: uuid.UUID


class ContactAttachment(AttachmentRead):
    contact: uuid.UUID


class LeadAttachment(AttachmentRead):
    lead: uuid.UUID


class OpportunityAttachment(AttachmentRead):
    opportunity: uuid.UUID


class CaseAttachment(AttachmentRead):
    case: uuid.UUID


class TaskAttachment(AttachmentRead):
    task: uuid.UUID


class EventAttachment(AttachmentRead):
    event: uuid.UUID


class InvoiceAttachment(AttachmentRead):
    invoice: uuid.UUID


C = TypeVar("C", bound=CommentRead)
A = TypeVar("A", bound=AttachmentRead)


class ActivityAdded(ReadSchema, Generic[C, A]):
    """What POST /api/<module>/<id>/ answers: what was added, and the record's whole activity
    (newest first)."""

    comment: C | None
    attachment: A | None
    comments: list[C]
    attachments: list[A]
