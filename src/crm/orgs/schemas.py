"""Bodies of /api/org/ and /api/profile/."""

from __future__ import annotations

import re
import uuid

from pydantic import Field, field_validator

from crm.core.schemas import InputSchema, ReadSchema
from crm.core.tenancy import Role
from crm.users.schemas import ProfileOut

# Characters Django-CRM refuses in org names (§2.4).
_FORBIDDEN = re.compile(r"""[~!_.@#$%^&* ()+{}":;'/\[\]]""")


class OrgCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _allowed_characters(cls, value: str) -> str:
        if _FORBIDDEN.search(value):
            raise ValueError(
                "Organization name must not contain spaces or any of ~!_.@#$%^&*()+{}\":;'/[]"
            )
        return value


class OrgOut(ReadSchema):
    id: uuid.UUID
    name: str
    api_key: str | None = Field(description="Only shown to the org's admins; it acts as an admin.")


class MembershipOut(ReadSchema):
    id: uuid.UUID
    role: Role
    alternate_phone: str | None
    has_sales_access: bool
    has_marketing_access: bool
    is_organization_admin: bool
    org: OrgOut


class MembershipListOut(ReadSchema):
    error: bool = False
    status: int = 200
    profile_org_list: list[MembershipOut]


class OrgCreatedOut(ReadSchema):
    error: bool = False
    message: str = "New Org is Created."
    org: OrgOut
    profile: ProfileOut
