"""Lead-company use cases and rules (§7).

- Names are unique per org, case-insensitively.
- Every member may read and create companies; changing or deleting one takes an admin or
  its creator (companies have no assignees, so the delete rule of §1.3 covers both).
- ``created_from_lead`` is set by the leads domain when a lead creates its company
  (``create(..., created_from_lead=...)``); clients cannot write it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm.companies.errors import CompanyNameTaken, UnknownCompany
from crm.companies.repository import CompanyFilters, CompanyRepository
from crm.companies.schemas import CompanyCreate, CompanyUpdate
from crm.core.errors import NotFound
from crm.core.pagination import PageParams
from crm.core.permissions import ensure_can_delete
from crm.core.tenancy import TenantContext
from crm.models import Company


class CompanyService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant
        self.companies = CompanyRepository(session, tenant)

    async def page(self, filters: CompanyFilters, params: PageParams) -> tuple[list[Company], int]:
        return await self.companies.page(filters, params)

    async def get(self, company_id: uuid.UUID) -> Company:
        company = await self.companies.get(company_id)
        if company is None:
            raise NotFound()
        return company

    async def existing(self, company_id: uuid.UUID, field: str) -> Company:
        """The org's company with this id, or a 400 on ``field`` (for records that link one)."""
        company = await self.companies.get(company_id)
        if company is None:
            raise UnknownCompany(field)
        return company

    async def create(
        self, data: CompanyCreate, *, created_from_lead: uuid.UUID | None = None
    ) -> Company:
        if await self.companies.name_taken(data.name):
            raise CompanyNameTaken()
        company = Company(
            org_id=self.tenant.org_id,
            created_by_id=self.tenant.profile_id,
            name=data.name,
            industry=data.industry,
            website=data.website,
            created_from_lead_id=created_from_lead,
        )
        self.companies.add(company)
        await self.session.flush()
        return await self._reload(company.id)

    async def update(self, company_id: uuid.UUID, data: CompanyUpdate) -> Company:
        company = await self.get(company_id)
        ensure_can_delete(company.created_by_id, self.tenant)
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        name = changes.get("name")
        if name is not None:
            if await self.companies.name_taken(name, exclude=company.id):
                raise CompanyNameTaken()
            company.name = name
        for key in ("industry", "website"):
            if key in changes:
                setattr(company, key, changes[key])
        await self.session.flush()
        return await self._reload(company.id)

    async def delete(self, company_id: uuid.UUID) -> None:
        company = await self.get(company_id)
        ensure_can_delete(company.created_by_id, self.tenant)
        await self.companies.delete(company)

    async def _reload(self, company_id: uuid.UUID) -> Company:
        self.session.expire_all()
        return await self.get(company_id)
