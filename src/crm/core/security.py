"""Password hashing (argon2id) and signed tokens (JWT, HS256 pinned).

Tokens carry ``token_type`` so a refresh token can never be used as an access token, and
``sid`` (the login session) so that logout and refresh-token reuse revoke them server-side.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crm.core.clock import utcnow
from crm.core.errors import NotAuthenticated

ALGORITHM = "HS256"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    token_type: TokenType
    issued_at: datetime
    expires_at: datetime


SECRET_KEY_PREFIX = "sk_"  # noqa: S105 - a marker, not a secret


def new_secret_key() -> str:
    """An org's secret API key: ``sk_`` and 43 URL-safe characters (256 random bits)."""
    return SECRET_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret_key(key: str) -> str:
    """SHA-256 of the key: with 256 random bits a slow hash adds nothing, and a lookup by
    hash costs one indexed read per request."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_jti() -> str:
    return uuid.uuid4().hex


def encode_token(
    *,
    secret: str,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    token_type: TokenType,
    lifetime: timedelta,
    jti: str | None = None,
) -> tuple[str, TokenClaims]:
    now = utcnow()
    claims = TokenClaims(
        user_id=user_id,
        session_id=session_id,
        jti=jti or new_jti(),
        token_type=token_type,
        issued_at=now,
        expires_at=now + lifetime,
    )
    payload: dict[str, Any] = {
        "token_type": token_type.value,
        "user_id": str(user_id),
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": claims.jti,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM), claims


_INVALID = "Token is invalid or expired"


# Verified access tokens, so that a client's every request does not verify the same
# signature again: a token is immutable, so once its signature and claims have been checked
# under a key only its expiry can change. Bounded; per process.
_VERIFIED_MAX = 4096
_verified: OrderedDict[tuple[str, str, TokenType], TokenClaims] = OrderedDict()


def decode_token(token: str, *, secret: str, expected: TokenType) -> TokenClaims:
    key = (token, secret, expected)
    claims = _verified.get(key)
    if claims is not None:
        if claims.expires_at > utcnow():
            return claims
        _verified.pop(key, None)
    claims = _decode_token(token, secret=secret, expected=expected)
    if expected is TokenType.ACCESS:
        _verified[key] = claims
        if len(_verified) > _VERIFIED_MAX:
            _verified.popitem(last=False)
    return claims


def _decode_token(token: str, *, secret: str, expected: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "jti", "token_type", "user_id", "sid"]},
        )
        token_type = TokenType(payload["token_type"])
        claims = TokenClaims(
            user_id=uuid.UUID(str(payload["user_id"])),
            session_id=uuid.UUID(str(payload["sid"])),
            jti=str(payload["jti"]),
            token_type=token_type,
            issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=utcnow().tzinfo),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=utcnow().tzinfo),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise NotAuthenticated(_INVALID, code="token_not_valid") from exc
    if claims.token_type is not expected:
        raise NotAuthenticated(_INVALID, code="token_not_valid")
    return claims
