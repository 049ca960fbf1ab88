"""Auth use cases: register, log in, refresh, Google sign-in, log out, and resolving the
caller of an API request (user from the bearer token, membership from the org header).

Security events go to the request's audit trail (crm.core.audit): logins and their
failures, refresh-token reuse, logouts, API-key use; and the caller, once known, so that a
403 answered to them is recorded too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.errors import (
    GoogleTokenInvalid,
    InvalidCredentials,
    OrgAccessDenied,
    RefreshTokenReused,
    TokenInvalid,
)
from crm.auth.google import GoogleVerifier
from crm.auth.repository import MembershipRepository, SessionRepository, UserRepository
from crm.core.audit import SecurityEventKind, note_actor, record
from crm.core.clock import as_utc, utcnow
from crm.core.config import Settings
from crm.core.errors import PermissionDenied, TooManyRequests, ValidationFailed
from crm.core.ratelimit import RateLimiter, Rule
from crm.core.security import (
    TokenType,
    decode_token,
    encode_token,
    hash_password,
    hash_secret_key,
    new_jti,
    verify_password,
)
from crm.core.tenancy import TenantContext, bind_tenant
from crm.models import AuthSession, Profile, User

# How often a key's ``last_used_at`` is written, and an ``api_key_used`` event recorded:
# at most once a minute per key (a write per request would double the writes of an API
# client; the minute says when and from where a key was in use, which is what a review of
# a leaked key needs).
KEY_USE_RESOLUTION = timedelta(minutes=1)


def normalize_email(email: str) -> str:
    return email.strip().lower()


class UserDirectory:
    """Server-wide user accounts: what login and an admin adding a member both look up."""

    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)

    async def by_email(self, email: str) -> User | None:
        return await self.users.by_email(normalize_email(email))

    async def create(
        self,
        email: str,
        *,
        first_name: str = "",
        last_name: str = "",
        password: str | None = None,
        profile_pic: str | None = None,
    ) -> User:
        return await self.users.add(
            User(
                email=normalize_email(email),
                first_name=first_name,
                last_name=last_name,
                password_hash=hash_password(password) if password else None,
                profile_pic=profile_pic,
            )
        )


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access: str
    refresh: str
    user: User
    session_id: uuid.UUID


TOO_MANY_ATTEMPTS = "Too many attempts; try again later"
TOO_MANY_FAILURES = "Too many failed logins; try again later"


AuthAction = Literal["login", "register", "refresh", "google"]


def attempt_rules(settings: Settings, action: AuthAction) -> tuple[Rule, Rule]:
    """The per-IP and per-account attempt limits of ``login``, ``register``, ``refresh`` or
    ``google`` (``CRM_RATE_LIMIT_<ACTION>_PER_IP`` / ``_PER_ACCOUNT``)."""
    window = settings.rate_limit_auth_window_seconds
    limits = {
        "login": (settings.rate_limit_login_per_ip, settings.rate_limit_login_per_account),
        "register": (settings.rate_limit_register_per_ip, settings.rate_limit_register_per_account),
        "refresh": (settings.rate_limit_refresh_per_ip, settings.rate_limit_refresh_per_account),
        "google": (settings.rate_limit_google_per_ip, settings.rate_limit_google_per_account),
    }
    per_ip, per_account = limits[action]
    return Rule(per_ip, window), Rule(per_account, window)


class AuthService:
    def __init__(self, session: AsyncSession, settings: Settings, limiter: RateLimiter) -> None:
        self.session = session
        self.settings = settings
        self.limiter = limiter
        self.users = UserDirectory(session)
        self.sessions = SessionRepository(session)
        self.memberships = MembershipRepository(session)

    # -- issuing tokens --------------------------------------------------------------

    @property
    def _secret(self) -> str:
        return self.settings.resolved_secret_key()

    @property
    def _refresh_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.refresh_token_days)

    def _mint(self, user_id: uuid.UUID, session_id: uuid.UUID, refresh_jti: str) -> tuple[str, str]:
        access, _ = encode_token(
            secret=self._secret,
            user_id=user_id,
            session_id=session_id,
            token_type=TokenType.ACCESS,
            lifetime=timedelta(minutes=self.settings.access_token_minutes),
        )
        refresh, _ = encode_token(
            secret=self._secret,
            user_id=user_id,
            session_id=session_id,
            token_type=TokenType.REFRESH,
            lifetime=self._refresh_lifetime,
            jti=refresh_jti,
        )
        return access, refresh

    async def _start_session(self, user: User, client: str) -> IssuedTokens:
        jti = new_jti()
        auth_session = await self.sessions.add(
            AuthSession(
                user_id=user.id,
                refresh_jti=jti,
                expires_at=utcnow() + self._refresh_lifetime,
                client=client,
            )
        )
        access, refresh = self._mint(user.id, auth_session.id, jti)
        return IssuedTokens(access=access, refresh=refresh, user=user, session_id=auth_session.id)

    # -- use cases ------------------------------------------------------------------

    async def register(
        self, email: str, password: str, first_name: str, last_name: str
    ) -> IssuedTokens:
        await self._count_attempt("register", account=normalize_email(email))
        if await self.users.by_email(email) is not None:
            raise ValidationFailed.on(
                "email", "A user with this e-mail already exists", code="email_taken"
            )
        user = await self.users.create(
            email, first_name=first_name, last_name=last_name, password=password
        )
        return await self._start_session(user, "password")

    async def login(self, email: str, password: str) -> IssuedTokens:
        typed = email
        email = normalize_email(email)
        await self._count_attempt("login", account=email)
        window = self.settings.login_failure_window_seconds
        failures = (
            (f"login-fail:email:{email}", Rule(self.settings.login_max_failures_per_email, window)),
            (
                f"login-fail:ip:{self.limiter.client_ip}",
                Rule(self.settings.login_max_failures_per_ip, window),
            ),
        )
        try:
            for key, rule in failures:
                await self.limiter.refuse_if_spent(key, rule, TOO_MANY_FAILURES)
        except TooManyRequests:
            # Attributed to the account when there is one: its orgs' admins see the attack.
            _login_failed(typed, await self.users.by_email(email), "throttled", "password")
            raise
        user = await self.users.by_email(email)
        valid = verify_password(user.password_hash if user else None, password)
        if user is None or not valid or not user.is_active:
            for key, rule in failures:
                await self.limiter.note(key, rule)
            if user is None:
                reason = "unknown_email"
            elif not valid:
                reason = "wrong_password"
            else:
                reason = "inactive_user"
            _login_failed(typed, user, reason, "password")
            raise InvalidCredentials()
        await self.limiter.forget(failures[0][0])
        tokens = await self._start_session(user, "password")
        _logged_in(SecurityEventKind.LOGIN, typed, tokens)
        return tokens

    async def google_login(self, verifier: GoogleVerifier, token: str) -> IssuedTokens:
        await self._count_attempt("google")
        identity = await verifier.verify(token)
        if identity is None or not identity.email_verified:
            # An unverified address proves nothing: the event names no account.
            reason = "google_token_invalid" if identity is None else "email_not_verified"
            _login_failed(identity.email if identity else None, None, reason, "google")
            raise GoogleTokenInvalid()
        await self._count_attempt("google", account=normalize_email(identity.email), ip=False)
        user = await self.users.by_email(identity.email)
        if user is None:
            user = await self.users.create(
                identity.email,
                first_name=identity.first_name,
                last_name=identity.last_name,
                profile_pic=identity.picture,
            )
        elif not user.is_active:
            _login_failed(identity.email, user, "inactive_user", "google")
            raise GoogleTokenInvalid("This account is disabled")
        tokens = await self._start_session(user, "google")
        _logged_in(SecurityEventKind.GOOGLE_LOGIN, identity.email, tokens)
        return tokens

    async def refresh(self, token: str) -> tuple[str, str]:
        await self._count_attempt("refresh")
        # Only a token whose signature verifies names an account to count against.
        claims = decode_token(token, secret=self._secret, expected=TokenType.REFRESH)
        await self._count_attempt("refresh", account=str(claims.user_id), ip=False)
        auth_session = await self.sessions.get(claims.session_id)
        if (
            auth_session is None
            or auth_session.user_id != claims.user_id
            or auth_session.revoked_at is not None
            or as_utc(auth_session.expires_at) <= utcnow()
        ):
            raise TokenInvalid()
        new = new_jti()
        rotated = await self.sessions.rotate(
            claims.session_id, claims.jti, new, utcnow() + self._refresh_lifetime
        )
        if not rotated:
            # This refresh token was already exchanged: someone is replaying it.
            await self.sessions.revoke(claims.session_id, "refresh_reuse")
            record(
                SecurityEventKind.REFRESH_REUSE,
                user_id=claims.user_id,
                detail={"session_id": str(claims.session_id), "session_revoked": True},
            )
            raise RefreshTokenReused()
        if await self.sessions.active_user(claims.session_id, claims.user_id) is None:
            raise TokenInvalid()
        return self._mint(claims.user_id, claims.session_id, new)

    async def _count_attempt(
        self, action: AuthAction, *, account: str = "", ip: bool = True
    ) -> None:
        """Count one attempt at ``action`` against the client IP and/or the account (429
        over a limit). The IP goes first: a client refused by its own limit does not use
        up the account's, so one address cannot lock others out of an account as fast."""
        per_ip, per_account = attempt_rules(self.settings, action)
        if ip:
            await self.limiter.hit_ip(action, per_ip, TOO_MANY_ATTEMPTS)
        if account:
            await self.limiter.hit(f"{action}:account:{account}", per_account, TOO_MANY_ATTEMPTS)

    async def logout(self, session_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self.sessions.revoke(session_id, "logout")
        record(
            SecurityEventKind.LOGOUT,
            user_id=user_id,
            detail={"session_id": str(session_id)},
            committed_only=True,
        )

    async def session_of_refresh(self, token: str, user_id: uuid.UUID) -> uuid.UUID:
        """The session a refresh token belongs to, if it is the caller's."""
        claims = decode_token(token, secret=self._secret, expected=TokenType.REFRESH)
        if claims.user_id != user_id:
            raise TokenInvalid()
        return claims.session_id

    # -- resolving the caller -------------------------------------------------------

    async def user_from_access_token(self, token: str) -> tuple[User, uuid.UUID]:
        claims = decode_token(token, secret=self._secret, expected=TokenType.ACCESS)
        user = await self.sessions.active_user(claims.session_id, claims.user_id)
        if user is None:
            raise TokenInvalid()
        note_actor(user.id)
        return user, claims.session_id

    async def member_from_access_token(self, token: str, org_id: uuid.UUID) -> TenantContext:
        """The caller's membership of ``org_id``, checked with the session in one statement:
        401 without a live session, 403 when not an active member of an active org."""
        claims = decode_token(token, secret=self._secret, expected=TokenType.ACCESS)
        found = await self.memberships.caller_in_org(claims.session_id, claims.user_id, org_id)
        if found is None:
            raise TokenInvalid()
        profile_id, role, data_version = found
        if profile_id is None or role is None:
            note_actor(claims.user_id)  # not a member: the denial belongs to no org
            raise OrgAccessDenied()
        note_actor(claims.user_id, org_id)
        context = TenantContext(
            org_id=org_id,
            profile_id=profile_id,
            user_id=claims.user_id,
            role=role,
            data_version=data_version,
        )
        bind_tenant(self.session, context)
        return context

    async def member_context(self, user: User, org_id: uuid.UUID) -> TenantContext:
        profile = await self.memberships.active_membership(user.id, org_id)
        note_actor(user.id, org_id if profile is not None else None)
        if profile is None:
            raise OrgAccessDenied()
        return self._bind(profile)

    async def org_key_context(self, api_key: str) -> TenantContext:
        profile = await self.memberships.first_admin_by_org_key(api_key)
        if profile is None:
            raise TokenInvalid("Invalid organization API key", code="org_key_not_valid")
        note_actor(profile.user_id, profile.org_id)
        # The org key has no row to keep its last use in: the counter keeps the minute.
        window = int(KEY_USE_RESOLUTION.total_seconds())
        state = await self.limiter.counter.hit(f"audit:org-key:{profile.org_id}", window)
        if state.count == 1:
            record(
                SecurityEventKind.API_KEY_USED,
                user_id=profile.user_id,
                org_id=profile.org_id,
                detail={"key_type": "org"},
            )
        return self._bind(profile, via_org_api_key=True)

    async def secret_key_context(self, key: str, *, may_write: bool) -> TenantContext:
        """The member a secret key acts as: 401 for an unknown, revoked or expired key (or
        one whose admin is no longer an active member), 403 for a write with a read key."""
        found = await self.memberships.by_secret_key(hash_secret_key(key))
        if found is None:
            raise TokenInvalid("Invalid API key", code="api_key_not_valid")
        api_key, profile, data_version = found
        note_actor(profile.user_id, profile.org_id)
        now = utcnow()
        if api_key.revoked_at is not None:
            raise TokenInvalid("This API key has been revoked", code="api_key_revoked")
        if api_key.expires_at is not None and as_utc(api_key.expires_at) <= now:
            raise TokenInvalid("This API key has expired", code="api_key_expired")
        if may_write and api_key.scope != "write":
            raise PermissionDenied("This API key may only read", code="api_key_read_only")
        last = api_key.last_used_at
        if last is None or as_utc(last) <= now - KEY_USE_RESOLUTION:
            await self.memberships.note_key_use(api_key.id, now)
            record(
                SecurityEventKind.API_KEY_USED,
                user_id=profile.user_id,
                org_id=profile.org_id,
                detail={
                    "key_type": "secret",
                    "key_id": str(api_key.id),
                    "prefix": api_key.prefix,
                    "scope": api_key.scope,
                },
            )
        context = TenantContext(
            org_id=profile.org_id,
            profile_id=profile.id,
            user_id=profile.user_id,
            role=profile.role,
            data_version=data_version,
        )
        bind_tenant(self.session, context)
        return context

    def _bind(self, profile: Profile, *, via_org_api_key: bool = False) -> TenantContext:
        context = TenantContext(
            org_id=profile.org_id,
            profile_id=profile.id,
            user_id=profile.user_id,
            role=profile.role,
            via_org_api_key=via_org_api_key,
        )
        bind_tenant(self.session, context)
        return context


def _login_failed(email: str | None, user: User | None, reason: str, method: str) -> None:
    record(
        SecurityEventKind.LOGIN_FAILED,
        user_id=user.id if user is not None else None,
        email=email,
        detail={"reason": reason, "method": method},
    )


def _logged_in(kind: SecurityEventKind, email: str, tokens: IssuedTokens) -> None:
    record(
        kind,
        user_id=tokens.user.id,
        email=email,
        detail={"session_id": str(tokens.session_id)},
        committed_only=True,
    )
