"""Bodies of /api/audit-log/."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from crm.core.schemas import ReadSchema


class SecurityEventOut(ReadSchema):
    id: uuid.UUID
    occurred_at: datetime
    kind: str = Field(description="login, login_failed, google_login, logout, ...")
    org: uuid.UUID | None = Field(
        validation_alias="org_id", description="The org it happened in; null for a login"
    )
    user_id: uuid.UUID | None = Field(description="The user account (not the profile) it concerns")
    email: str | None = Field(description="The e-mail as typed, on login events")
    ip: str | None
    user_agent: str | None
    request_id: str | None = Field(description="The X-Request-ID of the request")
    method: str | None
    path: str | None
    detail: dict[str, Any] = Field(description="reason, code, required_role, key id ...")
