"""Bodies of /api/crm/ (§9): the ERPNext Opportunity and its child rows, in ERPNext's names.

Every response object carries every key, null when unset. Numbers are JSON numbers, as
ERPNext sends them; money has 2 decimal places, quantities and rates up to 4, the exchange
rate up to 9. Dates are ``YYYY-MM-DD``, timestamps ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, EmailStr, Field, PlainSerializer, model_validator

from crm.core.db import CENTS
from crm.core.schemas import CurrencyCode, InputSchema, MoneyIn, NonEmptyStr, choice_parser
from crm.erp import ids
from crm.models import Opportunity, OpportunityItem, OpportunityLostReason

OPPORTUNITY_FROM: tuple[str, ...] = ("Lead", "Customer", "Prospect")
STATUSES: tuple[str, ...] = ("Open", "Quotation", "Converted", "Lost", "Replied", "Closed")
# ERPNext's sales stages (and the two closing ones) <-> the stored stages (§8.3).
ERP_STAGES: dict[str, str] = {
    "Prospecting": "PROSPECTING",
    "Qualification": "QUALIFICATION",
    "Needs Analysis": "NEEDS ANALYSIS",
    "Value Proposition": "VALUE PROPOSITION",
    "Identifying Decision Makers": "ID.DECISION MAKERS",
    "Perception Analysis": "PERCEPTION ANALYSIS",
    "Proposal/Price Quote": "PROPOSAL/PRICE QUOTE",
    "Negotiation/Review": "NEGOTIATION/REVIEW",
    "Closed Won": "CLOSED WON",
    "Closed Lost": "CLOSED LOST",
}
# Stored stage -> ERPNext name; the docs' second spelling of the proposal stage included.
STAGE_NAMES: dict[str, str] = {
    **{stored: name for name, stored in ERP_STAGES.items()},
    "PROPOSAL/QUOTATION": "Proposal/Price Quote",
}
DEFAULT_STAGE = "Prospecting"
DEFAULT_STATUS = "Open"
DEFAULT_PROBABILITY = 100


def _sales_stage(value: str) -> str:
    """An ERPNext stage name (any case), or a stored stage (``NEEDS ANALYSIS``), to the
    stored stage."""
    key = " ".join(value.split()).casefold()
    for name, stored in ERP_STAGES.items():
        if key in (name.casefold(), stored.casefold()):
            return stored
    if key == "proposal/quotation":
        return "PROPOSAL/QUOTATION"
    raise ValueError(f"Unknown sales_stage {value!r}; use one of: {', '.join(ERP_STAGES)}")


def number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


Number = Annotated[Decimal, PlainSerializer(number, return_type=float)]
SalesStage = Annotated[str, AfterValidator(_sales_stage)]
OpportunityFrom = Annotated[
    str, AfterValidator(choice_parser(OPPORTUNITY_FROM, "opportunity_from"))
]
Status = Annotated[str, AfterValidator(choice_parser(STATUSES, "status"))]
Text255 = Annotated[str, Field(max_length=255)]
Rate = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)]
Qty = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
ConversionRate = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=9)]


class _OpportunityFields(InputSchema):
    """Everything but the four fields a create requires."""

    customer_name: Text255 | None = None
    title: NonEmptyStr | None = Field(default=None, max_length=64)
    opportunity_type: str | None = Field(default=None, max_length=64)
    status: Status | None = None
    order_lost_reason: str | None = Field(default=None, max_length=10_000)
    expected_closing: date | None = None
    currency: CurrencyCode | None = None
    opportunity_amount: MoneyIn | None = None
    sales_stage: SalesStage | None = None
    probability: int | None = Field(default=None, ge=0, le=100)
    customer_address: Text255 | None = None
    address_display: str | None = Field(default=None, max_length=10_000)
    territory: Text255 | None = None
    customer_group: Text255 | None = None
    contact_person: Text255 | None = None
    contact_display: str | None = Field(default=None, max_length=10_000)
    contact_email: EmailStr | None = None
    contact_mobile: str | None = Field(default=None, max_length=64)
    first_response_time: int | None = Field(default=None, ge=0, le=10**12)
    language: str | None = Field(default=None, max_length=16)
    conversion_rate: ConversionRate | None = None
    annual_revenue: MoneyIn | None = None
    no_of_employees: str | None = Field(default=None, max_length=32)
    industry: Text255 | None = None
    market_segment: Text255 | None = None
    opportunity_owner: Text255 | None = None
    website: Text255 | None = None
    whatsapp: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    phone_ext: str | None = Field(default=None, max_length=16)
    job_title: Text255 | None = None
    city: Text255 | None = None
    state: Text255 | None = None
    country: Text255 | None = None
    utm_source: Text255 | None = None
    utm_campaign: Text255 | None = None
    utm_medium: Text255 | None = None
    utm_content: Text255 | None = None


class OpportunityCreateIn(_OpportunityFields):
    opportunity_from: OpportunityFrom
    party_name: NonEmptyStr = Field(max_length=255)
    company: NonEmptyStr = Field(max_length=255)
    transaction_date: date


class OpportunityPatchIn(_OpportunityFields):
    """Only the keys sent change; ``null`` clears an optional field. The four required
    fields cannot be cleared."""

    opportunity_from: OpportunityFrom | None = None
    party_name: NonEmptyStr | None = Field(default=None, max_length=255)
    company: NonEmptyStr | None = Field(default=None, max_length=255)
    transaction_date: date | None = None


# The ERPNext fields stored as sent, in columns of the same name.
PASSTHROUGH: tuple[str, ...] = (
    "opportunity_type",
    "order_lost_reason",
    "customer_address",
    "address_display",
    "territory",
    "customer_group",
    "contact_person",
    "contact_display",
    "contact_email",
    "contact_mobile",
    "company",
    "transaction_date",
    "first_response_time",
    "language",
    "conversion_rate",
    "annual_revenue",
    "no_of_employees",
    "industry",
    "market_segment",
    "opportunity_owner",
    "website",
    "whatsapp",
    "phone",
    "phone_ext",
    "job_title",
    "city",
    "state",
    "country",
    "utm_source",
    "utm_campaign",
    "utm_medium",
    "utm_content",
)


class OpportunityOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
    opportunity_from: str | None
    party_name: str | None
    customer_name: str | None
    title: str
    opportunity_type: str | None
    status: str
    order_lost_reason: str | None
    expected_closing: date | None
    currency: str
    opportunity_amount: Number | None
    sales_stage: str
    probability: int
    customer_address: str | None
    address_display: str | None
    territory: str | None
    customer_group: str | None
    contact_person: str | None
    contact_display: str | None
    contact_email: str | None
    contact_mobile: str | None
    company: str | None
    transaction_date: date | None
    first_response_time: int | None
    language: str | None
    base_opportunity_amount: Number | None
    base_total: Number | None
    total: Number | None
    conversion_rate: Number | None
    no_of_employees: str | None
    annual_revenue: Number | None
    industry: str | None
    market_segment: str | None
    opportunity_owner: str | None
    website: str | None
    whatsapp: str | None
    phone: str | None
    phone_ext: str | None
    job_title: str | None
    city: str | None
    state: str | None
    country: str | None
    utm_source: str | None
    utm_campaign: str | None
    utm_medium: str | None
    utm_content: str | None

    @classmethod
    def of(cls, opportunity: Opportunity) -> OpportunityOut:
        account = opportunity.account
        rate = opportunity.conversion_rate or Decimal(1)
        amount = opportunity.amount
        return cls(
            id=ids.public_id(ids.OPPORTUNITY, opportunity.id),
            created_at=opportunity.created_on,
            updated_at=opportunity.updated_at,
            # An opportunity made on /api/opportunities/ is a customer's: its account's.
            opportunity_from=opportunity.opportunity_from or ("Customer" if account else None),
            party_name=account.name if account else opportunity.party_name,
            customer_name=account.name if account else opportunity.customer_name,
            title=opportunity.name,
            status=opportunity.status,
            expected_closing=opportunity.expected_close_date,
            currency=opportunity.currency,
            opportunity_amount=amount,
            sales_stage=STAGE_NAMES.get(opportunity.stage, opportunity.stage),
            probability=opportunity.probability,
            base_opportunity_amount=(
                None if amount is None else (amount * rate).quantize(CENTS, rounding=ROUND_HALF_UP)
            ),
            total=opportunity.total,
            base_total=opportunity.base_total,
            **{field: getattr(opportunity, field) for field in PASSTHROUGH},
        )


class ItemFields(InputSchema):
    item_code: str | None = Field(default=None, max_length=140)
    item_name: Text255 | None = None
    item_group: str | None = Field(default=None, max_length=140)
    brand: str | None = Field(default=None, max_length=140)
    uom: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=10_000)
    image: str | None = Field(default=None, max_length=1000)
    image_view: str | None = Field(default=None, max_length=1000)
    qty: Qty | None = None
    rate: Rate | None = None
    amount: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=4)] | None = Field(
        default=None, description="qty x rate when not sent"
    )
    idx: int | None = Field(default=None, ge=1, description="Position; the end when not sent")


class ItemCreateIn(ItemFields):
    opportunity_id: str = Field(
        description="The opportunity (also accepted as parent_id)", min_length=1
    )

    @model_validator(mode="before")
    @classmethod
    def _parent(cls, data: Any) -> Any:
        return parent_key(data)


class ItemOut(BaseModel):
    id: str
    idx: int
    opportunity_id: str
    parent_id: str
    item_code: str | None
    item_name: str | None
    item_group: str | None
    brand: str | None
    uom: str | None
    description: str | None
    image: str | None
    image_view: str | None
    qty: Number
    rate: Number
    amount: Number
    base_rate: Number
    base_amount: Number
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: OpportunityItem) -> ItemOut:
        parent = ids.public_id(ids.OPPORTUNITY, item.opportunity_id)
        return cls(
            id=ids.public_id(ids.ITEM, item.id),
            idx=item.idx,
            opportunity_id=parent,
            parent_id=parent,
            item_code=item.item_code,
            item_name=item.item_name,
            item_group=item.item_group,
            brand=item.brand,
            uom=item.uom,
            description=item.description,
            image=item.image,
            image_view=item.image_view,
            qty=item.qty,
            rate=item.rate,
            amount=item.amount,
            base_rate=item.base_rate,
            base_amount=item.base_amount,
            created_at=item.created_on,
            updated_at=item.updated_at,
        )


class LostReasonFields(InputSchema):
    lost_reason: NonEmptyStr | None = Field(default=None, max_length=255)
    idx: int | None = Field(default=None, ge=1, description="Position; the end when not sent")


class LostReasonCreateIn(LostReasonFields):
    opportunity_id: str = Field(min_length=1, description="Also accepted as parent_id")
    lost_reason: NonEmptyStr = Field(max_length=255)

    @model_validator(mode="before")
    @classmethod
    def _parent(cls, data: Any) -> Any:
        return parent_key(data)


class LostReasonOut(BaseModel):
    id: str
    idx: int
    opportunity_id: str
    parent_id: str
    lost_reason: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: OpportunityLostReason) -> LostReasonOut:
        parent = ids.public_id(ids.OPPORTUNITY, row.opportunity_id)
        return cls(
            id=ids.public_id(ids.LOST_REASON, row.id),
            idx=row.idx,
            opportunity_id=parent,
            parent_id=parent,
            lost_reason=row.lost_reason,
            created_at=row.created_on,
            updated_at=row.updated_at,
        )


class ReorderIn(InputSchema):
    parent_id: str = Field(min_length=1, description="The opportunity")
    ids: list[str] = Field(max_length=10_000, description="Every child id, in the new order")


T = TypeVar("T")


class ListOut(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    total: int


class CursorListOut(ListOut[T], Generic[T]):
    """The opportunity list: in cursor mode also the token of the next page (null on the
    last), absent in offset mode."""

    next_cursor: str | None = None


class Deleted(BaseModel):
    id: str
    deleted: bool = True


def parent_key(body: Any) -> Any:
    """``parent_id`` is accepted for ``opportunity_id`` (Overplane's generic child pages)."""
    if isinstance(body, dict) and "opportunity_id" not in body and "parent_id" in body:
        return {**body, "opportunity_id": body["parent_id"]}
    return body
