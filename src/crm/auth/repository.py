"""Queries of the auth domain. Users and sessions are global; membership lookups are the
only cross-org reads in the server, and they say so with ``unscoped``."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime

from sqlalchemy import Select, Uuid, and_, bindparam, join, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from crm.core.clock import utcnow
from crm.core.db import UTCDateTime, first_row_before_transaction
from crm.core.tenancy import Role, unscoped
from crm.models import APIKey, AuthSession, Org, Profile, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_email(self, email: str) -> User | None:
        return (
            await self.session.execute(select(User).where(User.email == email))
        ).scalar_one_or_none()

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, auth_session: AuthSession) -> AuthSession:
        self.session.add(auth_session)
        await self.session.flush()
        return auth_session

    async def get(self, session_id: uuid.UUID) -> AuthSession | None:
        return await self.session.get(AuthSession, session_id)

    async def active_user(self, session_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        """The user behind a live (unrevoked) session, if the user is still active."""
        statement = (
            select(User)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                AuthSession.id == session_id,
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                User.is_active.is_(True),
            )
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def rotate(
        self, session_id: uuid.UUID, old_jti: str, new_jti: str, expires_at: datetime
    ) -> bool:
        """Swap the current refresh token; False if another request already did (a reuse)."""
        result = await self.session.execute(
            update(AuthSession)
            .where(
                AuthSession.id == session_id,
                AuthSession.refresh_jti == old_jti,
                AuthSession.revoked_at.is_(None),
            )
            .values(refresh_jti=new_jti, expires_at=expires_at, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke(self, session_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )


@functools.cache
def _caller_in_org() -> Select[uuid.UUID, Role, int]:
    """Built once: every org-scoped request runs it (parameters session_id, user_id, org_id)."""
    membership = and_(
        Profile.user_id == User.id,
        Profile.org_id == bindparam("org_id", type_=Uuid()),
        Profile.is_active.is_(True),
        Org.is_active.is_(True),
    )
    return (
        select(Profile.id, Profile.role, Org.data_version)
        .select_from(AuthSession)
        .join(User, User.id == AuthSession.user_id)
        .outerjoin(join(Profile, Org, Org.id == Profile.org_id), membership)
        .where(
            AuthSession.id == bindparam("session_id", type_=Uuid()),
            AuthSession.user_id == bindparam("user_id", type_=Uuid()),
            AuthSession.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )


class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def caller_in_org(
        self, session_id: uuid.UUID, user_id: uuid.UUID, org_id: uuid.UUID
    ) -> tuple[uuid.UUID | None, Role | None, int | None] | None:
        """In one statement: None without a live session of an active user; else the user's
        active profile in the (active) org as (profile id, role, the org's data version), or
        (None, None, None)."""
        params = {"session_id": session_id, "user_id": user_id, "org_id": org_id}
        with unscoped(self.session):
            row = await first_row_before_transaction(self.session, _caller_in_org(), params)
        return None if row is None else (row[0], row[1], row[2])

    async def active_membership(self, user_id: uuid.UUID, org_id: uuid.UUID) -> Profile | None:
        statement = (
            select(Profile)
            .join(Org, Org.id == Profile.org_id)
            .where(
                Profile.user_id == user_id,
                Profile.org_id == org_id,
                Profile.is_active.is_(True),
                Org.is_active.is_(True),
            )
        )
        with unscoped(self.session):
            return (await self.session.execute(statement)).scalar_one_or_none()

    async def by_secret_key(self, key_hash: str) -> tuple[APIKey, Profile, int] | None:
        """The key with this hash and the member it acts as (its creator, while an active
        member of an active org, with an active user), and the org's data version."""
        statement = (
            select(APIKey, Profile, Org.data_version)
            .join(Profile, Profile.id == APIKey.created_by_id)
            .join(Org, Org.id == APIKey.org_id)
            .join(User, User.id == Profile.user_id)
            .where(
                APIKey.key_hash == key_hash,
                Profile.org_id == APIKey.org_id,
                Profile.is_active.is_(True),
                Org.is_active.is_(True),
                User.is_active.is_(True),
            )
        )
        with unscoped(self.session):
            row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1], int(row[2]))

    async def note_key_use(self, key_id: uuid.UUID, now: datetime) -> None:
        """Record the key's use. Plain SQL: bookkeeping, not a change of the org's data, so
        it retires no cached response."""
        await self.session.execute(_NOTE_KEY_USE, {"key_id": key_id, "now": now})

    async def first_admin_by_org_key(self, api_key: str) -> Profile | None:
        statement = (
            select(Profile)
            .join(Org, Org.id == Profile.org_id)
            .join(User, User.id == Profile.user_id)
            .where(
                Org.api_key == api_key,
                Org.is_active.is_(True),
                Profile.role == Role.ADMIN,
                Profile.is_active.is_(True),
                User.is_active.is_(True),
            )
            .order_by(Profile.date_of_joining, Profile.created_on, Profile.id)
            .limit(1)
            .options(joinedload(Profile.user))
        )
        with unscoped(self.session):
            return (await self.session.execute(statement)).scalar_one_or_none()


_NOTE_KEY_USE = text("UPDATE api_keys SET last_used_at = :now WHERE id = :key_id").bindparams(
    bindparam("key_id", type_=Uuid()), bindparam("now", type_=UTCDateTime())
)
