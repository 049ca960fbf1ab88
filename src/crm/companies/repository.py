"""Queries on the tenant's lead companies. Companies have no assignees: every member of the
org sees every company."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.pagination import PageParams
from crm.core.tenancy import TenantContext
from crm.models import Company
from crm.records.repository import contains_ci


@dataclass(frozen=True, slots=True)
class CompanyFilters:
    name: str | None = None
    industry: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.name:
            where.append(contains_ci(Company.name, self.name))
        if self.industry:
            where.append(contains_ci(Company.industry, self.industry))
        return where


class CompanyRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    def _base(self) -> Select[Company]:
        return select(Company).where(Company.org_id == self.tenant.org_id)

    async def page(self, filters: CompanyFilters, params: PageParams) -> tuple[list[Company], int]:
        base = self._base().where(*filters.conditions())
        total = await self.session.scalar(
            select(func.count()).select_from(base.order_by(None).subquery())
        )
        rows = await self.session.execute(
            base.order_by(Company.created_on.desc(), Company.id.desc())
            .limit(params.limit)
            .offset(params.offset)
        )
        return list(rows.scalars()), int(total or 0)

    async def get(self, company_id: uuid.UUID) -> Company | None:
        statement = self._base().where(Company.id == company_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def name_taken(self, name: str, exclude: uuid.UUID | None = None) -> bool:
        statement = (
            self._base()
            .with_only_columns(Company.id)
            .where(func.lower(Company.name) == name.lower())
        )
        if exclude is not None:
            statement = statement.where(Company.id != exclude)
        return (await self.session.scalar(statement.limit(1))) is not None

    def add(self, company: Company) -> None:
        self.session.add(company)

    async def delete(self, company: Company) -> None:
        await self.session.delete(company)
        await self.session.flush()
