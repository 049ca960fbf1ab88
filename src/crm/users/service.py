"""Member use cases. Membership rules: admins manage members; a member may read and edit
their own profile but not their own role; the org always keeps one active admin."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.service import UserDirectory
from crm.core.clock import today
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.pagination import PageParams
from crm.core.security import hash_password
from crm.core.tenancy import Role, TenantContext
from crm.models import Address, Profile, User
from crm.users.errors import InvalidStatus, LastAdmin, NotYourAccount, SelfRemoval
from crm.users.repository import ProfileRepository
from crm.users.schemas import AddressIn, MemberCreate, MemberUpdate

_ADDRESS_FIELDS = tuple(AddressIn.model_fields)
_STATUS_WORDS = {
    "active": True,
    "true": True,
    "inactive": False,
    "in active": False,
    "false": False,
}


def parse_status(value: str) -> bool:
    try:
        return _STATUS_WORDS[value.strip().lower()]
    except KeyError as exc:
        raise InvalidStatus(field_errors=None) from exc


class MemberService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.profiles = ProfileRepository(session, tenant)
        self.accounts = UserDirectory(session)

    # -- reads ----------------------------------------------------------------------

    async def get_visible(self, profile_id: uuid.UUID) -> Profile:
        """A member of this org that the caller may see: admins see all, others themselves."""
        profile = await self.profiles.get(profile_id)
        if profile is None:
            raise NotFound()
        if not self.tenant.is_admin and profile.id != self.tenant.profile_id:
            raise PermissionDenied()
        return profile

    async def me(self) -> Profile:
        profile = await self.profiles.get(self.tenant.profile_id)
        if profile is None:  # membership vanished between authentication and now
            raise NotFound()
        return profile

    async def page(
        self, *, active: bool, email: str | None, role: Role | None, params: PageParams
    ) -> tuple[list[Profile], int]:
        return await self.profiles.page(active=active, email=email, role=role, params=params)

    async def all(self, *, active: bool | None = None, limit: int | None = None) -> list[Profile]:
        """Members ordered by e-mail; ``limit`` caps picker lookups."""
        return await self.profiles.all(active=active, limit=limit)

    async def emails(
        self, *, active: bool | None = None, ids: Sequence[uuid.UUID] | None = None
    ) -> list[str]:
        """Members' e-mails, ordered by e-mail: those with these ids, or all (active ones)."""
        return await self.profiles.emails(active=active, ids=ids)

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Profile]:
        """Members of this org with these ids, active or not (unknown ids are skipped)."""
        return await self.profiles.by_ids(list(ids))

    async def active_members(self, ids: Sequence[uuid.UUID], field: str) -> list[Profile]:
        """The active members with these ids, or a 400 on ``field`` naming the ones that aren't."""
        wanted = list(dict.fromkeys(ids))
        found = [p for p in await self.profiles.by_ids(wanted) if p.is_active]
        missing = set(wanted) - {p.id for p in found}
        if missing:
            listed = ", ".join(sorted(str(m) for m in missing))
            raise ValidationFailed.on(field, f"Not active members of this organization: {listed}")
        by_id = {p.id: p for p in found}
        return [by_id[i] for i in wanted]

    # -- writes ---------------------------------------------------------------------

    async def add(self, data: MemberCreate) -> Profile:
        user = await self.accounts.by_email(data.email)
        if user is not None and await self.profiles.by_user(user.id) is not None:
            raise ValidationFailed.on("email", "This user is already a member of the organization")
        await self._ensure_phone_free(data.phone, None)
        if user is None:
            # Only a brand-new account takes the password; an existing user keeps theirs.
            user = await self.accounts.create(
                data.email,
                first_name=data.first_name,
                last_name=data.last_name,
                password=data.password,
            )
        address = self._address(data.model_dump(include=set(_ADDRESS_FIELDS), exclude_none=True))
        profile = Profile(
            org_id=self.tenant.org_id,
            user_id=user.id,
            role=data.role,
            phone=data.phone,
            alternate_phone=data.alternate_phone,
            has_sales_access=data.has_sales_access,
            has_marketing_access=data.has_marketing_access,
            is_active=True,
            date_of_joining=today(),
            address=address,
        )
        self.profiles.add(profile)
        await self.session.flush()
        return await self._reload(profile.id)

    async def update(self, profile_id: uuid.UUID, data: MemberUpdate) -> Profile:
        profile = await self.get_visible(profile_id)
        changes = data.model_dump(exclude_unset=True)
        # An org API key acts as the first admin but is not that person: never "self".
        is_self = profile.id == self.tenant.profile_id and not self.tenant.via_org_api_key

        # E-mail, names and password belong to the user across every org they are in, so
        # only the user may change them (an admin of one org must not take over an account).
        user_changes = self._user_changes(profile.user, changes)
        if user_changes and not is_self:
            raise NotYourAccount()
        await self._apply_user_changes(profile.user, user_changes)

        if "role" in changes and changes["role"] is not None and changes["role"] != profile.role:
            if not self.tenant.is_admin:
                raise PermissionDenied("You cannot change your own role", code="role_change_denied")
            if profile.role is Role.ADMIN:
                await self._ensure_other_admin(profile)
            profile.role = changes["role"]
        if (
            "phone" in changes
            and changes["phone"] is not None
            and changes["phone"] != profile.phone
        ):
            await self._ensure_phone_free(changes["phone"], profile.id)
            profile.phone = changes["phone"]
        if "alternate_phone" in changes:
            profile.alternate_phone = changes["alternate_phone"]
        for flag in ("has_sales_access", "has_marketing_access"):
            if changes.get(flag) is not None:
                if not self.tenant.is_admin:
                    raise PermissionDenied(
                        "Only an admin can change access rights", code="access_change_denied"
                    )
                setattr(profile, flag, changes[flag])

        address_changes = {
            k: v for k, v in changes.items() if k in _ADDRESS_FIELDS and v is not None
        }
        if address_changes:
            if profile.address is None:
                profile.address = self._address(address_changes)
            else:
                for key, value in address_changes.items():
                    setattr(profile.address, key, value)
        await self.session.flush()
        return await self._reload(profile.id)

    async def remove(self, profile_id: uuid.UUID) -> None:
        profile = await self.get_visible(profile_id)
        if profile.id == self.tenant.profile_id:
            raise SelfRemoval()
        if profile.role is Role.ADMIN and profile.is_active:
            await self._ensure_other_admin(profile)
        await self.profiles.delete(profile)

    async def set_active(self, profile_id: uuid.UUID, active: bool) -> None:
        profile = await self.get_visible(profile_id)
        if profile.is_active == active:
            return
        if not active:
            if profile.id == self.tenant.profile_id:
                raise SelfRemoval()
            if profile.role is Role.ADMIN:
                await self._ensure_other_admin(profile)
        profile.is_active = active
        await self.session.flush()

    # -- helpers --------------------------------------------------------------------

    async def _reload(self, profile_id: uuid.UUID) -> Profile:
        self.session.expire_all()
        profile = await self.profiles.get(profile_id)
        if profile is None:
            raise NotFound()
        return profile

    def _address(self, values: dict[str, Any]) -> Address | None:
        if not values:
            return None
        address = Address(org_id=self.tenant.org_id, **values)
        self.session.add(address)
        return address

    async def _ensure_phone_free(self, phone: str | None, profile_id: uuid.UUID | None) -> None:
        if phone is None:
            return
        other = await self.profiles.by_phone(phone)
        if other is not None and other.id != profile_id:
            raise ValidationFailed.on(
                "phone", "A member of this organization already has this phone number"
            )

    async def _ensure_other_admin(self, profile: Profile) -> None:
        remaining = await self.profiles.count_active_admins() - (1 if profile.is_active else 0)
        if remaining < 1:
            raise LastAdmin()

    @staticmethod
    def _user_changes(user: User, changes: dict[str, Any]) -> dict[str, Any]:
        wanted: dict[str, Any] = {}
        if changes.get("email") is not None and str(changes["email"]).strip().lower() != user.email:
            wanted["email"] = str(changes["email"]).strip().lower()
        for key in ("first_name", "last_name"):
            if changes.get(key) is not None and changes[key] != getattr(user, key):
                wanted[key] = changes[key]
        if changes.get("password") is not None:
            wanted["password"] = changes["password"]
        return wanted

    async def _apply_user_changes(self, user: User, changes: dict[str, Any]) -> None:
        if "email" in changes:
            if await self.accounts.by_email(changes["email"]) is not None:
                raise ValidationFailed.on("email", "A user with this e-mail already exists")
            user.email = changes["email"]
        for key in ("first_name", "last_name"):
            if key in changes:
                setattr(user, key, changes[key])
        if "password" in changes:
            user.password_hash = hash_password(changes["password"])
