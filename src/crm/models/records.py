"""What every sales record shares: an owner org, a creator, assignees, teams and tags.

Each record type gets its own association tables (``<table>_assignees``, ``<table>_teams``,
``<table>_tags``) with real foreign keys, generated here so the shape is written once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Table, Uuid
from sqlalchemy.orm import Mapped, declared_attr, relationship

from crm.core.concurrency import Versioned
from crm.core.db import Base, CreatedBy, Timestamps, UUIDPrimaryKey
from crm.core.tenancy import TenantOwned

if TYPE_CHECKING:
    from crm.models.identity import Profile
    from crm.models.tags import Tag
    from crm.models.teams import Team


def link_table(owner: str, role: str, target_table: str, target_column: str) -> Table:
    """``<owner>_<role>``: (owner_id, <target_column>), both cascading, the pair the key."""
    name = f"{owner}_{role}"
    if name in Base.metadata.tables:
        return Base.metadata.tables[name]
    return Table(
        name,
        Base.metadata,
        Column("owner_id", Uuid, ForeignKey(f"{owner}.id", ondelete="CASCADE"), primary_key=True),
        Column(
            target_column,
            Uuid,
            ForeignKey(f"{target_table}.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,
        ),
    )


class SalesRecord(UUIDPrimaryKey, Timestamps, Versioned, CreatedBy, TenantOwned):
    """Mixin: a record with the §1.3 visibility rule (creator or assignee; admins see all)."""

    __tablename__: str  # set by each concrete model

    @declared_attr
    def assigned_to(cls) -> Mapped[list[Profile]]:
        return relationship(
            secondary=link_table(cls.__tablename__, "assignees", "profiles", "profile_id"),
            order_by="(Profile.created_on, Profile.id)",
            lazy="raise",
        )

    @declared_attr
    def teams(cls) -> Mapped[list[Team]]:
        return relationship(
            secondary=link_table(cls.__tablename__, "teams", "teams", "team_id"),
            order_by="(Team.name, Team.id)",
            lazy="raise",
        )

    @declared_attr
    def tags(cls) -> Mapped[list[Tag]]:
        return relationship(
            secondary=link_table(cls.__tablename__, "tags", "tags", "tag_id"),
            order_by="(Tag.slug, Tag.id)",
            lazy="raise",
        )
