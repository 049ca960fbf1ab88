"""One import row as a lead, and the bodies of /api/leads/upload/."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import EmailStr, Field, field_validator, model_validator

from crm.core.schemas import InputSchema, ReadSchema
from crm.models import LeadImport

IMPORTABLE_STATUSES = ("assigned", "in process", "recycled", "closed")

# Accepted header spellings (already normalised: lower case, "_" for spaces) -> field.
HEADER_ALIASES: dict[str, str] = {
    "first_name": "first_name",
    "firstname": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "title": "title",
    "email": "email",
    "email_address": "email",
    "e_mail": "email",
    "phone": "phone",
    "website": "website",
    "address": "address_line",
    "address_line": "address_line",
    "street": "street",
    "city": "city",
    "state": "state",
    "postcode": "postcode",
    "zip": "postcode",
    "country": "country",
    "description": "description",
    "status": "status",
    "source": "source",
    "account_name": "account_name",
    "company": "account_name",
    "opportunity_amount": "opportunity_amount",
    "amount": "opportunity_amount",
    "probability": "probability",
    "industry": "industry",
    "organization": "organization",
}


class LeadRow(InputSchema):
    """A data row. Needs first and last name (docs) or a title (Django-CRM)."""

    first_name: str = Field(default="", max_length=255)
    last_name: str = Field(default="", max_length=255)
    title: str | None = Field(default=None, max_length=64)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32)
    website: str | None = Field(default=None, max_length=255)
    address_line: str | None = Field(default=None, max_length=255)
    street: str | None = Field(default=None, max_length=55)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postcode: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=100_000)
    status: str = "assigned"
    source: str | None = Field(default=None, max_length=255)
    account_name: str | None = Field(default=None, max_length=255)
    opportunity_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    probability: int = Field(default=0, ge=0, le=100)
    industry: str | None = Field(default=None, max_length=255)
    organization: str | None = Field(default=None, max_length=255)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v not in ("", None)}
        return data

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in IMPORTABLE_STATUSES:
            raise ValueError(
                f"Status must be one of {', '.join(IMPORTABLE_STATUSES)} (imports do not convert)"
            )
        return value

    @model_validator(mode="after")
    def _named(self) -> LeadRow:
        if not ((self.first_name and self.last_name) or self.title):
            raise ValueError("A lead needs first_name and last_name, or a title")
        return self


class RowError(ReadSchema):
    row: int
    errors: dict[str, list[str]]


class ImportResultOut(ReadSchema):
    status: str = "success"
    imported_count: int
    failed_count: int
    errors: list[RowError]


class ImportJobOut(ReadSchema):
    job_id: uuid.UUID
    status: str
    status_url: str
    file_name: str
    total_rows: int
    processed_rows: int
    imported_count: int
    failed_count: int
    errors: list[RowError]
    message: str | None
    created_on: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: LeadImport) -> ImportJobOut:
        return cls(
            job_id=job.id,
            status=job.status,
            status_url=f"/api/leads/upload/{job.id}/",
            file_name=job.file_name,
            total_rows=job.total_rows,
            processed_rows=job.processed_rows,
            imported_count=job.imported_count,
            failed_count=job.failed_count,
            errors=[RowError.model_validate(e) for e in job.errors],
            message=job.message,
            created_on=job.created_on,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )
