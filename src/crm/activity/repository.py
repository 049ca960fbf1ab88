"""Queries on comments and attachments: always one record type, always the caller's org.

A comment or attachment is only found through the record type of the route that asks (a
lead's comment id on /api/accounts/comment/<id>/ is not found). Lists are one statement
each, whatever their length: authors' e-mails come in the same statement by a join.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.activity.record_types import RecordType
from crm.core.tenancy import TenantContext
from crm.models import Attachment, Comment, Profile, User
from crm.records.repository import visible


class ParentState(enum.Enum):
    VISIBLE = "visible"  # the caller may see the record
    HIDDEN = "hidden"  # a record of the caller's org the caller may not see: 403
    MISSING = "missing"  # no such record in the caller's org: 404


def _parent(model: type[Comment] | type[Attachment], record_type: RecordType) -> Any:
    return getattr(model, record_type.parent_column)


class ActivityRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def parent_state(self, record_type: RecordType, record_id: uuid.UUID) -> ParentState:
        model = record_type.model
        seen = await self.session.scalar(
            visible(model, self.tenant).where(model.id == record_id).with_only_columns(model.id)
        )
        if seen is not None:
            return ParentState.VISIBLE
        exists = await self.session.scalar(
            select(model.id).where(model.org_id == self.tenant.org_id, model.id == record_id)
        )
        return ParentState.HIDDEN if exists is not None else ParentState.MISSING

    # -- comments --------------------------------------------------------------------------

    def _comments_with_author_email(self, record_type: RecordType) -> Select[Comment, str]:
        return (
            select(Comment, User.email)
            .outerjoin(Profile, Profile.id == Comment.commented_by_id)
            .outerjoin(User, User.id == Profile.user_id)
            .where(Comment.org_id == self.tenant.org_id, _parent(Comment, record_type).is_not(None))
        )

    async def comments_of(
        self, record_type: RecordType, record_id: uuid.UUID
    ) -> list[tuple[Comment, str | None]]:
        """The record's comments with their authors' e-mails, newest first."""
        statement = (
            self._comments_with_author_email(record_type)
            .where(_parent(Comment, record_type) == record_id)
            .order_by(Comment.commented_on.desc(), Comment.id.desc())
        )
        rows = await self.session.execute(statement)
        return [(comment, email) for comment, email in rows]

    async def comment(
        self, record_type: RecordType, comment_id: uuid.UUID
    ) -> tuple[Comment, str | None] | None:
        statement = self._comments_with_author_email(record_type).where(Comment.id == comment_id)
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    # -- attachments -----------------------------------------------------------------------

    async def attachments_of(
        self, record_type: RecordType, record_id: uuid.UUID
    ) -> list[Attachment]:
        """The record's attachments, newest first."""
        statement = (
            select(Attachment)
            .where(
                Attachment.org_id == self.tenant.org_id,
                _parent(Attachment, record_type) == record_id,
            )
            .order_by(Attachment.created_on.desc(), Attachment.id.desc())
        )
        return list((await self.session.execute(statement)).scalars())

    async def attachment(
        self, record_type: RecordType, attachment_id: uuid.UUID
    ) -> Attachment | None:
        statement = select(Attachment).where(
            Attachment.org_id == self.tenant.org_id,
            Attachment.id == attachment_id,
            _parent(Attachment, record_type).is_not(None),
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def storage_keys(
        self, record_type: RecordType, record_ids: Sequence[uuid.UUID]
    ) -> list[str]:
        if not record_ids:
            return []
        statement = select(Attachment.storage_key).where(
            Attachment.org_id == self.tenant.org_id,
            _parent(Attachment, record_type).in_(list(record_ids)),
        )
        return list((await self.session.execute(statement)).scalars())

    # -- writes ----------------------------------------------------------------------------

    def add(self, row: Comment | Attachment) -> None:
        self.session.add(row)

    async def delete(self, row: Comment | Attachment) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def move(
        self, source: RecordType, source_id: uuid.UUID, target: RecordType, target_id: uuid.UUID
    ) -> None:
        """Re-point every comment and attachment of one record at another: one UPDATE each."""
        values: dict[str, uuid.UUID | None] = {source.parent_column: None}
        values[target.parent_column] = target_id  # same type: just the new id
        for model in (Comment, Attachment):
            await self.session.execute(
                update(model)
                .where(model.org_id == self.tenant.org_id, _parent(model, source) == source_id)
                .values(values)
            )
