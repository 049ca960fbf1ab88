"""Queries on documents: what the caller may see (§14.3), their sharing, their creators."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.core.pagination import PageParams
from crm.core.tenancy import TenantContext
from crm.documents.schemas import Creator
from crm.models import Document, Profile, Team, User, team_members
from crm.records.repository import contains_ci, older_than


@dataclass(frozen=True, slots=True)
class DocumentFilters:
    title: str | None = None
    status: str | None = None
    shared_with: list[uuid.UUID] | None = None
    shared_to: list[uuid.UUID] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.title:
            where.append(contains_ci(Document.title, self.title))
        if self.status:
            where.append(Document.status == self.status)
        if self.shared_with:
            where.append(Document.shared_with.any(Team.id.in_(self.shared_with)))
        if self.shared_to:
            where.append(Document.shared_to.any(Profile.id.in_(self.shared_to)))
        return where


def shared_with_caller(tenant: TenantContext) -> ColumnElement[bool]:
    """Active documents shared with the caller, or with one of the caller's teams."""
    my_teams = select(team_members.c.team_id).where(team_members.c.profile_id == tenant.profile_id)
    return (Document.status == "active") & or_(
        Document.shared_to.any(Profile.id == tenant.profile_id),
        Document.shared_with.any(Team.id.in_(my_teams)),
    )


class DocumentRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def visible(self) -> Select[Document]:
        """§14.3: an admin sees every document of the org; anyone else those they created
        and the active ones shared with them or with one of their teams."""
        statement = select(Document).where(Document.org_id == self.tenant.org_id)
        if self.tenant.is_admin:
            return statement
        return statement.where(
            or_(Document.created_by_id == self.tenant.profile_id, shared_with_caller(self.tenant))
        )

    def _loaded(self, statement: Select[Document]) -> Select[Document]:
        return statement.options(
            selectinload(Document.shared_to).selectinload(Profile.user),
            selectinload(Document.shared_with),
        )

    async def count(self, filters: DocumentFilters) -> int:
        statement = self.visible().where(*filters.conditions()).with_only_columns(func.count())
        return int(await self.session.scalar(statement) or 0)

    async def page(self, filters: DocumentFilters, params: PageParams) -> list[Document]:
        statement = self._loaded(
            self.visible()
            .where(*filters.conditions(), *older_than(Document, params.after))
            .order_by(Document.created_on.desc(), Document.id.desc())
            .limit(params.fetch)
            .offset(params.offset)
        )
        return list((await self.session.execute(statement)).scalars())

    async def get(self, document_id: uuid.UUID) -> Document | None:
        """The document in this org, visible or not (the caller checks)."""
        statement = self._loaded(
            select(Document).where(
                Document.org_id == self.tenant.org_id, Document.id == document_id
            )
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def is_visible(self, document_id: uuid.UUID) -> bool:
        statement = self.visible().where(Document.id == document_id).with_only_columns(Document.id)
        return (await self.session.scalar(statement)) is not None

    async def creators(self, profile_ids: Sequence[uuid.UUID | None]) -> dict[uuid.UUID, Creator]:
        """The creators of a page of documents, in one statement."""
        wanted = {i for i in profile_ids if i is not None}
        if not wanted:
            return {}
        statement = (
            select(Profile.id, User.first_name, User.last_name, User.email)
            .join(User, User.id == Profile.user_id)
            .where(Profile.org_id == self.tenant.org_id, Profile.id.in_(wanted))
        )
        rows = (await self.session.execute(statement)).all()
        return {
            row[0]: Creator(id=row[0], first_name=row[1], last_name=row[2], email=row[3])
            for row in rows
        }

    async def title_taken(self, title: str, exclude: uuid.UUID | None = None) -> bool:
        statement = select(Document.id).where(
            Document.org_id == self.tenant.org_id, func.lower(Document.title) == title.lower()
        )
        if exclude is not None:
            statement = statement.where(Document.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    def add(self, document: Document) -> None:
        self.session.add(document)

    async def delete(self, document: Document) -> None:
        await self.session.delete(document)
        await self.session.flush()
