"""Input and output pieces shared by every sales record."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from crm.core.schemas import InputSchema, NameList, ReadSchema, UUIDList
from crm.models import Contact
from crm.models.records import SalesRecord
from crm.records.repository import LinkIds, Pick, PickerKind
from crm.users.schemas import MemberBrief


class LinksIn(InputSchema):
    """Assignees, teams and tags. In updates, a list replaces the relation only when sent."""

    assigned_to: UUIDList | None = Field(default=None, description="Profile ids of assignees")
    teams: UUIDList | None = Field(default=None, description="Team ids")
    tags: NameList | None = Field(default=None, description="Tag names; created on first use")


class TeamBrief(ReadSchema):
    id: uuid.UUID
    name: str


def link_ids(record: SalesRecord, links: LinkIds | None = None) -> dict[str, Any]:
    """The flat form of a record's links, for list items and write responses (§1.7): from
    ``links`` when the page loaded them in bulk, else from the loaded relationships."""
    if links is not None:
        return {"assigned_to": links.assigned_to, "teams": links.teams, "tags": links.tags}
    return {
        "assigned_to": [p.id for p in record.assigned_to],
        "teams": [t.id for t in record.teams],
        "tags": [t.name for t in record.tags],
    }


def link_objects(record: SalesRecord) -> dict[str, Any]:
    """The embedded form of a record's links, for detail responses (§1.7)."""
    return {
        "assigned_to": [MemberBrief.of(p) for p in record.assigned_to],
        "teams": [TeamBrief(id=t.id, name=t.name) for t in record.teams],
        "tags": [t.name for t in record.tags],
    }


class ContactBrief(ReadSchema):
    id: uuid.UUID
    first_name: str
    last_name: str
    primary_email: str
    mobile_number: str | None

    @classmethod
    def of(cls, contact: Contact) -> ContactBrief:
        return cls.model_validate(contact)


class UserLookup(ReadSchema):
    id: uuid.UUID
    email: str

    @classmethod
    def of(cls, pick: Pick) -> UserLookup:
        return cls(id=pick.id, email=pick.text)


class ContactLookup(ReadSchema):
    id: uuid.UUID
    first_name: str
    last_name: str

    @classmethod
    def of(cls, pick: Pick) -> ContactLookup:
        return cls(id=pick.id, first_name=pick.text, last_name=pick.text2)


class AccountLookup(ReadSchema):
    id: uuid.UUID
    name: str

    @classmethod
    def of(cls, pick: Pick) -> AccountLookup:
        return cls(id=pick.id, name=pick.text)


class RecordLookups(ReadSchema):
    """The pickers of a record list: visible accounts and contacts, active members, teams."""

    accounts_list: list[AccountLookup]
    contacts_list: list[ContactLookup]
    users: list[UserLookup]
    teams: list[TeamBrief]

    @staticmethod
    def fields(picks: Mapping[PickerKind, list[Pick]]) -> dict[str, Any]:
        return {
            "accounts_list": [AccountLookup.of(a) for a in picks["accounts"]],
            "contacts_list": [ContactLookup.of(c) for c in picks["contacts"]],
            "users": [UserLookup.of(u) for u in picks["users"]],
            "teams": [TeamBrief(id=t.id, name=t.text) for t in picks["teams"]],
        }
