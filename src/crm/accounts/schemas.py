"""Bodies of /api/accounts/."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, EmailStr, Field, field_validator

from crm.activity.schemas import AttachmentRead, CommentRead
from crm.cases.schemas import CaseItem
from crm.core.schemas import InputSchema, NameList, NonEmptyStr, ReadSchema, UUIDList
from crm.invoices.schemas import InvoiceItem
from crm.models import Account, Opportunity, OutboundEmail
from crm.records.repository import LinkIds
from crm.records.schemas import (
    ContactBrief,
    ContactLookup,
    LinksIn,
    TeamBrief,
    UserLookup,
    link_ids,
)
from crm.tasks.schemas import TaskItem
from crm.users.schemas import MemberBrief

AccountStatus = Literal["open", "closed"]


def _status(value: Any) -> Any:
    # Django-CRM spells it "close"; the docs say "closed" (§4.2). Accept both, store "closed".
    if isinstance(value, str):
        value = value.strip().lower()
        return "closed" if value == "close" else value
    return value


class _AccountFields(LinksIn):
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32)
    industry: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    website: str | None = Field(default=None, max_length=255)
    billing_address_line: str | None = Field(default=None, max_length=255)
    billing_street: str | None = Field(default=None, max_length=55)
    billing_city: str | None = Field(default=None, max_length=255)
    billing_state: str | None = Field(default=None, max_length=255)
    billing_postcode: str | None = Field(default=None, max_length=64)
    billing_country: str | None = Field(default=None, max_length=255)
    contact_name: str | None = Field(default=None, max_length=120)
    is_active: bool | None = None
    contacts: UUIDList | None = Field(default=None, description="Contact ids of this org")

    @field_validator("status", mode="before", check_fields=False)
    @classmethod
    def _normalise_status(cls, value: Any) -> Any:
        return _status(value)


class AccountCreate(_AccountFields):
    name: NonEmptyStr = Field(max_length=64)
    status: AccountStatus = "open"


class AccountUpdate(_AccountFields):
    """Partial (PUT and PATCH alike): only the fields sent change (§4.6)."""

    name: NonEmptyStr | None = Field(default=None, max_length=64)
    status: AccountStatus | None = None


class AccountItem(ReadSchema):
    """An account in lists and write responses: links as ids and names (§1.7)."""

    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    industry: str | None
    description: str | None
    website: str | None
    status: str
    billing_address_line: str | None
    billing_street: str | None
    billing_city: str | None
    billing_state: str | None
    billing_postcode: str | None
    billing_country: str | None
    contact_name: str | None
    is_active: bool
    lead: uuid.UUID | None
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    contacts: list[uuid.UUID]

    @classmethod
    def of(cls, account: Account, links: LinkIds | None = None) -> AccountItem:
        return cls(
            id=account.id,
            name=account.name,
            email=account.email,
            phone=account.phone,
            industry=account.industry,
            description=account.description,
            website=account.website,
            status=account.status,
            billing_address_line=account.billing_address_line,
            billing_street=account.billing_street,
            billing_city=account.billing_city,
            billing_state=account.billing_state,
            billing_postcode=account.billing_postcode,
            billing_country=account.billing_country,
            contact_name=account.contact_name,
            is_active=account.is_active,
            lead=account.lead_id,
            org=account.org_id,
            created_on=account.created_on,
            created_at=account.created_on,
            updated_at=account.updated_at,
            created_by=account.created_by_id,
            contacts=links.contacts if links else [c.id for c in account.contacts],
            **link_ids(account, links),
        )


class OpportunityBrief(ReadSchema):
    id: uuid.UUID
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    probability: int
    expected_close_date: Any

    @classmethod
    def of(cls, opportunity: Opportunity) -> OpportunityBrief:
        return cls.model_validate(opportunity)


class AccountListOut(ReadSchema):
    """Envelope (B): open and closed accounts, each paginated with the same limit/offset."""

    open_accounts: list[AccountItem]
    closed_accounts: list[AccountItem]
    accounts_count: int
    open_accounts_count: int
    closed_accounts_count: int
    next_open: str | None
    next_closed: str | None
    contacts: list[ContactLookup]
    users: list[UserLookup]
    teams: list[TeamBrief]
    tags: list[str]
    status: list[str]


class AccountDetailOut(ReadSchema):
    account_obj: AccountItem
    contacts: list[ContactBrief]
    opportunities: list[OpportunityBrief]
    opportunity_list: list[OpportunityBrief]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    comments: list[CommentRead]
    attachments: list[AttachmentRead]
    # The account's cases, tasks and invoices the caller can see.
    cases: list[CaseItem]
    tasks: list[TaskItem]
    invoices: list[InvoiceItem]
    emails: list[AccountEmailOut]
    users_mention: list[dict[str, str]]
    comment_permission: bool


class AccountMailIn(InputSchema):
    """§4.8: both vocabularies (docs and Django-CRM) are accepted."""

    recipients: NameList = Field(
        min_length=1, description="Contact ids of this org, or e-mail addresses"
    )
    subject: str = Field(
        min_length=1, max_length=998, validation_alias=AliasChoices("subject", "message_subject")
    )
    html: str = Field(
        default="", max_length=1_000_000, validation_alias=AliasChoices("html", "message_body")
    )
    from_email: EmailStr | None = Field(
        default=None,
        validation_alias=AliasChoices("from_email", "from_account"),
        description="Sender address",
    )
    scheduled_later: bool = False
    scheduled_date_time: datetime | None = None
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown time zone {value!r}") from exc
        return value

    def send_at(self) -> datetime | None:
        """When to send, in UTC; None means now. Naive times are read in ``timezone``."""
        if not self.scheduled_later or self.scheduled_date_time is None:
            return None
        when = self.scheduled_date_time
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(self.timezone))
        return when.astimezone(UTC)


class AccountMailOut(ReadSchema):
    status: str = "success"
    message: str
    email_id: uuid.UUID
    email_ids: list[uuid.UUID]


class AccountEmailOut(ReadSchema):
    id: uuid.UUID
    subject: str
    recipients: list[dict[str, Any]]
    from_email: str
    status: str
    scheduled_at: datetime
    sent_at: datetime | None
    created_on: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, email: OutboundEmail) -> AccountEmailOut:
        return cls(
            id=email.id,
            subject=email.subject,
            recipients=email.recipients,
            from_email=email.from_email,
            status=email.status,
            scheduled_at=email.scheduled_at,
            sent_at=email.sent_at,
            created_on=email.created_on,
            created_by=email.created_by_id,
        )


# -- export (GET /api/accounts/export/) -----------------------------------------------------

ACCOUNT_EXPORT_FIELDS = (
    "name",
    "email",
    "phone",
    "industry",
    "website",
    "status",
    "billing_address_line",
    "billing_street",
    "billing_city",
    "billing_state",
    "billing_postcode",
    "billing_country",
    "contact_name",
    "description",
)
ACCOUNT_EXPORT_HEADERS = (*ACCOUNT_EXPORT_FIELDS, "tags", "created_on", "id")


def account_export_row(account: Account, links: LinkIds) -> tuple[Any, ...]:
    return (
        *(getattr(account, name) for name in ACCOUNT_EXPORT_FIELDS),
        ", ".join(links.tags),
        account.created_on,
        account.id,
    )
