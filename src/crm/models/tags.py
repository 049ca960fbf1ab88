"""Tags: per-org labels, matched case-insensitively by slug and created on first use (§18)."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.db import Base, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned


class Tag(UUIDPrimaryKey, Timestamps, TenantOwned, Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("org_id", "slug"),)

    name: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(40))
