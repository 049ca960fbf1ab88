"""Documents (§14): files of the org, shared with members (``shared_to``) and teams
(``shared_with``). The bytes live in the storage interface; the row keeps their key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.concurrency import Versioned
from crm.core.db import Base, CreatedBy, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned
from crm.models.records import link_table

if TYPE_CHECKING:
    from crm.models.identity import Profile
    from crm.models.teams import Team


class Document(UUIDPrimaryKey, Timestamps, Versioned, CreatedBy, TenantOwned, Base):
    __tablename__ = "documents"

    title: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    file_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(512), unique=True)
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)

    shared_to: Mapped[list[Profile]] = relationship(
        secondary=link_table("documents", "shared_to", "profiles", "profile_id"),
        order_by="(Profile.created_on, Profile.id)",
        lazy="raise",
    )
    shared_with: Mapped[list[Team]] = relationship(
        secondary=link_table("documents", "teams", "teams", "team_id"),
        order_by="(Team.name, Team.id)",
        lazy="raise",
    )

    __table_args__ = (
        Index("uq_documents_org_id_title_ci", "org_id", func.lower(title), unique=True),
        Index("ix_documents_org_id_created_on_id", "org_id", "created_on", "id"),
        Index("ix_documents_org_id_status_created_on_id", "org_id", "status", "created_on", "id"),
    )
