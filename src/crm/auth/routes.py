"""/api/auth/*: register, login, refresh-token, google, logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from crm.auth.google import GoogleVerifier
from crm.auth.permissions import AuthServiceDep, CurrentCaller
from crm.auth.schemas import (
    AccessOut,
    GoogleIn,
    GoogleLoginOut,
    LoginIn,
    LogoutIn,
    RefreshIn,
    RegisterIn,
    TokenPairOut,
    UserOut,
)
from crm.auth.service import IssuedTokens

router = APIRouter(prefix="/api/auth", tags=["auth"])


async def google_verifier(request: Request) -> GoogleVerifier:
    verifier: GoogleVerifier = request.app.state.google_verifier
    return verifier


def _pair(tokens: IssuedTokens) -> TokenPairOut:
    return TokenPairOut(
        access=tokens.access, refresh=tokens.refresh, user=UserOut.model_validate(tokens.user)
    )


@router.post("/register/", status_code=status.HTTP_201_CREATED, response_model=TokenPairOut)
async def register(body: RegisterIn, service: AuthServiceDep) -> TokenPairOut:
    """Create a user with a password (extension, §2.3) and log them in."""
    tokens = await service.register(body.email, body.password, body.first_name, body.last_name)
    return _pair(tokens)


@router.post("/login/", response_model=TokenPairOut)
async def login(body: LoginIn, service: AuthServiceDep) -> TokenPairOut:
    """E-mail + password login (extension, §2.3). Attempts are limited per IP and per
    e-mail, and failures are throttled per e-mail and per IP."""
    return _pair(await service.login(body.email, body.password))


@router.post("/refresh-token/", response_model=AccessOut)
async def refresh_token(body: RefreshIn, service: AuthServiceDep) -> AccessOut:
    """Exchange a refresh token for a new access token and a new refresh token (rotation)."""
    access, refresh = await service.refresh(body.refresh)
    return AccessOut(access=access, refresh=refresh)


@router.post("/google/", response_model=GoogleLoginOut)
async def google_login(
    body: GoogleIn,
    service: AuthServiceDep,
    verifier: Annotated[GoogleVerifier, Depends(google_verifier)],
) -> GoogleLoginOut:
    """Exchange a Google OAuth access token for JWTs; creates the user on first login."""
    tokens = await service.google_login(verifier, body.token)
    user = UserOut.model_validate(tokens.user)
    return GoogleLoginOut(
        access=tokens.access,
        refresh=tokens.refresh,
        user=user,
        access_token=tokens.access,
        refresh_token=tokens.refresh,
        user_id=user.id,
        username=user.email,
    )


@router.post("/logout/", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(
    caller: CurrentCaller, service: AuthServiceDep, body: LogoutIn | None = None
) -> Response:
    """End the session of the access token (or of the refresh token sent): both stop working."""
    await service.logout(caller.session_id, caller.user.id)
    if body is not None and body.refresh:
        other = await service.session_of_refresh(body.refresh, caller.user.id)
        if other != caller.session_id:
            await service.logout(other, caller.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
