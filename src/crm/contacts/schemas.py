"""Bodies of /api/contacts/: the §5.2 fields (address flat on the contact), the list item of
§5.3 (also the create/update response) and the detail of §5.5."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, EmailStr, Field, field_validator
from pydantic.networks import validate_email

from crm.activity.schemas import ContactAttachment, ContactComment
from crm.core.clock import today
from crm.core.pagination import Page
from crm.core.schemas import NonEmptyStr, ReadSchema
from crm.models import Contact
from crm.records.repository import LinkIds
from crm.records.schemas import LinksIn, TeamBrief, link_ids
from crm.users.schemas import AddressIn, MemberBrief, Phone


def _blank_to_none(value: Any) -> Any:
    """An empty optional value means "none" (form clients send "" for untouched inputs)."""
    return None if isinstance(value, str) and not value.strip() else value


def _none_to_blank(value: Any) -> Any:
    """For text columns that store "" rather than NULL."""
    return "" if value is None else value


def _email_or_blank(value: str) -> str:
    return validate_email(value)[1] if value else ""


def _web_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme in ("http", "https")
            and "." in (parts.hostname or "")
            and not any(c.isspace() for c in value)
        )
    except ValueError:  # e.g. a malformed IPv6 host
        valid = False
    if not valid:
        raise ValueError(
            "Enter a valid URL with http:// or https://, e.g. https://example.com/name"
        )
    return value


def _not_in_future(value: date | None) -> date | None:
    if value is not None and value > today():
        raise ValueError("Date of birth cannot be in the future")
    return value


# Stored as "" when absent (the column is NOT NULL).
BlankableEmail = Annotated[
    str, BeforeValidator(_none_to_blank), AfterValidator(_email_or_blank), Field(max_length=254)
]
OptionalPhone = Annotated[Phone | None, BeforeValidator(_blank_to_none)]
WebURL = Annotated[
    Annotated[str, Field(max_length=255)] | None,
    BeforeValidator(_blank_to_none),
    AfterValidator(_web_url),
]
Text255 = Annotated[str | None, Field(max_length=255)]

_REQUIRED = ("first_name", "last_name", "primary_email")


class _ContactFields(AddressIn, LinksIn):
    """The optional fields, shared by create and update. Defaults only matter on create:
    updates apply what was sent (``exclude_unset``)."""

    salutation: Annotated[str, BeforeValidator(_none_to_blank)] = Field(default="", max_length=255)
    date_of_birth: Annotated[date | None, AfterValidator(_not_in_future)] = None
    organization: Text255 = Field(default=None, description="Company name, as text")
    title: Text255 = Field(default=None, description="Job title")
    secondary_email: BlankableEmail = ""
    mobile_number: OptionalPhone = None
    secondary_number: OptionalPhone = None
    department: Text255 = None
    language: Text255 = None
    do_not_call: bool = False
    description: str | None = Field(default=None, max_length=100_000)
    linked_in_url: WebURL = None
    facebook_url: WebURL = None
    twitter_username: Text255 = None
    is_active: bool = False


class ContactCreate(_ContactFields):
    first_name: NonEmptyStr = Field(max_length=255)
    last_name: NonEmptyStr = Field(max_length=255)
    primary_email: EmailStr = Field(description="Unique in the org, case-insensitively")


class ContactUpdate(_ContactFields):
    """Partial (PUT and PATCH alike): only the fields sent change; a list field replaces the
    relation only when sent (§5.4, §4.6)."""

    first_name: NonEmptyStr | None = Field(default=None, max_length=255)
    last_name: NonEmptyStr | None = Field(default=None, max_length=255)
    primary_email: EmailStr | None = None

    @field_validator(*_REQUIRED, mode="before")
    @classmethod
    def _required_stays_set(cls, value: Any) -> Any:
        # Runs only for values sent: null cannot clear a required field.
        if value is None:
            raise ValueError("This field may not be null.")
        return value


# Output names that are not the model's attribute names.
_RENAMED = {"org": "org_id", "created_by": "created_by_id", "created_at": "created_on"}


class ContactItem(ReadSchema):
    """A contact in lists and write responses: address flat, links as ids and names (§5.3)."""

    id: uuid.UUID
    salutation: str
    first_name: str
    last_name: str
    primary_email: str
    secondary_email: str
    mobile_number: str | None
    organization: str | None
    title: str | None
    department: str | None
    address_line: str | None
    street: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None
    do_not_call: bool
    created_on: datetime
    created_at: datetime
    created_by: uuid.UUID | None
    org: uuid.UUID
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]

    @classmethod
    def of(cls, contact: Contact) -> Self:
        links = link_ids(contact)
        return cls(
            **{
                name: links[name] if name in links else getattr(contact, _RENAMED.get(name, name))
                for name in cls.model_fields
            }
        )


class ContactRecord(ContactItem):
    """The whole contact, as ``contact_obj`` of the detail: the item and every other field."""

    date_of_birth: date | None
    secondary_number: str | None
    language: str | None
    description: str | None
    linked_in_url: str | None
    facebook_url: str | None
    twitter_username: str | None
    is_active: bool
    updated_at: datetime


class ContactAddress(ReadSchema):
    address_line: str | None
    street: str | None
    city: str | None
    state: str | None
    postcode: str | None
    country: str | None


class LinkedRecord(ReadSchema):
    """An account or opportunity that lists the contact."""

    id: uuid.UUID
    name: str


class ContactListOut(Page[ContactItem]):
    """Envelope (A) plus the picker lookup of the org's active members."""

    users: list[MemberBrief]


class ContactDetailOut(ReadSchema):
    contact_obj: ContactRecord
    address_obj: ContactAddress
    comments: list[ContactComment]
    attachments: list[ContactAttachment]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    users_mention: list[dict[str, str]]
    opportunities: list[LinkedRecord]
    accounts: list[LinkedRecord]


# -- export (GET /api/contacts/export/) -----------------------------------------------------

CONTACT_EXPORT_FIELDS = (
    "salutation",
    "first_name",
    "last_name",
    "title",
    "organization",
    "primary_email",
    "secondary_email",
    "mobile_number",
    "secondary_number",
    "department",
    "language",
    "do_not_call",
    "date_of_birth",
    "address_line",
    "street",
    "city",
    "state",
    "postcode",
    "country",
    "description",
    "linked_in_url",
    "facebook_url",
    "twitter_username",
)
CONTACT_EXPORT_HEADERS = (*CONTACT_EXPORT_FIELDS, "tags", "created_on", "id")


def contact_export_row(contact: Contact, links: LinkIds) -> tuple[Any, ...]:
    return (
        *(getattr(contact, name) for name in CONTACT_EXPORT_FIELDS),
        ", ".join(links.tags),
        contact.created_on,
        contact.id,
    )
