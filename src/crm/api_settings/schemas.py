"""Bodies of /api/api-settings/."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import Field, field_validator

from crm.core.schemas import InputSchema, NameList, NonEmptyStr, ReadSchema, UUIDList
from crm.models import APISetting
from crm.users.schemas import MemberBrief, ProfileOut

# scheme://host.tld[:port], no path and no trailing slash (Django-CRM's rule, §2.7).
_WEBSITE = re.compile(
    r"^https?://[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+(?::\d{2,4})?$"
)


def _website(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("Please provide valid schema")
    if not _WEBSITE.match(value):
        raise ValueError(
            "Please provide a valid URL with schema and without trailing slash - Example: http://google.com"
        )
    return value


class APISettingCreate(InputSchema):
    title: NonEmptyStr = Field(max_length=1000)
    website: str = Field(max_length=255)
    lead_assigned_to: UUIDList = Field(default_factory=list)
    tags: NameList = Field(default_factory=list)

    @field_validator("website")
    @classmethod
    def _check_website(cls, value: str) -> str:
        return _website(value)


class APISettingUpdate(InputSchema):
    title: NonEmptyStr | None = Field(default=None, max_length=1000)
    website: str | None = Field(default=None, max_length=255)
    lead_assigned_to: UUIDList | None = None
    tags: NameList | None = None

    @field_validator("website")
    @classmethod
    def _check_website(cls, value: str | None) -> str | None:
        return None if value is None else _website(value)


class APISettingOut(ReadSchema):
    id: uuid.UUID
    title: str
    apikey: str
    website: str
    org: uuid.UUID
    created_by: uuid.UUID | None
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    lead_assigned_to: list[MemberBrief]
    tags: list[str]

    @classmethod
    def of(cls, setting: APISetting) -> APISettingOut:
        return cls(
            id=setting.id,
            title=setting.title,
            apikey=setting.apikey,
            website=setting.website,
            org=setting.org_id,
            created_by=setting.created_by_id,
            created_on=setting.created_on,
            created_at=setting.created_on,
            updated_at=setting.updated_at,
            lead_assigned_to=[MemberBrief.of(p) for p in setting.lead_assigned_to],
            tags=[t.name for t in setting.tags],
        )


class APISettingListOut(ReadSchema):
    error: bool = False
    api_settings: list[APISettingOut]
    users: list[ProfileOut]


class APISettingDetailOut(ReadSchema):
    error: bool = False
    domain: APISettingOut
