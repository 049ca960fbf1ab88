"""Resolving and applying a record's links; the ``users_mention`` rule of detail views."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.exports import EXPORT_CHUNK_ROWS, Row, ensure_exportable
from crm.core.pagination import Keyset
from crm.core.tenancy import TenantContext

# Assigning people is what notifies them: wherever links are applied, the listener is on.
from crm.emails import notifications  # noqa: F401 - registers the assignment listener
from crm.models.records import SalesRecord
from crm.records.repository import LinkIds, keyset_chunks
from crm.tags.service import TagService
from crm.teams.service import TeamService
from crm.users.service import MemberService

LINK_FIELDS = ("assigned_to", "teams", "tags")

R = TypeVar("R", bound=SalesRecord)


async def export_rows(
    *,
    total: int,
    max_rows: int,
    fetch: Callable[[Keyset | None, int], Awaitable[Sequence[R]]],
    links_of: Callable[[Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, LinkIds]]],
    row: Callable[[R, LinkIds], Row],
) -> AsyncIterator[list[Row]]:
    """The rows of an export of ``total`` matching records, a chunk at a time: two
    statements per chunk (the records, then their links), whatever the chunk's length.
    Refused first when ``total`` is over ``max_rows``."""
    ensure_exportable(total, max_rows)
    async for chunk in keyset_chunks(fetch, EXPORT_CHUNK_ROWS):
        links = await links_of([record.id for record in chunk])
        yield [row(record, links[record.id]) for record in chunk]


class RecordLinks:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.tenant = tenant
        self.members = MemberService(session, tenant)
        self.teams = TeamService(session, tenant)
        self.tags = TagService(session, tenant)

    async def apply(self, record: SalesRecord, values: dict[str, Any]) -> None:
        """Replace each link list present (and not None) in ``values``; leave the others."""
        if values.get("assigned_to") is not None:
            record.assigned_to = await self.members.active_members(
                values["assigned_to"], "assigned_to"
            )
        if values.get("teams") is not None:
            record.teams = await self.teams.existing(values["teams"], "teams")
        if values.get("tags") is not None:
            record.tags = await self.tags.resolve(values["tags"])

    async def initial(self, values: dict[str, Any]) -> dict[str, Any]:
        """Link lists for a new record (empty when not sent)."""
        return {
            "assigned_to": await self.members.active_members(
                values.get("assigned_to") or [], "assigned_to"
            ),
            "teams": await self.teams.existing(values.get("teams") or [], "teams"),
            "tags": await self.tags.resolve(values.get("tags") or []),
        }

    async def users_mention(self, record: SalesRecord) -> list[dict[str, str]]:
        """Who the caller may @-mention on this record (§4.5): an admin every active member;
        anyone else but the creator, the creator; the creator nobody."""
        if self.tenant.is_admin:
            return [{"user__email": e} for e in await self.members.emails(active=True)]
        if record.created_by_id == self.tenant.profile_id or record.created_by_id is None:
            return []
        return [{"username": e} for e in await self.members.emails(ids=[record.created_by_id])]
