"""Request and response bodies of /api/auth/*."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from crm.core.schemas import InputSchema, Password, ReadSchema


class RegisterIn(InputSchema):
    email: EmailStr
    password: Password
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)


class LoginIn(InputSchema):
    email: EmailStr
    password: Annotated[
        str, StringConstraints(strip_whitespace=False, min_length=1, max_length=128)
    ]


class RefreshIn(InputSchema):
    refresh: str = Field(min_length=1, max_length=4096)


class LogoutIn(InputSchema):
    refresh: str | None = Field(default=None, max_length=4096)


class GoogleIn(InputSchema):
    token: str = Field(min_length=1, max_length=4096)


class UserOut(ReadSchema):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    profile_pic: str | None = None


class TokenPairOut(ReadSchema):
    access: str
    refresh: str
    user: UserOut


class GoogleLoginOut(TokenPairOut):
    """Docs keys (``access``, ``refresh``, ``user``) and Django-CRM's keys, both (§2.2)."""

    access_token: str
    refresh_token: str
    user_id: uuid.UUID
    username: str


class AccessOut(ReadSchema):
    access: str
    refresh: str = Field(description="The rotated refresh token; the one sent is now spent.")
