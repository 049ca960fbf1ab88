"""Bodies of /api/leads/: the §6.2 fields in, the list item (also the write response, with
the conversion results as objects), the §6.3 list envelope, the §6.6 detail and the
website-capture body of §6.8."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, EmailStr, Field, field_validator

from crm.accounts.schemas import AccountItem, OpportunityBrief
from crm.core.schemas import InputSchema, MoneyIn, MoneyText, NonEmptyStr, ReadSchema, UUIDList
from crm.models import Account, Contact, Lead, Opportunity
from crm.records.repository import LinkIds
from crm.records.schemas import (
    ContactBrief,
    ContactLookup,
    LinksIn,
    TeamBrief,
    UserLookup,
    link_ids,
)
from crm.users.schemas import MemberBrief

LeadStatus = Literal["assigned", "in process", "converted", "recycled", "closed"]
STATUSES: tuple[str, ...] = ("assigned", "in process", "converted", "recycled", "closed")
CONVERTED = "converted"
CLOSED = "closed"
# §6.2: the source is free text; these are the documented values clients offer as a picker.
SOURCES: tuple[str, ...] = (
    "Website Form",
    "Cold Call",
    "Referral",
    "Trade Show",
    "Email Campaign",
    "Social Media",
    "Advertisement",
)


def normalise_status(value: Any) -> Any:
    """Statuses are matched case-insensitively and stored lower case ("In  Process" ->
    "in process")."""
    if isinstance(value, str):
        return " ".join(value.split()).lower()
    return value


def _blank_to_none(value: Any) -> Any:
    # Form clients send "" for untouched optional inputs: that means "none", not invalid.
    return None if isinstance(value, str) and not value.strip() else value


OptionalEmail = Annotated[EmailStr | None, BeforeValidator(_blank_to_none)]
OptionalMoney = Annotated[MoneyIn | None, BeforeValidator(_blank_to_none)]
OptionalDate = Annotated[date | None, BeforeValidator(_blank_to_none)]
OptionalId = Annotated[uuid.UUID | None, BeforeValidator(_blank_to_none)]


class _LeadFields(LinksIn):
    """The optional fields, shared by create and update. Defaults only matter on create:
    updates apply what was sent (``exclude_unset``)."""

    title: str | None = Field(default=None, max_length=64, description="Subject line")
    email: OptionalEmail = Field(default=None, description="Required to convert")
    phone: str | None = Field(default=None, max_length=32)
    source: str | None = Field(default=None, max_length=255, description="Free text")
    account_name: str | None = Field(
        default=None, max_length=255, description="Prospective company; required to convert"
    )
    website: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    opportunity_amount: OptionalMoney = None
    address_line: str | None = Field(default=None, max_length=255)
    street: str | None = Field(default=None, max_length=55)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postcode: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=255)
    close_date: OptionalDate = None
    industry: str | None = Field(default=None, max_length=255)
    organization: str | None = Field(default=None, max_length=255)
    skype_id: str | None = Field(default=None, max_length=100, alias="skype_ID")
    enquiry_type: str | None = Field(default=None, max_length=255)
    company: OptionalId = Field(default=None, description="Id of a company of this org")
    is_active: bool | None = None
    contacts: UUIDList | None = Field(default=None, description="Contact ids of this org")
    auto_convert: bool = Field(
        default=False, description="Convert into an account, contact and opportunity now"
    )

    @field_validator("status", mode="before", check_fields=False)
    @classmethod
    def _normalise_status(cls, value: Any) -> Any:
        return normalise_status(value)


class LeadCreate(_LeadFields):
    first_name: NonEmptyStr = Field(max_length=255)
    last_name: NonEmptyStr = Field(max_length=255)
    status: LeadStatus = Field(default="assigned", description="'converted' converts the lead")
    probability: int = Field(default=0, ge=0, le=100)


class LeadUpdate(_LeadFields):
    """Partial (PUT and PATCH alike): only the fields sent change (§6.7)."""

    first_name: NonEmptyStr | None = Field(default=None, max_length=255)
    last_name: NonEmptyStr | None = Field(default=None, max_length=255)
    status: LeadStatus | None = Field(default=None, description="'converted' converts the lead")
    probability: int | None = Field(default=None, ge=0, le=100)


class SiteLeadCreate(InputSchema):
    """A lead sent by a website form (§6.8); the key may come in the body or the query."""

    apikey: str | None = Field(default=None, max_length=64)
    first_name: NonEmptyStr = Field(max_length=255)
    last_name: NonEmptyStr = Field(max_length=255)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=32)
    account_name: str | None = Field(default=None, max_length=255)
    source: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=64)
    message: str | None = Field(default=None, max_length=100_000, description="The description")


# -- responses ----------------------------------------------------------------------------


class LeadAddress(ReadSchema):
    address_line: str | None
    street: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None


class _LeadRead(ReadSchema):
    id: uuid.UUID
    title: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    status: str
    source: str | None
    account_name: str | None
    website: str | None
    description: str | None
    opportunity_amount: MoneyText | None
    probability: int
    close_date: date | None
    industry: str | None
    organization: str | None
    skype_id: str | None = Field(alias="skype_ID")
    enquiry_type: str | None
    company: uuid.UUID | None
    address_line: str | None
    street: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None
    is_active: bool
    created_from_site: bool
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    org: uuid.UUID
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    contacts: list[uuid.UUID]

    @staticmethod
    def values(lead: Lead, links: LinkIds | None = None) -> dict[str, Any]:
        return {
            "id": lead.id,
            "title": lead.title,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
            "status": lead.status,
            "source": lead.source,
            "account_name": lead.account_name,
            "website": lead.website,
            "description": lead.description,
            "opportunity_amount": lead.opportunity_amount,
            "probability": lead.probability,
            "close_date": lead.close_date,
            "industry": lead.industry,
            "organization": lead.organization,
            "skype_id": lead.skype_id,
            "enquiry_type": lead.enquiry_type,
            "company": lead.company_id,
            "address_line": lead.address_line,
            "street": lead.street,
            "city": lead.city,
            "state": lead.state,
            "postcode": lead.postcode,
            "country": lead.country,
            "is_active": lead.is_active,
            "created_from_site": lead.created_from_site,
            "created_on": lead.created_on,
            "created_at": lead.created_on,
            "updated_at": lead.updated_at,
            "created_by": lead.created_by_id,
            "org": lead.org_id,
            "contacts": links.contacts if links else [c.id for c in lead.contacts],
            **link_ids(lead, links),
        }


class LeadItem(_LeadRead):
    """A lead in lists, detail (``lead_obj``) and the capture response: links as ids and
    names (§1.7), conversion results as ids."""

    converted_account: uuid.UUID | None
    converted_contact: uuid.UUID | None
    converted_opportunity: uuid.UUID | None

    @classmethod
    def of(cls, lead: Lead, links: LinkIds | None = None) -> LeadItem:
        return cls(
            **cls.values(lead, links),
            converted_account=lead.converted_account_id,
            converted_contact=lead.converted_contact_id,
            converted_opportunity=lead.converted_opportunity_id,
        )


class LeadWriteOut(_LeadRead):
    """Create and update responses (§6.4): the item with what the lead was converted into,
    as objects, and their ids (null while the lead is not converted)."""

    converted_account: AccountItem | None
    converted_contact: ContactBrief | None
    converted_opportunity: OpportunityBrief | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None

    @classmethod
    def of(
        cls,
        lead: Lead,
        account: Account | None,
        contact: Contact | None,
        opportunity: Opportunity | None,
    ) -> LeadWriteOut:
        return cls(
            **cls.values(lead),
            converted_account=AccountItem.of(account) if account else None,
            converted_contact=ContactBrief.of(contact) if contact else None,
            converted_opportunity=OpportunityBrief.of(opportunity) if opportunity else None,
            account_id=lead.converted_account_id,
            contact_id=lead.converted_contact_id,
            opportunity_id=lead.converted_opportunity_id,
        )


class CompanyLookup(ReadSchema):
    id: uuid.UUID
    name: str


class LeadListOut(ReadSchema):
    """Envelope (B): open and closed leads, each paginated with the same limit/offset;
    converted leads are never listed (§6.3)."""

    open_leads: list[LeadItem]
    closed_leads: list[LeadItem]
    open_leads_count: int
    closed_leads_count: int
    leads_count: int
    next_open: str | None
    next_closed: str | None
    contacts: list[ContactLookup]
    users: list[UserLookup]
    source_list: list[str]
    tags: list[str]
    status: list[str]
    companies: list[CompanyLookup]


class LeadDetailOut(ReadSchema):
    lead_obj: LeadItem
    address_obj: LeadAddress
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    comments: list[Any]
    attachments: list[Any]
    contacts: list[ContactBrief]
    users_mention: list[dict[str, str]]
    tags: list[str]
    converted_account: AccountItem | None
    converted_contact: ContactBrief | None
    converted_opportunity: OpportunityBrief | None


# -- export (GET /api/leads/export/) --------------------------------------------------------

# The import's columns first, under the names it reads, so an export imports back; then
# what an import ignores.
LEAD_IMPORT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "website",
    "address_line",
    "street",
    "city",
    "state",
    "postcode",
    "country",
    "description",
    "status",
    "source",
    "account_name",
    "opportunity_amount",
    "probability",
    "industry",
    "organization",
)
LEAD_EXPORT_HEADERS = (*LEAD_IMPORT_FIELDS, "tags", "created_on", "id")


def lead_export_row(lead: Lead, links: LinkIds) -> tuple[Any, ...]:
    return (
        *(getattr(lead, name) for name in LEAD_IMPORT_FIELDS),
        ", ".join(links.tags),
        lead.created_on,
        lead.id,
    )
