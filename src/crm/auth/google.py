"""Google sign-in verification, pluggable so tests (and offline installs) can swap it.

The default asks Google's userinfo endpoint over HTTPS for the identity behind an OAuth
access token, as Django-CRM does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

USERINFO_URL = "https://www.googleapis.com/oauth2/v2/userinfo"


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    email: str
    email_verified: bool
    first_name: str = ""
    last_name: str = ""
    picture: str | None = None


class GoogleVerifier(Protocol):
    async def verify(self, token: str) -> GoogleIdentity | None:
        """The identity behind ``token``, or None when Google does not accept it."""


class GoogleUserinfoVerifier:
    def __init__(self, timeout: float = 5.0) -> None:
        self._timeout = timeout

    async def verify(self, token: str) -> GoogleIdentity | None:
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            try:
                response = await client.get(
                    USERINFO_URL, headers={"Authorization": f"Bearer {token}"}
                )
            # A token no header can carry (control or non-ASCII characters) is refused
            # by httpx before anything is sent: not accepted, like an unreachable Google.
            except (httpx.HTTPError, UnicodeError, ValueError):
                return None
        if response.status_code != 200:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        email = data.get("email")
        if not isinstance(email, str) or not email:
            return None
        return GoogleIdentity(
            email=email,
            email_verified=bool(data.get("verified_email", data.get("email_verified", False))),
            first_name=str(data.get("given_name") or ""),
            last_name=str(data.get("family_name") or ""),
            picture=data.get("picture"),
        )
