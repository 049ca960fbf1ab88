"""Dashboard queries: grouped counts and the newest few records of each module, all through
the caller's visibility, in a fixed number of statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.tenancy import TenantContext
from crm.models import Account, Contact, Lead, Opportunity
from crm.models.record_counts import account_counts, lead_counts
from crm.models.records import SalesRecord
from crm.records.repository import visible


class DashboardRepository:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.session = session
        self.tenant = tenant

    async def counts_by(self, model: type[SalesRecord], column: Any) -> dict[str, int]:
        """How many visible records per value of ``column``."""
        subquery = visible(model, self.tenant).with_only_columns(column.label("key")).subquery()
        rows = await self.session.execute(
            select(subquery.c.key, func.count()).group_by(subquery.c.key)
        )
        return {str(key): int(count) for key, count in rows.all()}

    async def status_counts(self, model: type[Account] | type[Lead]) -> dict[str, int]:
        """How many visible accounts or leads per status: an admin's from the sums the
        database keeps (``crm.models.record_counts``; leads without the converted ones),
        anyone else's counted."""
        if self.tenant.is_admin:
            summed = account_counts if model is Account else lead_counts
            return await summed(self.session, self.tenant.org_id)
        return await self.counts_by(model, model.status)

    async def count(self, model: type[SalesRecord]) -> int:
        subquery = visible(model, self.tenant).with_only_columns(model.id).subquery()
        return int(await self.session.scalar(select(func.count()).select_from(subquery)) or 0)

    async def recent(self, model: type[SalesRecord], limit: int, *conditions: Any) -> list[Any]:
        statement = (
            visible(model, self.tenant)
            .where(*conditions)
            .order_by(model.created_on.desc(), model.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(statement)).scalars())

    async def recent_accounts(self, limit: int) -> list[Account]:
        return await self.recent(Account, limit, Account.status == "open")

    async def recent_contacts(self, limit: int) -> list[Contact]:
        return await self.recent(Contact, limit)

    async def recent_leads(self, limit: int) -> list[Lead]:
        return await self.recent(Lead, limit, Lead.status.not_in(("converted", "closed")))

    async def recent_opportunities(self, limit: int) -> list[Opportunity]:
        return await self.recent(Opportunity, limit)
