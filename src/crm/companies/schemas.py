"""Bodies of /api/leads/companies/ and /api/leads/company/<id>/ (§7)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints

from crm.core.schemas import InputSchema, NonEmptyStr, ReadSchema
from crm.models import Company


def _blank_to_none(value: Any) -> Any:
    """An empty optional text means "none" (form clients send "" for untouched inputs)."""
    return None if isinstance(value, str) and not value.strip() else value


# The length limit sits on the str, not on the union: None (a blank turned into None)
# has no length to check.
OptionalText = Annotated[
    Annotated[str, StringConstraints(max_length=255)] | None, BeforeValidator(_blank_to_none)
]


class CompanyCreate(InputSchema):
    name: NonEmptyStr = Field(max_length=100)
    industry: OptionalText = None
    website: OptionalText = None


class CompanyUpdate(InputSchema):
    """Partial (PUT and PATCH alike): only the fields sent change; ``null`` or "" clears
    ``industry`` and ``website``; ``name`` cannot be cleared."""

    name: NonEmptyStr | None = Field(default=None, max_length=100)
    industry: OptionalText = None
    website: OptionalText = None


class CompanyOut(ReadSchema):
    id: uuid.UUID
    name: str
    industry: str | None
    website: str | None
    created_from_lead: uuid.UUID | None
    org: uuid.UUID
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, company: Company) -> CompanyOut:
        return cls(
            id=company.id,
            name=company.name,
            industry=company.industry,
            website=company.website,
            created_from_lead=company.created_from_lead_id,
            org=company.org_id,
            created_on=company.created_on,
            created_at=company.created_on,
            updated_at=company.updated_at,
            created_by=company.created_by_id,
        )


class CompanyListOut(ReadSchema):
    """Envelope (A) with the docs' key ``companies`` in place of ``results`` (§7)."""

    count: int
    next: str | None
    previous: str | None
    companies: list[CompanyOut]
