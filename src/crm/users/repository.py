"""Queries on the members (profiles) of the tenant's org."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from crm.core.pagination import PageParams
from crm.core.tenancy import Role, TenantContext
from crm.models import Profile, User


class ProfileRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _base(self) -> Select[Profile]:
        return (
            select(Profile)
            .join(User, User.id == Profile.user_id)
            .where(Profile.org_id == self.tenant.org_id)
            .options(joinedload(Profile.user), joinedload(Profile.address))
        )

    async def get(self, profile_id: uuid.UUID) -> Profile | None:
        return (
            await self.session.execute(self._base().where(Profile.id == profile_id))
        ).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Profile]:
        if not ids:
            return []
        result = await self.session.execute(self._base().where(Profile.id.in_(ids)))
        return list(result.scalars())

    async def emails(
        self, *, active: bool | None = None, ids: Sequence[uuid.UUID] | None = None
    ) -> list[str]:
        """The members' e-mails ordered as ``all`` orders them, without loading the members
        (the mention list of every detail view)."""
        statement = (
            select(User.email)
            .join(Profile, Profile.user_id == User.id)
            .where(Profile.org_id == self.tenant.org_id)
            .order_by(User.email, Profile.id)
        )
        if active is not None:
            statement = statement.where(Profile.is_active.is_(active))
        if ids is not None:
            statement = statement.where(Profile.id.in_(ids))
        return list((await self.session.execute(statement)).scalars())

    async def by_user(self, user_id: uuid.UUID) -> Profile | None:
        return (
            await self.session.execute(self._base().where(Profile.user_id == user_id))
        ).scalar_one_or_none()

    async def by_phone(self, phone: str) -> Profile | None:
        return (
            await self.session.execute(self._base().where(Profile.phone == phone))
        ).scalar_one_or_none()

    async def page(
        self, *, active: bool, email: str | None, role: Role | None, params: PageParams
    ) -> tuple[list[Profile], int]:
        conditions = [Profile.org_id == self.tenant.org_id, Profile.is_active.is_(active)]
        if email:
            conditions.append(func.lower(User.email).contains(email.lower(), autoescape=True))
        if role is not None:
            conditions.append(Profile.role == role)
        total = await self.session.scalar(
            select(func.count())
            .select_from(Profile)
            .join(User, User.id == Profile.user_id)
            .where(*conditions)
        )
        rows = await self.session.execute(
            self._base()
            .where(*conditions)
            .order_by(User.email, Profile.id)
            .limit(params.limit)
            .offset(params.offset)
        )
        return list(rows.scalars()), int(total or 0)

    async def all(self, *, active: bool | None = None, limit: int | None = None) -> list[Profile]:
        statement = self._base().order_by(User.email, Profile.id).limit(limit)
        if active is not None:
            statement = statement.where(Profile.is_active.is_(active))
        return list((await self.session.execute(statement)).scalars())

    async def count_active_admins(self) -> int:
        total = await self.session.scalar(
            select(func.count())
            .select_from(Profile)
            .where(
                Profile.org_id == self.tenant.org_id,
                Profile.role == Role.ADMIN,
                Profile.is_active.is_(True),
            )
        )
        return int(total or 0)

    def add(self, profile: Profile) -> None:
        self.session.add(profile)

    async def delete(self, profile: Profile) -> None:
        await self.session.delete(profile)
        await self.session.flush()
