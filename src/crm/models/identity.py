"""Users, organizations, memberships (profiles), addresses and login sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.clock import today
from crm.core.concurrency import Versioned
from crm.core.db import Base, Timestamps, UTCDateTime, UUIDPrimaryKey
from crm.core.tenancy import Role, TenantOwned


class User(UUIDPrimaryKey, Timestamps, Base):
    """A person who can log in. Not tenant-owned: one user may belong to several orgs."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    profile_pic: Mapped[str | None] = mapped_column(String(1000), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Org(UUIDPrimaryKey, Timestamps, Base):
    """The tenant. ``api_key`` authenticates the ``Token`` header as the org's first admin."""

    __tablename__ = "orgs"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_key: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Bumped by every transaction that changes the org's data (crm.models.changes): cached
    # list responses are keyed by it, so a change retires them at once, in every worker.
    data_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The next generated invoice number (INV-0001 ...): taken with an atomic UPDATE, so
    # concurrent creates in one org never draw the same number.
    next_invoice_number: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class Address(UUIDPrimaryKey, Timestamps, TenantOwned, Base):
    __tablename__ = "addresses"

    address_line: Mapped[str] = mapped_column(String(255), default="")
    street: Mapped[str] = mapped_column(String(55), default="")
    city: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(255), default="")
    postcode: Mapped[str] = mapped_column(String(64), default="")
    country: Mapped[str] = mapped_column(String(255), default="")


class Profile(UUIDPrimaryKey, Timestamps, Versioned, TenantOwned, Base):
    """A user's membership of one org. Its id is the "user id" of the whole API (§1.3)."""

    __tablename__ = "profiles"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id"),
        UniqueConstraint("org_id", "phone"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=10, validate_strings=True), default=Role.USER
    )
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    alternate_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    address_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("addresses.id", ondelete="SET NULL"), default=None
    )
    has_sales_access: Mapped[bool] = mapped_column(Boolean, default=False)
    has_marketing_access: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    date_of_joining: Mapped[date] = mapped_column(Date, default=today)

    user: Mapped[User] = relationship(lazy="raise", innerjoin=True)
    org: Mapped[Org] = relationship(lazy="raise", innerjoin=True)
    address: Mapped[Address | None] = relationship(lazy="raise")

    @property
    def is_organization_admin(self) -> bool:
        # Admin ⇔ role == ADMIN (§1.3); kept as a derived field for compatibility.
        return self.role is Role.ADMIN


class AuthSession(UUIDPrimaryKey, Timestamps, Base):
    """One login: the family of refresh tokens minted from it.

    Only the newest refresh token (``refresh_jti``) may be exchanged. Presenting an older one
    means it was stolen or replayed, so the whole family is revoked; access tokens carry the
    session id and stop working with it.
    """

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    refresh_jti: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    client: Mapped[str] = mapped_column(String(32), default="password")
