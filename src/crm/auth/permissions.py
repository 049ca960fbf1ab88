"""Who is calling: the dependencies every route states in its signature (STYLE example 7).

- ``CurrentUser``: a valid access token (``Authorization: Bearer``), no org needed.
- ``Member``: an active member of the org named by ``organization-id`` (alias ``org``; when
  both are sent they must agree), the org API key in ``Token``, or a secret key
  (``Authorization: Bearer sk_...``, crm.api_keys) acting as the admin who made it. Binds the tenant to the
  request's database session, so every later query is scoped to that org.
- ``Admin``: a ``Member`` whose role is ADMIN.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from crm.auth.errors import OrgAccessDenied
from crm.auth.service import AuthService
from crm.core.db import DbSession
from crm.core.errors import NotAuthenticated
from crm.core.permissions import ensure_admin
from crm.core.ratelimit import RateLimiter
from crm.core.security import SECRET_KEY_PREFIX
from crm.core.tenancy import TenantContext
from crm.models import User

_bearer = HTTPBearer(auto_error=False, description="Access JWT from /api/auth/login/")
_org_header = APIKeyHeader(
    name="organization-id",
    scheme_name="organization-id",
    auto_error=False,
    description="UUID of the org the call acts in",
)
_org_alias = APIKeyHeader(
    name="org", scheme_name="org", auto_error=False, description="Alias of organization-id"
)
_org_key = APIKeyHeader(
    name="Token",
    auto_error=False,
    description="Organization API key; acts as the org's first admin",
)


async def auth_service(request: Request, session: DbSession) -> AuthService:
    state = request.app.state
    limiter = RateLimiter.for_request(request.scope, state.counter)
    return AuthService(session, state.settings, limiter)


AuthServiceDep = Annotated[AuthService, Depends(auth_service)]


@dataclass(frozen=True, slots=True)
class Caller:
    user: User
    session_id: uuid.UUID


async def _caller(
    service: AuthServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Caller:
    if credentials is None:
        raise NotAuthenticated()
    user, session_id = await service.user_from_access_token(credentials.credentials)
    return Caller(user=user, session_id=session_id)


CurrentCaller = Annotated[Caller, Depends(_caller)]


async def _current_user(caller: CurrentCaller) -> User:
    return caller.user


CurrentUser = Annotated[User, Depends(_current_user)]


def _org_id_from_headers(primary: str | None, alias: str | None) -> uuid.UUID | None:
    values = {v.strip() for v in (primary, alias) if v is not None and v.strip()}
    if not values:
        return None
    if len(values) > 1:
        raise OrgAccessDenied(
            "organization-id and org headers disagree", code="org_header_mismatch"
        )
    try:
        return uuid.UUID(values.pop())
    except ValueError as exc:
        raise OrgAccessDenied(
            "organization-id is not a valid id", code="org_header_invalid"
        ) from exc


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _member(
    request: Request,
    service: AuthServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    org_header: Annotated[str | None, Security(_org_header)],
    org_alias: Annotated[str | None, Security(_org_alias)],
    org_key: Annotated[str | None, Security(_org_key)],
) -> TenantContext:
    org_id = _org_id_from_headers(org_header, org_alias)
    if credentials is not None and credentials.credentials.startswith(SECRET_KEY_PREFIX):
        may_write = request.method.upper() not in SAFE_METHODS
        context = await service.secret_key_context(credentials.credentials, may_write=may_write)
        if org_id is not None and org_id != context.org_id:
            raise OrgAccessDenied(
                "organization-id does not match the API key", code="org_header_mismatch"
            )
        return context
    if credentials is None and org_key:
        context = await service.org_key_context(org_key.strip())
        if org_id is not None and org_id != context.org_id:
            raise OrgAccessDenied(
                "organization-id does not match the API key", code="org_header_mismatch"
            )
        return context
    if credentials is None:
        raise NotAuthenticated()
    if org_id is None:
        # The token is checked first: a bad token is 401 whether or not the header is there.
        await service.user_from_access_token(credentials.credentials)
        raise OrgAccessDenied("The organization-id header is required", code="org_header_missing")
    return await service.member_from_access_token(credentials.credentials, org_id)


Member = Annotated[TenantContext, Depends(_member)]


async def _admin(member: Member) -> TenantContext:
    ensure_admin(member)
    return member


Admin = Annotated[TenantContext, Depends(_admin)]
