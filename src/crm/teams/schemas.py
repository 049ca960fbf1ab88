"""Bodies of /api/teams/."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AliasChoices, Field

from crm.core.schemas import InputSchema, NonEmptyStr, ReadSchema, UUIDList
from crm.models import Team
from crm.users.schemas import MemberBrief, ProfileOut


class TeamCreate(InputSchema):
    name: NonEmptyStr = Field(max_length=100)
    description: str = Field(default="", max_length=10_000)
    users: UUIDList = Field(
        default_factory=list, validation_alias=AliasChoices("users", "assign_users")
    )


class TeamUpdate(InputSchema):
    name: NonEmptyStr | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=10_000)
    users: UUIDList | None = Field(
        default=None, validation_alias=AliasChoices("users", "assign_users")
    )


class TeamOut(ReadSchema):
    id: uuid.UUID
    name: str
    description: str
    org: uuid.UUID
    users: list[MemberBrief]
    created_on: datetime
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(
            id=team.id,
            name=team.name,
            description=team.description,
            org=team.org_id,
            users=[MemberBrief.of(p) for p in team.users],
            created_on=team.created_on,
            created_at=team.created_on,
            updated_at=team.updated_at,
            created_by=team.created_by_id,
        )


class TeamDetailOut(ReadSchema):
    team: TeamOut


class TeamsAndUsersOut(ReadSchema):
    teams: list[TeamOut]
    profiles: list[ProfileOut]
