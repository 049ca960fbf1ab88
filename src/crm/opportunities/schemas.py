"""Bodies of /api/opportunities/, and the pipeline vocabulary: stages and their default
probabilities.

Stages are the union of the docs' and Django-CRM's spellings (§8.3), accepted in any case
(runs of spaces count as one) and stored upper case. A probability that is not sent comes
from the stage, on create and whenever the stage changes: the table below rises through the
pipeline, won is certain and lost is nothing. Both spellings of the proposal stage weigh
the same. PROSPECTING, ERPNext's first stage, joins them for the /api/crm/ surface
(docs/erpnext.md).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, Field

from crm.accounts.schemas import AccountItem
from crm.activity.schemas import OpportunityAttachment, OpportunityComment
from crm.core.pagination import Page
from crm.core.schemas import (
    CurrencyCode,
    MoneyIn,
    MoneyText,
    NonEmptyStr,
    ReadSchema,
    UUIDList,
)
from crm.models import Account, Opportunity
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

STAGE_PROBABILITY: dict[str, int] = {
    "PROSPECTING": 5,  # ERPNext's first stage (§9), the default there
    "QUALIFICATION": 10,
    "NEEDS ANALYSIS": 20,
    "VALUE PROPOSITION": 30,
    "ID.DECISION MAKERS": 40,
    "PERCEPTION ANALYSIS": 50,
    "PROPOSAL/QUOTATION": 60,  # the docs' spelling
    "PROPOSAL/PRICE QUOTE": 60,  # Django-CRM's spelling
    "NEGOTIATION/REVIEW": 80,
    "CLOSED WON": 100,
    "CLOSED LOST": 0,
}
STAGES: tuple[str, ...] = tuple(STAGE_PROBABILITY)
DEFAULT_STAGE = "QUALIFICATION"
CLOSED_STAGES = frozenset({"CLOSED WON", "CLOSED LOST"})
DEFAULT_CURRENCY = "USD"


def stage_key(value: str) -> str:
    """The stored spelling of a stage as typed: upper case, single spaces."""
    return " ".join(value.split()).upper()


def _stage(value: str) -> str:
    key = stage_key(value)
    if key not in STAGE_PROBABILITY:
        raise ValueError(f"Unknown stage {value!r}; use one of: {', '.join(STAGES)}")
    return key


Stage = Annotated[str, AfterValidator(_stage)]
_DEFAULTS_TEXT = ", ".join(f"{stage} {percent}" for stage, percent in STAGE_PROBABILITY.items())
Probability = Annotated[int, Field(ge=0, le=100)]


class _OpportunityFields(LinksIn):
    """The optional fields, shared by create and update. Defaults only matter on create:
    updates apply what was sent (``exclude_unset``)."""

    amount: MoneyIn | None = Field(default=None, description="Deal value, 2 decimal places")
    probability: Probability | None = Field(
        default=None, description=f"0-100; when not sent, the stage's default: {_DEFAULTS_TEXT}"
    )
    expected_close_date: date | None = Field(
        default=None,
        validation_alias=AliasChoices("expected_close_date", "due_date", "closed_on"),
        description="Also accepted as due_date or closed_on (Django-CRM's keys)",
    )
    lead_source: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    contacts: UUIDList | None = Field(default=None, description="Contact ids of this org")


class OpportunityCreate(_OpportunityFields):
    name: NonEmptyStr = Field(max_length=64)
    account: uuid.UUID = Field(description="An account of this org the caller can see")
    stage: Stage = DEFAULT_STAGE
    currency: CurrencyCode = DEFAULT_CURRENCY
    is_active: bool = False


class OpportunityUpdate(_OpportunityFields):
    """Partial (PUT and PATCH alike): only the fields sent change. ``null`` leaves a required
    field unchanged, except ``account``, which cannot be removed."""

    name: NonEmptyStr | None = Field(default=None, max_length=64)
    account: uuid.UUID | None = None
    stage: Stage | None = None
    currency: CurrencyCode | None = None
    is_active: bool | None = None


def _fields(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "id": opportunity.id,
        "name": opportunity.name,
        "stage": opportunity.stage,
        "amount": opportunity.amount,
        "currency": opportunity.currency,
        "probability": opportunity.probability,
        "expected_close_date": opportunity.expected_close_date,
        "actual_close_date": opportunity.actual_close_date,
        "closed_by": opportunity.closed_by_id,
        "lead_source": opportunity.lead_source,
        "description": opportunity.description,
        "is_active": opportunity.is_active,
        "org": opportunity.org_id,
        "created_on": opportunity.created_on,
        "created_at": opportunity.created_on,
        "updated_at": opportunity.updated_at,
        "created_by": opportunity.created_by_id,
    }


class _OpportunityScalars(ReadSchema):
    id: uuid.UUID
    name: str
    stage: str
    amount: MoneyText | None
    currency: str
    probability: int
    expected_close_date: date | None
    actual_close_date: date | None
    closed_by: uuid.UUID | None
    lead_source: str | None
    description: str | None
    is_active: bool
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None


class OpportunityItem(_OpportunityScalars):
    """An opportunity in lists and write responses (§8.4): the account by name (and id),
    links as ids and names. The account is null only for an opportunity made on the
    ERPNext-style surface for a lead or a prospect (§9)."""

    account: str | None
    account_id: uuid.UUID | None
    assigned_to: list[uuid.UUID]
    teams: list[uuid.UUID]
    tags: list[str]
    contacts: list[uuid.UUID]

    @classmethod
    def of(cls, opportunity: Opportunity, links: LinkIds | None = None) -> OpportunityItem:
        return cls(
            **_fields(opportunity),
            account=opportunity.account.name if opportunity.account else None,
            account_id=opportunity.account_id,
            contacts=links.contacts if links else [c.id for c in opportunity.contacts],
            **link_ids(opportunity, links),
        )


class OpportunityObj(_OpportunityScalars):
    """The ``opportunity_obj`` of the detail (§8.5): the account by id."""

    account: uuid.UUID | None

    @classmethod
    def of(cls, opportunity: Opportunity) -> OpportunityObj:
        return cls(**_fields(opportunity), account=opportunity.account_id)


class CurrencyForecast(ReadSchema):
    """Totals of one currency over every opportunity the list filters select: ``amount`` is
    the sum of amounts, ``weighted_amount`` the sum of amount x probability / 100, rounded
    half-up to cents once, after summing. Opportunities without an amount count as 0."""

    currency: str
    count: int
    amount: MoneyText
    weighted_amount: MoneyText


class AccountLookup(ReadSchema):
    id: uuid.UUID
    name: str

    @classmethod
    def of(cls, account: Account) -> AccountLookup:
        return cls(id=account.id, name=account.name)


class OpportunityListOut(Page[OpportunityItem]):
    """Envelope (A) plus the forecast of the filtered set and the pickers' lookups (§8.4)."""

    forecast: list[CurrencyForecast]
    accounts_list: list[AccountLookup]
    contacts_list: list[ContactLookup]
    users: list[UserLookup]
    teams: list[TeamBrief]
    stages: list[str]


class OpportunityDetailOut(ReadSchema):
    opportunity_obj: OpportunityObj
    account_obj: AccountItem | None
    contacts: list[ContactBrief]
    assigned_to: list[MemberBrief]
    teams: list[TeamBrief]
    tags: list[str]
    comments: list[OpportunityComment]
    attachments: list[OpportunityAttachment]
    users_mention: list[dict[str, str]]
    comment_permission: bool


# -- export (GET /api/opportunities/export/) ------------------------------------------------

OPPORTUNITY_EXPORT_HEADERS = (
    "name",
    "account",
    "stage",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "lead_source",
    "description",
    "tags",
    "created_on",
    "id",
)


def opportunity_export_row(opportunity: Opportunity, links: LinkIds) -> tuple[Any, ...]:
    return (
        opportunity.name,
        opportunity.account.name if opportunity.account is not None else None,
        opportunity.stage,
        opportunity.amount,
        opportunity.currency,
        opportunity.probability,
        opportunity.expected_close_date,
        opportunity.lead_source,
        opportunity.description,
        ", ".join(links.tags),
        opportunity.created_on,
        opportunity.id,
    )
