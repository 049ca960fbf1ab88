"""The dashboard: open/closed accounts, open/closed leads (converted ones are gone),
contacts, opportunities per stage, and the newest records of each, as the caller sees them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm.core.tenancy import TenantContext
from crm.dashboard.repository import DashboardRepository
from crm.dashboard.schemas import (
    AccountsBlock,
    ContactsBlock,
    DashboardOut,
    LeadsBlock,
    OpportunitiesBlock,
    RecentAccount,
    RecentContact,
    RecentLead,
    RecentOpportunity,
    StageCount,
)
from crm.models import Account, Contact, Lead, Opportunity

RECENT = 10  # newest records per module


class DashboardService:
    def __init__(self, session: AsyncSession, tenant: TenantContext) -> None:
        self.data = DashboardRepository(session, tenant)

    async def build(self) -> DashboardOut:
        accounts = await self.data.status_counts(Account)
        leads = await self.data.status_counts(Lead)
        stages = await self.data.counts_by(Opportunity, Opportunity.stage)
        contacts_count = await self.data.count(Contact)
        open_accounts, closed_accounts = accounts.get("open", 0), accounts.get("closed", 0)
        closed_leads = leads.get("closed", 0)
        open_leads = sum(n for status, n in leads.items() if status not in ("closed", "converted"))
        opportunities_count = sum(stages.values())
        return DashboardOut(
            accounts=AccountsBlock(
                open_accounts=open_accounts,
                closed_accounts=closed_accounts,
                accounts=[
                    RecentAccount.model_validate(a) for a in await self.data.recent_accounts(RECENT)
                ],
            ),
            contacts=ContactsBlock(
                contacts_count=contacts_count,
                contacts=[
                    RecentContact.model_validate(c) for c in await self.data.recent_contacts(RECENT)
                ],
            ),
            leads=LeadsBlock(
                open_leads=open_leads,
                closed_leads=closed_leads,
                leads=[
                    RecentLead.model_validate(lead) for lead in await self.data.recent_leads(RECENT)
                ],
            ),
            opportunities=OpportunitiesBlock(
                opportunities_count=opportunities_count,
                opportunities=[
                    RecentOpportunity.model_validate(o)
                    for o in await self.data.recent_opportunities(RECENT)
                ],
                by_stage=[StageCount(stage=s, count=n) for s, n in sorted(stages.items())],
            ),
            accounts_count=open_accounts + closed_accounts,
            contacts_count=contacts_count,
            leads_count=open_leads,
            opportunities_count=opportunities_count,
        )
