"""Bodies of /api/documents/ (§14). Create and update are multipart forms: ``title``,
``status``, ``shared_to`` (profile ids), ``shared_with`` (team ids; ``teams`` is accepted
too) and the file in ``document_file`` (or ``file``). List fields take repeated keys, a
JSON array or a comma-separated string."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BeforeValidator, Field

from crm.core.pagination import Page
from crm.core.schemas import InputSchema, NonEmptyStr, ReadSchema, UUIDList
from crm.models import Document
from crm.records.schemas import TeamBrief
from crm.users.schemas import MemberBrief

STATUSES: tuple[str, ...] = ("active", "inactive")
FILE_FIELDS: tuple[str, ...] = ("document_file", "file")


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


class DocumentFields(InputSchema):
    """What a form sets besides the file; an update changes only what it sends."""

    title: NonEmptyStr | None = Field(default=None, max_length=255)
    status: Annotated[Literal["active", "inactive"], BeforeValidator(_lower)] | None = None
    shared_to: UUIDList | None = Field(default=None, description="Profile ids of members")
    shared_with: UUIDList | None = Field(
        default=None,
        validation_alias=AliasChoices("shared_with", "teams"),
        description="Team ids (also accepted as teams)",
    )


class Creator(ReadSchema):
    id: uuid.UUID | None
    first_name: str
    last_name: str
    email: str


class DocumentItem(ReadSchema):
    """A document in lists and write responses (§14.3): ``document_file`` is the URL the
    file downloads from."""

    id: uuid.UUID
    title: str
    document_file: str
    file_name: str
    content_type: str
    size: int
    status: str
    shared_to: list[uuid.UUID]
    shared_with: list[uuid.UUID]
    teams: list[uuid.UUID]
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: Creator | None

    @classmethod
    def of(cls, document: Document, creator: Creator | None) -> DocumentItem:
        teams = [t.id for t in document.shared_with]
        return cls(
            id=document.id,
            title=document.title,
            document_file=f"/api/documents/{document.id}/download/",
            file_name=document.file_name,
            content_type=document.content_type,
            size=document.size,
            status=document.status,
            shared_to=[p.id for p in document.shared_to],
            shared_with=teams,
            teams=teams,
            org=document.org_id,
            created_on=document.created_on,
            created_at=document.created_on,
            updated_at=document.updated_at,
            created_by=creator,
        )


class DocumentListOut(Page[DocumentItem]):
    users: list[MemberBrief]
    teams: list[TeamBrief]
    status_choices: list[str]


class DocumentDetailOut(ReadSchema):
    doc_obj: DocumentItem
    shared_to: list[MemberBrief]
    shared_with: list[TeamBrief]
    file_type: str
