"""Website lead-capture keys (§2.7): an ``apikey`` that ``create-from-site`` accepts."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.concurrency import Versioned
from crm.core.db import Base, CreatedBy, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned
from crm.models.identity import Profile
from crm.models.tags import Tag

api_setting_assignees = Table(
    "api_setting_assignees",
    Base.metadata,
    Column(
        "api_setting_id", Uuid, ForeignKey("api_settings.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "profile_id",
        Uuid,
        ForeignKey("profiles.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

api_setting_tags = Table(
    "api_setting_tags",
    Base.metadata,
    Column(
        "api_setting_id", Uuid, ForeignKey("api_settings.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag_id", Uuid, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class APISetting(UUIDPrimaryKey, Timestamps, Versioned, CreatedBy, TenantOwned, Base):
    __tablename__ = "api_settings"

    title: Mapped[str] = mapped_column(String(1000))
    apikey: Mapped[str] = mapped_column(String(32), unique=True)
    website: Mapped[str] = mapped_column(String(255))

    lead_assigned_to: Mapped[list[Profile]] = relationship(
        secondary=api_setting_assignees, lazy="raise"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=api_setting_tags, lazy="raise")
