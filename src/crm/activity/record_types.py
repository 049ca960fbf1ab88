"""The record types that carry comments and attachments, keyed by their API module name.

Everything that differs between accounts, contacts, leads and opportunities is here: the
parent model, the legacy file field name (``account_attachment`` ...), the parent key in
responses and the read models. Routes are generated from this table, so a record type
gains §16 by adding a row here (plus its parent column on ``comments``/``attachments``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from crm.activity.schemas import (
    AccountAttachment,
    AccountComment,
    ActivityAdded,
    AttachmentRead,
    CaseAttachment,
    CaseComment,
    CommentRead,
    ContactAttachment,
    ContactComment,
    EventAttachment,
    EventComment,
    InvoiceAttachment,
    InvoiceComment,
    LeadAttachment,
    LeadComment,
    OpportunityAttachment,
    OpportunityComment,
    TaskAttachment,
    TaskComment,
)
from crm.models import (
    PARENT_TABLES,
    Account,
    Attachment,
    Case,
    Comment,
    Contact,
    Event,
    Invoice,
    Lead,
    Opportunity,
    Task,
)
from crm.models.records import SalesRecord


@dataclass(frozen=True, slots=True)
class RecordType:
    module: str  # the path segment: /api/<module>/
    kind: str  # the parent key in responses and the parent column prefix: <kind>_id
    model: type[SalesRecord]
    comment_schema: type[CommentRead]
    attachment_schema: type[AttachmentRead]

    @property
    def attachment_field(self) -> str:
        """The legacy multipart field name of the file (``account_attachment`` ...)."""
        return f"{self.kind}_attachment"

    @property
    def added_schema(self) -> type[ActivityAdded[Any, Any]]:
        # pydantic caches each parametrisation: this is the same class every time.
        return ActivityAdded[self.comment_schema, self.attachment_schema]  # type: ignore[name-defined]

    @property
    def id_param(self) -> str:
        """The path parameter naming a record of this type (``account_id`` ...)."""
        return f"{self.kind}_id"

    @property
    def parent_column(self) -> str:
        return f"{self.kind}_id"

    @property
    def file_fields(self) -> tuple[str, ...]:
        """Form fields a file may come in: the documented one, then the legacy one."""
        return ("attachment", self.attachment_field)

    def download_path(self, attachment_id: uuid.UUID) -> str:
        return f"/api/{self.module}/attachment/{attachment_id}/"

    def comment_out(self, comment: Comment, email: str | None) -> CommentRead:
        return self.comment_schema.model_validate(
            {
                "id": comment.id,
                "comment": comment.comment,
                "commented_on": comment.commented_on,
                "commented_by": comment.commented_by_id,
                "commented_by_email": email,
                self.kind: getattr(comment, self.parent_column),
            }
        )

    def attachment_out(self, attachment: Attachment) -> AttachmentRead:
        path = self.download_path(attachment.id)
        return self.attachment_schema.model_validate(
            {
                "id": attachment.id,
                "file_name": attachment.file_name,
                "attachment": path,
                "file_path": path,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "created_on": attachment.created_on,
                "created_by": attachment.created_by_id,
                self.kind: getattr(attachment, self.parent_column),
            }
        )


RECORD_TYPES: dict[str, RecordType] = {
    record_type.module: record_type
    for record_type in (
        RecordType(
            module="accounts",
            kind="account",
            model=Account,
            comment_schema=AccountComment,
            attachment_schema=AccountAttachment,
        ),
        RecordType(
            module="contacts",
            kind="contact",
            model=Contact,
            comment_schema=ContactComment,
            attachment_schema=ContactAttachment,
        ),
        RecordType(
            module="leads",
            kind="lead",
            model=Lead,
            comment_schema=LeadComment,
            attachment_schema=LeadAttachment,
        ),
        RecordType(
            module="opportunities",
            kind="opportunity",
            model=Opportunity,
            comment_schema=OpportunityComment,
            attachment_schema=OpportunityAttachment,
        ),
        RecordType(
            module="cases",
            kind="case",
            model=Case,
            comment_schema=CaseComment,
            attachment_schema=CaseAttachment,
        ),
        RecordType(
            module="tasks",
            kind="task",
            model=Task,
            comment_schema=TaskComment,
            attachment_schema=TaskAttachment,
        ),
        RecordType(
            module="events",
            kind="event",
            model=Event,
            comment_schema=EventComment,
            attachment_schema=EventAttachment,
        ),
        RecordType(
            module="invoices",
            kind="invoice",
            model=Invoice,
            comment_schema=InvoiceComment,
            attachment_schema=InvoiceAttachment,
        ),
    )
}

BY_KIND: dict[str, RecordType] = {rt.kind: rt for rt in RECORD_TYPES.values()}

# Every parent column of the models has a record type, and the other way round.
if set(BY_KIND) != set(PARENT_TABLES):
    raise RuntimeError("RECORD_TYPES and crm.models.PARENT_TABLES name different record types")


def record_type_of(kind: str) -> RecordType:
    """The record type of a kind (``"account"`` ...); ``ValueError`` for anything else."""
    try:
        return BY_KIND[kind]
    except KeyError:
        raise ValueError(f"no comments or attachments on {kind!r} records") from None
