"""Bodies of /api/cases/ and the case vocabulary (§10.2).

Statuses and priorities are the union of the docs' and Django-CRM's values, accepted in any
case (runs of spaces count as one) and stored in the spelling below. ``case_type`` is free
text; the documented values are offered as a lookup.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from crm.activity.schemas import CaseAttachment, CaseComment
from crm.core.pagination import Page
from crm.core.schemas import NonEmptyStr, ReadSchema, UUIDList, choice_parser
from crm.models import Case
from crm.records.repository import LinkIds
from crm.records.schemas import (
    AccountLookup,
    ContactBrief,
    LinksIn,
    RecordLookups,
    TeamBrief,
    link_ids,
)
from crm.users.schemas import MemberBrief

STATUSES: tuple[str, ...] = (
    "New",
    "Assigned",
    "In Progress",
    "Pending",
    "On Hold",
    "Closed",
    "Rejected",
    "Duplicate",
)
PRIORITIES: tuple[str, ...] = ("Low", "Normal", "High", "Urgent")
CASE_TYPES: tuple[str, ...] = ("Question", "Incident", "Problem")
DEFAULT_STATUS = "New"
DEFAULT_PRIORITY = "Normal"
CLOSED = "Closed"


Status = Annotated[str, AfterValidator(choice_parser(STATUSES, "status"))]
Priority = Annotated[str, AfterValidator(choice_parser(PRIORITIES, "priority"))]


class _CaseFields(LinksIn):
    """The optional fields, shared by create and update (updates apply what was sent)."""

    case_type: str | None = Field(default=None, max_length=64, description="Free text")
    account: uuid.UUID | None = Field(default=None, description="An account the caller can see")
    contacts: UUIDList | None = Field(default=None, description="Contact ids of this org")
    closed_on: date | None = Field(
        default=None, description="Set to today when the status becomes Closed, unless sent"
    )
    description: str | None = Field(default=None, max_length=100_000)


class CaseCreate(_CaseFields):
    name: NonEmptyStr = Field(max_length=64)
    status: Status = DEFAULT_STATUS
    priority: Priority = DEFAULT_PRIORITY
    is_active: bool = False


class CaseUpdate(_CaseFields):
    """Partial (PUT and PATCH alike): only the fields sent change; ``null`` leaves a required
    field unchanged and clears an optional one."""

    name: NonEmptyStr | None = Field(default=None, max_length=64)
    status: Status | None = None
    priority: Priority | None = None
    is_active: bool | None = None


class CaseItem(ReadSchema):
    """A case in lists, write responses and related lists (§10.3): links as ids and names."""

    id: uuid.UUID
    name: str
    status: str
    priority: str
    case_type: str | None
    account: uuid.UUID | None
    contacts: list[uuid.UUID]
    closed_on: date | None
    description: str | None
    is_active: bool
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, case: Case, links: LinkIds | None = None) -> CaseItem:
        return cls(
            id=case.id,
            name=case.name,
            status=case.status,
            priority=case.priority,
            case_type=case.case_type,
            account=case.account_id,
            contacts=links.contacts if links else [c.id for c in case.contacts],
            closed_on=case.closed_on,
            description=case.description,
            is_active=case.is_active,
            org=case.org_id,
            created_on=case.created_on,
            created_at=case.created_on,
            updated_at=case.updated_at,
            created_by=case.created_by_id,
            **link_ids(case, links),
        )


class CaseListOut(Page[CaseItem], RecordLookups):
    """Envelope (A) plus the pickers' lookups and the vocabularies (§10.3)."""

    status: list[str]
    priority: list[str]
    type_of_case: list[str]


class CaseDetailOut(ReadSchema):
    cases_obj: CaseItem
    account_obj: AccountLookup | None
    contacts: list[ContactBrief]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    comments: list[CaseComment]
    attachments: list[CaseAttachment]
    users_mention: list[dict[str, str]]
    comment_permission: bool
    status: list[str]
    priority: list[str]
    type_of_case: list[str]
