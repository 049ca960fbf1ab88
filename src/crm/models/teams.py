"""Teams: named groups of members of one org (notification recipients, record sharing)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.concurrency import Versioned
from crm.core.db import Base, CreatedBy, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned
from crm.models.identity import Profile

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", Uuid, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "profile_id",
        Uuid,
        ForeignKey("profiles.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Team(UUIDPrimaryKey, Timestamps, Versioned, CreatedBy, TenantOwned, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")

    users: Mapped[list[Profile]] = relationship(secondary=team_members, lazy="raise")

    __table_args__ = (Index("uq_teams_org_id_name_ci", "org_id", func.lower(name), unique=True),)
