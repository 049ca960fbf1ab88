"""Errors of the auth domain."""

from __future__ import annotations

from crm.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed


class InvalidCredentials(ValidationFailed):
    code = "invalid_credentials"
    # One message for unknown e-mail, wrong password and inactive user: no account probing.
    default_message = "Invalid email or password"


class TokenInvalid(NotAuthenticated):
    code = "token_not_valid"
    default_message = "Token is invalid or expired"


class RefreshTokenReused(TokenInvalid):
    """An already-exchanged refresh token came back: its whole session is revoked.

    ``keep_changes`` tells the request transaction to commit the revocation although the
    request fails.
    """

    keep_changes = True


class OrgAccessDenied(PermissionDenied):
    code = "org_access_denied"
    default_message = "You are not an active member of this organization"


class GoogleTokenInvalid(ValidationFailed):
    code = "google_token_invalid"
    default_message = "wrong google token / this google token is already expired."
