"""How members (profiles) are read and written. A profile id is the "user id" of the API."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field

from crm.core.schemas import InputSchema, Password, ReadSchema
from crm.core.tenancy import Role
from crm.models import Profile

_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,24}$")


def _phone(value: str) -> str:
    value = value.strip()
    if not _PHONE.match(value):
        raise ValueError("Enter a valid phone number, e.g. +14155550123")
    digits = re.sub(r"[^0-9]", "", value)
    if not 7 <= len(digits) <= 15:
        raise ValueError("Enter a valid phone number, e.g. +14155550123")
    return ("+" if value.startswith("+") else "") + digits


Phone = Annotated[str, AfterValidator(_phone)]


class AddressOut(ReadSchema):
    address_line: str
    street: str
    city: str
    state: str
    postcode: str
    country: str


class UserDetails(ReadSchema):
    id: uuid.UUID
    email: str
    is_active: bool
    profile_pic: str | None


class ProfileOut(ReadSchema):
    """A member of the org, flattened (§2.5) with ``user_details`` kept for old clients."""

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: Role
    is_active: bool
    phone: str | None
    alternate_phone: str | None
    has_sales_access: bool
    has_marketing_access: bool
    is_organization_admin: bool
    date_of_joining: date
    address: AddressOut | None
    org: uuid.UUID
    created_on: datetime
    user_details: UserDetails

    @classmethod
    def of(cls, profile: Profile) -> ProfileOut:
        user = profile.user
        return cls(
            id=profile.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=profile.role,
            is_active=profile.is_active,
            phone=profile.phone,
            alternate_phone=profile.alternate_phone,
            has_sales_access=profile.has_sales_access,
            has_marketing_access=profile.has_marketing_access,
            is_organization_admin=profile.is_organization_admin,
            date_of_joining=profile.date_of_joining,
            address=AddressOut.model_validate(profile.address) if profile.address else None,
            org=profile.org_id,
            created_on=profile.created_on,
            user_details=UserDetails.model_validate(user),
        )


class MemberBrief(ReadSchema):
    """A member as nested in teams, assignees and pickers."""

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    role: Role

    @classmethod
    def of(cls, profile: Profile) -> MemberBrief:
        user = profile.user
        return cls(
            id=profile.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=profile.role,
        )


class AddressIn(InputSchema):
    address_line: str | None = Field(default=None, max_length=255)
    street: str | None = Field(default=None, max_length=55)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    postcode: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=255)


class MemberCreate(AddressIn):
    email: EmailStr
    role: Role = Role.USER
    phone: Phone
    alternate_phone: Phone | None = None
    has_sales_access: bool = False
    has_marketing_access: bool = False
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)
    password: Password | None = Field(
        default=None,
        description="Only used when the e-mail is new to the server; an existing user keeps theirs.",
    )


class MemberUpdate(AddressIn):
    """Partial: only the fields sent change. E-mail, names and password are the user's own."""

    email: EmailStr | None = None
    role: Role | None = None
    phone: Phone | None = None
    alternate_phone: Phone | None = None
    has_sales_access: bool | None = None
    has_marketing_access: bool | None = None
    first_name: str | None = Field(default=None, max_length=150)
    last_name: str | None = Field(default=None, max_length=150)
    password: Password | None = None


class MemberStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class StatusIn(InputSchema):
    status: str


class MemberFilters(InputSchema):
    email: str | None = None
    role: Role | None = None
    status: bool | None = None


class ActiveUsersBlock(ReadSchema):
    active_users_count: int
    active_users: list[ProfileOut]
    offset: int | None


class InactiveUsersBlock(ReadSchema):
    inactive_users_count: int
    inactive_users: list[ProfileOut]
    offset: int | None


class MemberListOut(ReadSchema):
    active_users: ActiveUsersBlock
    inactive_users: InactiveUsersBlock
    admin_email: str
    roles: list[tuple[str, str]]
    status: list[tuple[str, str]]


class MemberStatusOut(ReadSchema):
    active_profiles: list[ProfileOut]
    inactive_profiles: list[ProfileOut]


class AssignedData(ReadSchema):
    id: uuid.UUID
    user__email: str


class MemberDetail(ReadSchema):
    profile_obj: ProfileOut
    assigned_data: list[AssignedData]


class MemberDetailOut(ReadSchema):
    error: bool = False
    data: MemberDetail


class ProfileEnvelope(ReadSchema):
    user_obj: ProfileOut
