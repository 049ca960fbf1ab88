"""Bodies of /api/api-keys/."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from crm.core.schemas import InputSchema, NonEmptyStr, ReadSchema
from crm.models import APIKey

Scope = Literal["read", "write"]


class APIKeyCreate(InputSchema):
    name: NonEmptyStr = Field(max_length=100, description="What the key is for")
    scope: Scope = Field(
        default="write", description="read: GET/HEAD/OPTIONS only; write: every method"
    )
    expires_at: datetime | None = Field(
        default=None, description="When the key stops working (ISO 8601, in the future)"
    )


class APIKeyOut(ReadSchema):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scope: str
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None
    active: bool = Field(description="Neither revoked nor expired")
    created_by: uuid.UUID | None
    created_on: datetime

    @classmethod
    def of(cls, key: APIKey, now: datetime) -> APIKeyOut:
        expired = key.expires_at is not None and key.expires_at <= now
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scope=key.scope,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            active=key.revoked_at is None and not expired,
            created_by=key.created_by_id,
            created_on=key.created_on,
        )


class APIKeyCreated(APIKeyOut):
    key: str = Field(description="The secret key: shown this once, never again")


class APIKeyListOut(ReadSchema):
    api_keys: list[APIKeyOut]
